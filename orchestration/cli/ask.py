"""``cro ask "…"``: one question to the agents, answered from the warehouse in the question's language."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer


def ask(
    request: Annotated[str, typer.Argument(help='The question, e.g. "Analise o churn dos últimos 3 meses".')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the agent's structured output as JSON.")] = False,
    provider: Annotated[
        str | None, typer.Option(help="offline or openai (default: CRO_LLM_PROVIDER, offline locally).")
    ] = None,
    cache: Annotated[bool, typer.Option(help="Answer identical LLM requests from the response cache.")] = True,
) -> None:
    """Route a request to one agent (Researcher, Planner, CampaignBuilder, SalesOps, Finance, Automation)."""
    from rich.console import Console
    from rich.markdown import Markdown

    from agents.ask import ask as ask_agents
    from agents.runtime import AgentRuntime, GuardrailViolation
    from agents.sql_tool import SqlTool, SqlToolError
    from orchestration.settings import load_settings

    settings = load_settings()
    llm = settings.llm
    if provider is not None:
        if provider not in ("offline", "openai"):
            raise typer.BadParameter("offline or openai", param_hint="--provider")
        llm = dataclasses.replace(llm, provider=provider)  # type: ignore[arg-type]
    if llm.provider == "openai" and settings.credentials_present.get("OPENAI_API_KEY"):
        from orchestration.settings import read_secret

        llm = dataclasses.replace(llm, api_key=read_secret("OPENAI_API_KEY"))
    err = Console(stderr=True)
    try:
        llm.check()
    except ValueError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=2) from exc
    runtime = AgentRuntime.from_settings(llm, cache_path=settings.llm_cache_path if cache else None)
    sql = SqlTool(settings.warehouse_url)
    try:
        with err.status("thinking …"):
            answer = ask_agents(request, runtime, sql)
    except GuardrailViolation as exc:
        err.print(f"[red]The answer was rejected by the guardrails, nothing is shown:[/] {exc}")
        raise typer.Exit(code=1) from exc
    except SqlToolError as exc:
        hint = (
            "a Dagster run may be writing the DuckDB file right now (one writer at a time): try again when it "
            "ends. Has the warehouse been built? Run: cro materialize '*'"
        )
        err.print(f"[red]The warehouse cannot answer:[/] {exc}\n{hint}")
        raise typer.Exit(code=1) from exc
    except ValueError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(code=1) from exc

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "intent": answer.decision.intent,
                    "agent": answer.agent,
                    "language": answer.decision.language,
                    "notes": answer.notes,
                    "output": answer.output.model_dump(mode="json"),
                    "runs": runtime.rows(),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    Console().print(Markdown(answer.markdown))
    calls = runtime.records
    tokens = sum(r.input_tokens + r.output_tokens for r in calls)
    cost = sum(r.cost_usd for r in calls)
    hits = sum(r.cache_hit for r in calls)
    err.print(
        f"[dim]{answer.decision.intent} → {answer.agent} · {runtime.provider.name}/{runtime.provider.model} · "
        f"{len(calls)} call(s), {tokens} tokens, ~US$ {cost:.4f}, {hits} from cache · "
        f"{sum(r.latency_ms for r in calls) / 1000:.2f} s"
    )
