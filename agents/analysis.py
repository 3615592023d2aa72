"""What every offline agent shares: a query log that keeps each figure with its query, and pt/en formatting.

:class:`Work` runs queries through the read-only :class:`~agents.sql_tool.SqlTool` and records them; its
:meth:`Work.figure` keeps a number together with the one-value query that returns it, so the figures
guardrail can run it again. The formatting helpers write numbers the Brazilian way in Portuguese
(``R$ 1.234,56``, ``5,00%``, ``out/2026``) and the English way otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from agents.schemas import Figure, RouteDecision
from agents.sql_tool import SqlTool

DEFAULT_LOOKBACK_MONTHS = 3


# -- formatting -------------------------------------------------------------------------------------

_MONTHS = {
    "pt": ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def num(value: float, lang: str, decimals: int = 2) -> str:
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if lang == "pt" else text


def brl(value: float, lang: str) -> str:
    return f"R$ {num(value, lang)}"


def pct(value: float, lang: str) -> str:
    return f"{num(value, lang)}%"


def month_label(month: dt.date, lang: str) -> str:
    return (
        f"{_MONTHS[lang][month.month - 1]}/{month.year}"
        if lang == "pt"
        else f"{_MONTHS[lang][month.month - 1]} {month.year}"
    )


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def date_sql(month: dt.date) -> str:
    return f"DATE '{month.isoformat()}'"


# -- the query log ------------------------------------------------------------------------------------


@dataclass
class Work:
    """What an analysis ran and found."""

    sql: SqlTool
    lang: str
    figures: list[Figure] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        self._note(query)
        return self.sql.run(query).rows

    def value(self, query: str) -> Any:
        rows = self.rows(query)
        return rows[0][0] if rows else None

    def figure(self, label: str, unit: str, query: str) -> Figure | None:
        """Run a one-value query; keep the figure when it is a number."""
        raw = self.value(query)
        try:
            number = float(raw) if raw is not None else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            return None
        figure = Figure(label=label, value=number, unit=unit, sql=query)
        self.figures.append(figure)
        return figure

    def _note(self, query: str) -> None:
        if query not in self.queries:
            self.queries.append(query)


def lookback_months(decision: RouteDecision) -> int:
    if decision.lookback_months:
        return decision.lookback_months
    if decision.lookback_days:
        return max(1, math.ceil(decision.lookback_days / 30))
    return DEFAULT_LOOKBACK_MONTHS


def complete_window(work: Work, table: str, months: int) -> tuple[dt.date, dt.date] | None:
    last = as_date(work.value(f"select max(month) from {table} where is_complete"))
    if last is None:
        return None
    return add_months(last, -(months - 1)), last


def period_label(start: dt.date, end: dt.date, lang: str) -> str:
    if start == end:
        return month_label(end, lang)
    return f"{month_label(start, lang)} {'a' if lang == 'pt' else 'to'} {month_label(end, lang)}"


def no_data(lang: str, what: str) -> str:
    return (
        f"Não há dados suficientes para {what} nos marts."
        if lang == "pt"
        else f"The marts hold no data for {what} yet."
    )
