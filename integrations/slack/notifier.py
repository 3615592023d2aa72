"""Post one message to a Slack channel with ``chat.postMessage``, on slack-sdk's ``WebClient``.

Retries are slack-sdk's own retry handlers: ``RateLimitErrorRetryHandler`` (HTTP 429, waits
``Retry-After`` plus up to a second of jitter), ``ServerErrorRetryHandler`` (HTTP 500 and 503 only,
exponential backoff) and ``ConnectionErrorRetryHandler``. The handlers of one call share a single
retry count, so ``max_retries`` bounds all retries of a message together. A 500 may come after
Slack posted the message (``chat.postMessage`` has no idempotency key), so a retried 500 can
duplicate a message; 503 and 429 cannot.

Results: ``ok: true`` → ``sent`` with the message ``ts`` as provider id; ``ok: false`` with an error
such as ``channel_not_found``, ``not_in_channel``, ``invalid_auth``, ``invalid_blocks`` →
``failed_permanent`` with that code; a 429/5xx still failing after the retries, Slack's own
transient errors (``ratelimited``, ``internal_error``, ``fatal_error``, ``service_unavailable``,
``request_timeout``), timeouts and connection errors → ``failed_retryable``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from integrations.closing import Closing
from integrations.outbound import Channel, OutboundMessage, SendResult, SendStatus
from integrations.slack.blocks import blocks_text

logger = logging.getLogger(__name__)

_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,80}")
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


@dataclass
class _RetryCount:
    retries: int = 0


class _Counting(RetryHandler):
    """Mixin: counts the retries a handler grants, so ``SendResult.attempts`` is true."""

    def __init__(self, count: _RetryCount, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count

    def prepare_for_next_attempt(self, **kwargs: Any) -> None:
        self.count.retries += 1
        super().prepare_for_next_attempt(**kwargs)


class _RateLimitHandler(_Counting, RateLimitErrorRetryHandler):
    pass


class _ServerErrorHandler(_Counting, ServerErrorRetryHandler):
    pass


class _ConnectionErrorHandler(_Counting, ConnectionErrorRetryHandler):
    pass


class SlackNotifier(Closing):
    """:class:`~integrations.outbound.Sender` for Slack.

    ``payload``: ``text`` (the notification / fallback text; derived from ``blocks`` when absent),
    optional ``blocks`` (Block Kit, e.g. from :func:`~integrations.slack.blocks.summary_blocks`) and
    optional ``channel`` overriding ``message.recipient`` (a channel id such as ``C0123ABCD`` or a
    ``#name``). Without a token, or with ``dry_run=True``, nothing is sent.
    """

    channel: Channel = "slack"

    def __init__(
        self,
        token: str | None,
        *,
        base_url: str | None = None,
        dry_run: bool = False,
        max_retries: int = 3,
        timeout: int = 30,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.dry_run = dry_run or not token
        self._count = _RetryCount()
        self._client: WebClient | None = None
        if not self.dry_run:
            handlers: list[RetryHandler] = [
                _RateLimitHandler(self._count, max_retry_count=max_retries),
                _ServerErrorHandler(self._count, max_retry_count=max_retries),
                _ConnectionErrorHandler(self._count, max_retry_count=max_retries),
            ]
            options: dict[str, Any] = {"token": token, "timeout": timeout, "retry_handlers": handlers}
            if base_url:
                options["base_url"] = base_url
            self._client = WebClient(**options)

    def __repr__(self) -> str:  # never show the token
        return f"SlackNotifier(dry_run={self.dry_run})"

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != self.channel:
            raise ValueError(f"SlackNotifier got a message for channel {message.channel!r}")
        payload = message.payload
        channel = str(payload.get("channel") or message.recipient or "")
        blocks = payload.get("blocks") or None
        if blocks is not None and not isinstance(blocks, Sequence):
            return SendResult("failed_permanent", error="payload: 'blocks' must be a list of blocks", attempts=0)
        text = str(payload.get("text") or (blocks_text(blocks) if blocks else ""))
        rendered = _rendered(channel, text, blocks)
        if not channel or not text:
            missing = "a channel (recipient or payload 'channel')" if not channel else "'text' or 'blocks'"
            return SendResult("failed_permanent", error=f"payload: needs {missing}", attempts=0, rendered=rendered)
        if self.dry_run or self._client is None:
            return SendResult("dry_run", rendered=rendered, attempts=0)

        before = self._count.retries
        try:
            response = self._client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            attempts = 1 + self._count.retries - before
            return self._failed(exc.response.status_code, exc.response.data, attempts, rendered)
        except OSError as exc:  # URLError, timeouts, resets: connection retries spent
            error = f"connection error: {type(exc).__name__}"
            attempts = 1 + self._count.retries - before
            return SendResult("failed_retryable", error=error, attempts=attempts, rendered=rendered)
        except SlackRequestError as exc:  # the SDK refused the request before sending it (a bug on our side)
            return SendResult("failed_permanent", error=f"request: {exc}", attempts=0, rendered=rendered)
        attempts = 1 + self._count.retries - before
        return SendResult("sent", provider_id=str(response.get("ts")), attempts=attempts, rendered=rendered)

    def close(self) -> None:
        """Nothing pooled to close (``WebClient`` opens one urllib connection per request)."""

    def _failed(self, status: int, data: Any, attempts: int, rendered: str) -> SendResult:
        code = str(data.get("error") or "") if isinstance(data, Mapping) else ""
        if not _ERROR_CODE.fullmatch(code):  # the SDK's note about a non-JSON body (a proxy's 502 page), not a code
            code = ""
        error = code or f"HTTP {status}"
        if status != 200 and code:
            error = f"HTTP {status}: {code}"
        retryable = status == 429 or status >= 500 or code in TRANSIENT_ERRORS
        logger.info("Slack chat.postMessage failed: %s (attempts: %d)", error, attempts)
        status_text: SendStatus = "failed_retryable" if retryable else "failed_permanent"
        return SendResult(status_text, error=error, attempts=attempts, rendered=rendered)


def _rendered(channel: str, text: str, blocks: Sequence[Mapping[str, Any]] | None) -> str:
    parts = [f"[{channel or '?'}] {text}"]
    if blocks:
        detail = blocks_text(blocks)
        if detail and detail != text:
            parts.append(detail)
    return "\n\n".join(parts)


__all__ = ["SlackNotifier"]
