"""Sheets assets materialize for real into DuckDB and PostgreSQL: idempotent, quarantining, failing loudly."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.ingestion.sheets import sheet_assets
from orchestration.resources import SheetsResource, WarehouseResource
from orchestration.warehouse import Warehouse

SPEND = "date,channel,campaign,spend_brl\n2026-01-01,google_ads,c1,10.50\n2026-01-01,meta_ads,c2,abc\n"
SPEND_ROWS = "".join(f"2026-01-{d:02d},google_ads,c{d},{d}.00\n" for d in range(2, 12))
EXPENSES = "month,account,category,amount_brl\n2026-01,Aluguel,despesas_administrativas,5000\n"
ORDERS = "order_id,customer_id,order_date,amount_brl,channel,plan,order_type\no1,c1,2026-01-02,59.90,organic,,one_off\n"


def write_sheets(root: Path, spend: str = SPEND + SPEND_ROWS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "marketing_spend.csv").write_text(spend)
    (root / "expenses.csv").write_text(EXPENSES)
    (root / "orders.csv").write_text(ORDERS)
    return root


def run(sheets_dir: Path, warehouse_url: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        sheet_assets,
        resources={
            "warehouse": WarehouseResource(url=warehouse_url),
            "sheets": SheetsResource(csv_dir=str(sheets_dir)),
        },
        raise_on_error=False,
    )


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple[object, ...]]]:
    tables = ["marketing_spend", "marketing_spend__rejected", "expenses", "orders"]
    return {t: sorted(warehouse.query(f'select * from raw_sheets."{t}"'), key=str) for t in tables}


def test_materializing_twice_leaves_identical_tables(tmp_path: Path, warehouse_url: str) -> None:
    sheets_dir = write_sheets(tmp_path / "sheets")
    first = run(sheets_dir, warehouse_url)
    assert first.success
    warehouse = Warehouse(warehouse_url)
    before = snapshot(warehouse)
    assert len(before["marketing_spend"]) == 11 and len(before["marketing_spend__rejected"]) == 1

    second = run(sheets_dir, warehouse_url)
    assert second.success
    assert snapshot(warehouse) == before

    metadata = second.asset_materializations_for_node("sheets__marketing_spend")[0].metadata
    assert metadata["rows_inserted"].value == 0
    assert metadata["rows_updated"].value == 11
    assert metadata["rows_rejected"].value == 1
    assert metadata["dagster/row_count"].value == 11


def test_renamed_column_fails_the_asset_and_keeps_what_was_loaded(tmp_path: Path, warehouse_url: str) -> None:
    sheets_dir = write_sheets(tmp_path / "sheets")
    assert run(sheets_dir, warehouse_url).success
    warehouse = Warehouse(warehouse_url)
    before = snapshot(warehouse)

    (sheets_dir / "marketing_spend.csv").write_text(SPEND.replace("spend_brl", "valor_gasto") + SPEND_ROWS)
    result = run(sheets_dir, warehouse_url)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.user_failure_data.description)  # type: ignore[union-attr]
    assert "'marketing_spend'" in message and "spend_brl" in message and "valor_gasto" in message
    assert snapshot(warehouse) == before
    # the other worksheets are independent assets and still load
    assert result.asset_materializations_for_node("sheets__expenses")


def test_mostly_bad_batch_is_refused_but_its_rejects_are_kept(tmp_path: Path, warehouse_url: str) -> None:
    garbage = "date,channel,campaign,spend_brl\n" + "".join(f"x{i},google_ads,c{i},abc\n" for i in range(10))
    sheets_dir = write_sheets(tmp_path / "sheets", spend=garbage + "2026-01-01,google_ads,ok,1\n")
    result = run(sheets_dir, warehouse_url)
    assert not result.success
    warehouse = Warehouse(warehouse_url)
    assert warehouse.row_count("raw_sheets", "marketing_spend") == 0
    assert warehouse.row_count("raw_sheets", "marketing_spend__rejected") == 10
