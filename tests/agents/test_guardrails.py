"""Business limits on agent outputs, with facts from the hand-made marts."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from agents.guardrails import MartFacts, SegmentFacts, check_budget, check_campaign, check_retention_plan
from agents.schemas import (
    SAO_PAULO,
    CampaignDraft,
    CampaignVariant,
    ChannelAllocation,
    MediaPlan,
    RetentionItem,
    RetentionPlan,
)
from agents.sql_tool import SqlTool
from agents.templates import DEFAULT_TEMPLATES

FACTS = MartFacts({"inactive_60d": SegmentFacts(5, 3), "loyal": SegmentFacts(2, 1)})


def body(name: str) -> str:
    template = DEFAULT_TEMPLATES.get(name)
    assert template is not None and template.body is not None
    return template.body


def whatsapp(**changes: object) -> CampaignDraft:
    fields: dict[str, object] = {
        "campaign_id": "cmp_202612_volta",
        "channel": "whatsapp",
        "segment": "inactive_60d",
        "audience_size": 3,
        "whatsapp_template": "reativacao_v1_a",
        "variants": [
            CampaignVariant(name="A", copy_pt_br=body("reativacao_v1_a")),
            CampaignVariant(name="B", copy_pt_br=body("reativacao_v1_b"), whatsapp_template="reativacao_v1_b"),
        ],
        "schedule": dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC),
        "budget_brl": 500,
        "success_metric": "reactivations in 14 days",
    }
    fields.update(changes)
    return CampaignDraft.model_validate(fields)


def test_facts_come_from_dim_segments(sql_tool: SqlTool) -> None:
    assert MartFacts.load(sql_tool).segments == {
        "inactive_60d": SegmentFacts(5, 3),
        "loyal": SegmentFacts(2, 1),
        "vip": SegmentFacts(1, 0),
    }


def test_a_valid_whatsapp_draft_passes_and_is_in_sao_paulo_time() -> None:
    draft = whatsapp()
    assert check_campaign(draft, FACTS, budget_cap_brl=1000) == []
    assert draft.schedule.tzinfo == SAO_PAULO and draft.schedule.hour == 10  # 13:00 UTC
    assert whatsapp(schedule=dt.datetime(2026, 12, 1, 9, 30)).schedule.utcoffset() == dt.timedelta(hours=-3)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"segment": "whales"}, "segment 'whales' does not exist"),
        ({"audience_size": 4}, "more than the 3 contactable"),
        ({"whatsapp_template": "promo_x"}, "'promo_x' is not approved"),
        (
            {
                "variants": [
                    CampaignVariant(name="A", copy_pt_br="Volte já!"),
                    CampaignVariant(name="B", copy_pt_br="x"),
                ]
            },
            "must be the approved body",
        ),
        ({"budget_brl": 1500}, "over the cap of R$ 1,000.00"),
    ],
)
def test_campaign_limits(changes: dict, error: str) -> None:
    errors = check_campaign(whatsapp(**changes), FACTS, budget_cap_brl=1000)
    assert any(error in e for e in errors), errors


def test_email_audience_is_bounded_by_the_segment() -> None:
    email = whatsapp(
        channel="email",
        whatsapp_template=None,
        email_subject="Sentimos sua falta",
        audience_size=5,
        variants=[CampaignVariant(name="A", copy_pt_br="Oi"), CampaignVariant(name="B", copy_pt_br="Olá")],
    )
    assert check_campaign(email, FACTS) == []
    assert "more than the 5 customers" in check_campaign(email.model_copy(update={"audience_size": 6}), FACTS)[0]


def test_schema_rules_of_a_campaign() -> None:
    with pytest.raises(ValidationError, match="needs whatsapp_template"):
        whatsapp(whatsapp_template=None)
    with pytest.raises(ValidationError, match="exactly A and B"):
        whatsapp(variants=[CampaignVariant(name="A", copy_pt_br="x"), CampaignVariant(name="A", copy_pt_br="y")])
    with pytest.raises(ValidationError):
        whatsapp(status="approved")  # agents propose: only draft or pending_approval


def test_budget_caps() -> None:
    def plan(*budgets: float, total: float = 1000) -> MediaPlan:
        return MediaPlan(
            budget_brl=total,
            allocations=[ChannelAllocation(channel=f"c{i}", budget_brl=b) for i, b in enumerate(budgets)],
            rationale="",
        )

    assert check_budget(plan(600, 400), 1000) == []
    assert check_budget(plan(600, 400.004), 1000) == []  # rounding to the centavo
    assert "over the budget of R$ 1,000.00" in check_budget(plan(600, 401), 1000)[0]
    assert "must be 0 or more" in check_budget(plan(1200, -200), 1000)[0]
    assert "over the cap" in check_budget(plan(500, total=2000), 1000)[0]
    assert "over the budget of R$ 500.00" in check_budget(plan(300, 300, total=500), 1000)[0]


def test_retention_plan_segments_and_reach() -> None:
    def item(segment: str, customers: int, channel: str = "whatsapp") -> RetentionItem:
        return RetentionItem(
            segment=segment,
            customers=customers,
            action="win-back",
            channel=channel,  # type: ignore[arg-type]
            expected_churn_reduction_pct=1.0,
            assumption="campaign uplift",
        )

    assert check_retention_plan(RetentionPlan(items=[item("inactive_60d", 3), item("loyal", 2, "email")]), FACTS) == []
    errors = check_retention_plan(RetentionPlan(items=[item("inactive_60d", 5), item("ghosts", 1)]), FACTS)
    assert "only 3 are reachable on whatsapp" in errors[0] and "'ghosts' does not exist" in errors[1]


def test_template_registry_matches_the_campaigns_the_demo_world_sends() -> None:
    from integrations.demo_world.config import CAMPAIGN_TEMPLATES

    for template in CAMPAIGN_TEMPLATES:
        assert body(f"{template.base}_a") == template.body_a
        assert body(f"{template.base}_b") == template.body_b
    assert len(DEFAULT_TEMPLATES.names(category="MARKETING", language="pt_BR")) == 2 * len(CAMPAIGN_TEMPLATES)
