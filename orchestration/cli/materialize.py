"""``cro materialize``: run assets in-process against the configured instance, with progress."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Annotated, Any

import dagster as dg
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestration.instance import load_instance
from orchestration.settings import load_settings


@dataclass
class _RunWatch:
    """Counts materializations of a running run by polling its event log (read-only)."""

    instance: dg.DagsterInstance
    run_id: str
    done: dict[str, dict[str, object]] = field(default_factory=dict)

    def poll(self) -> None:
        for record in self.instance.all_logs(self.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            mat = record.asset_materialization
            if mat is not None:
                self.done[mat.asset_key.to_user_string()] = dict(mat.metadata)


def _check_summary(evaluations: list[dg.AssetCheckEvaluation]) -> str:
    """e.g. "2/2 ok" or "1/2 ok, warn: expectations_warn" for one asset's checks."""
    if not evaluations:
        return ""
    passed = sum(e.passed for e in evaluations)
    failing = [e for e in evaluations if not e.passed]
    text = f"{passed}/{len(evaluations)} ok"
    for severity, colour in ((dg.AssetCheckSeverity.ERROR, "red"), (dg.AssetCheckSeverity.WARN, "yellow")):
        names = [e.check_name for e in failing if e.severity == severity]
        if names:
            text += f", [{colour}]{severity.value.lower()}: {', '.join(names)}[/{colour}]"
    return text


def _metadata_value(metadata: dict[str, object], *names: str) -> str:
    for name in names:
        if name in metadata:
            value = getattr(metadata[name], "value", metadata[name])
            return f"{value:,}" if isinstance(value, int) else str(value)
    return ""


def _run_config(verbose: bool, full_refresh: bool, keys: list[dg.AssetKey]) -> dict[str, Any]:
    config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "WARNING"}}}}
    if full_refresh:
        from assets.dbt.models import all_dbt_assets

        ops = {d.op.name: {"config": {"full_refresh": True}} for d in all_dbt_assets if set(keys) & d.keys}
        if ops:
            config["ops"] = ops
    return config


def materialize(
    selection: Annotated[
        str, typer.Argument(help="Asset selection, e.g. '*' (all), 'group:ingestion', 'key:hubspot/contacts+'.")
    ] = "*",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Dagster's step-by-step log.")] = False,
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild incremental dbt models from scratch (needed after a model's columns change).")
    ] = False,
) -> None:
    """Materialize assets in-process on the configured instance (the one the UI shows)."""
    from orchestration.definitions import build_definitions

    console = Console(file=sys.stdout)  # fixed: tool output redirected below must not take the bar along
    defs = build_definitions()
    settings = load_settings()
    instance = load_instance(settings)
    graph = defs.resolve_asset_graph()
    warnings.filterwarnings("ignore", category=dg.BetaWarning)  # selection parsing is marked beta
    keys = sorted(dg.AssetSelection.from_string(selection).resolve(graph), key=lambda k: k.to_user_string())
    materializable = [k for k in keys if graph.get(k).is_materializable]
    if not materializable:
        console.print(f"[yellow]No materializable assets match {selection!r}; nothing to do.")
        return

    job = defs.resolve_implicit_global_asset_job_def()
    run_id = str(uuid.uuid4())
    watch = _RunWatch(instance, run_id)
    stop = threading.Event()
    started = time.perf_counter()

    progress = Progress(
        TextColumn("[bold]materializing"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} assets"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    )

    def refresh(task_id: int) -> None:
        while not stop.wait(0.5):
            watch.poll()
            last = next(reversed(watch.done), "")
            progress.update(task_id, completed=len(watch.done), description=last)

    with progress:
        task_id = progress.add_task("", total=len(materializable))
        poller = threading.Thread(target=refresh, args=(task_id,), daemon=True)
        poller.start()
        # tools that print (dbt's event stream) write to a log file unless --verbose
        log_path = settings.data_dir / "logs" / f"materialize-{run_id[:8]}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log_path.open("w") as log, contextlib.redirect_stdout(sys.stdout if verbose else log):
                result = job.execute_in_process(
                    instance=instance,
                    run_config=_run_config(verbose, full_refresh, materializable),
                    asset_selection=materializable,
                    run_id=run_id,
                    raise_on_error=False,
                    tags={"cro/launched_by": "cli"},
                )
        finally:
            stop.set()
            poller.join()
        watch.poll()
        progress.update(task_id, completed=len(watch.done), description="")

    table = Table(title=f"run {run_id[:8]} — {time.perf_counter() - started:.1f} s")
    for column in ("asset", "status", "rows", "rejected", "checks"):
        table.add_column(column)
    checks: dict[dg.AssetKey, list[dg.AssetCheckEvaluation]] = {}
    for evaluation in result.get_asset_check_evaluations():
        checks.setdefault(evaluation.asset_key, []).append(evaluation)
    for key in materializable:
        name = key.to_user_string()
        metadata = watch.done.get(name)
        summary = _check_summary(checks.get(key, []))
        if metadata is None:
            table.add_row(name, "[red]not materialized", "", "", summary)
        else:
            rows = _metadata_value(metadata, "dagster/row_count", "rows")
            table.add_row(name, "[green]ok", rows, _metadata_value(metadata, "rows_rejected"), summary)
    console.print(table)
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
                console.print(f"[red]{event.step_key} failed:[/red] {event.step_failure_data.error.message}")
        if not verbose:
            console.print(f"tool output (dbt's log): {log_path}")
        raise typer.Exit(code=1)
