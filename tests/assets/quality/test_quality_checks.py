"""great-expectations checks run as Dagster asset checks: ERROR blocks downstream, WARN only reports."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.ingestion.sheets import sheet_assets
from assets.quality.checks import quality_checks
from orchestration.resources import SheetsResource, WarehouseResource

HEADER = "date,channel,campaign,spend_brl\n"


@dg.asset(deps=[dg.AssetKey(["sheets", "marketing_spend"])])
def downstream_report() -> None:
    """Stands in for the dbt models that read the spend table."""


def run(tmp_path: Path, spend_rows: str) -> dg.ExecuteInProcessResult:
    sheets = tmp_path / "sheets"
    sheets.mkdir(exist_ok=True)
    (sheets / "marketing_spend.csv").write_text(HEADER + spend_rows)
    spend_asset = next(a for a in sheet_assets if a.key == dg.AssetKey(["sheets", "marketing_spend"]))
    checks = [c for c in quality_checks if next(iter(c.check_keys)).asset_key == spend_asset.key]
    return dg.materialize(
        [spend_asset, downstream_report, *checks],
        resources={
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'wh.duckdb'}"),
            "sheets": SheetsResource(csv_dir=str(sheets)),
        },
        raise_on_error=False,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_clean_recent_table_passes_and_downstream_runs(tmp_path: Path) -> None:
    from datetime import date

    today = date.today().isoformat()
    result = run(tmp_path, f"{today},google_ads,c1,100.00\n{today},meta_ads,c2,50.00\n")
    checks = evaluations(result)
    assert checks["expectations_error"].passed and checks["expectations_warn"].passed
    assert result.asset_materializations_for_node("downstream_report")


def test_error_expectation_blocks_downstream(tmp_path: Path) -> None:
    # passes the row contract (a positive amount) but not the table's sanity range
    result = run(tmp_path, "2026-01-01,google_ads,c1,2500000.00\n2026-01-02,meta_ads,c2,10.00\n")
    check = evaluations(result)["expectations_error"]
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_be_between(spend_brl)" in check.metadata["failed"].value
    assert not result.asset_materializations_for_node("downstream_report")


def test_stale_data_only_warns(tmp_path: Path) -> None:
    result = run(tmp_path, "2020-01-01,google_ads,c1,10.00\n")
    checks = evaluations(result)
    assert checks["expectations_error"].passed
    assert not checks["expectations_warn"].passed
    assert checks["expectations_warn"].severity == dg.AssetCheckSeverity.WARN
    assert result.asset_materializations_for_node("downstream_report")
