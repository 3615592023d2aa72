"""The demo world's HubSpot: page bodies stored in files, served like the API serves them.

``<root>/hubspot/contacts.pages.jsonl`` and ``deals.pages.jsonl`` hold one HubSpot list-response
body per line, exactly as ``GET /crm/v3/objects/...`` returns it. ``list_pages`` hands the lines
back untouched, as the client hands back response bodies; ``search_pages`` answers search requests
from the same records and runs the very same incremental loop (:func:`iter_search_pages`) as the
real client, so the demo also exercises cursor and restart handling.

A line that is not a page (a truncated write, hand-edited garbage) is found where every page is:
when the loader parses it, which quarantines it as ``<file>:<line>``. Search decodes the file up
front, so there it raises :class:`HubSpotPageError` naming file and line.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from integrations.hubspot.paging import Page, decode_page
from integrations.hubspot.properties import MODIFIED_PROPERTY, ObjectType, check_object_type
from integrations.hubspot.search import SEARCH_PAGE_LIMIT, SearchRequest, iter_search_pages, record_modified_ms


def pages_path(root: Path, object_type: ObjectType) -> Path:
    """Where the demo generator writes the page file for ``object_type``."""
    return Path(root) / "hubspot" / f"{object_type}.pages.jsonl"


def read_pages(path: Path) -> Iterator[Page]:
    """Each non-blank line of ``path`` as a page, untouched, with ``<file>:<line>`` as its origin."""
    with path.open("rb", buffering=1 << 20) as lines:  # pages are long lines: a big buffer reads them 3x faster
        for line_number, line in enumerate(lines, start=1):
            if line.strip():
                yield Page(line, f"{path}:{line_number}")


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
    ) -> Iterator[Page]:
        """The stored pages, unchanged. ``properties`` / ``associations`` are accepted for signature
        parity; the files already hold what the generator requested (extra properties are fine —
        the parser keeps them in ``properties_json``)."""
        path = self._existing_path(object_type)
        for page in read_pages(path):
            self._calls += 1
            yield page

    def search_pages(
        self, object_type: ObjectType, properties: Sequence[str], modified_after: datetime
    ) -> Iterator[Page]:
        """Records modified after ``modified_after``, sorted ascending and re-paged like the search API.

        Like the real search API, results carry no ``associations`` and the body has ``total``.
        The whole file is read (and validated) before the first page is yielded, because sorting
        needs every record.
        """
        object_type = check_object_type(object_type)
        path = self._existing_path(object_type)
        index = _SearchIndex(path, MODIFIED_PROPERTY[object_type])

        def post(request: SearchRequest) -> Page:
            self._calls += 1
            return Page(json.dumps(index.answer(request), ensure_ascii=False).encode(), f"{path} (search)")

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
            for record in decode_page(page)["results"]:
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
