"""Parsing landed webhooks: dedupe, arrival order, failures, opt-outs, and bad input as data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from integrations.whatsapp import reader
from integrations.whatsapp.landing import LandingArea, advance_cursor
from integrations.whatsapp.parse import ParsedWebhooks, latest_status, parse_landing
from integrations.whatsapp.payloads import webhook_body
from integrations.whatsapp.schemas import MESSAGES_SCHEMA, REJECTED_SCHEMA, STATUSES_SCHEMA
from integrations.whatsapp.staging import StagedFile
from tests.integrations.whatsapp.factories import (
    CUSTOMER,
    ENVELOPE,
    PHONE_NUMBER_ID,
    T0,
    WABA_ID,
    inbound,
    line,
    status,
    write_lines,
)

TRUNCATED = line(status("wamid.T", "sent"))[:70] + b"\n"


def _rows(table: pa.Table, *columns: str) -> list[tuple[object, ...]]:
    return sorted(tuple(row[c] for c in columns) for row in table.to_pylist())


def _parse(tmp_path: Path, *items: dict[str, Any] | bytes) -> ParsedWebhooks:
    return parse_landing([write_lines(tmp_path / "2025-05-12.jsonl", *items)])


def test_schemas_and_values_of_a_status(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, status("wamid.A", "delivered", seconds=5))
    assert parsed.statuses.schema == STATUSES_SCHEMA
    assert parsed.messages.schema == MESSAGES_SCHEMA
    assert parsed.rejected.schema == REJECTED_SCHEMA
    [row] = parsed.statuses.to_pylist()
    assert row["message_id"] == "wamid.A"
    assert row["status"] == "delivered"
    assert row["timestamp"] == T0 + timedelta(seconds=5)
    assert row["timestamp"].utcoffset() == timedelta(0)
    assert row["recipient_id"] == CUSTOMER
    assert (row["campaign_id"], row["variant"]) == ("reativacao_2025_05", "B")
    assert row["biz_opaque_callback_data"] == "campaign=reativacao_2025_05;variant=B"
    assert row["conversation_id"] == "conv-wamid.A"
    assert (row["pricing_category"], row["pricing_model"], row["billable"]) == ("marketing", "CBP", True)
    assert (row["phone_number_id"], row["waba_id"]) == (PHONE_NUMBER_ID, WABA_ID)
    assert row["source_file"] == "2025-05-12.jsonl"  # the event as received is in that landing file
    assert parsed.rejected.num_rows == 0


def test_duplicated_status_events_collapse_to_the_earliest(tmp_path: Path) -> None:
    parsed = _parse(
        tmp_path,
        status("wamid.A", "sent", seconds=1),
        status("wamid.A", "sent", seconds=1),
        status("wamid.A", "delivered", seconds=9),
        status("wamid.A", "delivered", seconds=4),  # the same event again, stamped differently
        status("wamid.B", "sent", seconds=2),
    )
    assert _rows(parsed.statuses, "message_id", "status", "timestamp") == [
        ("wamid.A", "delivered", T0 + timedelta(seconds=4)),
        ("wamid.A", "sent", T0 + timedelta(seconds=1)),
        ("wamid.B", "sent", T0 + timedelta(seconds=2)),
    ]


def test_a_burst_of_500_identical_deliveries_yields_one_row(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, *[status("wamid.A", "read", seconds=30)] * 500)
    assert parsed.statuses.num_rows == 1
    assert latest_status(parsed.statuses).column("status").to_pylist() == ["read"]


def test_out_of_order_events_still_give_the_furthest_status(tmp_path: Path) -> None:
    parsed = _parse(
        tmp_path,
        status("wamid.A", "read", seconds=20),  # arrives first
        status("wamid.A", "delivered", seconds=10),
        status("wamid.A", "sent", seconds=1),
        status("wamid.B", "delivered", seconds=10),
        status("wamid.B", "sent", seconds=1),
        status("wamid.C", "sent", seconds=1),
    )
    latest = latest_status(parsed.statuses)
    assert latest.schema == STATUSES_SCHEMA
    assert _rows(latest, "message_id", "status") == [
        ("wamid.A", "read"),
        ("wamid.B", "delivered"),
        ("wamid.C", "sent"),
    ]


def test_failed_is_terminal_and_carries_the_error(tmp_path: Path) -> None:
    parsed = _parse(
        tmp_path,
        status("wamid.A", "sent", seconds=1),
        status(
            "wamid.A",
            "failed",
            seconds=2,
            error_code=131050,
            error_title="User has opted out of marketing messages",
            error_details="Unable to deliver the message.",
        ),
        status("wamid.A", "delivered", seconds=3),  # a late event from another device
    )
    [failed] = [row for row in parsed.statuses.to_pylist() if row["status"] == "failed"]
    assert failed["error_code"] == 131050
    assert failed["error_title"] == "User has opted out of marketing messages"
    assert failed["error_details"] == "Unable to deliver the message."
    assert latest_status(parsed.statuses).column("status").to_pylist() == ["failed"]


def test_inbound_messages_with_opt_outs(tmp_path: Path) -> None:
    texts = {
        "m1": "sair",
        "m2": " Parar!",
        "m3": "STOP",
        "m4": "Sáir",
        "m5": "Quero trocar a ração",
        "m6": "parar de receber",
    }
    parsed = _parse(tmp_path, *[inbound(message_id, text) for message_id, text in texts.items()])
    assert _rows(parsed.messages, "message_id", "text_body", "is_opt_out") == [
        ("m1", "sair", True),
        ("m2", " Parar!", True),
        ("m3", "STOP", True),
        ("m4", "Sáir", True),
        ("m5", "Quero trocar a ração", False),
        ("m6", "parar de receber", False),
    ]
    row = parsed.messages.to_pylist()[0]
    assert (row["wa_id"], row["profile_name"], row["type"]) == (CUSTOMER, "Ana Souza", "text")
    assert (row["phone_number_id"], row["display_phone_number"], row["waba_id"]) == (
        PHONE_NUMBER_ID,
        "5511999990000",
        WABA_ID,
    )
    assert row["timestamp"] == T0


def test_reply_context_button_replies_and_redelivered_messages(tmp_path: Path) -> None:
    button = webhook_body(
        **ENVELOPE,
        contacts=[
            {"profile": {"name": "Outra Pessoa"}, "wa_id": "5521900000000"},
            {"profile": {"name": "Bia"}, "wa_id": CUSTOMER},
        ],
        messages=[
            {
                "context": {"from": "5511999990000", "id": "wamid.CAMPAIGN"},
                "from": CUSTOMER,
                "id": "wamid.BTN",
                "timestamp": str(int(T0.timestamp())),
                "type": "button",
                "button": {"payload": "STOP_PROMOTIONS", "text": "Parar"},
            }
        ],
    )
    parsed = _parse(
        tmp_path,
        inbound("wamid.R", "Quero!", context_message_id="wamid.CAMPAIGN", context_from="5511999990000"),
        inbound("wamid.R", "Quero!", context_message_id="wamid.CAMPAIGN", context_from="5511999990000"),
        button,
    )
    assert _rows(parsed.messages, "message_id", "context_message_id", "text_body", "profile_name", "is_opt_out") == [
        ("wamid.BTN", "wamid.CAMPAIGN", "Parar", "Bia", True),
        ("wamid.R", "wamid.CAMPAIGN", "Quero!", "Ana Souza", False),
    ]


def test_malformed_lines_are_rejected_while_good_lines_parse(tmp_path: Path) -> None:
    good_a = line(status("wamid.A", "sent"))
    items: list[bytes] = [good_a, TRUNCATED, b"not json at all\n", line(status("wamid.B", "read")), b"\xff\xfe{}\n"]
    path = write_lines(tmp_path / "2025-05-12.jsonl", *items)
    parsed = parse_landing([path])

    assert _rows(parsed.statuses, "message_id", "status") == [("wamid.A", "sent"), ("wamid.B", "read")]
    rejected = parsed.rejected.to_pylist()
    assert [(r["reason"], r["byte_offset"]) for r in rejected] == [
        ("invalid_json", len(good_a)),
        ("invalid_json", len(good_a) + len(TRUNCATED)),
        ("invalid_utf8", sum(len(i) for i in items[:4])),
    ]
    assert rejected[0]["raw"] == TRUNCATED.decode().rstrip("\n")
    assert rejected[1]["raw"] == "not json at all"
    assert {r["source_file"] for r in rejected} == {"2025-05-12.jsonl"}


def test_wrong_shapes_and_incomplete_events_are_rejected_with_reasons(tmp_path: Path) -> None:
    odd_statuses = webhook_body(**ENVELOPE)
    odd_statuses["entry"][0]["changes"][0]["value"]["statuses"] = {"id": "wamid.X"}
    no_timestamp = status("wamid.N", "sent")
    del no_timestamp["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"]
    parsed = _parse(
        tmp_path,
        status("wamid.A", "sent"),
        b"[1, 2]\n",
        b'{"object": "page", "entry": []}\n',
        b'{"object": "whatsapp_business_account"}\n',
        odd_statuses,
        no_timestamp,
        inbound("wamid.M", "oi"),
    )
    assert _rows(parsed.statuses, "message_id") == [("wamid.A",)]
    assert _rows(parsed.messages, "message_id") == [("wamid.M",)]
    assert [row["reason"] for row in parsed.rejected.to_pylist()] == [
        "not_an_object",
        "not_whatsapp_business_account",
        "missing_entry",
        "unexpected_shape",
        "status_missing_id_status_or_timestamp",
    ]
    assert json.loads(parsed.rejected.to_pylist()[-1]["raw"])["id"] == "wamid.N"


def _canonical(parsed: ParsedWebhooks) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return (
        _rows(parsed.statuses, *STATUSES_SCHEMA.names),
        _rows(parsed.messages, *MESSAGES_SCHEMA.names),
    )


def test_tolerant_path_gives_the_same_rows_as_the_fast_path(tmp_path: Path) -> None:
    unusual_but_valid = webhook_body(**ENVELOPE)
    unusual_but_valid["entry"].append(
        {"id": WABA_ID, "changes": [None, {"field": "messages", "value": {"statuses": None}}]}
    )
    numeric_id = status("wamid.N", "sent")
    numeric_id["entry"][0]["id"] = 102290129340398
    bodies = [
        status("wamid.A", "sent"),
        status("wamid.A", "read", seconds=9),
        status("wamid.A", "read", seconds=9),
        status("wamid.F", "failed", error_code=131026),
        inbound("wamid.M", "STOP"),
        unusual_but_valid,
        numeric_id,
        {"object": "whatsapp_business_account", "entry": []},
    ]
    (tmp_path / "clean").mkdir()
    (tmp_path / "dirty").mkdir()
    clean = parse_landing([write_lines(tmp_path / "clean" / "2025-05-12.jsonl", *bodies)])
    dirty = parse_landing([write_lines(tmp_path / "dirty" / "2025-05-12.jsonl", *bodies[:3], TRUNCATED, *bodies[3:])])
    assert clean.rejected.num_rows == 0
    assert dirty.rejected.column("reason").to_pylist() == ["invalid_json"]
    assert _canonical(dirty) == _canonical(clean)
    assert {row["waba_id"] for row in clean.statuses.to_pylist()} == {WABA_ID}


def test_cursor_slices_parse_like_the_whole_file(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path / "landing")
    for i in range(6):
        landing.append(status(f"wamid.{i}", "sent", seconds=i), T0)
    first = landing.new_data_since({})
    cursor = advance_cursor({}, first)
    for i in range(6):
        landing.append(status(f"wamid.{i}", "delivered", seconds=60 + i), T0)
    landing.append(inbound("wamid.in", "Parar"), T0 + timedelta(days=1))
    second = landing.new_data_since(cursor)
    assert second[0].start > 0

    batches = [parse_landing(first), parse_landing(second)]
    whole = parse_landing(landing.files())
    assert sum(batch.statuses.num_rows for batch in batches) == whole.statuses.num_rows == 12
    assert _rows(pa.concat_tables(b.statuses for b in batches), *STATUSES_SCHEMA.names) == _canonical(whole)[0]
    assert batches[1].messages.column("is_opt_out").to_pylist() == [True]


def test_rejected_offsets_are_file_offsets_in_a_slice(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "2025-05-12.jsonl", status("wamid.A", "sent"))
    start = path.stat().st_size
    write_lines(path, b"garbage\n", status("wamid.B", "sent"))
    parsed = parse_landing([(path, start, path.stat().st_size)])
    assert _rows(parsed.statuses, "message_id") == [("wamid.B",)]
    assert parsed.rejected.to_pylist() == [
        {"source_file": "2025-05-12.jsonl", "byte_offset": start, "reason": "invalid_json", "raw": "garbage"}
    ]


def test_nothing_to_parse_gives_empty_tables_with_schemas(tmp_path: Path) -> None:
    path = tmp_path / "2025-05-12.jsonl"
    path.write_bytes(b"")
    for parsed in (parse_landing([]), parse_landing([path]), parse_landing([(path, 0, 0)])):
        assert parsed.statuses.schema == STATUSES_SCHEMA and parsed.statuses.num_rows == 0
        assert parsed.messages.schema == MESSAGES_SCHEMA and parsed.messages.num_rows == 0
        assert parsed.rejected.schema == REJECTED_SCHEMA and parsed.rejected.num_rows == 0


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    parsed = _parse(tmp_path, b"\n", status("wamid.A", "sent"), b"   \n", TRUNCATED)
    assert parsed.statuses.num_rows == 1
    assert parsed.rejected.column("reason").to_pylist() == ["invalid_json"]


@pytest.mark.parametrize("timestamp", ["not-a-number", "99999999999999999", None])
def test_unusable_timestamps_reject_the_event(tmp_path: Path, timestamp: str | None) -> None:
    body = status("wamid.A", "sent")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = timestamp
    parsed = _parse(tmp_path, body, status("wamid.B", "sent"))
    assert _rows(parsed.statuses, "message_id") == [("wamid.B",)]
    assert parsed.rejected.column("reason").to_pylist() == ["status_missing_id_status_or_timestamp"]


def test_lines_appended_while_parsing_are_left_for_the_next_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = LandingArea(tmp_path)
    landing.append(status("wamid.A", "sent"), T0)
    slices = landing.new_data_since({})
    read_bodies = reader._read_bodies
    calls: list[bool] = []

    def read_while_a_writer_appends(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> bool:
        if not calls:
            landing.append(status("wamid.LATE", "sent"), T0)  # lands while DuckDB reads the file in place
        calls.append(staged[0].in_place)
        return read_bodies(con, staged)

    monkeypatch.setattr(reader, "_read_bodies", read_while_a_writer_appends)
    parsed = parse_landing(slices)
    assert calls == [True, False]  # read in place, noticed the growth, re-read an exact copy of the slice
    assert _rows(parsed.statuses, "message_id") == [("wamid.A",)]
    rest = landing.new_data_since(advance_cursor({}, slices))
    assert _rows(parse_landing(rest).statuses, "message_id") == [("wamid.LATE",)]
