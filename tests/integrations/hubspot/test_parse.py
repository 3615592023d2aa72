"""Flattening page bodies in DuckDB: columns, nulls, unknown properties, deal → contact, bad pages, speed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from integrations.hubspot import Page, PageFile, default_properties, read_pages
from integrations.hubspot.errors import HubSpotPageError
from tests.integrations.hubspot.fake_hubspot import make_contact, make_deal

BASE_MS = 1_714_600_000_000


def _page(*records: dict[str, Any]) -> dict[str, Any]:
    return {"results": list(records)}


def _stage(
    tmp_path: Path, pages: list[Page], object_type: str, properties: list[str] | None = None
) -> tuple[pa.Table, list[HubSpotPageError]]:
    page_file = PageFile(tmp_path / "pages.jsonl")
    for page in pages:
        page_file.add(page)
    page_file.close()
    con = duckdb.connect()

    def consume(rows: str) -> pa.Table:
        return con.sql(f"select * from {rows}").to_arrow_table()

    return read_pages(con, page_file, object_type, properties, "rows", consume)  # type: ignore[arg-type]


def parse(
    tmp_path: Path, pages: list[dict[str, Any]], object_type: str, properties: list[str] | None = None
) -> pa.Table:
    bodies = [Page(json.dumps(page, ensure_ascii=False).encode(), f"page {n}") for n, page in enumerate(pages)]
    table, broken = _stage(tmp_path, bodies, object_type, properties)
    assert broken == []
    return table


def test_contact_columns_and_types(tmp_path: Path) -> None:
    contact = make_contact(7, BASE_MS)
    table = parse(tmp_path, [_page(contact)], "contacts")

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


def test_unknown_property_is_kept_in_properties_json(tmp_path: Path) -> None:
    contact = make_contact(1, BASE_MS, pet_species="cachorro", pet_name="Thor")
    table = parse(tmp_path, [_page(contact)], "contacts")

    extras = json.loads(table.column("properties_json")[0].as_py())
    assert extras == {"pet_species": "cachorro", "pet_name": "Thor"}
    assert "pet_species" not in table.column_names


def test_missing_properties_are_null_and_records_without_properties_survive(tmp_path: Path) -> None:
    sparse = {"id": "9", "properties": {"email": "x@maispet.com.br"}, "createdAt": "2024-01-01T00:00:00Z"}
    bare = {"id": "10"}
    unrequested_null = {"id": "11", "properties": {"email": None, "phone": None, "city": None}}
    table = parse(tmp_path, [_page(sparse), _page(bare, unrequested_null)], "contacts", ["email", "phone"])

    empty = {"created_at": None, "updated_at": None, "archived": None, "email": None, "phone": None}
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
        {"id": "10", **empty, "associations_json": None, "properties_json": None},
        {"id": "11", **empty, "associations_json": None, "properties_json": '{"city":null}'},
    ]


def test_deals_get_first_contact_id_and_full_association_list(tmp_path: Path) -> None:
    deals = [make_deal(1, BASE_MS, ["11", "12"]), make_deal(2, BASE_MS, [])]
    table = parse(tmp_path, [_page(*deals)], "deals")

    assert table.column("associated_contact_id").to_pylist() == ["11", None]
    associations = json.loads(table.column("associations_json")[0].as_py())
    assert associations == {
        "contacts": {"results": [{"id": "11", "type": "deal_to_contact"}, {"id": "12", "type": "deal_to_contact"}]}
    }
    assert table.column("associations_json")[1].as_py() is None
    assert table.column("amount").to_pylist() == ["129.90", "129.90"]
    assert table.column("refund_amount").to_pylist() == [None, None]


def test_non_string_values_from_hand_made_files_become_json_text(tmp_path: Path) -> None:
    odd = {"id": 42, "properties": {"amount": 129.9, "dealname": True}, "archived": "no"}
    row = parse(tmp_path, [_page(odd)], "deals", ["amount", "dealname"]).to_pylist()[0]

    assert (row["id"], row["amount"], row["dealname"], row["archived"]) == ("42", "129.9", "true", None)


def test_pretty_printed_bodies_and_empty_input(tmp_path: Path) -> None:
    pretty = Page(json.dumps(_page(make_deal(1, BASE_MS, ["3"])), indent=2).encode(), "pretty")
    table, broken = _stage(tmp_path, [pretty], "deals")
    assert (table.num_rows, broken) == (1, [])

    empty, broken = _stage(tmp_path, [], "deals", ["amount"])
    assert (empty.num_rows, broken) == (0, [])
    assert "amount" in empty.column_names


def test_properties_clashing_with_reserved_columns_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="properties_json"):
        parse(tmp_path, [], "contacts", ["email", "properties_json"])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"results": [{"id": "7"', "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"paging": {}}', "'results'"),
        (b'{"results": [1]}', "non-object"),
        (b'{"results": [null]}', "non-object"),
    ],
)
def test_a_line_that_is_not_a_page_is_left_out_and_reported(tmp_path: Path, line: bytes, reason: str) -> None:
    good = [Page(json.dumps(_page(make_contact(n, BASE_MS))).encode(), f"f:{n}") for n in (1, 3)]
    table, broken = _stage(tmp_path, [good[0], Page(line, "f:2"), good[1]], "contacts")

    assert table.column("id").to_pylist() == ["1", "3"]
    assert [(error.origin, reason in error.reason) for error in broken] == [("f:2", True)]
    assert str(broken[0]).startswith("f:2: invalid HubSpot page")


def test_flattening_is_fast_enough(tmp_path: Path) -> None:
    """A loose floor against falling off DuckDB's fast path (~100k records/s here; CI machines are noisy)."""
    pages = [_page(*(make_contact(n, BASE_MS) for n in range(start, start + 100))) for start in range(0, 20_000, 100)]
    bodies = [Page(json.dumps(page).encode(), "p") for page in pages]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        table, _ = _stage(tmp_path, bodies, "contacts")
        best = min(best, time.perf_counter() - started)
    assert table.num_rows == 20_000
    assert 20_000 / best > 25_000
