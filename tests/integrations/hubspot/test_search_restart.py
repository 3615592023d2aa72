"""The search restart logic alone, with a tiny in-memory search and a small window (no HTTP)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.hubspot.errors import HubSpotSearchLimitError
from integrations.hubspot.paging import Page
from integrations.hubspot.search import SearchRequest, iter_search_pages, parse_hubspot_timestamp
from tests.integrations.hubspot.conftest import decoded
from tests.integrations.hubspot.fake_hubspot import iso_ms


def body(page: dict[str, Any]) -> Page:
    return Page(json.dumps(page).encode(), "search")


BASE_MS = 1_714_600_000_000


class WindowedSearch:
    """Sorts ascending, ties in reverse id order, refuses offsets past ``cap`` like HubSpot does."""

    def __init__(self, stamps: dict[str, int], cap: int) -> None:
        self.stamps = stamps
        self.cap = cap
        self.requests: list[SearchRequest] = []

    def __call__(self, request: SearchRequest) -> Page:
        self.requests.append(request)
        offset = int(request.after or 0)
        assert offset + request.limit <= self.cap, "client paged past the window"
        keep = (lambda s: s > request.cursor_ms) if request.operator == "GT" else (lambda s: s >= request.cursor_ms)
        rows = sorted((rid for rid, s in self.stamps.items() if keep(s)), key=lambda rid: -int(rid))
        rows.sort(key=lambda rid: self.stamps[rid])
        chunk = rows[offset : offset + request.limit]
        page: dict[str, Any] = {
            "total": len(rows),
            "results": [
                {"id": rid, "properties": {"lastmodifieddate": iso_ms(self.stamps[rid])}, "updatedAt": ""}
                for rid in chunk
            ],
        }
        if offset + request.limit < len(rows):
            page["paging"] = {"next": {"after": str(offset + request.limit)}}
        return body(page)


def _run(search: WindowedSearch, cap: int, limit: int = 10) -> Counter[str]:
    after = datetime.fromtimestamp(BASE_MS / 1000, tz=UTC)
    pages = iter_search_pages(search, "contacts", ["email"], after, limit=limit, result_cap=cap)
    return Counter(r["id"] for page in decoded(pages) for r in page["results"])


def test_restarts_repeatedly_and_yields_each_record_once() -> None:
    stamps = {str(n): BASE_MS + 1 + n // 7 for n in range(1, 200)}  # groups of 7 sharing a timestamp
    search = WindowedSearch(stamps, cap=50)

    seen = _run(search, cap=50)

    assert set(seen) == set(stamps)
    assert max(seen.values()) == 1
    restarts = [r for r in search.requests if r.operator == "GTE" and r.after is None]
    assert len(restarts) >= 3


def test_a_whole_window_sharing_one_timestamp_raises_instead_of_looping() -> None:
    stamps = {str(n): BASE_MS + 5 for n in range(1, 80)}
    search = WindowedSearch(stamps, cap=30)

    with pytest.raises(HubSpotSearchLimitError, match="list_pages"):
        _run(search, cap=30)
    assert len(search.requests) < 10


def test_a_record_modified_again_after_the_restart_is_not_dropped() -> None:
    stamps = {str(n): BASE_MS + n for n in range(1, 41)}
    search = WindowedSearch(stamps, cap=20)
    original = search.__call__

    def post(request: SearchRequest) -> Page:
        if request.operator == "GTE" and request.after is None:
            stamps["20"] = BASE_MS + 1000  # record 20 (yielded at the window edge) changes again
        return original(request)

    after = datetime.fromtimestamp(BASE_MS / 1000, tz=UTC)
    pages = decoded(iter_search_pages(post, "contacts", [], after, limit=10, result_cap=20))
    seen = Counter(r["id"] for p in pages for r in p["results"])

    assert seen["20"] == 2  # old version, then the newer one
    assert set(seen) == set(stamps)


def test_opaque_after_cursor_is_never_treated_as_an_offset() -> None:
    calls: list[SearchRequest] = []

    def post(request: SearchRequest) -> Page:
        calls.append(request)
        if request.after is None:
            return body({"results": [], "paging": {"next": {"after": "Y3Vyc29y"}}})
        return body({"results": []})

    list(iter_search_pages(post, "deals", [], datetime(2024, 1, 1, tzinfo=UTC), result_cap=1))
    assert [c.after for c in calls] == [None, "Y3Vyc29y"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T21:46:40.123Z", BASE_MS + 123),
        ("2024-05-01T21:46:40Z", BASE_MS),
        ("1714600000000", BASE_MS),
        ("not a date", None),
        (None, None),
    ],
)
def test_hubspot_timestamps_parse_to_epoch_ms(text: str | None, expected: int | None) -> None:
    assert parse_hubspot_timestamp(text) == expected
