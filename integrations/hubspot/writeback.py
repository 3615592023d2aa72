"""Reverse sync: computed contact properties (segment, LTV, churn risk) written back to HubSpot, diff-only.

The flow is read → diff → update: :meth:`HubSpotContactWriter.read` fetches the current values
(``POST /crm/v3/objects/contacts/batch/read``, 100 ids a request), :func:`diff_contacts` keeps only
the contacts and properties whose value really changes, and :meth:`HubSpotContactWriter.update`
sends those (``POST /crm/v3/objects/contacts/batch/update``, 100 contacts a request). Re-running
with nothing changed sends nothing, so the sync is idempotent and cheap on HubSpot's rate limit.

Retries are the HubSpot client's policy (:mod:`integrations.hubspot.retry`, urllib3 below the
official SDK): 429 honours ``Retry-After``, 5xx backs off; re-sending a batch update is safe, as
it sets the same values. Bad contacts never raise: a ``207`` multi-status answer names them in its
``errors`` (``context.ids``), and a batch refused whole with a ``400`` (one invalid value fails the
batch) is split in halves until the bad contacts are alone, so the good ones are still written.
Failures of the call itself (auth, retries spent) raise :class:`HubSpotWriteError`, carrying the
report of what was written before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import hubspot
import hubspot.crm.contacts as sdk_contacts
import urllib3

from integrations.closing import Closing
from integrations.hubspot.client import _error_detail
from integrations.hubspot.errors import HubSpotApiError
from integrations.hubspot.retry import Sleep, hubspot_retry

BATCH_LIMIT = 100  # inputs per batch read / update request
READ_ENDPOINT = "POST /crm/v3/objects/contacts/batch/read"
UPDATE_ENDPOINT = "POST /crm/v3/objects/contacts/batch/update"

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# 400s about a property, not a contact: bisecting the batch cannot isolate anything.
_PROPERTY_ERRORS = ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")


@dataclass(frozen=True)
class ContactChange:
    """The properties of one contact that differ from HubSpot, with the values they replace."""

    contact_id: str
    properties: dict[str, str]
    previous: dict[str, str | None]


@dataclass
class WriteReport:
    updated: int = 0  # contacts HubSpot confirmed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (contact id, HubSpot's reason)
    batches: int = 0  # batch update requests answered (retries not counted)
    retries: int = 0  # HTTP retries (429 / 5xx / connection) spent


class HubSpotWriteError(HubSpotApiError):
    """The batch update call itself failed (auth, retries spent); ``report`` is what was written before."""

    def __init__(self, error: HubSpotApiError, report: WriteReport) -> None:
        super().__init__(error.endpoint, error.status, error.attempts, error.detail)
        self.report = report


def same_value(current: str | None, desired: str | None) -> bool:
    """HubSpot's value equals ours: ``None`` == ``""``, and plain decimals by value (``"12.50"`` == ``"12.5"``)."""
    a, b = current or "", desired or ""
    if a == b:
        return True
    if _PLAIN_NUMBER.fullmatch(a.strip()) and _PLAIN_NUMBER.fullmatch(b.strip()):
        return Decimal(a.strip()) == Decimal(b.strip())
    return False


def diff_contacts(
    current: Mapping[str, Mapping[str, str | None]], desired: Mapping[str, Mapping[str, str]]
) -> list[ContactChange]:
    """One change per contact in ``desired`` with a property whose value differs from ``current``, in order.

    A contact missing from ``current`` (not found in HubSpot) counts as having no values, so its
    change is sent and HubSpot's answer (not found) lands in the report instead of being hidden.
    """
    changes = []
    for contact_id, wanted in desired.items():
        have = current.get(contact_id) or {}
        properties = {name: value for name, value in wanted.items() if not same_value(have.get(name), value)}
        if properties:
            previous = {name: have.get(name) for name in properties}
            changes.append(ContactChange(contact_id=str(contact_id), properties=properties, previous=previous))
    return changes


class HubSpotContactWriter(Closing):
    """Batch read and batch update of contact properties over the official SDK (``hubspot.HubSpot``).

    ``host`` overrides ``https://api.hubapi.com`` as in :class:`~integrations.hubspot.HubSpotClient`;
    ``sleep`` is only for tests.
    """

    def __init__(
        self,
        access_token: str,
        *,
        host: str | None = None,
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        sleep: Sleep | None = None,
    ) -> None:
        if not access_token:
            raise ValueError("HubSpot access token is empty (set HUBSPOT_ACCESS_TOKEN)")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.timeout = timeout
        self._retry = hubspot_retry(max_retries=max_retries, backoff_factor=backoff_factor, sleep=sleep)
        config: dict[str, Any] = {"access_token": access_token, "retry": self._retry}
        if host:
            config["host"] = host.rstrip("/")
        self._batch_api = hubspot.HubSpot(**config).crm.contacts.batch_api  # one ApiClient and pool, kept

    def __repr__(self) -> str:  # never show the token
        return f"HubSpotContactWriter(retries={self.retries})"

    @property
    def retries(self) -> int:
        return self._retry.attempt_log.retries

    def read(self, contact_ids: Sequence[str], properties: Sequence[str]) -> dict[str, dict[str, str | None]]:
        """Current values of ``properties`` for each contact found (missing or archived ids are left out)."""
        ids = list(dict.fromkeys(str(contact_id) for contact_id in contact_ids))
        found: dict[str, dict[str, str | None]] = {}
        for start in range(0, len(ids), BATCH_LIMIT):
            request = sdk_contacts.BatchReadInputSimplePublicObjectId(
                properties=list(properties),
                properties_with_history=[],
                inputs=[
                    sdk_contacts.SimplePublicObjectId(id=contact_id) for contact_id in ids[start : start + BATCH_LIMIT]
                ],
            )
            send = partial(self._batch_api.read, request, archived=False, **self._options())
            body = self._post(READ_ENDPOINT, send)
            for record in body.get("results") or []:
                values = record.get("properties") or {}
                found[str(record["id"])] = {name: values.get(name) for name in properties}
        return found

    def update(self, changes: Sequence[ContactChange]) -> WriteReport:
        """Send ``changes`` in batches of 100; per-contact failures are reported, never raised."""
        merged: dict[str, dict[str, str]] = {}
        for change in changes:  # HubSpot refuses a batch naming one id twice
            if change.properties:
                merged.setdefault(change.contact_id, {}).update(change.properties)
        items = list(merged.items())
        report = WriteReport()
        retries_before = self.retries
        try:
            for start in range(0, len(items), BATCH_LIMIT):
                self._update_batch(items[start : start + BATCH_LIMIT], report)
        except HubSpotApiError as exc:
            report.retries = self.retries - retries_before
            raise HubSpotWriteError(exc, report) from exc
        report.retries = self.retries - retries_before
        return report

    def close(self) -> None:
        self._batch_api.api_client.rest_client.pool_manager.clear()

    def _update_batch(self, items: list[tuple[str, dict[str, str]]], report: WriteReport) -> None:
        request = sdk_contacts.BatchInputSimplePublicObjectBatchInput(
            inputs=[sdk_contacts.SimplePublicObjectBatchInput(id=cid, properties=props) for cid, props in items]
        )
        try:
            body = self._post(UPDATE_ENDPOINT, partial(self._batch_api.update, request, **self._options()))
        except HubSpotApiError as exc:
            if exc.status not in (400, 404, 409):
                raise
            report.batches += 1
            whole_batch = any(code in exc.detail for code in _PROPERTY_ERRORS)  # every half would fail alike
            if len(items) > 1 and not whole_batch:  # one bad value refuses the whole batch: find it by halves
                middle = len(items) // 2
                self._update_batch(items[:middle], report)
                self._update_batch(items[middle:], report)
            else:
                report.failed.extend((contact_id, f"HTTP {exc.status}: {exc.detail}") for contact_id, _ in items)
            return
        report.batches += 1
        updated = {str(record.get("id")) for record in body.get("results") or []}
        reasons = _error_reasons(body.get("errors") or [])
        for contact_id, _ in items:
            if contact_id in updated:
                report.updated += 1
            else:
                reason = reasons.get(contact_id) or reasons.get("") or "not in HubSpot's batch update results"
                report.failed.append((contact_id, reason))

    def _options(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self.timeout}

    def _post(self, endpoint: str, send: Callable[[], urllib3.BaseHTTPResponse]) -> dict[str, Any]:
        """One SDK call (retries happen inside it) → the decoded JSON body, or a clear HubSpotApiError."""
        log = self._retry.attempt_log
        before = log.retries
        try:
            response = send()
        except sdk_contacts.ApiException as exc:
            status = getattr(exc, "status", None) or None
            detail = _error_detail(getattr(exc, "body", None))
            raise HubSpotApiError(endpoint, status, 1 + log.retries - before, detail) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise HubSpotApiError(endpoint, log.last_status, 1 + log.retries - before, type(exc).__name__) from exc
        try:
            data = bytes(response.data)
        finally:
            response.release_conn()
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise HubSpotApiError(endpoint, response.status, 1, "response body is not JSON") from exc
        if not isinstance(body, dict):
            raise HubSpotApiError(endpoint, response.status, 1, "response body is not a JSON object")
        return body


def _error_reasons(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Contact id → ``CATEGORY: message`` from a 207 body's ``errors``; key ``""`` for errors naming no id."""
    reasons: dict[str, str] = {}
    for error in errors:
        text = f"{error.get('category') or 'ERROR'}: {error.get('message') or ''}".strip()
        ids = (error.get("context") or {}).get("ids") or (error.get("context") or {}).get("id") or []
        for contact_id in ids if isinstance(ids, list) else [ids]:
            reasons[str(contact_id)] = text
        if not ids:
            reasons.setdefault("", text)
    return reasons


__all__ = [
    "ContactChange",
    "HubSpotContactWriter",
    "HubSpotWriteError",
    "WriteReport",
    "diff_contacts",
    "same_value",
]
