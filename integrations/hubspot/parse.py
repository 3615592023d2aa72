"""Flatten batches of HubSpot page bodies into Arrow tables for ``raw_hubspot.*``.

One function for pages from the API and from the demo files. Column per requested property,
values kept as the strings HubSpot sends (typing and validation belong to the loader, which can
quarantine a bad value instead of crashing here). Properties present but not requested go to
``properties_json`` so a new CRM field never breaks a load and is never silently lost.

Speed: the work is a handful of list comprehensions over the ``results`` dicts (one C-level
loop per column) handed to ``pyarrow.array``; see ``bench_parse.py`` for the measurement against
a DuckDB ``read_json`` variant, which loses because the dicts would first have to be re-encoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from integrations.hubspot.properties import ObjectType, check_object_type, default_properties

SYSTEM_COLUMNS: tuple[str, ...] = ("id", "created_at", "updated_at", "archived")
ASSOCIATION_COLUMNS: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("associations_json",),
    "deals": ("associated_contact_id", "associations_json"),
}
EXTRA_PROPERTIES_COLUMN = "properties_json"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def schema_for(object_type: ObjectType, properties: Sequence[str] | None = None) -> pa.Schema:
    """The Arrow schema ``parse_pages`` produces (also what an empty batch gets)."""
    object_type = check_object_type(object_type)
    names = _property_names(object_type, properties)
    fields = [
        pa.field("id", pa.string()),
        pa.field("created_at", pa.string()),
        pa.field("updated_at", pa.string()),
        pa.field("archived", pa.bool_()),
        *(pa.field(name, pa.string()) for name in names),
        *(pa.field(name, pa.string()) for name in ASSOCIATION_COLUMNS[object_type]),
        pa.field(EXTRA_PROPERTIES_COLUMN, pa.string()),
    ]
    return pa.schema(fields)


def parse_pages(
    pages: Iterable[dict[str, Any]], object_type: ObjectType, properties: Sequence[str] | None = None
) -> pa.Table:
    """One row per record across ``pages`` (HubSpot list or search bodies); schema from :func:`schema_for`.

    Missing properties are null; non-string property values (only possible in hand-made files)
    are kept as their JSON text rather than rejected.
    """
    object_type = check_object_type(object_type)
    names = _property_names(object_type, properties)
    schema = schema_for(object_type, names)
    records = [record for page in pages for record in (page.get("results") or ())]
    for position, record in enumerate(records):  # cheap guard; the API never sends non-objects
        if type(record) is not dict:
            raise TypeError(f"HubSpot record #{position} is {type(record).__name__}, expected an object")
    props = [record.get("properties") or {} for record in records]
    if not all(type(values) is dict for values in props):
        props = [values if isinstance(values, dict) else {} for values in props]

    columns: dict[str, pa.Array] = {
        "id": _strings([record.get("id") for record in records]),
        "created_at": _strings([record.get("createdAt") for record in records]),
        "updated_at": _strings([record.get("updatedAt") for record in records]),
        "archived": _bools([record.get("archived") for record in records]),
    }
    for name in names:
        columns[name] = _strings([values.get(name) for values in props])

    associations = [record.get("associations") for record in records]
    if object_type == "deals":
        columns["associated_contact_id"] = _strings([_first_contact_id(value) for value in associations])
    columns["associations_json"] = _strings([_dumps(value) if value else None for value in associations])

    requested = frozenset(names)
    columns[EXTRA_PROPERTIES_COLUMN] = _strings(
        [None if requested.issuperset(values) else _dumps(_extras(values, requested)) for values in props]
    )
    return pa.Table.from_arrays([columns[field.name] for field in schema], schema=schema)


def _property_names(object_type: ObjectType, properties: Sequence[str] | None) -> list[str]:
    names = list(dict.fromkeys(default_properties(object_type) if properties is None else properties))
    reserved = {*SYSTEM_COLUMNS, *ASSOCIATION_COLUMNS[object_type], EXTRA_PROPERTIES_COLUMN}
    clashes = sorted(reserved.intersection(names))
    if clashes:
        raise ValueError(f"property names {clashes} clash with reserved column names")
    return names


def _strings(values: list[Any]) -> pa.Array:
    """Strings as-is; anything else (numbers, booleans in hand-made files) as JSON text."""
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([v if v is None or isinstance(v, str) else _dumps(v) for v in values], type=pa.string())


def _bools(values: list[Any]) -> pa.Array:
    """JSON booleans; anything else becomes null rather than a guess."""
    try:
        return pa.array(values, type=pa.bool_())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([v if isinstance(v, bool) else None for v in values], type=pa.bool_())


def _extras(values: dict[str, Any], requested: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in requested}


def _first_contact_id(associations: Any) -> Any:
    """``associations.contacts.results[0].id``, or None when the deal has no contact."""
    try:
        return associations["contacts"]["results"][0]["id"]
    except (TypeError, KeyError, IndexError):
        return None
