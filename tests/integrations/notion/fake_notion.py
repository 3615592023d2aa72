"""A fake Notion API (version 2025-09-03) at the HTTP boundary, for notion-client to talk to via pytest-httpserver.

Written from Notion's API reference, independently of the publisher:

* every request needs ``Authorization: Bearer <token>`` (401 ``unauthorized``) and
  ``Notion-Version: 2025-09-03`` (400 ``missing_version``-style ``invalid_request``);
* ``GET /v1/databases/{id}`` → a database with ``data_sources: [{id, name}]``;
  ``GET /v1/data_sources/{id}`` → the schema (``properties`` by name, each with ``id`` and ``type``);
* ``POST /v1/data_sources/{id}/query`` → ``{"object": "list", "results", "next_cursor", "has_more",
  "type": "page_or_data_source"}``, filtering on ``rich_text``/``title`` ``equals``, trashed pages left out;
* ``POST /v1/pages`` (parent ``data_source_id``), ``PATCH /v1/pages/{id}`` → page objects with ``id``/``url``;
* ``GET`` / ``PATCH /v1/blocks/{id}/children`` (list, paginated; append) and ``DELETE /v1/blocks/{id}``;
* Notion's size limits enforced as ``400 validation_error``: rich text content ≤ 2,000 characters
  (UTF-16 units), rich text arrays ≤ 100, block children arrays ≤ 100, two levels of nesting per
  request, table rows as wide as the table; unknown properties rejected; a deleted block cannot be
  deleted again;
* failures injected with :meth:`FakeNotion.fail_next`, optionally *after* doing the work (a lost answer).
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

VERSION = "2025-09-03"
SCHEMA: dict[str, str] = {
    "Name": "title",
    "Key": "rich_text",
    "Week": "number",
    "Status": "select",
    "Published": "date",
    "Tags": "multi_select",
    "Owner": "people",
}
_ERROR_CODES = {
    400: "validation_error",
    401: "unauthorized",
    404: "object_not_found",
    409: "conflict_error",
    429: "rate_limited",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class NotionError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Failure:
    status: int
    code: str
    message: str
    retry_after: str | None
    method: str | None
    path: str | None  # regex on the path, None: any request
    after: bool  # do the work, then answer with the error


@dataclass
class FakeNotion:
    server: HTTPServer
    token: str = "secret_notion_test_token"
    database_id: str = "1f2e3d4c-5b6a-4789-8abc-def012345678"
    data_source_id: str = "2a3b4c5d-6e7f-4801-9abc-def012345679"
    schema: dict[str, str] = field(default_factory=lambda: dict(SCHEMA))
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # parent id → child block ids, in order
    failures: deque[Failure] = field(default_factory=deque)
    _clock: itertools.count[int] = field(default_factory=itertools.count)

    def install(self) -> FakeNotion:
        self.server.expect_request(re.compile(r"^/v1/.*")).respond_with_handler(self._handle)
        return self

    @property
    def base_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    @property
    def requests(self) -> list[tuple[str, str]]:
        return [(request.method, request.path) for request, _ in self.server.log]

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, path in self.requests if m == method and re.fullmatch(pattern, path))

    def fail_next(
        self,
        *statuses: int,
        code: str | None = None,
        message: str = "injected failure",
        retry_after: str | None = None,
        method: str | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> None:
        """The next matching requests (one per status) fail with Notion-style error bodies."""
        for status in statuses:
            error_code = code or _ERROR_CODES.get(status, "internal_server_error")
            self.failures.append(Failure(status, error_code, message, retry_after, method, path, after))

    # --- what a test reads back ------------------------------------------------------------------

    def live_pages(self) -> list[dict[str, Any]]:
        return [page for page in self.pages.values() if not page["in_trash"]]

    def body(self, page_id: str) -> list[tuple[str, str]]:
        """The page's live top-level blocks as (type, plain text)."""
        return [
            (self.blocks[b]["type"], _block_text(self.blocks[b]))
            for b in self.children.get(page_id, [])
            if not self.blocks[b]["in_trash"]
        ]

    def add_page(self, key: str, title: str, n_blocks: int = 0) -> str:
        """A page already in the database (made by hand or a previous run)."""
        page = self._create_page(
            {
                "parent": {"type": "data_source_id", "data_source_id": self.data_source_id},
                "properties": {
                    "Name": {"title": [{"type": "text", "text": {"content": title}}]},
                    "Key": {"rich_text": [{"type": "text", "text": {"content": key}}]},
                },
                "children": [
                    {
                        "type": "paragraph",
                        "paragraph": {"rich_text": [{"type": "text", "text": {"content": f"old {n}"}}]},
                    }
                    for n in range(min(n_blocks, 100))
                ],
            }
        )
        for n in range(100, n_blocks):
            self._append(page["id"], [{"type": "paragraph", "paragraph": {"rich_text": [_text(f"old {n}")]}}])
        return str(page["id"])

    # --- request handling --------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "API token is invalid.")
        if request.headers.get("Notion-Version") != VERSION:
            return _error(400, "invalid_request", f"Notion-Version must be {VERSION}.")
        failure = self._take_failure(request)
        if failure is not None and not failure.after:
            return _error(failure.status, failure.code, failure.message, failure.retry_after)
        try:
            body = json.loads(request.get_data() or b"{}")
            result = self._route(request.method, request.path, body, request.args)
        except NotionError as exc:
            return _error(exc.status, exc.code, exc.message)
        if failure is not None:
            return _error(failure.status, failure.code, failure.message, failure.retry_after)
        return Response(json.dumps(result), status=200, content_type="application/json")

    def _take_failure(self, request: Request) -> Failure | None:
        for failure in list(self.failures):
            if failure.method not in (None, request.method):
                continue
            if failure.path is not None and not re.fullmatch(failure.path, request.path):
                continue
            self.failures.remove(failure)
            return failure
        return None

    def _route(self, method: str, path: str, body: dict[str, Any], args: Any) -> dict[str, Any]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        match method, parts:
            case "GET", ["databases", database_id]:
                return self._database(database_id)
            case "GET", ["data_sources", source_id]:
                return self._data_source(source_id)
            case "POST", ["data_sources", source_id, "query"]:
                return self._query(source_id, body)
            case "POST", ["pages"]:
                return self._create_page(body)
            case "PATCH", ["pages", page_id]:
                return self._update_page(page_id, body)
            case "GET", ["blocks", block_id, "children"]:
                return self._list_children(block_id, args)
            case "PATCH", ["blocks", block_id, "children"]:
                return self._append(block_id, body.get("children") or [])
            case "DELETE", ["blocks", block_id]:
                return self._delete(block_id)
        raise NotionError(400, "invalid_request_url", "Invalid request URL.")

    def _database(self, database_id: str) -> dict[str, Any]:
        if database_id.replace("-", "") != self.database_id.replace("-", ""):  # Notion takes ids with or without dashes
            raise NotionError(404, "object_not_found", f"Could not find database with ID: {database_id}.")
        return {
            "object": "database",
            "id": self.database_id,
            "title": [_text("+Pet reports")],
            "parent": {"type": "page_id", "page_id": "3b4c5d6e-7f80-4912-abcd-ef0123456780"},
            "is_inline": False,
            "in_trash": False,
            "created_time": "2026-01-05T12:00:00.000Z",
            "last_edited_time": "2026-11-20T12:00:00.000Z",
            "data_sources": [{"id": self.data_source_id, "name": "Reports"}],
            "url": f"https://www.notion.so/{self.database_id.replace('-', '')}",
        }

    def _data_source(self, source_id: str) -> dict[str, Any]:
        self._check_source(source_id)
        return {
            "object": "data_source",
            "id": self.data_source_id,
            "title": [_text("Reports")],
            "parent": {"type": "database_id", "database_id": self.database_id},
            "properties": {
                name: {"id": f"p{n}", "name": name, "type": kind, kind: {}}
                for n, (name, kind) in enumerate(self.schema.items())
            },
        }

    def _query(self, source_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_source(source_id)
        pages = [page for page in self.live_pages() if _matches(page, body.get("filter"))]
        for sort in reversed(body.get("sorts") or []):
            pages.sort(key=lambda page, s=sort: page[s["timestamp"]], reverse=sort.get("direction") == "descending")
        page_size = int(body.get("page_size", 100))
        if page_size > 100:
            raise NotionError(400, "validation_error", "body.page_size should be ≤ `100`.")
        start = int(body.get("start_cursor") or 0)
        window = pages[start : start + page_size]
        more = start + page_size < len(pages)
        return {
            "object": "list",
            "results": window,
            "next_cursor": str(start + page_size) if more else None,
            "has_more": more,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }

    def _create_page(self, body: dict[str, Any]) -> dict[str, Any]:
        parent = body.get("parent") or {}
        if parent.get("type") != "data_source_id" or parent.get("data_source_id") != self.data_source_id:
            raise NotionError(400, "validation_error", "body.parent.data_source_id should be defined.")
        properties = self._check_properties(body.get("properties") or {})
        if "Name" not in properties:
            raise NotionError(400, "validation_error", "Title is not provided.")
        children = body.get("children") or []
        _check_children(children, "body.children", depth=1)
        page_id = str(uuid.uuid4())
        stamp = f"2026-11-25T10:{next(self._clock):02d}:00.000Z"
        page = {
            "object": "page",
            "id": page_id,
            "created_time": stamp,
            "last_edited_time": stamp,
            "parent": {
                "type": "data_source_id",
                "data_source_id": self.data_source_id,
                "database_id": self.database_id,
            },
            "archived": False,
            "in_trash": False,
            "properties": properties,
            "url": f"https://www.notion.so/Report-{page_id.replace('-', '')}",
            "public_url": None,
        }
        self.pages[page_id] = page
        self._store_children(page_id, children)
        return page

    def _update_page(self, page_id: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self.pages.get(page_id)
        if page is None:
            raise NotionError(404, "object_not_found", f"Could not find page with ID: {page_id}.")
        page["properties"].update(self._check_properties(body.get("properties") or {}))
        return page

    def _list_children(self, block_id: str, args: Any) -> dict[str, Any]:
        page_size = int(args.get("page_size", 100))
        if page_size > 100:
            raise NotionError(400, "validation_error", "page_size should be ≤ `100`.")
        live = [self._block_object(b) for b in self.children.get(block_id, []) if not self.blocks[b]["in_trash"]]
        start = int(args.get("start_cursor") or 0)
        more = start + page_size < len(live)
        return {
            "object": "list",
            "results": live[start : start + page_size],
            "next_cursor": str(start + page_size) if more else None,
            "has_more": more,
            "type": "block",
            "block": {},
        }

    def _append(self, block_id: str, children: list[dict[str, Any]]) -> dict[str, Any]:
        if block_id not in self.pages and block_id not in self.blocks:
            raise NotionError(404, "object_not_found", f"Could not find block with ID: {block_id}.")
        _check_children(children, "body.children", depth=1)
        created = self._store_children(block_id, children)
        return {
            "object": "list",
            "results": [self._block_object(b) for b in created],
            "next_cursor": None,
            "has_more": False,
            "type": "block",
            "block": {},
        }

    def _delete(self, block_id: str) -> dict[str, Any]:
        block = self.blocks.get(block_id)
        if block is None:
            raise NotionError(404, "object_not_found", f"Could not find block with ID: {block_id}.")
        if block["in_trash"]:
            raise NotionError(400, "validation_error", "Can't edit block that is archived.")
        block["in_trash"] = True
        return self._block_object(block_id)

    # --- helpers -----------------------------------------------------------------------------------

    def _check_source(self, source_id: str) -> None:
        if source_id != self.data_source_id:
            raise NotionError(404, "object_not_found", f"Could not find data_source with ID: {source_id}.")

    def _check_properties(self, properties: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in properties.items():
            kind = self.schema.get(name)
            if kind is None:
                raise NotionError(400, "validation_error", f"{name} is not a property that exists.")
            if set(value) - {kind, "type", "id"}:
                raise NotionError(400, "validation_error", f"body.properties.{name}.{kind} should be defined.")
            if kind in ("title", "rich_text"):
                _check_rich_text(value[kind], f"body.properties.{name}.{kind}")
            out[name] = {"id": f"p{list(self.schema).index(name)}", "type": kind, kind: value[kind]}
        return out

    def _store_children(self, parent_id: str, children: list[dict[str, Any]]) -> list[str]:
        created = []
        for child in children:
            kind = child["type"]
            content = {k: v for k, v in child[kind].items() if k != "children"}
            block_id = str(uuid.uuid4())
            self.blocks[block_id] = {
                "id": block_id,
                "parent": parent_id,
                "type": kind,
                kind: content,
                "in_trash": False,
            }
            self.children.setdefault(parent_id, []).append(block_id)
            self._store_children(block_id, child[kind].get("children") or [])
            created.append(block_id)
        return created

    def _block_object(self, block_id: str) -> dict[str, Any]:
        block = self.blocks[block_id]
        parent = block["parent"]
        parent_ref = (
            {"type": "page_id", "page_id": parent} if parent in self.pages else {"type": "block_id", "block_id": parent}
        )
        return {
            "object": "block",
            "id": block_id,
            "parent": parent_ref,
            "created_time": "2026-11-25T10:00:00.000Z",
            "last_edited_time": "2026-11-25T10:00:00.000Z",
            "has_children": bool(self.children.get(block_id)),
            "archived": block["in_trash"],
            "in_trash": block["in_trash"],
            "type": block["type"],
            block["type"]: block[block["type"]],
        }


def _check_children(children: list[dict[str, Any]], where: str, depth: int) -> None:
    if len(children) > 100:
        raise NotionError(400, "validation_error", f"{where}.length should be ≤ `100`, instead was `{len(children)}`.")
    for n, child in enumerate(children):
        kind = child.get("type")
        if not kind or kind not in child:
            raise NotionError(400, "validation_error", f"{where}[{n}] should have a type and its object.")
        body = child[kind]
        for key in ("rich_text",):
            if key in body:
                _check_rich_text(body[key], f"{where}[{n}].{kind}.{key}")
        if kind == "table_row":
            for c, cell in enumerate(body["cells"]):
                _check_rich_text(cell, f"{where}[{n}].table_row.cells[{c}]")
        if kind == "table":
            widths = {len(row["table_row"]["cells"]) for row in body.get("children") or []}
            if widths and widths != {body["table_width"]}:
                raise NotionError(400, "validation_error", "Number of cells in table row must match table width.")
        if kind == "code" and body.get("language") not in _CODE_LANGUAGES:
            raise NotionError(400, "validation_error", f"{where}[{n}].code.language should be a known language.")
        grandchildren = body.get("children") or []
        if grandchildren and depth >= 2:
            raise NotionError(400, "validation_error", f"{where}[{n}].{kind}.children should be not present.")
        _check_children(grandchildren, f"{where}[{n}].{kind}.children", depth + 1)


def _check_rich_text(items: list[dict[str, Any]], where: str) -> None:
    if len(items) > 100:
        raise NotionError(400, "validation_error", f"{where}.length should be ≤ `100`, instead was `{len(items)}`.")
    for n, item in enumerate(items):
        content = item["text"]["content"]
        length = len(content.encode("utf-16-le")) // 2
        if length > 2000:
            raise NotionError(
                400,
                "validation_error",
                f"body failed validation: {where}[{n}].text.content.length should be ≤ `2000`, instead was `{length}`.",
            )


_CODE_LANGUAGES = {
    "plain text", "python", "sql", "json", "yaml", "shell", "bash", "javascript", "typescript", "markdown",
}  # fmt: skip


def _matches(page: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    if not flt:
        return True
    prop = page["properties"].get(flt["property"])
    if prop is None:
        raise NotionError(400, "validation_error", f"Could not find property with name or id: {flt['property']}")
    for kind in ("rich_text", "title"):
        if kind in flt:
            text = "".join(item["text"]["content"] for item in prop.get(kind, []))
            return text == flt[kind]["equals"]
    raise NotionError(400, "validation_error", "unsupported filter in the fake")


def _block_text(block: dict[str, Any]) -> str:
    body = block[block["type"]]
    if "rich_text" in body:
        return "".join(item["text"]["content"] for item in body["rich_text"])
    return ""


def _text(content: str) -> dict[str, Any]:
    return {"type": "text", "text": {"content": content}, "plain_text": content, "href": None}


def _error(status: int, code: str, message: str, retry_after: str | None = None) -> Response:
    body = {"object": "error", "status": status, "code": code, "message": message, "request_id": str(uuid.uuid4())}
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
