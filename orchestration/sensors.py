"""Sensors: what makes the platform react between schedules."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from orchestration.automation.campaign_job import send_campaign
from orchestration.resources import WarehouseResource, WhatsAppResource
from orchestration.warehouse import warehouse_busy

WHATSAPP_EVENTS = dg.AssetSelection.assets(["whatsapp", "messages"], ["whatsapp", "statuses"])


@dg.sensor(
    name="whatsapp_landing_sensor",
    target=WHATSAPP_EVENTS,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Every minute: when the webhook receiver has appended WhatsApp events to the landing area since "
    "the last run request, ingest them (whatsapp/messages and whatsapp/statuses).",
)
def whatsapp_landing_sensor(context: dg.SensorEvaluationContext, whatsapp: WhatsAppResource) -> dg.SensorResult:
    """Requests one ingestion run per change of the landing files (names and sizes), never twice for the same state."""
    sizes = {path.name: path.stat().st_size for path in whatsapp.landing().files()}
    seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(name for name, size in sizes.items() if seen.get(name) != size)
    if not changed:
        return dg.SensorResult(skip_reason="no new WhatsApp events in the landing area")
    state = hashlib.sha256(json.dumps(sizes, sort_keys=True).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"whatsapp-landing-{state}", tags={"cro/landing_files": str(len(changed))})
        ],
        cursor=json.dumps(sizes, sort_keys=True),
    )


@dg.sensor(
    name="campaign_approval_sensor",
    job=send_campaign,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Every 30 s: each newly approved campaign version (cro approve) → one send_campaign run "
    "(run key send:<campaign>:<version>, so exactly once).",
)
def campaign_approval_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
    from orchestration.approvals import approved_unsent, run_key

    handed_over: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
    try:
        ready = approved_unsent(warehouse.get(), handed_over)
    except Exception as exc:
        if warehouse_busy(exc):
            return dg.SensorResult(skip_reason=f"warehouse busy (a run is writing it): {exc}")
        raise
    if not ready:
        return dg.SensorResult(skip_reason="no newly approved campaign versions")
    requests = [
        dg.RunRequest(
            run_key=run_key(a),
            run_config={"ops": {"deliver_campaign": {"config": {"campaign_id": a.campaign_id, "version": a.version}}}},
            tags={"cro/campaign": a.campaign_id, "cro/version": a.version, "cro/approved_by": a.approved_by},
        )
        for a in ready
    ]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(handed_over | {run_key(a) for a in ready})))


def all_sensors() -> list[dg.SensorDefinition]:
    from orchestration.automation.alerts import alert_sensors

    return [whatsapp_landing_sensor, campaign_approval_sensor, *alert_sensors()]
