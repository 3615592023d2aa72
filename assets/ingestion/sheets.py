"""Google Sheets worksheets → ``raw_sheets.<worksheet>`` (+ ``<worksheet>__rejected``)."""

from __future__ import annotations

import time

import dagster as dg

from assets.ingestion.metadata import load_metadata
from integrations.sheets import WORKSHEETS, WorksheetSpec, validate
from integrations.sheets.validate import SheetSchemaError
from orchestration.resources import SheetsResource, WarehouseResource

SCHEMA = "raw_sheets"
# Above this share of rejected rows the worksheet is considered broken: nothing is merged.
MAX_REJECTED_SHARE = 0.2


def build_sheet_asset(spec: WorksheetSpec) -> dg.AssetsDefinition:
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
        table = sheets.source().read(spec.name)
        try:
            batch = validate(spec, table)
        except SheetSchemaError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        wh = warehouse.get()
        wh.merge(SCHEMA, f"{spec.name}__rejected", batch.rejected, ["rejected_id"])
        share = batch.rejected.num_rows / max(table.num_rows, 1)
        if share > MAX_REJECTED_SHARE:
            raise dg.Failure(
                description=f"worksheet '{spec.name}': {share:.0%} of {table.num_rows} rows rejected "
                f"(limit {MAX_REJECTED_SHARE:.0%}); nothing merged. Reasons: {batch.reject_reasons}. "
                f"See {SCHEMA}.{spec.name}__rejected.",
                allow_retries=False,
            )
        merged = wh.merge(SCHEMA, spec.name, batch.good, spec.primary_key)
        return dg.MaterializeResult(
            metadata=load_metadata(
                table_rows=wh.row_count(SCHEMA, spec.name),
                merged=merged,
                rejected=batch.rejected.num_rows,
                reasons=batch.reject_reasons,
                started=started,
                sample=batch.good,
            )
        )

    return _sheet


sheet_assets = [build_sheet_asset(spec) for spec in WORKSHEETS.values()]
