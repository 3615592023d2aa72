"""The outbox: enqueue once per key, deliver each key once, consent at send time, retries, dry-run files."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.outbound import OutboundMessage, SendResult
from orchestration.outbound.consent import ConsentEvent, ConsentLedger
from orchestration.outbound.outbox import DeliveryReport, Outbox
from orchestration.warehouse import Warehouse
from tests.orchestration.outbound.conftest import RecordingSender, statuses, whatsapp_messages

SOURCE = "campaign:test:v1"


def test_enqueue_twice_keeps_the_same_rows(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    messages = whatsapp_messages(5)
    assert outbox.enqueue(messages, source=SOURCE, run_id="r1") == 5
    first = outbox.rows(source=SOURCE)
    assert outbox.enqueue(messages, source=SOURCE, run_id="r2") == 0
    assert outbox.rows(source=SOURCE) == first
    assert [r["status"] for r in first] == ["pending"] * 5
    row = first[0]
    assert row["recipient"] == "5511900000000" and row["recipient_masked"] == "5511*******00"
    assert (row["contact_id"], row["variant"], row["attempts"], row["run_id"]) == ("0", "A", 0, "r1")
    assert json.loads(row["payload_json"])["template"] == "reativacao_v1_a"
    assert row["created_at"].tzinfo is not None and row["sent_at"] is None

    # a stored key is untouched whatever its status, even when the message would now differ
    Outbox(warehouse).deliver(RecordingSender(), source=SOURCE, run_id="r3", limit=1)
    changed = [OutboundMessage(m.idempotency_key, m.channel, "5599999999999", {"x": 1}) for m in messages]
    assert outbox.enqueue([*changed, *whatsapp_messages(1, prefix="new")], source=SOURCE, run_id="r4") == 1
    after = {r["idempotency_key"]: r for r in outbox.rows(source=SOURCE)}
    assert after[messages[0].idempotency_key]["status"] == "sent"
    assert all(after[m.idempotency_key]["recipient"] == m.recipient for m in messages)


def test_a_key_twice_in_one_batch_must_be_the_same_message(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    message = whatsapp_messages(1)[0]
    assert outbox.enqueue([message, message], source=SOURCE, run_id="r") == 1
    other = OutboundMessage(message.idempotency_key, "whatsapp", "5511988887777", {})
    with pytest.raises(ValueError, match="share the idempotency key"):
        outbox.enqueue([message, other], source=SOURCE, run_id="r")


def test_each_key_is_sent_once_and_a_second_deliver_sends_nothing(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    messages = whatsapp_messages(30)
    outbox.enqueue(messages, source=SOURCE, run_id="r1")
    outbox.enqueue(whatsapp_messages(3, prefix="other"), source="campaign:other:v1", run_id="r1")
    sender = RecordingSender()
    seen: list[tuple[int, int]] = []
    report = outbox.deliver(sender, source=SOURCE, run_id="r2", progress=lambda d, t: seen.append((d, t)))
    assert sender.keys == sorted(m.idempotency_key for m in messages)  # key order, this source only
    assert (report.sent, report.already_done, report.unknown, report.remaining) == (30, 0, 0, 0)
    assert seen[-1] == (30, 30) and len(seen) == 30
    rows = outbox.rows(source=SOURCE)
    assert {r["status"] for r in rows} == {"sent"}
    assert all(r["provider_id"] == f"wamid.{r['idempotency_key']}" for r in rows)
    assert all(r["attempts"] == 1 and r["sent_at"] is not None and r["run_id"] == "r2" for r in rows)

    outbox.enqueue(messages, source=SOURCE, run_id="r3")  # the job retried from the top
    again = outbox.deliver(sender, source=SOURCE, run_id="r3")
    assert len(sender.sent) == 30
    assert (again.sent, again.already_done) == (0, 30)
    assert set(statuses(outbox.rows(source="campaign:other:v1")).values()) == {"pending"}


def test_limit_leaves_the_rest_for_the_next_deliver(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    outbox.enqueue(whatsapp_messages(10), source=SOURCE, run_id="r")
    sender = RecordingSender()
    first = outbox.deliver(sender, source=SOURCE, run_id="r", limit=4)
    assert (first.sent, first.remaining) == (4, 6)
    second = outbox.deliver(sender, source=SOURCE, run_id="r")
    assert (second.sent, second.already_done, second.remaining) == (6, 4, 0)
    assert len(set(sender.keys)) == len(sender.keys) == 10


def test_an_opt_out_recorded_between_enqueue_and_deliver_is_suppressed(warehouse: Warehouse) -> None:
    outbox, ledger = Outbox(warehouse), ConsentLedger(warehouse)
    messages = whatsapp_messages(4)
    emails = [
        OutboundMessage(f"mail:{i}:email", "email", address, {"subject": "Oi", "text": "Volte!"})
        for i, address in enumerate(["ana@example.com", "bruno@example.com"])
    ]
    outbox.enqueue(messages, source=SOURCE, run_id="r")
    outbox.enqueue(emails, source="mail", run_id="r")
    now = dt.datetime.now(dt.UTC)
    ledger.record(
        [
            ConsentEvent("whatsapp", "+55 11 90000-0001", "opted_out", "test", "SAIR", now, "e1"),  # formatted
            ConsentEvent("email", " Ana@Example.COM ", "opted_out", "test", "unsubscribe", now, "e2"),
        ]
    )
    sender = RecordingSender()
    report = outbox.deliver(sender, source=SOURCE, run_id="r", consent=ledger)
    assert (report.sent, report.suppressed) == (3, 1)
    assert "5511900000001" not in [m.recipient for m in sender.sent]
    row = statuses(outbox.rows(source=SOURCE))
    assert row[messages[1].idempotency_key] == "suppressed"

    mail = RecordingSender(channel="email")
    assert outbox.deliver(mail, source="mail", run_id="r", consent=ledger).suppressed == 1
    assert [m.recipient for m in mail.sent] == ["bruno@example.com"]

    # suppression is final for that message, even if the person opts in again later
    ledger.record([ConsentEvent("whatsapp", "5511900000001", "opted_in", "crm", "form", now, "e3")])
    assert outbox.deliver(sender, source=SOURCE, run_id="r", consent=ledger).already_done == 4
    assert len(sender.sent) == 3


def test_without_a_ledger_or_on_other_channels_nothing_is_suppressed(warehouse: Warehouse) -> None:
    outbox, ledger = Outbox(warehouse), ConsentLedger(warehouse)
    now = dt.datetime.now(dt.UTC)
    ledger.record([ConsentEvent("slack", "#cro", "opted_out", "test", "", now, "e1")])
    outbox.enqueue([OutboundMessage("slack:1", "slack", "#cro", {"text": "oi"})], source="s", run_id="r")
    assert outbox.deliver(RecordingSender(channel="slack"), source="s", run_id="r", consent=ledger).sent == 1


def test_failed_retryable_is_retried_by_the_next_deliver_failed_permanent_is_not(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    messages = whatsapp_messages(3)
    outbox.enqueue(messages, source=SOURCE, run_id="r1")
    retryable, permanent, fine = (m.idempotency_key for m in messages)
    flaky = {"down": True}

    def outcome(message: OutboundMessage) -> SendResult:
        if message.idempotency_key == permanent:
            return SendResult("failed_permanent", error="(#132015) template paused for 5511900000001", attempts=1)
        if message.idempotency_key == retryable and flaky["down"]:
            return SendResult("failed_retryable", error="HTTP 503", attempts=4)
        return SendResult("sent", provider_id=f"wamid.{message.idempotency_key}", attempts=1)

    sender = RecordingSender(outcome=outcome)
    first = outbox.deliver(sender, source=SOURCE, run_id="r1")
    assert (first.sent, first.failed_retryable, first.failed_permanent) == (1, 1, 1)
    rows = {r["idempotency_key"]: r for r in outbox.rows(source=SOURCE)}
    assert (rows[retryable]["status"], rows[retryable]["attempts"], rows[retryable]["error"]) == (
        "failed_retryable",
        4,
        "HTTP 503",
    )
    assert rows[permanent]["status"] == "failed_permanent" and "132015" in rows[permanent]["error"]

    flaky["down"] = False
    second = outbox.deliver(sender, source=SOURCE, run_id="r2")
    assert (second.sent, second.already_done, second.failed_permanent) == (1, 2, 0)
    assert sender.keys.count(retryable) == 2 and sender.keys.count(permanent) == 1 and sender.keys.count(fine) == 1
    rows = {r["idempotency_key"]: r for r in outbox.rows(source=SOURCE)}
    assert (rows[retryable]["status"], rows[retryable]["attempts"], rows[retryable]["provider_id"]) == (
        "sent",
        5,
        f"wamid.{retryable}",
    )
    assert outbox.deliver(sender, source=SOURCE, run_id="r3").already_done == 3 and len(sender.sent) == 4


def test_dry_run_writes_readable_files_and_never_the_number(warehouse: Warehouse, tmp_path: Path) -> None:
    files = tmp_path / "outbox"
    outbox = Outbox(warehouse, files_dir=files)
    outbox.enqueue(whatsapp_messages(3), source=SOURCE, run_id="r")
    report = outbox.deliver(RecordingSender(dry_run=True), source=SOURCE, run_id="r")
    assert (report.dry_run, report.sent) == (3, 0)
    assert {r["status"] for r in outbox.rows(source=SOURCE)} == {"dry_run"}
    [md] = list((files / "whatsapp").glob("*.md"))
    [jsonl] = list((files / "whatsapp").glob("*.jsonl"))
    assert md.stem == jsonl.stem == dt.datetime.now(ZoneInfo("America/Sao_Paulo")).date().isoformat()
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Outbox — whatsapp")
    assert text.count("\n## t:") == 3
    assert "- to: 5511*******01" in text and "Oi Cliente 1!" in text
    assert "5511900000001" not in text
    entries = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [e["idempotency_key"] for e in entries] == ["t:00000:whatsapp", "t:00001:whatsapp", "t:00002:whatsapp"]
    assert entries[0]["to"] == "5511*******00" and entries[0]["rendered"] == "Oi Cliente 0!"
    assert "5511900000000" not in jsonl.read_text(encoding="utf-8")

    # a second dry run of the same keys adds nothing to the files
    before = md.read_text(encoding="utf-8")
    outbox.enqueue(whatsapp_messages(3), source=SOURCE, run_id="r2")
    assert outbox.deliver(RecordingSender(dry_run=True), source=SOURCE, run_id="r2").already_done == 3
    assert md.read_text(encoding="utf-8") == before


def test_a_sender_that_raises_leaves_its_row_unknown_and_a_person_resolves_it(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    messages = whatsapp_messages(3)
    outbox.enqueue(messages, source=SOURCE, run_id="r1")

    def outcome(message: OutboundMessage) -> SendResult:
        if message.idempotency_key == messages[1].idempotency_key:
            raise RuntimeError("bug in the channel")
        return SendResult("sent", provider_id="wamid.x")

    sender = RecordingSender(outcome=outcome)
    with pytest.raises(RuntimeError, match="bug in the channel"):
        outbox.deliver(sender, source=SOURCE, run_id="r1")
    rows = statuses(outbox.rows(source=SOURCE))
    assert list(rows.values()) == ["sent", "unknown", "pending"]

    report = outbox.deliver(RecordingSender(), source=SOURCE, run_id="r2")
    assert (report.sent, report.unknown, report.already_done) == (1, 1, 1)  # unknown is never re-sent by itself
    assert not outbox.resolve(messages[0].idempotency_key, status="pending", note="x", run_id="ops")  # not unknown
    assert outbox.resolve(messages[1].idempotency_key, status="pending", note="not in WhatsApp Manager", run_id="ops")
    retry = RecordingSender()
    assert outbox.deliver(retry, source=SOURCE, run_id="r3").sent == 1
    assert retry.keys == [messages[1].idempotency_key]
    with pytest.raises(ValueError):
        outbox.resolve(messages[1].idempotency_key, status="dry_run", note="", run_id="ops")  # type: ignore[arg-type]


def test_logs_mask_recipients(warehouse: Warehouse, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(warehouse)
    outbox.enqueue(whatsapp_messages(2), source=SOURCE, run_id="r")

    def outcome(message: OutboundMessage) -> SendResult:
        return SendResult("failed_permanent", error=f"(#131026) {message.recipient} is not on WhatsApp")

    with caplog.at_level(logging.DEBUG, logger="orchestration.outbound"):
        outbox.deliver(RecordingSender(outcome=outcome), source=SOURCE, run_id="r")
    assert "5511*******01" in caplog.text and "131026" in caplog.text
    assert "5511900000001" not in caplog.text and "5511900000000" not in caplog.text


def test_deliver_on_an_empty_outbox(warehouse: Warehouse) -> None:
    assert Outbox(warehouse).deliver(RecordingSender(), source="nothing", run_id="r") == DeliveryReport(
        duration_s=pytest.approx(0, abs=60)  # type: ignore[arg-type]
    )
    assert Outbox(warehouse).rows() == []


def test_warehouse_execute_commits_and_counts_rows(warehouse: Warehouse) -> None:
    p = "%s" if warehouse.kind == "postgres" else "?"
    assert warehouse.execute("create schema if not exists scratch") == 0
    assert warehouse.execute("create table scratch.t (k varchar primary key, n bigint)") == 0
    assert warehouse.execute("insert into scratch.t values ('a', 1), ('b', 2)") == 2
    assert warehouse.execute(f"update scratch.t set n = n + 1 where k = {p}", ("a",)) == 1
    assert warehouse.execute(f"update scratch.t set n = 0 where k = {p}", ("zzz",)) == 0
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type
        warehouse.execute("insert into scratch.t values ('a', 9)")
    assert warehouse.query("select k, n from scratch.t order by k") == [("a", 2), ("b", 2)]


class BatchSender(RecordingSender):
    """A channel that takes several claimed messages a call (like HubSpot's batch update)."""

    batch_size = 4

    def __init__(self, *, fail: set[str] = frozenset(), explode_on_call: int | None = None) -> None:
        super().__init__(channel="hubspot")
        self.calls: list[list[str]] = []
        self.fail = fail
        self.explode_on_call = explode_on_call

    def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        self.calls.append([m.idempotency_key for m in messages])
        if self.explode_on_call == len(self.calls):
            raise ConnectionError("connection reset mid-batch")
        self.sent.extend(messages)
        return [
            SendResult(status="failed_permanent", error="INVALID_OPTION")
            if m.recipient in self.fail
            else SendResult(status="sent", provider_id=m.recipient)
            for m in messages
        ]


def hubspot_messages(n: int) -> list[OutboundMessage]:
    return [
        OutboundMessage(idempotency_key=f"crm:{i:03d}", channel="hubspot", recipient=f"{i:03d}", payload={"p": i})
        for i in range(n)
    ]


def test_a_batching_sender_gets_claimed_rows_in_batches_once(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    outbox.enqueue(hubspot_messages(10), source="crm", run_id="r1")
    sender = BatchSender(fail={"003"})
    report = outbox.deliver(sender, source="crm", run_id="r1")
    assert [len(call) for call in sender.calls] == [4, 4, 2]
    assert (report.sent, report.failed_permanent) == (9, 1)
    assert statuses(outbox.rows(source="crm"))["crm:003"] == "failed_permanent"
    again = outbox.deliver(sender, source="crm", run_id="r2")
    assert again.already_done == 10 and len(sender.calls) == 3


def test_a_batch_that_blows_up_leaves_its_rows_unknown_and_the_rest_recorded(warehouse: Warehouse) -> None:
    outbox = Outbox(warehouse)
    outbox.enqueue(hubspot_messages(10), source="crm", run_id="r1")
    with pytest.raises(ConnectionError):
        outbox.deliver(BatchSender(explode_on_call=2), source="crm", run_id="r1")
    found = statuses(outbox.rows(source="crm"))
    assert [k for k, s in found.items() if s == "sent"] == [f"crm:{i:03d}" for i in range(4)]
    assert [k for k, s in found.items() if s == "unknown"] == [f"crm:{i:03d}" for i in range(4, 8)]
    later = BatchSender()
    report = outbox.deliver(later, source="crm", run_id="r2")
    assert later.calls == [["crm:008", "crm:009"]] and report.unknown == 4  # never re-sent by itself
