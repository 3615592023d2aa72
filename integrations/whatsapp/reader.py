"""Read landed webhook bodies into a DuckDB table, quarantining lines that are not usable bodies.

Fills temp tables on the caller's connection:

- ``bodies(file_index, object, entry)``: one row per good line, typed as ``BODY_STRUCTURE``;
- ``line_rejects(file_index, byte_offset, reason, raw)``: one row per bad line;
- ``files(file_index, source_file, read_path)``.

The fast path is a single typed ``read_json`` over all files. It fails on the first bad line, and a body that is
JSON but not a WhatsApp one is caught right after. Then the files are split into lines and classified, first only
for broken JSON (one parse per line, which explains nearly every failure), and only if that was not enough for
what the JSON contains; bad lines are quarantined and the remaining lines are written to clean copies that go
through the very same ``read_json``. Good lines therefore give identical rows whichever path ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from integrations.whatsapp.landing import LandingSlice
from integrations.whatsapp.schemas import (
    REJECT_INVALID_JSON,
    REJECT_INVALID_UTF8,
    REJECT_LINE_TOO_LARGE,
    REJECT_MISSING_ENTRY,
    REJECT_NOT_AN_OBJECT,
    REJECT_NOT_WABA,
    REJECT_UNEXPECTED_SHAPE,
)
from integrations.whatsapp.staging import StagedFile, chunks, grew_while_reading, split_lines, stage, write_without

# What is read of a body. Containers are typed so DuckDB walks them natively; events (and contacts) stay JSON text
# so each event is kept verbatim and no field type inside an event can fail the read.
BODY_STRUCTURE: dict[str, Any] = {
    "object": "VARCHAR",
    "entry": [
        {
            "id": "VARCHAR",
            "changes": [
                {
                    "field": "VARCHAR",
                    "value": {
                        "metadata": {"display_phone_number": "VARCHAR", "phone_number_id": "VARCHAR"},
                        "contacts": ["JSON"],
                        "messages": ["JSON"],
                        "statuses": ["JSON"],
                    },
                }
            ],
        }
    ],
}

# The containers ``read_json`` needs where BODY_STRUCTURE expects them (VARCHAR and JSON accept any value). Only
# checked when the cheap checks did not explain a failed read, because each rule costs a full parse per line.
SHAPE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("$.entry[*]", ("OBJECT", "NULL")),
    ("$.entry[*].changes", ("ARRAY", "NULL")),
    ("$.entry[*].changes[*]", ("OBJECT", "NULL")),
    ("$.entry[*].changes[*].value", ("OBJECT", "NULL")),
    ("$.entry[*].changes[*].value.metadata", ("OBJECT", "NULL")),
    ("$.entry[*].changes[*].value.contacts", ("ARRAY", "NULL")),
    ("$.entry[*].changes[*].value.messages", ("ARRAY", "NULL")),
    ("$.entry[*].changes[*].value.statuses", ("ARRAY", "NULL")),
)

MAX_BODY_BYTES = 16 << 20  # read_json's per-object limit; Meta's bodies are a few KB


class LandingReadError(RuntimeError):
    """A batch that still cannot be read after every bad line was quarantined: a gap in the shape rules."""


def load_bodies(con: duckdb.DuckDBPyConnection, slices: list[LandingSlice], tmp: Path) -> None:
    """Fill ``files``, ``bodies`` and ``line_rejects`` on ``con`` from ``slices``; ``tmp`` holds scratch copies."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE line_rejects"
        " (file_index INTEGER, byte_offset BIGINT, reason VARCHAR, raw VARCHAR)"
    )
    staged = stage(slices, tmp, copy_all=False)
    if _read_bodies(con, staged):
        if not grew_while_reading(staged):
            return
        staged = stage(slices, tmp, copy_all=True)
        if _read_bodies(con, staged):
            return
    for deep in (False, True):
        con.execute("DELETE FROM line_rejects")
        cleaned = [_quarantine_bad_lines(con, item, tmp, deep=deep) for item in staged]
        if _read_bodies(con, cleaned):
            return
    raise LandingReadError("landing lines pass every quarantine rule but read_json still rejects them")


def _duckdb_type(structure: Any) -> str:
    if isinstance(structure, str):
        return structure
    if isinstance(structure, list):
        return _duckdb_type(structure[0]) + "[]"
    return "STRUCT(" + ", ".join(f'"{key}" {_duckdb_type(value)}' for key, value in structure.items()) + ")"


_COLUMNS_SQL = "{" + ", ".join(f"'{key}': '{_duckdb_type(value)}'" for key, value in BODY_STRUCTURE.items()) + "}"

_BODIES_SQL = f"""
    CREATE OR REPLACE TEMP TABLE bodies AS
    SELECT f.file_index, r.object, r.entry
    FROM read_json($paths, format = 'newline_delimited', columns = {_COLUMNS_SQL}, filename = true,
                   maximum_object_size = {MAX_BODY_BYTES}) AS r
    JOIN files AS f ON f.read_path = r.filename
"""


def _read_bodies(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> bool:
    """One typed ``read_json`` over all files into ``bodies``; False if any line is not a usable WhatsApp body."""
    con.execute("CREATE OR REPLACE TEMP TABLE files (file_index INTEGER, source_file VARCHAR, read_path VARCHAR)")
    # One statement with list parameters: not an Arrow table (scanning one makes DuckDB import pandas first) and
    # not one insert per file (hundreds of statements)
    con.execute(
        "INSERT INTO files SELECT unnest(?::INTEGER[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
        [
            [item.index for item in staged],
            [item.source.path.name for item in staged],
            [str(item.read_path) for item in staged],
        ],
    )
    try:
        con.execute(_BODIES_SQL, {"paths": [str(item.read_path) for item in staged]})
    except (duckdb.InvalidInputException, duckdb.ConversionException):
        return False
    off_shape = con.execute(
        "SELECT count(*) FROM bodies WHERE object IS DISTINCT FROM 'whatsapp_business_account' OR entry IS NULL"
    ).fetchall()[0][0]
    return off_shape == 0


def _classify_sql(deep: bool) -> str:
    """Bad lines of ``line_batch`` with their reason; blank lines are skipped, as ``read_json`` skips them.

    The first pass only looks for what breaks a line as JSON (one parse per line), which explains nearly every
    failed read: truncated writes, garbage. The deep pass adds the checks on what the JSON contains.
    """
    checks = [
        "WHEN blank THEN NULL",
        f"WHEN invalid_utf8 THEN '{REJECT_INVALID_UTF8}'",
        f"WHEN strlen(line) > {MAX_BODY_BYTES} THEN '{REJECT_LINE_TOO_LARGE}'",
        f"WHEN NOT json_valid(line) THEN '{REJECT_INVALID_JSON}'",
    ]
    if deep:
        checks += [
            f"WHEN json_type(line) <> 'OBJECT' THEN '{REJECT_NOT_AN_OBJECT}'",
            "WHEN json_extract_string(line, '$.object') IS DISTINCT FROM 'whatsapp_business_account'"
            f" THEN '{REJECT_NOT_WABA}'",
            f"WHEN json_type(line, '$.entry') IS DISTINCT FROM 'ARRAY' THEN '{REJECT_MISSING_ENTRY}'",
        ]
        rules = " AND ".join(
            f"coalesce(list_bool_and(list_transform(json_extract(line, '{path}'),"
            f" lambda x: json_type(x) IN ({', '.join(repr(t) for t in types)}))), true)"
            for path, types in SHAPE_RULES
        )
        checks.append(f"WHEN NOT ({rules}) THEN '{REJECT_UNEXPECTED_SHAPE}'")
    return f"""
        SELECT row_index, rtrim(line, chr(10)) AS raw, reason FROM (
            SELECT row_index, line, CASE {" ".join(checks)} END AS reason FROM line_batch
        )
        WHERE reason IS NOT NULL
        ORDER BY row_index
    """


def _quarantine_bad_lines(con: duckdb.DuckDBPyConnection, item: StagedFile, tmp: Path, *, deep: bool) -> StagedFile:
    """Move the slice's bad lines to ``line_rejects``; return a staged copy holding only its good lines.

    Offsets are taken from the original landing slice, so a rejected row points at the line in the landing file.
    """
    clean = tmp / f"clean-{item.index:05d}.jsonl"
    query = _classify_sql(deep)
    with clean.open("wb") as out:
        for data, base in chunks(item.source):
            starts, lines = split_lines(data)
            con.register("line_batch", lines)
            try:
                bad = con.execute(query).fetchall()
            finally:
                con.unregister("line_batch")
            if bad:
                con.executemany(
                    "INSERT INTO line_rejects VALUES (?, ?, ?, ?)",
                    [[item.index, base + int(starts[row]), reason, raw] for row, raw, reason in bad],
                )
            write_without(out, data, starts, [row for row, _, _ in bad])
    return StagedFile(item.index, item.source, clean, in_place=False)
