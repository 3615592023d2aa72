"""SlackNotifier against a fake Slack Web API: posting, slack-sdk's retries, ok:false errors, dry run."""

from __future__ import annotations

import json
import socket

import pytest

from integrations.outbound import OutboundMessage, Sender
from integrations.slack import SlackNotifier, summary_blocks
from tests.integrations.slack.fake_slack import FakeSlack


def message(recipient: str = "C123", **payload: object) -> OutboundMessage:
    body = {"text": "Growth brief 2026-W48: MRR +4%", **payload}
    return OutboundMessage(
        idempotency_key="slack:growth_brief:2026-W48", channel="slack", recipient=recipient, payload=body
    )


def notifier(fake: FakeSlack, **kwargs: object) -> SlackNotifier:
    return SlackNotifier(fake.token, base_url=fake.base_url, **kwargs)  # type: ignore[arg-type]


def test_is_a_sender() -> None:
    sender: Sender = SlackNotifier(None)
    assert sender.channel == "slack"


def test_posts_text_and_blocks_and_returns_the_ts(fake_slack: FakeSlack) -> None:
    blocks = summary_blocks("Growth brief", ["*MRR:* R$ 120.000 (+4%)"], [("Notion", "https://notion.so/abc")])

    result = notifier(fake_slack).send(message(blocks=blocks))

    assert result.status == "sent"
    assert result.provider_id == "1503435957.000247"
    assert result.attempts == 1
    (request,) = fake_slack.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {fake_slack.token}"
    sent = json.loads(request.get_data())
    assert sent == {"channel": "C123", "text": "Growth brief 2026-W48: MRR +4%", "blocks": blocks}
    assert fake_slack.posted[0]["channel"] == "C123"


def test_payload_channel_overrides_the_recipient(fake_slack: FakeSlack) -> None:
    result = notifier(fake_slack).send(message(recipient="C999", channel="#finance"))

    assert result.status == "sent"
    assert fake_slack.posted[0]["channel"] == "C456"


def test_text_falls_back_to_the_blocks(fake_slack: FakeSlack) -> None:
    blocks = summary_blocks("DRE 2026-10", ["Receita líquida: R$ 1,2 mi"], [])

    result = notifier(fake_slack).send(message(text="", blocks=blocks))

    assert result.status == "sent"
    assert fake_slack.posted[0]["text"] == "DRE 2026-10\nReceita líquida: R$ 1,2 mi"


def test_429_waits_retry_after_then_posts_once(fake_slack: FakeSlack, sleeps: list[float]) -> None:
    fake_slack.fail_next(429, retry_after="3")

    result = notifier(fake_slack).send(message())

    assert result.status == "sent"
    assert result.attempts == 2
    assert sleeps == [3]
    assert len(fake_slack.requests) == 2
    assert len(fake_slack.posted) == 1


def test_a_429_storm_gives_up_as_retryable(fake_slack: FakeSlack, sleeps: list[float]) -> None:
    fake_slack.fail_next(*[429] * 5, retry_after="1")

    result = notifier(fake_slack, max_retries=2).send(message())

    assert result.status == "failed_retryable"
    assert result.error == "HTTP 429: ratelimited"
    assert result.attempts == 3
    assert sleeps == [1, 1]
    assert fake_slack.posted == []


def test_503_is_retried_by_the_server_error_handler(fake_slack: FakeSlack, sleeps: list[float]) -> None:
    fake_slack.fail_next(503)

    result = notifier(fake_slack).send(message())

    assert result.status == "sent"
    assert result.attempts == 2
    assert sleeps == [0.5]  # 0.5 × 2**0, jitter removed in the test


def test_retries_of_all_kinds_share_one_budget(fake_slack: FakeSlack, sleeps: list[float]) -> None:
    fake_slack.fail_next(429, 503, 429, retry_after="1")

    result = notifier(fake_slack, max_retries=2).send(message())

    assert result.status == "failed_retryable"
    assert result.attempts == 3
    assert fake_slack.posted == []


def test_502_is_not_retried_by_slack_sdk_but_reported_retryable(fake_slack: FakeSlack, sleeps: list[float]) -> None:
    fake_slack.fail_next(502)

    result = notifier(fake_slack).send(message())

    assert result.status == "failed_retryable"
    assert result.error == "HTTP 502"
    assert result.attempts == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("recipient", "token", "error"),
    [("C000", None, "channel_not_found"), ("C999", None, "not_in_channel"), ("C123", "xoxb-wrong", "invalid_auth")],
)
def test_ok_false_is_a_permanent_failure_with_slacks_error_code(
    fake_slack: FakeSlack, sleeps: list[float], recipient: str, token: str | None, error: str
) -> None:
    sender = SlackNotifier(token or fake_slack.token, base_url=fake_slack.base_url)

    result = sender.send(message(recipient=recipient))

    assert result.status == "failed_permanent"
    assert result.error == error
    assert result.attempts == 1
    assert len(fake_slack.requests) == 1
    assert sleeps == []


def test_blocks_over_slacks_limits_are_invalid_blocks(fake_slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51

    result = notifier(fake_slack).send(message(blocks=blocks))

    assert result.status == "failed_permanent"
    assert result.error == "invalid_blocks"


def test_unreachable_slack_is_retryable(sleeps: list[float]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SlackNotifier("xoxb-x", base_url=f"http://127.0.0.1:{port}/api/", max_retries=1)

    result = sender.send(message())

    assert result.status == "failed_retryable"
    assert result.error == "connection error: URLError"
    assert result.attempts == 2


@pytest.mark.parametrize(("token", "dry_run"), [(None, False), ("", False), ("xoxb-x", True)])
def test_dry_run_posts_nothing_and_renders_the_message(fake_slack: FakeSlack, token: str | None, dry_run: bool) -> None:
    blocks = summary_blocks("Growth brief", ["MRR: R$ 120.000"], [("Notion", "https://notion.so/abc")])
    sender = SlackNotifier(token, base_url=fake_slack.base_url, dry_run=dry_run)

    result = sender.send(message(blocks=blocks))

    assert sender.dry_run is True
    assert result.status == "dry_run"
    assert result.rendered is not None
    assert result.rendered.startswith("[C123] Growth brief 2026-W48: MRR +4%")
    assert "MRR: R$ 120.000" in result.rendered
    assert "<https://notion.so/abc|Notion>" in result.rendered
    assert fake_slack.requests == []


def test_no_channel_is_a_permanent_failure_without_a_request(fake_slack: FakeSlack) -> None:
    result = notifier(fake_slack).send(message(recipient=""))

    assert result.status == "failed_permanent"
    assert result.error is not None and "needs a channel" in result.error
    assert fake_slack.requests == []


def test_the_token_is_never_in_repr_or_results(fake_slack: FakeSlack) -> None:
    sender = notifier(fake_slack)
    result = sender.send(message(recipient="C000"))

    assert fake_slack.token not in repr(sender)
    assert fake_slack.token not in repr(result)
