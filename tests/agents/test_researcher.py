"""The Researcher on the hand-made warehouse (numbers in conftest.py), offline and with a fake LLM."""

from __future__ import annotations

import pytest

from agents.guardrails import check_figures
from agents.providers import OfflineProvider
from agents.researcher import detect_topic, research
from agents.router import route_offline
from agents.runtime import AgentRuntime, GuardrailViolation
from agents.schemas import Figure, ResearchAnswer
from agents.sql_tool import SqlTool, check_with_tokenizer
from tests.agents.fakes import answer, fake_provider

CHURN_PT = "Analise o churn dos últimos 3 meses por coorte"


def offline(request: str, sql: SqlTool) -> tuple[ResearchAnswer, AgentRuntime]:
    runtime = AgentRuntime(OfflineProvider())
    return research(request, runtime, sql), runtime


def values(result: ResearchAnswer) -> dict[str, float]:
    return {f.label: f.value for f in result.figures}


def test_topics() -> None:
    assert detect_topic(CHURN_PT) == "churn_by_cohort"
    assert detect_topic("Calcule CAC e LTV por canal de aquisição") == "cac_ltv_by_channel"
    assert detect_topic("Gere forecast de receita para próximos 6 meses") == "revenue_forecast"
    assert detect_topic("Como estamos?") == "overview"


def test_churn_by_cohort_matches_hand_computed_values(sql_tool: SqlTool) -> None:
    result, runtime = offline(CHURN_PT, sql_tool)

    assert values(result) == pytest.approx(
        {
            "logo churn 2026-08": 5.0,
            "logo churn 2026-09": 10.0,
            "logo churn 2026-10": 5.0,
            "logo churn, monthly average 2026-08..2026-10": 100 * 22 / 330,
            "cohort 2026-08 logo churn": 100 * 1 / 4,
            "cohort 2026-08 churned customers": 1,
            "cohort 2026-01 logo churn": 100 * 2 / 11,
            "cohort 2026-01 churned customers": 2,
        }
    )
    assert result.language == "pt" and result.generated_by == "offline" and "No LLM" in result.notice
    assert "média de 6,67% ao mês" in result.answer
    assert "- ago/2026: 25,00% (1 cancelamentos)" in result.answer and "- jan/2026: 18,18%" in result.answer
    assert "out/2026" in result.answer and "nov/2026" not in result.answer  # the month in progress is left out
    # Every figure carries the query that returns it; every query run is listed.
    for figure in result.figures:
        assert figure.sql in result.queries
        assert float(sql_tool.scalar(figure.sql)) == pytest.approx(figure.value)
        check_with_tokenizer(figure.sql, allowed_schemas=["marts", "forecasts"], row_limit=10)  # also without sqlglot
    assert runtime.records[-1].status == "ok" and runtime.records[-1].agent == "researcher"


def test_cac_and_ltv_by_channel_in_english(sql_tool: SqlTool) -> None:
    result, _ = offline("Calculate CAC and LTV by acquisition channel", sql_tool)

    assert result.language == "en"
    assert values(result) == pytest.approx(
        {
            "google_ads new customers": 30,
            "google_ads LTV (formula)": 700,
            "google_ads paid CAC": 3000 / 30,
            "google_ads LTV:CAC": 7.0,
            "meta_ads new customers": 25,
            "meta_ads LTV (formula)": 300,
            "meta_ads paid CAC": 1500 / 25,
            "meta_ads LTV:CAC": 5.0,
            "organic new customers": 15,
            "organic LTV (formula)": 900,
            "blended CAC 2026-08..2026-10": 4800 / 70,
        }
    )
    assert "- google_ads: CAC R$ 100.00, LTV R$ 700.00, LTV:CAC 7.0x (30 new customers)" in result.answer
    assert "organic: no paid spend" in result.answer and "R$ 68.57" in result.answer
    assert check_figures(result.figures, sql_tool) == []


def test_revenue_forecast_and_its_backtest(sql_tool: SqlTool) -> None:
    result, _ = offline("Gere forecast de receita para próximos 6 meses", sql_tool)

    found = values(result)
    assert found["gross revenue forecast 2026-11"] == 1000
    assert found["gross revenue forecast 2027-01, 80% upper bound"] == 1300
    assert found["gross revenue forecast, next 3 months"] == 3300
    assert (found["backtest MASE, published model"], found["backtest MASE, seasonal naive"]) == (0.5, 0.8)
    assert "só 3 dos 6 meses" in result.answer and "Total: R$ 3.300,00." in result.answer
    assert "ATENÇÃO" not in result.answer
    assert all(f.sql.count("receita_bruta") for f in result.figures)  # never the mrr series


def test_forecast_missing_is_said_plainly(marts_url: str) -> None:
    result, _ = offline("Gere forecast de receita para próximos 6 meses", SqlTool(marts_url, allowed_schemas=["marts"]))
    assert result.figures == [] and "materialize o asset forecasts/revenue" in result.answer


def test_recheck_fails_when_a_figure_is_tampered_with(sql_tool: SqlTool) -> None:
    result, _ = offline(CHURN_PT, sql_tool)
    assert check_figures(result.figures, sql_tool) == []

    cohort = next(f for f in result.figures if f.label == "cohort 2026-08 logo churn")
    inflated = cohort.model_copy(update={"value": 12.5})
    other_schema = cohort.model_copy(update={"sql": "select count(*) from raw_hubspot.contacts"})
    many_rows = cohort.model_copy(update={"sql": "select month from marts.fct_churn_monthly"})
    errors = check_figures([inflated, other_schema, many_rows], sql_tool)

    assert errors[0] == "figure 'cohort 2026-08 logo churn' states 12.5 but its query returns 25"
    assert "schema 'raw_hubspot' is not allowed" in errors[1]
    assert "expected exactly one value" in errors[2]


def test_llm_answer_with_a_wrong_number_is_retried_then_accepted(sql_tool: SqlTool) -> None:
    decision = route_offline(CHURN_PT)
    query = (
        "select 100.0 * sum(case when movement = 'churn' then 1 else 0 end) / "
        "nullif(sum(case when previous_mrr_brl > 0 then 1 else 0 end), 0) from marts.fct_mrr_movements "
        "where cohort_month = DATE '2026-08-01' and month between DATE '2026-08-01' and DATE '2026-10-01'"
    )

    def reply(value: float) -> ResearchAnswer:
        return ResearchAnswer(
            question=CHURN_PT,
            language="pt",
            answer=f"A coorte de agosto perdeu {value:g}% ao mês.",
            figures=[Figure(label="coorte 2026-08", value=value, unit="%", sql=query)],
            queries=[query],
        )

    provider, model = fake_provider(answer(reply(12.5)), answer(reply(25.0)))
    runtime = AgentRuntime(provider)

    result = research(CHURN_PT, runtime, sql_tool, decision=decision)

    assert result.figures[0].value == 25.0 and result.generated_by == "llm"
    system = model.seen[0][0].content
    assert "marts.fct_mrr_movements(customer_id varchar" in system  # the schema description
    assert "cohort 2026-01 logo churn" in system  # the vetted figures, as facts
    assert "states 12.5 but its query returns 25" in model.seen[1][-2].content  # the retry says the real value
    assert runtime.records[-1].retried


def test_llm_answer_in_the_wrong_language_or_with_a_forbidden_query_is_rejected(sql_tool: SqlTool) -> None:
    decision = route_offline(CHURN_PT)
    wrong = ResearchAnswer(
        question=CHURN_PT, language="en", answer="Churn is fine.", queries=["select * from raw_hubspot.contacts"]
    )
    provider, _ = fake_provider(answer(wrong), answer(wrong))

    with pytest.raises(GuardrailViolation) as caught:
        research(CHURN_PT, AgentRuntime(provider), sql_tool, decision=decision)

    assert "language 'pt', not 'en'" in str(caught.value) and "raw_hubspot" in str(caught.value)
