"""``ask`` and ``cro ask``: the issue's example requests reach the right agent and answer in their language.

Offline on the hand-made marts (conftest.py), and once through the real ChatOpenAI client against a
local OpenAI-compatible server that answers like a model would: it routes by the schema it is asked
for and cites the vetted figures the prompt hands it. A second identical question is served from the
SQLite cache without a request.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from agents.ask import ask
from agents.providers import OfflineProvider
from agents.runtime import AgentRuntime
from agents.sql_tool import SqlTool
from orchestration.cli import app

EXAMPLES = [
    ("Analise o churn dos últimos 3 meses por coorte", "analyse", "researcher", "ResearchAnswer"),
    ("Gere forecast de receita para próximos 6 meses", "analyse", "researcher", "ResearchAnswer"),
    ("Calcule CAC e LTV por canal de aquisição", "analyse", "researcher", "ResearchAnswer"),
    (
        "Crie uma campanha de WhatsApp para clientes inativos com orçamento de R$ 1000",
        "campaign",
        "campaign_builder",
        "CampaignDraft",
    ),
    ("Preciso de um plano de mídia para São Paulo com budget R$ 5000", "plan", "planner", "MediaPlan"),
    ("Gere um DRE do mês passado com cenários otimista e conservador", "finance", "finance", "FinanceReport"),
    ("Monte um plano de retenção para os clientes em risco", "plan", "planner", "RetentionPlan"),
    ("Como está o funil de vendas?", "sales", "sales_ops", "SalesReview"),
    ("Sincronize contatos com o HubSpot", "automate", "automation", "AutomationRequest"),
]


@pytest.mark.parametrize(("request_text", "intent", "agent", "schema"), EXAMPLES)
def test_each_example_reaches_its_agent(
    request_text: str, intent: str, agent: str, schema: str, sql_tool: SqlTool
) -> None:
    runtime = AgentRuntime(OfflineProvider())
    answer = ask(request_text, runtime, sql_tool)
    assert (answer.decision.intent, answer.agent, type(answer.output).__name__) == (intent, agent, schema)
    assert answer.output.generated_by == "offline"
    assert getattr(answer.output, "language", "pt") == "pt"
    assert "No LLM wrote this" in answer.markdown
    assert {r.status for r in runtime.records} == {"ok"}


def test_parameters_reach_the_agents(sql_tool: SqlTool) -> None:
    runtime = AgentRuntime(OfflineProvider())
    media = ask("Preciso de um plano de mídia para São Paulo com budget R$ 5000", runtime, sql_tool).output
    assert media.budget_brl == 5000 and sum(a.budget_brl for a in media.allocations) == pytest.approx(5000, abs=0.01)
    assert media.region and "paulo" in media.region.lower()
    draft = ask("Crie uma campanha de WhatsApp para clientes inativos com orçamento de R$ 1000", runtime, sql_tool)
    assert draft.output.segment == "inactive_60d" and draft.output.budget_brl <= 1000
    assert draft.output.audience_size <= 3  # the fixture's contactable inactive customers
    finance = ask("Gere um DRE do mês passado com cenários otimista e conservador", runtime, sql_tool).output
    assert [s.scenario for s in finance.scenarios] == ["conservative", "optimistic"]


def test_english_question_gets_an_english_answer(sql_tool: SqlTool) -> None:
    answer = ask("Compute CAC and LTV by acquisition channel", AgentRuntime(OfflineProvider()), sql_tool)
    assert answer.decision.language == "en" and answer.output.language == "en"
    assert "CAC and LTV by acquisition channel" in answer.output.answer


def test_media_plan_without_a_budget_uses_last_months_paid_spend(sql_tool: SqlTool) -> None:
    answer = ask("Preciso de um plano de mídia", AgentRuntime(OfflineProvider()), sql_tool)
    # 2026-10 in the fixture: google_ads 800 + meta_ads 500
    assert answer.output.budget_brl == pytest.approx(1300)
    assert "R$ 1.300,00" in answer.notes[0] and answer.notes[0] in answer.markdown


# -- the CLI ----------------------------------------------------------------------------------------


def cli_env(marts_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CRO_ENV": "local",
        "CRO_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "CRO_WAREHOUSE_URL": marts_url,
        "CRO_LLM_PROVIDER": "offline",
        "OPENAI_API_KEY": "",
        **extra,
    }


def test_cro_ask_offline_prints_markdown_and_json(marts_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = cli_env(marts_url, tmp_path)
    result = runner.invoke(app, ["ask", "Analise o churn dos últimos 3 meses por coorte"], env=env)
    assert result.exit_code == 0, result.output
    assert "6,67% ao mês" in result.stdout and "analyse → researcher" in result.output
    result = runner.invoke(app, ["ask", "--json", "Como está o funil de vendas?"], env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["agent"] == "sales_ops" and body["output"]["generated_by"] == "offline" and body["runs"]


def test_cro_ask_explains_a_missing_warehouse(tmp_path: Path) -> None:
    env = cli_env(f"duckdb:///{tmp_path / 'nothing.duckdb'}", tmp_path)
    result = CliRunner().invoke(app, ["ask", "Analise o churn"], env=env)
    assert result.exit_code == 1
    assert "cro materialize" in result.output


def test_cro_ask_openai_without_key_or_server_says_what_to_set(marts_url: str, tmp_path: Path) -> None:
    env = cli_env(marts_url, tmp_path, CRO_LLM_PROVIDER="openai")
    result = CliRunner().invoke(app, ["ask", "Analise o churn"], env=env)
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.output


def _model_like_answer(request: Request) -> Response:
    """Answer a chat.completions request the way a model would, for the two schemas this test asks for."""
    body = request.get_json()
    schema = body["response_format"]["json_schema"]["name"]
    system = body["messages"][0]["content"]
    if schema == "RouteDecision":
        content: dict[str, Any] = {
            "generated_by": "llm",
            "notice": "",
            "intent": "analyse",
            "language": "pt",
            "budget_brl": None,
            "lookback_days": None,
            "lookback_months": 3,
            "horizon_months": None,
            "channel": None,
            "region": None,
            "segment": None,
            "reason": "pergunta analítica sobre churn",
        }
    else:
        facts = json.loads(re.search(r"which you may cite:\n(\[.*\])\s*$", system, re.S).group(1))
        average = next(f for f in facts if f["label"].startswith("logo churn, monthly average"))
        content = {
            "generated_by": "llm",
            "notice": "",
            "question": body["messages"][-1]["content"],
            "language": "pt",
            "answer": f"O churn médio mensal foi de {average['value']:.2f}%.",
            "figures": [average],
            "queries": [average["sql"]],
        }
    completion = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(content), "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 900, "completion_tokens": 80, "total_tokens": 980},
    }
    return Response(json.dumps(completion), content_type="application/json")


def test_cro_ask_through_an_openai_compatible_server_then_from_the_cache(
    marts_url: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(_model_like_answer)
    env = cli_env(marts_url, tmp_path, CRO_LLM_PROVIDER="openai", OPENAI_BASE_URL=httpserver.url_for("/v1"))
    runner = CliRunner()
    question = "Analise o churn dos últimos 3 meses por coorte"
    first = runner.invoke(app, ["ask", "--json", question], env=env)
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert body["output"]["generated_by"] == "llm" and "gpt-4o-mini" in body["output"]["notice"]
    assert body["output"]["answer"] == "O churn médio mensal foi de 6.67%."
    assert [r["agent"] for r in body["runs"]] == ["router", "researcher"]
    assert all(r["input_tokens"] == 900 and r["cost_usd"] > 0 and not r["cache_hit"] for r in body["runs"])
    assert len(httpserver.log) == 2
    second = runner.invoke(app, ["ask", "--json", question], env=env)
    assert second.exit_code == 0, second.output
    assert all(r["cache_hit"] for r in json.loads(second.stdout)["runs"])
    assert len(httpserver.log) == 2  # nothing paid twice
    assert (tmp_path / "agents" / "llm_cache.sqlite").exists()
