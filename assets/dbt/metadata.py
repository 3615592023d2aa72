"""Row counts and previews of the relations a dbt run built, read after dbt has finished.

Read afterwards, not while dbt runs: a DuckDB file admits one writing process at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa

from assets.ingestion.metadata import preview
from orchestration.warehouse import Warehouse, ident

PREVIEW_ROWS = 5


@dataclass(frozen=True)
class RelationFacts:
    rows: int
    sample: pa.Table


def relation_facts(warehouse: Warehouse, relations: Iterable[tuple[str, str]]) -> dict[tuple[str, str], RelationFacts]:
    """``(schema, name)`` → row count and first rows, for the relations that exist."""
    facts: dict[tuple[str, str], RelationFacts] = {}
    with warehouse.session(), warehouse.connect() as con:
        for schema, name in relations:
            if not warehouse.table_exists(schema, name):
                continue
            relation = f"{ident(schema)}.{ident(name)}"
            cur = con.cursor()
            cur.execute(f"select count(*) from {relation}")
            rows = int(cur.fetchone()[0])
            cur.execute(f"select * from {relation} limit {PREVIEW_ROWS}")
            columns = [d[0] for d in cur.description]
            sample = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in cur.fetchall()])
            facts[(schema, name)] = RelationFacts(rows=rows, sample=sample)
    return facts


def relation_metadata(facts: RelationFacts) -> dict[str, dg.RawMetadataValue]:
    return {"dagster/row_count": facts.rows, "preview": preview(facts.sample)}
