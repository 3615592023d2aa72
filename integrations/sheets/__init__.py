"""Google Sheets worksheets (marketing spend, expenses, orders) and their validation.

A worksheet arrives as header + rows of strings, whether from the Sheets API (``gspread``), the demo
world's CSV files or an orders export (``cro import orders``); one validation serves them all.
"""

from integrations.sheets.specs import WORKSHEETS, ColumnSpec, WorksheetSpec
from integrations.sheets.validate import SheetSchemaError, ValidatedBatch, validate

__all__ = ["WORKSHEETS", "ColumnSpec", "SheetSchemaError", "ValidatedBatch", "WorksheetSpec", "validate"]
