from __future__ import annotations

import pytest

from agents.providers import OfflineProvider
from agents.router import detect_language, extract_budget, parse_amount, route, route_offline
from agents.runtime import AgentRuntime
from agents.schemas import LLM_NOTICE, OFFLINE_NOTICE, RouteDecision
from tests.agents.fakes import answer, fake_provider

# (request, intent, language, parameters that must be set; every other parameter must be None)
EXAMPLES = [
    ("Analise o churn dos últimos 3 meses por coorte", "analyse", "pt", {"lookback_months": 3}),
    # A revenue forecast is answered by the Researcher (forecasts.revenue): analyse, not finance.
    ("Gere forecast de receita para próximos 6 meses", "analyse", "pt", {"horizon_months": 6}),
    ("Calcule CAC e LTV por canal de aquisição", "analyse", "pt", {}),
    (
        "Crie uma campanha de WhatsApp para clientes inativos com orçamento de R$ 1000",
        "campaign",
        "pt",
        {"budget_brl": 1000.0, "segment": "inactive_60d", "channel": "whatsapp"},
    ),
    (
        "Preciso de um plano de mídia para São Paulo com budget R$ 5000",
        "plan",
        "pt",
        {"budget_brl": 5000.0, "region": "São Paulo"},
    ),
    ("Gere um DRE do mês passado com cenários otimista e conservador", "finance", "pt", {"lookback_months": 1}),
    ("Execute o playbook de análise de churn dos últimos 90 dias", "automate", "pt", {"lookback_days": 90}),
    ("Sincronize contatos com o HubSpot", "automate", "pt", {}),
    (
        "Create a WhatsApp campaign for inactive customers with a budget of R$ 1,500.50",
        "campaign",
        "en",
        {"budget_brl": 1500.5, "segment": "inactive_60d", "channel": "whatsapp"},
    ),
    ("What was our churn by cohort over the last 6 months?", "analyse", "en", {"lookback_months": 6}),
    ("Show the sales funnel win rate for the last quarter", "sales", "en", {"lookback_months": 3}),
    (
        "Quero um plano de retenção para clientes em risco em SP com 5 mil reais",
        "plan",
        "pt",
        {"budget_brl": 5000.0, "segment": "at_risk", "region": "São Paulo"},
    ),
    ("Analyse churn by subscription plan", "analyse", "en", {}),
]
PARAMS = ("budget_brl", "lookback_days", "lookback_months", "horizon_months", "channel", "region", "segment")


@pytest.mark.parametrize(("request_text", "intent", "language", "params"), EXAMPLES, ids=[e[0][:40] for e in EXAMPLES])
def test_offline_routing_of_the_issue_examples(request_text: str, intent: str, language: str, params: dict) -> None:
    runtime = AgentRuntime(OfflineProvider())
    decision = route(request_text, runtime)
    assert (decision.intent, decision.language) == (intent, language)
    assert {p: getattr(decision, p) for p in PARAMS} == {p: params.get(p) for p in PARAMS}
    assert decision.generated_by == "offline"
    assert decision.notice == OFFLINE_NOTICE and "No LLM" in decision.notice
    [record] = runtime.rows()
    assert (record["agent"], record["provider"], record["input_tokens"], record["cache_hit"]) == (
        "router",
        "offline",
        0,
        False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", 1000),
        ("1.000", 1000),
        ("1.000,50", 1000.5),
        ("1,000.50", 1000.5),
        ("2,5", 2.5),
        ("12.345.678", 12345678),
    ],
)
def test_amounts_in_brazilian_and_english_notation(text: str, expected: float) -> None:
    assert parse_amount(text) == expected


def test_budget_phrasings() -> None:
    assert extract_budget("com orçamento de R$ 2.500,00") == 2500
    assert extract_budget("uns 5 mil reais") == 5000
    assert extract_budget("budget: BRL 3k") == 3000
    assert extract_budget("verba 750") == 750
    assert extract_budget("Analise o churn dos últimos 3 meses") is None


def test_language_detection() -> None:
    assert detect_language("Sincronize contatos com o HubSpot") == "pt"
    assert detect_language("Sync the contacts with HubSpot") == "en"
    assert detect_language("CAC LTV") == "pt"  # no clue: the company's language


def test_llm_routing_with_a_fake_chat_model() -> None:
    reply = RouteDecision(
        intent="finance", language="pt", lookback_months=1, reason="DRE", generated_by="offline", notice="forged"
    )
    provider, model = fake_provider(answer(reply, input_tokens=321, output_tokens=45))
    runtime = AgentRuntime(provider, price_per_1k_input=1.0, price_per_1k_output=2.0)

    decision = route("Gere um DRE do mês passado com cenários otimista e conservador", runtime)

    assert (decision.intent, decision.language, decision.lookback_months) == ("finance", "pt", 1)
    # The runtime, not the model, says who wrote it.
    assert decision.generated_by == "llm"
    assert decision.notice == LLM_NOTICE.format(provider="fake", model="fake-model")
    prompt = model.seen[0]
    assert "Gere um DRE" in prompt[1].content and "RouteDecision" in prompt[-1].content
    [record] = runtime.records
    assert (record.input_tokens, record.output_tokens) == (321, 45)
    assert record.cost_usd == pytest.approx(0.321 + 0.09)


def test_offline_rules_agree_with_the_schema() -> None:
    for request_text, *_ in EXAMPLES:
        decision = route_offline(request_text)
        assert RouteDecision.model_validate(decision.model_dump()) == decision
