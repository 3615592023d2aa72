"""DuckDB plumbing shared by the writers: SQL macros for the vendors' text formats and a fast writer.

Rows are rendered to text inside DuckDB (vectorized, multi-threaded) and come back as an Arrow
string column whose values already end in the right separator. The column's data buffer is then
exactly the bytes of the file, so it is written as one block: no Python object per row.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import duckdb
import numpy as np
import pyarrow as pa

_MACROS = (
    # integer cents -> "189.90" / "-5.00": exact, no float rounding
    """CREATE MACRO money(c) AS (CASE WHEN c < 0 THEN '-' ELSE '' END || (abs(c) // 100)::VARCHAR || '.'
        || lpad((abs(c) % 100)::VARCHAR, 2, '0'))""",
    # integer cents -> "R$ 1.234,56", how a person types money into a Brazilian sheet
    """CREATE MACRO brl_text(c) AS ('R$ ' || replace(replace(replace(format('{:,.2f}', c / 100.0), ',', '_'),
        '.', ','), '_', '.'))""",
    # UTC epoch milliseconds -> HubSpot's ISO-8601 with milliseconds and Z
    "CREATE MACRO iso_ms(ms) AS strftime(epoch_ms(ms), '%Y-%m-%dT%H:%M:%S.%gZ')",
    # a WhatsApp message id: stable for (seed, kind, number), shaped like Meta's base64 ids
    """CREATE MACRO wamid(wa, seed, kind, number) AS ('wamid.' || to_base64(encode('HBgM' || wa || 'FQIAERgS'
        || upper(substr(md5(seed::VARCHAR || ':' || kind || ':' || number::VARCHAR), 1, 20)) || 'AA==')))""",
)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the formatting macros; insertion order is preserved for output."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    for macro in _MACROS:
        con.execute(macro)
    return con


class BackgroundWriter:
    """Writes buffers on one background thread while DuckDB renders the next chunk.

    File writes and DuckDB both release the GIL, so rendering and disk I/O overlap. At most one
    write is pending, which bounds memory to two rendered chunks.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None

    def write(self, *parts: memoryview | bytes) -> None:
        self.wait()
        self._pending = self._pool.submit(self._write_all, parts)

    def _write_all(self, parts: tuple[memoryview | bytes, ...]) -> None:
        for part in parts:
            self._out.write(part)

    def wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        self.wait()
        self._pool.shutdown()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_text(
    con: duckdb.DuckDBPyConnection, sql: str, out: BackgroundWriter, cut: tuple[int, int] | None = None
) -> int:
    """Run ``sql`` (one VARCHAR column, each value carrying its own separators) and queue its bytes.

    ``cut=(first, stop)`` is the ``truncated_page`` fault: the line made of result rows
    ``first..stop-1`` keeps only its first half, then a newline. Returns the number of rows.
    """
    data, offsets = render(con, sql)
    if cut is None:
        out.write(data[int(offsets[0]) : int(offsets[-1])])
    else:
        begin, end = int(offsets[cut[0]]), int(offsets[cut[1]])
        out.write(data[int(offsets[0]) : begin + (end - begin) // 2], b"\n", data[end : int(offsets[-1])])
    return len(offsets) - 1


def render(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[memoryview, np.ndarray]:
    """Run ``sql`` (one VARCHAR column) and return its text as one buffer plus row offsets into it."""
    column = con.sql(sql).to_arrow_table().column(0).combine_chunks()
    return _buffers(column)


def _buffers(chunk: pa.Array) -> tuple[memoryview, np.ndarray]:
    if pa.types.is_large_string(chunk.type):
        offset_type = np.int64
    elif pa.types.is_string(chunk.type):
        offset_type = np.int32
    else:
        raise TypeError(f"expected a string column, got {chunk.type}")
    _, offsets_buffer, data_buffer = chunk.buffers()
    skip = chunk.offset * np.dtype(offset_type).itemsize
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type, count=len(chunk) + 1, offset=skip)
    return memoryview(data_buffer) if data_buffer is not None else memoryview(b""), offsets


def labels(codes: np.ndarray, values: tuple[str, ...] | list[str], *, escaped: bool = False) -> pa.DictionaryArray:
    """Small-vocabulary text as an Arrow dictionary column (negative codes become null).

    ``escaped=True`` stores each value JSON-escaped without its quotes, so SQL can splice it into a
    JSON string literal without escaping per row.
    """
    vocabulary = [json.dumps(v, ensure_ascii=False)[1:-1] for v in values] if escaped else list(values)
    codes = np.asarray(codes)
    index_type = np.int8 if len(vocabulary) < 128 else np.int16 if len(vocabulary) < 32768 else np.int32
    indices = pa.array(codes.astype(index_type), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(vocabulary, pa.string()))
