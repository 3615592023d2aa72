"""The contract of each worksheet: columns, their kinds and rules, and the primary key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["text", "date", "month", "amount", "signed_amount"]

CHANNELS = ("google_ads", "meta_ads", "instagram", "referral", "organic", "whatsapp")
DRE_EXPENSE_LINES = (
    "cmv",
    "despesas_vendas",
    "despesas_marketing",
    "despesas_administrativas",
    "depreciacao_amortizacao",
    "resultado_financeiro",
)


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: ColumnKind = "text"
    required: bool = True
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorksheetSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    # extra row rules: (SQL condition over the typed columns that must hold, reason when it does not)
    checks: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


MARKETING_SPEND = WorksheetSpec(
    name="marketing_spend",
    columns=(
        ColumnSpec("date", "date"),
        ColumnSpec("channel", allowed=CHANNELS),
        ColumnSpec("campaign"),
        ColumnSpec("spend_brl", "amount"),
    ),
    primary_key=("date", "channel", "campaign"),
)

EXPENSES = WorksheetSpec(
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

ORDERS = WorksheetSpec(
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

WORKSHEETS: dict[str, WorksheetSpec] = {spec.name: spec for spec in (MARKETING_SPEND, EXPENSES, ORDERS)}
