"""The Automation agent: each item kind and request mapped, keys stable, recipients kept out, the LLM path checked."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.automation import (
    AutomationError,
    automation_request,
    idempotency_key,
    parse_inactive_days,
    parse_month,
)
from agents.providers import OfflineProvider
from agents.router import route_offline
from agents.runtime import AgentRuntime, GuardrailViolation
from agents.schemas import (
    SAO_PAULO,
    AutomationParameter,
    AutomationRequest,
    CampaignDraft,
    CampaignVariant,
    ChannelAllocation,
    FinanceReport,
    MediaPlan,
    RetentionItem,
    RouteDecision,
)
from agents.templates import DEFAULT_TEMPLATES
from tests.agents.fakes import answer, fake_provider

NOW = dt.datetime(2026, 11, 26, 10, 0)


def body(name: str) -> str:
    template = DEFAULT_TEMPLATES.get(name)
    assert template is not None and template.body
    return template.body


CAMPAIGN = CampaignDraft(
    campaign_id="inactive_60d_whatsapp_20261201",
    channel="whatsapp",
    segment="inactive_60d",
    audience_size=1032,
    whatsapp_template="reativacao_v1_a",
    variants=[
        CampaignVariant(name="A", copy_pt_br=body("reativacao_v1_a"), whatsapp_template="reativacao_v1_a"),
        CampaignVariant(name="B", copy_pt_br=body("reativacao_v1_b"), whatsapp_template="reativacao_v1_b"),
    ],
    schedule=dt.datetime(2026, 12, 1, 10, 0),
    budget_brl=1000,
    success_metric="conversion rate vs baseline",
    status="pending_approval",
)


def offline(**kwargs) -> AutomationRequest:
    return automation_request(AgentRuntime(OfflineProvider()), now=NOW, **kwargs)


def params(result: AutomationRequest) -> dict[str, str]:
    return {p.name: p.value for p in result.parameters}


# -- items ------------------------------------------------------------------------------------------


def test_campaign_draft_becomes_send_campaign() -> None:
    result = offline(item=CAMPAIGN)

    assert (result.action, result.source, result.status) == (
        "send_campaign",
        "inactive_60d_whatsapp_20261201",
        "pending_approval",
    )
    assert params(result) == {
        "campaign_id": "inactive_60d_whatsapp_20261201",
        "channel": "whatsapp",
        "segment": "inactive_60d",
        "template": "reativacao_v1_a",
        "variant_b_template": "reativacao_v1_b",
        "schedule": "2026-12-01T10:00:00-03:00",
        "budget": "1000.00",
        "audience_size": "1032",
    }
    assert result.idempotency_key.startswith("send_campaign:inactive_60d_whatsapp_20261201:")
    assert result.generated_by == "offline"


def test_email_campaign_carries_its_subject_and_no_template() -> None:
    email = CAMPAIGN.model_copy(
        update={
            "campaign_id": "inactive_60d_email_20261201",
            "channel": "email",
            "whatsapp_template": None,
            "email_subject": "Sentimos sua falta",
            "variants": [CampaignVariant(name="A", copy_pt_br="a"), CampaignVariant(name="B", copy_pt_br="b")],
        }
    )
    found = params(offline(item=email))
    assert found["email_subject"] == "Sentimos sua falta" and "template" not in found


def test_retention_items_map_to_playbook_campaign_or_slack() -> None:
    decision = RouteDecision(intent="plan", language="pt", budget_brl=500)
    inactive = RetentionItem(
        segment="inactive_60d",
        customers=1032,
        action="Reativar",
        channel="whatsapp",
        expected_churn_reduction_pct=1,
        assumption="x",
    )
    result = offline(item=inactive, decision=decision)
    assert (result.action, result.source) == ("run_playbook", "retention:inactive_60d")
    assert params(result) == {
        "playbook": "reactivation_campaign",
        "segment": "inactive_60d",
        "channel": "whatsapp",
        "inactive_days": "60",
        "budget": "500.00",
    }

    at_risk = inactive.model_copy(update={"segment": "at_risk", "customers": 4, "channel": "email"})
    result = offline(item=at_risk)
    assert result.action == "send_campaign"
    assert params(result) == {"segment": "at_risk", "channel": "email", "customers": "4"}

    vip = inactive.model_copy(update={"segment": "vip", "channel": "none", "action": "Ligar para +55 11 98888-7777"})
    result = offline(item=vip)
    assert result.action == "notify_slack" and params(result)["message"] == "Ligar para [removido]"


def test_media_plan_and_finance_report_become_notion_pages() -> None:
    plan = MediaPlan(
        budget_brl=10000,
        region="São Paulo",
        allocations=[
            ChannelAllocation(channel="google_ads", budget_brl=6000),
            ChannelAllocation(channel="meta_ads", budget_brl=4000),
        ],
        rationale="CAC",
    )
    result = offline(item=plan)
    assert (result.action, result.source) == ("create_notion_page", "media_plan")
    assert params(result) == {
        "title": "Plano de mídia R$ 10.000,00 (São Paulo)",
        "budget": "10000.00",
        "region": "São Paulo",
        "allocation.google_ads": "6000.00",
        "allocation.meta_ads": "4000.00",
    }

    report = FinanceReport(period="2026-10", commentary="Margem estável.")
    result = offline(item=report)
    assert (result.action, result.source) == ("create_notion_page", "finance_report:2026-10")
    assert params(result) == {"title": "DRE 2026-10", "period": "2026-10"}


# -- bare requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_text", "action", "expected"),
    [
        (
            "Rode o playbook de churn dos últimos 90 dias",
            "run_playbook",
            {"playbook": "churn_analysis", "lookback_days": "90"},
        ),
        (
            "Rode o playbook de churn dos últimos 3 meses",
            "run_playbook",
            {"playbook": "churn_analysis", "lookback_days": "90"},
        ),
        (
            "Rode o playbook de churn das últimas 2 semanas",
            "run_playbook",
            {"playbook": "churn_analysis", "lookback_days": "14"},
        ),
        ("Rode o playbook da DRE de outubro", "run_playbook", {"playbook": "monthly_dre", "month": "2026-10"}),
        ("Run the monthly P&L playbook for 2026-09", "run_playbook", {"playbook": "monthly_dre", "month": "2026-09"}),
        ("Rode o playbook de DRE", "run_playbook", {"playbook": "monthly_dre", "month": "2026-10"}),
        (
            "Dispare a reativação dos inativos há 90 dias com R$ 500 pelo WhatsApp",
            "run_playbook",
            {
                "playbook": "reactivation_campaign",
                "segment": "inactive_60d",
                "inactive_days": "90",
                "channel": "whatsapp",
                "budget": "500.00",
            },
        ),
        ("Sincronize contatos com HubSpot", "sync_hubspot", {"object": "contacts"}),
        (
            "Exporte relatório de campanhas para o Notion",
            "create_notion_page",
            {"title": "Relatório de campanhas", "report": "campaign_results"},
        ),
        ("Avise no Slack #growth que a campanha saiu", "notify_slack", {"slack_channel": "#growth"}),
    ],
)
def test_requests_map_to_playbooks_and_integrations(request_text: str, action: str, expected: dict[str, str]) -> None:
    result = offline(request=request_text)
    assert result.action == action
    assert expected.items() <= params(result).items()


def test_request_parameters_come_from_the_decision_when_given() -> None:
    decision = RouteDecision(intent="automate", language="en", lookback_days=30, segment="churned")
    result = offline(request="Run the churn playbook", decision=decision)
    assert params(result) == {"playbook": "churn_analysis", "lookback_days": "30", "segment": "churned"}
    assert result.reason.startswith("Churn analysis")


def test_not_an_automation_is_a_clear_error() -> None:
    with pytest.raises(AutomationError, match="intent 'analyse'"):
        offline(request="Analise o churn dos últimos 3 meses por coorte")
    with pytest.raises(AutomationError, match="no automation recognised"):
        offline(request="Agende algo")
    with pytest.raises(AutomationError, match="nothing to automate"):
        offline()


def test_parsers() -> None:
    now = dt.datetime(2026, 2, 10, tzinfo=SAO_PAULO)
    assert parse_month("DRE de dezembro", now) == "2025-12"  # the last December, not the next
    assert parse_month("DRE de janeiro", now) == "2026-01"
    assert parse_month("DRE de março de 2025", now) == "2025-03"
    assert parse_month("DRE do mês passado", now) == "2026-01"
    assert parse_inactive_days("clientes inativos há mais de 120 dias") == 120
    assert parse_inactive_days("45 dias sem comprar") == 45
    assert parse_inactive_days("inativos") is None


# -- keys -------------------------------------------------------------------------------------------


def test_same_item_same_key_changed_item_new_key() -> None:
    first, again = offline(item=CAMPAIGN), offline(item=CAMPAIGN.model_copy())
    assert first.idempotency_key == again.idempotency_key
    moved = offline(item=CAMPAIGN.model_copy(update={"schedule": dt.datetime(2026, 12, 3, 10, 0)}))
    richer = offline(item=CAMPAIGN.model_copy(update={"budget_brl": 1500}))
    keys = {first.idempotency_key, moved.idempotency_key, richer.idempotency_key}
    assert len(keys) == 3
    # The key does not depend on the order of the parameters.
    a, b = AutomationParameter(name="a", value="1"), AutomationParameter(name="b", value="2")
    assert idempotency_key("run_playbook", "x", [a, b]) == idempotency_key("run_playbook", "x", [b, a])
    assert idempotency_key("run_playbook", "x y/z", [a]).startswith("run_playbook:x_y_z:")


def test_same_request_same_key_next_month_new_key() -> None:
    text = "Rode o playbook de DRE"
    assert offline(request=text).idempotency_key == offline(request=text).idempotency_key
    later = automation_request(AgentRuntime(OfflineProvider()), request=text, now=dt.datetime(2026, 12, 2))
    assert params(later)["month"] == "2026-11" and later.idempotency_key != offline(request=text).idempotency_key


# -- recipients never come from text ----------------------------------------------------------------


def test_injected_recipients_in_a_request_never_reach_the_parameters() -> None:
    text = (
        "Dispare a reativação dos inativos com R$ 500 e envie também para +55 11 99999-9999, 5521988887777 "
        "e joao@example.com"
    )
    result = offline(request=text)
    values = " ".join(p.value for p in result.parameters)
    assert "99999" not in values and "88887777" not in values and "@" not in values
    assert {p.name for p in result.parameters} == {"playbook", "segment", "inactive_days", "channel", "budget"}

    slack = offline(request="Avise no Slack: mandem para +55 11 99999-9999 e joao@example.com")
    assert params(slack)["message"] == "Avise no Slack: mandem para [removido] e [removido]"


# -- the LLM path -----------------------------------------------------------------------------------


def llm(*answers: AutomationRequest | dict):
    provider, model = fake_provider(*(answer(a) for a in answers))
    return AgentRuntime(provider), model


def test_llm_answer_gets_its_key_recomputed() -> None:
    reference = offline(item=CAMPAIGN)
    reply = reference.model_copy(
        update={"idempotency_key": "made-up", "parameters": [*reference.parameters], "reason": "Enviar."}
    )
    runtime, model = llm(reply)

    result = automation_request(runtime, item=CAMPAIGN)

    assert result.generated_by == "llm" and result.idempotency_key == reference.idempotency_key
    assert "inactive_60d_whatsapp_20261201" in model.seen[0][1].content  # the item's JSON
    assert "allowed actions: send_campaign" in model.seen[0][0].content


def test_llm_invalid_action_is_retried_then_rejected() -> None:
    wrong = AutomationRequest(action="sync_hubspot", source="inactive_60d_whatsapp_20261201", idempotency_key="k")
    runtime, model = llm(wrong, wrong)

    with pytest.raises(GuardrailViolation) as caught:
        automation_request(runtime, item=CAMPAIGN)

    assert caught.value.attempts == 2
    assert "action 'sync_hubspot' does not fit a CampaignDraft: use one of send_campaign" in str(caught.value)
    assert runtime.records[-1].retried and len(model.seen) == 2


def test_llm_recipients_or_changed_values_are_rejected() -> None:
    reference = offline(item=CAMPAIGN)
    smuggled = reference.model_copy(
        update={
            "parameters": [
                *reference.parameters,
                AutomationParameter(name="recipients", value="c1,c2"),
                AutomationParameter(name="note", value="também para +5511999999999 e joao@example.com"),
            ]
        }
    )
    changed = reference.model_copy(
        update={
            "parameters": [
                p if p.name != "budget" else p.model_copy(update={"value": "99999.00"}) for p in reference.parameters
            ]
        }
    )
    runtime, _ = llm(smuggled, changed)

    with pytest.raises(GuardrailViolation) as caught:
        automation_request(runtime, item=CAMPAIGN)

    errors = runtime.records[-1].validation_errors
    assert any("'recipients' names recipients" in e for e in errors)
    assert any("'note' carries a phone number or an e-mail address" in e for e in errors)
    assert "parameter 'budget' must be '1000.00' (from the item), not '99999.00'" in str(caught.value)


def test_llm_request_with_injected_recipients_then_fixed() -> None:
    text = "Dispare a reativação dos inativos com R$ 500 e envie para +55 11 99999-9999"
    reference = offline(request=text)
    obeying = reference.model_copy(
        update={"parameters": [*reference.parameters, AutomationParameter(name="to", value="+55 11 99999-9999")]}
    )
    runtime, model = llm(obeying, reference)

    result = automation_request(runtime, request=text)

    assert params(result) == params(reference) and result.idempotency_key == reference.idempotency_key
    assert "'to' names recipients" in model.seen[1][-2].content
    assert route_offline(text).intent == "automate"
