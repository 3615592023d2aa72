"""The production ``deploy/dagster.yaml`` stores runs and events in a real PostgreSQL server."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import psycopg2
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.settings import PROJECT_ROOT

pytestmark = pytest.mark.postgres


@dg.asset
def probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@pytest.fixture
def postgres_dagster_home(tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = urlparse(postgres_dsn)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username or "postgres")
    # trust auth accepts any password; a distinctive one lets tests prove it is never printed
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "s3cret-pg-pass")
    monkeypatch.setenv("DAGSTER_PG_HOST", url.hostname or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port))
    monkeypatch.setenv("DAGSTER_PG_DB", url.path.lstrip("/"))
    return home


def test_runs_and_events_land_in_postgres(postgres_dagster_home: Path, postgres_dsn: str) -> None:
    instance = dg.DagsterInstance.from_config(str(postgres_dagster_home))
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"

    result = dg.materialize([probe], instance=instance)
    assert result.success

    with psycopg2.connect(postgres_dsn) as con, con.cursor() as cur:
        cur.execute("select run_id, status from runs")
        assert cur.fetchall() == [(result.run_id, "SUCCESS")]
        cur.execute(
            "select count(*) from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
            (result.run_id,),
        )
        assert cur.fetchone() == (1,)
    latest = instance.get_latest_materialization_event(dg.AssetKey("probe"))
    assert latest is not None and latest.run_id == result.run_id
    instance.dispose()


def test_doctor_reports_postgres_storage(postgres_dagster_home: Path) -> None:
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "PostgresRunStorage" in result.output
    assert "s3cret-pg-pass" not in result.output
