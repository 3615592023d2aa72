"""HubSpot assets through the official SDK against a fake HubSpot: full load, incremental, idempotent, quarantine."""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer

from assets.ingestion.hubspot import hubspot_assets
from integrations.hubspot import default_properties
from orchestration.resources import HubSpotResource, WarehouseResource
from orchestration.warehouse import Warehouse
from tests.integrations.hubspot.fake_hubspot import FakeHubSpot, iso_ms, make_contact, make_deal

BASE_MS = 1_714_600_000_000
HOUR_MS = 3_600_000
LATER_MS = BASE_MS + 400 * HOUR_MS


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeHubSpot:
    contacts = [make_contact(n, BASE_MS + n * HOUR_MS) for n in range(1, 251)]
    contacts[7]["properties"]["email"] = "maria.silva@"  # realistically bad
    deals = [make_deal(5000 + n, BASE_MS + n * HOUR_MS, [str(n)]) for n in range(1, 121)]
    deals[3]["properties"]["amount"] = "-129.90"
    return FakeHubSpot(httpserver, {"contacts": contacts, "deals": deals}).install()


def run(fake: FakeHubSpot, warehouse_url: str) -> dg.ExecuteInProcessResult:
    resources = {
        "warehouse": WarehouseResource(url=warehouse_url),
        "hubspot": HubSpotResource(access_token=fake.token, host=fake.host),
    }
    return dg.materialize(hubspot_assets, resources=resources, raise_on_error=False)


def meta(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def table(warehouse: Warehouse, name: str) -> list[tuple[object, ...]]:
    return sorted(warehouse.query(f'select * from raw_hubspot."{name}"'), key=str)


def test_full_then_incremental_then_nothing_new(fake: FakeHubSpot, warehouse_url: str) -> None:
    warehouse = Warehouse(warehouse_url)
    first = run(fake, warehouse_url)
    assert first.success
    contacts = meta(first, "hubspot__contacts")
    assert contacts["mode"] == "full"
    assert (contacts["rows_inserted"], contacts["rows_rejected"], contacts["api_calls"]) == (249, 1, 3)
    assert meta(first, "hubspot__deals")["rows_rejected"] == 1
    rejected = warehouse.query("select reason, raw from raw_hubspot.contacts__rejected")
    assert rejected[0][0] == "email: invalid email" and "maria.silva@" in str(rejected[0][1])

    # the CRM changes: one contact edited, one created, one deal moves stage (search omits associations)
    fake.records["contacts"][0] = make_contact(1, LATER_MS, city="Recife")
    fake.records["contacts"].append(make_contact(999, LATER_MS))
    fake.records["deals"][0] = make_deal(5001, LATER_MS, [])
    fake.records["deals"][0]["properties"]["dealstage"] = "closedlost"
    fake._sorted.clear()

    second = run(fake, warehouse_url)
    assert second.success
    contacts = meta(second, "hubspot__contacts")
    assert str(contacts["mode"]).startswith("incremental")
    # one edited + the newest record again, because search re-reads a 5-minute overlap before the cursor
    assert (contacts["rows_inserted"], contacts["rows_updated"]) == (1, 2)
    assert contacts["cursor"] == datetime.fromisoformat(iso_ms(LATER_MS)).isoformat()
    assert warehouse.query("select city from raw_hubspot.contacts where id = '1'") == [("Recife",)]
    deal = warehouse.query("select dealstage, associated_contact_id from raw_hubspot.deals where id = '5001'")
    assert deal == [("closedlost", "1")], "an incremental read without associations keeps the stored link"
    search_bodies = [json.loads(r.get_data()) for r in fake.requests if r.path.endswith("/search")]
    assert all(b["limit"] == 100 for b in search_bodies)

    before = {name: table(warehouse, name) for name in ("contacts", "deals", "contacts__rejected")}
    third = run(fake, warehouse_url)
    assert third.success
    assert {name: table(warehouse, name) for name in before} == before


def test_rate_limited_api_is_retried_until_it_answers(fake: FakeHubSpot, warehouse_url: str) -> None:
    fake.fail_next(429, 429, retry_after="0")
    fake.fail_next(503)
    result = run(fake, warehouse_url)
    assert result.success
    assert Warehouse(warehouse_url).row_count("raw_hubspot", "contacts") == 249


def test_properties_are_configuration_and_extra_ones_become_columns(fake: FakeHubSpot, warehouse_url: str) -> None:
    for contact in fake.records["contacts"]:
        contact["properties"]["hs_lead_status"] = "NEW"
    wanted = [*default_properties("contacts"), "hs_lead_status"]
    resources = {
        "warehouse": WarehouseResource(url=warehouse_url),
        "hubspot": HubSpotResource(access_token=fake.token, host=fake.host, contact_properties=wanted),
    }
    result = dg.materialize(hubspot_assets[:1], resources=resources, raise_on_error=False)
    assert result.success
    assert Warehouse(warehouse_url).query("select distinct hs_lead_status from raw_hubspot.contacts") == [("NEW",)]
    properties_sent = {r.args.getlist("properties").__len__() for r in fake.requests if r.method == "GET"}
    assert properties_sent == {len(wanted)}
