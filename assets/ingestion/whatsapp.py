"""WhatsApp webhook events → ``raw_whatsapp.messages`` and ``raw_whatsapp.statuses``.

Reads what landed since the byte cursor (kept in the warehouse), parses it in one pass on the
warehouse's staging connection, and inserts the events not stored yet: messages keyed on
``message_id``, statuses on ``(message_id, status)``. Events never change once sent, so a webhook
delivered twice is stored once, the first time, and out-of-order statuses coexist. Unreadable lines
go to ``webhooks__rejected``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg
import pyarrow as pa

from assets.ingestion.loading import MAX_REJECTED_SHARE, UnusableBatchError
from assets.ingestion.metadata import PREVIEW_ROWS, preview
from integrations.whatsapp import LandingArea, LandingError, advance_cursor, stage_landing
from orchestration.resources import WarehouseResource, WhatsAppResource
from orchestration.warehouse import Warehouse

SCHEMA = "raw_whatsapp"
STATE_KEY = "whatsapp.landing"
BATCH_BYTES = 1024 * 1024 * 1024  # bounded memory however much has landed


@dataclass
class WhatsAppLoad:
    messages: int = 0
    statuses: int = 0
    opt_outs: int = 0
    rejected: int = 0
    bytes_read: int = 0
    batches: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    sample: pa.Table | None = None


def load_whatsapp(warehouse: Warehouse, landing: LandingArea, batch_bytes: int = BATCH_BYTES) -> WhatsAppLoad:
    """Load everything new in the landing area; the cursor advances batch by batch, after each merge."""
    with warehouse.session():
        con = warehouse.staging()
        con.execute("set preserve_insertion_order = false")  # events have no order: less memory, more threads
        try:
            return _load_whatsapp(warehouse, landing, batch_bytes)
        finally:
            con.execute("reset preserve_insertion_order")


def _load_whatsapp(warehouse: Warehouse, landing: LandingArea, batch_bytes: int) -> WhatsAppLoad:
    load = WhatsAppLoad()
    cursor = warehouse.read_state(STATE_KEY) or {}
    con = warehouse.staging()
    while slices := landing.new_data_since(cursor, max_bytes=batch_bytes):
        staged = stage_landing(con, slices)
        if staged.rejected_rows:
            warehouse.merge(SCHEMA, "webhooks__rejected", staged.rejected, ["rejected_id"], unique_keys=True)
        events = staged.message_rows + staged.status_rows
        share = staged.rejected_rows / max(events + staged.rejected_rows, 1)
        if share > MAX_REJECTED_SHARE:
            raise UnusableBatchError(
                f"{share:.0%} of the webhook events in {[s.path.name for s in slices]} are unreadable "
                f"(limit {MAX_REJECTED_SHARE:.0%}); nothing merged and the cursor was not advanced. "
                f"See {SCHEMA}.webhooks__rejected."
            )
        # stage_landing keeps one row per message and per (message, status) within a batch; across batches
        # the first one stored stays
        for table, staged_table, key in (
            ("messages", staged.messages, ["message_id"]),
            ("statuses", staged.statuses, ["message_id", "status"]),
        ):
            warehouse.merge(SCHEMA, table, staged_table, key, keep_existing=True, unique_keys=True)
        cursor = advance_cursor(cursor, slices)
        warehouse.write_state(STATE_KEY, cursor)

        load.batches += 1
        load.bytes_read += sum(s.end - s.start for s in slices)
        load.messages += staged.message_rows
        load.statuses += staged.status_rows
        load.opt_outs += staged.opt_outs
        load.rejected += staged.rejected_rows
        for reason, count in staged.reasons.items():
            load.reasons[reason] = load.reasons.get(reason, 0) + count
        if load.sample is None and staged.status_rows:
            load.sample = con.sql(f"select * from {staged.statuses} limit {PREVIEW_ROWS}").to_arrow_table()
    return load


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["whatsapp", "messages"],
            description=f"Inbound WhatsApp messages (replies, opt-outs) from the webhook landing: {SCHEMA}.messages",
            kinds={"whatsapp", "python"},
            metadata={"table": f"{SCHEMA}.messages", "primary_key": ["message_id"]},
        ),
        dg.AssetSpec(
            ["whatsapp", "statuses"],
            description=f"Delivery statuses of messages we sent (sent, delivered, read, failed): {SCHEMA}.statuses",
            kinds={"whatsapp", "python"},
            metadata={"table": f"{SCHEMA}.statuses", "primary_key": ["message_id", "status"]},
        ),
    ],
    group_name="ingestion",
    name="whatsapp_events",
)
def whatsapp_events(warehouse: WarehouseResource, whatsapp: WhatsAppResource) -> tuple[dg.MaterializeResult, ...]:
    started = time.perf_counter()
    wh = warehouse.get()
    try:
        load = load_whatsapp(wh, whatsapp.landing())
    except (UnusableBatchError, LandingError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    common = {
        "bytes_read": load.bytes_read,
        "batches": load.batches,
        "rows_rejected": load.rejected,
        "reject_reasons": dg.MetadataValue.json(load.reasons),
        "duration_s": round(time.perf_counter() - started, 3),
    }
    return (
        dg.MaterializeResult(
            asset_key=["whatsapp", "messages"],
            metadata={
                "dagster/row_count": wh.row_count(SCHEMA, "messages"),
                "rows_loaded": load.messages,
                "opt_outs_loaded": load.opt_outs,
                **common,
            },
        ),
        dg.MaterializeResult(
            asset_key=["whatsapp", "statuses"],
            metadata={
                "dagster/row_count": wh.row_count(SCHEMA, "statuses"),
                "rows_loaded": load.statuses,
                "preview": preview(load.sample if load.sample is not None else pa.table({})),
                **common,
            },
        ),
    )
