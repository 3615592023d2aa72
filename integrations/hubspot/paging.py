"""Reading HubSpot's paging cursor, shared by the API client, the search loop and the demo source."""

from __future__ import annotations

from typing import Any


def next_after(page: dict[str, Any]) -> str | None:
    """``paging.next.after`` of a page body, or ``None`` on the last page (tolerates missing keys)."""
    paging = page.get("paging")
    next_ = paging.get("next") if isinstance(paging, dict) else None
    after = next_.get("after") if isinstance(next_, dict) else None
    return str(after) if after not in (None, "") else None
