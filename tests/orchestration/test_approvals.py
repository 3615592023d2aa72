"""Approvals (who and when, per draft version) and the sensor that hands each one to send_campaign once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from orchestration.approvals import ApprovalError, approvals, approve, pending
from orchestration.cli import app
from orchestration.resources import WarehouseResource
from orchestration.sensors import campaign_approval_sensor
from orchestration.warehouse import Warehouse

T0 = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def add_draft(store: Warehouse, campaign_id: str, version: str, proposed_at: dt.datetime) -> None:
    from assets.agents.tables import CAMPAIGNS

    row = {name: None for name in CAMPAIGNS.names} | {
        "campaign_id": campaign_id,
        "version": version,
        "status": "pending_approval",
        "channel": "whatsapp",
        "segment": "inactive_60d",
        "audience_size": 10,
        "schedule_at": proposed_at + dt.timedelta(days=5),
        "budget_brl": 100.0,
        "payload_json": "{}",
        "proposed_at": proposed_at,
    }
    store.merge("agents", "campaign_drafts", pa.Table.from_pylist([row], schema=CAMPAIGNS), ["campaign_id", "version"])


def test_approve_records_who_and_when_once_per_version(warehouse_url: str) -> None:
    store = Warehouse(warehouse_url)
    add_draft(store, "inactive_60d_whatsapp_20261201", "v1", T0)
    add_draft(store, "inactive_60d_whatsapp_20261201", "v2", T0 + dt.timedelta(hours=1))
    assert [d["version"] for d in pending(store)] == ["v2"]  # the newest proposal waits

    first = approve(store, "inactive_60d_whatsapp_20261201", approved_by="Ana", now=T0 + dt.timedelta(hours=2))
    assert (first.version, first.approved_by) == ("v2", "Ana")  # default: the newest version
    again = approve(store, "inactive_60d_whatsapp_20261201", approved_by="Bruno", version="v2")
    assert again.approved_by == "Ana" and again.approved_at == first.approved_at  # the first approval stands
    assert len(approvals(store)) == 1 and pending(store) == []

    approve(store, "inactive_60d_whatsapp_20261201", approved_by="Bruno", version="v1")
    assert [(a.version, a.approved_by) for a in approvals(store)] == [("v2", "Ana"), ("v1", "Bruno")]


@pytest.mark.parametrize(
    ("campaign", "by", "version", "message"),
    [
        ("nope", "Ana", None, "no draft 'nope'"),
        ("c1", "", None, "--by NAME"),
        ("c1", "Ana", "v9", "has no version 'v9'"),
    ],
)
def test_approve_refuses_with_a_clear_message(
    tmp_path: Path, campaign: str, by: str, version: str | None, message: str
) -> None:
    store = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    add_draft(store, "c1", "v1", T0)
    with pytest.raises(ApprovalError, match=message):
        approve(store, campaign, approved_by=by, version=version)


def evaluate(url: str, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": WarehouseResource(url=url)})
    return campaign_approval_sensor(context)


def test_the_sensor_hands_each_approved_version_over_once(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    store = Warehouse(url)
    assert evaluate(url, None).skip_reason  # no tables at all yet
    add_draft(store, "c1", "v1", T0)
    assert "no newly approved" in str(evaluate(url, None).skip_reason)

    approve(store, "c1", approved_by="Ana")
    first = evaluate(url, None)
    (request,) = first.run_requests or []
    assert request.run_key == "send:c1:v1"
    assert request.run_config == {"ops": {"deliver_campaign": {"config": {"campaign_id": "c1", "version": "v1"}}}}
    assert request.tags["cro/approved_by"] == "Ana"
    assert not evaluate(url, first.cursor).run_requests  # the cursor remembers it

    add_draft(store, "c1", "v2", T0 + dt.timedelta(days=1))
    approve(store, "c1", approved_by="Bruno", version="v2")
    second = evaluate(url, first.cursor)
    assert [r.run_key for r in second.run_requests or []] == ["send:c1:v2"]
    assert json.loads(second.cursor or "[]") == ["send:c1:v1", "send:c1:v2"]


def test_cro_approve_lists_and_approves(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    add_draft(Warehouse(url), "inactive_60d_whatsapp_20261201", "abc123", T0)
    env = {"CRO_ENV": "local", "CRO_DATA_DIR": str(tmp_path), "CRO_WAREHOUSE_URL": url, "COLUMNS": "200"}
    runner = CliRunner()
    listed = runner.invoke(app, ["approve", "--list"], env=env)
    assert listed.exit_code == 0 and "inactive_60d_whatsapp_20261201" in listed.stdout and "abc123" in listed.stdout
    refused = runner.invoke(app, ["approve", "inactive_60d_whatsapp_20261201"], env=env)
    assert refused.exit_code == 2 and "--by NAME" in refused.stdout
    done = runner.invoke(app, ["approve", "inactive_60d_whatsapp_20261201", "--by", "Ana"], env=env)
    assert done.exit_code == 0 and "approved" in done.stdout and "campaign_approval_sensor" in done.stdout
    assert [a.approved_by for a in approvals(Warehouse(url))] == ["Ana"]
