"""Where worksheets come from: the Google Sheets API, or CSV files with the same header + rows.

Both return an Arrow table of strings, exactly what the sheet shows; typing happens in validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa


class SheetsSource(Protocol):
    def read(self, worksheet: str) -> pa.Table:
        """The worksheet as an all-string table whose column names are its header row."""
        ...


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

    def read(self, worksheet: str) -> pa.Table:
        path = self.path(worksheet)
        if not path.exists():
            raise FileNotFoundError(f"worksheet '{worksheet}' not found: {path} does not exist")
        return read_csv_strings(path)


def read_csv_strings(path: Path) -> pa.Table:
    """Read a CSV with a header row keeping every value a string (no type guessing)."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.sql(
            "select * from read_csv(?, header = true, all_varchar = true, auto_detect = true)", params=[str(path)]
        ).to_arrow_table()
    finally:
        con.close()


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
