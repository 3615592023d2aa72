"""The warehouse (DuckDB or PostgreSQL): reading, set-based merging of prepared batches, loading state.

Why not a loading library: the bulk paths must stay within a small factor of the engine reading the
files itself. Loaders prepare a batch in DuckDB (:meth:`Warehouse.staging`) — on a DuckDB warehouse
that is the warehouse connection itself, so parsing, validating and merging never leave the engine —
and a merge is one ``DELETE … USING`` plus one ``INSERT`` (:mod:`orchestration.merging`), fast on both
engines, idempotent, and small enough to read in one sitting. The README's "Loading" section has the
measured comparison.

Every write happens in one transaction: a failed batch leaves the tables as they were.
"""

from __future__ import annotations

import datetime
import decimal
import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from orchestration.merging import MergePlan, ident, merge_duckdb, merge_postgres

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = ["STATE_SCHEMA", "MergeResult", "Warehouse", "ident"]

STATE_SCHEMA = "cro_meta"


@dataclass(frozen=True)
class MergeResult:
    inserted: int
    updated: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated


def _duckdb_connect(database: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that reads zone-less timestamps as UTC, whatever the machine's zone."""
    import duckdb

    con = duckdb.connect(database)
    con.execute("set TimeZone = 'UTC'")
    return con


def _refuse_duplicate_keys(
    staging: duckdb.DuckDBPyConnection, source: str, target: str, primary_key: Sequence[str]
) -> None:
    keys = ", ".join(ident(c) for c in primary_key)
    excess = staging.sql(
        f"select coalesce(sum(n - 1), 0) from (select count(*) as n from {source} group by {keys} having n > 1)"
    ).fetchall()[0][0]
    if excess:
        raise ValueError(
            f"{excess} duplicate keys {list(primary_key)} in the batch for {target}: deduplicate before merging"
        )


def warehouse_busy(exc: BaseException) -> bool:
    """A DuckDB file another process is writing (one writer at a time): worth trying again shortly."""
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


class Warehouse:
    """A connection to the warehouse with the few operations loaders need."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = "postgres" if url.startswith(("postgresql://", "postgres://")) else "duckdb"
        self._session: Any = None
        self._staging: duckdb.DuckDBPyConnection | None = None
        self._spill: tempfile.TemporaryDirectory[str] | None = None

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """Reuse one connection for many operations (a load: staging, merges, state).

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
                if self._staging is not None:
                    self._staging.close()
                    self._staging = None
                if self._spill is not None:
                    self._spill.cleanup()
                    self._spill = None

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
            path = Path(self.url.removeprefix("duckdb:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            con: Any = _duckdb_connect(str(path))
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

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement (the driver's placeholders, as :meth:`query`) and commit it at once.

        Returns the rows it changed (0 for DDL). For row-level bookkeeping that must be durable before the
        caller goes on, such as the outbox marking a message ``sending`` before handing it to a channel.
        """
        with self.connect() as con:
            if self.kind == "duckdb":
                row = con.execute(sql, list(params)).fetchone()  # autocommit: one statement, one transaction
                return int(row[0]) if row and isinstance(row[0], int) else 0
            try:
                with con.cursor() as cur:
                    cur.execute(sql, params)
                    changed = max(cur.rowcount, 0)
                con.commit()
            except Exception:
                con.rollback()
                raise
            return changed

    def staging(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection where loaders prepare batches (parse, validate) that :meth:`merge` takes by name.

        On a DuckDB warehouse it is the warehouse connection itself: a prepared batch is a temp table beside its
        target and merging it is plain SQL, nothing leaves the engine. On PostgreSQL it is an in-memory DuckDB
        kept for the session, from which merge copies. Only inside :meth:`session`.
        """
        if self._session is None:
            raise RuntimeError("Warehouse.staging() needs an open session()")
        if self.kind == "duckdb":
            return self._session  # type: ignore[no-any-return]
        if self._staging is None:
            self._spill = tempfile.TemporaryDirectory(prefix="cro-staging-")  # not DuckDB's default ./.tmp
            self._staging = _duckdb_connect(":memory:")
            self._staging.execute("set temp_directory = ?", [self._spill.name])
        return self._staging

    def merge(
        self,
        schema: str,
        table: str,
        data: pa.Table | str,
        primary_key: Sequence[str],
        keep_when_null: Sequence[str] = (),
        *,
        keep_existing: bool = False,
        unique_keys: bool = False,
        replace_all: bool = False,
        stored_keys: str | None = None,
    ) -> MergeResult:
        """Upsert ``data`` on ``primary_key``: existing keys are replaced, new keys inserted.

        ``data`` is an Arrow table or the name of a table on :meth:`staging`. The target is created from
        its columns on first use; columns that appear later are added (schema evolution), columns that
        disappear stay and get NULL for new rows. ``keep_when_null`` columns keep their stored value
        when the incoming row has none (a source that omits a field on some reads, such as HubSpot
        search omitting associations). ``keep_existing`` inserts only keys not stored yet and leaves
        stored rows alone (immutable events delivered more than once). A batch with a key twice is
        refused, unless ``unique_keys`` says the caller already guarantees one row per key (a
        validated batch), which spares a pass over it. ``replace_all`` makes the batch the table's whole
        content (derived tables such as forecasts: a re-run with a shorter horizon leaves no stale rows),
        still in one transaction. ``stored_keys`` names a table on :meth:`staging` with the primary keys of the
        only rows of ``data`` that may already be stored, when the caller knows every other key is new (a load
        that began on an empty table and tracks what its earlier batches stored): on DuckDB the replaced rows are
        then found by joining that table instead of the whole batch.
        """
        if not primary_key:
            raise ValueError("merge needs a primary key")
        with self.session():
            staging = self.staging()
            if isinstance(data, str):
                source = ident(data)
            else:
                source = "__merge_source"
                staging.register(source, data)
            try:
                relation = staging.sql(f"select * from {source} limit 0")
                missing = [c for c in primary_key if c not in relation.columns]
                if missing:
                    raise ValueError(f"primary key columns {missing} not in data for {schema}.{table}")
                if not unique_keys:
                    _refuse_duplicate_keys(staging, source, f"{schema}.{table}", primary_key)
                plan = MergePlan(
                    schema,
                    table,
                    source,
                    relation.columns,
                    primary_key,
                    keep_when_null,
                    keep_existing,
                    replace_all,
                    ident(stored_keys) if stored_keys else None,
                )
                if self.kind == "duckdb":
                    inserted, replaced = merge_duckdb(staging, plan, [str(t) for t in relation.types])
                else:
                    inserted, replaced = merge_postgres(self._session, plan, staging.sql(f"select * from {source}"))
            finally:
                if source == "__merge_source":
                    staging.unregister(source)
        return MergeResult(inserted=inserted - replaced, updated=replaced)

    # -- loading state (cursors) -----------------------------------------------------------------

    def read_state(self, key: str) -> dict[str, Any] | None:
        """Loading state (e.g. an incremental cursor) stored in the warehouse, beside the data."""
        if not self.table_exists(STATE_SCHEMA, "load_state"):
            return None
        placeholder = "%s" if self.kind == "postgres" else "?"
        rows = self.query(f"select value from {STATE_SCHEMA}.load_state where key = {placeholder}", (key,))
        return json.loads(rows[0][0]) if rows else None

    def write_state(self, key: str, value: dict[str, Any]) -> None:
        with self.session():
            # a row built in SQL, not an Arrow table: building one from Python lists imports pandas (~0.5 s)
            self.staging().execute(
                "create or replace temp table __state as select ?::varchar as key, ?::varchar as value",
                [key, json.dumps(value, sort_keys=True)],
            )
            self.merge(STATE_SCHEMA, "load_state", "__state", ["key"])
