"""The contract of each worksheet: columns, their kinds and rules, and the primary key."""

from __future__ import annotations

from integrations.contracts import ColumnSpec, TableContract
from integrations.vocabulary import CHANNELS, DRE_EXPENSE_LINES

MARKETING_SPEND = TableContract(
    name="marketing_spend",
    columns=(
        ColumnSpec("date", "date"),
        ColumnSpec("channel", allowed=CHANNELS),
        ColumnSpec("campaign"),
        ColumnSpec("spend_brl", "amount"),
    ),
    primary_key=("date", "channel", "campaign"),
)

EXPENSES = TableContract(
    name="expenses",
    columns=(
        ColumnSpec("month", "month"),
        ColumnSpec("account"),
        ColumnSpec("category", allowed=DRE_EXPENSE_LINES),
        # resultado_financeiro is signed (income positive); the other lines are costs, never negative
        ColumnSpec("amount_brl", "signed_amount"),
    ),
    primary_key=("month", "account"),
    checks=(("amount_brl >= 0 or category = 'resultado_financeiro'", "amount_brl: negative cost"),),
)

ORDERS = TableContract(
    name="orders",
    columns=(
        ColumnSpec("order_id"),
        ColumnSpec("customer_id"),
        ColumnSpec("order_date", "date"),
        ColumnSpec("amount_brl", "amount"),
        ColumnSpec("channel", required=False, allowed=CHANNELS),
        ColumnSpec("plan", required=False),
        ColumnSpec("order_type", required=False),
    ),
    primary_key=("order_id",),
)

WORKSHEETS: dict[str, TableContract] = {spec.name: spec for spec in (MARKETING_SPEND, EXPENSES, ORDERS)}
