"""The WhatsApp landing sensor asks for one ingestion run per change of the landing area, never twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from integrations.whatsapp import LandingArea
from orchestration.resources import WhatsAppResource
from orchestration.sensors import WHATSAPP_EVENTS, whatsapp_landing_sensor


def evaluate(landing: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"whatsapp": WhatsAppResource(landing_dir=str(landing))})
    return whatsapp_landing_sensor(context)


def test_no_landing_files_means_no_run(tmp_path: Path) -> None:
    result = evaluate(tmp_path / "landing", None)
    assert not result.run_requests and result.skip_reason


def test_new_events_request_one_run_and_the_cursor_remembers_them(tmp_path: Path) -> None:
    landing = LandingArea(tmp_path)
    landing.append({"object": "whatsapp_business_account", "entry": []}, datetime(2026, 11, 1, 12, tzinfo=UTC))
    first = evaluate(tmp_path, None)
    assert len(first.run_requests or []) == 1 and first.cursor
    again = evaluate(tmp_path, first.cursor)  # nothing appended since: no second run
    assert not again.run_requests and again.skip_reason

    landing.append({"object": "whatsapp_business_account", "entry": []}, datetime(2026, 11, 1, 13, tzinfo=UTC))
    grown = evaluate(tmp_path, first.cursor)
    assert len(grown.run_requests or []) == 1
    assert grown.run_requests[0].run_key != first.run_requests[0].run_key  # type: ignore[index]


def test_the_sensor_targets_the_whatsapp_ingestion_assets() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    assert WHATSAPP_EVENTS.resolve(graph) == {
        dg.AssetKey(["whatsapp", "messages"]),
        dg.AssetKey(["whatsapp", "statuses"]),
    }
    assert "whatsapp_landing_sensor" in {s.name for s in defs.sensors or []}
