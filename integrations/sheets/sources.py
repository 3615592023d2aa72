"""Where worksheets come from: the Google Sheets API, or CSV files with the same header + rows.

Both put the worksheet on a DuckDB connection as a table of strings, exactly what the sheet shows, in
row order; typing happens in validation, on the same connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb


class SheetsSource(Protocol):
    def stage(self, con: duckdb.DuckDBPyConnection, worksheet: str, table: str) -> None:
        """Create temp table ``table`` on ``con``: the worksheet's rows in order, its columns as text named by
        its header row."""
        ...


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """A CSV with a header row as temp table ``table``, every value a string (no type guessing).

    A table rather than a view over the file: the dialect sniffing is paid once (it costs as much as
    reading a few MB), not at every query that reads it.
    """
    con.execute(
        f"create or replace temp table {table} as "
        "select * from read_csv(?, header = true, all_varchar = true, auto_detect = true)",
        [str(path)],
    )


def stage_table(con: duckdb.DuckDBPyConnection, data: pa.Table, table: str) -> None:
    """An Arrow table of strings as temp table ``table``, numbered in its row order."""
    con.register("__sheet_values", data)
    try:
        con.execute(f"create or replace temp table {table} as select * from __sheet_values")
    finally:
        con.unregister("__sheet_values")


def table_from_values(values: list[list[str]], worksheet: str) -> pa.Table:
    """Header + rows (the Sheets API ``values`` matrix) as a string table; short rows are padded."""
    if not values or not any(cell.strip() for cell in values[0]):
        raise ValueError(f"worksheet '{worksheet}' is empty: expected a header row")
    header = [h.strip() for h in values[0]]
    named = [h for h in header if h]
    repeated = sorted({h for h in named if named.count(h) > 1})
    if repeated:
        raise ValueError(f"worksheet '{worksheet}' repeats column(s) {repeated} in its header")
    width = len(header)
    rows = [row + [""] * (width - len(row)) for row in values[1:]]
    # cells typed right of the header (no column name) are notes, not data
    return pa.table({name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(header) if name})


class CsvSheetsSource:
    """Worksheets exported as ``<root>/<worksheet>.csv`` (the demo world, or a company's export)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, worksheet: str) -> Path:
        return self.root / f"{worksheet}.csv"

    def stage(self, con: duckdb.DuckDBPyConnection, worksheet: str, table: str) -> None:
        path = self.path(worksheet)
        if not path.exists():
            raise FileNotFoundError(f"worksheet '{worksheet}' not found: {path} does not exist")
        stage_csv(con, path, table)


class GoogleSheetsSource:
    """A spreadsheet read through ``gspread`` with a service account."""

    def __init__(self, spreadsheet_id: str, service_account_file: str) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.service_account_file = service_account_file

    def read(self, worksheet: str) -> pa.Table:
        import gspread

        client = gspread.service_account(filename=self.service_account_file, scopes=gspread.auth.READONLY_SCOPES)
        values = client.open_by_key(self.spreadsheet_id).worksheet(worksheet).get_all_values()
        return table_from_values(values, worksheet)

    def stage(self, con: duckdb.DuckDBPyConnection, worksheet: str, table: str) -> None:
        stage_table(con, self.read(worksheet), table)
