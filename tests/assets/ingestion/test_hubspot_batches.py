"""A HubSpot load read in several batches: a record repeated on a later page keeps only its newest version.

Each page is its own batch here (``BATCH_BYTES`` = 1), so the cross-batch rules run: a newer version on a
later page replaces what an earlier batch stored, an older one is rejected. On a table that was empty when
the load began the merge looks for replaced rows only among keys earlier batches stored; on a table that
already held rows it must look at every key. Both are checked, on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import assets.ingestion.hubspot as hubspot_loading
from assets.ingestion.hubspot import load_hubspot
from integrations.hubspot import DemoHubSpotSource
from integrations.hubspot.demo import pages_path
from orchestration.warehouse import Warehouse
from tests.integrations.hubspot.fake_hubspot import make_contact

HOUR_MS = 3_600_000
BASE_MS = 1_714_600_000_000


def contact(n: int, hours: int, city: str) -> dict[str, Any]:
    return make_contact(n, BASE_MS + hours * HOUR_MS, city=city)


def write_pages(root: Path, pages: list[list[dict[str, Any]]]) -> DemoHubSpotSource:
    path = pages_path(root, "contacts")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"results": page}) + "\n" for page in pages))
    return DemoHubSpotSource(root)


def stored(warehouse: Warehouse) -> dict[str, tuple[str, int]]:
    rows = warehouse.query("select id, city, count(*) over (partition by id) from raw_hubspot.contacts")
    return {str(key): (str(city), int(copies)) for key, city, copies in rows}


@pytest.fixture(autouse=True)
def page_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hubspot_loading, "BATCH_BYTES", 1)


def test_a_later_page_replaces_or_loses_to_what_an_earlier_batch_stored(tmp_path: Path, warehouse_url: str) -> None:
    source = write_pages(
        tmp_path / "crm",
        [
            [contact(1, 1, "Recife"), contact(2, 5, "Natal")],
            [contact(1, 3, "Olinda"), contact(3, 1, "Belém")],  # 1 edited since page one
            # an older version of 2 (one row in six: a batch rejecting more than a fifth is refused as broken)
            [contact(2, 2, "Macapá"), *(contact(n, 1, "Belém") for n in range(4, 9))],
        ],
    )
    warehouse = Warehouse(warehouse_url)

    load = load_hubspot(warehouse, source, "contacts")

    assert stored(warehouse) == {"1": ("Olinda", 1), "2": ("Natal", 1)} | {str(n): ("Belém", 1) for n in range(3, 9)}
    assert (load.inserted, load.updated, load.rejected) == (8, 1, 1)
    assert load.reasons == {"duplicate key": 1}


def test_a_full_load_over_stored_rows_replaces_them(tmp_path: Path, warehouse_url: str) -> None:
    warehouse = Warehouse(warehouse_url)
    load_hubspot(
        warehouse, write_pages(tmp_path / "before", [[contact(1, 1, "Recife"), contact(9, 1, "Natal")]]), "contacts"
    )
    warehouse.execute("delete from cro_meta.load_state")  # a lost cursor: the next load lists everything again

    source = write_pages(tmp_path / "after", [[contact(2, 2, "Olinda")], [contact(1, 2, "Olinda")]])
    load = load_hubspot(warehouse, source, "contacts")

    assert load.mode == "full"
    assert stored(warehouse) == {"1": ("Olinda", 1), "2": ("Olinda", 1), "9": ("Natal", 1)}
    assert (load.inserted, load.updated) == (1, 1)
    assert load.cursor == datetime.fromtimestamp((BASE_MS + 2 * HOUR_MS) / 1000, tz=UTC)
