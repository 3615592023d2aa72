"""Fixtures: a fake HubSpot behind pytest-httpserver and clients whose retry sleeps are recorded, not slept."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.paging import Page
from tests.integrations.hubspot.fake_hubspot import FakeHubSpot, make_contact, make_deal

BASE_MS = 1_714_600_000_000  # 2024-05-01T21:46:40Z


def decoded(pages: Iterable[Page]) -> list[dict[str, Any]]:
    """The bodies a source yielded, decoded, to compare with what the fake sent."""
    return [json.loads(page.body) for page in pages]


@pytest.fixture
def sleeps() -> list[float]:
    """Every sleep the retry policy asked for, in order."""
    return []


@pytest.fixture
def fake_hubspot(httpserver: HTTPServer) -> FakeHubSpot:
    """250 contacts (3 list pages) and 120 deals, the first 100 tied to a contact."""
    contacts = [make_contact(n, BASE_MS + n * 1000) for n in range(1, 251)]
    deals = [make_deal(5000 + n, BASE_MS + n * 1000, [str(n)] if n <= 100 else []) for n in range(1, 121)]
    return FakeHubSpot(httpserver, {"contacts": contacts, "deals": deals}).install()


@pytest.fixture
def make_client(fake_hubspot: FakeHubSpot, sleeps: list[float]) -> Iterator[Callable[..., HubSpotClient]]:
    """Build clients pointed at the fake, with the sleep recorded so retry tests take no wall time."""
    clients: list[HubSpotClient] = []

    def build(**kwargs: object) -> HubSpotClient:
        options: dict[str, object] = {"access_token": fake_hubspot.token, "host": fake_hubspot.host}
        options["sleep"] = sleeps.append
        options.update(kwargs)
        client = HubSpotClient(**options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
