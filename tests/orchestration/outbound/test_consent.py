"""The consent ledger: replay-safe events, latest event wins, inbound SAIR/PARAR/STOP become opt-outs once."""

from __future__ import annotations

import datetime as dt

from orchestration.outbound.consent import ConsentEvent, ConsentLedger
from orchestration.warehouse import Warehouse
from tests.orchestration.outbound.conftest import inbound, load_inbound

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def event(event_id: str, status: str, at: dt.datetime, address: str = "5511987654321") -> ConsentEvent:
    return ConsentEvent("whatsapp", address, status, "test", "why", at, event_id)  # type: ignore[arg-type]


def test_record_is_keyed_by_event_id_and_replays_change_nothing(warehouse: Warehouse) -> None:
    ledger = ConsentLedger(warehouse)
    events = [event("a", "opted_in", T0), event("b", "opted_out", T0 + dt.timedelta(days=1))]
    assert ledger.record(events) == 2
    assert ledger.record(events) == 0
    assert ledger.record([event("b", "opted_in", T0 + dt.timedelta(days=9))]) == 0  # same id: the first stays
    assert ledger.record([]) == 0
    assert warehouse.row_count("consent", "ledger") == 2
    assert ledger.is_suppressed("whatsapp", "5511987654321")


def test_the_latest_event_decides_and_a_tie_suppresses(warehouse: Warehouse) -> None:
    ledger = ConsentLedger(warehouse)
    assert not ledger.is_suppressed("whatsapp", "5511987654321")  # no ledger table yet
    assert ledger.suppressed("whatsapp") == set()
    ledger.record(
        [
            event("1", "opted_out", T0, "5511900000001"),
            event("2", "opted_in", T0 + dt.timedelta(hours=1), "5511900000001"),  # opted in again later
            event("3", "opted_in", T0, "5511900000002"),
            event("4", "opted_out", T0 + dt.timedelta(hours=1), "5511900000002"),
            event("5", "opted_in", T0, "5511900000003"),
            event("6", "opted_out", T0, "5511900000003"),  # same instant: the opt-out wins
            event("7", "opted_out", T0 - dt.timedelta(days=1), "5511900000004"),
            event("8", "opted_out", T0 - dt.timedelta(days=1), "5511900000004"),
            ConsentEvent("email", "Ana@Example.com", "opted_out", "test", "", T0, "9"),
        ]
    )
    assert not ledger.is_suppressed("whatsapp", "5511900000001")
    assert ledger.is_suppressed("whatsapp", "+55 (11) 90000-0002")
    assert ledger.is_suppressed("whatsapp", "5511900000003")
    assert ledger.suppressed("whatsapp") == {"5511900000002", "5511900000003", "5511900000004"}
    assert ledger.suppressed("email") == {"ana@example.com"}
    assert ledger.is_suppressed("email", "ana@example.com ")
    assert not ledger.is_suppressed("email", "5511900000002")


def test_inbound_opt_outs_are_recorded_once_and_the_cursor_advances(warehouse: Warehouse) -> None:
    ledger = ConsentLedger(warehouse)
    assert ledger.sync_whatsapp_inbound() == (0, None)  # no raw table yet
    load_inbound(
        warehouse,
        [
            inbound("wamid.1", "5511900000001", "SAIR", T0),
            inbound("wamid.2", "5511900000002", " Parar!", T0 + dt.timedelta(minutes=1)),
            inbound("wamid.3", "5511900000003", "stop", T0 + dt.timedelta(minutes=2)),
            inbound("wamid.4", "5511900000004", "não quero parar de receber", T0 + dt.timedelta(minutes=3)),
            inbound("wamid.5", "5511900000005", "Quero voltar", T0 + dt.timedelta(minutes=4)),
            inbound("wamid.6", "5511900000006", None, T0 + dt.timedelta(minutes=5)),  # an image
        ],
    )
    new, cursor = ledger.sync_whatsapp_inbound()
    assert new == 3
    assert cursor is not None and dt.datetime.fromisoformat(cursor) == T0 + dt.timedelta(minutes=5)
    assert ledger.suppressed("whatsapp") == {"5511900000001", "5511900000002", "5511900000003"}
    reasons = dict(warehouse.query("select event_id, reason from consent.ledger order by event_id"))
    assert reasons["whatsapp_inbound:wamid.1"] == "reply 'SAIR' (wamid.1)"
    stored = warehouse.query("select recorded_at from consent.ledger where event_id = 'whatsapp_inbound:wamid.2'")
    assert stored[0][0].astimezone(dt.UTC) == T0 + dt.timedelta(minutes=1)

    assert ledger.sync_whatsapp_inbound(after=cursor) == (0, cursor)  # nothing new
    assert ledger.sync_whatsapp_inbound() == (0, cursor)  # a full replay records nothing twice
    assert warehouse.row_count("consent", "ledger") == 3

    load_inbound(
        warehouse,
        [
            inbound("wamid.1", "5511900000001", "SAIR", T0),  # the same webhook delivered again
            inbound("wamid.7", "5511900000007", "STOP", T0 + dt.timedelta(hours=1)),
            # loaded late, older than the cursor: the lookback still finds it
            inbound("wamid.8", "5511900000008", "Sair.", T0 + dt.timedelta(minutes=4, seconds=30)),
        ],
    )
    new, later = ledger.sync_whatsapp_inbound(after=cursor)
    assert new == 2
    assert later is not None and dt.datetime.fromisoformat(later) == T0 + dt.timedelta(hours=1)
    assert {"5511900000007", "5511900000008"} <= ledger.suppressed("whatsapp")
    assert ledger.sync_whatsapp_inbound(after=later) == (0, later)


def test_a_reply_does_not_opt_anyone_in(warehouse: Warehouse) -> None:
    ledger = ConsentLedger(warehouse)
    load_inbound(
        warehouse,
        [
            inbound("wamid.1", "5511900000001", "PARAR", T0),
            inbound("wamid.2", "5511900000001", "VOLTAR", T0 + dt.timedelta(days=1)),
            inbound("wamid.3", "5511900000001", "quero receber de novo", T0 + dt.timedelta(days=2)),
        ],
    )
    assert ledger.sync_whatsapp_inbound()[0] == 1
    assert ledger.is_suppressed("whatsapp", "5511900000001")


def test_the_ledger_is_its_own_cursor_for_callers_without_one(warehouse: Warehouse) -> None:
    ledger = ConsentLedger(warehouse)
    assert ledger.inbound_cursor() is None
    stamp = dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)
    reply = ConsentEvent("whatsapp", "5511999990000", "opted_out", "whatsapp_inbound", "SAIR", stamp, "wa:m1")
    ledger.record([reply])
    ledger.record([ConsentEvent("email", "a@b.com", "opted_out", "unsubscribe", "link", stamp.replace(day=25), "e1")])
    assert ledger.inbound_cursor() == stamp.isoformat()  # only inbound WhatsApp replies count
