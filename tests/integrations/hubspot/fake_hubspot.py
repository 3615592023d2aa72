"""A fake HubSpot CRM v3 at the HTTP boundary, for the official SDK to talk to through pytest-httpserver.

Written independently of the code under test and from HubSpot's documented behaviour:

* ``GET /crm/v3/objects/{type}``: ``limit`` <= 100, opaque ``after`` cursor (base64 here, so the
  client cannot get away with treating it as a number), ``properties`` / ``associations`` as
  repeated or comma-separated query parameters, ``paging.next.{after,link}``;
* ``POST /crm/v3/objects/{type}/search``: ``filterGroups`` with GT/GTE/LT/LTE on epoch-ms values,
  ``sorts`` ascending/descending, numeric ``after`` offsets, ``total``, no associations, and a
  400 error when paging past the 10,000-result window; records sharing a sort value come back in
  an order that changes with the query (HubSpot does not promise a tie order either);
* ``Authorization: Bearer <token>`` required, 401 otherwise;
* failures injected per request with :meth:`FakeHubSpot.fail_next`.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SEARCH_CAP = 10_000
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}


def iso_ms(epoch_ms: int) -> str:
    """HubSpot's timestamp text: ``2024-05-02T09:30:00.123Z``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@cache
def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000 + 0.5)


def make_contact(n: int, modified_ms: int, **extra: str | None) -> dict[str, Any]:
    """A stored contact with every property HubSpot might hold (more than any request asks for)."""
    created = iso_ms(1_700_000_000_000 + n)
    props: dict[str, str | None] = {
        "email": f"cliente{n}@maispet.com.br",
        "phone": f"+5511999{n:06d}",
        "firstname": "Ana",
        "lastname": f"Souza {n}",
        "city": "São Paulo",
        "state": "SP",
        "lifecyclestage": "customer",
        "hs_analytics_source": "PAID_SOCIAL",
        "acquisition_channel": "instagram",
        "whatsapp_opt_in": "true",
        "whatsapp_opt_in_date": None,
        "createdate": created,
        "lastmodifieddate": iso_ms(modified_ms),
        "hs_object_id": str(n),
        **extra,
    }
    return {
        "id": str(n),
        "properties": props,
        "createdAt": created,
        "updatedAt": iso_ms(modified_ms),
        "archived": False,
    }


def make_deal(n: int, modified_ms: int, contact_ids: list[str]) -> dict[str, Any]:
    created = iso_ms(1_700_000_000_000 + n)
    record: dict[str, Any] = {
        "id": str(n),
        "properties": {
            "dealname": f"Assinatura {n}",
            "amount": "129.90",
            "closedate": created,
            "createdate": created,
            "hs_lastmodifieddate": iso_ms(modified_ms),
            "dealstage": "closedwon",
            "pipeline": "default",
            "plan": "racao_premium",
            "billing_cycle": "monthly",
            "order_type": "subscription",
            "discount_amount": "0",
            "shipping_amount": "15.00",
            "refund_amount": None,
            "hs_object_id": str(n),
        },
        "createdAt": created,
        "updatedAt": iso_ms(modified_ms),
        "archived": False,
    }
    if contact_ids:
        record["associations"] = {
            "contacts": {"results": [{"id": cid, "type": "deal_to_contact"} for cid in contact_ids]}
        }
    return record


@dataclass
class FakeHubSpot:
    server: HTTPServer
    records: dict[str, list[dict[str, Any]]]
    token: str = "pat-test-token"
    search_cap: int = SEARCH_CAP
    failures: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    bodies_sent: list[dict[str, Any]] = field(default_factory=list)
    _sorted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def install(self) -> FakeHubSpot:
        for object_type in self.records:
            self.server.expect_request(f"/crm/v3/objects/{object_type}", method="GET").respond_with_handler(
                lambda request, ot=object_type: self._guard(request, ot, self._list)
            )
            self.server.expect_request(f"/crm/v3/objects/{object_type}/search", method="POST").respond_with_handler(
                lambda request, ot=object_type: self._guard(request, ot, self._search)
            )
        return self

    @property
    def host(self) -> str:
        return self.server.url_for("").rstrip("/")

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.server.log]

    def fail_next(self, *statuses: int, retry_after: str | None = None) -> None:
        """The next ``len(statuses)`` requests get these statuses (HubSpot-style error bodies)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.failures.extend((status, headers) for status in statuses)

    # --- request handling -------------------------------------------------------------------

    def _guard(self, request: Request, object_type: str, serve: Any) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        if self.failures:
            status, headers = self.failures.popleft()
            category = "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR"
            return _error(status, "injected failure", category, headers)
        return serve(request, object_type)

    def _list(self, request: Request, object_type: str) -> Response:
        limit = int(request.args.get("limit", "10"))
        if limit > 100:
            return _error(400, "limit must be <= 100", "VALIDATION_ERROR")
        offset = int(base64.b64decode(request.args["after"]).decode()) if "after" in request.args else 0
        wanted = _multi(request, "properties")
        associations = _multi(request, "associations")
        rows = self.records[object_type]
        results = [_project(row, wanted, associations) for row in rows[offset : offset + limit]]
        body: dict[str, Any] = {"results": results}
        if offset + limit < len(rows):
            after = base64.b64encode(str(offset + limit).encode()).decode()
            body["paging"] = {
                "next": {"after": after, "link": f"{self.host}/crm/v3/objects/{object_type}?after={after}"}
            }
        return self._respond(body)

    def _search(self, request: Request, object_type: str) -> Response:
        query = json.loads(request.get_data())
        limit = int(query.get("limit", 10))
        offset = int(query.get("after", 0))
        if limit > 100:
            return _error(400, "limit must be <= 100", "VALIDATION_ERROR")
        if offset + limit > self.search_cap:
            return _error(400, f"paging past {self.search_cap} results is not allowed", "VALIDATION_ERROR")
        rows = self._matching_sorted(object_type, query.get("filterGroups", []), query.get("sorts", []))
        wanted = query.get("properties") or []
        results = [_project(row, wanted, []) for row in rows[offset : offset + limit]]
        body: dict[str, Any] = {"total": len(rows), "results": results}
        if offset + limit < len(rows):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return self._respond(body)

    def _matching_sorted(self, object_type: str, groups: list[Any], sorts: list[Any]) -> list[dict[str, Any]]:
        key = json.dumps([object_type, groups, sorts], sort_keys=True)
        if key not in self._sorted:
            rows = [row for row in self.records[object_type] if _matches(row, groups)]
            # Ties come back in an order that depends on the query, as nothing promises otherwise.
            rows.sort(key=lambda row: zlib.crc32(f"{key}:{row['id']}".encode()))
            for sort in reversed(sorts):
                name = sort["propertyName"]
                rows.sort(key=lambda row, n=name: _sort_value(row, n), reverse=sort.get("direction") == "DESCENDING")
            self._sorted[key] = rows
        return self._sorted[key]

    def _respond(self, body: dict[str, Any]) -> Response:
        self.bodies_sent.append(body)
        return Response(json.dumps(body), status=200, content_type="application/json;charset=utf-8")


def _error(status: int, message: str, category: str, headers: dict[str, str] | None = None) -> Response:
    body = {"status": "error", "message": message, "correlationId": "00000000-test", "category": category}
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _multi(request: Request, name: str) -> list[str]:
    return [part for value in request.args.getlist(name) for part in value.split(",") if part]


def _project(row: dict[str, Any], wanted: list[str], associations: list[str]) -> dict[str, Any]:
    """What HubSpot returns: only requested properties, associations only when asked (never in search)."""
    props = row["properties"]
    out = {**row, "properties": {name: props[name] for name in wanted if name in props}}
    out.pop("associations", None)
    if associations and "associations" in row:
        out["associations"] = {key: value for key, value in row["associations"].items() if key in associations}
    return out


def _sort_value(row: dict[str, Any], name: str) -> int | str:
    value = row["properties"].get(name) or ""
    return epoch_ms(value) if name in MODIFIED.values() else value


def _matches(row: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    return any(all(_check(row, flt) for flt in group["filters"]) for group in groups)


def _check(row: dict[str, Any], flt: dict[str, Any]) -> bool:
    raw = row["properties"].get(flt["propertyName"])
    if raw is None:
        return False
    value, target = epoch_ms(raw), int(flt["value"])
    return {
        "GT": value > target,
        "GTE": value >= target,
        "LT": value < target,
        "LTE": value <= target,
        "EQ": value == target,
    }[flt["operator"]]
