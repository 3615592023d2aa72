"""SalesOps on the hand-made funnel (tests/agents/ddl/sales.sql), offline and with a fake LLM."""

from __future__ import annotations

import pytest

from agents.guardrails import check_figures
from agents.providers import OfflineProvider
from agents.router import route_offline
from agents.runtime import AgentRuntime, GuardrailViolation
from agents.sales_ops import FunnelFacts, bottlenecks, check_funnel, detect_funnel, review_sales
from agents.schemas import SalesReview
from agents.sql_tool import SqlTool, check_with_tokenizer
from tests.agents.fakes import answer, fake_provider

REVIEW_PT = "Analise o funil de vendas e a taxa de ganho"
ACQUISITION_EN = "Review the acquisition funnel win rate and velocity for the last quarter"


def offline(sql: SqlTool, request: str | None = None, **kwargs) -> tuple[SalesReview, AgentRuntime]:
    runtime = AgentRuntime(OfflineProvider())
    return review_sales(runtime, sql, request=request, **kwargs), runtime


def values(review: SalesReview) -> dict[str, float]:
    return {f.label: f.value for f in review.figures}


def test_funnel_from_the_request() -> None:
    assert detect_funnel(None) == "all_deals"
    assert detect_funnel(REVIEW_PT) == "all_deals"
    assert detect_funnel(ACQUISITION_EN) == "first_deal"
    assert detect_funnel("Funil de aquisição de novos clientes") == "first_deal"


def test_all_deals_conversion_win_rate_velocity_and_bottleneck(sql_tool: SqlTool) -> None:
    review, runtime = offline(sql_tool, REVIEW_PT)

    assert (review.language, review.funnel, review.generated_by) == ("pt", "all_deals", "offline")
    # Reached 27 / 20 / 18 / 12 / 11 / 10: conversions 20/27, 18/20, 12/18, 11/12, 10/11.
    assert [(s.stage, s.deals, s.deals_in_stage) for s in review.stages] == [
        ("appointmentscheduled", 27, 3),
        ("qualifiedtobuy", 20, 2),
        ("presentationscheduled", 18, 6),
        ("decisionmakerboughtin", 12, 1),
        ("contractsent", 11, 1),
        ("closedwon", 10, 10),
    ]
    assert [s.conversion_from_previous_rate for s in review.stages] == pytest.approx(
        [None, 20 / 27, 18 / 20, 12 / 18, 11 / 12, 10 / 11]
    )
    assert review.win_rate == pytest.approx(10 / 14) and review.median_days_to_win == 2.5
    assert review.stages[-1].median_days_to_win == 2.5 and review.stages[0].median_days_to_win is None
    found = values(review)
    assert {k: found[k] for k in found if not k.startswith("all_deals open deals")} == pytest.approx(
        {
            "all_deals deals reaching appointmentscheduled": 27,
            "all_deals deals reaching qualifiedtobuy": 20,
            "all_deals conversion to qualifiedtobuy": 100 * 20 / 27,
            "all_deals deals reaching presentationscheduled": 18,
            "all_deals conversion to presentationscheduled": 90.0,
            "all_deals deals reaching decisionmakerboughtin": 12,
            "all_deals conversion to decisionmakerboughtin": 100 * 12 / 18,
            "all_deals deals reaching contractsent": 11,
            "all_deals conversion to contractsent": 100 * 11 / 12,
            "all_deals deals reaching closedwon": 10,
            "all_deals conversion to closedwon": 100 * 10 / 11,
            "all_deals won deals": 10,
            "all_deals lost deals": 4,
            "all_deals win rate": 100 * 10 / 14,
            "all_deals median days to win": 2.5,
            "all_deals average days to win": 2.4014,
            "first_deal win rate": 50.0,
            "first_deal won deals": 4,
            # 27 - 20 = 7 leave after the first stage (3 still open there + 4 lost): 25.93 %.
            "all_deals deals lost appointmentscheduled -> qualifiedtobuy": 7,
            "all_deals drop-off rate appointmentscheduled -> qualifiedtobuy": 100 * 7 / 27,
            "all_deals open amount in appointmentscheduled": 300.0,
            # By rate the worst step: 18 -> 12.
            "all_deals deals lost presentationscheduled -> decisionmakerboughtin": 6,
        }
    )
    assert found["all_deals open deals in presentationscheduled"] == 6
    assert "- qualificado para compra: 20 negócios (74,07% da etapa anterior; 2 abertos nela agora)" in review.summary
    assert "Taxa de ganho: 71,43% (10 ganhos, 4 perdidos)." in review.summary
    assert "mediana de 2,5 dias" in review.summary and "mesmo dia" not in review.summary
    assert "taxa de ganho 50,00% (4 novos clientes ganhos)" in review.summary
    assert review.bottleneck.startswith("Gargalo: reunião agendada → qualificado para compra")
    assert "7 dos 27 que chegaram a reunião agendada (25,93%) — 3 ainda abertos" in review.bottleneck
    assert "4 perdidos" in review.bottleneck
    assert "pior passagem é apresentação agendada → decisor convencido: só 66,67% avançam (6 negócios a menos)" in (
        review.bottleneck
    )
    assert 2 <= len(review.recommendations) <= 4
    assert review.recommendations[0].startswith("Trabalhe os 3 negócios parados em reunião agendada (R$ 300,00")
    assert "66,67%" in review.recommendations[1] and "traga quem decide" in review.recommendations[1]
    assert any("4 negócios perdidos" in r for r in review.recommendations)
    assert check_figures(review.figures, sql_tool) == []
    for figure in review.figures:
        check_with_tokenizer(figure.sql, allowed_schemas=["marts"], row_limit=10)  # also without sqlglot
    assert runtime.records[-1].agent == "sales_ops" and runtime.records[-1].status == "ok"


def test_acquisition_funnel_in_english_says_deals_close_the_same_day(sql_tool: SqlTool) -> None:
    review, _ = offline(sql_tool, ACQUISITION_EN)

    assert (review.language, review.funnel) == ("en", "first_deal")
    assert [s.deals for s in review.stages] == [21, 14, 12, 6, 5, 4]
    assert review.win_rate == 0.5
    found = values(review)
    assert found["first_deal median days to win"] == 0.0035
    assert found["first_deal median minutes to win"] == pytest.approx(0.0035 * 1440)
    assert "deals close the same day they are created — a median of 5.0 minutes" in review.summary
    assert "Win rate: 50.00% (4 won, 4 lost)." in review.summary
    assert "no split by period" in review.summary  # "last quarter" cannot be applied to the mart
    assert "Acquisition funnel (each contact's first deal): win rate" not in review.summary.split("\n", 1)[1]
    # 21 -> 14 loses the most (7); 12 -> 6 is the worst rate (50 %).
    assert "Bottleneck: appointment scheduled → qualified to buy" in review.bottleneck
    assert "decision maker bought in: only 50.00% move on (6 deals fewer)" in review.bottleneck
    assert any("Create the deal when the lead is qualified" in r for r in review.recommendations)
    assert 2 <= len(review.recommendations) <= 4
    assert check_figures(review.figures, sql_tool) == []


def test_bottleneck_by_count_and_by_rate(sql_tool: SqlTool) -> None:
    facts = FunnelFacts.load(sql_tool, "all_deals")
    by_count, by_rate = bottlenecks(facts)
    assert (by_count.before.stage, by_count.after.stage, by_count.lost) == ("appointmentscheduled", "qualifiedtobuy", 7)
    assert (by_rate.before.stage, by_rate.after.stage, by_rate.lost) == (
        "presentationscheduled",
        "decisionmakerboughtin",
        6,
    )
    assert by_rate.conversion == pytest.approx(2 / 3)
    assert bottlenecks(FunnelFacts("all_deals")) is None


def test_missing_funnel_mart_is_said_plainly(marts_url: str) -> None:
    review, _ = offline(SqlTool(marts_url, allowed_schemas=["forecasts"]))
    assert (
        review.stages == [] and review.figures == [] and "materialize o mart marts.fct_sales_funnel" in review.summary
    )


def test_recheck_fails_when_a_figure_or_a_stage_is_tampered_with(sql_tool: SqlTool) -> None:
    review, _ = offline(sql_tool, REVIEW_PT)
    win = next(f for f in review.figures if f.label == "all_deals win rate")
    assert check_figures([win.model_copy(update={"value": 90.0})], sql_tool) == [
        f"figure 'all_deals win rate' states 90 but its query returns {100 * 10 / 14:g}"
    ]

    facts = FunnelFacts.load(sql_tool, "all_deals")
    assert check_funnel(review, facts) == []
    stages = [s.model_copy() for s in review.stages]
    stages[3] = stages[3].model_copy(update={"deals": 15, "conversion_from_previous_rate": 0.9})
    errors = check_funnel(review.model_copy(update={"stages": stages, "win_rate": 0.9}), facts)
    assert errors == [
        "stage 'decisionmakerboughtin': deals is 12 in marts.fct_sales_funnel, not 15",
        f"stage 'decisionmakerboughtin': conversion_from_previous_rate is {12 / 18} in marts.fct_sales_funnel, not 0.9",
        f"win_rate is {10 / 14} in marts.fct_sales_funnel, not 0.9",
    ]
    assert "stages must be" in check_funnel(review.model_copy(update={"stages": review.stages[1:]}), facts)[0]


def test_llm_review_with_a_wrong_number_is_retried_then_accepted(sql_tool: SqlTool) -> None:
    decision = route_offline(REVIEW_PT)
    vetted, _ = offline(sql_tool, REVIEW_PT)
    win = next(f for f in vetted.figures if f.label == "all_deals win rate")

    def reply(value: float) -> SalesReview:
        return vetted.model_copy(
            update={
                "summary": f"A taxa de ganho é {value:g}%.",
                "figures": [win.model_copy(update={"value": value})],
                "generated_by": "llm",
            }
        )

    provider, model = fake_provider(answer(reply(90.0)), answer(reply(win.value)))
    runtime = AgentRuntime(provider)

    result = review_sales(runtime, sql_tool, request=REVIEW_PT, decision=decision)

    assert result.generated_by == "llm" and result.figures[0].value == pytest.approx(100 * 10 / 14)
    system = model.seen[0][0].content
    assert "marts.fct_sales_funnel(funnel varchar" in system  # the schema description
    assert '"all_deals deals lost appointmentscheduled -> qualifiedtobuy"' in system  # vetted figures as facts
    assert '"stage": "qualifiedtobuy", "deals": 20' in system  # the vetted funnel
    assert "states 90 but its query returns 71.4286" in model.seen[1][-2].content  # the retry says the real value
    assert runtime.records[-1].retried and runtime.records[-1].agent == "sales_ops"


def test_llm_review_with_made_up_stages_or_the_wrong_language_is_rejected(sql_tool: SqlTool) -> None:
    decision = route_offline(REVIEW_PT)
    vetted, _ = offline(sql_tool, REVIEW_PT)
    stages = [s.model_copy() for s in vetted.stages]
    stages[1] = stages[1].model_copy(update={"deals": 25})
    wrong = vetted.model_copy(update={"stages": stages, "language": "en"})
    provider, _ = fake_provider(answer(wrong), answer(wrong))

    with pytest.raises(GuardrailViolation) as caught:
        review_sales(AgentRuntime(provider), sql_tool, request=REVIEW_PT, decision=decision)

    message = str(caught.value)
    assert "stage 'qualifiedtobuy': deals is 20 in marts.fct_sales_funnel, not 25" in message
    assert "language 'pt', not 'en'" in message and caught.value.attempts == 2
