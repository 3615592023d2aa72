"""Metadata every ingestion asset reports: counts, timing and a small preview."""

from __future__ import annotations

import time

import dagster as dg
import pyarrow as pa

from assets.ingestion.loading import LoadOutcome

PREVIEW_ROWS = 5


def preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    head = table.slice(0, rows).to_pylist()
    if not head:
        return dg.MetadataValue.md("_no rows_")
    columns = list(head[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in columns) + " |" for r in head]
    return dg.MetadataValue.md("\n".join(lines))


def load_metadata(
    outcome: LoadOutcome, *, reasons: dict[str, int], started: float, sample: pa.Table
) -> dict[str, dg.RawMetadataValue]:
    return {
        "dagster/row_count": outcome.table_rows,
        "rows_inserted": outcome.merged.inserted,
        "rows_updated": outcome.merged.updated,
        "rows_rejected": outcome.rejected,
        "reject_reasons": dg.MetadataValue.json(dict(reasons)),
        "duration_s": round(time.perf_counter() - started, 3),
        "preview": preview(sample),
    }
