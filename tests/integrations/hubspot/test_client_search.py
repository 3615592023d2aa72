"""Incremental pulls through the real SDK's search API, including the 10,000-result window."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.hubspot import HubSpotClient, default_properties
from tests.integrations.hubspot.conftest import BASE_MS, decoded
from tests.integrations.hubspot.fake_hubspot import FakeHubSpot, epoch_ms, make_contact


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_search_sends_documented_body_and_returns_only_newer_records(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    client = make_client()
    properties = default_properties("contacts")
    cursor_ms = BASE_MS + 80 * 1000  # contacts 81..250 are newer

    pages = decoded(client.search_pages("contacts", properties, _at(cursor_ms)))

    ids = [r["id"] for page in pages for r in page["results"]]
    assert ids == [str(n) for n in range(81, 251)]
    assert all(epoch_ms(r["properties"]["lastmodifieddate"]) > cursor_ms for page in pages for r in page["results"])
    bodies = [json.loads(r.get_data()) for r in fake_hubspot.requests]
    assert bodies[0] == {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": str(cursor_ms)}]}
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": properties,
        "limit": 100,
    }
    assert [b.get("after") for b in bodies] == [None, "100"]
    assert all(r.method == "POST" and r.path == "/crm/v3/objects/contacts/search" for r in fake_hubspot.requests)
    assert all(r.headers["Authorization"] == f"Bearer {fake_hubspot.token}" for r in fake_hubspot.requests)
    assert client.calls == 2


def test_deal_search_filters_on_hs_lastmodifieddate_and_adds_it_to_properties(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    client = make_client()

    pages = decoded(client.search_pages("deals", ["dealname"], _at(BASE_MS + 110 * 1000)))

    body = json.loads(fake_hubspot.requests[0].get_data())
    assert body["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"
    assert body["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert body["properties"] == ["dealname", "hs_lastmodifieddate"]
    assert [r["id"] for r in pages[0]["results"]] == [str(5000 + n) for n in range(111, 121)]


def test_nothing_newer_is_one_call_and_one_empty_page(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    client = make_client()

    pages = decoded(client.search_pages("contacts", ["email"], _at(BASE_MS + 10_000_000)))

    assert pages == [{"total": 0, "results": []}]
    assert client.calls == 1


def test_naive_cursor_is_rejected(make_client: Callable[..., HubSpotClient]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(make_client().search_pages("contacts", ["email"], datetime(2024, 5, 1)))


def test_search_restarts_past_the_10000_result_window_without_losing_or_repeating(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    """10,250 newer contacts; the 10,000th sits inside a group of 40 sharing one timestamp."""
    tie_ms = BASE_MS + 9_980 * 1000
    contacts = []
    for n in range(1, 10_251):
        modified = tie_ms if 9_981 <= n <= 10_020 else BASE_MS + n * 1000
        contacts.append(make_contact(n, modified))
    fake_hubspot.records["contacts"] = contacts
    client = make_client()

    pages = decoded(client.search_pages("contacts", ["email"], _at(BASE_MS)))

    ids = Counter(r["id"] for page in pages for r in page["results"])
    assert len(ids) == 10_250
    assert max(ids.values()) == 1
    bodies = [json.loads(r.get_data()) for r in fake_hubspot.requests]
    assert max(int(b.get("after", 0)) for b in bodies) == 9_900  # never asked HubSpot past the window
    restart = bodies[100]
    assert "after" not in restart
    assert restart["filterGroups"][0]["filters"][0] == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": str(tie_ms),
    }
    assert client.calls == len(fake_hubspot.requests) == 100 + 3  # 10,000 + (40 tied + 230 newer re-queried)


def test_modified_after_is_converted_to_epoch_ms_exactly(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    sao_paulo = timezone(timedelta(hours=-3))
    list(make_client().search_pages("contacts", ["email"], datetime(2024, 5, 1, 15, 46, 40, 123000, tzinfo=sao_paulo)))
    value = json.loads(fake_hubspot.requests[0].get_data())["filterGroups"][0]["filters"][0]["value"]
    expected_seconds = int(datetime(2024, 5, 1, 18, 46, 40, tzinfo=UTC).timestamp())
    assert value == str(expected_seconds * 1000 + 123)
