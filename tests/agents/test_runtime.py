"""Validate-and-retry, run records and the cache, with LangChain's fake chat model."""

from __future__ import annotations

import json

import pytest

from agents.guardrails import budget_rule
from agents.providers import OfflineProvider
from agents.runtime import AgentRuntime, GuardrailViolation, MemoryCache, cache_key
from agents.schemas import ChannelAllocation, MediaPlan
from tests.agents.fakes import answer, fake_provider

MESSAGES = [("system", "You split a media budget."), ("human", "Plano de mídia com budget R$ 5000")]


def plan(*budgets: float, budget: float = 5000) -> MediaPlan:
    channels = ["google_ads", "meta_ads", "instagram"]
    return MediaPlan(
        budget_brl=budget,
        allocations=[ChannelAllocation(channel=c, budget_brl=b) for c, b in zip(channels, budgets, strict=False)],
        rationale="CAC e LTV por canal",
    )


def test_over_budget_answer_is_retried_once_with_the_error() -> None:
    provider, model = fake_provider(
        answer(plan(3000, 2500, 500), input_tokens=200, output_tokens=50),  # R$ 6,000 > R$ 5,000
        answer(plan(2500, 2000, 500), input_tokens=260, output_tokens=48),
    )
    runtime = AgentRuntime(provider, price_per_1k_input=1.0, price_per_1k_output=1.0)

    result = runtime.run("planner", MediaPlan, messages=MESSAGES, validators=[budget_rule(5000)])

    assert [a.budget_brl for a in result.allocations] == [2500, 2000, 500]
    assert result.generated_by == "llm"
    [record] = runtime.records
    assert (record.attempts, record.retried, record.status) == (2, True, "ok")
    assert (record.input_tokens, record.output_tokens) == (460, 98)
    assert record.cost_usd == pytest.approx(0.558)
    assert len(record.validation_errors) == 1 and "over the budget of R$ 5,000.00" in record.validation_errors[0]
    retry_prompt = model.seen[1]
    assert "rejected by validation" in retry_prompt[-2].content
    assert "over the budget" in retry_prompt[-2].content
    assert json.loads(retry_prompt[-3].content)["allocations"][0]["budget_brl"] == 3000  # the rejected answer
    row = runtime.rows()[0]
    assert row["retried"] is True and json.loads(row["validation_errors"]) == record.validation_errors


def test_two_bad_answers_raise_and_return_nothing() -> None:
    provider, _ = fake_provider(answer(plan(6000)), answer(plan(3000, -500, 2600)))
    runtime = AgentRuntime(provider)

    with pytest.raises(GuardrailViolation) as caught:
        runtime.run("planner", MediaPlan, messages=MESSAGES, validators=[budget_rule(5000)])

    message = str(caught.value)
    assert "'planner'" in message and "rejected after 2 attempts" in message and "nothing was returned" in message
    assert "must be 0 or more" in message and "R$ 5,100.00" in message
    [record] = runtime.records
    assert (record.status, record.attempts, record.retried) == ("rejected", 2, True)
    assert len(runtime.cache) == 0  # type: ignore[arg-type]  # nothing invalid is cached


def test_unparsable_answer_counts_as_a_validation_error() -> None:
    provider, _ = fake_provider(answer("Claro! Aqui está o plano: 50% Google, 50% Meta."), answer(plan(2500, 2500)))
    runtime = AgentRuntime(provider)

    result = runtime.run("planner", MediaPlan, messages=MESSAGES, validators=[budget_rule(5000)])

    assert sum(a.budget_brl for a in result.allocations) == 5000
    assert "does not match MediaPlan" in runtime.records[0].validation_errors[0]


def test_cached_answer_is_validated_again() -> None:
    provider, model = fake_provider(answer(plan(3000, 2000)), answer(plan(2000, 1000, budget=3000)))
    runtime = AgentRuntime(provider)
    runtime.run("planner", MediaPlan, messages=MESSAGES, validators=[budget_rule(5000)])
    runtime.run("planner", MediaPlan, messages=MESSAGES, validators=[budget_rule(5000)])
    assert len(model.seen) == 1 and runtime.records[1].cache_hit

    # The cap dropped: the cached plan is no longer valid, so it is not served.
    result = runtime.run("planner", MediaPlan, messages=MESSAGES, validators=[budget_rule(3000)])
    assert len(model.seen) == 2 and not runtime.records[2].cache_hit
    assert sum(a.budget_brl for a in result.allocations) == 3000


def test_cache_key_covers_agent_model_schema_and_prompt() -> None:
    provider, _ = fake_provider()
    key = cache_key("planner", provider, MediaPlan, MESSAGES)
    assert len(key) == 64
    assert cache_key("planner", provider, MediaPlan, list(MESSAGES)) == key
    assert cache_key("finance", provider, MediaPlan, MESSAGES) != key
    assert cache_key("planner", provider, MediaPlan, [*MESSAGES[:1], ("human", "budget R$ 6000")]) != key
    other, _ = fake_provider()
    other.model = "another-model"
    assert cache_key("planner", other, MediaPlan, MESSAGES) != key


def test_offline_output_is_validated_too_and_not_cached() -> None:
    cache = MemoryCache()
    runtime = AgentRuntime(OfflineProvider(), cache=cache)
    good = runtime.run("planner", MediaPlan, offline=lambda: plan(2000, 3000), validators=[budget_rule(5000)])
    assert good.generated_by == "offline" and "No LLM" in good.notice
    with pytest.raises(GuardrailViolation, match="after 1 attempt"):
        runtime.run("planner", MediaPlan, offline=lambda: plan(4000, 3000), validators=[budget_rule(5000)])
    assert [r.status for r in runtime.records] == ["ok", "rejected"]
    assert len(cache) == 0
