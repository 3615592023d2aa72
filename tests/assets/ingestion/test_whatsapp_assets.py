"""WhatsApp landing → raw tables: campaign counts recovered despite duplicates, bursts and shuffling."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.ingestion.whatsapp import whatsapp_events
from integrations.demo_world import WorldConfig, generate_world
from integrations.whatsapp import LandingArea
from integrations.whatsapp.payloads import status_webhook
from orchestration.resources import WarehouseResource, WhatsAppResource
from orchestration.warehouse import Warehouse


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wa_world")
    config = WorldConfig(customers=1500, months=12, end_month="2026-10", seed=11, faults=frozenset({"webhook_burst"}))
    generate_world(config, out_dir=root)
    return root


def run(landing: Path, warehouse_url: str) -> dg.ExecuteInProcessResult:
    resources = {
        "warehouse": WarehouseResource(url=warehouse_url),
        "whatsapp": WhatsAppResource(landing_dir=str(landing)),
    }
    return dg.materialize([whatsapp_events], resources=resources, raise_on_error=False)


def test_campaign_counts_match_ground_truth_and_reruns_add_nothing(world: Path, warehouse_url: str) -> None:
    landing = world / "whatsapp" / "webhooks"
    assert run(landing, warehouse_url).success
    warehouse = Warehouse(warehouse_url)
    truth = json.loads((world / "ground_truth.json").read_text())
    expected = {k: sum(c[k] for c in truth["campaigns"]) for k in ("sent", "delivered", "read", "failed", "opted_out")}
    counts = warehouse.query(
        """select count(distinct message_id),
                  count(distinct case when status in ('delivered', 'read') then message_id end),
                  count(distinct case when status = 'read' then message_id end),
                  count(distinct case when status = 'failed' then message_id end)
           from raw_whatsapp.statuses where campaign_id is not null"""
    )[0]
    assert dict(zip(("sent", "delivered", "read", "failed"), counts, strict=True)) == {
        k: expected[k] for k in ("sent", "delivered", "read", "failed")
    }
    opt_outs = warehouse.query("select count(distinct wa_id) from raw_whatsapp.messages where is_opt_out")[0][0]
    assert opt_outs >= expected["opted_out"]  # organic opt-outs outside campaigns count too
    assert truth["webhooks"]["burst_deliveries"] > 0

    before = warehouse.query("select count(*) from raw_whatsapp.statuses")
    again = run(landing, warehouse_url)
    metadata = again.asset_materializations_for_node("whatsapp_events")[1].metadata
    assert metadata["rows_loaded"].value == 0 and metadata["bytes_read"].value == 0
    assert warehouse.query("select count(*) from raw_whatsapp.statuses") == before


def body(message_id: str, status: str, moment: datetime) -> dict[str, object]:
    return status_webhook(
        waba_id="102290129340398",
        phone_number_id="106540352242922",
        display_phone_number="5511933334444",
        message_id=message_id,
        status=status,
        timestamp=moment,
        recipient_id="5511999990000",
    )


def test_new_deliveries_and_a_broken_line_after_the_cursor(tmp_path: Path, warehouse_url: str) -> None:
    landing = LandingArea(tmp_path / "landing")
    moment = datetime(2026, 11, 2, 12, tzinfo=UTC)
    landing.append(body("wamid.A", "sent", moment), moment)
    assert run(landing.root, warehouse_url).success

    landing.append(body("wamid.A", "read", moment), moment)
    landing.append(body("wamid.A", "read", moment), moment)  # redelivered
    with (landing.root / "2026-11-02.jsonl").open("a") as handle:
        handle.write('{"object": "whatsapp_business_account", "entry": [\n')  # a truncated body
    for n in range(5):
        landing.append(body(f"wamid.B{n}", "delivered", moment), moment)
    result = run(landing.root, warehouse_url)
    assert result.success
    warehouse = Warehouse(warehouse_url)
    assert warehouse.query("select status from raw_whatsapp.statuses where message_id = 'wamid.A' order by 1") == [
        ("read",),
        ("sent",),
    ]
    assert warehouse.row_count("raw_whatsapp", "statuses") == 7
    assert warehouse.query("select reason from raw_whatsapp.webhooks__rejected") == [("invalid_json",)]
