"""HubSpot contacts and deals → ``raw_hubspot.<object>`` (+ ``<object>__rejected``).

The first load lists every object; later loads ask the search API for what changed since the
cursor (kept in the warehouse beside the data), with a few minutes of overlap because search
results lag edits; the merge on ``id`` makes the overlap harmless.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import dagster as dg
import pyarrow as pa

from assets.ingestion.loading import LoadOutcome, UnusableBatchError, load_validated
from assets.ingestion.metadata import PREVIEW_ROWS, load_metadata
from integrations.contracts import ContractError, validate
from integrations.hubspot import (
    DEFAULT_ASSOCIATIONS,
    HubSpotPageError,
    HubSpotSource,
    ObjectType,
    Page,
    PageFile,
    default_properties,
    read_pages,
)
from integrations.hubspot.contracts import HUBSPOT_CONTRACTS
from orchestration.resources import HubSpotResource, WarehouseResource
from orchestration.warehouse import MergeResult, Warehouse

SCHEMA = "raw_hubspot"
# Page bodies flattened by one DuckDB query (~800,000 deals): few big batches, bounded memory.
BATCH_BYTES = 512 << 20
SEARCH_OVERLAP = timedelta(minutes=5)
# Search never returns associations: keep the stored contact link when an incremental read omits it. (A full
# list asks for them, so there a missing link means there is none.)
KEEP_WHEN_NULL: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("associations_json",),
    "deals": ("associated_contact_id", "associations_json"),
}
ROWS, ACCEPTED = "hubspot_rows", "hubspot_accepted"  # relations on the warehouse's staging connection


@dataclass
class HubSpotLoad:
    mode: str
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    broken_pages: list[HubSpotPageError] = field(default_factory=list)
    cursor: datetime | None = None
    sample: pa.Table | None = None

    def add(self, outcome: LoadOutcome, reasons: dict[str, int]) -> None:
        self.inserted += outcome.merged.inserted
        self.updated += outcome.merged.updated
        self.rejected += outcome.rejected
        for reason, count in reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count


def _page_files(
    pages: Iterator[Page], directory: Path, max_bytes: int, broken: list[HubSpotPageError]
) -> Iterator[PageFile]:
    """The pages written to files of about ``max_bytes``; each file is deleted once the caller is done with it."""
    files = 0
    current = PageFile(directory / "pages-0.jsonl")
    try:
        for page in pages:
            current.add(page)
            if current.size >= max_bytes:
                current.close()
                yield current
                current.path.unlink()
                files += 1
                current = PageFile(directory / f"pages-{files}.jsonl")
    except HubSpotPageError as exc:  # a page the source itself could not read: keep what came before it
        broken.append(exc)
    current.close()
    if current.origins:
        yield current


def _broken_page_rows(object_type: ObjectType, errors: list[HubSpotPageError]) -> pa.Table:
    return pa.table(
        {
            "rejected_id": [hashlib.md5(str(e).encode()).hexdigest() for e in errors],
            "source": [object_type] * len(errors),
            "source_row": pa.nulls(len(errors), pa.int64()),
            "reason": [f"page: {e.reason}" for e in errors],
            "raw": [e.origin for e in errors],
        }
    )


def load_hubspot(
    warehouse: Warehouse, source: HubSpotSource, object_type: ObjectType, properties: list[str] | None = None
) -> HubSpotLoad:
    """Full or incremental load of one object type; advances the cursor only when every page was read."""
    with warehouse.session():
        return _load_hubspot(warehouse, source, object_type, properties or default_properties(object_type))


def _load_hubspot(
    warehouse: Warehouse, source: HubSpotSource, object_type: ObjectType, properties: list[str]
) -> HubSpotLoad:
    contract = HUBSPOT_CONTRACTS[object_type]
    state_key = f"hubspot.{object_type}"
    state = warehouse.read_state(state_key)
    keep_when_null: tuple[str, ...] = ()
    if state and state.get("modified_after"):
        since = datetime.fromisoformat(state["modified_after"]) - SEARCH_OVERLAP
        pages = source.search_pages(object_type, properties, modified_after=since)
        load = HubSpotLoad(mode=f"incremental since {since.isoformat()}")
        load.cursor = datetime.fromisoformat(state["modified_after"])
        keep_when_null = KEEP_WHEN_NULL[object_type]
    else:
        pages = source.list_pages(object_type, properties, associations=DEFAULT_ASSOCIATIONS[object_type])
        load = HubSpotLoad(mode="full")

    # on a table empty when the load began, only keys an earlier batch of this load accepted can be stored:
    # each merge then looks for the rows it replaces among those few keys, not the whole batch's
    began_empty = warehouse.row_count(SCHEMA, object_type) == 0
    con = warehouse.staging()
    con.execute(f"drop table if exists {ACCEPTED}")  # keys accepted by earlier batches of this load
    first_row = 1
    with tempfile.TemporaryDirectory(prefix="hubspot-pages-") as tmp:
        for page_file in _page_files(pages, Path(tmp), BATCH_BYTES, load.broken_pages):
            judge = partial(validate, con, contract, what="HubSpot object", first_row=first_row, accepted=ACCEPTED)
            batch, broken = read_pages(con, page_file, object_type, properties, ROWS, judge)
            load.broken_pages += broken
            first_row += batch.good_rows + batch.rejected_rows
            outcome = load_validated(
                warehouse,
                SCHEMA,
                object_type,
                batch,
                contract.primary_key,
                keep_when_null=keep_when_null,
                stored_keys=batch.replacing if began_empty else None,
            )
            load.add(outcome, batch.reject_reasons)
            newest = con.sql(f"select max(updated_at) from {batch.good}").fetchall()[0][0]
            load.cursor = max(filter(None, (load.cursor, newest)), default=None)
            if load.sample is None and batch.good_rows:
                load.sample = con.sql(f"select * from {batch.good} limit {PREVIEW_ROWS}").to_arrow_table()

    if load.broken_pages:
        warehouse.merge(
            SCHEMA, f"{object_type}__rejected", _broken_page_rows(object_type, load.broken_pages), ["rejected_id"]
        )
        load.rejected += len(load.broken_pages)
        load.reasons["page"] = len(load.broken_pages)
    elif load.cursor is not None:
        warehouse.write_state(state_key, {"modified_after": load.cursor.isoformat()})
    return load


def build_hubspot_asset(object_type: ObjectType) -> dg.AssetsDefinition:
    @dg.asset(
        key=["hubspot", object_type],
        group_name="ingestion",
        kinds={"hubspot", "python"},
        description=f"HubSpot CRM {object_type}: full list on first load, then incremental through the search API; "
        f"merged on id into {SCHEMA}.{object_type}, bad records in {SCHEMA}.{object_type}__rejected.",
        retry_policy=dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL),
        metadata={"table": f"{SCHEMA}.{object_type}", "primary_key": ["id"]},
    )
    def _hubspot(warehouse: WarehouseResource, hubspot: HubSpotResource) -> dg.MaterializeResult:
        started = time.perf_counter()
        wh = warehouse.get()
        source = hubspot.source()
        try:
            load = load_hubspot(wh, source, object_type, hubspot.properties(object_type))
        except (ContractError, UnusableBatchError, FileNotFoundError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        if load.broken_pages:
            first = load.broken_pages[0]
            raise dg.Failure(
                description=f"{len(load.broken_pages)} HubSpot page(s) unreadable, first: {first}. "
                f"Every readable page was loaded ({load.inserted} new, {load.updated} updated); the cursor was "
                f"not advanced so the next run reads them again. Details in {SCHEMA}.{object_type}__rejected.",
                allow_retries=False,
            )
        outcome = LoadOutcome(
            merged=MergeResult(load.inserted, load.updated),
            rejected=load.rejected,
            table_rows=wh.row_count(SCHEMA, object_type),
        )
        metadata = load_metadata(outcome, reasons=load.reasons, started=started, sample=load.sample or pa.table({}))
        metadata |= {
            "mode": load.mode,
            "api_calls": source.calls,
            "cursor": load.cursor.isoformat() if load.cursor else "",
        }
        return dg.MaterializeResult(metadata=metadata)

    return _hubspot


hubspot_assets = [build_hubspot_asset("contacts"), build_hubspot_asset("deals")]
