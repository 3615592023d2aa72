"""urllib3 ``Retry`` policy for HubSpot, with attempt counting and an injectable sleep.

The official SDK hands ``HubSpot(retry=...)`` to urllib3's ``PoolManager``, so retries happen
below the SDK, inside one SDK call. That is the right layer (every generated API gets the same
policy) but it hides two things we need: how many HTTP requests were really sent (rate-limit
budgeting, benchmarks) and control over sleeping (tests must not wait real seconds). urllib3
builds a fresh ``Retry`` per attempt through ``new()``, so this subclass carries a shared
:class:`AttemptLog` and the sleep function across those copies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import takewhile
from typing import Any, Self

from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

Sleep = Callable[[float], None]

RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
# Search is a read-only POST, so retrying it is safe; urllib3 does not retry POST by default.
RETRY_METHODS: frozenset[str] = frozenset({"GET", "POST"})
# HubSpot's 429 carries "Retry-After" in seconds; a daily-limit 429 could ask for hours, cap it.
RETRY_AFTER_MAX_SECONDS = 300


@dataclass
class AttemptLog:
    """Mutable tally shared by every ``Retry`` copy urllib3 derives from one policy."""

    retries: int = 0
    last_status: int | None = None


class CountingRetry(Retry):
    """``Retry`` that counts retries, sleeps through an injectable function and backs off from the first retry.

    Stock urllib3 2.x sleeps 0 s before the *first* retry of a 5xx (``backoff_factor * 2**(n-1)``
    only starts at the second consecutive error). Hammering a struggling HubSpot immediately is
    what triggers 429s, so here the first retry already waits ``backoff_factor`` seconds, then
    ``2×``, ``4×``… up to ``backoff_max``. A ``Retry-After`` header always wins over the backoff.
    """

    def __init__(self, *args: Any, attempt_log: AttemptLog | None = None, sleep: Sleep | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.attempt_log = attempt_log if attempt_log is not None else AttemptLog()
        self.sleep_function: Sleep = sleep if sleep is not None else time.sleep

    def new(self, **kw: Any) -> Self:
        copy = super().new(**kw)
        copy.attempt_log = self.attempt_log
        copy.sleep_function = self.sleep_function
        return copy

    def increment(self, *args: Any, **kwargs: Any) -> Self:
        response: BaseHTTPResponse | None = kwargs.get("response")
        if response is None and len(args) >= 3:
            response = args[2]
        self.attempt_log.last_status = response.status if response is not None else None
        new_retry = super().increment(*args, **kwargs)  # raises MaxRetryError when exhausted
        self.attempt_log.retries += 1  # only counted when another attempt will really be sent
        return new_retry

    def get_backoff_time(self) -> float:
        consecutive_errors = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if consecutive_errors == 0:
            return 0.0
        return float(max(0.0, min(self.backoff_max, self.backoff_factor * 2 ** (consecutive_errors - 1))))

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                self.sleep_function(retry_after)
                return
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleep_function(backoff)


def hubspot_retry(max_retries: int, backoff_factor: float, sleep: Sleep | None = None) -> CountingRetry:
    """The policy: 429 and 5xx retried up to ``max_retries`` times, GET and POST, honouring ``Retry-After``.

    ``raise_on_status=False`` makes urllib3 hand back the last error response once retries are
    spent, so the SDK raises its ``ApiException`` with the real status and body instead of an
    opaque ``MaxRetryError`` — the client turns that into a message naming endpoint and status.
    """
    return CountingRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        backoff_factor=backoff_factor,
        backoff_max=60.0,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX_SECONDS,
        raise_on_status=False,
        attempt_log=AttemptLog(),
        sleep=sleep,
    )
