"""The Planner on the hand-made warehouse (numbers in conftest.py), offline and with a fake LLM.

Hand-computed expectations:

* retention — segments inactive_60d 5 (3 WhatsApp-contactable, 4 with an e-mail), loyal 2 (1, 2), vip 1 (0, 1);
  churn of 2026-10 is 5 % (6 of 120 active at the start); conversion = Σ converted ÷ Σ sent of the complete
  campaigns in ``marts.fct_campaign_results`` (ddl/campaigns.sql: 193 ÷ 1320). Kept customers: inactive_60d
  3 × conv (weight 1), vip 1 × conv × 5 % (e-mail: no WhatsApp), loyal 1 × conv × 5 %; reduction = kept ÷ 120 ×
  100. Average monthly value: inactive_60d Σ monetary ÷ 12 ÷ 5 = 17.5, vip 250, loyal 100 → order inactive_60d,
  vip, loyal.
* media, 2026-08..10 — CAC google_ads 100, meta_ads 60; LTV 700, 300 → LTV:CAC 7, 5 → shares 7/12, 5/12 →
  R$ 583.33 / 416.67 of R$ 1,000; payback = CAC ÷ (ARPA 100 × margin 0.6) → 1.667 and 1.0 months.
  São Paulo (the state SP) holds 2 of google_ads' 3 customers and 1 of meta_ads' 2 → weights 7 × 2/3, 5 × 1/2
  → google_ads 65.1 % > the 60 % cap → 600 / 400. Curitiba holds only a meta_ads customer → meta_ads takes all.
* a variant warehouse (built here, not shared) adds a paid instagram with CAC 90 and LTV 45 (LTV:CAC 0.5), a
  paid tiktok without LTV, google_ads LTV 3000 (LTV:CAC 30 → 85.7 % uncapped) and google_ads' own ARPA 125.
"""

from __future__ import annotations

import socket
from pathlib import Path

import duckdb
import pytest
from langchain_core.messages import BaseMessage

from agents.guardrails import MartFacts, check_budget, check_figures, check_retention_plan
from agents.planner import (
    check_media_plan,
    plan_media,
    plan_media_offline,
    plan_retention,
    plan_retention_offline,
    split_shares,
    to_centavos,
)
from agents.providers import OfflineProvider
from agents.router import route_offline
from agents.runtime import AgentRuntime, GuardrailViolation
from agents.schemas import ChannelAllocation, MediaPlan, RetentionItem, RetentionPlan, RouteDecision
from agents.sql_tool import SqlTool, check_with_tokenizer
from tests.agents.conftest import build_marts
from tests.agents.fakes import answer, fake_provider

PLAN = RouteDecision(intent="plan", language="pt", lookback_months=3)
PLAN_EN = RouteDecision(intent="plan", language="en", lookback_months=3)

VARIANT_SQL = """
insert into marts.fct_cac values
    ('2026-08-01', true, 'instagram', true, 300, 3, 1600, 25),
    ('2026-09-01', true, 'instagram', true, 300, 3, 1800, 22),
    ('2026-10-01', true, 'instagram', true, 300, 4, 1400, 23),
    ('2026-09-01', true, 'tiktok', true, 200, 2, 1800, 22);
insert into marts.fct_ltv values ('formula', 'channel', 'instagram', null, true, null, 45);
update marts.fct_ltv set ltv_brl = 3000 where method = 'formula' and dimension_value = 'google_ads';
create table marts.fct_churn_by_channel_monthly (
    month date, is_complete boolean, acquisition_channel varchar, arpa_brl double
);
insert into marts.fct_churn_by_channel_monthly values ('2026-10-01', true, 'google_ads', 125);
"""


@pytest.fixture(scope="module")
def variant_sql(tmp_path_factory: pytest.TempPathFactory) -> SqlTool:
    path: Path = tmp_path_factory.mktemp("planner") / "variant.duckdb"
    build_marts(path)
    con = duckdb.connect(str(path))
    try:
        con.execute(VARIANT_SQL)
    finally:
        con.close()
    return SqlTool(f"duckdb:///{path}", duckdb_threads=1)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the planner tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def offline() -> AgentRuntime:
    return AgentRuntime(OfflineProvider())


def conversion(sql: SqlTool) -> float:
    """Σ converted ÷ Σ sent of the complete campaigns, straight from the fixture (193 ÷ 1320 in campaigns.sql)."""
    return float(
        sql.scalar("select sum(converted) * 1.0 / sum(sent) from marts.fct_campaign_results where is_complete")
    )


def said(messages: list[BaseMessage], text: str) -> bool:
    return any(text in str(m.content) for m in messages)


def by_channel(plan: MediaPlan) -> dict[str, float]:
    return {a.channel: a.budget_brl for a in plan.allocations}


# -- retention ------------------------------------------------------------------------------------


def test_retention_plan_segments_reach_and_order(sql_tool: SqlTool) -> None:
    runtime = offline()
    plan = plan_retention(runtime, sql_tool, request="Crie um plano de retenção")

    conv = conversion(sql_tool)
    assert [(i.segment, i.channel, i.customers) for i in plan.items] == [
        ("inactive_60d", "whatsapp", 3),  # 3 of 5 contactable on WhatsApp
        ("vip", "email", 1),  # nobody on WhatsApp, c8 has an e-mail
        ("loyal", "whatsapp", 1),
    ]
    reductions = [i.expected_churn_reduction_pct for i in plan.items]
    assert reductions == pytest.approx(
        [100 * 3 * conv / 120, 100 * 1 * conv * 0.05 / 120, 100 * 1 * conv * 0.05 / 120], abs=1e-4
    )
    inactive = plan.items[0]
    assert "VOLTA10" in inactive.action and "WhatsApp para 3 de 5 clientes" in inactive.action
    assert "churn líquido" in inactive.assumption and "÷ 120 clientes ativos" in inactive.assumption
    assert "e-mail costuma converter menos" in plan.items[1].assumption
    assert "Churn de logos em out/2026: 5,00% (6 de 120 clientes ativos" in plan.summary
    assert "inactive_60d, vip, loyal" in plan.summary
    assert plan.language == "pt" and plan.generated_by == "offline" and "No LLM" in plan.notice
    # The counts are the figures, and every figure is re-run by the guardrail.
    values = {f.label: f.value for f in plan.figures}
    assert values["inactive_60d customers"] == 5 and values["inactive_60d WhatsApp-contactable customers"] == 3
    assert values["inactive_60d customers with an e-mail"] == 4 and values["vip customers with an e-mail"] == 1
    assert values["WhatsApp campaign conversion, complete campaigns"] == pytest.approx(100 * conv)
    assert check_figures(plan.figures, sql_tool) == []
    for figure in plan.figures:
        check_with_tokenizer(figure.sql, allowed_schemas=["marts", "forecasts"], row_limit=10)
    assert runtime.records[-1].agent == "planner" and runtime.records[-1].status == "ok"


def test_retention_plan_follows_the_segment_and_channel_asked(sql_tool: SqlTool) -> None:
    plan = plan_retention(offline(), sql_tool, request="Plano de retenção para clientes inativos por e-mail")
    assert [(i.segment, i.channel, i.customers) for i in plan.items] == [("inactive_60d", "email", 4)]
    assert plan.items[0].expected_churn_reduction_pct == pytest.approx(100 * 4 * conversion(sql_tool) / 120, abs=1e-4)

    everyone = plan_retention(offline(), sql_tool, decision=PLAN.model_copy(update={"channel": "email"}))
    assert {i.segment: i.customers for i in everyone.items} == {"inactive_60d": 4, "loyal": 2, "vip": 1}

    missing = plan_retention(offline(), sql_tool, decision=PLAN.model_copy(update={"segment": "at_risk"}))
    assert len(missing.items) == 3 and "'at_risk' não existe" in missing.summary


def test_retention_plan_in_english(sql_tool: SqlTool) -> None:
    plan = plan_retention(offline(), sql_tool, request="Build a retention plan for our customers")
    assert plan.language == "en"
    assert plan.summary.startswith("Logo churn in Oct 2026: 5.00% (6 of 120 customers active")
    assert "kept by one round in the month" in plan.items[0].assumption
    assert "Reativação" in plan.items[0].action  # actions stay pt-BR


def test_guardrail_rejects_a_segment_that_does_not_exist_or_an_unreachable_audience(sql_tool: SqlTool) -> None:
    facts = MartFacts.load(sql_tool)
    plan = RetentionPlan(
        items=[
            RetentionItem(
                segment="at_risk",
                customers=1,
                action="Oferta de permanência",
                channel="whatsapp",
                expected_churn_reduction_pct=1,
                assumption="-",
            ),
            RetentionItem(
                segment="inactive_60d",
                customers=4,
                action="Reativação",
                channel="whatsapp",
                expected_churn_reduction_pct=1,
                assumption="-",
            ),
        ]
    )
    errors = check_retention_plan(plan, facts)
    assert errors[0].startswith("segment 'at_risk' does not exist")
    assert errors[1] == "inactive_60d: 4 customers, but only 3 are reachable on whatsapp"
    assert check_retention_plan(plan_retention_offline(sql_tool, PLAN), facts) == []


# -- media ----------------------------------------------------------------------------------------


def test_split_and_centavos() -> None:
    assert split_shares({"a": 7, "b": 5}) == pytest.approx({"a": 7 / 12, "b": 5 / 12})
    assert split_shares({"a": 8, "b": 1, "c": 1}) == pytest.approx({"a": 0.6, "b": 0.2, "c": 0.2})
    assert split_shares({"a": 30, "b": 5, "c": 0}) == pytest.approx({"a": 0.6, "b": 0.4})
    assert split_shares({"a": 9}) == {"a": 1.0}  # the only viable channel is not capped
    assert split_shares({}) == {}
    amounts = to_centavos(100, split_shares({"a": 1, "b": 1, "c": 1}))
    assert sorted(amounts.values()) == [33.33, 33.33, 33.34] and round(sum(amounts.values()), 2) == 100
    capped = to_centavos(1000.01, split_shares({"a": 9, "b": 1}))
    assert capped["a"] <= 0.6 * 1000.01 and round(sum(capped.values()), 2) == 1000.01


def test_media_plan_national_split_matches_hand_computed_values(sql_tool: SqlTool) -> None:
    plan = plan_media(offline(), sql_tool, budget_brl=1000, decision=PLAN)

    assert by_channel(plan) == {"google_ads": 583.33, "meta_ads": 416.67}
    assert round(sum(by_channel(plan).values()), 2) == 1000
    google, meta = plan.allocations
    assert (google.cac_brl, google.ltv_brl, google.ltv_cac) == pytest.approx((100, 700, 7))
    assert (meta.cac_brl, meta.ltv_brl, meta.ltv_cac) == pytest.approx((60, 300, 5))
    assert (google.payback_months, meta.payback_months) == pytest.approx((100 / 60, 1.0))
    assert (google.expected_new_customers, meta.expected_new_customers) == pytest.approx((5.83, 6.94))
    assert "- google_ads: R$ 583,33 (58,33%) — CAC R$ 100,00, LTV R$ 700,00, LTV:CAC 7,0x" in plan.rationale
    assert "organic" in plan.rationale and "ago/2026 a out/2026" in plan.rationale
    assert plan.region is None and check_budget(plan, 1000) == []
    assert check_figures(plan.figures, sql_tool) == []
    assert {f.label for f in plan.figures} >= {"google_ads paid CAC 2026-08..2026-10", "meta_ads CAC payback"}


def test_media_plan_default_lookback_is_six_months(sql_tool: SqlTool) -> None:
    plan = plan_media(offline(), sql_tool, budget_brl=1000)  # 2026-05..10 takes in the 2026-07 decoys
    google = next(a for a in plan.allocations if a.channel == "google_ads")
    assert google.cac_brl == pytest.approx((9999 + 3000) / 31)


def test_region_reweights_the_split(sql_tool: SqlTool) -> None:
    national = by_channel(plan_media(offline(), sql_tool, budget_brl=1000, decision=PLAN))
    sp = plan_media(offline(), sql_tool, budget_brl=1000, region="São Paulo", decision=PLAN)

    # SP over-indexes google_ads (2 of its 3 customers vs 1 of meta_ads' 2): 65.1 % → capped at 60 %.
    assert by_channel(sp) == {"google_ads": 600.0, "meta_ads": 400.0}
    assert by_channel(sp)["google_ads"] > national["google_ads"]
    assert sp.region == "São Paulo"
    assert "lido como o estado São Paulo (SP), com 5 clientes (4 deles na cidade de São Paulo" in sp.rationale
    assert "O gasto de mídia não é regional nos dados: o CAC é nacional" in sp.rationale
    assert "google_ads 66,67%, meta_ads 50,00%" in sp.rationale
    assert check_figures(sp.figures, sql_tool) == []

    # The request's region: Curitiba (PR) has only a meta_ads customer.
    curitiba = plan_media(offline(), sql_tool, budget_brl=1000, request="Plano de mídia para Curitiba, últimos 3 meses")
    assert by_channel(curitiba) == {"meta_ads": 1000.0, "google_ads": 0.0}
    assert "google_ads: R$ 0,00 — nenhum cliente do canal em Curitiba (PR)" in curitiba.rationale

    city = plan_media(offline(), sql_tool, budget_brl=1000, region="cidade de São Paulo", decision=PLAN)
    assert "lido como a cidade São Paulo (SP), com 4 clientes" in city.rationale

    for nowhere, said in (("Manaus", "não corresponde"), ("Belo Horizonte", "Nenhum cliente de canal pago viável")):
        plan = plan_media(offline(), sql_tool, budget_brl=1000, region=nowhere, decision=PLAN)
        assert (
            by_channel(plan) == national and said in plan.rationale and "mantida a divisão nacional" in plan.rationale
        )


def test_english_request_gives_an_english_rationale(sql_tool: SqlTool) -> None:
    plan = plan_media(
        offline(), sql_tool, budget_brl=1000, request="Build a media plan with the last 3 months of data for SP"
    )
    assert plan.language == "en" and plan.region == "São Paulo"
    assert plan.rationale.startswith("Media plan for R$ 1,000.00 focused on São Paulo (SP)")
    assert "- google_ads: R$ 600.00 (60.00%)" in plan.rationale
    assert "Media spend has no region in the data: CAC is national" in plan.rationale


def test_unviable_channels_get_nothing_and_the_cap_holds(variant_sql: SqlTool) -> None:
    plan = plan_media(offline(), variant_sql, budget_brl=1000, decision=PLAN)
    budgets = by_channel(plan)

    assert budgets == {"google_ads": 600.0, "meta_ads": 400.0, "instagram": 0.0, "tiktok": 0.0}
    instagram = next(a for a in plan.allocations if a.channel == "instagram")
    assert (instagram.cac_brl, instagram.ltv_cac) == pytest.approx((90, 0.5))
    assert "instagram: R$ 0,00 — LTV:CAC 0,50x < 1" in plan.rationale
    assert "tiktok: R$ 0,00 — sem LTV em marts.fct_ltv" in plan.rationale
    # google_ads' own ARPA (fct_churn_by_channel_monthly) for its payback; the others the overall ARPA.
    payback = {a.channel: a.payback_months for a in plan.allocations}
    assert payback["google_ads"] == pytest.approx(100 / (125 * 0.6)) and payback["meta_ads"] == pytest.approx(1.0)
    assert check_figures(plan.figures, variant_sql) == []

    nothing = plan_media(offline(), variant_sql, budget_brl=0, decision=PLAN)
    assert set(by_channel(nothing).values()) == {0.0}
    with pytest.raises(ValueError):
        plan_media(offline(), variant_sql, budget_brl=-1, decision=PLAN)


def test_media_plan_check_against_the_vetted_plan(sql_tool: SqlTool) -> None:
    facts = plan_media_offline(sql_tool, 1000, None, PLAN)
    assert check_media_plan(facts, facts) == []
    bad = facts.model_copy(
        update={
            "allocations": [
                ChannelAllocation(channel="google_ads", budget_brl=700, cac_brl=90),
                ChannelAllocation(channel="organic", budget_brl=300),
            ]
        }
    )
    errors = check_media_plan(bad, facts)
    assert "google_ads: cac_brl is 100 in the marts, not 90" in errors
    assert any(e.startswith("organic gets 300.00 BRL but is not viable") for e in errors)
    assert any(e.startswith("google_ads gets 700.00 BRL, more than 60%") for e in errors)


# -- the LLM path ---------------------------------------------------------------------------------


def test_llm_media_plan_over_budget_is_retried_then_accepted(sql_tool: SqlTool, no_network: None) -> None:
    valid = plan_media_offline(sql_tool, 1000, None, PLAN)
    over = valid.model_copy(
        update={
            "allocations": [
                ChannelAllocation(channel="google_ads", budget_brl=600),
                ChannelAllocation(channel="meta_ads", budget_brl=600),
            ]
        }
    )
    provider, model = fake_provider(answer(over), answer(valid))
    runtime = AgentRuntime(provider)

    plan = plan_media(runtime, sql_tool, budget_brl=1000, decision=PLAN)

    assert plan.generated_by == "llm" and by_channel(plan) == {"google_ads": 583.33, "meta_ads": 416.67}
    system = model.seen[0][0].content
    assert "marts.fct_cac(month date" in system  # the tables
    assert '"budget_brl": 583.33' in system and "google_ads paid CAC 2026-08..2026-10" in system  # the vetted plan
    assert said(model.seen[1], "over the budget of R$ 1,000.00")  # the retry says what was wrong
    record = runtime.records[-1]
    assert record.retried and record.attempts == 2 and record.status == "ok"


def test_llm_media_plan_invalid_twice_is_rejected(sql_tool: SqlTool, no_network: None) -> None:
    valid = plan_media_offline(sql_tool, 1000, None, PLAN)
    over_cap = valid.model_copy(update={"budget_brl": 5000})
    wrong_cac = valid.model_copy(
        update={"allocations": [a.model_copy(update={"cac_brl": 1.0}) for a in valid.allocations]}
    )
    provider, _ = fake_provider(answer(over_cap), answer(wrong_cac))
    runtime = AgentRuntime(provider)

    with pytest.raises(GuardrailViolation) as caught:
        plan_media(runtime, sql_tool, budget_brl=1000, decision=PLAN)

    assert "google_ads: cac_brl is 100 in the marts, not 1" in str(caught.value)
    assert any("over the cap of R$ 1,000.00" in e for e in runtime.records[-1].validation_errors)
    assert runtime.records[-1].status == "rejected"


def test_llm_retention_plan_with_a_missing_segment_is_retried_then_accepted(
    sql_tool: SqlTool, no_network: None
) -> None:
    request = "Crie um plano de retenção"
    valid = plan_retention_offline(sql_tool, route_offline(request))
    invented = valid.model_copy(
        update={
            "items": [
                RetentionItem(
                    segment="at_risk",
                    customers=10,
                    action="Oferta de permanência",
                    channel="whatsapp",
                    expected_churn_reduction_pct=2,
                    assumption="-",
                ),
                *valid.items,
            ]
        }
    )
    provider, model = fake_provider(answer(invented), answer(valid))
    runtime = AgentRuntime(provider)

    plan = plan_retention(runtime, sql_tool, request=request)

    assert plan.generated_by == "llm" and [i.segment for i in plan.items] == ["inactive_60d", "vip", "loyal"]
    assert "inactive_60d WhatsApp-contactable customers" in model.seen[0][0].content
    assert said(model.seen[1], "segment 'at_risk' does not exist")
    assert runtime.records[-1].retried


def test_llm_retention_plan_invalid_twice_is_rejected(sql_tool: SqlTool, no_network: None) -> None:
    valid = plan_retention_offline(sql_tool, PLAN)
    english = valid.model_copy(update={"language": "en"})
    too_many = valid.model_copy(
        update={"items": [valid.items[0].model_copy(update={"customers": 5}), *valid.items[1:]]}
    )
    provider, _ = fake_provider(answer(english), answer(too_many))

    with pytest.raises(GuardrailViolation) as caught:
        plan_retention(AgentRuntime(provider), sql_tool, decision=PLAN)

    assert "inactive_60d: 5 customers, but only 3 are reachable on whatsapp" in str(caught.value)
    assert caught.value.attempts == 2
