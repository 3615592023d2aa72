"""WhatsApp webhook events → ``raw_whatsapp.messages`` and ``raw_whatsapp.statuses``.

Reads what landed since the byte cursor (kept in the warehouse), parses it in one pass, and merges:
messages on ``message_id``, statuses on ``(message_id, status)`` so a webhook delivered twice is
stored once and out-of-order statuses coexist. Unreadable lines go to ``webhooks__rejected``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from assets.ingestion.loading import MAX_REJECTED_SHARE, UnusableBatchError
from assets.ingestion.metadata import preview
from integrations.whatsapp import LandingArea, LandingError, advance_cursor, parse_landing
from orchestration.resources import WarehouseResource, WhatsAppResource
from orchestration.warehouse import Warehouse

SCHEMA = "raw_whatsapp"
STATE_KEY = "whatsapp.landing"
BATCH_BYTES = 256 * 1024 * 1024  # bounded memory however much has landed


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


def _with_rejected_id(rejected: pa.Table) -> pa.Table:
    keys = [
        hashlib.md5(f"{f}|{o}|{r}|{raw}".encode()).hexdigest()
        for f, o, r, raw in zip(
            rejected.column("source_file").to_pylist(),
            rejected.column("byte_offset").to_pylist(),
            rejected.column("reason").to_pylist(),
            rejected.column("raw").to_pylist(),
            strict=True,
        )
    ]
    return rejected.add_column(0, "rejected_id", pa.array(keys, pa.string()))


def load_whatsapp(warehouse: Warehouse, landing: LandingArea, batch_bytes: int = BATCH_BYTES) -> WhatsAppLoad:
    """Load everything new in the landing area; the cursor advances batch by batch, after each merge."""
    with warehouse.session():
        return _load_whatsapp(warehouse, landing, batch_bytes)


def _load_whatsapp(warehouse: Warehouse, landing: LandingArea, batch_bytes: int) -> WhatsAppLoad:
    load = WhatsAppLoad()
    cursor = warehouse.read_state(STATE_KEY) or {}
    while slices := landing.new_data_since(cursor, max_bytes=batch_bytes):
        parsed = parse_landing(slices)
        if parsed.rejected.num_rows:
            warehouse.merge(SCHEMA, "webhooks__rejected", _with_rejected_id(parsed.rejected), ["rejected_id"])
        events = parsed.messages.num_rows + parsed.statuses.num_rows
        share = parsed.rejected.num_rows / max(events + parsed.rejected.num_rows, 1)
        if share > MAX_REJECTED_SHARE:
            raise UnusableBatchError(
                f"{share:.0%} of the webhook events in {[s.path.name for s in slices]} are unreadable "
                f"(limit {MAX_REJECTED_SHARE:.0%}); nothing merged and the cursor was not advanced. "
                f"See {SCHEMA}.webhooks__rejected."
            )
        # parse_landing keeps one row per message and per (message, status) within a batch; the merge
        # on the same keys makes re-deliveries across batches land once as well
        messages, statuses = parsed.messages, parsed.statuses
        warehouse.merge(SCHEMA, "messages", messages, ["message_id"])
        warehouse.merge(SCHEMA, "statuses", statuses, ["message_id", "status"])
        cursor = advance_cursor(cursor, slices)
        warehouse.write_state(STATE_KEY, cursor)

        load.batches += 1
        load.bytes_read += sum(s.end - s.start for s in slices)
        load.messages += messages.num_rows
        load.statuses += statuses.num_rows
        load.opt_outs += int(pc.sum(messages.column("is_opt_out")).as_py() or 0)
        load.rejected += parsed.rejected.num_rows
        for reason in parsed.rejected.column("reason").to_pylist():
            load.reasons[reason] = load.reasons.get(reason, 0) + 1
        if load.sample is None and statuses.num_rows:
            load.sample = statuses.drop_columns(["raw"])
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
