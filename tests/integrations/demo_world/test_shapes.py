"""Every file has the vendor's documented shape: HubSpot pages, WhatsApp webhook bodies, worksheets."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq

from tests.integrations.demo_world import readers
from tests.integrations.demo_world.conftest import World

SCHEMAS = Path(__file__).parent / "schemas"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _truncated_line(world: World) -> int | None:
    fault = world.truth["faults_applied"].get("truncated_page")
    return fault["line"] if fault else None


def test_every_hubspot_page_validates_against_the_crm_v3_schema(small_world: World) -> None:
    for name, lines in (
        ("hubspot_contacts_page.schema.json", small_world.contact_lines),
        ("hubspot_deals_page.schema.json", small_world.deal_lines),
    ):
        validator = _validator(name)
        for line in lines:
            if line.page is None:
                assert "deals" in name and line.number == _truncated_line(small_world)
                continue
            errors = sorted(validator.iter_errors(line.page), key=lambda e: list(e.path))
            assert not errors, f"{name} line {line.number}: {errors[0].message} at {list(errors[0].path)}"


def test_every_webhook_body_validates_against_the_cloud_api_schema(small_world: World) -> None:
    validator = _validator("whatsapp_webhook.schema.json")
    assert small_world.webhooks
    for file_name, number, body in small_world.webhooks:
        errors = list(validator.iter_errors(body))
        assert not errors, f"{file_name}:{number}: {errors[0].message} at {list(errors[0].path)}"


def test_paging_cursors_chain_the_pages(bad_world: World) -> None:
    for lines, kind in ((bad_world.contact_lines, "contacts"), (bad_world.deal_lines, "deals")):
        assert len(lines) > 2
        truncated = _truncated_line(bad_world) if kind == "deals" else None
        for index, line in enumerate(lines):
            if line.number == truncated:
                continue
            page = line.page
            assert page is not None
            assert 0 < len(page["results"]) <= 100
            if index == len(lines) - 1:
                assert "paging" not in page
                continue
            assert len(page["results"]) == 100
            after = page["paging"]["next"]["after"]
            assert page["paging"]["next"]["link"] == f"https://api.hubapi.com/crm/v3/objects/{kind}?after={after}"
            following = lines[index + 1].page
            if following is not None:
                assert following["results"][0]["id"] == after


def test_objects_are_in_id_order_with_string_or_null_properties(clean_world: World) -> None:
    ids = [int(record["id"]) for _, record in readers.objects(clean_world.contact_lines)]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    deal_ids = [int(record["id"]) for _, record in readers.objects(clean_world.deal_lines)]
    assert deal_ids == sorted(deal_ids) and len(deal_ids) == len(set(deal_ids))
    for record in list(clean_world.contacts.values())[:2000] + clean_world.deals[:2000]:
        assert all(value is None or isinstance(value, str) for value in record["properties"].values())
        assert record["properties"]["hs_object_id"] == record["id"]


def test_deal_associations_reference_existing_contacts(bad_world: World) -> None:
    contact_ids = set(bad_world.contacts)
    for _, record in readers.objects(bad_world.deal_lines):
        associated = record["associations"]["contacts"]["results"]
        assert len(associated) == 1
        assert associated[0]["type"] == "deal_to_contact"
        assert associated[0]["id"] in contact_ids


def test_worksheets_have_the_documented_headers_and_string_cells(clean_world: World) -> None:
    expected = {
        "sheets/marketing_spend.csv": ["date", "channel", "campaign", "spend_brl"],
        "sheets/expenses.csv": ["month", "account", "category", "amount_brl"],
        "sheets/orders.csv": ["order_id", "customer_id", "order_date", "amount_brl", "channel", "plan", "order_type"],
        "whatsapp/campaign_sends.csv": [
            "campaign_id",
            "variant",
            "template_name",
            "contact_id",
            "wa_id",
            "message_id",
            "sent_at",
        ],
    }
    for name, header in expected.items():
        columns, rows = clean_world.csv(name)
        assert columns == header, name
        assert rows, name
    assert all(readers.ISO_DATE.match(r["date"]) for r in clean_world.csv("sheets/marketing_spend.csv")[1])
    assert all(readers.ISO_DATE.match(r["order_date"]) for r in clean_world.csv("sheets/orders.csv")[1])
    categories = {r["category"] for r in clean_world.csv("sheets/expenses.csv")[1]}
    assert categories == {
        "cmv",
        "despesas_vendas",
        "despesas_marketing",
        "despesas_administrativas",
        "depreciacao_amortizacao",
        "resultado_financeiro",
    }


def test_clean_contacts_have_valid_emails_phones_and_unique_whatsapp_ids(clean_world: World) -> None:
    emails, phones = set(), set()
    for record in clean_world.contacts.values():
        props = record["properties"]
        assert readers.EMAIL.match(props["email"]), props["email"]
        assert readers.valid_phone(props["phone"]), props["phone"]
        emails.add(props["email"])
        phones.add("".join(c for c in props["phone"] if c.isdigit())[-11:])
        if props["whatsapp_opt_in"] == "true":
            assert props["whatsapp_opt_in_date"] >= props["createdate"]
        else:
            assert props["whatsapp_opt_in_date"] is None
    assert len(emails) == len(clean_world.contacts) == len(phones)


def test_ground_truth_customers_parquet_matches_the_crm(clean_world: World) -> None:
    table = pq.read_table(clean_world.out / "ground_truth_customers.parquet")
    assert table.num_rows == clean_world.config.customers
    customers = {
        cid for cid, record in clean_world.contacts.items() if record["properties"]["lifecyclestage"] == "customer"
    }
    ids = [str(i) for i in table.column("contact_id").to_pylist()]
    assert set(ids) == customers and len(ids) == len(customers)
    channel = dict(zip(ids, table.column("channel").to_pylist(), strict=True))
    for cid in list(customers)[:500]:
        assert clean_world.contacts[cid]["properties"]["acquisition_channel"] == channel[cid]
