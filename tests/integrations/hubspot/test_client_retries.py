"""Retries below the SDK (urllib3 ``Retry``): 429 + Retry-After, 5xx backoff, giving up clearly, call counting."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from integrations.hubspot import HubSpotApiError, HubSpotClient
from tests.integrations.hubspot.conftest import decoded
from tests.integrations.hubspot.fake_hubspot import FakeHubSpot


def test_429_honours_retry_after_then_succeeds(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    fake_hubspot.fail_next(429, retry_after="1")
    client = make_client()

    pages = decoded(client.list_pages("contacts", ["email"]))

    assert sum(len(p["results"]) for p in pages) == 250
    assert sleeps == [1]
    assert client.calls == len(fake_hubspot.requests) == 4
    assert client.retries == 1
    # the retried request is the same request (same cursor)
    assert fake_hubspot.requests[0].query_string == fake_hubspot.requests[1].query_string


def test_retry_after_really_waits_with_the_default_sleep(fake_hubspot: FakeHubSpot) -> None:
    fake_hubspot.fail_next(429, retry_after="1")
    client = HubSpotClient(fake_hubspot.token, host=fake_hubspot.host)

    started = time.monotonic()
    next(client.list_pages("contacts", ["email"]))

    assert time.monotonic() - started >= 0.95
    assert client.calls == 2


def test_a_storm_of_429s_then_success(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    fake_hubspot.fail_next(429, 429, 429, 429, retry_after="2")
    client = make_client(max_retries=5)

    page = decoded([next(client.list_pages("contacts", ["email"]))])[0]

    assert len(page["results"]) == 100
    assert sleeps == [2, 2, 2, 2]
    assert client.calls == len(fake_hubspot.requests) == 5


def test_429_without_retry_after_falls_back_to_exponential_backoff(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    fake_hubspot.fail_next(429, 429, 429)
    client = make_client(backoff_factor=0.5)

    next(client.list_pages("contacts", ["email"]))

    assert sleeps == [0.5, 1.0, 2.0]


def test_5xx_is_retried_with_exponential_backoff(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    fake_hubspot.fail_next(500, 503, 502, 504)
    client = make_client(backoff_factor=0.25)

    page = decoded([next(client.list_pages("contacts", ["email"]))])[0]

    assert len(page["results"]) == 100
    assert sleeps == [0.25, 0.5, 1.0, 2.0]
    assert client.calls == len(fake_hubspot.requests) == 5


def test_search_post_is_retried_too(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    fake_hubspot.fail_next(429, retry_after="1")
    fake_hubspot.fail_next(503)
    client = make_client()

    pages = decoded(client.search_pages("contacts", ["email"], datetime(2024, 1, 1, tzinfo=UTC)))

    assert sum(len(p["results"]) for p in pages) == 250
    assert sleeps == [1, 1.0]  # Retry-After, then second consecutive error: 2 × 0.5
    bodies = [json.loads(r.get_data()) for r in fake_hubspot.requests]
    assert bodies[0] == bodies[1] == bodies[2]  # same body re-sent
    assert client.calls == len(fake_hubspot.requests) == 5


def test_persistent_500_gives_up_with_endpoint_and_status(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient], sleeps: list[float]
) -> None:
    fake_hubspot.fail_next(*[500] * 10)
    client = make_client(max_retries=3, backoff_factor=0.1)

    with pytest.raises(HubSpotApiError) as caught:
        list(client.list_pages("contacts", ["email"]))

    error = caught.value
    assert error.status == 500
    assert error.attempts == 4
    assert error.endpoint == "GET /crm/v3/objects/contacts"
    assert "GET /crm/v3/objects/contacts" in str(error)
    assert "HTTP 500" in str(error)
    assert "INTERNAL_ERROR: injected failure" in str(error)
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])
    assert client.calls == len(fake_hubspot.requests) == 4


def test_persistent_429_on_search_names_the_search_endpoint(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    fake_hubspot.fail_next(*[429] * 3, retry_after="1")
    client = make_client(max_retries=2)

    with pytest.raises(HubSpotApiError, match=r"POST /crm/v3/objects/deals/search .*HTTP 429"):
        list(client.search_pages("deals", ["dealname"], datetime(2024, 1, 1, tzinfo=UTC)))
    assert client.calls == len(fake_hubspot.requests) == 3


def test_calls_keep_counting_across_successes_and_failures(
    fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    client = make_client(max_retries=1)
    list(client.list_pages("contacts", ["email"]))  # 3
    fake_hubspot.fail_next(500, 500)
    with pytest.raises(HubSpotApiError):
        list(client.list_pages("deals", ["dealname"]))  # 2
    list(client.list_pages("deals", ["dealname"]))  # 2

    assert client.calls == len(fake_hubspot.requests) == 7


def test_unreachable_host_gives_up_with_no_http_status(sleeps: list[float]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HubSpotClient("tok", host=f"http://127.0.0.1:{port}", max_retries=2, sleep=sleeps.append)

    with pytest.raises(HubSpotApiError) as caught:
        list(client.list_pages("contacts", ["email"]))

    assert caught.value.status is None
    assert caught.value.attempts == 3
    assert "no HTTP response" in str(caught.value)
    assert client.calls == 3
