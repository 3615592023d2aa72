"""The one way a validated batch lands: rejects first (always kept), then good rows unless unusable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

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
    good: pa.Table,
    rejected: pa.Table,
    primary_key: Sequence[str],
    reasons: dict[str, int],
    max_rejected_share: float = MAX_REJECTED_SHARE,
    keep_when_null: Sequence[str] = (),
) -> LoadOutcome:
    """Merge ``rejected`` into ``<table>__rejected`` (keyed by ``rejected_id``) and ``good`` into ``table``.

    Rejects are stored even when the batch is refused, so a person can see why; what was loaded
    before stays untouched either way.
    """
    with warehouse.session():
        warehouse.merge(schema, f"{table}__rejected", rejected, ["rejected_id"])
        total = good.num_rows + rejected.num_rows
        share = rejected.num_rows / total if total else 0.0
        if share > max_rejected_share:
            raise UnusableBatchError(
                f"{schema}.{table}: {share:.0%} of {total} rows rejected (limit {max_rejected_share:.0%}); "
                f"nothing merged. Reasons: {reasons}. See {schema}.{table}__rejected."
            )
        merged = warehouse.merge(schema, table, good, primary_key, keep_when_null)
        return LoadOutcome(merged=merged, rejected=rejected.num_rows, table_rows=warehouse.row_count(schema, table))
