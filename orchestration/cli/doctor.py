"""``cro doctor``: which environment is active, which credentials exist, what is reachable."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from orchestration.instance import load_instance
from orchestration.resources import WarehouseResource, mask_url
from orchestration.settings import CREDENTIALS, load_settings


def doctor() -> None:
    """Check the active configuration without printing any secret; exit 1 if something is unreachable."""
    console = Console()
    settings = load_settings()
    ok = True

    table = Table(title=f"cro doctor — environment: {settings.env}", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")

    table.add_row("data dir", "·", str(settings.data_dir))
    manifest = settings.demo_dir / "manifest.json"
    if manifest.exists():
        config = json.loads(manifest.read_text()).get("config", {})
        keys = ("customers", "months", "end_month", "seed")
        detail = ", ".join(f"{k}={config[k]}" for k in keys if k in config)
        table.add_row("demo data", "[green]present", f"{settings.demo_dir} ({detail})")
    else:
        table.add_row("demo data", "[yellow]missing", f"run: cro demo-data --out {settings.demo_dir}")

    try:
        version = WarehouseResource(url=settings.warehouse_url).ping()
        table.add_row("warehouse", "[green]reachable", f"{mask_url(settings.warehouse_url)} — {version}")
    except Exception as exc:  # any driver error means "unreachable"; say which
        ok = False
        table.add_row("warehouse", "[red]unreachable", f"{mask_url(settings.warehouse_url)}: {exc}")

    try:
        instance = load_instance(settings)
        runs = instance.get_runs_count()
        storage = type(instance.run_storage).__name__
        detail = f"{settings.dagster_home} — {storage}, {runs} runs"
        table.add_row("dagster storage", "[green]reachable", detail)
    except Exception as exc:
        ok = False
        table.add_row("dagster storage", "[red]unreachable", f"{settings.dagster_home}: {exc}")

    llm = ", ".join(f"{k} {v}" for k, v in settings.llm.describe().items() if k != "api_key")
    table.add_row("llm provider", "·", llm)
    table.add_row("outbound", "·", "live" if settings.outbound_live else "dry run (outbox only)")
    for system in CREDENTIALS:
        missing = settings.missing_credentials(system)
        if missing and settings.env == "local":
            table.add_row(f"credentials: {system}", "·", "not needed locally (demo source / dry run)")
        elif missing:
            table.add_row(f"credentials: {system}", "[yellow]absent", "missing " + ", ".join(missing))
        else:
            table.add_row(f"credentials: {system}", "[green]present", "all set (values not shown)")
    console.print(table)
    if not ok:
        raise typer.Exit(code=1)
