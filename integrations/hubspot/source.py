"""The ``HubSpotSource`` protocol: what the loader needs, implemented by the API client and the demo files.

The loader is typed against this protocol only, so demo and production run the same loading and
parsing code; the one difference is where the page bodies come from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from integrations.hubspot.paging import Page
from integrations.hubspot.properties import ObjectType


@runtime_checkable
class HubSpotSource(Protocol):
    """Pages of CRM v3 objects as HubSpot's raw JSON response bodies (:class:`Page`)."""

    @property
    def calls(self) -> int:
        """Requests made so far (HTTP requests for the API, pages served for the demo)."""
        ...

    def list_pages(
        self, object_type: ObjectType, properties: Sequence[str], associations: Sequence[str] = ()
    ) -> Iterator[Page]:
        """Every page of the object list (a full sync)."""
        ...

    def search_pages(
        self, object_type: ObjectType, properties: Sequence[str], modified_after: datetime
    ) -> Iterator[Page]:
        """Pages of records modified strictly after ``modified_after``, oldest first (an incremental sync)."""
        ...
