"""The demo world's HubSpot: page bodies stored in files, served like the API serves them.

``<root>/hubspot/contacts.pages.jsonl`` and ``deals.pages.jsonl`` hold one HubSpot list-response
body per line, exactly as ``GET /crm/v3/objects/...`` returns it. ``list_pages`` hands them back
untouched; ``search_pages`` answers search requests from the same records and runs the very
same incremental loop (:func:`iter_search_pages`) as the real client, so the demo also exercises
cursor and restart handling.

A line that is not a page (a truncated write, hand-edited garbage) raises
:class:`HubSpotPageError` naming file and line; the loader decides whether to quarantine it.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from integrations.hubspot.errors import HubSpotPageError
from integrations.hubspot.properties import MODIFIED_PROPERTY, ObjectType, check_object_type
from integrations.hubspot.search import SEARCH_PAGE_LIMIT, SearchRequest, iter_search_pages, record_modified_ms


def pages_path(root: Path, object_type: ObjectType) -> Path:
    """Where the demo generator writes the page file for ``object_type``."""
    return Path(root) / "hubspot" / f"{object_type}.pages.jsonl"


def read_pages(path: Path) -> Iterator[dict[str, Any]]:
    """Each non-blank line of ``path`` as a page dict; a malformed line raises :class:`HubSpotPageError`."""
    with path.open("rb") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            yield parse_page_line(path, line_number, line)


def parse_page_line(path: Path, line_number: int, line: bytes | str) -> dict[str, Any]:
    """Decode and shape-check one stored page (an object with a ``results`` list of objects)."""
    try:
        page = json.loads(line)
    except ValueError as exc:
        raise HubSpotPageError(path, line_number, f"truncated or malformed JSON ({exc})") from exc
    if not isinstance(page, dict):
        raise HubSpotPageError(path, line_number, f"expected a JSON object, got {type(page).__name__}")
    results = page.get("results")
    if not isinstance(results, list):
        raise HubSpotPageError(path, line_number, "missing 'results' list")
    if not all(isinstance(record, dict) for record in results):
        raise HubSpotPageError(path, line_number, "'results' holds a non-object entry")
    return page


class DemoHubSpotSource:
    """``HubSpotSource`` over the demo files; ``calls`` counts pages served, as the API would count requests."""

    def __init__(self, root: Path, page_size: int = SEARCH_PAGE_LIMIT) -> None:
        self.root = Path(root)
        self.page_size = page_size
        self._calls = 0

    def __repr__(self) -> str:
        return f"DemoHubSpotSource(root={str(self.root)!r})"

    @property
    def calls(self) -> int:
        return self._calls

    def path(self, object_type: ObjectType) -> Path:
        return pages_path(self.root, check_object_type(object_type))

    def list_pages(
        self, object_type: ObjectType, properties: Sequence[str], associations: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """The stored pages, unchanged. ``properties`` / ``associations`` are accepted for signature
        parity; the files already hold what the generator requested (extra properties are fine —
        the parser keeps them in ``properties_json``)."""
        path = self._existing_path(object_type)
        for page in read_pages(path):
            self._calls += 1
            yield page

    def search_pages(
        self, object_type: ObjectType, properties: Sequence[str], modified_after: datetime
    ) -> Iterator[dict[str, Any]]:
        """Records modified after ``modified_after``, sorted ascending and re-paged like the search API.

        Like the real search API, results carry no ``associations`` and the body has ``total``.
        The whole file is read (and validated) before the first page is yielded, because sorting
        needs every record.
        """
        object_type = check_object_type(object_type)
        index = _SearchIndex(self._existing_path(object_type), MODIFIED_PROPERTY[object_type])

        def post(request: SearchRequest) -> dict[str, Any]:
            self._calls += 1
            return index.answer(request)

        yield from iter_search_pages(post, object_type, properties, modified_after, limit=self.page_size)

    def _existing_path(self, object_type: ObjectType) -> Path:
        path = self.path(object_type)
        if not path.is_file():
            raise FileNotFoundError(f"demo HubSpot pages not found at {path}; generate them with `cro demo-data`")
        return path


class _SearchIndex:
    """Answers :class:`SearchRequest` from stored records the way HubSpot's search endpoint does."""

    def __init__(self, path: Path, modified_property: str) -> None:
        stamped = []
        for page in read_pages(path):
            for record in page["results"]:
                stamp = record_modified_ms(record, modified_property)
                if stamp is not None:  # HubSpot cannot match a record without the filtered property
                    search_record = {key: value for key, value in record.items() if key != "associations"}
                    stamped.append((stamp, str(record.get("id")), search_record))
        stamped.sort(key=lambda item: (item[0], item[1]))
        self._stamps = [stamp for stamp, _, _ in stamped]
        self._records = [record for _, _, record in stamped]

    def answer(self, request: SearchRequest) -> dict[str, Any]:
        find = bisect_right if request.operator == "GT" else bisect_left
        start = find(self._stamps, request.cursor_ms)
        matches = self._records[start:]
        offset = int(request.after or 0)
        results = matches[offset : offset + request.limit]
        page: dict[str, Any] = {"total": len(matches), "results": results}
        if offset + request.limit < len(matches):
            page["paging"] = {"next": {"after": str(offset + request.limit)}}
        return page
