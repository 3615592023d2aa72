"""Validate an Arrow table against a contract on a private DuckDB connection, for contract tests."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from integrations.contracts import TableContract, validate


@dataclass(frozen=True)
class Validated:
    good: pa.Table
    rejected: pa.Table
    reject_reasons: dict[str, int]


def validate_table(contract: TableContract, table: pa.Table, what: str = "table") -> Validated:
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("arrow_batch", table)
        con.execute("create temp table batch as select * from arrow_batch")
        batch = validate(con, contract, "batch", what)
        good = con.sql(f"select * from {batch.good}").to_arrow_table()
        rejected = con.sql(f"select * from {batch.rejected}").to_arrow_table()
    finally:
        con.close()
    return Validated(good, rejected, batch.reject_reasons)
