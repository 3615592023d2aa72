"""Ingest a generated +Pet world end to end and compare with what the generator knows it corrupted.

Every realistically bad row must land in a ``__rejected`` table with a matching reason, every other
row in the raw table, on DuckDB and on PostgreSQL alike; harsh faults fail loudly and lose nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from assets.ingestion import hubspot
from assets.ingestion.hubspot import hubspot_assets
from assets.ingestion.sheets import sheet_assets
from integrations.demo_world import WorldConfig, generate_world
from orchestration.resources import HubSpotResource, SheetsResource, WarehouseResource
from orchestration.warehouse import Warehouse

# generator reason -> the column our contract names first in the rejection reason
REASON_PREFIX = {
    "malformed_email": "email",
    "malformed_phone": "phone",
    "negative_amount": "amount",
    "text_amount": "amount",
    "missing_closedate": "closedate",
    "duplicate_record": "duplicate key",
    "duplicate_row": "duplicate row",
    "unknown_channel": "channel",
    "missing_date": "date",
    "missing_month": "month",
}
TABLES = {
    "hubspot/contacts.pages.jsonl": ("raw_hubspot", "contacts"),
    "hubspot/deals.pages.jsonl": ("raw_hubspot", "deals"),
    "sheets/marketing_spend.csv": ("raw_sheets", "marketing_spend"),
    "sheets/expenses.csv": ("raw_sheets", "expenses"),
    "sheets/orders.csv": ("raw_sheets", "orders"),
}


def world(root: Path, **overrides: object) -> Path:
    config = {"customers": 1500, "months": 12, "end_month": "2026-10", "seed": 7, "bad_share": 0.03} | overrides
    generate_world(WorldConfig(**config), out_dir=root)  # type: ignore[arg-type]
    return root


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world(tmp_path_factory.mktemp("world"))


def ingest(demo: Path, warehouse_url: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*hubspot_assets, *sheet_assets],
        resources={
            "warehouse": WarehouseResource(url=warehouse_url),
            "hubspot": HubSpotResource(demo_dir=str(demo)),
            "sheets": SheetsResource(csv_dir=str(demo / "sheets")),
        },
        raise_on_error=False,
    )


def normalize(column: str) -> str:
    """Sheets name their amount and date columns differently; compare on the kind of value."""
    return {"spend_brl": "amount", "amount_brl": "amount", "order_date": "date"}.get(column, column)


def reason_counts(warehouse: Warehouse, schema: str, table: str) -> dict[str, int]:
    rows = warehouse.query(f'select reason from {schema}."{table}__rejected"')
    counts: dict[str, int] = {}
    for (reason,) in rows:
        key = normalize(reason.split(":")[0])
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_every_bad_row_is_quarantined_and_every_good_row_loaded(demo_dir: Path, warehouse_url: str) -> None:
    result = ingest(demo_dir, warehouse_url)
    assert result.success
    warehouse = Warehouse(warehouse_url)
    truth = json.loads((demo_dir / "ground_truth.json").read_text())["bad_rows"]
    for file, (schema, table) in TABLES.items():
        expected: dict[str, int] = {}
        for reason, count in truth[file]["by_reason"].items():
            key = REASON_PREFIX[reason]
            expected[key] = expected.get(key, 0) + count
        assert reason_counts(warehouse, schema, table) == expected, file
        assert warehouse.row_count(schema, table) == truth[file]["rows"] - truth[file]["bad"], file

    again = ingest(demo_dir, warehouse_url)
    assert again.success
    for file, (schema, table) in TABLES.items():
        assert warehouse.row_count(schema, table) == truth[file]["rows"] - truth[file]["bad"], file


def test_duplicates_split_across_load_batches_are_still_rejected(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hubspot, "BATCH_BYTES", 512 << 10)  # a few pages per batch: many copies land apart
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    assert ingest(demo_dir, url).success
    truth = json.loads((demo_dir / "ground_truth.json").read_text())["bad_rows"]["hubspot/deals.pages.jsonl"]
    warehouse = Warehouse(url)
    assert reason_counts(warehouse, "raw_hubspot", "deals")["duplicate key"] == truth["by_reason"]["duplicate_record"]
    assert warehouse.row_count("raw_hubspot", "deals") == truth["rows"] - truth["bad"]


def test_truncated_page_fails_loudly_after_loading_every_readable_page(tmp_path: Path) -> None:
    demo = world(tmp_path / "world", customers=300, faults=frozenset({"truncated_page"}), bad_share=0.0)
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    result = ingest(demo, url)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "hubspot__deals")
    message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert "deals.pages.jsonl:" in message and "cursor was not advanced" in message
    warehouse = Warehouse(url)
    assert warehouse.row_count("raw_hubspot", "deals") > 0
    assert warehouse.read_state("hubspot.deals") is None
    assert warehouse.query("select reason from raw_hubspot.deals__rejected")[0][0].startswith("page: truncated")
    assert result.asset_materializations_for_node("hubspot__contacts"), "other sources still load"


def test_renamed_sheet_column_names_sheet_and_column(tmp_path: Path) -> None:
    demo = world(tmp_path / "world", customers=300, faults=frozenset({"renamed_column"}), bad_share=0.0)
    result = ingest(demo, f"duckdb:///{tmp_path / 'wh.duckdb'}")
    failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "sheets__marketing_spend")
    message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert "worksheet 'marketing_spend'" in message and "['spend_brl']" in message
