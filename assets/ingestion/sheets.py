"""Google Sheets worksheets → ``raw_sheets.<worksheet>`` (+ ``<worksheet>__rejected``)."""

from __future__ import annotations

import time

import dagster as dg

from assets.ingestion.loading import LoadOutcome, UnusableBatchError, load_validated
from assets.ingestion.metadata import PREVIEW_ROWS, load_metadata
from integrations.contracts import ContractError, TableContract, ValidatedBatch, validate
from integrations.sheets import WORKSHEETS
from integrations.sheets.sources import SheetsSource
from orchestration.resources import SheetsResource, WarehouseResource
from orchestration.warehouse import Warehouse

SCHEMA = "raw_sheets"


def load_worksheet(warehouse: Warehouse, spec: TableContract, batch: ValidatedBatch) -> LoadOutcome:
    """Land a worksheet validated on ``warehouse.staging()`` in ``raw_sheets`` (also used by ``cro import orders``)."""
    return load_validated(warehouse, SCHEMA, spec.name, batch, spec.primary_key)


def ingest_worksheet(
    warehouse: Warehouse, source: SheetsSource, spec: TableContract
) -> tuple[LoadOutcome, ValidatedBatch]:
    """Read, validate and merge one worksheet, all on the warehouse's staging connection."""
    with warehouse.session():
        con = warehouse.staging()
        source.stage(con, spec.name, "sheet_rows")
        batch = validate(con, spec, "sheet_rows", what="worksheet")
        return load_worksheet(warehouse, spec, batch), batch


def build_sheet_asset(spec: TableContract) -> dg.AssetsDefinition:
    @dg.asset(
        key=["sheets", spec.name],
        group_name="ingestion",
        kinds={"googlesheets", "python"},
        description=f"Worksheet '{spec.name}' validated and merged on {', '.join(spec.primary_key)} "
        f"into {SCHEMA}.{spec.name}; bad rows go to {SCHEMA}.{spec.name}__rejected with their reason.",
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
        metadata={"table": f"{SCHEMA}.{spec.name}", "primary_key": list(spec.primary_key)},
    )
    def _sheet(warehouse: WarehouseResource, sheets: SheetsResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        wh = warehouse.get()
        with wh.session():
            try:
                outcome, batch = ingest_worksheet(wh, sheets.source(), spec)
            except (ContractError, UnusableBatchError, FileNotFoundError) as exc:
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            sample = wh.staging().sql(f"select * from {batch.good} limit {PREVIEW_ROWS}").to_arrow_table()
        return dg.MaterializeResult(
            metadata=load_metadata(outcome, reasons=batch.reject_reasons, started=started, sample=sample)
        )

    return _sheet


sheet_assets = [build_sheet_asset(spec) for spec in WORKSHEETS.values()]
