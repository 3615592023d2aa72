"""Sensors: what makes the platform react between schedules."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from orchestration.resources import WhatsAppResource

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


def all_sensors() -> list[dg.SensorDefinition]:
    return [whatsapp_landing_sensor]
