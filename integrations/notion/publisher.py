"""Publish a markdown report as one Notion database page per key: created once, then updated in place.

The page is found by its ``Key`` property (rich text) through a data source query, so re-sending a
key — a retried job, next week's re-run of the same brief — never creates a second page: the title
and properties are updated (``PATCH /v1/pages/{id}``) and the body is replaced (the old child blocks
deleted, the new ones appended in requests of ≤ 100 blocks). The page body belongs to the publisher.

notion-client 3.1.0 sends ``Notion-Version: 2025-09-03``, in which databases hold *data sources*:
there is no ``databases.query`` any more. So the publisher reads the database once
(``GET /v1/databases/{id}`` → ``data_sources[0]``) and its data source's schema
(``GET /v1/data_sources/{id}``: the title property's name, each property's type), queries with
``POST /v1/data_sources/{id}/query`` and creates pages under ``{"type": "data_source_id", ...}``.

Retries are ours, not the SDK's (``retry=False``): the SDK sleeps with ``time.sleep`` (no test
hook), retries 5xx only for GET/DELETE and reports no attempt count. Here a 429 is retried after
``Retry-After``; a 5xx, timeout or connection error on a request that is safe to repeat (reads,
page property updates) is retried with exponential backoff; on one that is not (creating a page,
appending or deleting blocks) the whole upsert starts over instead — it finds the page again by
key, so a page created by a request whose answer was lost is updated, not duplicated. All retries of
one ``send`` share ``max_retries``. Any other 4xx is permanent, reported as Notion's
``code: message``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from notion_client import Client
from notion_client.errors import (
    APIResponseError,
    HTTPResponseError,
    InvalidPathParameterError,
    RequestTimeoutError,
)

from integrations.closing import Closing
from integrations.notion.markdown import Block, block_count, markdown_to_blocks
from integrations.notion.properties import PropertyError, page_properties, property_value
from integrations.notion.richtext import plain
from integrations.outbound import Channel, OutboundMessage, SendResult, SendStatus

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]

MAX_BLOCKS_PER_REQUEST = 100  # top-level children of one append / create
MAX_ELEMENTS_PER_REQUEST = 1000  # block elements of one request, nested ones included
MAX_BYTES_PER_REQUEST = 450_000  # Notion's cap is 500 KB; keep a margin for the envelope
RETRY_AFTER_MAX_SECONDS = 60.0
_NOTION_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


class _Failure(Exception):
    """A request failed. ``restart``: it may have taken effect, so redo the whole upsert instead of it."""

    def __init__(
        self, error: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.restart = False


@dataclass
class _Attempts:
    limit: int
    retries: int = 0

    @property
    def left(self) -> bool:
        return self.retries < self.limit


@dataclass(frozen=True)
class _Target:
    """Where pages go: the database's data source, its title property and its schema (name → type)."""

    data_source_id: str
    title_property: str
    schema: Mapping[str, str]


@dataclass(frozen=True)
class _Page:
    key: str
    title: str
    markdown: str
    properties: Mapping[str, Any]


class NotionPublisher(Closing):
    """:class:`~integrations.outbound.Sender` for Notion: one page per ``payload["key"]`` in a database.

    ``payload``: ``key`` (stable page identity, e.g. ``"growth_brief:2026-W48"``; defaults to the
    message's idempotency key), ``title``, ``markdown`` and optional ``properties`` (name → simple
    value, shaped by the property's type). ``message.recipient`` overrides ``database_id`` when it
    is a Notion id (32 hex digits, dashes optional); any other recipient (a label such as
    ``"notion-database"``) is ignored. Without a token or database id the publisher is a dry run.
    """

    channel: Channel = "notion"

    def __init__(
        self,
        token: str | None,
        database_id: str | None,
        *,
        base_url: str | None = None,
        dry_run: bool = False,
        key_property: str = "Key",
        max_retries: int = 4,
        backoff_factor: float = 1.0,
        backoff_max: float = 30.0,
        timeout: float = 30.0,
        sleep: Sleep | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.dry_run = dry_run or not token or not database_id
        self.database_id = database_id
        self.key_property = key_property
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self._sleep: Sleep = sleep if sleep is not None else time.sleep
        self._targets: dict[str, _Target] = {}
        self._client: Client | None = None
        if not self.dry_run:
            options: dict[str, Any] = {"auth": token, "retry": False, "timeout_ms": int(timeout * 1000)}
            if base_url:
                options["base_url"] = base_url.rstrip("/")  # the SDK appends "/v1/"
            options["logger"] = logging.getLogger(f"{__name__}.sdk")
            self._client = Client(**options)

    def __repr__(self) -> str:  # never show the token
        return f"NotionPublisher(database_id={self.database_id!r}, dry_run={self.dry_run})"

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != self.channel:
            raise ValueError(f"NotionPublisher got a message for channel {message.channel!r}")
        try:
            page = _page(message)
        except ValueError as exc:
            return SendResult("failed_permanent", error=f"payload: {exc}", attempts=0)
        if self.dry_run or self._client is None:
            return SendResult("dry_run", rendered=page.markdown, attempts=0)
        database_id = message.recipient if _NOTION_ID.fullmatch(message.recipient) else self.database_id or ""
        attempts = _Attempts(self.max_retries)
        while True:
            try:
                page_id = self._upsert(database_id, page, attempts)
            except _Failure as failure:
                if failure.restart and attempts.left:
                    logger.info("Notion: %s; starting the upsert of %r over", failure.error, page.key)
                    self._pause(attempts, failure.retry_after)
                    continue
                status: SendStatus = "failed_retryable" if failure.retryable else "failed_permanent"
                return SendResult(status, error=failure.error, attempts=1 + attempts.retries, rendered=page.markdown)
            except PropertyError as exc:
                return SendResult("failed_permanent", error=str(exc), attempts=1 + attempts.retries)
            return SendResult("sent", provider_id=page_id, attempts=1 + attempts.retries, rendered=page.markdown)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- the upsert ----------------------------------------------------------------------------

    def _upsert(self, database_id: str, page: _Page, attempts: _Attempts) -> str:
        client = self._sdk()
        target = self._target(database_id, attempts)
        properties = self._properties(target, page)
        blocks = markdown_to_blocks(page.markdown)
        existing = self._find(target, page.key, attempts)
        if existing is None:
            batches = list(batches_of(blocks))
            parent = {"type": "data_source_id", "data_source_id": target.data_source_id}
            create = partial(
                client.pages.create, parent=parent, properties=properties, children=batches[0] if batches else []
            )
            page_id = str(self._request(create, attempts, safe=False)["id"])
            for batch in batches[1:]:
                self._request(partial(client.blocks.children.append, page_id, children=batch), attempts, safe=False)
            logger.info("Notion: created page %s for %r", page_id, page.key)
            return page_id
        page_id = str(existing["id"])
        self._request(partial(client.pages.update, page_id, properties=properties), attempts, safe=True)
        self._replace_children(page_id, blocks, attempts)
        logger.info("Notion: updated page %s for %r", page_id, page.key)
        return page_id

    def _target(self, database_id: str, attempts: _Attempts) -> _Target:
        if database_id in self._targets:
            return self._targets[database_id]
        client = self._sdk()
        database = self._request(partial(client.databases.retrieve, database_id), attempts, safe=True)
        sources = database.get("data_sources") or []
        if not sources:
            raise _Failure(f"database {database_id} has no data source shared with the integration", retryable=False)
        if len(sources) > 1:
            logger.warning("Notion database %s has %d data sources; using the first", database_id, len(sources))
        source_id = str(sources[0]["id"])
        source = self._request(partial(client.data_sources.retrieve, source_id), attempts, safe=True)
        schema = {name: str(prop.get("type")) for name, prop in (source.get("properties") or {}).items()}
        title = next((name for name, kind in schema.items() if kind == "title"), None)
        if title is None:
            raise _Failure(f"data source {source_id} has no title property", retryable=False)
        if schema.get(self.key_property) != "rich_text":
            raise _Failure(
                f"data source {source_id} needs a rich_text property {self.key_property!r} to find pages by key",
                retryable=False,
            )
        self._targets[database_id] = _Target(source_id, title, schema)
        return self._targets[database_id]

    def _properties(self, target: _Target, page: _Page) -> dict[str, Any]:
        reserved = {target.title_property, self.key_property} & set(page.properties)
        if reserved:
            raise PropertyError(f"properties {sorted(reserved)} are set from the payload's title and key")
        return {
            target.title_property: property_value(target.title_property, "title", page.title),
            self.key_property: {"rich_text": plain(page.key)},
            **page_properties(target.schema, page.properties),
        }

    def _find(self, target: _Target, key: str, attempts: _Attempts) -> dict[str, Any] | None:
        """The oldest page whose key property equals ``key`` (trashed pages are not returned)."""
        query = partial(
            self._sdk().data_sources.query,
            target.data_source_id,
            filter={"property": self.key_property, "rich_text": {"equals": key}},
            sorts=[{"timestamp": "created_time", "direction": "ascending"}],
            page_size=10,
        )
        results = [item for item in self._request(query, attempts, safe=True).get("results", []) if item]
        pages = [item for item in results if item.get("object", "page") == "page"]
        if len(pages) > 1:
            logger.warning("Notion: %d pages share key %r; updating the oldest, %s", len(pages), key, pages[0]["id"])
        return pages[0] if pages else None

    def _replace_children(self, page_id: str, blocks: list[Block], attempts: _Attempts) -> None:
        client = self._sdk()
        old: list[str] = []
        cursor: str | None = None
        while True:
            listing = partial(client.blocks.children.list, page_id, start_cursor=cursor, page_size=100)
            response = self._request(listing, attempts, safe=True)
            old.extend(str(block["id"]) for block in response.get("results", []))
            cursor = response.get("next_cursor")
            if not response.get("has_more") or not cursor:
                break
        for block_id in old:  # a repeated DELETE of a deleted block is a 400, so not "safe": restart instead
            self._request(partial(client.blocks.delete, block_id), attempts, safe=False)
        for batch in batches_of(blocks):
            self._request(partial(client.blocks.children.append, page_id, children=batch), attempts, safe=False)

    # --- requests and retries ------------------------------------------------------------------

    def _sdk(self) -> Client:
        if self._client is None:
            raise RuntimeError("NotionPublisher is a dry run: it has no client")
        return self._client

    def _request(self, call: Callable[[], Any], attempts: _Attempts, *, safe: bool) -> dict[str, Any]:
        """One SDK call; 429 always retried here, other transient errors only when ``safe`` to repeat."""
        while True:
            try:
                return dict(call())
            except Exception as exc:
                failure = _classify(exc)
                if failure is None:
                    raise
                if not failure.retryable:
                    raise failure from exc
                if not safe and failure.status != 429:
                    failure.restart = True
                    raise failure from exc
                if not attempts.left:
                    raise failure from exc
                logger.info("Notion: %s; retrying", failure.error)
                self._pause(attempts, failure.retry_after)

    def _pause(self, attempts: _Attempts, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(retry_after, RETRY_AFTER_MAX_SECONDS)
        else:
            delay = min(self.backoff_factor * 2**attempts.retries, self.backoff_max)
        attempts.retries += 1
        if delay > 0:
            self._sleep(delay)


def batches_of(
    blocks: list[Block],
    max_blocks: int = MAX_BLOCKS_PER_REQUEST,
    max_elements: int = MAX_ELEMENTS_PER_REQUEST,
    max_bytes: int = MAX_BYTES_PER_REQUEST,
) -> Iterator[list[Block]]:
    """``blocks`` in request-sized groups: ≤ 100 blocks, ≤ 1,000 elements with children, ≤ ~450 KB."""
    batch: list[Block] = []
    elements = size = 0
    for block in blocks:
        count, length = block_count(block), len(json.dumps(block))
        if batch and (len(batch) >= max_blocks or elements + count > max_elements or size + length > max_bytes):
            yield batch
            batch, elements, size = [], 0, 0
        batch.append(block)
        elements += count
        size += length
    if batch:
        yield batch


def _page(message: OutboundMessage) -> _Page:
    payload = message.payload
    key = payload.get("key") or message.idempotency_key
    title = payload.get("title")
    markdown = payload.get("markdown", "")
    properties = payload.get("properties") or {}
    if not isinstance(key, str) or not key.strip():
        raise ValueError("needs a non-empty 'key'")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("needs a non-empty 'title'")
    if not isinstance(markdown, str):
        raise ValueError("'markdown' must be a string")
    if not isinstance(properties, Mapping):
        raise ValueError("'properties' must be a mapping of property name to value")
    return _Page(key=key, title=title, markdown=markdown, properties=properties)


def _classify(exc: Exception) -> _Failure | None:
    """What a failed SDK call means, or None when it is not an API or transport failure (a bug: re-raise)."""
    if isinstance(exc, APIResponseError):
        code = str(getattr(exc.code, "value", exc.code))
        retryable = exc.status == 429 or exc.status >= 500 or code == "conflict_error"
        return _Failure(f"{code}: {exc}", retryable=retryable, status=exc.status, retry_after=_retry_after(exc))
    if isinstance(exc, HTTPResponseError):  # a status without Notion's error body (a proxy's 502 page…)
        retryable = exc.status == 429 or exc.status >= 500
        return _Failure(f"HTTP {exc.status}", retryable=retryable, status=exc.status, retry_after=_retry_after(exc))
    if isinstance(exc, RequestTimeoutError):
        return _Failure("request timed out", retryable=True)
    if isinstance(exc, httpx.TransportError):
        return _Failure(f"connection error: {type(exc).__name__}", retryable=True)
    if isinstance(exc, InvalidPathParameterError):
        return _Failure(str(exc), retryable=False)
    return None


def _retry_after(exc: HTTPResponseError) -> float | None:
    value = exc.headers.get("retry-after") if exc.headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


__all__ = ["NotionPublisher", "batches_of"]
