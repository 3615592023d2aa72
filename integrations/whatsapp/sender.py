"""Send approved WhatsApp templates through the Cloud API, one message per call, paced and retried.

:class:`WhatsAppSender` is the WhatsApp :class:`~integrations.outbound.Sender`. The outbox hands it one
:class:`~integrations.outbound.OutboundMessage` at a time (from one thread or several) with::

    recipient = "5511987654321"                      # wa_id: E.164 digits, no '+'
    payload = {
        "template": "lembrete_renovacao",            # an approved template's name
        "language": "pt_BR",                         # optional, default pt_BR
        "body_parameters": ["Ana", "R$ 89,90"],      # fills {{1}}, {{2}}… of the body, in order
        "body": "Oi {{1}}, sua assinatura de {{2}} renova amanhã.",  # optional: the approved body text
        "biz_opaque_callback_data": "campaign=7;variant=A",  # optional: echoed back by the status webhooks
    }

and it POSTs ``{base_url}/{phone_number_id}/messages`` with the body the Cloud API documents for template
messages. ``body`` never leaves the machine: it renders the dry-run preview and lets both modes refuse a
message whose parameter count does not match the template's placeholders (Meta would answer 132000).

Pacing and retries (all waits go through the injectable ``sleep``/``clock``):

* **Throughput.** Every HTTP request, retries included, takes a token from one :class:`RateLimiter`
  shared by all sends (and threads) of the sender: ``messages_per_second`` (80/s, the Cloud API default
  per business number), no burst, so requests are spaced ``1/rate`` apart.
* **Retryable** (HTTP 429, 5xx, timeouts and connection errors, Graph codes in :data:`RETRYABLE_CODES`):
  wait and retry, at most ``max_retries`` times, then ``failed_retryable``. The wait is ``Retry-After``
  when the response has one (up to :data:`MAX_RETRY_AFTER_S`; a longer one ends the send at once as
  ``failed_retryable`` rather than block the run), otherwise ``1 s · 2**(retry-1)`` capped at 30 s;
  131056 (pair rate limit: about one message per 6 s to the same person) waits at least 6 s. No jitter:
  retries pass through the shared limiter, which already spreads concurrent senders out.
* **130429** (throughput exceeded, so our pacing was too optimistic) also halves the limiter's rate, down
  to 1 msg/s at most; the rate goes back to ``messages_per_second`` after :data:`SLOWDOWN_S` seconds
  without another 130429.
* **Permanent** (every other 4xx, notably the codes in :data:`PERMANENT_CODES`): ``failed_permanent`` at
  once, with Meta's code and message. 190 (token invalid or expired) says how to fix it.

A read timeout or a dropped connection after the request was written is ambiguous: Meta may have
accepted the message, and the Cloud API has no idempotency key, so a retry can deliver it twice.

The access token is sent only in the ``Authorization`` header; it never appears in a result, a log line
or ``repr``. Log lines mask phone numbers (:func:`~integrations.whatsapp.masking.mask_phone`).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from integrations.closing import Closing
from integrations.outbound import Channel, OutboundMessage, SendResult
from integrations.whatsapp.masking import mask_phone

logger = logging.getLogger(__name__)

GRAPH_BASE_URL = "https://graph.facebook.com/v21.0"
DEFAULT_LANGUAGE = "pt_BR"
DEFAULT_TIMEOUT_S = 30.0

THROUGHPUT_CODE = 130429  # "Rate limit hit": more messages per second than the number's throughput
PAIR_RATE_CODE = 131056  # "(Business Account, Consumer Account) pair rate limit hit"
TOKEN_CODE = 190  # "Access token has expired" / invalid OAuth access token

# Graph codes worth retrying in the same send (besides HTTP 429 and 5xx, whatever their code).
RETRYABLE_CODES: frozenset[int] = frozenset(
    {
        1,  # API Unknown (temporary)
        2,  # API Service: temporary downtime
        4,  # API Too Many Calls: the app's call rate limit
        80007,  # rate limit of the WhatsApp Business Account
        THROUGHPUT_CODE,
        131000,  # Something went wrong
        131016,  # Service unavailable
        PAIR_RATE_CODE,
        133004,  # Server temporarily unavailable
    }
)
# Refused for good; listed for the reader: any 4xx whose code is not retryable is permanent anyway.
PERMANENT_CODES: Mapping[int, str] = {
    100: "invalid parameter",
    TOKEN_CODE: "access token invalid or expired",
    131026: "message undeliverable",
    131047: "re-engagement message required (24-hour window closed)",
    131051: "unsupported message type",
    132000: "template parameter count mismatch",
    132001: "template does not exist",
    132015: "template paused",
    132016: "template disabled",
}

BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
PAIR_RATE_WAIT_S = 6.0
MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After ends the send as failed_retryable
SLOWDOWN_S = 60.0
MIN_RATE = 1.0

_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_DIGIT_RUN = re.compile(r"\d{8,15}")


class RateLimiter:
    """A thread-safe token bucket: ``rate`` tokens a second, holding at most ``burst`` (default 1: no bursts).

    :meth:`acquire` reserves the next token under a lock and sleeps outside it, so concurrent callers get
    distinct slots ``1/rate`` apart; a bucket that has been idle lets one request through at once. The
    debt model (tokens may go negative) means N back-to-back acquisitions span ``(N - burst) / rate``
    seconds. :meth:`slow_down` halves the rate (not below ``min_rate``) for ``slowdown_s`` seconds, after
    which the configured rate comes back.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        slowdown_s: float = SLOWDOWN_S,
        min_rate: float = MIN_RATE,
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of messages per second, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.base_rate = float(rate)
        self.burst = float(burst)
        self.slowdown_s = slowdown_s
        self.min_rate = min(float(min_rate), self.base_rate)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = self.base_rate
        self._tokens = self.burst
        self._updated = clock()
        self._slow_until: float | None = None

    @property
    def rate(self) -> float:
        """The current rate: ``base_rate``, or less while a slow-down lasts."""
        with self._lock:
            self._restore(self._clock())
            return self._rate

    def acquire(self) -> float:
        """Wait for a token; returns the seconds waited (0 when one was available)."""
        with self._lock:
            now = self._clock()
            self._restore(now)
            self._refill(now)
            self._tokens -= 1.0
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self) -> float:
        """Halve the current rate for ``slowdown_s`` seconds (restarting that period); returns the new rate."""
        with self._lock:
            now = self._clock()
            self._restore(now)
            self._refill(now)
            self._rate = max(self.min_rate, self._rate / 2)
            self._slow_until = now + self.slowdown_s
            return self._rate

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self._rate)
        self._updated = max(self._updated, now)

    def _restore(self, now: float) -> None:
        if self._slow_until is not None and now >= self._slow_until:
            self._refill(self._slow_until)  # tokens earned at the slow rate up to the end of the slow-down
            self._rate = self.base_rate
            self._slow_until = None


class InvalidMessage(ValueError):
    """The message cannot become a valid template request (bad recipient, payload or parameter count)."""


@dataclass(frozen=True)
class TemplateMessage:
    """A validated WhatsApp template message: what :func:`request_body` and :func:`render` need."""

    to: str
    template: str
    language: str
    parameters: tuple[str, ...]
    body: str | None = None
    callback_data: str | None = None

    @classmethod
    def from_outbound(cls, message: OutboundMessage) -> TemplateMessage:
        """Validate ``message`` (see the module docstring for the payload); raises :class:`InvalidMessage`."""
        to = message.recipient
        if not (isinstance(to, str) and to.isascii() and to.isdigit() and 8 <= len(to) <= 15):
            raise InvalidMessage("recipient is not a wa_id (8 to 15 digits, no '+')")
        payload = message.payload
        template = payload.get("template")
        if not isinstance(template, str) or not template.strip():
            raise InvalidMessage("payload['template'] must be the approved template's name")
        language = payload.get("language", DEFAULT_LANGUAGE)
        if not isinstance(language, str) or not language:
            raise InvalidMessage("payload['language'] must be a language code such as 'pt_BR'")
        raw_parameters = payload.get("body_parameters", ())
        if isinstance(raw_parameters, str | bytes) or not isinstance(raw_parameters, list | tuple):
            raise InvalidMessage("payload['body_parameters'] must be a list of texts")
        parameters: list[str] = []
        for value in raw_parameters:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InvalidMessage(f"body parameter {len(parameters) + 1} is not text")
            text = str(value)
            if not text.strip():
                raise InvalidMessage(f"body parameter {len(parameters) + 1} is empty")  # Meta rejects it
            parameters.append(text)
        body = payload.get("body")
        if body is not None and not isinstance(body, str):
            raise InvalidMessage("payload['body'] must be the template's body text")
        callback_data = payload.get("biz_opaque_callback_data")
        if callback_data is not None and not (isinstance(callback_data, str) and len(callback_data) <= 512):
            raise InvalidMessage("payload['biz_opaque_callback_data'] must be a text of at most 512 characters")
        result = cls(
            to=to,
            template=template.strip(),
            language=language,
            parameters=tuple(parameters),
            body=body,
            callback_data=callback_data or None,
        )
        if body is not None:
            result.filled_body()  # a count mismatch is caught before anything is sent
        return result

    def request_body(self) -> dict[str, Any]:
        """The JSON of ``POST /{phone-number-id}/messages`` for this template, as the Cloud API documents it."""
        template: dict[str, Any] = {"name": self.template, "language": {"code": self.language}}
        if self.parameters:
            template["components"] = [
                {"type": "body", "parameters": [{"type": "text", "text": text} for text in self.parameters]}
            ]
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self.to,
            "type": "template",
            "template": template,
        }
        if self.callback_data:
            body["biz_opaque_callback_data"] = self.callback_data
        return body

    def filled_body(self) -> str | None:
        """``body`` with ``{{n}}`` replaced by parameter n; raises :class:`InvalidMessage` on a count mismatch."""
        if self.body is None:
            return None
        numbers = {int(match) for match in _PLACEHOLDER.findall(self.body)}
        if numbers != set(range(1, len(numbers) + 1)) or len(numbers) != len(self.parameters):
            expected = ", ".join(f"{{{{{n}}}}}" for n in sorted(numbers)) or "none"
            raise InvalidMessage(
                f"template {self.template!r} body has placeholders {expected}, "
                f"but {len(self.parameters)} body parameter(s) were given"
            )
        return _PLACEHOLDER.sub(lambda match: self.parameters[int(match.group(1)) - 1], self.body)

    def render(self) -> str:
        """Human-readable: the template name and language, then the filled body (or the parameters)."""
        head = f"template {self.template} ({self.language})"
        body = self.filled_body()
        if body is not None:
            return f"{head}\n\n{body}"
        if self.parameters:
            return f"{head}\nbody parameters: " + " | ".join(self.parameters)
        return head


@dataclass(frozen=True)
class _Attempt:
    outcome: Literal["sent", "permanent", "retryable"]
    provider_id: str | None = None
    error: str | None = None
    code: int | None = None
    retry_after: float | None = None


class WhatsAppSender(Closing):
    """The WhatsApp Cloud API channel: template messages, paced by a shared limiter, retried on transient errors.

    Without an access token or a phone number id the sender is a dry run whatever ``dry_run`` says. One
    ``httpx.Client`` (connection pool, ``timeout_s`` per connect/read/write) is opened on the first real
    send and shared by all threads; :meth:`close` (or ``with``) releases it.
    """

    channel: Channel = "whatsapp"

    def __init__(
        self,
        access_token: str | None,
        phone_number_id: str | None,
        *,
        base_url: str = GRAPH_BASE_URL,
        messages_per_second: float = 80.0,
        max_retries: int = 4,
        dry_run: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if phone_number_id is not None and not re.fullmatch(r"[0-9A-Za-z_-]*", phone_number_id):
            raise ValueError("phone_number_id must be the numeric id of the business phone number")
        self._token = access_token or None
        self.phone_number_id = phone_number_id or None
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.dry_run = bool(dry_run or not (self._token and self.phone_number_id))
        self.timeout_s = timeout_s
        self.limiter = RateLimiter(messages_per_second, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:  # never the token
        return (
            f"WhatsAppSender(phone_number_id={self.phone_number_id!r}, base_url={self.base_url!r}, "
            f"dry_run={self.dry_run}, rate={self.limiter.base_rate:g}/s)"
        )

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{self.phone_number_id}/messages"

    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one template message; see the module docstring for the retry rules."""
        if message.channel != self.channel:
            raise ValueError(f"WhatsAppSender got a message for channel {message.channel!r}")
        try:
            template = TemplateMessage.from_outbound(message)
            rendered = template.render()
        except InvalidMessage as exc:
            logger.warning("whatsapp message to %s not sent: %s", mask_phone(message.recipient), exc)
            return SendResult(status="failed_permanent", error=f"invalid message: {exc}", attempts=0)
        if self.dry_run:
            logger.info("whatsapp dry run: template %s to %s", template.template, mask_phone(template.to))
            return SendResult(status="dry_run", attempts=0, rendered=rendered)
        return self._deliver(template, rendered)

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _deliver(self, template: TemplateMessage, rendered: str) -> SendResult:
        body = template.request_body()
        who = mask_phone(template.to)
        attempts = 0
        while True:
            attempts += 1
            self.limiter.acquire()
            attempt = self._post(body)
            if attempt.outcome == "sent":
                logger.info(
                    "whatsapp template %s to %s accepted (%s, attempts=%d)",
                    template.template,
                    who,
                    attempt.provider_id,
                    attempts,
                )
                return SendResult(status="sent", provider_id=attempt.provider_id, attempts=attempts, rendered=rendered)
            error = attempt.error or "unknown error"
            if attempt.outcome == "permanent":
                logger.warning("whatsapp template %s to %s refused: %s", template.template, who, _mask_digits(error))
                return SendResult(status="failed_permanent", error=error, attempts=attempts, rendered=rendered)
            if attempt.code == THROUGHPUT_CODE:
                rate = self.limiter.slow_down()
                logger.warning("whatsapp throughput limit hit (130429): pacing at %g msg/s for a while", rate)
            delay = self._backoff(attempts, attempt)
            if attempts > self.max_retries or delay is None:
                if delay is None:
                    error = f"{error} (Retry-After {attempt.retry_after:g}s is longer than {MAX_RETRY_AFTER_S:g}s)"
                logger.warning(
                    "whatsapp template %s to %s failed after %d attempt(s): %s",
                    template.template,
                    who,
                    attempts,
                    _mask_digits(error),
                )
                return SendResult(status="failed_retryable", error=error, attempts=attempts, rendered=rendered)
            logger.warning(
                "whatsapp template %s to %s: %s; retry %d/%d in %.1fs",
                template.template,
                who,
                _mask_digits(error),
                attempts,
                self.max_retries,
                delay,
            )
            self._sleep(delay)

    def _backoff(self, attempts: int, attempt: _Attempt) -> float | None:
        """Seconds to wait before the next try, or ``None`` when Retry-After asks for too long."""
        if attempt.retry_after is not None:
            if attempt.retry_after > MAX_RETRY_AFTER_S:
                return None
            return attempt.retry_after
        delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
        if attempt.code == PAIR_RATE_CODE:
            delay = max(delay, PAIR_RATE_WAIT_S)
        return delay

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                    timeout=httpx.Timeout(self.timeout_s),
                )
            return self._client

    def _post(self, body: dict[str, Any]) -> _Attempt:
        try:
            response = self._http().post(self.messages_url, json=body)
        except httpx.TimeoutException as exc:
            return _Attempt("retryable", error=f"timeout ({type(exc).__name__}) after {self.timeout_s:g}s")
        except httpx.TransportError as exc:
            return _Attempt("retryable", error=self._scrub(f"connection error ({type(exc).__name__}: {exc})"))
        if response.is_success:
            return _Attempt("sent", provider_id=_message_id(response))
        code, error = _graph_error(response)
        error = self._scrub(error)
        status = response.status_code
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if code == TOKEN_CODE:
            error = (
                f"{error} — the WhatsApp access token is invalid or expired: create a new System User token "
                "with whatsapp_business_messaging permission in Meta Business Manager and set WHATSAPP_ACCESS_TOKEN"
            )
            return _Attempt("permanent", error=error, code=code)
        if code in RETRYABLE_CODES or status == 429 or status >= 500:
            return _Attempt("retryable", error=error, code=code, retry_after=retry_after)
        return _Attempt("permanent", error=error, code=code)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def _message_id(response: httpx.Response) -> str | None:
    """``messages[0].id`` (the wamid) of a 2xx answer; ``None`` (logged) when Meta's body is not as documented."""
    try:
        messages = response.json()["messages"]
        message_id = messages[0]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        logger.warning("whatsapp accepted a message (HTTP %d) but its body has no messages[0].id", response.status_code)
        return None
    return str(message_id)


def _graph_error(response: httpx.Response) -> tuple[int | None, str]:
    """The Graph error's code and ``"<code> <message>: <details> (HTTP n, fbtrace_id x)"``."""
    status = response.status_code
    try:
        error = response.json()["error"]
        if not isinstance(error, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        snippet = " ".join(response.text.split())[:200]
        return None, f"HTTP {status}: {snippet or response.reason_phrase}"
    raw_code = error.get("code")
    code = int(raw_code) if isinstance(raw_code, int | str) and str(raw_code).isdigit() else None
    text = f"{code if code is not None else 'error'} {error.get('message') or PERMANENT_CODES.get(code or 0, '')}"
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    if details:
        text += f": {details}"
    extra = f"HTTP {status}"
    if error.get("fbtrace_id"):
        extra += f", fbtrace_id {error['fbtrace_id']}"
    return code, f"{text.strip()} ({extra})"


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _mask_digits(text: str) -> str:
    """Mask anything that looks like a phone number in text bound for a log line (Meta's details may echo it)."""
    return _DIGIT_RUN.sub(lambda match: mask_phone(match.group(0)), text)


__all__ = [
    "GRAPH_BASE_URL",
    "PERMANENT_CODES",
    "RETRYABLE_CODES",
    "InvalidMessage",
    "RateLimiter",
    "TemplateMessage",
    "WhatsAppSender",
]
