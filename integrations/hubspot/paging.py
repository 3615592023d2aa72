"""HubSpot response bodies as received (:class:`Page`), and their paging cursor, read without decoding the body.

Pages stay bytes from the HTTP response (or the demo file) to DuckDB, which flattens many of them at
once (``parse.py``). Paging still has to go page by page, so the ``paging.next.after`` cursor is read
from the end of the body, where HubSpot puts it; anything unusual falls back to decoding the page.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from integrations.hubspot.errors import HubSpotPageError

_PAGING = b'"paging"'
_WHITESPACE = b" \t\r\n"


class Page(NamedTuple):
    """One response body, untouched, and where it came from (``<file>:<line>``, or the request) for messages."""

    body: bytes
    origin: str


def decode_page(page: Page) -> dict[str, Any]:
    """The page as a dict, shape-checked (an object with a ``results`` list of objects); else HubSpotPageError."""
    try:
        decoded = json.loads(page.body)
    except ValueError as exc:
        raise HubSpotPageError(page.origin, f"truncated or malformed JSON ({exc})") from exc
    if not isinstance(decoded, dict):
        raise HubSpotPageError(page.origin, f"expected a JSON object, got {type(decoded).__name__}")
    results = decoded.get("results")
    if not isinstance(results, list):
        raise HubSpotPageError(page.origin, "missing 'results' list")
    if not all(isinstance(record, dict) for record in results):
        raise HubSpotPageError(page.origin, "'results' holds a non-object entry")
    return decoded


def after_of(page: dict[str, Any]) -> str | None:
    """``paging.next.after`` of a decoded page, or ``None`` on the last page (tolerates missing keys)."""
    paging = page.get("paging")
    next_ = paging.get("next") if isinstance(paging, dict) else None
    after = next_.get("after") if isinstance(next_, dict) else None
    return str(after) if after not in (None, "") else None


def next_after(body: bytes) -> str | None:
    """``paging.next.after`` of a raw body; raises ``ValueError`` when the body is not a JSON object.

    Fast path: the last ``"paging"`` in the body, followed by ``:``, a JSON value, then only the
    body's closing brace — which proves it is a member of the top-level object (a nested one would be
    followed by more closing brackets). A body without ``"paging"`` anywhere has no next page. Anything
    else is decoded in full.
    """
    stripped = body.strip(_WHITESPACE)
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        return after_of(_decode_object(body))
    at = stripped.rfind(_PAGING)
    if at < 0:
        return None
    tail = stripped[at + len(_PAGING) : -1].decode("utf-8", "replace").strip()
    if tail.startswith(":"):
        try:
            value, end = json.JSONDecoder().raw_decode(tail, len(tail) - len(tail[1:].lstrip()))
        except ValueError:
            value, end = None, -1
        if end == len(tail) and isinstance(value, dict):
            return after_of({"paging": value})
    return after_of(_decode_object(body))


def _decode_object(body: bytes) -> dict[str, Any]:
    decoded = json.loads(body)
    if not isinstance(decoded, dict):
        raise ValueError(f"expected a JSON object, got {type(decoded).__name__}")
    return decoded
