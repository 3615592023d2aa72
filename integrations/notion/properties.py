"""Simple Python values → Notion page property values, shaped by the data source's schema.

A page property value's JSON depends on the property's type (``{"number": 3}``,
``{"select": {"name": "A"}}``…), which only the data source schema knows, so the publisher reads the
schema once and this module shapes each value by it. ``None`` clears a property.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from integrations.notion.richtext import plain

# Property types a simple value can be written to; the rest (relation, people, files, formula,
# rollup, created_time…) need ids or are read-only.
WRITABLE_TYPES = frozenset(
    {
        *("title", "rich_text", "number", "select", "status", "multi_select", "date", "checkbox"),
        *("url", "email", "phone_number"),
    }
)


class PropertyError(ValueError):
    """A value cannot be written to the named property (unknown name, read-only type, wrong value)."""


def property_value(name: str, kind: str, value: Any) -> dict[str, Any]:
    """The page property value for ``value`` in a property of type ``kind``."""
    if kind not in WRITABLE_TYPES:
        raise PropertyError(f"property {name!r} has type {kind!r}, which cannot be set from a simple value")
    if kind in ("title", "rich_text"):
        return {kind: plain("" if value is None else str(value))}
    if kind == "checkbox":
        return {"checkbox": bool(value)}
    if value is None:
        return {kind: [] if kind == "multi_select" else None}
    if kind == "number":
        return {"number": _number(name, value)}
    if kind in ("select", "status"):
        return {kind: {"name": str(value).replace(",", " ")}}  # commas are not allowed in option names
    if kind == "multi_select":
        names = value.split(",") if isinstance(value, str) else list(value)
        return {"multi_select": [{"name": str(item).strip()} for item in names if str(item).strip()]}
    if kind == "date":
        start = value.isoformat() if isinstance(value, date | datetime) else str(value)
        return {"date": {"start": start}}
    return {kind: str(value)}  # url, email, phone_number


def page_properties(schema: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Page properties for ``values`` (name → simple value), checked against ``schema`` (name → type)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in schema:
            known = ", ".join(sorted(schema))
            raise PropertyError(f"the database has no property {name!r} (it has: {known})")
        out[name] = property_value(name, schema[name], value)
    return out


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, bool):
        raise PropertyError(f"property {name!r} is a number; got a boolean")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise PropertyError(f"property {name!r} is a number; got {value!r}") from exc
    if not number.is_finite():
        raise PropertyError(f"property {name!r} is a number; got {value!r}")
    if isinstance(value, float):
        return value
    return int(number) if number == number.to_integral_value() else float(number)
