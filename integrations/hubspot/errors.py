"""Exceptions raised by the HubSpot integration.

They carry structured fields (endpoint, status, where a bad page came from) so the loader can decide what to do —
quarantine a bad demo page, fail the run with a clear message — without parsing message strings.
"""

from __future__ import annotations


class HubSpotError(Exception):
    """Base class, so callers can catch everything this package raises in one clause."""


class HubSpotApiError(HubSpotError):
    """HubSpot answered with an error, or kept failing after every retry was spent.

    ``status`` is the last HTTP status seen (``None`` when no response came back at all, e.g. the
    connection was refused), ``attempts`` how many HTTP requests were made for this one call.
    """

    def __init__(self, endpoint: str, status: int | None, attempts: int, detail: str = "") -> None:
        self.endpoint = endpoint
        self.status = status
        self.attempts = attempts
        self.detail = detail
        status_text = f"HTTP {status}" if status is not None else "no HTTP response"
        message = f"HubSpot {endpoint} failed after {attempts} attempt(s); last status: {status_text}"
        super().__init__(f"{message}: {detail}" if detail else message)


class HubSpotSearchLimitError(HubSpotError):
    """The search API cannot page past its 10,000-result window and the cursor could not move.

    Happens only when more than a whole window of records share one modification timestamp (for
    example after a bulk import). The fix is a full ``list_pages`` sync, which has no such cap.
    """


class HubSpotPageError(HubSpotError):
    """A page body is not a valid HubSpot page (truncated, garbage, wrong shape).

    ``origin`` says where it came from — ``<file>:<line>`` for the demo files, the request for the
    API — so the loader can quarantine exactly that page and a person can find it.
    """

    def __init__(self, origin: str, reason: str) -> None:
        self.origin = origin
        self.reason = reason
        super().__init__(f"{origin}: invalid HubSpot page: {reason}")
