"""The merge statements of :meth:`Warehouse.merge`, one function per engine, each one transaction.

A merge is one ``DELETE … USING`` plus one ``INSERT`` (or, for rows that never change once stored, one
``INSERT … WHERE NOT EXISTS``). On DuckDB the batch is already a table on the warehouse connection,
so both statements run inside the engine; on PostgreSQL it is COPYed into a temp table first.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """Quote a schema/table/column name after checking it is a plain lower-case identifier."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class MergePlan:
    schema: str
    table: str
    source: str  # a table on the staging connection (on PostgreSQL, its rows are copied over)
    columns: list[str]
    primary_key: Sequence[str]
    keep_when_null: Sequence[str]
    keep_existing: bool
    replace_all: bool = False  # the batch is the table's whole content: every stored row goes
    stored_keys: str | None = None  # on DuckDB: the keys of the only batch rows that may be stored (see merge)

    @property
    def delete_replaced(self) -> str:
        """The DELETE of the stored rows the batch replaces (``{source}`` aliased ``i``: its rows or their keys)."""
        return (
            f"delete from {self.target}"
            if self.replace_all
            else f"delete from {self.target} t using {{source}} i where {self.on}"
        )

    @property
    def target(self) -> str:
        return f"{ident(self.schema)}.{ident(self.table)}"

    @property
    def on(self) -> str:
        return " and ".join(f"t.{ident(c)} = i.{ident(c)}" for c in self.primary_key)


def merge_duckdb(con: Any, plan: MergePlan, column_types: list[str]) -> tuple[int, int]:
    """(rows inserted, stored rows they replaced); ``plan.source`` is a table on ``con``, typed ``column_types``."""
    target, source, on = plan.target, plan.source, plan.on
    con.execute("begin")
    try:
        con.execute(f"create schema if not exists {ident(plan.schema)}")
        con.execute(f"create table if not exists {target} as select * from {source} limit 0")
        existing = {row[0] for row in con.sql(f"describe {target}").fetchall()}
        for name, type_name in zip(plan.columns, column_types, strict=True):
            if name not in existing:
                con.execute(f"alter table {target} add column {ident(name)} {type_name}")
        replaced = 0
        if plan.keep_existing:
            inserted = con.execute(
                f"insert into {target} by name select * from {source} i "
                f"where not exists (select 1 from {target} t where {on})"
            ).fetchone()[0]
        else:
            source_rows = f"select * from {source}"
            if plan.keep_when_null:
                # the stored values the incoming rows may keep, taken before those rows are deleted
                keys = [ident(c) for c in plan.primary_key]
                stored = ", ".join(f"t.{c}" for c in [*keys, *map(ident, plan.keep_when_null)])
                con.execute(
                    f"create or replace temp table __kept as select {stored} from {target} t "
                    f"where exists (select 1 from {plan.stored_keys or source} i where {on})"
                )
                kept = ", ".join(f"coalesce(i.{ident(c)}, k.{ident(c)}) as {ident(c)}" for c in plan.keep_when_null)
                matches = " and ".join(f"k.{c} = i.{c}" for c in keys)
                source_rows = f"select i.* replace ({kept}) from {source} i left join __kept k on {matches}"
            replaced = con.execute(plan.delete_replaced.format(source=plan.stored_keys or source)).fetchone()[0]
            inserted = con.execute(f"insert into {target} by name {source_rows}").fetchone()[0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists __kept")
    return int(inserted), int(replaced)


def pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    return "text"


def _create_if_missing(cur: Any, ddl: str) -> None:
    """Run a ``create … if not exists`` that another session may be running at the same instant.

    PostgreSQL checks "if not exists" before taking the catalog's unique index, so two parallel steps
    creating the same schema or table can fail with a unique violation although the object then exists.
    A savepoint keeps the surrounding transaction usable when that happens.
    """
    from psycopg2 import errors

    cur.execute("savepoint create_if_missing")
    try:
        cur.execute(ddl)
    except (errors.UniqueViolation, errors.DuplicateSchema, errors.DuplicateTable):
        cur.execute("rollback to savepoint create_if_missing")  # the other session created it: nothing to do
    else:
        cur.execute("release savepoint create_if_missing")


def merge_postgres(con: Any, plan: MergePlan, rows: Any) -> tuple[int, int]:
    """(rows inserted, stored rows they replaced), COPYing ``rows`` (a DuckDB relation) into a temp table."""
    import pyarrow.csv as pacsv

    data: pa.Table = rows.to_arrow_table()
    target, on = plan.target, plan.on
    columns = ", ".join(ident(f.name) for f in data.schema)
    column_defs = ", ".join(f"{ident(f.name)} {pg_type(f.type)}" for f in data.schema)
    try:
        with con.cursor() as cur:
            _create_if_missing(cur, f"create schema if not exists {ident(plan.schema)}")
            _create_if_missing(cur, f"create table if not exists {target} ({column_defs})")
            cur.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
                (plan.schema, plan.table),
            )
            existing = {r[0] for r in cur.fetchall()}
            for field in data.schema:
                if field.name not in existing:
                    cur.execute(f"alter table {target} add column {ident(field.name)} {pg_type(field.type)}")
            cur.execute(f"create temp table __incoming (like {target}) on commit drop")
            buffer = io.BytesIO()
            pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
            buffer.seek(0)
            cur.copy_expert(f"copy __incoming ({columns}) from stdin with (format csv)", buffer)
            replaced = 0
            if plan.keep_existing:
                cur.execute(
                    f"insert into {target} ({columns}) select {columns} from __incoming i "
                    f"where not exists (select 1 from {target} t where {on})"
                )
            else:
                if plan.keep_when_null:
                    kept = ", ".join(f"{ident(c)} = coalesce(i.{ident(c)}, t.{ident(c)})" for c in plan.keep_when_null)
                    cur.execute(f"update __incoming i set {kept} from {target} t where {on}")
                cur.execute(plan.delete_replaced.format(source="__incoming"))
                replaced = cur.rowcount
                cur.execute(f"insert into {target} ({columns}) select {columns} from __incoming")
            inserted = cur.rowcount
        con.commit()
    except Exception:
        con.rollback()
        raise
    return int(inserted), int(replaced)
