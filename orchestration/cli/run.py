"""``cro run JOB``: run one job in-process on the configured instance (the run shows in the UI)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def run(
    job: Annotated[str, typer.Argument(help="publish_reports, sync_crm, send_campaign, agent_plans, …")],
    config: Annotated[
        str | None,
        typer.Option(help='Run config as JSON, e.g. \'{"ops": {"write_hubspot_contacts": {"config": {}}}}\'.'),
    ] = None,
) -> None:
    """Run a job now, print its run id, where to follow it and the outcome."""
    from rich.console import Console

    from orchestration.cli.playbook import execute_job
    from orchestration.definitions import defs

    console = Console()
    names = sorted(j.name for j in defs.jobs or [] if not j.name.startswith("__"))
    if job not in names:
        console.print(f"[red]no job {job!r}; jobs: {', '.join(names)}")
        raise typer.Exit(code=2)
    try:
        run_config = json.loads(config) if config else None
    except json.JSONDecodeError as exc:
        console.print(f"[red]--config is not JSON: {exc}")
        raise typer.Exit(code=2) from exc
    launched = execute_job(job, run_config or {}, console=console)
    for name, value in launched.metadata.items():
        if not isinstance(value, (dict, list)):
            console.print(f"  {name}: {value}")
    if not launched.success:
        raise typer.Exit(code=1)
