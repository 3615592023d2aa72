"""The demo world's landing files go through the same parser and give back its ground truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from integrations.demo_world import WorldConfig, generate_world
from integrations.whatsapp.landing import LandingArea, advance_cursor
from integrations.whatsapp.parse import latest_status, parse_landing


def test_parsed_demo_webhooks_match_the_campaign_ground_truth(tmp_path: Path) -> None:
    config = WorldConfig(customers=2000, months=12, end_month="2026-10", seed=3, faults=frozenset({"webhook_burst"}))
    generate_world(config, tmp_path)
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    landing = LandingArea(tmp_path / "whatsapp" / "webhooks")

    slices = landing.new_data_since({})
    parsed = parse_landing(slices)
    assert landing.new_data_since(advance_cursor({}, slices)) == []
    assert parsed.rejected.num_rows == 0

    latest = Counter(latest_status(parsed.statuses).column("status").to_pylist())
    expected: Counter[str] = Counter()
    for campaign in truth["campaigns"]:
        expected.update({key: campaign[key] for key in ("sent", "delivered", "read", "failed", "opted_out")})
    assert sum(latest.values()) == expected["sent"]
    assert latest["read"] == expected["read"]
    assert latest["failed"] == expected["failed"]
    assert latest["delivered"] + latest["read"] == expected["delivered"]  # read implies delivered
    assert sum(parsed.messages.column("is_opt_out").to_pylist()) == expected["opted_out"]
    # Every redelivered body (the 600-copy burst included) collapsed onto its earliest copy; naive json as oracle.
    earliest: dict[tuple[str, str], int] = {}
    for path in landing.files():
        for line in path.read_text(encoding="utf-8").splitlines():
            for event in json.loads(line)["entry"][0]["changes"][0]["value"].get("statuses", []):
                key = (event["id"], event["status"])
                earliest[key] = min(earliest.get(key, 2**62), int(event["timestamp"]))
    assert truth["webhooks"]["status_events"] > len(earliest)
    rows = parsed.statuses.to_pylist()
    assert {(r["message_id"], r["status"]): int(r["timestamp"].timestamp()) for r in rows} == earliest
