"""How ``cro prod`` stops processes and what environment it gives them (no deployment needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from orchestration.cli.prod import (
    Layout,
    group_members,
    is_alive,
    service_environment,
    start_ticks,
    stop_deployment,
    terminate_groups,
)
from orchestration.local_postgres import PostgresServer, free_port
from orchestration.topology import service
from tests.postgres_server import require_postgres_binaries

# a parent that ignores SIGTERM (as a stuck server would) with a child in its process group
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("ready", flush=True)
time.sleep(600)
"""
# a parent that stops on SIGTERM, leaving its child (same group) behind unless the group is signalled
POLITE = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("ready", flush=True)
time.sleep(600)
"""


def spawn(code: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_terminate_groups_stops_politely_then_kills() -> None:
    polite, stubborn = spawn(POLITE), spawn(STUBBORN)
    try:
        assert len(group_members(polite.pid)) == 2 and len(group_members(stubborn.pid)) == 2
        started = time.monotonic()
        outcome = terminate_groups({"polite": polite.pid, "stubborn": stubborn.pid}, timeout=2)
        assert outcome == {"polite": "stopped", "stubborn": "killed"}
        assert time.monotonic() - started < 10
        assert group_members(polite.pid) == [] and group_members(stubborn.pid) == []
        assert terminate_groups({"polite": polite.pid}) == {"polite": "not running"}
    finally:
        for process in (polite, stubborn):
            if process.poll() is None:
                process.kill()
            process.wait()


def test_a_reused_pid_is_not_taken_for_the_service() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        ticks = start_ticks(process.pid)
        assert ticks is not None and is_alive(process.pid, ticks)
        assert not is_alive(process.pid, str(int(ticks) + 1))  # same pid, another start: not ours
    finally:
        process.kill()
        process.wait()
    assert not is_alive(process.pid)


def test_each_service_gets_only_its_variables() -> None:
    base = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "CRO_SOMETHING_ELSE": "x",
        "DAGSTER_HOME": "/developer/dagster_home",
        "HUBSPOT_ACCESS_TOKEN": "from-the-shell",
        "WHATSAPP_APP_SECRET": "from-the-shell",
    }
    values = {
        "DAGSTER_HOME": "/prod/dagster_home",
        "DAGSTER_PG_HOST": "127.0.0.1",
        "CRO_CODE_SERVER_HOST": "127.0.0.1",
        "CRO_CODE_SERVER_PORT": "4000",
        "CRO_DATA_DIR": "/data",
        "HUBSPOT_ACCESS_TOKEN": "token",
        "WHATSAPP_APP_SECRET": "secret",
    }
    webserver = service_environment(base, values, service("webserver"))
    assert webserver == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "DAGSTER_HOME": "/prod/dagster_home",
        "DAGSTER_PG_HOST": "127.0.0.1",
        "CRO_CODE_SERVER_HOST": "127.0.0.1",
        "CRO_CODE_SERVER_PORT": "4000",
    }
    webhook = service_environment(base, values, service("webhook"))
    assert webhook["WHATSAPP_APP_SECRET"] == "secret" and "HUBSPOT_ACCESS_TOKEN" not in webhook
    code_server = service_environment(base, values, service("code-server"))
    assert code_server["HUBSPOT_ACCESS_TOKEN"] == "token" and "CRO_CODE_SERVER_PORT" not in code_server


def test_down_without_a_deployment(tmp_path: Path) -> None:
    assert stop_deployment(Layout(tmp_path / "prod"), echo=lambda _: None) is False


@pytest.mark.postgres
def test_durable_local_postgres_keeps_its_data() -> None:
    bindir = require_postgres_binaries()
    # not under pytest's tmp dirs: the server runs as the `postgres` user, which must reach its folder
    root = Path(tempfile.mkdtemp(prefix="cro-durable-pg-"))
    root.chmod(0o755)
    server = PostgresServer.durable(bindir, root / "postgres", free_port())
    try:
        assert server.ensure_running() is True
        assert server.ensure_running() is False  # already running: reused
        server.ensure_database("warehouse")
        server.stop()
        assert not server.is_running() and server.is_initialized()
        assert server.ensure_running() is True  # restarted on the same data
        assert server.running_port() == server.port
        with psycopg2.connect(server.dsn("warehouse")) as con, con.cursor() as cur:
            cur.execute("select current_database()")
            assert cur.fetchone() == ("warehouse",)
    finally:
        server.stop()
        assert server.datadir.exists()  # a durable server's data outlives it
        shutil.rmtree(root, ignore_errors=True)
