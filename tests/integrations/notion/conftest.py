"""Fixtures: a fake Notion behind pytest-httpserver and publishers whose retry sleeps are recorded, not slept."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytest_httpserver import HTTPServer

from integrations.notion import NotionPublisher
from tests.integrations.notion.fake_notion import FakeNotion


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fake_notion(httpserver: HTTPServer) -> Iterator[FakeNotion]:
    yield FakeNotion(httpserver).install()
    httpserver.check_handler_errors()  # a bug in the fake must not pass as a Notion error


@pytest.fixture
def make_publisher(fake_notion: FakeNotion, sleeps: list[float]) -> Iterator[Callable[..., NotionPublisher]]:
    publishers: list[NotionPublisher] = []

    def build(**kwargs: object) -> NotionPublisher:
        options: dict[str, object] = {"base_url": fake_notion.base_url, "sleep": sleeps.append}
        options.update(kwargs)
        publisher = NotionPublisher(fake_notion.token, fake_notion.database_id, **options)  # type: ignore[arg-type]
        publishers.append(publisher)
        return publisher

    yield build
    for publisher in publishers:
        publisher.close()
