"""What each raw table must satisfy, as great-expectations expectations, split by severity.

ERROR expectations block everything downstream of the table (the data is wrong); WARN ones are
reported in the UI (the data is stale or unusual). The row contracts in ``integrations/`` already
keep bad rows out; these suites check the table as a whole, after every load, whatever wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from integrations.hubspot.contracts import DEAL_STAGES, LIFECYCLE_STAGES
from integrations.vocabulary import CHANNELS, DRE_EXPENSE_LINES

Severity = Literal["ERROR", "WARN"]
# Data older than this in a table that should be refreshed daily is worth a warning.
MAX_STALENESS = timedelta(days=45)


@dataclass(frozen=True)
class Expect:
    """One expectation: a ``great_expectations.expectations`` class name and its arguments."""

    kind: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    max_age: timedelta | None = None  # freshness: the lower bound is computed when the check runs

    @property
    def needed(self) -> tuple[str, ...]:
        return ((self.column,) if self.column else ()) + self.columns

    def build(self, module: Any) -> Any:
        kwargs = dict(self.options)
        if self.column:
            kwargs["column"] = self.column
        if self.columns:
            kwargs["column_list"] = list(self.columns)
        if self.max_age is not None:
            kwargs["min_value"] = (datetime.now(UTC) - self.max_age).isoformat()
        return getattr(module, self.kind)(**kwargs)


@dataclass(frozen=True)
class TableSuite:
    asset_key: tuple[str, ...]
    schema: str
    table: str
    error: tuple[Expect, ...]
    warn: tuple[Expect, ...] = ()

    def expectations(self, severity: Severity) -> tuple[Expect, ...]:
        return self.error if severity == "ERROR" else self.warn

    def columns(self, severity: Severity) -> list[str]:
        """Only the columns the expectations look at are read from the warehouse."""
        needed = dict.fromkeys(c for e in self.expectations(severity) for c in e.needed)
        if not needed:  # table-level expectations only: any one column gives the row count
            needed = dict.fromkeys(c for e in self.error + self.warn for c in e.needed)
        return list(needed)[: max(1, len(needed))]


NOT_EMPTY = Expect("ExpectTableRowCountToBeBetween", options={"min_value": 1})


def unique(column: str) -> Expect:
    return Expect("ExpectColumnValuesToBeUnique", column)


def not_null(column: str) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", column)


def in_set(column: str, values: tuple[str, ...]) -> Expect:
    return Expect("ExpectColumnValuesToBeInSet", column, options={"value_set": list(values)})


def between(column: str, low: float | None, high: float | None) -> Expect:
    return Expect("ExpectColumnValuesToBeBetween", column, options={"min_value": low, "max_value": high})


def fresh(column: str, max_age: timedelta = MAX_STALENESS) -> Expect:
    return Expect("ExpectColumnMaxToBeBetween", column, max_age=max_age)


def compound_unique(*columns: str) -> Expect:
    return Expect("ExpectCompoundColumnsToBeUnique", columns=columns)


WHATSAPP_STATUSES = ("sent", "delivered", "read", "failed")

SUITES: tuple[TableSuite, ...] = (
    TableSuite(
        ("hubspot", "contacts"),
        "raw_hubspot",
        "contacts",
        error=(NOT_EMPTY, unique("id"), not_null("created_at"), in_set("lifecyclestage", LIFECYCLE_STAGES)),
        warn=(fresh("updated_at"), in_set("acquisition_channel", CHANNELS)),
    ),
    TableSuite(
        ("hubspot", "deals"),
        "raw_hubspot",
        "deals",
        error=(NOT_EMPTY, unique("id"), between("amount", 0, 100_000), in_set("dealstage", DEAL_STAGES)),
        warn=(fresh("updated_at"), not_null("associated_contact_id")),
    ),
    TableSuite(
        ("sheets", "marketing_spend"),
        "raw_sheets",
        "marketing_spend",
        error=(
            NOT_EMPTY,
            compound_unique("date", "channel", "campaign"),
            between("spend_brl", 0, 1_000_000),
            in_set("channel", CHANNELS),
        ),
        warn=(fresh("date"),),
    ),
    TableSuite(
        ("sheets", "expenses"),
        "raw_sheets",
        "expenses",
        error=(NOT_EMPTY, compound_unique("month", "account"), in_set("category", DRE_EXPENSE_LINES)),
        warn=(fresh("month", timedelta(days=75)),),  # a monthly closing is dated the month's first day
    ),
    TableSuite(
        ("sheets", "orders"),
        "raw_sheets",
        "orders",
        error=(unique("order_id"), not_null("customer_id"), between("amount_brl", 0, 100_000)),
        warn=(fresh("order_date"),),
    ),
    TableSuite(
        ("whatsapp", "messages"),
        "raw_whatsapp",
        "messages",
        error=(unique("message_id"), not_null("timestamp"), not_null("wa_id")),
        warn=(fresh("timestamp"),),
    ),
    TableSuite(
        ("whatsapp", "statuses"),
        "raw_whatsapp",
        "statuses",
        error=(
            NOT_EMPTY,
            compound_unique("message_id", "status"),
            in_set("status", WHATSAPP_STATUSES),
            not_null("timestamp"),
        ),
        warn=(fresh("timestamp"),),
    ),
)
