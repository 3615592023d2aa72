"""The demo source: same bodies as the files, same search semantics, bad lines named by file and line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from integrations.hubspot import (
    DemoHubSpotSource,
    HubSpotClient,
    HubSpotSource,
    Page,
    PageFile,
    default_properties,
    read_pages,
)
from tests.integrations.hubspot.conftest import BASE_MS, decoded
from tests.integrations.hubspot.fake_hubspot import FakeHubSpot, epoch_ms, make_contact, make_deal


def _write_pages(root: Path, object_type: str, pages: list[dict[str, Any]], tail: str = "") -> Path:
    path = root / "hubspot" / f"{object_type}.pages.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(page, ensure_ascii=False) + "\n" for page in pages) + tail, encoding="utf-8")
    return path


def _pages(records: list[dict[str, Any]], size: int = 100) -> list[dict[str, Any]]:
    pages = []
    for start in range(0, len(records), size):
        page: dict[str, Any] = {"results": records[start : start + size]}
        if start + size < len(records):
            page["paging"] = {"next": {"after": str(start + size), "link": "https://api.hubapi.com/..."}}
        pages.append(page)
    return pages


def _stage(tmp_path: Path, pages: list[Page], object_type: str, properties: list[str]) -> tuple[pa.Table, list[str]]:
    page_file = PageFile(tmp_path / f"{object_type}-{len(list(tmp_path.iterdir()))}.jsonl")
    for page in pages:
        page_file.add(page)
    page_file.close()
    con = duckdb.connect()

    def consume(rows: str) -> pa.Table:
        return con.sql(f"select * from {rows}").to_arrow_table()

    table, broken = read_pages(con, page_file, object_type, properties, "rows", consume)  # type: ignore[arg-type]
    return table, [str(e) for e in broken]


def test_list_pages_are_exactly_what_the_file_holds(tmp_path: Path) -> None:
    pages = _pages([make_contact(n, BASE_MS + n) for n in range(1, 251)])
    path = _write_pages(tmp_path, "contacts", pages)
    source = DemoHubSpotSource(tmp_path)

    served = list(source.list_pages("contacts", default_properties("contacts")))

    assert decoded(served) == pages
    assert [page.body for page in served] == path.read_bytes().splitlines(keepends=True)
    assert [page.origin for page in served] == [f"{path}:{n}" for n in (1, 2, 3)]
    assert source.calls == 3
    assert isinstance(source, HubSpotSource)


def test_a_truncated_line_is_served_as_is_and_named_by_file_and_line(tmp_path: Path) -> None:
    pages = _pages([make_contact(n, BASE_MS + n) for n in range(1, 201)])
    good = json.dumps(_pages([make_contact(300, BASE_MS)])[0])
    path = _write_pages(tmp_path, "contacts", pages, tail="\n" + good[: len(good) // 2])  # a blank line first

    served = list(DemoHubSpotSource(tmp_path).list_pages("contacts", ["email"]))
    table, broken = _stage(tmp_path, served, "contacts", ["email"])

    assert [page.origin for page in served] == [f"{path}:{n}" for n in (1, 2, 4)]
    assert table.num_rows == 200  # everything but the bad line was read
    assert len(broken) == 1
    assert broken[0].startswith(f"{path}:4: invalid HubSpot page: truncated or malformed JSON")


def test_missing_file_says_how_to_generate_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cro demo-data"):
        list(DemoHubSpotSource(tmp_path).list_pages("deals", []))


def test_search_filters_sorts_and_repages_like_the_api(tmp_path: Path) -> None:
    deals = [make_deal(n, BASE_MS + ((n * 37) % 300) * 1000, [str(n)]) for n in range(1, 301)]
    _write_pages(tmp_path, "deals", _pages(deals, size=70))
    source = DemoHubSpotSource(tmp_path)
    cursor_ms = BASE_MS + 99_000

    pages = decoded(source.search_pages("deals", ["dealname"], datetime.fromtimestamp(cursor_ms / 1000, tz=UTC)))

    stamps = [epoch_ms(r["properties"]["hs_lastmodifieddate"]) for p in pages for r in p["results"]]
    assert stamps == sorted(stamps)
    assert min(stamps) > cursor_ms
    assert len(stamps) == 200
    assert [len(p["results"]) for p in pages] == [100, 100]
    assert pages[0]["total"] == 200
    assert pages[0]["paging"] == {"next": {"after": "100"}}
    assert all("associations" not in r for p in pages for r in p["results"])  # search never returns them
    assert source.calls == 2


def test_demo_and_api_pages_parse_to_the_same_table(
    tmp_path: Path, fake_hubspot: FakeHubSpot, make_client: Callable[..., HubSpotClient]
) -> None:
    """The point of raw bodies: one parsing path for both sources."""
    properties = default_properties("deals")
    api_pages = list(make_client().list_pages("deals", properties, associations=["contacts"]))
    _write_pages(tmp_path, "deals", decoded(api_pages))
    demo_pages = list(DemoHubSpotSource(tmp_path).list_pages("deals", properties, associations=["contacts"]))

    api_table, _ = _stage(tmp_path, api_pages, "deals", properties)
    assert _stage(tmp_path, demo_pages, "deals", properties)[0].equals(api_table)
    assert api_table.num_rows == 120
    assert api_table.column("associated_contact_id").null_count == 20
