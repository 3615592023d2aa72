"""``cro ask "…"``: one question to the agents, answered from the warehouse in the question's language.

When the Automation agent answers, the automation it proposes runs now (unless ``--no-run``), in-process on
the configured instance like ``cro run-playbook``: ``run_playbook`` → that playbook's job with its parameters,
``sync_hubspot`` → ``sync_crm`` (dry run unless ``CRO_OUTBOUND=live``), ``create_notion_page`` →
``publish_reports`` (the report named). ``send_campaign`` is never run from here: a campaign is sent only
after ``cro approve``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from agents.schemas import AutomationRequest

# An automation's parameter name → the playbook config field it fills.
PLAYBOOK_PARAMETERS = {"budget": "budget_brl"}
# create_notion_page's ``report`` (or the item it came from) → the agents.reports assets publish_reports sends.
NOTION_REPORTS = {
    "campaign_results": ["campaign_drafts"],
    "dre": ["finance_report", "playbook_monthly_dre"],
    "churn": ["playbook_churn_analysis", "retention_plan"],
    "media_plan": ["media_plan"],
}


@dataclass
class PlannedRun:
    """The job an automation request becomes: a playbook and its parameters, or a one-op job and its op's config."""

    job: str
    op_config: dict[str, Any] = field(default_factory=dict)
    playbook: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def planned_run(request: AutomationRequest) -> PlannedRun | str:
    """What ``request`` launches, or why nothing is launched (a sentence)."""
    params = {p.name: p.value for p in request.parameters}
    if request.action == "run_playbook":
        from orchestration.automation.playbooks import PLAYBOOKS

        name = params.pop("playbook", "")
        if name not in PLAYBOOKS:
            return f"unknown playbook {name!r}: playbooks are {', '.join(PLAYBOOKS)}"
        fields = PLAYBOOKS[name][1].model_fields
        kept: dict[str, str] = {}
        notes = []
        for key, value in params.items():
            target = PLAYBOOK_PARAMETERS.get(key, key)
            if target in fields:
                kept[target] = value
            elif key == "segment" and name == "reactivation_campaign" and value == "inactive_60d":
                continue  # the playbook's segment
            else:
                notes.append(f"{key}={value} is not a parameter of {name}: ignored")
        return PlannedRun(job=PLAYBOOKS[name][0].name, playbook=name, params=kept, notes=notes)
    if request.action == "sync_hubspot":
        notes = ["dry run unless CRO_OUTBOUND=live and HUBSPOT_ACCESS_TOKEN are set"]
        if params.get("object", "contacts") != "contacts":
            notes.append(f"sync_crm writes contact properties; {params['object']} are not synced")
        if params.get("segment"):
            notes.append(f"segment={params['segment']}: sync_crm syncs every contact whose values changed")
        return PlannedRun(job="sync_crm", notes=notes)
    if request.action == "create_notion_page":
        report = params.get("report") or ("media_plan" if request.source == "media_plan" else "")
        if request.source.startswith("finance_report"):
            report = "dre"
        config: dict[str, Any] = {}
        if report in NOTION_REPORTS:
            config = {"assets": NOTION_REPORTS[report], "forecasts": False}
        notes = ["Notion and Slack: dry run unless CRO_OUTBOUND=live and their credentials are set"]
        return PlannedRun(job="publish_reports", op_config=config, notes=notes)
    if request.action == "send_campaign":
        campaign = params.get("campaign_id")
        how = f"cro approve {campaign} --by NOME" if campaign else "cro approve CAMPAIGN_ID --by NOME"
        return f"a campaign is sent only after its approval: {how} (the approval sensor then sends it)"
    return f"{request.action} is not run from cro ask; the request above waits for a person"


def launch_automation(answer_output: AutomationRequest, *, run: bool, console: Any) -> dict[str, Any]:
    """Print the proposed automation's job and launch it (unless ``run`` is false); returns what happened."""
    from rich.markup import escape

    from orchestration.cli.playbook import PlaybookError, execute_job, launch_playbook, playbook_config, resolve_job

    planned = planned_run(answer_output)
    if isinstance(planned, str):
        console.print(f"[yellow]Not launched:[/] {escape(planned)}")
        return {"launched": False, "reason": planned}
    shown = planned.playbook or planned.job
    args = " ".join(f"--param {k}={v}" for k, v in planned.params.items())
    with_args = escape(f" ({args})") if args else ""
    console.print(f"[bold]Automation:[/] {answer_output.action} → job {planned.job}{with_args}")
    for note in planned.notes:
        console.print(f"  [dim]{escape(note)}")
    info: dict[str, Any] = {"job": planned.job, "playbook": planned.playbook, "params": planned.params}
    if planned.playbook:
        try:
            playbook_config(planned.playbook, planned.params)
        except PlaybookError as exc:
            console.print(f"[red]{escape(str(exc))}")
            return {**info, "launched": False, "reason": str(exc)}
    if not run:
        again = f"cro run-playbook {shown} {args}".strip() if planned.playbook else f"cro run {planned.job}"
        if planned.op_config:
            again += f" (config {json.dumps(planned.op_config)})"
        console.print(f"Not launched (--no-run). To run it: {escape(again)}")
        return {**info, "launched": False, "reason": "--no-run"}
    tags = {"cro/automation_key": answer_output.idempotency_key[:63]}
    if planned.playbook:
        run_id, success = launch_playbook(planned.playbook, planned.params, console=console)
    else:
        job = resolve_job(planned.job)
        op = job.graph.nodes[0].name  # the job's one op (sync_crm, publish_reports)
        run_config = {"ops": {op: {"config": planned.op_config}}} if planned.op_config else {}
        launched = execute_job(job, run_config, console=console, tags=tags)
        run_id, success = launched.run_id, launched.success
    return {**info, "launched": True, "run_id": run_id, "success": success}


def ask(
    request: Annotated[str, typer.Argument(help='The question, e.g. "Analise o churn dos últimos 3 meses".')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the agent's structured output as JSON.")] = False,
    provider: Annotated[
        str | None, typer.Option(help="offline or openai (default: CRO_LLM_PROVIDER, offline locally).")
    ] = None,
    cache: Annotated[bool, typer.Option(help="Answer identical LLM requests from the response cache.")] = True,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Show the automation the agent proposes, but do not launch its job.")
    ] = False,
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

    automation = answer.agent == "automation"
    if as_json:
        launched = launch_automation(answer.output, run=not no_run, console=err) if automation else None  # type: ignore[arg-type]
        typer.echo(
            json.dumps(
                {
                    "intent": answer.decision.intent,
                    "agent": answer.agent,
                    "language": answer.decision.language,
                    "notes": answer.notes,
                    "output": answer.output.model_dump(mode="json"),
                    "runs": runtime.rows(),
                    **({"automation_run": launched} if automation else {}),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        if launched and launched.get("launched") and not launched.get("success"):
            raise typer.Exit(code=1)
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
    if automation:
        launched = launch_automation(answer.output, run=not no_run, console=Console())  # type: ignore[arg-type]
        if launched.get("launched") and not launched.get("success"):
            raise typer.Exit(code=1)
