"""Flattening page bodies into Arrow: columns, nulls, unknown properties, deal → contact, speed."""

from __future__ import annotations

import json
import time
from typing import Any

import pyarrow as pa
import pytest

from integrations.hubspot import default_properties, parse_pages, schema_for
from integrations.hubspot.bench_parse import synthetic_contact_pages
from tests.integrations.hubspot.fake_hubspot import make_contact, make_deal

BASE_MS = 1_714_600_000_000


def _page(*records: dict[str, Any]) -> dict[str, Any]:
    return {"results": list(records)}


def test_contact_columns_and_types() -> None:
    contact = make_contact(7, BASE_MS)
    table = parse_pages([_page(contact)], "contacts")

    assert table.schema == schema_for("contacts")
    assert table.column_names == [
        "id",
        "created_at",
        "updated_at",
        "archived",
        *default_properties("contacts"),
        "associations_json",
        "properties_json",
    ]
    row = table.to_pylist()[0]
    assert row["id"] == "7"
    assert row["created_at"] == contact["createdAt"]
    assert row["updated_at"] == "2024-05-01T21:46:40.000Z"
    assert row["archived"] is False
    assert row["email"] == "cliente7@maispet.com.br"
    assert row["city"] == "São Paulo"
    assert row["whatsapp_opt_in"] == "true"  # still HubSpot's string; the loader types it
    assert row["whatsapp_opt_in_date"] is None
    assert row["properties_json"] is None
    assert table.schema.field("archived").type == pa.bool_()
    assert all(table.schema.field(name).type == pa.string() for name in default_properties("contacts"))


def test_unknown_property_is_kept_in_properties_json() -> None:
    contact = make_contact(1, BASE_MS, pet_species="cachorro", pet_name="Thor")
    table = parse_pages([_page(contact)], "contacts")

    extras = json.loads(table.column("properties_json")[0].as_py())
    assert extras == {"pet_species": "cachorro", "pet_name": "Thor"}
    assert "pet_species" not in table.column_names


def test_missing_properties_are_null_and_records_without_properties_survive() -> None:
    sparse = {"id": "9", "properties": {"email": "x@maispet.com.br"}, "createdAt": "2024-01-01T00:00:00Z"}
    bare = {"id": "10"}
    table = parse_pages([_page(sparse), _page(bare)], "contacts", ["email", "phone"])

    assert table.to_pylist() == [
        {
            "id": "9",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": None,
            "archived": None,
            "email": "x@maispet.com.br",
            "phone": None,
            "associations_json": None,
            "properties_json": None,
        },
        {
            "id": "10",
            "created_at": None,
            "updated_at": None,
            "archived": None,
            "email": None,
            "phone": None,
            "associations_json": None,
            "properties_json": None,
        },
    ]


def test_deals_get_first_contact_id_and_full_association_list() -> None:
    deals = [make_deal(1, BASE_MS, ["11", "12"]), make_deal(2, BASE_MS, [])]
    table = parse_pages([_page(*deals)], "deals")

    assert table.schema == schema_for("deals")
    assert table.column("associated_contact_id").to_pylist() == ["11", None]
    associations = json.loads(table.column("associations_json")[0].as_py())
    assert associations == {
        "contacts": {"results": [{"id": "11", "type": "deal_to_contact"}, {"id": "12", "type": "deal_to_contact"}]}
    }
    assert table.column("associations_json")[1].as_py() is None
    assert table.column("amount").to_pylist() == ["129.90", "129.90"]
    assert table.column("refund_amount").to_pylist() == [None, None]


def test_non_string_values_from_hand_made_files_become_json_text() -> None:
    odd = {"id": 42, "properties": {"amount": 129.9, "dealname": True}, "archived": "no"}
    row = parse_pages([_page(odd)], "deals", ["amount", "dealname"]).to_pylist()[0]

    assert (row["id"], row["amount"], row["dealname"], row["archived"]) == ("42", "129.9", "true", None)


def test_empty_input_has_the_schema() -> None:
    table = parse_pages([], "deals", ["amount"])
    assert table.num_rows == 0
    assert table.schema == schema_for("deals", ["amount"])


def test_properties_clashing_with_reserved_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="properties_json"):
        parse_pages([], "contacts", ["email", "properties_json"])


def test_non_object_record_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="#1"):
        parse_pages([{"results": [{"id": "1"}, "oops"]}], "contacts", ["email"])


def test_parse_is_fast_enough() -> None:
    """A loose floor (the target is 100k records/s; CI machines are noisy)."""
    pages = synthetic_contact_pages(20_000)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        table = parse_pages(pages, "contacts")
        best = min(best, time.perf_counter() - started)
    assert table.num_rows == 20_000
    assert table.column("properties_json").null_count == 18_000
    assert 20_000 / best > 50_000
