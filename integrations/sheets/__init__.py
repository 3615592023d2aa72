"""Google Sheets worksheets (marketing spend, expenses, orders) and their contracts.

A worksheet arrives as header + rows of strings, whether from the Sheets API (``gspread``), the demo
world's CSV files or an orders export (``cro import orders``); one validation serves them all.
"""

from integrations.sheets.specs import WORKSHEETS

__all__ = ["WORKSHEETS"]
