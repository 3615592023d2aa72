"""``cro demo-data``: generate the +Pet demo world in the vendors' API shapes."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.settings import load_settings

TIMEZONE = ZoneInfo("America/Sao_Paulo")


def last_full_month(now: datetime | None = None) -> str:
    """The month before the current one in São Paulo, as YYYY-MM."""
    today = (now or datetime.now(TIMEZONE)).date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def demo_data(
    customers: Annotated[int, typer.Option(min=1, help="Paying customers to simulate.")] = 5000,
    months: Annotated[int, typer.Option(min=1, help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives byte-identical files.")] = 42,
    end_month: Annotated[str, typer.Option(help="Last simulated month, YYYY-MM (default: last month).")] = "",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: $CRO_DEMO_DIR or data/demo).")] = None,
    bad_share: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of realistically bad rows.")] = 0.02,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="Harsh fault for tests (repeatable): renamed_column, truncated_page, webhook_burst."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Regenerate even if the folder holds this exact world.")] = False,
) -> None:
    """Write the +Pet world (HubSpot pages, WhatsApp webhooks, Sheets worksheets, ground truth)."""
    from integrations.demo_world import WorldConfig, generate_world

    console = Console()
    out_dir = out or load_settings().demo_dir
    config = WorldConfig(
        customers=customers,
        months=months,
        end_month=end_month or last_full_month(),
        seed=seed,
        bad_share=bad_share,
        faults=frozenset(fault or ()),
    )
    manifest = out_dir / "manifest.json"
    if not force and manifest.exists() and _same_config(json.loads(manifest.read_text()), asdict(config)):
        console.print(f"[green]Demo world already in {out_dir}[/green] (same config; --force rebuilds).")
        return

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task_id = progress.add_task("generating", total=None)

        def report(step: str, done: int, total: int) -> None:
            progress.update(task_id, description=step, completed=done, total=total)

        summary = generate_world(config, out_dir=out_dir, progress=report)

    console.print(f"[green]+Pet demo world written to {out_dir}[/green] in {summary.seconds:.1f} s")
    for name, rows in summary.row_counts.items():
        console.print(f"  {name:<40} {rows:>12,} rows")


def _same_config(manifest: dict[str, object], config: dict[str, object]) -> bool:
    recorded = manifest.get("config")
    if not isinstance(recorded, dict):
        return False
    normalized = {k: sorted(v) if isinstance(v, (set, frozenset, list)) else v for k, v in config.items()}
    recorded = {k: sorted(v) if isinstance(v, list) else v for k, v in recorded.items()}
    return recorded == normalized
