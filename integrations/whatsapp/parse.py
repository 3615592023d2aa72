"""Parse landed webhook bodies into Arrow tables: inbound messages, status events and rejected input.

This is the one entry point ingestion calls, in demo and production alike::

    slices = landing.new_data_since(cursor)
    parsed = parse_landing(slices)          # ParsedWebhooks(messages, statuses, rejected)
    ...load the three tables and advance_cursor(cursor, slices) in one transaction...

Volume is dominated by status events (three or four per message sent), so the work is vectorized in a private
in-memory DuckDB: ``reader.py`` reads the JSONL with one typed ``read_json`` (quarantining bad lines), and
``events.py`` unnests, parses each event once, dedupes and shapes the output tables. Within a batch a status
delivered twice (same message id and status) keeps one row, the earliest; the loader merges on the same key across
batches. ``latest_status`` reduces events to each message's furthest status, whatever order they arrived in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from integrations.whatsapp.events import build_event_tables, messages_table, rejected_table, statuses_table
from integrations.whatsapp.landing import LandingSlice
from integrations.whatsapp.optout import is_opt_out
from integrations.whatsapp.reader import load_bodies
from integrations.whatsapp.schemas import MESSAGES_SCHEMA, REJECTED_SCHEMA, STATUS_RANK, STATUSES_SCHEMA

__all__ = ["ParsedWebhooks", "Source", "is_opt_out", "latest_status", "parse_landing"]

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


def parse_landing(sources: Iterable[Source], *, threads: int | None = None) -> ParsedWebhooks:
    """Parse whole landing files (paths) or ``(path, start, end)`` slices from ``LandingArea.new_data_since``.

    Slices must start and end on line boundaries, which ``new_data_since`` guarantees. Bad lines and unusable
    events come back in ``rejected`` instead of raising. ``threads`` caps DuckDB's threads (default: all cores).
    """
    slices = [piece for piece in map(_as_slice, sources) if piece.end > piece.start]
    if not slices:
        return ParsedWebhooks.empty()
    with tempfile.TemporaryDirectory(prefix="whatsapp-parse-") as tmp:
        con = _connect(Path(tmp), threads)
        try:
            load_bodies(con, slices, Path(tmp))
            build_event_tables(con)
            con.execute("DROP TABLE bodies")  # lowers peak memory before the Arrow copies are made
            statuses = statuses_table(con)
            messages = messages_table(con)
            rejected = rejected_table(con)
        finally:
            con.close()
    return ParsedWebhooks(messages=messages, statuses=statuses, rejected=rejected)


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
            QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY {rank} DESC, "timestamp", raw) = 1
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


def _connect(tmp: Path, threads: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # timestamptz comes out as timestamp[us, tz=UTC]
    con.execute("SET preserve_insertion_order = false")  # row order carries no meaning here; saves time and memory
    con.execute("SET temp_directory = ?", [str(tmp / "spill")])
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con
