"""What each raw table must satisfy, as great-expectations expectations, split by severity.

ERROR expectations block everything downstream of the table (the data is wrong); WARN ones are
reported in the UI (the data is stale or unusual). The row contracts in ``integrations/`` already
keep bad rows out; these suites check the table as a whole, after every load, whatever wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from integrations.hubspot.contracts import CHANNELS, DEAL_STAGES, LIFECYCLE_STAGES
from integrations.sheets.specs import DRE_EXPENSE_LINES

Severity = Literal["ERROR", "WARN"]
# Data older than this in a table that should be refreshed daily is worth a warning.
MAX_STALENESS = timedelta(days=45)


@dataclass(frozen=True)
class TableSuite:
    asset_key: tuple[str, ...]
    schema: str
    table: str
    # expectation builders receive the `great_expectations.expectations` module (imported lazily: it is slow)
    error: tuple[Callable[[Any], Any], ...]
    warn: tuple[Callable[[Any], Any], ...] = ()


def _not_empty(e: Any) -> Any:
    return e.ExpectTableRowCountToBeBetween(min_value=1)


def _unique(column: str) -> Callable[[Any], Any]:
    return lambda e: e.ExpectColumnValuesToBeUnique(column=column)


def _not_null(column: str) -> Callable[[Any], Any]:
    return lambda e: e.ExpectColumnValuesToNotBeNull(column=column)


def _in_set(column: str, values: tuple[str, ...]) -> Callable[[Any], Any]:
    return lambda e: e.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))


def _between(column: str, low: float | None, high: float | None) -> Callable[[Any], Any]:
    return lambda e: e.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)


def _fresh(column: str) -> Callable[[Any], Any]:
    """The newest value is recent (evaluated when the check runs, not when the module loads)."""

    def build(e: Any) -> Any:
        return e.ExpectColumnMaxToBeBetween(column=column, min_value=(datetime.now(UTC) - MAX_STALENESS).isoformat())

    return build


def _compound_unique(*columns: str) -> Callable[[Any], Any]:
    return lambda e: e.ExpectCompoundColumnsToBeUnique(column_list=list(columns))


SUITES: tuple[TableSuite, ...] = (
    TableSuite(
        ("hubspot", "contacts"),
        "raw_hubspot",
        "contacts",
        error=(_not_empty, _unique("id"), _not_null("created_at"), _in_set("lifecyclestage", LIFECYCLE_STAGES)),
        warn=(_fresh("updated_at"), _in_set("acquisition_channel", CHANNELS)),
    ),
    TableSuite(
        ("hubspot", "deals"),
        "raw_hubspot",
        "deals",
        error=(_not_empty, _unique("id"), _between("amount", 0, 100_000), _in_set("dealstage", DEAL_STAGES)),
        warn=(_fresh("updated_at"), _not_null("associated_contact_id")),
    ),
    TableSuite(
        ("sheets", "marketing_spend"),
        "raw_sheets",
        "marketing_spend",
        error=(
            _not_empty,
            _compound_unique("date", "channel", "campaign"),
            _between("spend_brl", 0, 1_000_000),
            _in_set("channel", CHANNELS),
        ),
        warn=(_fresh("date"),),
    ),
    TableSuite(
        ("sheets", "expenses"),
        "raw_sheets",
        "expenses",
        error=(_not_empty, _compound_unique("month", "account"), _in_set("category", DRE_EXPENSE_LINES)),
        warn=(_fresh("month"),),
    ),
    TableSuite(
        ("sheets", "orders"),
        "raw_sheets",
        "orders",
        error=(_unique("order_id"), _not_null("customer_id"), _between("amount_brl", 0, 100_000)),
        warn=(_fresh("order_date"),),
    ),
)
