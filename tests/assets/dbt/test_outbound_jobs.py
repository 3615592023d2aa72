"""The jobs that act, on the built marts and the agents' drafts: send_campaign, publish_reports, sync_crm.

WhatsApp is a local HTTP server answering like the Cloud API; everything else runs for real
(Dagster, the warehouse, the outbox, the consent ledger). What is proven: an approved campaign reaches
each contactable customer of its segment exactly once, a customer who opted out in between is never
messaged, a re-run sends nothing, nothing is sent without approval, and the dry run leaves a readable
file for every message.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from orchestration.approvals import approve
from orchestration.automation.campaign_job import send_campaign
from orchestration.automation.crm_job import sync_crm
from orchestration.automation.publish_job import publish_reports
from orchestration.resources import OutboundResource, ReportsResource, WarehouseResource
from tests.assets.dbt.conftest import BuiltWarehouse, forecasts_on
from tests.assets.dbt.test_agent_assets import run_agents


@pytest.fixture(scope="module")
def drafted(duckdb_built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """The DuckDB build with forecasts and the agents' outputs (campaign drafts, reports)."""
    assert forecasts_on(duckdb_built, tmp_path_factory)[0].success
    assert run_agents(duckdb_built.url, tmp_path_factory.mktemp("agent_reports")).success
    return duckdb_built


def drafts(built: BuiltWarehouse) -> list[dict[str, Any]]:
    return built.rows(
        "select campaign_id, version, audience_size, segment from agents.campaign_drafts "
        "where channel = 'whatsapp' order by audience_size desc, campaign_id"
    )


def run_send(built: BuiltWarehouse, outbound: OutboundResource, campaign_id: str) -> dg.ExecuteInProcessResult:
    return send_campaign.execute_in_process(
        run_config={"ops": {"deliver_campaign": {"config": {"campaign_id": campaign_id}}}},
        resources={"warehouse": WarehouseResource(url=built.url), "outbound": outbound},
        raise_on_error=False,
    )


class CloudApi:
    """Answers POST /<phone_number_id>/messages like the WhatsApp Cloud API; remembers every recipient."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        body = request.get_json()
        self.sent.append(body)
        reply = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": f"wamid.HBgL{len(self.sent):06d}", "message_status": "accepted"}],
        }
        return Response(json.dumps(reply), content_type="application/json")


def test_an_unapproved_campaign_is_not_sent(drafted: BuiltWarehouse, tmp_path: Path) -> None:
    campaign = drafts(drafted)[0]["campaign_id"]
    result = run_send(drafted, OutboundResource(files_dir=str(tmp_path)), campaign)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "is not approved" in failure.step_failure_data.error.message
    assert not list(tmp_path.rglob("*.md"))


def test_approved_campaign_reaches_each_contactable_customer_once_and_never_an_opt_out(
    drafted: BuiltWarehouse, tmp_path: Path, httpserver: HTTPServer
) -> None:
    from orchestration.outbound.consent import ConsentEvent, ConsentLedger

    draft = drafts(drafted)[0]
    store = drafted.warehouse
    approve(store, draft["campaign_id"], approved_by="Ana")
    audience = [
        r["wa_id"]
        for r in drafted.rows(
            "select wa_id from marts.dim_segments where is_whatsapp_contactable "
            f"and segment = '{draft['segment']}' order by customer_id"
        )
    ]
    assert len(audience) >= draft["audience_size"] > 1
    opted_out = audience[0]  # replies SAIR after the draft was made, before the send
    ConsentLedger(store).record(
        [
            ConsentEvent(
                channel="whatsapp",
                address=opted_out,
                status="opted_out",
                source="test",
                reason="SAIR",
                recorded_at=dt.datetime.now(dt.UTC),
                event_id="test-optout-1",
            )
        ]
    )
    api = CloudApi()
    httpserver.expect_request("/v21.0/123456/messages", method="POST").respond_with_handler(api)
    outbound = OutboundResource(
        live=True,
        files_dir=str(tmp_path),
        whatsapp_access_token="fake-token",
        whatsapp_phone_number_id="123456",
        whatsapp_base_url=httpserver.url_for("/v21.0"),
    )
    first = run_send(drafted, outbound, draft["campaign_id"])
    assert first.success, [e.step_failure_data.error.message for e in first.all_events if e.is_step_failure]
    recipients = [m["to"] for m in api.sent]
    assert (
        len(recipients)
        == len(set(recipients))
        == draft["audience_size"] - (opted_out in audience[: draft["audience_size"]])
    )
    assert opted_out not in recipients
    templates = sorted({m["template"]["name"] for m in api.sent})
    assert len(templates) == 2 and templates[0].endswith("_a") and templates[1] == templates[0][:-2] + "_b"
    rows = store.query(
        "select status, count(*) from outbox.messages where source like 'campaign:%' group by status order by status"
    )
    statuses = dict(rows)
    assert statuses.get("sent") == len(recipients) and statuses.get("suppressed", 0) >= 1

    again = run_send(drafted, outbound, draft["campaign_id"])  # a retry, a restart, a double click
    assert again.success and len(api.sent) == len(recipients)


def test_dry_run_writes_a_readable_outbox_file(drafted: BuiltWarehouse, tmp_path: Path) -> None:
    candidates = drafts(drafted)
    draft = candidates[-1]
    approve(drafted.warehouse, draft["campaign_id"], approved_by="Bruno")
    result = run_send(drafted, OutboundResource(files_dir=str(tmp_path)), draft["campaign_id"])
    assert result.success
    files = list((tmp_path / "whatsapp").glob("*.md"))
    assert files
    text = files[0].read_text(encoding="utf-8")
    assert draft["campaign_id"] in text or "campaign:" in text


def test_publish_reports_dry_run_then_nothing_twice(drafted: BuiltWarehouse, tmp_path: Path) -> None:
    resources = {
        "warehouse": WarehouseResource(url=drafted.url),
        "outbound": OutboundResource(files_dir=str(tmp_path)),
        "reports": ReportsResource(output_dir=str(tmp_path / "reports")),
    }
    first = publish_reports.execute_in_process(resources=resources)
    assert first.success
    notion = list((tmp_path / "notion").glob("*.md"))
    slack = list((tmp_path / "slack").glob("*.md"))
    assert notion and slack
    assert "Growth brief" in notion[0].read_text(encoding="utf-8")
    count = drafted.warehouse.query("select count(*) from outbox.messages where channel in ('notion', 'slack')")[0][0]
    assert count >= 6  # six agent reports and the Slack summary
    assert publish_reports.execute_in_process(resources=resources).success
    assert (
        drafted.warehouse.query("select count(*) from outbox.messages where channel in ('notion', 'slack')")[0][0]
        == count
    )


def test_sync_crm_dry_run_reports_every_contact_then_only_changes(drafted: BuiltWarehouse, tmp_path: Path) -> None:
    resources = {"warehouse": WarehouseResource(url=drafted.url), "outbound": OutboundResource(files_dir=str(tmp_path))}
    result = sync_crm.execute_in_process(resources=resources)
    assert result.success
    metadata = next(
        e.step_output_data.metadata for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT
    )
    contacts = drafted.warehouse.query("select count(*) from marts.dim_segments")[0][0]
    assert metadata["live"].value is False and metadata["dry_run"].value == metadata["contacts_changed"].value
    assert metadata["contacts_changed"].value == contacts  # nothing synced before: every contact would change
    assert set(metadata["changes_by_property"].value) == {"cro_segment", "cro_lifetime_revenue_brl", "cro_churn_risk"}
    assert list((tmp_path / "hubspot").glob("*.md"))


def test_an_approved_email_campaign_goes_through_a_real_smtp_server_once(
    drafted: BuiltWarehouse, tmp_path: Path
) -> None:
    """CampaignBuilder's e-mail draft, approved, delivered to a local aiosmtpd server; a re-run sends nothing."""
    import socket

    from aiosmtpd.controller import Controller

    from agents.campaigns import build_campaign
    from agents.providers import OfflineProvider
    from agents.runtime import AgentRuntime
    from agents.sql_tool import SqlTool
    from assets.agents.tables import campaign_version, campaigns_table

    class Inbox:
        def __init__(self) -> None:
            self.rcpt: list[str] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.rcpt.extend(envelope.rcpt_tos)
            return "250 2.0.0 Ok: queued"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        draft = build_campaign(
            AgentRuntime(OfflineProvider()), SqlTool(drafted.url), segment="vip", budget_brl=50, channel="email"
        )
        store = drafted.warehouse
        table = campaigns_table([draft], run_id="test", now=dt.datetime.now(dt.UTC))
        store.merge("agents", "campaign_drafts", table, ["campaign_id", "version"], keep_existing=True)
        approve(store, draft.campaign_id, approved_by="Carla", version=campaign_version(draft))
        outbound = OutboundResource(
            live=True, files_dir=str(tmp_path), smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
        )
        first = run_send(drafted, outbound, draft.campaign_id)
        assert first.success
        assert len(inbox.rcpt) == len(set(inbox.rcpt)) == draft.audience_size > 0
        assert all("@" in address for address in inbox.rcpt)
        assert run_send(drafted, outbound, draft.campaign_id).success
        assert len(inbox.rcpt) == draft.audience_size
    finally:
        controller.stop()


def test_cro_approve_send_now_and_cro_run_on_the_built_warehouse(drafted: BuiltWarehouse, tmp_path: Path) -> None:
    """The commands `make demo` runs: approve a draft and send it at once (dry run), then run a job by name."""
    from typer.testing import CliRunner

    from agents.campaigns import build_campaign
    from agents.providers import OfflineProvider
    from agents.runtime import AgentRuntime
    from agents.sql_tool import SqlTool
    from assets.agents.tables import campaigns_table
    from orchestration.cli import app

    draft = build_campaign(AgentRuntime(OfflineProvider()), SqlTool(drafted.url), segment="new", budget_brl=20)
    table = campaigns_table([draft], run_id="test", now=dt.datetime.now(dt.UTC))
    drafted.warehouse.merge("agents", "campaign_drafts", table, ["campaign_id", "version"], keep_existing=True)
    env = {
        "CRO_ENV": "local",
        "CRO_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "CRO_WAREHOUSE_URL": drafted.url,
        "CRO_OUTBOUND": "dry_run",
        "COLUMNS": "200",
    }
    runner = CliRunner()
    listed = runner.invoke(app, ["approve", "--list", "--ids"], env=env)
    assert draft.campaign_id in listed.stdout.split()
    sent = runner.invoke(app, ["approve", draft.campaign_id, "--by", "Dora", "--send-now"], env=env)
    assert sent.exit_code == 0, sent.output
    assert f"dry_run {draft.audience_size}" in sent.output and "send_campaign succeeded" in sent.output
    assert draft.campaign_id in "".join(p.read_text() for p in (tmp_path / "outbox" / "whatsapp").glob("*.md"))
    ran = runner.invoke(app, ["run", "sync_crm"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "sync_crm succeeded" in ran.output and "contacts_changed" in ran.output
    assert runner.invoke(app, ["run", "no_such_job"], env=env).exit_code == 2
