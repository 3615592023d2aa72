"""Finance on the hand-made DRE (tests/agents/ddl/finance.sql), offline and with a fake LLM."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from agents.finance import (
    FinanceFacts,
    check_report,
    parse_month,
    parse_scenarios,
    report_finance,
)
from agents.guardrails import check_figures
from agents.providers import OfflineProvider
from agents.router import route_offline
from agents.runtime import AgentRuntime, GuardrailViolation
from agents.schemas import FinanceReport, ScenarioSummary
from agents.sql_tool import SqlTool, check_with_tokenizer
from tests.agents.fakes import answer, fake_provider

DRE_PT = "Gere um DRE do mês passado com cenários otimista e conservador"
OCTOBER = dt.date(2026, 10, 1)


def offline(sql: SqlTool, request: str | None = None, **kwargs) -> tuple[FinanceReport, AgentRuntime]:
    runtime = AgentRuntime(OfflineProvider())
    return report_finance(runtime, sql, request=request, **kwargs), runtime


def values(report: FinanceReport) -> dict[str, float]:
    return {f.label: f.value for f in report.figures}


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        (DRE_PT, ["conservative", "optimistic"]),
        ("Gere um DRE do mês passado", None),
        ("Build last month's P&L with the base scenario", ["base"]),
        ("DRE com os cenários otimista e base", ["base", "optimistic"]),
        ("P&L, base case and optimistic", ["base", "optimistic"]),
        ("DRE com base nos cenários conservadores", ["conservative"]),  # "com base em" is not the scenario
        ("Cenário otimista para a base de clientes", ["optimistic"]),  # nor "base de clientes"
        ("Show the pessimistic scenario", ["conservative"]),
    ],
)
def test_scenarios_named_in_the_request(request_text: str, expected: list[str] | None) -> None:
    assert parse_scenarios(request_text) == expected


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("DRE de setembro de 2026", dt.date(2026, 9, 1)),
        ("Build the P&L for September 2026", dt.date(2026, 9, 1)),
        ("DRE de set/2026", dt.date(2026, 9, 1)),
        ("DRE de out. 2025", dt.date(2025, 10, 1)),
        ("P&L 2026-09", dt.date(2026, 9, 1)),
        ("DRE 09/2026", dt.date(2026, 9, 1)),
        ("DRE de março de 2026", dt.date(2026, 3, 1)),
        ("DRE de setembro", dt.date(2026, 9, 1)),  # the latest September up to the last complete month
        ("DRE de novembro", dt.date(2025, 11, 1)),
        ("DRE de março", dt.date(2026, 3, 1)),
        (DRE_PT, None),
        ("May I see last month's P&L?", None),  # "may" alone is a verb
        ("Set up the P&L for last month, out of curiosity", None),
    ],
)
def test_month_named_in_the_request(request_text: str, expected: dt.date | None) -> None:
    assert parse_month(request_text, OCTOBER) == expected


def test_last_month_dre_with_two_scenarios_matches_hand_computed_values(sql_tool: SqlTool) -> None:
    report, runtime = offline(sql_tool, DRE_PT)

    assert (report.language, report.period, report.generated_by) == ("pt", "2026-10", "offline")
    assert values(report) == pytest.approx(
        {
            "receita_bruta 2026-10": 10000,
            "receita_liquida 2026-10": 9000,
            "gross margin 2026-10": 100 * 5400 / 9000,
            "ebitda 2026-10": 1350,
            "EBITDA margin 2026-10": 100 * 1350 / 9000,
            "lucro_liquido 2026-10": 1080,
            "net margin 2026-10": 100 * 1080 / 9000,
            "receita_liquida change vs previous month (2026-09)": 100 * (9000 - 8000) / 8000,
            "ebitda change vs previous month (2026-09)": 100 * (1350 - 1400) / 1400,
            "lucro_liquido change vs previous month (2026-09)": 100 * (1080 - 1200) / 1200,
            "receita_liquida change vs same month last year (2025-10)": 100 * (9000 - 5400) / 5400,
            "ebitda change vs same month last year (2025-10)": 100 * (1350 - 540) / 540,
            "lucro_liquido change vs same month last year (2025-10)": 100 * (1080 - 432) / 432,
            # the cost lines that moved most: marketing -600, CMV -400, vendas -100 (admin +50, D&A -10, fin -60)
            "despesas_marketing 2026-10": -1800,
            "despesas_marketing 2026-09": -1200,
            "despesas_marketing change vs previous month (2026-09)": -600,
            "cmv 2026-10": -3600,
            "cmv 2026-09": -3200,
            "cmv change vs previous month (2026-09)": -400,
            "despesas_vendas 2026-10": -900,
            "despesas_vendas 2026-09": -800,
            "despesas_vendas change vs previous month (2026-09)": -100,
            "LTV:CAC 2026-10": 9.5,
            "CAC payback 2026-10": 1.1428,
            "logo churn 2026-10": 5.0,
            "conservative projected months": 2,
            "conservative receita_liquida, projection sum": 8000 + 8100,
            "conservative lucro_liquido, projection sum": 500 + 450,
            "optimistic projected months": 2,
            "optimistic receita_liquida, projection sum": 10000 + 11000,
            "optimistic lucro_liquido, projection sum": 1500 + 1800,
        }
    )
    assert report.scenarios == [
        ScenarioSummary(scenario="conservative", months=2, receita_liquida_brl=16100, lucro_liquido_brl=950),
        ScenarioSummary(scenario="optimistic", months=2, receita_liquida_brl=21000, lucro_liquido_brl=3300),
    ]
    text = report.commentary
    assert text.startswith("DRE de out/2026:") and "nov/2026" in text and "99.999" not in text  # decoy month
    assert "- Receita bruta R$ 10.000,00; receita líquida R$ 9.000,00." in text
    assert (
        "Margem bruta 60,00%; EBITDA R$ 1.350,00 (margem de 15,00%); lucro líquido R$ 1.080,00 (margem de 12,00%)"
        in (text)
    )
    assert "Contra set/2026: receita líquida +12,50%, EBITDA -3,57%, lucro líquido -10,00%." in text
    assert "Contra out/2025: receita líquida +66,67%, EBITDA +150,00%, lucro líquido +150,00%." in text
    assert "- Despesas de marketing: R$ -1.800,00, era R$ -1.200,00 (R$ -600,00)." in text
    assert text.index("Despesas de marketing") < text.index("- CMV") < text.index("- Despesas com vendas")
    assert "administrativas" not in text  # only the three largest movements
    assert "LTV:CAC 9,5x, payback do CAC 1,1 meses, churn de logos 5,00%" in text
    assert "- conservador (2 meses): receita líquida R$ 16.100,00; lucro líquido R$ 950,00." in text
    assert "- otimista (2 meses): receita líquida R$ 21.000,00; lucro líquido R$ 3.300,00." in text
    assert "base" not in text
    # The DRE lines, in order, with the previous month beside them.
    assert [line.line_key for line in report.lines][:3] == ["receita_bruta", "deducoes", "receita_liquida"]
    assert len(report.lines) == 15
    ebitda = next(line for line in report.lines if line.line_key == "ebitda")
    assert (ebitda.amount_brl, ebitda.pct_of_net_revenue, ebitda.previous_amount_brl) == (1350, 0.15, 1400)
    assert check_figures(report.figures, sql_tool) == []
    for figure in report.figures:
        check_with_tokenizer(figure.sql, allowed_schemas=["marts"], row_limit=10)  # also without sqlglot
    assert runtime.records[-1].agent == "finance" and runtime.records[-1].status == "ok"


def test_named_month_in_english_with_nothing_to_compare(sql_tool: SqlTool) -> None:
    report, _ = offline(sql_tool, "Build the P&L for September 2026 with the base scenario")

    assert (report.language, report.period) == ("en", "2026-09")
    text = report.commentary
    assert "- Gross revenue R$ 8,800.00; net revenue R$ 8,000.00." in text
    assert "EBITDA R$ 1,400.00 (margin 17.50%); net income R$ 1,200.00 (margin 15.00%)" in text
    assert "The DRE has no Aug 2026: no comparison with the previous month." in text
    assert "The DRE has no Sep 2025: no year-on-year comparison." in text
    assert "No unit economics for Sep 2026." in text
    assert "- base (2 months): net revenue R$ 18,500.00; net income R$ 2,100.00." in text
    assert [s.scenario for s in report.scenarios] == ["base"]
    assert all(line.previous_amount_brl is None for line in report.lines)
    assert not [label for label in values(report) if "change" in label]


def test_explicit_month_and_scenarios_and_all_scenarios_by_default(sql_tool: SqlTool) -> None:
    report, _ = offline(sql_tool, month=dt.date(2026, 10, 15), scenarios=["optimistic", "base"])
    assert report.period == "2026-10" and [s.scenario for s in report.scenarios] == ["base", "optimistic"]
    report, _ = offline(sql_tool, "Gere o DRE do mês passado")
    assert [s.scenario for s in report.scenarios] == ["conservative", "base", "optimistic"]
    with pytest.raises(ValueError, match="unknown scenarios"):
        offline(sql_tool, scenarios=["pessimistic"])


def test_the_scenario_sums_follow_the_horizon_asked(sql_tool: SqlTool) -> None:
    report, _ = offline(sql_tool, scenarios=["base"], horizon_months=1)
    assert report.scenarios == [
        ScenarioSummary(scenario="base", months=1, receita_liquida_brl=9000, lucro_liquido_brl=1000)
    ]
    assert "- base (1 mês): receita líquida R$ 9.000,00; lucro líquido R$ 1.000,00." in report.commentary
    assert check_figures(report.figures, sql_tool) == []

    report, _ = offline(sql_tool, "DRE do mês passado com cenário otimista para os próximos 6 meses")
    assert report.scenarios[0].months == 2 and report.scenarios[0].receita_liquida_brl == 21000
    assert "A projeção cobre só 2 dos 6 meses pedidos." in report.commentary


def test_an_absent_month_and_missing_tables_are_said_plainly(sql_tool: SqlTool, tmp_path: Path) -> None:
    report, _ = offline(sql_tool, "DRE de maio de 2026")
    assert report.period == "2026-05" and report.lines == []
    assert "O DRE não tem mai/2026 (há meses de out/2025 a nov/2026)." in report.commentary

    path = tmp_path / "dre_only.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "create schema marts; create table marts.fct_dre_monthly as select date '2026-10-01' as month, "
        "true as is_complete, 3 as line_order, 'receita_liquida' as line_key, '= Receita Líquida' as line_label, "
        "'subtotal' as line_type, 500.0 as amount_brl, 1.0 as pct_of_net_revenue"
    )
    con.close()
    report, _ = offline(SqlTool(f"duckdb:///{path}"), DRE_PT)
    assert report.period == "2026-10" and report.scenarios == []
    assert "- Receita líquida R$ 500,00." in report.commentary
    assert "Unit economics: marts.fct_unit_economics não está no warehouse." in report.commentary
    assert "não há projeção no warehouse (marts.fct_dre_projected vazio ou ausente)" in report.commentary


def test_recheck_fails_when_a_figure_is_tampered_with(sql_tool: SqlTool) -> None:
    report, _ = offline(sql_tool, DRE_PT)
    margin = next(f for f in report.figures if f.label == "EBITDA margin 2026-10")
    assert check_figures([margin.model_copy(update={"value": 25.0})], sql_tool) == [
        "figure 'EBITDA margin 2026-10' states 25 but its query returns 15"
    ]


def test_report_check_rejects_made_up_scenarios_months_sums_lines_and_period(sql_tool: SqlTool) -> None:
    report, _ = offline(sql_tool, DRE_PT)
    facts = FinanceFacts.load(sql_tool, OCTOBER, ["conservative", "optimistic"])
    assert facts.requested == ["conservative", "optimistic"] and check_report(report, facts) == []

    base = ScenarioSummary(scenario="base", months=2, receita_liquida_brl=18500, lucro_liquido_brl=2100)
    assert check_report(report.model_copy(update={"scenarios": [*report.scenarios, base]}), facts) == [
        "scenario 'base' was not asked for (asked: conservative, optimistic)"
    ]
    # A projection without a base scenario: the model cannot claim one.
    no_base = FinanceFacts.load(sql_tool, OCTOBER, None)
    del no_base.available["base"]
    no_base.requested.remove("base")
    assert check_report(report.model_copy(update={"scenarios": [base]}), no_base) == [
        "scenario 'base' is not in marts.fct_dre_projected (scenarios there: conservative, optimistic)",
        "scenarios asked for and projected are missing: conservative, optimistic",
    ]
    wrong = [
        report.scenarios[0].model_copy(update={"months": 6, "lucro_liquido_brl": 5000}),
        report.scenarios[1],
    ]
    assert check_report(report.model_copy(update={"scenarios": wrong}), facts) == [
        "scenario 'conservative': marts.fct_dre_projected projects 2 months, not 6",
        "scenario 'conservative': lucro líquido sums to 950.00 over the projection, not 5000.00",
    ]
    assert check_report(report.model_copy(update={"scenarios": report.scenarios[::-1]}), facts) == [
        "scenarios must come in scenario order: conservative, optimistic"
    ]
    lines = [line.model_copy() for line in report.lines]
    lines[8] = lines[8].model_copy(update={"amount_brl": 2000.0})
    assert check_report(report.model_copy(update={"lines": lines, "period": "2026-11"}), facts) == [
        "period must be '2026-10', not '2026-11'",
        "line 'ebitda': amount_brl is 1350.0 in marts.fct_dre_monthly, not 2000.0",
    ]


def test_llm_report_with_a_wrong_number_is_retried_then_accepted(sql_tool: SqlTool) -> None:
    decision = route_offline(DRE_PT)
    vetted, _ = offline(sql_tool, DRE_PT)
    change = next(f for f in vetted.figures if f.label == "receita_liquida change vs previous month (2026-09)")

    def reply(value: float) -> FinanceReport:
        return vetted.model_copy(
            update={
                "commentary": f"A receita líquida subiu {value:g}% em outubro.",
                "figures": [change.model_copy(update={"value": value})],
            }
        )

    provider, model = fake_provider(answer(reply(15.0)), answer(reply(12.5)))
    runtime = AgentRuntime(provider)

    result = report_finance(runtime, sql_tool, request=DRE_PT, decision=decision)

    assert result.generated_by == "llm" and result.figures[0].value == 12.5
    assert [s.scenario for s in result.scenarios] == ["conservative", "optimistic"]
    system = model.seen[0][0].content
    assert "marts.fct_dre_projected(scenario varchar" in system and "DRE of 2026-10" in system
    assert '"optimistic lucro_liquido, projection sum"' in system  # the vetted figures, as facts
    assert '"line_key": "ebitda"' in system  # the vetted lines
    assert "states 15 but its query returns 12.5" in model.seen[1][-2].content  # the retry says the real value
    assert runtime.records[-1].retried and runtime.records[-1].agent == "finance"


def test_llm_report_with_a_scenario_not_asked_for_is_rejected(sql_tool: SqlTool) -> None:
    decision = route_offline(DRE_PT)
    vetted, _ = offline(sql_tool, DRE_PT)
    base = ScenarioSummary(scenario="base", months=2, receita_liquida_brl=18500, lucro_liquido_brl=2100)
    wrong = vetted.model_copy(update={"scenarios": [*vetted.scenarios, base], "language": "en"})
    provider, _ = fake_provider(answer(wrong), answer(wrong))

    with pytest.raises(GuardrailViolation) as caught:
        report_finance(AgentRuntime(provider), sql_tool, request=DRE_PT, decision=decision)

    assert "scenario 'base' was not asked for" in str(caught.value) and "language 'pt', not 'en'" in str(caught.value)


def test_llm_report_with_an_invented_scenario_is_rejected(sql_tool: SqlTool) -> None:
    decision = route_offline(DRE_PT)
    vetted, _ = offline(sql_tool, DRE_PT)
    payload = json.loads(vetted.model_dump_json())
    payload["scenarios"][0]["scenario"] = "pessimistic"
    provider, model = fake_provider(answer(payload), answer(payload))
    runtime = AgentRuntime(provider)

    with pytest.raises(GuardrailViolation) as caught:
        report_finance(runtime, sql_tool, request=DRE_PT, decision=decision)

    assert "does not match FinanceReport" in str(caught.value) and "pessimistic" in str(caught.value)
    assert caught.value.attempts == 2 and len(model.seen) == 2
