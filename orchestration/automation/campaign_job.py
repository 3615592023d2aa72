"""``send_campaign``: an approved campaign version to its segment, through the outbox, exactly once."""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import json
import time
from typing import TYPE_CHECKING

import dagster as dg
from dagster import OpExecutionContext

from orchestration.resources import OutboundResource, WarehouseResource

if TYPE_CHECKING:
    from agents.schemas import CampaignDraft
    from orchestration.warehouse import Warehouse


class SendCampaignConfig(dg.Config):
    """Launchpad options: which campaign; the version defaults to its newest approved one."""

    campaign_id: str
    version: str | None = None
    limit: int | None = None  # at most this many messages in this run (the rest stay pending for the next)


def load_draft(store: "Warehouse", campaign_id: str, version: str) -> "CampaignDraft":
    from agents.schemas import CampaignDraft

    p = "%s" if store.kind == "postgres" else "?"
    rows = store.query(
        f"select payload_json from agents.campaign_drafts where campaign_id = {p} and version = {p}",
        (campaign_id, version),
    )
    if not rows:
        raise dg.Failure(f"draft {campaign_id!r} version {version!r} not found in agents.campaign_drafts")
    return CampaignDraft.model_validate(json.loads(rows[0][0]))


@dg.op(
    name="deliver_campaign",
    out=dg.Out(dg.Nothing),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    description="Send an approved campaign version: audience from the marts at send time, consent checked per "
    "message, A/B variant per contact, every message through the outbox (never twice).",
)
def send_campaign_op(
    context: OpExecutionContext, config: SendCampaignConfig, warehouse: WarehouseResource, outbound: OutboundResource
) -> dg.Output:
    from pathlib import Path

    from orchestration.approvals import approvals
    from orchestration.outbound.campaign import audience, campaign_messages
    from orchestration.outbound.consent import ConsentLedger
    from orchestration.outbound.outbox import Outbox

    started = time.perf_counter()
    store = warehouse.get()
    approved = [a for a in approvals(store, config.campaign_id) if config.version in (None, a.version)]
    if not approved:
        which = f"version {config.version!r} of " if config.version else ""
        raise dg.Failure(
            description=f"{which}campaign {config.campaign_id!r} is not approved: nothing is sent. "
            f"Approve it first: cro approve {config.campaign_id} --by NAME",
            allow_retries=False,
        )
    approval = approved[-1]
    draft = load_draft(store, approval.campaign_id, approval.version)
    consent = ConsentLedger(store)
    # the latest SAIR/PARAR/STOP count, even between the consent sensor's ticks; only what is newer is read
    opt_outs, _ = consent.sync_whatsapp_inbound(after=consent.inbound_cursor())
    recipients = audience(store, draft)
    messages = campaign_messages(draft, approval.version, recipients)
    source = f"campaign:{draft.campaign_id}:{approval.version}"
    outbox = Outbox(store, files_dir=Path(outbound.files_dir))
    queued = outbox.enqueue(messages, source=source, run_id=context.run_id)
    sender = outbound.sender(draft.channel)
    total = len(messages)

    def progress(done: int, of: int) -> None:
        if done == of or done % 500 == 0:
            context.log.info(f"{source}: {done}/{of} handled")

    report = outbox.deliver(
        sender, source=source, run_id=context.run_id, consent=consent, limit=config.limit, progress=progress
    )
    metadata = {
        "campaign_id": draft.campaign_id,
        "version": approval.version,
        "approved_by": approval.approved_by,
        "approved_at": approval.approved_at.isoformat(),
        "channel": draft.channel,
        "live": not sender.dry_run,
        "audience": total,
        "newly_queued": queued,
        "new_opt_outs_synced": opt_outs,
        **{k: v for k, v in vars(report).items() if k != "duration_s"},
        "duration_s": round(time.perf_counter() - started, 3),
    }
    if report.failed_retryable:
        raise dg.Failure(
            description=f"{report.failed_retryable} message(s) of {source} failed after the channel's retries "
            "(429/5xx/timeouts); the run retries them, and a re-run with the same config sends only what is "
            "still pending — never twice.",
            metadata=metadata,
        )
    return dg.Output(None, metadata=metadata)


@dg.job(
    name="send_campaign",
    description="Send one approved campaign version (launched by the approval sensor, or from the launchpad).",
    tags={"cro/kind": "outbound"},
)
def send_campaign() -> None:
    send_campaign_op()
