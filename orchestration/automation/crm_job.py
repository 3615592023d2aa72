"""``sync_crm``: segment, lifetime revenue and churn risk back to HubSpot contact properties, diff-only.

Desired values come from the marts (``dim_customers`` ⋈ ``dim_segments``; the customer id is the
HubSpot contact id). Current values are read from HubSpot when the channel is live, otherwise from
``crm_sync.hubspot_contacts`` (what the last live sync wrote). Only contacts whose values differ are
written, each through the outbox (key: contact and a hash of the new values), so a retried run
writes nothing twice. In dry run the job reports what would change and writes nothing.
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import datetime as dt
import json
import time
from typing import Any

import dagster as dg
from dagster import OpExecutionContext

from integrations.outbound import OutboundMessage, SendResult, digest
from orchestration.resources import OutboundResource, WarehouseResource

PROPERTIES = ("cro_segment", "cro_lifetime_revenue_brl", "cro_churn_risk")
CHURN_RISK = {
    "at_risk": "high",
    "inactive_60d": "high",
    "churned": "churned",
    "new": "medium",
    "loyal": "low",
    "vip": "low",
}
STATE_SCHEMA, STATE_TABLE = "crm_sync", "hubspot_contacts"


class SyncCrmConfig(dg.Config):
    """Launchpad options: ``dry_run`` reports what would change (default: live only when CRO_OUTBOUND=live)."""

    dry_run: bool | None = None
    limit: int | None = None  # at most this many contact writes in this run


def desired_properties(store: Any) -> dict[str, dict[str, str]]:
    rows = store.query(
        "select c.customer_id, s.segment, c.revenue_to_date_brl from marts.dim_customers as c "
        "join marts.dim_segments as s on s.customer_id = c.customer_id order by c.customer_id"
    )
    return {
        str(contact): {
            "cro_segment": str(segment),
            "cro_lifetime_revenue_brl": f"{float(revenue or 0):.2f}",
            "cro_churn_risk": CHURN_RISK.get(str(segment), "unknown"),
        }
        for contact, segment, revenue in rows
    }


def last_synced(store: Any) -> dict[str, dict[str, str | None]]:
    if not store.table_exists(STATE_SCHEMA, STATE_TABLE):
        return {}
    columns = ", ".join(PROPERTIES)
    rows = store.query(f"select contact_id, {columns} from {STATE_SCHEMA}.{STATE_TABLE}")
    return {str(r[0]): dict(zip(PROPERTIES, r[1:], strict=True)) for r in rows}


def record_synced(store: Any, written: dict[str, dict[str, str]], run_id: str) -> None:
    import pyarrow as pa

    now = dt.datetime.now(dt.UTC)
    rows = [{"contact_id": c, **props, "synced_at": now, "run_id": run_id} for c, props in written.items()]
    schema = pa.schema(
        [("contact_id", pa.string())]
        + [(p, pa.string()) for p in PROPERTIES]
        + [("synced_at", pa.timestamp("us", tz="UTC")), ("run_id", pa.string())]
    )
    store.merge(STATE_SCHEMA, STATE_TABLE, pa.Table.from_pylist(rows, schema=schema), ["contact_id"])


class HubSpotContactSender:
    """The outbox's view of the HubSpot writer: one contact's changed properties per message, written in batches
    of :attr:`batch_size` (HubSpot's batch update takes 100 contacts a request)."""

    channel = "hubspot"
    batch_size = 100

    def __init__(self, writer: Any | None) -> None:
        self.writer = writer
        self.dry_run = writer is None

    @staticmethod
    def _rendered(message: OutboundMessage) -> str:
        return f"contact {message.recipient}: " + json.dumps(message.payload["properties"], ensure_ascii=False)

    def send(self, message: OutboundMessage) -> SendResult:
        return self.send_batch([message])[0]

    def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        if self.writer is None:
            return [SendResult(status="dry_run", attempts=0, rendered=self._rendered(m)) for m in messages]
        from integrations.hubspot.writeback import ContactChange, HubSpotWriteError

        changes = [
            ContactChange(
                contact_id=m.recipient, properties=m.payload["properties"], previous=m.payload.get("previous", {})
            )
            for m in messages
        ]
        try:
            report = self.writer.update(changes)
        except HubSpotWriteError as exc:  # the whole call failed (token, retries used up): try again later
            attempts = 1 + exc.report.retries
            return [SendResult(status="failed_retryable", error=str(exc), attempts=attempts) for _ in messages]
        failed = dict(report.failed)
        attempts = 1 + report.retries
        return [
            SendResult(status="failed_permanent", error=failed[m.recipient], attempts=attempts)
            if m.recipient in failed
            else SendResult(status="sent", provider_id=m.recipient, attempts=attempts, rendered=self._rendered(m))
            for m in messages
        ]


@dg.op(
    name="write_hubspot_contacts",
    out=dg.Out(dg.Nothing),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    description="Write segment, lifetime revenue and churn risk to HubSpot contacts (changed contacts only).",
)
def sync_crm_op(
    context: OpExecutionContext, config: SyncCrmConfig, warehouse: WarehouseResource, outbound: OutboundResource
) -> dg.Output:
    from pathlib import Path

    from integrations.hubspot.writeback import diff_contacts
    from orchestration.outbound.outbox import Outbox

    started = time.perf_counter()
    store = warehouse.get()
    if not store.table_exists("marts", "dim_segments"):
        raise dg.Failure(description="marts.dim_segments not found: materialize the dbt models first.")
    desired = desired_properties(store)
    writer = None if config.dry_run else outbound.hubspot_writer()
    if config.dry_run is False and writer is None:
        raise dg.Failure(
            description="dry_run=false, but HubSpot is not live: set CRO_OUTBOUND=live and HUBSPOT_ACCESS_TOKEN",
            allow_retries=False,
        )
    current = writer.read(list(desired), PROPERTIES) if writer is not None else last_synced(store)
    changes = diff_contacts(current, desired)
    source = f"crm:{dt.datetime.now(dt.UTC):%Y-%m-%d}"
    messages = [
        OutboundMessage(
            idempotency_key=f"crm:{c.contact_id}:{digest(dict(c.properties))}",
            channel="hubspot",
            recipient=c.contact_id,
            payload={"properties": dict(c.properties), "previous": dict(c.previous)},
        )
        for c in changes
    ]
    outbox = Outbox(store, files_dir=Path(outbound.files_dir))
    outbox.enqueue(messages, source=source, run_id=context.run_id)
    report = outbox.deliver(HubSpotContactSender(writer), source=source, run_id=context.run_id, limit=config.limit)
    if writer is not None:
        sent = {r["recipient"] for r in outbox.rows(source=source) if r["status"] == "sent"}
        record_synced(store, {c: desired[c] for c in sent}, context.run_id)
    by_property: dict[str, int] = {}
    for change in changes:
        for name in change.properties:
            by_property[name] = by_property.get(name, 0) + 1
    preview = [{"contact_id": c.contact_id, "from": dict(c.previous), "to": dict(c.properties)} for c in changes[:10]]
    return dg.Output(
        None,
        metadata={
            "live": writer is not None,
            "contacts": len(desired),
            "contacts_changed": len(changes),
            "changes_by_property": dg.MetadataValue.json(by_property),
            "preview": dg.MetadataValue.json(preview),
            **{k: v for k, v in vars(report).items() if k != "duration_s"},
            "duration_s": round(time.perf_counter() - started, 3),
        },
    )


@dg.job(
    name="sync_crm",
    description="Reverse sync to HubSpot: segment, lifetime revenue and churn risk, only what changed.",
    tags={"cro/kind": "outbound"},
)
def sync_crm() -> None:
    sync_crm_op()
