"""HubSpot CRM v3 client: pages of contacts and deals as raw response bodies, on the official SDK.

Why raw bodies: every call passes ``_preload_content=False`` and the body's bytes are handed on
untouched, so a page is HubSpot's documented JSON key for key (``{"results": [...], "paging": {...}}``)
and is decoded only once, by DuckDB, many pages at a time (``parse.py``). The demo source stores the
very same bodies in files, so demo and production share one parser, and we skip the SDK's model
deserialization, which is slow and renames keys (``created_at``…).

Why the SDK at all: it owns the endpoint paths, query encoding, auth header and connection
pooling, and it accepts a urllib3 ``Retry`` — see :mod:`integrations.hubspot.retry` for the
policy (429 honours ``Retry-After``, 5xx exponential backoff, search POSTs included).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

import hubspot
import hubspot.crm.contacts as sdk_contacts
import hubspot.crm.deals as sdk_deals
import urllib3

from integrations.closing import Closing
from integrations.hubspot.errors import HubSpotApiError
from integrations.hubspot.paging import Page, next_after
from integrations.hubspot.properties import ObjectType, check_object_type
from integrations.hubspot.retry import Sleep, hubspot_retry
from integrations.hubspot.search import SEARCH_PAGE_LIMIT, SearchRequest, iter_search_pages

MAX_PAGE_SIZE = 100  # the CRM v3 list and search maximum

_SDK_PACKAGES: dict[ObjectType, Any] = {"contacts": sdk_contacts, "deals": sdk_deals}
# Each generated SDK package has its own exception hierarchy; catch them all.
_API_EXCEPTIONS: tuple[type[Exception], ...] = (sdk_contacts.ApiException, sdk_deals.ApiException)


class _Response(NamedTuple):
    body: bytes
    status: int
    attempts: int


class HubSpotClient(Closing):
    """Thin typed client over ``hubspot.HubSpot`` for CRM v3 contacts and deals.

    ``calls`` counts HTTP requests really sent, retries included (what HubSpot bills against the
    rate limit), so a benchmark can report calls per 10,000 records. ``sleep`` is only for tests.
    """

    def __init__(
        self,
        access_token: str,
        host: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        *,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        sleep: Sleep | None = None,
    ) -> None:
        if not access_token:
            raise ValueError("HubSpot access token is empty (set HUBSPOT_ACCESS_TOKEN)")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.page_size = page_size
        self.timeout = timeout
        self._retry = hubspot_retry(max_retries=max_retries, backoff_factor=backoff_factor, sleep=sleep)
        config: dict[str, Any] = {"access_token": access_token, "retry": self._retry}
        if host:
            config["host"] = host.rstrip("/")  # Configuration.host; the SDK appends "/crm/v3/..."
        self._sdk = hubspot.HubSpot(**config)
        # Every ``client.crm.<object>.basic_api`` access builds a new ApiClient and connection pool,
        # so build each API object once and keep it.
        self._apis: dict[tuple[ObjectType, str], Any] = {}
        self._requests = 0

    def __repr__(self) -> str:  # never show the token
        return f"HubSpotClient(host={self._host!r}, page_size={self.page_size}, calls={self.calls})"

    @property
    def _host(self) -> str:
        return str(self._sdk.config.get("host") or "https://api.hubapi.com")

    @property
    def calls(self) -> int:
        """HTTP requests sent so far, including every retry."""
        return self._requests + self._retry.attempt_log.retries

    @property
    def retries(self) -> int:
        """How many of ``calls`` were retries (429 / 5xx / connection errors)."""
        return self._retry.attempt_log.retries

    def list_pages(
        self, object_type: ObjectType, properties: Sequence[str], associations: Sequence[str] = ()
    ) -> Iterator[Page]:
        """Every page of ``GET /crm/v3/objects/{object_type}``, following ``paging.next.after`` to the end.

        A full sync: no result cap, unlike search. Archived records are not included
        (``archived`` is not sent, so HubSpot's default, false, applies).
        """
        object_type = check_object_type(object_type)
        api = self._api(object_type, "basic_api")
        endpoint = f"GET /crm/v3/objects/{object_type}"
        after: str | None = None
        while True:
            cursor = after
            response = self._call(
                endpoint,
                partial(
                    api.get_page,
                    limit=self.page_size,
                    after=cursor,
                    properties=list(properties) or None,
                    associations=list(associations) or None,
                    _preload_content=False,
                    _request_timeout=self.timeout,
                ),
            )
            try:
                after = next_after(response.body)
            except ValueError as exc:
                detail = "response body is not JSON"
                raise HubSpotApiError(endpoint, response.status, response.attempts, detail) from exc
            yield Page(response.body, f"{endpoint} after={cursor}" if cursor else endpoint)
            if after is None:
                return
            if after == cursor:
                raise HubSpotApiError(endpoint, 200, 1, f"paging cursor did not advance (after={after!r})")

    def search_pages(
        self, object_type: ObjectType, properties: Sequence[str], modified_after: datetime
    ) -> Iterator[Page]:
        """Pages of records modified strictly after ``modified_after``, oldest first, via the search API.

        Restarts past the 10,000-result window are handled in :func:`iter_search_pages`. Note that
        search results carry no associations.
        """
        object_type = check_object_type(object_type)
        api = self._api(object_type, "search_api")
        endpoint = f"POST /crm/v3/objects/{object_type}/search"
        package = _SDK_PACKAGES[object_type]

        def post(request: SearchRequest) -> Page:
            body = _sdk_search_request(package, request)
            response = self._call(
                endpoint,
                lambda: api.do_search(
                    public_object_search_request=body, _preload_content=False, _request_timeout=self.timeout
                ),
            )
            return Page(response.body, f"{endpoint} after={request.after}" if request.after else endpoint)

        limit = min(self.page_size, SEARCH_PAGE_LIMIT)
        yield from iter_search_pages(post, object_type, properties, modified_after, limit=limit)

    def close(self) -> None:
        """Close the pooled connections of every API object built so far."""
        for api in self._apis.values():
            api.api_client.rest_client.pool_manager.clear()
        self._apis.clear()

    def _api(self, object_type: ObjectType, name: str) -> Any:
        key = (object_type, name)
        if key not in self._apis:
            self._apis[key] = getattr(getattr(self._sdk.crm, object_type), name)
        return self._apis[key]

    def _call(self, endpoint: str, send: Callable[[], urllib3.BaseHTTPResponse]) -> _Response:
        """One SDK call (retries happen inside it) → the response body, or a clear HubSpotApiError."""
        log = self._retry.attempt_log
        retries_before = log.retries
        self._requests += 1

        def attempts() -> int:
            return 1 + log.retries - retries_before

        try:
            response = send()
        except _API_EXCEPTIONS as exc:
            status = getattr(exc, "status", None) or None  # the SDK uses status 0 for TLS errors
            raise HubSpotApiError(endpoint, status, attempts(), _error_detail(getattr(exc, "body", None))) from exc
        except urllib3.exceptions.HTTPError as exc:  # MaxRetryError on connection errors, timeouts
            raise HubSpotApiError(endpoint, log.last_status, attempts(), type(exc).__name__) from exc
        try:
            return _Response(bytes(response.data), response.status, attempts())
        except urllib3.exceptions.HTTPError as exc:  # body cut off mid-read (not retried: already consumed)
            raise HubSpotApiError(endpoint, response.status, attempts(), type(exc).__name__) from exc
        finally:
            response.release_conn()


def _sdk_search_request(package: Any, request: SearchRequest) -> Any:
    """The SDK's ``PublicObjectSearchRequest`` for one :class:`SearchRequest`.

    The generated model types ``sorts`` as ``list[str]``, but the API documents sort objects
    (``{"propertyName", "direction"}``) and the SDK serializes dicts as they are, so we pass those.
    """
    wire = request.to_json()
    flt = wire["filterGroups"][0]["filters"][0]
    return package.PublicObjectSearchRequest(
        filter_groups=[
            package.FilterGroup(
                filters=[
                    package.Filter(property_name=flt["propertyName"], operator=flt["operator"], value=flt["value"])
                ]
            )
        ],
        sorts=wire["sorts"],
        properties=wire["properties"],
        limit=wire["limit"],
        after=wire.get("after"),
    )


def _error_detail(body: object, limit: int = 300) -> str:
    """HubSpot's error ``category: message`` (or the start of the raw body), kept short for logs."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        payload = json.loads(text)
    except ValueError:
        return text[:limit]
    if isinstance(payload, dict) and payload.get("message"):
        category = payload.get("category")
        message = f"{category}: {payload['message']}" if category else str(payload["message"])
        return message[:limit]
    return text[:limit]
