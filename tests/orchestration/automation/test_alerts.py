"""The alert sensors on a DuckDB warehouse made by hand: churn alert, WhatsApp consent, failed runs.

The sensors are evaluated with Dagster's test contexts (``build_sensor_context``,
``build_run_status_sensor_context``) against a real instance; Slack is the dry-run channel, so every
alert is an outbox row and a section of the readable file under ``files_dir/slack/``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from integrations.whatsapp.schemas import MESSAGES_SCHEMA
from orchestration.automation.alerts import (
    CHURN_ALERT_THRESHOLD,
    CHURN_MART,
    WEBSERVER_URL,
    alert_jobs,
    alert_sensors,
    churn_alert,
    churn_alert_sensor,
    run_failure_alert_sensor,
    whatsapp_consent_sensor,
)
from orchestration.automation.playbooks import (
    PLAYBOOKS,
    monthly_dre,
    monthly_dre_schedule,
    playbook_jobs,
    playbook_run_config,
)
from orchestration.outbound.consent import ConsentLedger
from orchestration.outbound.outbox import Outbox
from orchestration.resources import (
    LlmResource,
    OutboundResource,
    ReportsResource,
    WarehouseResource,
    dbt_cli_resource,
)
from orchestration.warehouse import Warehouse


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'wh.duckdb'}"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def churn_months(url: str, rows: list[tuple[str, bool, float]]) -> None:
    """``marts.fct_churn_monthly`` with ``(YYYY-MM, is_complete, logo_churn_rate)`` rows (replacing any)."""
    store = Warehouse(url)
    store.execute("create schema if not exists marts")
    store.execute(
        "create or replace table marts.fct_churn_monthly "
        "(month date, is_complete boolean, active_customers_start integer, churned_customers integer, "
        "logo_churn_rate double)"
    )
    for month, complete, rate in rows:
        store.execute(
            "insert into marts.fct_churn_monthly values (?, ?, 1000, ?, ?)",
            (dt.date.fromisoformat(f"{month}-01"), complete, round(1000 * rate), rate),
        )


def materialized(instance: dg.DagsterInstance) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=CHURN_MART))


def churn_tick(instance: dg.DagsterInstance, url: str, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource(url=url)}
    )
    return churn_alert_sensor(context)


class HeldWarehouse:
    """Another process holding the DuckDB file open for writing, as a running materialization does."""

    def __init__(self, url: str) -> None:
        path = url.removeprefix("duckdb:///")
        code = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"
        self.process = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def __enter__(self) -> HeldWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


# -- churn alert ----------------------------------------------------------------------------------------


def test_churn_above_the_threshold_requests_the_alert_and_the_analysis_once_per_month(
    instance: dg.DagsterInstance, url: str
) -> None:
    churn_months(url, [("2026-08", True, 0.05), ("2026-09", True, 0.11), ("2026-10", False, 0.50)])
    nothing_yet = churn_tick(instance, url, None)
    assert not nothing_yet.run_requests and "no new materialization" in str(nothing_yet.skip_reason)

    materialized(instance)
    first = churn_tick(instance, url, None)
    requests = {r.job_name: r for r in first.run_requests or []}
    assert set(requests) == {"churn_alert", "churn_analysis"}
    assert requests["churn_alert"].run_key == "churn-alert:2026-09"  # the last *complete* month
    assert requests["churn_analysis"].run_key == "churn-analysis:2026-09"
    alert_config = requests["churn_alert"].run_config["ops"]["post_churn_alert"]["config"]
    assert alert_config == {"month": "2026-09", "logo_churn_rate": 0.11, "threshold": CHURN_ALERT_THRESHOLD}
    assert requests["churn_analysis"].tags["cro/churn_month"] == "2026-09"

    same_tick = churn_tick(instance, url, first.cursor)  # no new materialization since
    assert not same_tick.run_requests and same_tick.skip_reason

    materialized(instance)  # the mart rebuilt again, still 2026-09 as the last complete month
    again = churn_tick(instance, url, first.cursor)
    assert not again.run_requests
    assert "alerted already" in str(again.skip_reason)
    assert json.loads(again.cursor)["after"] > json.loads(first.cursor)["after"]

    churn_months(url, [("2026-09", True, 0.11), ("2026-10", True, 0.12)])  # the next month closes high too
    materialized(instance)
    next_month = churn_tick(instance, url, again.cursor)
    assert {r.run_key for r in next_month.run_requests or []} == {"churn-alert:2026-10", "churn-analysis:2026-10"}


def test_churn_within_the_threshold_is_skipped_with_the_rate(instance: dg.DagsterInstance, url: str) -> None:
    churn_months(url, [("2026-09", True, CHURN_ALERT_THRESHOLD), ("2026-10", False, 0.9)])
    materialized(instance)
    result = churn_tick(instance, url, None)
    assert not result.run_requests
    assert "within the threshold" in str(result.skip_reason) and "2026-09" in str(result.skip_reason)
    assert result.cursor  # this materialization is done with


def test_a_busy_warehouse_skips_the_churn_tick_and_keeps_the_cursor(instance: dg.DagsterInstance, url: str) -> None:
    churn_months(url, [("2026-09", True, 0.2)])
    materialized(instance)
    with HeldWarehouse(url):
        busy = churn_tick(instance, url, None)
    assert not busy.run_requests and "warehouse busy" in str(busy.skip_reason)
    assert busy.cursor is None  # looked at again on the next tick
    after = churn_tick(instance, url, busy.cursor)
    assert {r.run_key for r in after.run_requests or []} == {"churn-alert:2026-09", "churn-analysis:2026-09"}


def test_the_churn_alert_job_posts_one_slack_message_per_month(url: str, tmp_path: Path) -> None:
    outbox_dir = tmp_path / "outbox"
    resources = {"warehouse": WarehouseResource(url=url), "outbound": OutboundResource(files_dir=str(outbox_dir))}
    config = {"ops": {"post_churn_alert": {"config": {"month": "2026-09", "logo_churn_rate": 0.11}}}}
    for _ in range(2):  # a retried or re-requested run
        assert churn_alert.execute_in_process(run_config=config, resources=resources).success
    rows = Outbox(Warehouse(url)).rows(source="churn-alert:2026-09")
    assert [(r["idempotency_key"], r["status"], r["channel"]) for r in rows] == [
        ("churn-alert:2026-09", "dry_run", "slack")
    ]
    text = json.loads(rows[0]["payload_json"])["text"]
    assert "11.00%" in text and "2026-09" in text and "8.00%" in text
    written = next((outbox_dir / "slack").glob("*.md")).read_text(encoding="utf-8")
    assert written.count("## churn-alert:2026-09") == 1


# -- WhatsApp consent -----------------------------------------------------------------------------------


def inbound(url: str, messages: list[tuple[str, str, str, dt.datetime]]) -> None:
    """Inbound WhatsApp messages ``(message_id, wa_id, text, received_at)`` into ``raw_whatsapp.messages``."""
    rows = [
        {
            "message_id": message_id,
            "wa_id": wa_id,
            "type": "text",
            "text_body": text,
            "timestamp": at,
            "is_opt_out": text.strip().upper() in ("SAIR", "PARAR", "STOP"),
            "source_file": f"{at:%Y-%m-%d}.jsonl",
        }
        for message_id, wa_id, text, at in messages
    ]
    Warehouse(url).merge("raw_whatsapp", "messages", pa.Table.from_pylist(rows, schema=MESSAGES_SCHEMA), ["message_id"])


def consent_tick(url: str, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": WarehouseResource(url=url)})
    return whatsapp_consent_sensor(context)


def test_consent_sensor_records_new_opt_outs_and_advances_its_cursor(url: str) -> None:
    t0 = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)
    assert consent_tick(url, None).skip_reason.skip_message == "no new WhatsApp opt-outs"  # no inbound table yet

    inbound(url, [("wamid.1", "5511999990001", "SAIR", t0), ("wamid.2", "5511999990002", "Quero o kit", t0)])
    first = consent_tick(url, None)
    assert not first.skip_reason and first.cursor
    assert dt.datetime.fromisoformat(first.cursor) == t0
    ledger = ConsentLedger(Warehouse(url))
    assert ledger.is_suppressed("whatsapp", "5511999990001")
    assert not ledger.is_suppressed("whatsapp", "5511999990002")

    quiet = consent_tick(url, first.cursor)
    assert quiet.skip_reason.skip_message == "no new WhatsApp opt-outs" and quiet.cursor == first.cursor

    later = t0 + dt.timedelta(minutes=5)
    inbound(url, [("wamid.3", "5511999990002", "parar", later)])
    second = consent_tick(url, first.cursor)
    assert not second.skip_reason
    assert dt.datetime.fromisoformat(second.cursor) == later
    assert ledger.is_suppressed("whatsapp", "5511999990002")


def test_a_busy_warehouse_skips_the_consent_tick_without_crashing(url: str) -> None:
    inbound(url, [("wamid.1", "5511999990001", "SAIR", dt.datetime(2026, 11, 2, tzinfo=dt.UTC))])
    with HeldWarehouse(url):
        busy = consent_tick(url, "2026-11-01T00:00:00.000000+00:00")
    assert "warehouse busy" in str(busy.skip_reason) and not busy.run_requests
    assert busy.cursor is None  # no new cursor: the next tick starts from the same point


# -- failed runs ----------------------------------------------------------------------------------------


@dg.op
def breaks() -> None:
    raise dg.Failure(description="marts.dim_segments not found: materialize the dbt models first.\nsecond line")


@dg.job(name="breaks_on_purpose")
def breaks_on_purpose() -> None:
    breaks()


def test_a_failed_run_is_posted_to_slack_once_with_its_error_and_link(
    instance: dg.DagsterInstance, url: str, tmp_path: Path
) -> None:
    result = breaks_on_purpose.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    outbox_dir = tmp_path / "outbox"
    resources = {"warehouse": WarehouseResource(url=url), "outbound": OutboundResource(files_dir=str(outbox_dir))}
    for _ in range(2):  # the same failure seen twice (a restarted daemon) is one message
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
            resources=resources,
        ).for_run_failure()
        run_failure_alert_sensor(context)
    run_id = result.run_id
    rows = Outbox(Warehouse(url)).rows()
    assert [(r["idempotency_key"], r["status"]) for r in rows] == [(f"run-failure:{run_id}", "dry_run")]
    text = json.loads(rows[0]["payload_json"])["text"]
    assert "breaks_on_purpose" in text
    assert "marts.dim_segments not found: materialize the dbt models first." in text
    assert "second line" not in text and "dagster._core" not in text
    assert f"{WEBSERVER_URL}/runs/{run_id}" in text and WEBSERVER_URL == "http://127.0.0.1:3000"
    written = next((outbox_dir / "slack").glob("*.md")).read_text(encoding="utf-8")
    assert written.count(f"## run-failure:{run_id}") == 1


# -- wiring ---------------------------------------------------------------------------------------------


def test_sensors_start_stopped_and_load_with_the_playbooks(url: str, tmp_path: Path) -> None:
    sensors = alert_sensors()
    assert {s.name for s in sensors} == {"churn_alert_sensor", "whatsapp_consent_sensor", "run_failure_alert_sensor"}
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in sensors)
    defs = dg.Definitions(
        jobs=[*playbook_jobs(), *alert_jobs()],
        sensors=sensors,
        schedules=[monthly_dre_schedule],
        resources={
            "warehouse": WarehouseResource(url=url),
            "outbound": OutboundResource(files_dir=str(tmp_path)),
            "llm": LlmResource(provider="offline"),
            "reports": ReportsResource(output_dir=str(tmp_path / "reports")),
            "dbt": dbt_cli_resource(),
        },
    )
    assert {"churn_alert", "churn_analysis", "monthly_dre", "reactivation_campaign"} <= {
        j.name for j in defs.resolve_all_job_defs()
    }
    assert {t.job_name for t in churn_alert_sensor.targets} == {"churn_alert", "churn_analysis"}


def test_monthly_dre_runs_day_one_at_seven_in_sao_paulo_with_its_defaults() -> None:
    assert monthly_dre_schedule.cron_schedule == "0 7 1 * *"
    assert monthly_dre_schedule.execution_timezone == "America/Sao_Paulo"
    assert monthly_dre_schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert monthly_dre_schedule.job_name == "monthly_dre"
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC))
    request = monthly_dre_schedule.evaluate_tick(context).run_requests[0]
    # the default config is valid: month None (the last complete one), every scenario
    assert monthly_dre.run_config_schema.config_type is not None
    from dagster._config import process_config

    assert process_config(monthly_dre.run_config_schema.config_type, request.run_config).success


def test_every_playbook_config_round_trips_to_valid_run_config() -> None:
    from dagster._config import process_config

    for name, (job, config_class) in PLAYBOOKS.items():
        run_config = playbook_run_config(name, config_class())
        assert process_config(job.run_config_schema.config_type, run_config).success, name
