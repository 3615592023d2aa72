"""Parse-speed benchmark: ``python -m integrations.hubspot.bench_parse [n_records]``.

Compares the shipped comprehension parser with a DuckDB variant (page bodies re-encoded to JSON
text, flattened with ``from_json`` + ``unnest``) on synthetic contacts shaped like HubSpot's
responses. Kept in the package so the design choice in ``parse.py`` can be re-checked.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from integrations.hubspot.parse import parse_pages
from integrations.hubspot.properties import default_properties


def synthetic_contact_pages(n_records: int, page_size: int = 100) -> list[dict[str, Any]]:
    """HubSpot-shaped contact pages; every 10th record carries one unrequested property."""
    pages: list[dict[str, Any]] = []
    for start in range(0, n_records, page_size):
        results = []
        for i in range(start, min(start + page_size, n_records)):
            properties = {
                "email": f"cliente{i}@maispet.com.br",
                "phone": f"+55119{i:08d}",
                "firstname": "Ana",
                "lastname": f"Souza {i}",
                "city": "São Paulo",
                "state": "SP",
                "lifecyclestage": "customer",
                "hs_analytics_source": "PAID_SOCIAL",
                "acquisition_channel": "instagram",
                "whatsapp_opt_in": "true" if i % 3 else "false",
                "whatsapp_opt_in_date": "2024-03-01T12:00:00.000Z",
                "createdate": "2024-01-10T13:00:00.000Z",
                "lastmodifieddate": "2024-05-02T09:30:00.000Z",
                "hs_object_id": str(1000 + i),
            }
            if i % 10 == 0:
                properties["pet_species"] = "dog"
            results.append(
                {
                    "id": str(1000 + i),
                    "properties": properties,
                    "createdAt": "2024-01-10T13:00:00.000Z",
                    "updatedAt": "2024-05-02T09:30:00.000Z",
                    "archived": False,
                }
            )
        page: dict[str, Any] = {"results": results}
        if start + page_size < n_records:
            page["paging"] = {"next": {"after": str(1000 + start + page_size)}}
        pages.append(page)
    return pages


def parse_with_duckdb(pages: list[dict[str, Any]], properties: list[str]) -> pa.Table:
    """The alternative: re-encode pages, let DuckDB flatten (extras column omitted — flatters DuckDB)."""
    page_json = pa.table({"page": pa.array([json.dumps(page) for page in pages], type=pa.string())})
    shape = json.dumps(
        {
            "results": [
                {
                    "id": "VARCHAR",
                    "createdAt": "VARCHAR",
                    "updatedAt": "VARCHAR",
                    "archived": "BOOLEAN",
                    "properties": {name: "VARCHAR" for name in properties},
                }
            ]
        }
    )
    selects = ", ".join(f'r.properties."{name}" AS "{name}"' for name in properties)
    con = duckdb.connect()
    con.register("page_json", page_json)
    sql = f"""
        SELECT r.id, r.createdAt AS created_at, r.updatedAt AS updated_at, r.archived, {selects}
        FROM (SELECT unnest(from_json(page, '{shape}').results) AS r FROM page_json)
    """
    return con.execute(sql).to_arrow_table()


def _best_of(repeats: int, run: Callable[[], pa.Table]) -> tuple[float, pa.Table]:
    best, table = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        table = run()
        best = min(best, time.perf_counter() - started)
    assert table is not None
    return best, table


def main(n_records: int = 100_000) -> None:
    properties = default_properties("contacts")
    pages = synthetic_contact_pages(n_records)
    for label, run in (
        ("comprehensions -> pyarrow (shipped)", lambda: parse_pages(pages, "contacts", properties)),
        ("json.dumps -> duckdb from_json/unnest", lambda: parse_with_duckdb(pages, properties)),
    ):
        seconds, table = _best_of(3, run)
        print(f"{label:40s} {table.num_rows:>8,d} rows  {seconds:6.3f} s  {table.num_rows / seconds:>12,.0f} records/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
