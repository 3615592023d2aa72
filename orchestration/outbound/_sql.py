"""Small SQL helpers shared by the outbound modules (placeholders, table creation, timestamps)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from orchestration.warehouse import Warehouse


def sql(warehouse: Warehouse, statement: str) -> str:
    """``statement`` written with ``?`` placeholders, in the warehouse driver's style (``%s`` on PostgreSQL).

    Statements passed here must not contain a literal ``?`` or ``%``.
    """
    return statement.replace("?", "%s") if warehouse.kind == "postgres" else statement


def ensure_table(warehouse: Warehouse, schema: str, table: str, ddl: Sequence[str]) -> None:
    """Create ``schema.table`` with ``ddl`` (``create … if not exists`` statements) unless it exists.

    Two processes may create it at the same instant; PostgreSQL can then refuse one of them although the
    table exists afterwards, which is fine.
    """
    if warehouse.table_exists(schema, table):
        return
    try:
        for statement in ddl:
            warehouse.execute(statement)
    except Exception:
        if not warehouse.table_exists(schema, table):
            raise


def timestamptz(warehouse: Warehouse) -> str:
    return "timestamptz" if warehouse.kind == "postgres" else "timestamp with time zone"


def utc(value: Any) -> dt.datetime | None:
    """A stored timestamp as an aware UTC datetime (naive values are read as UTC)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
