"""The one way a validated batch lands: rejects first (always kept), then good rows unless unusable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from integrations.contracts import ValidatedBatch
from orchestration.warehouse import MergeResult, Warehouse

# Above this share of rejected rows a batch is considered broken: its good rows are not merged.
MAX_REJECTED_SHARE = 0.2


class UnusableBatchError(ValueError):
    """Too much of a batch is bad to trust the rest; the message says where the rejects are."""


@dataclass(frozen=True)
class LoadOutcome:
    merged: MergeResult
    rejected: int
    table_rows: int


def load_validated(
    warehouse: Warehouse,
    schema: str,
    table: str,
    batch: ValidatedBatch,
    primary_key: Sequence[str],
    max_rejected_share: float = MAX_REJECTED_SHARE,
    keep_when_null: Sequence[str] = (),
    stored_keys: str | None = None,
) -> LoadOutcome:
    """Merge the batch's rejects into ``<table>__rejected`` (keyed by ``rejected_id``) and its good rows into ``table``.

    ``batch`` was validated on ``warehouse.staging()``. Rejects are stored even when the batch is
    refused, so a person can see why; what was loaded before stays untouched either way. ``stored_keys``: see
    :meth:`Warehouse.merge`.
    """
    with warehouse.session():
        warehouse.merge(schema, f"{table}__rejected", batch.rejected, ["rejected_id"], unique_keys=True)
        total = batch.good_rows + batch.rejected_rows
        share = batch.rejected_rows / total if total else 0.0
        if share > max_rejected_share:
            raise UnusableBatchError(
                f"{schema}.{table}: {share:.0%} of {total} rows rejected (limit {max_rejected_share:.0%}); "
                f"nothing merged. Reasons: {batch.reject_reasons}. See {schema}.{table}__rejected."
            )
        merged = warehouse.merge(
            schema, table, batch.good, primary_key, keep_when_null, unique_keys=True, stored_keys=stored_keys
        )
        return LoadOutcome(merged=merged, rejected=batch.rejected_rows, table_rows=warehouse.row_count(schema, table))
