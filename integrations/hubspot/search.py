"""Incremental pulls through the CRM search API, including its 10,000-result window.

Transport-free on purpose: :func:`iter_search_pages` takes a ``post(request) -> Page`` callable,
so the restart logic is tested without HTTP and the real client only adds the SDK call.

HubSpot search pages with an offset (``paging.next.after`` is "100", "200", …) and refuses to go
past 10,000 results for one query. Because we sort ascending by the modified timestamp, passing
the window is handled by restarting the query from the last timestamp seen:

* the restart uses ``GTE`` (not ``GT``) so records sharing that last timestamp which fell just
  past the window are not lost, and drops the ids it already yielded at that timestamp;
* if a whole window shares one timestamp the cursor cannot move; that raises
  :class:`HubSpotSearchLimitError` instead of looping forever — do a full ``list_pages`` sync.

Two caveats for whoever stores the cursor: search is eventually consistent (a record modified a
few seconds ago may not be indexed yet), and offset paging can skip a record when another one is
modified mid-pull and jumps to the end of the sort. Persist a cursor with a look-back overlap
(e.g. re-pull the last few minutes) and rely on the loader's merge on ``id`` to absorb duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from integrations.hubspot.errors import HubSpotSearchLimitError
from integrations.hubspot.paging import Page, after_of, decode_page
from integrations.hubspot.properties import MODIFIED_PROPERTY, ObjectType, check_object_type

SEARCH_RESULT_CAP = 10_000
SEARCH_PAGE_LIMIT = 100  # the search API maximum

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SearchRequest:
    """One search call: ``modified_property <operator> cursor``, sorted ascending by it, one page."""

    modified_property: str
    operator: Literal["GT", "GTE"]
    cursor_ms: int
    properties: tuple[str, ...]
    limit: int = SEARCH_PAGE_LIMIT
    after: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The request body exactly as HubSpot documents it (what goes over the wire)."""
        body: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": self.modified_property,
                            "operator": self.operator,
                            "value": str(self.cursor_ms),
                        }
                    ]
                }
            ],
            "sorts": [{"propertyName": self.modified_property, "direction": "ASCENDING"}],
            "properties": list(self.properties),
            "limit": self.limit,
        }
        if self.after is not None:
            body["after"] = self.after
        return body


def to_epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds, the format search filters expect for date-time properties.

    Naive datetimes are rejected: in a Brazil-based business "midnight" without a zone is a
    three-hour bug waiting to happen.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"modified_after must be timezone-aware, got naive {moment!r}")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def parse_hubspot_timestamp(value: object) -> int | None:
    """Epoch ms from a HubSpot timestamp (ISO-8601 like ``2024-01-05T10:00:00.123Z`` or epoch-ms digits)."""
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return to_epoch_ms(parsed)


def record_modified_ms(record: dict[str, Any], modified_property: str) -> int | None:
    """The record's modification time: the modified property, else the top-level ``updatedAt``."""
    properties = record.get("properties")
    if isinstance(properties, dict):
        stamp = parse_hubspot_timestamp(properties.get(modified_property))
        if stamp is not None:
            return stamp
    return parse_hubspot_timestamp(record.get("updatedAt"))


def search_properties(object_type: ObjectType, properties: Sequence[str]) -> tuple[str, ...]:
    """Requested properties plus the modified property, which the cursor needs."""
    modified = MODIFIED_PROPERTY[object_type]
    return tuple(properties) if modified in properties else (*properties, modified)


def _passes_window(after: str, limit: int, result_cap: int) -> bool:
    """Would requesting this offset break the result cap? Non-numeric cursors are never capped."""
    return after.isdigit() and int(after) + limit > result_cap


def _already_yielded(record: object, ids: set[str], modified_property: str, cursor: int) -> bool:
    """Seen before the restart *and* unchanged since — a newer version of the record must pass."""
    if not isinstance(record, dict) or str(record.get("id")) not in ids:
        return False
    stamp = record_modified_ms(record, modified_property)
    return stamp is None or stamp <= cursor


def iter_search_pages(
    post: Callable[[SearchRequest], Page],
    object_type: ObjectType,
    properties: Sequence[str],
    modified_after: datetime,
    limit: int = SEARCH_PAGE_LIMIT,
    result_cap: int = SEARCH_RESULT_CAP,
) -> Iterator[Page]:
    """Yield search response bodies for records modified after ``modified_after``, oldest first.

    Pages are HubSpot's bodies unchanged, except right after a window restart, where records
    already yielded are removed from ``results`` (same shape, fewer results). Each body is decoded
    here, because the restart logic needs the records' timestamps; a body that is not a page raises
    :class:`HubSpotPageError`.
    """
    object_type = check_object_type(object_type)
    modified_property = MODIFIED_PROPERTY[object_type]
    wanted = search_properties(object_type, properties)
    cursor = to_epoch_ms(modified_after)
    operator: Literal["GT", "GTE"] = "GT"
    after: str | None = None
    already_yielded: set[str] = set()  # ids at the restart cursor, dropped from the restarted query
    max_seen: int | None = None
    ids_at_max: set[str] = set()

    while True:
        raw = post(SearchRequest(modified_property, operator, cursor, wanted, limit, after))
        page = decode_page(raw)
        results = page["results"]
        if already_yielded:
            kept = [r for r in results if not _already_yielded(r, already_yielded, modified_property, cursor)]
            if len(kept) != len(results):
                raw = raw._replace(body=json.dumps({**page, "results": kept}, ensure_ascii=False).encode())
            results = kept
        for record in results:
            stamp = record_modified_ms(record, modified_property)
            if stamp is None:
                continue
            if max_seen is None or stamp > max_seen:
                max_seen, ids_at_max = stamp, {str(record.get("id"))}
            elif stamp == max_seen:
                ids_at_max.add(str(record.get("id")))
        yield raw

        after = after_of(page)
        if after is None:
            return
        if _passes_window(after, limit, result_cap):
            if max_seen is None or (operator == "GTE" and max_seen <= cursor):
                raise HubSpotSearchLimitError(
                    f"HubSpot {object_type} search: more than {result_cap} records share "
                    f"{modified_property}={max_seen}; the cursor cannot advance — run a full list_pages sync"
                )
            cursor, operator, after = max_seen, "GTE", None
            already_yielded = set(ids_at_max)
