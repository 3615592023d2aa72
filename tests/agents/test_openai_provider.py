"""The real ChatOpenAI path against a local OpenAI-compatible server (pytest-httpserver); no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from agents.providers import AgentSettings, OfflineProvider, OpenAIProvider, build_provider
from agents.router import route
from agents.runtime import AgentRuntime, SqliteCache
from agents.schemas import RouteDecision

REQUEST = "Crie uma campanha de WhatsApp para clientes inativos com orçamento de R$ 1000"
DECISION = {
    "generated_by": "llm",
    "notice": "",
    "intent": "campaign",
    "language": "pt",
    "budget_brl": 1000,
    "lookback_days": None,
    "lookback_months": None,
    "horizon_months": None,
    "channel": "whatsapp",
    "region": None,
    "segment": "inactive_60d",
    "reason": "pede uma campanha",
}
PRICE_IN, PRICE_OUT = 0.15, 0.6  # USD per 1K tokens, made up for the test


def completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    """A chat.completions response shaped like OpenAI's documented one."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": 812,
            "completion_tokens": 64,
            "total_tokens": 876,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


JSON_CONTENT = completion(
    {"role": "assistant", "content": json.dumps(DECISION, ensure_ascii=False), "refusal": None}, "stop"
)
TOOL_CALL = completion(
    {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "RouteDecision", "arguments": json.dumps(DECISION, ensure_ascii=False)},
            }
        ],
    },
    "tool_calls",
)


def openai_runtime(httpserver: HTTPServer, method: str = "json_schema", **kwargs: Any) -> AgentRuntime:
    provider = OpenAIProvider(
        model="gpt-4o-mini",
        api_key="sk-test",
        base_url=httpserver.url_for("/v1"),
        method=method,  # type: ignore[arg-type]
        timeout_s=10,
        max_retries=0,
    )
    return AgentRuntime(provider, price_per_1k_input=PRICE_IN, price_per_1k_output=PRICE_OUT, **kwargs)


def test_structured_output_end_to_end_then_cache_hit(httpserver: HTTPServer) -> None:
    # ChatOpenAI.with_structured_output defaults to method="json_schema": the answer is JSON message content.
    httpserver.expect_oneshot_request("/v1/chat/completions", method="POST").respond_with_json(JSON_CONTENT)
    runtime = openai_runtime(httpserver)

    decision = route(REQUEST, runtime)

    assert isinstance(decision, RouteDecision)
    assert (decision.intent, decision.budget_brl, decision.segment, decision.channel) == (
        "campaign",
        1000,
        "inactive_60d",
        "whatsapp",
    )
    assert decision.generated_by == "llm" and "gpt-4o-mini" in decision.notice
    [(request, _)] = httpserver.log
    assert request.headers["Authorization"] == "Bearer sk-test"
    body = request.get_json()
    assert body["model"] == "gpt-4o-mini"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "RouteDecision"
    assert "default" not in json.dumps(body["response_format"])  # strict mode refuses defaults
    assert body["messages"][-1] == {"role": "user", "content": REQUEST}
    record = runtime.records[0]
    assert (record.provider, record.model, record.input_tokens, record.output_tokens) == (
        "openai",
        "gpt-4o-mini",
        812,
        64,
    )
    assert record.cost_usd == pytest.approx(812 / 1000 * PRICE_IN + 64 / 1000 * PRICE_OUT)
    assert (record.cache_hit, record.retried, record.status) == (False, False, "ok")
    assert record.latency_ms > 0

    again = route(REQUEST, runtime)  # identical request: served from the cache, no HTTP request

    assert again == decision
    assert len(httpserver.log) == 1
    hit = runtime.records[1]
    assert (hit.cache_hit, hit.input_tokens, hit.output_tokens, hit.cost_usd) == (True, 0, 0, 0.0)
    assert hit.cache_key == record.cache_key
    httpserver.check_assertions()


def test_function_calling_method_reads_the_tool_call(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/v1/chat/completions", method="POST").respond_with_json(TOOL_CALL)
    runtime = openai_runtime(httpserver, method="function_calling")

    decision = route(REQUEST, runtime)

    assert (decision.intent, decision.budget_brl) == ("campaign", 1000)
    body = httpserver.log[0][0].get_json()
    assert body["tools"][0]["function"]["name"] == "RouteDecision"
    assert body["tool_choice"]["function"]["name"] == "RouteDecision"
    assert runtime.records[0].input_tokens == 812


def test_sqlite_cache_survives_the_process(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/v1/chat/completions", method="POST").respond_with_json(JSON_CONTENT)
    path = tmp_path / "cache" / "llm.sqlite"
    first = openai_runtime(httpserver, cache=SqliteCache(path))
    decision = route(REQUEST, first)

    second = openai_runtime(httpserver, cache=SqliteCache(path))  # a new runtime, as in another run
    assert route(REQUEST, second) == decision
    assert len(httpserver.log) == 1 and second.records[0].cache_hit
    assert len(SqliteCache(path)) == 1

    # Another request is a miss: the server has no answer left for it, so the call fails and is recorded.
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises for the server's 500
        route("Sincronize contatos com o HubSpot", second)
    assert second.records[-1].status == "error" and len(httpserver.log) == 2


def test_a_schema_breaking_answer_is_retried_once(httpserver: HTTPServer) -> None:
    bad = completion({"role": "assistant", "content": json.dumps({**DECISION, "intent": "gossip"})}, "stop")
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(bad)
    httpserver.expect_ordered_request("/v1/chat/completions").respond_with_json(JSON_CONTENT)
    runtime = openai_runtime(httpserver)

    decision = route(REQUEST, runtime)

    assert decision.intent == "campaign"
    record = runtime.records[0]
    assert (record.attempts, record.retried) == (2, True)
    assert "does not match RouteDecision" in record.validation_errors[0]
    retry_prompt = httpserver.log[1][0].get_json()["messages"]
    assert "rejected by validation" in retry_prompt[-1]["content"]


def test_settings_from_env(tmp_path: Path) -> None:
    assert AgentSettings.from_env({}).provider == "offline"
    assert isinstance(build_provider(AgentSettings.from_env({})), OfflineProvider)
    runtime = AgentRuntime.from_settings(AgentSettings.from_env({}), cache_path=tmp_path / "c.sqlite")
    assert not runtime.is_llm and isinstance(runtime.cache, SqliteCache)
    settings = AgentSettings.from_env(
        {
            "CRO_LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-secret",
            "OPENAI_BASE_URL": "http://vllm:8000/v1",
            "CRO_LLM_MODEL": "llama-3.1-8b",
            "CRO_LLM_PRICE_PER_1K_INPUT": "0.001",
            "CRO_LLM_STRUCTURED_OUTPUT": "function_calling",
        }
    )
    assert (settings.model, settings.base_url, settings.price_per_1k_input, settings.price_per_1k_output) == (
        "llama-3.1-8b",
        "http://vllm:8000/v1",
        0.001,
        0.0006,
    )
    assert "sk-secret" not in repr(settings) and "sk-secret" not in str(settings.describe())
    provider = build_provider(settings)
    assert (provider.name, provider.model, provider.endpoint) == ("openai", "llama-3.1-8b", "http://vllm:8000/v1")
    assert AgentSettings.from_env({"OPENAI_API_KEY": "k"}, default_provider="openai").provider == "openai"
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        AgentSettings.from_env({"CRO_LLM_PROVIDER": "openai"})
    with pytest.raises(ValueError, match="CRO_LLM_PROVIDER"):
        AgentSettings.from_env({"CRO_LLM_PROVIDER": "claude"})
    with pytest.raises(ValueError, match="CRO_LLM_PRICE_PER_1K_OUTPUT"):
        AgentSettings.from_env({"CRO_LLM_PRICE_PER_1K_OUTPUT": "cheap"})
