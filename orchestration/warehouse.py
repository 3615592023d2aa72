"""Set-based loading into the warehouse (DuckDB or PostgreSQL) from Arrow tables.

Why not a loading library: the bulk paths must stay within a small factor of the engine reading the
files itself, and a merge expressed as one ``DELETE … USING`` plus one ``INSERT`` inside the engine is
that fast on both engines, idempotent, and small enough to read in one sitting. The README's
"Loading" section has the measured comparison.

Every write happens in one transaction: a failed batch leaves the tables as they were.
"""

from __future__ import annotations

import datetime
import decimal
import io
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
STATE_SCHEMA = "cro_meta"


def ident(name: str) -> str:
    """Quote a schema/table/column name after checking it is a plain lower-case identifier."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class MergeResult:
    inserted: int
    updated: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated


def _pg_type(arrow_type: pa.DataType) -> str:
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


class Warehouse:
    """A connection to the warehouse with the few operations loaders need."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = "postgres" if url.startswith(("postgresql://", "postgres://")) else "duckdb"
        self._session: Any = None

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """Reuse one connection for many operations (a load of many chunks).

        Opening and closing a DuckDB file checkpoints it every time, which dominated chunked loads.
        """
        if self._session is not None:
            yield self
            return
        with self._open() as con:
            self._session = con
            try:
                yield self
            finally:
                self._session = None

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self._session is not None:
            yield self._session
            return
        with self._open() as con:
            yield con

    @contextmanager
    def _open(self) -> Iterator[Any]:
        if self.kind == "duckdb":
            import duckdb

            path = Path(self.url.removeprefix("duckdb:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path))
        else:
            import psycopg2

            con = psycopg2.connect(self.url, connect_timeout=10)
        try:
            yield con
        finally:
            con.close()

    # -- reading ---------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connect() as con:
            cur = con.cursor()
            cur.execute(sql, params if self.kind == "postgres" else list(params))
            return list(cur.fetchall())

    def read_frame(self, schema: str, table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A table (or some of its columns) as a DataFrame with plain dtypes: numbers as float, times as UTC."""
        import pandas as pd

        selected = ", ".join(ident(c) for c in columns) if columns else "*"
        sql = f"select {selected} from {ident(schema)}.{ident(table)}"
        with self.connect() as con:
            if self.kind == "duckdb":
                frame = con.sql(sql).df()
            else:
                cur = con.cursor()
                cur.execute(sql)
                frame = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
        for column in frame.columns:
            sample = frame[column].dropna()
            if sample.empty:
                continue
            first = sample.iloc[0]
            if isinstance(first, decimal.Decimal):
                frame[column] = frame[column].astype(float)
            elif isinstance(first, (datetime.date, datetime.datetime)) or pd.api.types.is_datetime64_any_dtype(
                frame[column]
            ):
                frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def table_exists(self, schema: str, table: str) -> bool:
        placeholder = "%s" if self.kind == "postgres" else "?"
        rows = self.query(
            "select count(*) from information_schema.tables "
            f"where table_schema = {placeholder} and table_name = {placeholder}",
            (schema, table),
        )
        return bool(rows[0][0])

    def row_count(self, schema: str, table: str) -> int:
        if not self.table_exists(schema, table):
            return 0
        return int(self.query(f"select count(*) from {ident(schema)}.{ident(table)}")[0][0])

    # -- writing ---------------------------------------------------------------------------------

    def merge(
        self,
        schema: str,
        table: str,
        data: pa.Table,
        primary_key: Sequence[str],
        keep_when_null: Sequence[str] = (),
    ) -> MergeResult:
        """Upsert ``data`` on ``primary_key``: existing keys are replaced, new keys inserted.

        The table is created from the Arrow schema on first use; columns that appear later are
        added (schema evolution), columns that disappear stay and get NULL for new rows.
        ``keep_when_null`` columns keep their stored value when the incoming row has none (a
        source that omits a field on some reads, such as HubSpot search omitting associations).
        """
        if not primary_key:
            raise ValueError("merge needs a primary key")
        missing = [c for c in primary_key if c not in data.column_names]
        if missing:
            raise ValueError(f"primary key columns {missing} not in data for {schema}.{table}")
        distinct = data.select(list(primary_key)).group_by(list(primary_key)).aggregate([]).num_rows
        if distinct != data.num_rows:
            raise ValueError(
                f"{data.num_rows - distinct} duplicate keys {list(primary_key)} in the batch for {schema}.{table}: "
                "deduplicate before merging"
            )
        with self.connect() as con:
            if self.kind == "duckdb":
                return self._merge_duckdb(con, schema, table, data, primary_key, keep_when_null)
            return self._merge_postgres(con, schema, table, data, primary_key, keep_when_null)

    def _merge_duckdb(
        self,
        con: Any,
        schema: str,
        table: str,
        data: pa.Table,
        primary_key: Sequence[str],
        keep_when_null: Sequence[str],
    ) -> MergeResult:
        target = f"{ident(schema)}.{ident(table)}"
        con.register("__incoming", data)
        con.execute("begin")
        try:
            con.execute(f"create schema if not exists {ident(schema)}")
            con.execute(f"create table if not exists {target} as select * from __incoming limit 0")
            existing = {r[0] for r in con.execute(f"describe {target}").fetchall()}
            for field in data.schema:
                if field.name not in existing:
                    duck_type = con.execute(f"select typeof({ident(field.name)}) from __incoming limit 1").fetchone()
                    type_name = duck_type[0] if duck_type else "VARCHAR"
                    con.execute(f"alter table {target} add column {ident(field.name)} {type_name}")
            on = " and ".join(f"t.{ident(c)} = i.{ident(c)}" for c in primary_key)
            keys = ", ".join(ident(c) for c in primary_key)
            source = "__incoming"
            if keep_when_null:
                kept = ", ".join(f"coalesce(i.{ident(c)}, t.{ident(c)}) as {ident(c)}" for c in keep_when_null)
                con.execute(
                    f"create temp table __kept as select i.* replace ({kept}) "
                    f"from __incoming i left join {target} t on {on}"
                )
                source = "__kept"
            updated = con.execute(
                f"select count(*) from (select distinct {keys} from __incoming) i where exists "
                f"(select 1 from {target} t where {on})"
            ).fetchone()[0]
            con.execute(f"delete from {target} t using __incoming i where {on}")
            con.execute(f"insert into {target} by name select * from {source}")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        finally:
            con.unregister("__incoming")
            con.execute("drop table if exists __kept")
        return MergeResult(inserted=data.num_rows - int(updated), updated=int(updated))

    def _merge_postgres(
        self,
        con: Any,
        schema: str,
        table: str,
        data: pa.Table,
        primary_key: Sequence[str],
        keep_when_null: Sequence[str],
    ) -> MergeResult:
        import pyarrow.csv as pacsv

        target = f"{ident(schema)}.{ident(table)}"
        columns = [ident(f.name) for f in data.schema]
        column_defs = ", ".join(f"{ident(f.name)} {_pg_type(f.type)}" for f in data.schema)
        try:
            with con.cursor() as cur:
                cur.execute(f"create schema if not exists {ident(schema)}")
                cur.execute(f"create table if not exists {target} ({column_defs})")
                cur.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
                    (schema, table),
                )
                existing = {r[0] for r in cur.fetchall()}
                for field in data.schema:
                    if field.name not in existing:
                        cur.execute(f"alter table {target} add column {ident(field.name)} {_pg_type(field.type)}")
                cur.execute(f"create temp table __incoming (like {target}) on commit drop")
                buffer = io.BytesIO()
                pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
                buffer.seek(0)
                cur.copy_expert(f"copy __incoming ({', '.join(columns)}) from stdin with (format csv)", buffer)
                on = " and ".join(f"t.{ident(c)} = i.{ident(c)}" for c in primary_key)
                if keep_when_null:
                    kept = ", ".join(f"{ident(c)} = coalesce(i.{ident(c)}, t.{ident(c)})" for c in keep_when_null)
                    cur.execute(f"update __incoming i set {kept} from {target} t where {on}")
                cur.execute(f"delete from {target} t using __incoming i where {on}")
                updated = cur.rowcount
                cur.execute(f"insert into {target} ({', '.join(columns)}) select {', '.join(columns)} from __incoming")
            con.commit()
        except Exception:
            con.rollback()
            raise
        return MergeResult(inserted=data.num_rows - int(updated), updated=int(updated))

    # -- loading state (cursors) -----------------------------------------------------------------

    def read_state(self, key: str) -> dict[str, Any] | None:
        """Loading state (e.g. an incremental cursor) stored in the warehouse, beside the data."""
        if not self.table_exists(STATE_SCHEMA, "load_state"):
            return None
        placeholder = "%s" if self.kind == "postgres" else "?"
        rows = self.query(f"select value from {STATE_SCHEMA}.load_state where key = {placeholder}", (key,))
        return json.loads(rows[0][0]) if rows else None

    def write_state(self, key: str, value: dict[str, Any]) -> None:
        data = pa.table({"key": [key], "value": [json.dumps(value, sort_keys=True)]})
        self.merge(STATE_SCHEMA, "load_state", data, ["key"])
