"""Contact write-back: diff-only changes, batch read/update against a fake HubSpot, retries and per-contact errors.

The fake below serves HubSpot's documented batch endpoints, written from the CRM v3 reference:
``POST /crm/v3/objects/contacts/batch/read`` and ``/batch/update`` take at most 100 ``inputs``
(400 ``VALIDATION_ERROR`` otherwise) and answer ``{"status": "COMPLETE", "results": [{"id",
"properties", "createdAt", "updatedAt", "archived"}], "startedAt", "completedAt"}``, or ``207`` with
``numErrors`` and ``errors: [{"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids":
[...]}}]`` when some ids do not exist. An invalid value for an enumeration, an unknown property or
a repeated id refuses the whole batch with a 400, as HubSpot does.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from integrations.hubspot.writeback import (
    ContactChange,
    HubSpotContactWriter,
    HubSpotWriteError,
    diff_contacts,
    same_value,
)

READ = "/crm/v3/objects/contacts/batch/read"
UPDATE = "/crm/v3/objects/contacts/batch/update"
STAMP = "2026-11-25T10:00:00.000Z"
PROPERTIES = {"segment", "ltv_brl", "churn_risk", "email", "firstname"}
CHURN_RISK_OPTIONS = {"low", "medium", "high"}


@dataclass
class FakeContactsBatch:
    server: HTTPServer
    contacts: dict[str, dict[str, str | None]]
    token: str = "pat-writeback-token"
    failures: deque[tuple[int | None, dict[str, str]]] = field(default_factory=deque)  # None: serve normally

    def install(self) -> FakeContactsBatch:
        self.server.expect_request(READ, method="POST").respond_with_handler(lambda r: self._guard(r, self._read))
        self.server.expect_request(UPDATE, method="POST").respond_with_handler(lambda r: self._guard(r, self._update))
        return self

    @property
    def host(self) -> str:
        return self.server.url_for("").rstrip("/")

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(request.get_data()) for request, _ in self.server.log if request.path == path]

    def fail_next(self, *statuses: int, retry_after: str | None = None, after: int = 0) -> None:
        """The next requests get these statuses (HubSpot error bodies), once ``after`` requests were served."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.failures.extend([(None, {})] * after)
        self.failures.extend((status, headers) for status in statuses)

    def _guard(self, request: Request, serve: Callable[[dict[str, Any]], Response]) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        status, headers = self.failures.popleft() if self.failures else (None, {})
        if status is not None:
            category = "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR"
            return _error(status, category, "injected failure", headers)
        body = json.loads(request.get_data())
        if len(body.get("inputs", [])) > 100:
            return _error(400, "VALIDATION_ERROR", "Too many inputs: limit is 100.")
        return serve(body)

    def _read(self, body: dict[str, Any]) -> Response:
        wanted = body["properties"]
        ids = [item["id"] for item in body["inputs"]]
        results = [self._record(cid, wanted) for cid in ids if cid in self.contacts]
        missing = [cid for cid in ids if cid not in self.contacts]
        return _batch(results, missing, "Could not get some CONTACT objects, they may be deleted or not exist.")

    def _update(self, body: dict[str, Any]) -> Response:
        ids = [item["id"] for item in body["inputs"]]
        if len(set(ids)) != len(ids):
            return _error(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input.")
        problems = []
        for item in body["inputs"]:
            for name, value in item["properties"].items():
                if name not in PROPERTIES:
                    problems.append({"isValid": False, "name": name, "error": "PROPERTY_DOESNT_EXIST"})
                elif name == "churn_risk" and value not in CHURN_RISK_OPTIONS:
                    problems.append({"isValid": False, "name": name, "error": "INVALID_OPTION", "value": value})
        if problems:
            return _error(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}")
        results, missing = [], []
        for item in body["inputs"]:
            if item["id"] not in self.contacts:
                missing.append(item["id"])
                continue
            self.contacts[item["id"]].update(item["properties"])
            results.append(self._record(item["id"], list(item["properties"])))
        return _batch(results, missing, "Could not find some CONTACT objects to update.")

    def _record(self, contact_id: str, wanted: list[str]) -> dict[str, Any]:
        stored = self.contacts[contact_id]
        properties = {name: stored.get(name) for name in wanted}
        properties |= {"hs_object_id": contact_id, "createdate": STAMP, "lastmodifieddate": STAMP}
        return {"id": contact_id, "properties": properties, "createdAt": STAMP, "updatedAt": STAMP, "archived": False}


def _batch(results: list[dict[str, Any]], missing: list[str], message: str) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": STAMP,
        "startedAt": STAMP,
        "completedAt": STAMP,
    }
    if not missing:
        return _json(body, 200)
    body["numErrors"] = 1
    body["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": message,
            "context": {"ids": missing},
            "links": {},
        }
    ]
    return _json(body, 207)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, category: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"status": "error", "message": message, "correlationId": "0000-test", "category": category}
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def contact(n: int, **values: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {"email": f"cliente{n}@maispet.com.br", "segment": "novo", "ltv_brl": "120.50"}
    return {**base, "churn_risk": None, **values}


@pytest.fixture
def fake(httpserver: HTTPServer) -> Iterator[FakeContactsBatch]:
    yield FakeContactsBatch(httpserver, {str(n): contact(n) for n in range(1, 251)}).install()
    httpserver.check_handler_errors()


@pytest.fixture
def writer(fake: FakeContactsBatch, sleeps: list[float]) -> Iterator[HubSpotContactWriter]:
    with HubSpotContactWriter(fake.token, host=fake.host, sleep=sleeps.append) as built:
        yield built


# --- diff -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "desired", "same"),
    [
        ("12.50", "12.5", True),
        ("0", "0.00", True),
        ("+3", "3", True),
        ("100", "100.0", True),
        (".5", "0.5", True),
        (None, "", True),
        ("", None, True),
        ("12.5", "12.51", False),
        ("1e3", "1000", False),  # only plain decimals are compared as numbers
        ("alto", "Alto", False),
        (None, "0", False),
    ],
)
def test_same_value(current: str | None, desired: str | None, same: bool) -> None:
    assert same_value(current, desired) is same


def test_diff_keeps_only_changed_contacts_and_properties() -> None:
    current = {
        "1": {"segment": "fiel", "ltv_brl": "1200.50", "churn_risk": "low"},
        "2": {"segment": "fiel", "ltv_brl": "80", "churn_risk": None},
        "3": {"segment": None, "ltv_brl": None, "churn_risk": None},
    }
    desired = {
        "1": {"segment": "fiel", "ltv_brl": "1200.5", "churn_risk": "low"},  # unchanged (numbers equal)
        "2": {"segment": "fiel", "ltv_brl": "95.00", "churn_risk": ""},  # only the LTV changed
        "3": {"segment": "em_risco", "ltv_brl": "10", "churn_risk": "high"},
        "4": {"segment": "novo"},  # not in HubSpot's answer: sent, so the failure is reported
    }

    changes = diff_contacts(current, desired)

    assert changes == [
        ContactChange("2", {"ltv_brl": "95.00"}, {"ltv_brl": "80"}),
        ContactChange(
            "3",
            {"segment": "em_risco", "ltv_brl": "10", "churn_risk": "high"},
            {"segment": None, "ltv_brl": None, "churn_risk": None},
        ),
        ContactChange("4", {"segment": "novo"}, {"segment": None}),
    ]


# --- batch read ------------------------------------------------------------------------------------


def test_read_in_batches_of_100_and_leaves_missing_contacts_out(
    fake: FakeContactsBatch, writer: HubSpotContactWriter
) -> None:
    ids = [str(n) for n in range(1, 251)] + ["9001", "9002"]

    current = writer.read(ids, ["segment", "ltv_brl", "churn_risk"])

    bodies = fake.bodies(READ)
    assert [len(b["inputs"]) for b in bodies] == [100, 100, 52]
    assert bodies[0]["properties"] == ["segment", "ltv_brl", "churn_risk"]
    assert bodies[0]["inputs"][0] == {"id": "1"}
    assert len(current) == 250  # 9001 and 9002 came back in the 207's errors
    assert current["7"] == {"segment": "novo", "ltv_brl": "120.50", "churn_risk": None}  # only what was asked


# --- batch update -----------------------------------------------------------------------------------


def test_update_in_batches_of_100(fake: FakeContactsBatch, writer: HubSpotContactWriter) -> None:
    changes = [ContactChange(str(n), {"segment": "fiel", "ltv_brl": "300"}, {}) for n in range(1, 251)]

    report = writer.update(changes)

    assert report.updated == 250
    assert report.failed == []
    assert report.batches == 3
    assert report.retries == 0
    bodies = fake.bodies(UPDATE)
    assert [len(b["inputs"]) for b in bodies] == [100, 100, 50]
    assert bodies[0]["inputs"][0] == {"id": "1", "properties": {"segment": "fiel", "ltv_brl": "300"}}
    assert fake.contacts["250"]["segment"] == "fiel"


def test_read_diff_update_twice_sends_nothing_the_second_time(
    fake: FakeContactsBatch, writer: HubSpotContactWriter
) -> None:
    desired = {str(n): {"segment": "fiel" if n % 2 else "novo", "ltv_brl": "120.5"} for n in range(1, 151)}

    first = writer.update(diff_contacts(writer.read(list(desired), ["segment", "ltv_brl"]), desired))
    second_changes = diff_contacts(writer.read(list(desired), ["segment", "ltv_brl"]), desired)

    assert first.updated == 75  # the odd ones; "120.50" already equals "120.5"
    assert second_changes == []
    assert writer.update(second_changes).batches == 0
    assert len(fake.bodies(UPDATE)) == 1


def test_a_429_storm_then_success(fake: FakeContactsBatch, writer: HubSpotContactWriter, sleeps: list[float]) -> None:
    fake.fail_next(429, 429, 429, retry_after="1")

    report = writer.update([ContactChange(str(n), {"churn_risk": "high"}, {}) for n in range(1, 11)])

    assert report.updated == 10
    assert report.retries == 3
    assert report.batches == 1
    assert sleeps == [1, 1, 1]
    assert len(fake.bodies(UPDATE)) == 4  # the same batch, re-sent


def test_207_reports_the_contacts_hubspot_could_not_update(
    fake: FakeContactsBatch, writer: HubSpotContactWriter
) -> None:
    changes = [ContactChange(cid, {"segment": "fiel"}, {}) for cid in ("1", "404", "2", "405")]

    report = writer.update(changes)

    assert report.updated == 2
    assert report.failed == [
        ("404", "OBJECT_NOT_FOUND: Could not find some CONTACT objects to update."),
        ("405", "OBJECT_NOT_FOUND: Could not find some CONTACT objects to update."),
    ]


def test_one_invalid_value_does_not_sink_its_batch(fake: FakeContactsBatch, writer: HubSpotContactWriter) -> None:
    changes = [ContactChange(str(n), {"churn_risk": "high"}, {}) for n in range(1, 101)]
    changes[36] = ContactChange("37", {"churn_risk": "altíssimo"}, {})

    report = writer.update(changes)

    assert report.updated == 99
    ((bad_id, reason),) = report.failed
    assert bad_id == "37"
    assert reason.startswith("HTTP 400: VALIDATION_ERROR: Property values were not valid")
    assert "INVALID_OPTION" in reason
    assert fake.contacts["36"]["churn_risk"] == "high"
    assert fake.contacts["37"]["churn_risk"] is None
    assert report.batches <= 1 + 2 * 7  # halving 100 down to one contact


def test_an_unknown_property_fails_the_batch_once_without_splitting(
    fake: FakeContactsBatch, writer: HubSpotContactWriter
) -> None:
    report = writer.update([ContactChange(str(n), {"churn_score": "0.3"}, {}) for n in range(1, 51)])

    assert report.updated == 0
    assert len(report.failed) == 50
    assert "PROPERTY_DOESNT_EXIST" in report.failed[0][1]
    assert report.batches == 1


def test_changes_for_one_contact_are_merged_into_one_input(
    fake: FakeContactsBatch, writer: HubSpotContactWriter
) -> None:
    changes = [ContactChange("5", {"segment": "fiel"}, {}), ContactChange("5", {"ltv_brl": "999"}, {})]

    report = writer.update(changes)

    assert report.updated == 1
    assert fake.bodies(UPDATE)[0]["inputs"] == [{"id": "5", "properties": {"segment": "fiel", "ltv_brl": "999"}}]


def test_persistent_5xx_raises_with_the_report_so_far(fake: FakeContactsBatch, sleeps: list[float]) -> None:
    writer = HubSpotContactWriter(fake.token, host=fake.host, max_retries=2, sleep=sleeps.append)
    changes = [ContactChange(str(n), {"segment": "fiel"}, {}) for n in range(1, 251)]
    fake.fail_next(*[503] * 3, after=1)  # the first batch goes through, the second never does

    with pytest.raises(HubSpotWriteError) as caught:
        writer.update(changes)

    error = caught.value
    assert error.status == 503
    assert error.attempts == 3
    assert error.endpoint == "POST /crm/v3/objects/contacts/batch/update"
    assert "HTTP 503" in str(error)
    assert (error.report.updated, error.report.batches, error.report.retries) == (100, 1, 2)
    assert fake.contacts["100"]["segment"] == "fiel"
    assert fake.contacts["101"]["segment"] == "novo"
    assert len(fake.bodies(UPDATE)) == 4  # no third batch sent after giving up


def test_bad_token_raises_and_never_shows_the_token(fake: FakeContactsBatch) -> None:
    writer = HubSpotContactWriter("pat-wrong", host=fake.host)

    with pytest.raises(HubSpotWriteError) as caught:
        writer.update([ContactChange("1", {"segment": "fiel"}, {})])

    assert caught.value.status == 401
    assert "INVALID_AUTHENTICATION" in str(caught.value)
    assert "pat-wrong" not in str(caught.value)
    assert "pat-wrong" not in repr(writer)
