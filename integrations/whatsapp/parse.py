"""Parse landed webhook bodies into tables: inbound messages, status events and rejected input.

This is the one entry point ingestion uses, in demo and production alike::

    slices = landing.new_data_since(cursor)
    staged = stage_landing(con, slices)     # temp tables on a DuckDB connection (the warehouse's staging one)
    ...merge the three tables, then store advance_cursor(cursor, slices)...

``parse_landing`` does the same on a private connection and returns Arrow tables (``ParsedWebhooks``).

Volume is dominated by status events (three or four per message sent), so the work is vectorized in DuckDB:
``reader.py`` reads the JSONL with one typed ``read_json`` (quarantining bad lines), and ``events.py`` unnests,
parses each event once, dedupes and shapes the output tables. Within a batch a status delivered twice (same message
id and status) keeps one row, the earliest; the loader keeps the first one stored across batches.
``latest_status`` reduces events to each message's furthest status, whatever order they arrived in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from integrations.whatsapp.events import (
    MESSAGES,
    REJECTED,
    STATUSES,
    build_event_tables,
    build_messages,
    build_rejected,
    build_statuses,
)
from integrations.whatsapp.landing import LandingSlice
from integrations.whatsapp.optout import is_opt_out
from integrations.whatsapp.reader import load_bodies
from integrations.whatsapp.schemas import MESSAGES_SCHEMA, REJECTED_SCHEMA, STATUS_RANK, STATUSES_SCHEMA

__all__ = [
    "ParsedWebhooks",
    "Source",
    "StagedWebhooks",
    "is_opt_out",
    "latest_status",
    "parse_landing",
    "stage_landing",
]

Source = Path | str | LandingSlice | tuple[Path | str, int, int]


@dataclass(frozen=True)
class ParsedWebhooks:
    """One parsed batch, in the schemas of ``schemas.py``; rows are in no particular order."""

    messages: pa.Table
    statuses: pa.Table
    rejected: pa.Table

    @classmethod
    def empty(cls) -> ParsedWebhooks:
        """A batch with no rows that still carries the schemas, so the loader can create its tables from it."""
        return cls(MESSAGES_SCHEMA.empty_table(), STATUSES_SCHEMA.empty_table(), REJECTED_SCHEMA.empty_table())


@dataclass(frozen=True)
class StagedWebhooks:
    """One batch staged by :func:`stage_landing`: its temp relations (in the schemas of ``schemas.py``; rejects
    also carry ``rejected_id``) and their row counts."""

    messages: str
    statuses: str
    rejected: str
    message_rows: int
    status_rows: int
    opt_outs: int
    reasons: dict[str, int]  # rejected lines and events by reason

    @property
    def rejected_rows(self) -> int:
        return sum(self.reasons.values())


def stage_landing(con: duckdb.DuckDBPyConnection, sources: Iterable[Source]) -> StagedWebhooks:
    """Parse whole landing files (paths) or ``(path, start, end)`` slices from ``LandingArea.new_data_since``.

    Slices must start and end on line boundaries, which ``new_data_since`` guarantees, and at least one must hold
    data. Bad lines and unusable events go to the rejected table instead of raising. Row order carries no meaning
    here: a caller can ``SET preserve_insertion_order = false`` around this and what it does with the tables
    (less memory, more parallel work).
    """
    slices = [piece for piece in map(_as_slice, sources) if piece.end > piece.start]
    if not slices:
        raise ValueError("nothing to parse: every slice is empty")
    with tempfile.TemporaryDirectory(prefix="whatsapp-parse-") as tmp:
        load_bodies(con, slices, Path(tmp))
    build_event_tables(con)
    con.execute("DROP TABLE bodies")  # lowers peak memory before the output tables are made
    build_statuses(con)
    build_messages(con)
    build_rejected(con)
    messages, opt_outs, statuses = con.sql(
        f"SELECT count(*), count(*) FILTER (is_opt_out), (SELECT count(*) FROM {STATUSES}) FROM {MESSAGES}"
    ).fetchall()[0]
    reasons = dict(con.sql(f"SELECT reason, count(*) FROM {REJECTED} GROUP BY ALL ORDER BY 1").fetchall())
    return StagedWebhooks(MESSAGES, STATUSES, REJECTED, int(messages), int(statuses), int(opt_outs), reasons)


def parse_landing(sources: Iterable[Source], *, threads: int | None = None) -> ParsedWebhooks:
    """:func:`stage_landing` on a private in-memory DuckDB, as Arrow tables in the schemas of ``schemas.py``.

    ``threads`` caps DuckDB's threads (default: all cores).
    """
    slices = [piece for piece in map(_as_slice, sources) if piece.end > piece.start]
    if not slices:
        return ParsedWebhooks.empty()
    with tempfile.TemporaryDirectory(prefix="whatsapp-spill-") as spill:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")  # timestamptz comes out as timestamp[us, tz=UTC]
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET temp_directory = ?", [spill])
            if threads is not None:
                con.execute(f"SET threads = {int(threads)}")
            staged = stage_landing(con, slices)
            rejected = con.sql(f"SELECT * EXCLUDE (rejected_id) FROM {staged.rejected}").to_arrow_table()
            return ParsedWebhooks(
                messages=con.sql(f"SELECT * FROM {staged.messages}").to_arrow_table().cast(MESSAGES_SCHEMA),
                statuses=con.sql(f"SELECT * FROM {staged.statuses}").to_arrow_table().cast(STATUSES_SCHEMA),
                rejected=rejected.cast(REJECTED_SCHEMA),
            )
        finally:
            con.close()


def latest_status(statuses: pa.Table) -> pa.Table:
    """Each message's furthest status by ``STATUS_RANK`` (sent < delivered < read; failed is terminal).

    Arrival order does not matter: a ``read`` that arrived before its ``delivered`` still wins. Equal ranks keep
    the earliest event; unknown statuses rank below ``sent``. Rows come out in ``STATUSES_SCHEMA``, by message id.
    """
    rank = "CASE status " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items()) + " ELSE 0 END"
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("statuses_in", statuses)
        result = con.sql(
            f"""
            SELECT * FROM statuses_in
            QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY {rank} DESC, "timestamp", status) = 1
            ORDER BY message_id
            """
        ).to_arrow_table()
    finally:
        con.close()
    return result.select(STATUSES_SCHEMA.names).cast(STATUSES_SCHEMA)


def _as_slice(source: Source) -> LandingSlice:
    if isinstance(source, Path | str):
        path = Path(source)
        return LandingSlice(path, 0, path.stat().st_size)
    path, start, end = source
    if not 0 <= start <= end:
        raise ValueError(f"invalid slice {source!r}")
    return LandingSlice(Path(path), int(start), int(end))
