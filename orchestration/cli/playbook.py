"""``cro run-playbook NAME [--param key=value …]``: run a monthly playbook now, in-process, on the configured instance.

The run is stored in ``DAGSTER_HOME`` like every ``cro materialize`` run, so the UI shows it (``make ui`` →
http://127.0.0.1:3000/runs/<id>). Parameters are typed by the playbook's config class
(:data:`orchestration.automation.playbooks.PLAYBOOKS`): ``--param lookback_days=90``,
``--param scenarios=base,optimistic`` (a list: comma-separated or JSON), ``--param month=none`` (unset).
``--list`` shows the playbooks and their parameters with defaults.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import dagster as dg
import typer
from rich.console import Console
from rich.markup import escape


class PlaybookError(ValueError):
    """A playbook name or parameter that cannot be used; the message says why and what would work."""


@dataclass
class Launch:
    """What an in-process run of a job did."""

    job: str
    run_id: str
    success: bool
    errors: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # the steps' output metadata, plain values

    @property
    def url(self) -> str:
        from orchestration.automation.alerts import run_url

        return run_url(self.run_id)


# -- parameters -----------------------------------------------------------------------------------------


def _annotation(config_class: type[dg.Config], name: str) -> str:
    annotation = config_class.model_fields[name].annotation
    text = getattr(annotation, "__name__", None) if getattr(annotation, "__args__", None) is None else None
    return text or str(annotation).replace("typing.", "")


def _default(config_class: type[dg.Config], name: str) -> Any:
    info = config_class.model_fields[name]
    return info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]


def describe_playbooks() -> list[tuple[str, str, list[tuple[str, str, Any, str]]]]:
    """``(name, description, [(param, type, default, help)])`` of every playbook."""
    from orchestration.automation.playbooks import PLAYBOOKS

    out = []
    for name, (job, config_class) in PLAYBOOKS.items():
        params = [
            (param, _annotation(config_class, param), _default(config_class, param), info.description or "")
            for param, info in config_class.model_fields.items()
        ]
        out.append((name, job.description or "", params))
    return out


def _is_list(config_class: type[dg.Config], name: str) -> bool:
    return "list" in str(config_class.model_fields[name].annotation).lower()


def _value(config_class: type[dg.Config], name: str, raw: str) -> Any:
    text = raw.strip()
    if text.lower() in ("none", "null") and "None" in str(config_class.model_fields[name].annotation):
        return None
    if _is_list(config_class, name):
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise PlaybookError(f"--param {name}: not a JSON list: {exc}") from exc
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def playbook_config(name: str, params: dict[str, str]) -> dg.Config:
    """The playbook's config from ``key=value`` strings, typed and checked by its config class."""
    from pydantic import ValidationError

    from orchestration.automation.playbooks import PLAYBOOKS

    if name not in PLAYBOOKS:
        raise PlaybookError(f"no playbook {name!r}; playbooks: {', '.join(PLAYBOOKS)} (cro run-playbook --list)")
    _, config_class = PLAYBOOKS[name]
    known = list(config_class.model_fields)
    unknown = [key for key in params if key not in known]
    if unknown:
        raise PlaybookError(
            f"{name} has no parameter {', '.join(repr(k) for k in unknown)}; its parameters: {', '.join(known)}"
        )
    values = {key: _value(config_class, key, raw) for key, raw in params.items()}
    try:
        return config_class(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or name}: {e['msg']}" for e in exc.errors())
        raise PlaybookError(f"bad parameter for {name}: {problems}") from None


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise PlaybookError(f"--param {pair!r}: expected key=value, e.g. --param lookback_days=90")
        params[key.strip()] = value
    return params


# -- running a job in-process ---------------------------------------------------------------------------


def resolve_job(name: str) -> dg.JobDefinition:
    """The job ``name`` with the configured resources: from the code location, or (not registered there yet) the
    playbooks and automation jobs bound to the same resources."""
    from orchestration.automation.crm_job import sync_crm
    from orchestration.automation.playbooks import playbook_jobs
    from orchestration.automation.publish_job import publish_reports
    from orchestration.definitions import build_definitions
    from orchestration.resources import build_resources
    from orchestration.settings import load_settings

    defs = build_definitions()
    if name in {job.name for job in defs.jobs or []}:
        return defs.resolve_job_def(name)
    jobs = {job.name: job for job in [*playbook_jobs(), sync_crm, publish_reports]}
    if name not in jobs:
        raise PlaybookError(f"no job {name!r} in the code location")
    local = dg.Definitions(jobs=[jobs[name]], resources=build_resources(load_settings()))
    return local.resolve_job_def(name)


def execute_job(
    job: str | dg.JobDefinition,
    run_config: dict[str, Any],
    *,
    console: Console | None = None,
    tags: dict[str, str] | None = None,
    verbose: bool = False,
) -> Launch:
    """Run ``job`` (a name, or a job from :func:`resolve_job`) in-process on the configured instance, with a
    progress bar of its steps.

    Tool output (dbt's event stream) goes to ``$CRO_DATA_DIR/logs/<job>-<run>.log`` unless ``verbose``.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from orchestration.automation.alerts import error_message
    from orchestration.instance import load_instance
    from orchestration.settings import load_settings

    console = console or Console(stderr=True)
    settings = load_settings()
    instance = load_instance(settings)
    job = resolve_job(job) if isinstance(job, str) else job
    job_name = job.name
    run_id = str(uuid.uuid4())
    total = len(job.graph.nodes)
    config = {
        **run_config,
        # the failures are printed below, once and readable; --verbose shows Dagster's own log
        "loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}}},
    }
    from orchestration.automation.alerts import run_url

    console.print(f"run {run_id} — {job_name}: follow it at {run_url(run_id)} (make ui)")
    stop = threading.Event()
    progress = Progress(
        TextColumn(f"[bold]{job_name}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    )
    step_events = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}

    def poll(task_id: Any) -> None:
        while not stop.wait(0.5):
            try:
                records = instance.all_logs(run_id, of_type=step_events)
            except Exception:  # the storage may be busy for a moment (SQLite): next poll
                continue
            done = {r.step_key for r in records if r.dagster_event_type != dg.DagsterEventType.STEP_START}
            running = [r.step_key for r in records if r.step_key not in done]
            progress.update(task_id, completed=len(done), description=running[-1] if running else "")

    log_path = settings.data_dir / "logs" / f"{job_name}-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with progress:
        task_id = progress.add_task("", total=total)
        poller = threading.Thread(target=poll, args=(task_id,), daemon=True)
        poller.start()
        try:
            with log_path.open("w") as log, contextlib.redirect_stdout(sys.stdout if verbose else log):
                result = job.execute_in_process(
                    run_config=config,
                    instance=instance,
                    run_id=run_id,
                    raise_on_error=False,
                    tags={"cro/launched_by": "cli", **(tags or {})},
                )
        finally:
            stop.set()
            poller.join()
        progress.update(task_id, completed=total if result.success else progress.tasks[0].completed, description="")
    errors = [
        f"{event.step_key}: {error_message(event.step_failure_data.error)}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error
    ]
    if not result.success and not errors:
        failure = result.get_run_failure_event()
        errors = [failure.message or "the run failed"] if failure is not None else ["the run failed"]
    metadata: dict[str, Any] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_OUTPUT and event.step_output_data:
            metadata |= {k: getattr(v, "value", v) for k, v in event.step_output_data.metadata.items()}
    launch = Launch(job_name, run_id, result.success, errors, metadata)
    if launch.success:
        console.print(f"[green]{job_name} succeeded[/] — run {run_id}: {launch.url}")
    else:
        for error in errors:
            console.print(f"[red]{escape(error)}")
        console.print(f"[red]{job_name} failed[/] — run {run_id}: {launch.url} (tool output: {log_path})")
    return launch


def launch_playbook(
    name: str, params: dict[str, str], *, console: Console | None = None, verbose: bool = False
) -> tuple[str, bool]:
    """Run playbook ``name`` with ``params`` (``key → text``, typed by its config class); returns (run id, success).

    Raises :class:`PlaybookError` (nothing runs) for an unknown playbook or a bad parameter.
    """
    from orchestration.automation.playbooks import PLAYBOOKS, playbook_run_config

    config = playbook_config(name, params)
    job, _ = PLAYBOOKS[name]
    launch = execute_job(
        job.name, playbook_run_config(name, config), console=console, tags={"cro/playbook": name}, verbose=verbose
    )
    return launch.run_id, launch.success


# -- the command ----------------------------------------------------------------------------------------


def print_playbooks(console: Console) -> None:
    for name, description, params in describe_playbooks():
        console.print(f"[bold]{name}[/] — {escape(description)}")
        for param, kind, default, text in params:
            shown = ",".join(default) if isinstance(default, list) else default
            console.print(escape(f"    --param {param}=… ({kind}, default {shown}){f'  {text}' if text else ''}"))


def run_playbook(
    name: Annotated[
        str | None, typer.Argument(help="churn_analysis, monthly_dre or reactivation_campaign (see --list).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="key=value, typed by the playbook (repeat it), e.g. lookback_days=90."),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the playbooks and their parameters.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Dagster's and dbt's log.")] = False,
) -> None:
    """Run a monthly playbook now (in-process, recorded on the configured instance so the UI shows it)."""
    console = Console()
    if list_:
        print_playbooks(console)
        return
    if not name:
        console.print("[red]name a playbook, or --list to see them")
        raise typer.Exit(code=2)
    try:
        params = parse_params(param or [])
        playbook_config(name, params)  # checked before anything loads or runs
        _, success = launch_playbook(name, params, console=console, verbose=verbose)
    except PlaybookError as exc:
        console.print(f"[red]{escape(str(exc))}")
        raise typer.Exit(code=2) from exc
    if not success:
        raise typer.Exit(code=1)


__all__ = [
    "Launch",
    "PlaybookError",
    "describe_playbooks",
    "execute_job",
    "launch_playbook",
    "parse_params",
    "playbook_config",
    "run_playbook",
]
