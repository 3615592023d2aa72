"""Flatten batches of HubSpot page bodies in DuckDB, as a view that ``raw_hubspot.*`` loads read once.

One function for pages from the API and from the demo files. Page bodies are written, untouched, one
per line to a file (:class:`PageFile`) and DuckDB's ``read_json`` flattens the whole batch at once:
a column per requested property, values kept as the strings HubSpot sends (typing and validation
belong to the loader, which can quarantine a bad value instead of crashing here). Properties present
but not requested go to ``properties_json`` so a new CRM field never breaks a load and is never
silently lost. Decoding the bodies in Python and flattening dicts took ~60 % of the load before.

The view is not materialized: whoever reads it (validation) reads the file. A line that is not a
HubSpot page (truncated, garbage, wrong shape) makes that read fail; only then are the batch's pages
decoded one by one to find it, and it is left out and reported while the read runs again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from integrations.hubspot.errors import HubSpotPageError
from integrations.hubspot.paging import Page, decode_page
from integrations.hubspot.properties import ObjectType, check_object_type, default_properties

SYSTEM_COLUMNS: tuple[str, ...] = ("id", "created_at", "updated_at", "archived")
ASSOCIATION_COLUMNS: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("associations_json",),
    "deals": ("associated_contact_id", "associations_json"),
}
EXTRA_PROPERTIES_COLUMN = "properties_json"
MAX_PAGE_BYTES = 16 << 20  # read_json's per-line limit (it also sizes its buffers); a page of 100 records is < 1 MB

# What is read of a page. Properties and associations stay JSON text, parsed once more below, so no
# property value can fail the read; unknown keys anywhere are ignored.
_RECORD = "STRUCT(id VARCHAR, createdAt VARCHAR, updatedAt VARCHAR, archived JSON, properties JSON, associations JSON)"


T = TypeVar("T")


class PageFile:
    """Page bodies written one per line, the input ``read_json`` takes, with each page's origin for messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.origins: list[str] = []
        self.size = 0
        self._handle = path.open("wb")

    def add(self, page: Page) -> None:
        body = page.body
        if body.find(b"\n") != len(body) - 1:
            # JSON allows no raw line break inside a string, so breaks are whitespace: a pretty-printed
            # body becomes one line meaning the same
            body = body.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n"
        self._handle.write(body)
        self.origins.append(page.origin)
        self.size += len(body)

    def close(self) -> None:
        self._handle.close()

    def pages(self) -> Iterator[Page]:
        with self.path.open("rb") as lines:
            for origin, line in zip(self.origins, lines, strict=True):
                yield Page(line, origin)

    def without(self, origins: set[str]) -> PageFile:
        """A copy (next to this file) leaving out the pages from ``origins``."""
        kept = PageFile(self.path.with_suffix(f".{len(origins)}.jsonl"))
        for page in self.pages():
            if page.origin not in origins:
                kept.add(page)
        kept.close()
        return kept


def read_pages(
    con: duckdb.DuckDBPyConnection,
    pages: PageFile,
    object_type: ObjectType,
    properties: Sequence[str] | None,
    view: str,
    consume: Callable[[str], T],
) -> tuple[T, list[HubSpotPageError]]:
    """``consume(view)`` with temp view ``view`` on ``con`` holding one row per record of ``pages``, in order.

    Columns: ``id``, ``created_at``,
    ``updated_at`` (HubSpot's strings), ``archived`` (boolean; anything but a JSON boolean is null),
    one text column per requested property (a non-string value as its JSON text), the association
    columns of the object type, and ``properties_json``. ``consume`` must read the view once, before
    it changes anything: when the read fails on pages that are not HubSpot pages, they are left out
    and ``consume`` runs again. Returns its result and the pages left out.
    """
    names = _property_names(check_object_type(object_type), properties)
    broken: list[HubSpotPageError] = []
    while True:
        con.execute(f"create or replace temp view {view} as {_flatten_sql(object_type, names, pages.path)}")
        try:
            return consume(view), broken
        except duckdb.InvalidInputException:
            errors = []
            for page in pages.pages():
                try:
                    decode_page(page)
                except HubSpotPageError as exc:
                    errors.append(exc)
            if not errors:
                raise
        broken += errors
        pages = pages.without({error.origin for error in errors})


def _flatten_sql(object_type: ObjectType, names: list[str], path: Path) -> str:
    requested = ", ".join("'" + name.replace("'", "''") + "'" for name in names)
    columns = [
        "id",
        "createdAt as created_at",
        "updatedAt as updated_at",
        "case archived::varchar when 'true' then true when 'false' then false end as archived",
        *(f"p.{_q(name)} as {_q(name)}" for name in names),
    ]
    if object_type == "deals":
        columns.append("json_extract_string(associations, '$.contacts.results[0].id') as associated_contact_id")
    columns += [
        "case when associations::varchar not in ('{}', 'null') then associations::varchar end as associations_json",
        # more keys than requested values: only then (rarely) list the keys nobody asked for
        f"case when len(json_keys(properties)) > {' + '.join(f'(p.{_q(n)} is not null)::int' for n in names) or '0'} "
        f"then {_extras_json(requested)} end as {EXTRA_PROPERTIES_COLUMN}",
    ]
    typed = json.dumps(dict.fromkeys(names, "VARCHAR")).replace("'", "''")
    # a page without its results list, or with a null record, fails the read like malformed JSON does
    results = (
        "case when page.results is null or list_count(page.results) <> len(page.results) "
        "then error('not a HubSpot page') else page.results end"
    )
    return f"""
        select {", ".join(columns)}
        from (
            select *, {f"json_transform(properties, '{typed}')" if names else "null"} as p
            from (
                select unnest({results}, max_depth := 2)
                from read_json('{str(path).replace("'", "''")}', format = 'newline_delimited', records = false,
                               columns = {{'page': 'STRUCT(results {_RECORD}[])'}},
                               maximum_object_size = {MAX_PAGE_BYTES})
            )
        )
    """


def _extras_json(requested: str) -> str:
    """``properties`` without the requested keys, as JSON text, or null when nothing is left."""
    unrequested = f"k not in ({requested})" if requested else "true"
    keys = f"list_filter(json_keys(properties), lambda k: {unrequested})"
    value = "json_extract(properties, '$.\"' || replace(k, '\"', '\\\"') || '\"')"
    pairs = f"list_transform({keys}, lambda k: struct_pack(k := k, v := {value}))"
    return f"nullif(to_json(map_from_entries({pairs}))::varchar, '{{}}')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _property_names(object_type: ObjectType, properties: Sequence[str] | None) -> list[str]:
    names = list(dict.fromkeys(default_properties(object_type) if properties is None else properties))
    reserved = {*SYSTEM_COLUMNS, *ASSOCIATION_COLUMNS[object_type], EXTRA_PROPERTIES_COLUMN}
    clashes = sorted(reserved.intersection(names))
    if clashes:
        raise ValueError(f"property names {clashes} clash with reserved column names")
    return names
