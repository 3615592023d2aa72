"""The contract between the outbox and every outbound channel (WhatsApp, e-mail, Slack, Notion, HubSpot).

The outbox (``orchestration/outbound/outbox.py``) owns idempotency, consent checks and the per-row log; a
channel only *delivers one message* and says what happened, in the shape below. Channels never
retry forever and never decide who receives what: the outbox hands them one :class:`OutboundMessage`
at a time (rate limiting and retries on 429/5xx happen inside the channel's ``send`` and are
reported in :class:`SendResult.attempts`).

``SendResult.status``:

* ``sent`` — the provider accepted it; ``provider_id`` is its id (WhatsApp ``wamid``, SMTP
  Message-ID, Slack ``ts``, Notion page id, HubSpot batch id);
* ``failed_permanent`` — the provider refused it for good (invalid number, template paused, 4xx other
  than 429): recorded, never retried;
* ``failed_retryable`` — still failing after the channel's own retries (429 storm, 5xx, timeout): a
  later run may try again;
* ``dry_run`` — nothing left the machine (no credentials, or ``CRO_OUTBOUND=dry_run``): the rendered
  message is in ``rendered`` for the readable file under ``data/outbox/``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Channel = Literal["whatsapp", "email", "slack", "notion", "hubspot"]
SendStatus = Literal["sent", "failed_permanent", "failed_retryable", "dry_run"]


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient on one channel, fully decided before it reaches a channel."""

    idempotency_key: str  # e.g. "campaign:<id>:<version>:<contact>:<channel>"
    channel: Channel
    recipient: str  # E.164 phone without '+' (WhatsApp wa_id), e-mail address, Slack channel, Notion database
    # WhatsApp: template name, language and body parameters; e-mail: subject and body; Slack: text and blocks;
    # Notion: title, key and markdown; HubSpot: contact id and properties.
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    provider_id: str | None = None
    error: str | None = None  # the provider's code and message, never a secret
    attempts: int = 1
    rendered: str | None = None  # what was (or would have been) sent, human-readable


class Sender(Protocol):
    """A channel: delivers one message, returns what happened. Raises only on programming errors."""

    channel: Channel
    dry_run: bool

    def send(self, message: OutboundMessage) -> SendResult: ...


def digest(content: str | dict[str, Any]) -> str:
    """12 hex characters of sha256 over text or a dict (sorted keys): the content part of an idempotency key."""
    text = content if isinstance(content, str) else json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


__all__ = ["Channel", "OutboundMessage", "SendResult", "SendStatus", "Sender", "digest"]
