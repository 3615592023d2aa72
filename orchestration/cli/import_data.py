"""``cro import orders FILE.csv``: orders from an export, into the same raw table as the Sheets orders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Import data exported from other systems.", no_args_is_help=True)


@app.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV with a header row.")],
) -> None:
    """Load orders (customer_id, order_date, amount; optional order_id, channel, plan) into raw_sheets.orders.

    Re-importing the same file changes nothing; bad rows go to raw_sheets.orders__rejected with the reason.
    """
    from assets.ingestion.loading import UnusableBatchError
    from assets.ingestion.sheets import load_worksheet
    from integrations.contracts import ContractError, validate
    from integrations.sheets import WORKSHEETS
    from integrations.sheets.orders_export import shape_orders_export
    from integrations.sheets.sources import stage_csv
    from orchestration.settings import load_settings
    from orchestration.warehouse import Warehouse

    console = Console()
    contract = WORKSHEETS["orders"]
    warehouse = Warehouse(load_settings().warehouse_url)
    try:
        with warehouse.session():
            con = warehouse.staging()
            stage_csv(con, file, "export_rows")
            shape_orders_export(con, "export_rows", "orders_rows", source_name=f"import:{file.name}")
            batch = validate(con, contract, "orders_rows", what="file")
            outcome = load_worksheet(warehouse, contract, batch)
    except (ContractError, UnusableBatchError) as exc:
        console.print(f"[red]{file.name}: {exc}")
        raise typer.Exit(code=1) from exc
    console.print(
        f"[green]{file.name}[/green]: {outcome.merged.inserted:,} new, {outcome.merged.updated:,} already present, "
        f"{outcome.rejected:,} rejected → raw_sheets.orders ({outcome.table_rows:,} rows)"
    )
    for reason, count in sorted(batch.reject_reasons.items()):
        console.print(f"  rejected — {reason}: {count:,}")
