"""The production topology, started natively by ``cro prod up`` (see conftest.py), works as a whole.

A run launched through the webserver's GraphQL API is queued, picked up by the daemon, executed by the
code server and stored — run and events — in the PostgreSQL ``dagster`` database; the daemon's
scheduler, sensor and run-queue loops heartbeat; schedules and sensors are known to the instance; the
docs site and the webhook receiver answer. Shutting down without leftovers is checked by the fixture.
"""

from __future__ import annotations

import json

import httpx
import psycopg2
import pytest

from integrations.whatsapp import sign
from orchestration.topology import SERVICES
from tests.deploy.conftest import NativeDeployment, deployment_state
from tests.deploy.dagster_api import LOCATION, REPOSITORY, daemon_statuses, graphql

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INGESTION_ASSETS = {
    "hubspot/contacts",
    "hubspot/deals",
    "whatsapp/messages",
    "whatsapp/statuses",
    "sheets/marketing_spend",
    "sheets/expenses",
    "sheets/orders",
}


def rows(dsn: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg2.connect(dsn) as con, con.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_run_launched_through_the_webserver_is_stored_in_postgres(native_deployment: NativeDeployment) -> None:
    run_id = native_deployment.ingest_run_id
    dsn = native_deployment.dagster_pg_dsn
    assert rows(dsn, "select pipeline_name, status from runs where run_id = %s", run_id) == [
        ("ingest_sources", "SUCCESS")
    ]
    events = dict(rows(dsn, "select dagster_event_type, count(*) from event_logs where run_id = %s group by 1", run_id))
    # queued by the webserver (QueuedRunCoordinator), then started by the daemon
    assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_START", "PIPELINE_SUCCESS"} <= set(events)
    assert "STEP_FAILURE" not in events
    materialized = rows(
        dsn,
        "select asset_key from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
        run_id,
    )
    assert {"/".join(json.loads(key)) for (key,) in materialized} == INGESTION_ASSETS
    assert events["ASSET_CHECK_EVALUATION"] == 2 * len(INGESTION_ASSETS)  # expectations_error and _warn each
    # and the data landed in the warehouse database of the same server
    (contacts,) = rows(native_deployment.warehouse_url, "select count(*) from raw_hubspot.contacts")[0]
    assert contacts > 0


def test_daemon_heartbeats_and_knows_schedules_and_sensors(native_deployment: NativeDeployment) -> None:
    url = native_deployment.webserver_url
    statuses = daemon_statuses(url)
    for daemon in ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"):
        assert statuses[daemon]["required"] and statuses[daemon]["healthy"], statuses[daemon]

    from orchestration.definitions import defs

    repository = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
    known = graphql(
        url,
        """query($r: RepositorySelector!) {
            schedulesOrError(repositorySelector: $r) { ... on Schedules { results { name } } }
            sensorsOrError(repositorySelector: $r) { ... on Sensors { results { name } } } }""",
        {"r": repository},
    )
    assert {s["name"] for s in known["schedulesOrError"]["results"]} == {s.name for s in defs.schedules or []}
    assert {s["name"] for s in known["sensorsOrError"]["results"]} == {s.name for s in defs.sensors or []}

    # turning a schedule on reaches the instance's schedule storage, where the scheduler daemon reads it
    selector = repository | {"scheduleName": "daily_refresh_0600"}
    state_of = "... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message }"
    started = graphql(
        url,
        f"mutation($s: ScheduleSelector!) {{ startSchedule(scheduleSelector: $s) {{ {state_of} }} }}",
        {"s": selector},
    )
    try:
        assert started["startSchedule"]["scheduleState"]["status"] == "RUNNING", started
        stored = rows(
            native_deployment.dagster_pg_dsn,
            "select status, instigator_body from instigators where instigator_type = 'SCHEDULE'",
        )
        assert [status for status, body in stored if '"daily_refresh_0600"' in body] == ["RUNNING"]
    finally:  # back to the shipped default (stopped), so no 06:00 run starts during the session
        reset = graphql(
            url,
            f"mutation($s: ScheduleSelector!) {{ resetSchedule(scheduleSelector: $s) {{ {state_of} }} }}",
            {"s": selector},
        )
        assert reset["resetSchedule"]["scheduleState"]["status"] == "STOPPED", reset


def test_docs_site_lists_the_marts(native_deployment: NativeDeployment) -> None:
    index = httpx.get(f"{native_deployment.docs_url}/", timeout=10)
    assert index.status_code == 200 and 'ng-app="dbt"' in index.text
    manifest = httpx.get(f"{native_deployment.docs_url}/manifest.json", timeout=30).json()
    marts = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"}
    assert {"fct_mrr_monthly", "dim_customers", "fct_dre_monthly"} <= marts
    assert httpx.get(f"{native_deployment.docs_url}/catalog.json", timeout=10).status_code == 200


def test_webhook_receiver_verifies_and_lands(native_deployment: NativeDeployment) -> None:
    base = native_deployment.webhook_url
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": native_deployment.webhook_verify_token,
        "hub.challenge": "42",
    }
    assert httpx.get(f"{base}/webhook", params=params, timeout=5).text == "42"
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    signed = {"X-Hub-Signature-256": sign(native_deployment.webhook_app_secret, body)}
    assert httpx.post(f"{base}/webhook", content=body, headers=signed, timeout=5).status_code == 200
    forged = {"X-Hub-Signature-256": sign("not-the-secret", body)}
    assert httpx.post(f"{base}/webhook", content=body, headers=forged, timeout=5).status_code == 403


def test_status_and_a_second_up(native_deployment: NativeDeployment) -> None:
    status = native_deployment.cro("prod", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    for svc in SERVICES:
        assert svc.name in status.stdout
    assert "unhealthy" not in status.stdout and "stopped" not in status.stdout

    again = native_deployment.cro("prod", "up")
    assert again.returncode == 0 and "already running" in again.stdout, again.stdout + again.stderr

    state = deployment_state(native_deployment)
    assert set(state["services"]) == {s.name for s in SERVICES if s.image is None}  # type: ignore[arg-type]
    for svc in SERVICES:
        if svc.image is None:
            pid_file = native_deployment.data_dir / "prod" / f"{svc.name}.pid"
            assert int(pid_file.read_text()) == state["services"][svc.name]["pid"]  # type: ignore[index]
            assert (native_deployment.data_dir / "prod" / "logs" / f"{svc.name}.log").exists()
