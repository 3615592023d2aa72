"""Fixtures: a fake Slack behind pytest-httpserver; slack-sdk's retry sleeps recorded instead of slept."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import slack_sdk.http_retry.builtin_handlers as builtin_handlers
import slack_sdk.http_retry.handler as base_handler
import slack_sdk.http_retry.jitter as jitter
from pytest_httpserver import HTTPServer

from tests.integrations.slack.fake_slack import FakeSlack


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """slack-sdk's handlers call ``time.sleep`` (plus ``random()`` jitter on 429): both replaced here."""
    recorded: list[float] = []
    fake_time = SimpleNamespace(sleep=recorded.append)
    monkeypatch.setattr(builtin_handlers, "time", fake_time)
    monkeypatch.setattr(base_handler, "time", fake_time)
    no_jitter = SimpleNamespace(random=lambda: 0.0)
    monkeypatch.setattr(builtin_handlers, "random", no_jitter)
    monkeypatch.setattr(jitter, "random", no_jitter)
    return recorded


@pytest.fixture
def fake_slack(httpserver: HTTPServer, sleeps: list[float]) -> Iterator[FakeSlack]:
    yield FakeSlack(httpserver).install()
    httpserver.check_handler_errors()
