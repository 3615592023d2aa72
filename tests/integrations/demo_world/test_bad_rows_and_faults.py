"""Bad rows appear at the configured share, each one recorded; harsh faults do what they promise.

The validators below are independent of the generator: they apply the rules a loader would (valid
e-mail and phone, numeric non-negative amounts, required dates, known channels, no repeated
record). The set of (record, reason) they flag must equal the ground truth's ``bad_records``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.integrations.demo_world import readers
from tests.integrations.demo_world.conftest import World

CHANNELS = {"google_ads", "meta_ads", "instagram", "referral", "organic", "whatsapp"}
FILES = (
    "hubspot/contacts.pages.jsonl",
    "hubspot/deals.pages.jsonl",
    "sheets/marketing_spend.csv",
    "sheets/expenses.csv",
    "sheets/orders.csv",
)


def flag_contacts(world: World) -> set[tuple[str, str]]:
    flagged = set()
    for _, record in readers.objects(world.contact_lines):
        props = record["properties"]
        if not readers.EMAIL.match(props["email"] or ""):
            flagged.add((record["id"], "malformed_email"))
        if not readers.valid_phone(props["phone"]):
            flagged.add((record["id"], "malformed_phone"))
    return flagged


def flag_deals(world: World) -> set[tuple[str, int, str]]:
    flagged, seen = set(), set()
    for line, record in readers.objects(world.deal_lines):
        props = record["properties"]
        if record["id"] in seen:
            flagged.add((record["id"], line, "duplicate_record"))
            continue
        seen.add(record["id"])
        amount = props["amount"]
        if amount is not None and not readers.AMOUNT.match(amount):
            flagged.add((record["id"], line, "text_amount"))
        elif amount is not None and amount.startswith("-"):
            flagged.add((record["id"], line, "negative_amount"))
        if props["dealstage"] == "closedwon" and props["closedate"] is None:
            flagged.add((record["id"], line, "missing_closedate"))
    return flagged


def flag_sheet(world: World, name: str) -> set[tuple[int, str]]:
    columns, rows = world.csv(name)
    amount_column = columns[-1] if name.endswith("marketing_spend.csv") else "amount_brl"
    dates = {"sheets/marketing_spend.csv": "date", "sheets/expenses.csv": "month", "sheets/orders.csv": "order_date"}
    date_column = dates[name]
    flagged, seen = set(), set()
    for number, row in enumerate(rows, start=1):
        key = tuple(row.values())
        if key in seen:
            flagged.add((number, "duplicate_row"))
            continue
        seen.add(key)
        if not row[date_column]:
            flagged.add((number, "missing_month" if date_column == "month" else "missing_date"))
        if name.endswith("marketing_spend.csv") and row["channel"] not in CHANNELS:
            flagged.add((number, "unknown_channel"))
        amount = row[amount_column]
        signed = name.endswith("expenses.csv") and row["category"] == "resultado_financeiro"
        if not readers.AMOUNT.match(amount):
            flagged.add((number, "text_amount"))
        elif amount.startswith("-") and not signed:
            flagged.add((number, "negative_amount"))
    return flagged


def _recorded(world: World, name: str) -> list[dict[str, Any]]:
    return world.truth["bad_records"][name]


def test_validators_find_exactly_the_recorded_bad_records(bad_world: World) -> None:
    truth_contacts = {(r["id"], r["reason"]) for r in _recorded(bad_world, "hubspot/contacts.pages.jsonl")}
    assert flag_contacts(bad_world) == truth_contacts

    truncated = bad_world.truth["faults_applied"]["truncated_page"]
    lost = set(truncated["lost_ids"])
    expected_deals = {
        (r["id"], r["line"], r["reason"])
        for r in _recorded(bad_world, "hubspot/deals.pages.jsonl")
        if r["line"] != truncated["line"] and not (r["reason"] == "duplicate_record" and r["id"] in lost)
    }
    flagged = flag_deals(bad_world)
    # a copy whose original was lost with the truncated page is, for a loader, the first occurrence
    assert {f for f in flagged if not (f[2] == "duplicate_record" and f[0] in lost)} == expected_deals

    for name in FILES[2:]:
        truth = {(r["row"], r["reason"]) for r in _recorded(bad_world, name)}
        assert flag_sheet(bad_world, name) == truth, name
        for record in _recorded(bad_world, name):
            if record["reason"] == "duplicate_row":
                rows = bad_world.csv(name)[1]
                assert rows[record["row"] - 1] == rows[record["duplicate_of"] - 1]
                assert record["duplicate_of"] < record["row"]


@pytest.mark.parametrize("name", FILES)
def test_realized_bad_share_is_the_configured_share(bad_world: World, name: str) -> None:
    entry = bad_world.truth["bad_rows"][name]
    assert entry["rows"] == bad_world.summary.row_counts[name]
    assert entry["bad"] == sum(entry["by_reason"].values()) == len(_recorded(bad_world, name))
    share = bad_world.config.bad_share
    # rounding to whole rows is the only slack: at most one row, never worse than 0.1 point
    assert abs(entry["bad"] / entry["rows"] - share) <= max(1 / entry["rows"], 0.001), entry
    assert len(entry["by_reason"]) >= 2


def test_bad_rows_are_counted_as_file_rows(bad_world: World) -> None:
    for name in FILES[2:]:
        assert len(bad_world.csv(name)[1]) == bad_world.truth["bad_rows"][name]["rows"]
    contacts = sum(1 for _ in readers.objects(bad_world.contact_lines))
    assert contacts == bad_world.truth["bad_rows"]["hubspot/contacts.pages.jsonl"]["rows"]
    deals = sum(1 for _ in readers.objects(bad_world.deal_lines))
    lost = len(bad_world.truth["faults_applied"]["truncated_page"]["lost_ids"])
    assert deals + lost == bad_world.truth["bad_rows"]["hubspot/deals.pages.jsonl"]["rows"]


def test_duplicate_deals_reappear_on_a_later_page(bad_world: World) -> None:
    first_line: dict[str, int] = {}
    later = Counter()
    for line, record in readers.objects(bad_world.deal_lines):
        if record["id"] in first_line:
            assert line > first_line[record["id"]]
            later[record["id"]] += 1
        else:
            first_line[record["id"]] = line
    assert later and max(later.values()) == 1


def test_renamed_column_fault_renames_the_spend_header(bad_world: World) -> None:
    columns, _ = bad_world.csv("sheets/marketing_spend.csv")
    assert columns == ["date", "channel", "campaign", "valor_gasto"]
    assert bad_world.truth["faults_applied"]["renamed_column"] == {
        "file": "sheets/marketing_spend.csv",
        "from": "spend_brl",
        "to": "valor_gasto",
    }


def test_truncated_page_fault_cuts_one_line_mid_json(bad_world: World) -> None:
    fault = bad_world.truth["faults_applied"]["truncated_page"]
    broken = [line for line in bad_world.deal_lines if line.page is None]
    assert [line.number for line in broken] == [fault["line"]]
    raw = broken[0].raw
    assert raw.startswith(b'{"results":[{"id":"') and raw.endswith(b"\n")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    assert len(fault["lost_ids"]) == 100
    assert fault["lost_ids"][0].encode() in raw
    present = {record["id"] for _, record in readers.objects(bad_world.deal_lines)}
    assert not set(fault["lost_ids"]) & present - {
        r["id"] for r in _recorded(bad_world, "hubspot/deals.pages.jsonl") if r["reason"] == "duplicate_record"
    }


def test_webhook_burst_fault_appends_hundreds_of_redeliveries(bad_world: World) -> None:
    fault = bad_world.truth["faults_applied"]["webhook_burst"]
    path = bad_world.out / fault["file"]
    lines = path.read_bytes().splitlines()
    burst = lines[-fault["deliveries"] :]
    assert fault["deliveries"] >= 300
    earlier = set(lines[: -fault["deliveries"]])
    assert all(line in earlier for line in burst)
    assert bad_world.truth["webhooks"]["burst_deliveries"] == fault["deliveries"]
    assert len(bad_world.webhooks) == bad_world.truth["webhooks"]["bodies"]


def test_bad_share_zero_is_a_fully_clean_world(clean_world: World) -> None:
    truth = clean_world.truth
    assert truth["faults_applied"] == {}
    for name in FILES:
        assert truth["bad_rows"][name]["bad"] == 0
        assert truth["bad_records"][name] == []
    assert flag_contacts(clean_world) == set()
    assert flag_deals(clean_world) == set()
    for name in FILES[2:]:
        assert flag_sheet(clean_world, name) == set(), name
    assert clean_world.csv("sheets/marketing_spend.csv")[0][-1] == "spend_brl"
    assert all(line.page is not None for line in clean_world.deal_lines)


def test_webhooks_arrive_out_of_order_and_some_twice(clean_world: World) -> None:
    seen: Counter[bytes] = Counter()
    out_of_order = 0
    for path in sorted((clean_world.out / "whatsapp" / "webhooks").glob("*.jsonl")):
        position: dict[str, dict[str, int]] = {}
        for number, line in enumerate(path.read_bytes().splitlines()):
            seen[line] += 1
            for status in json.loads(line)["entry"][0]["changes"][0]["value"].get("statuses", ()):
                position.setdefault(status["id"], {})[status["status"]] = number
        out_of_order += sum(1 for p in position.values() if "read" in p and p.get("delivered", -1) > p["read"])
    duplicates = sum(count - 1 for count in seen.values())
    assert duplicates == clean_world.truth["webhooks"]["duplicate_deliveries"] > 0
    assert 0.01 < duplicates / len(clean_world.webhooks) < 0.05
    assert out_of_order > 0
