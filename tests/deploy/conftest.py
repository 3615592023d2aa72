"""The native deployment (``cro prod up``) on free ports with a small demo world, once per session.

``native_deployment`` starts PostgreSQL, the code server, the webserver, the daemon, the webhook
receiver and the docs site as real processes, launches ``ingest_sources`` through the webserver and
waits for it to succeed (so asset pages have a latest materialization and the warehouse has raw
tables), and on teardown runs ``cro prod down`` and fails if any process is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestration.cli.prod import group_members, is_alive, start_ticks
from orchestration.settings import CREDENTIALS, PROJECT_ROOT
from tests.deploy.dagster_api import launch_job, run_failure, wait_for_run
from tests.postgres_server import require_postgres_binaries

DEMO_CUSTOMERS = 200
WEBHOOK_APP_SECRET = "native-deployment-app-secret"
WEBHOOK_VERIFY_TOKEN = "native-deployment-verify-token"
PORT_VARIABLES = ("CRO_WEBSERVER_PORT", "CRO_CODE_SERVER_PORT", "CRO_WEBHOOK_PORT", "CRO_DOCS_PORT", "DAGSTER_PG_PORT")


@dataclass(frozen=True)
class NativeDeployment:
    """A running ``cro prod up`` deployment (all URLs without a trailing slash)."""

    webserver_url: str  # Dagster UI; GraphQL at f"{webserver_url}/graphql"
    docs_url: str  # the dbt docs site (index.html, manifest.json, catalog.json)
    webhook_url: str  # the receiver: GET/POST f"{webhook_url}/webhook", GET f"{webhook_url}/healthz"
    code_server_port: int
    data_dir: Path  # CRO_DATA_DIR; the deployment's own files are under data_dir / "prod"
    demo_dir: Path  # the demo world the sources read
    dagster_home: Path  # the production DAGSTER_HOME (deploy/dagster.yaml + workspace.yaml)
    dagster_pg_dsn: str  # Dagster's storage: postgresql://…/dagster
    warehouse_url: str  # the warehouse: postgresql://…/warehouse
    ingest_run_id: str  # the ingest_sources run the fixture launched (succeeded)
    webhook_app_secret: str = WEBHOOK_APP_SECRET
    webhook_verify_token: str = WEBHOOK_VERIFY_TOKEN
    env: dict[str, str] = field(default_factory=dict, repr=False)  # the environment `cro prod` ran with

    @property
    def graphql_url(self) -> str:
        return f"{self.webserver_url}/graphql"

    def cro(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``cro`` against this deployment (same CRO_DATA_DIR and environment)."""
        return run_cro(self.env, *args, timeout=timeout)


def run_cro(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cro = Path(sys.executable).with_name("cro")
    return subprocess.run(
        [str(cro), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def free_ports(count: int) -> list[int]:
    """Distinct free ports (all bound at once, so none is handed out twice)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def deployment_environment(data_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    """This process's environment without any platform variable, plus the deployment's own."""
    credentials = {name for names in CREDENTIALS.values() for name in names}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRO_", "DAGSTER_")) and k not in credentials}
    env |= {name: str(port) for name, port in ports.items()}
    env |= {
        "CRO_ENV": "local",
        "CRO_DATA_DIR": str(data_dir),
        "WHATSAPP_APP_SECRET": WEBHOOK_APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": WEBHOOK_VERIFY_TOKEN,
    }
    return env


def _recorded_pids(data_dir: Path) -> dict[str, tuple[int, str | None]]:
    """Every process the deployment started, with its start time: services (their pid files) and the
    PostgreSQL postmaster."""
    prod = data_dir / "prod"
    pids = {path.stem: int(path.read_text()) for path in prod.glob("*.pid")}
    with contextlib.suppress(OSError, ValueError, IndexError):
        pids["postgres"] = int((prod / "postgres" / "data" / "postmaster.pid").read_text().splitlines()[0])
    return {name: (pid, start_ticks(pid)) for name, pid in pids.items()}


@pytest.fixture(scope="session")
def native_deployment() -> Iterator[NativeDeployment]:
    require_postgres_binaries()
    started = time.monotonic()
    # not under pytest's tmp dirs: PostgreSQL runs as the `postgres` user, which must reach its folder
    data_dir = Path(tempfile.mkdtemp(prefix="cro-native-"))
    data_dir.chmod(0o755)
    ports = dict(zip(PORT_VARIABLES, free_ports(len(PORT_VARIABLES)), strict=True))
    env = deployment_environment(data_dir, ports)

    demo = run_cro(env, "demo-data", "--customers", str(DEMO_CUSTOMERS))
    assert demo.returncode == 0, demo.stdout + demo.stderr
    pids: dict[str, tuple[int, str | None]] = {}
    try:
        up = run_cro(env, "prod", "up", "--timeout", "240", timeout=300)
        pids = _recorded_pids(data_dir)
        assert up.returncode == 0, f"cro prod up failed:\n{up.stdout}\n{up.stderr}"
        webserver_url = f"http://127.0.0.1:{ports['CRO_WEBSERVER_PORT']}"
        run_id = launch_job(webserver_url, "ingest_sources")
        status = wait_for_run(webserver_url, run_id)
        assert status == "SUCCESS", f"ingest_sources {status}:\n{run_failure(webserver_url, run_id)}"
        pg = f"postgresql://postgres@127.0.0.1:{ports['DAGSTER_PG_PORT']}"
        print(f"\nnative deployment up and ingested in {time.monotonic() - started:.0f} s")
        yield NativeDeployment(
            webserver_url=webserver_url,
            docs_url=f"http://127.0.0.1:{ports['CRO_DOCS_PORT']}",
            webhook_url=f"http://127.0.0.1:{ports['CRO_WEBHOOK_PORT']}",
            code_server_port=ports["CRO_CODE_SERVER_PORT"],
            data_dir=data_dir,
            demo_dir=data_dir / "demo",
            dagster_home=data_dir / "prod" / "dagster_home",
            dagster_pg_dsn=f"{pg}/dagster",
            warehouse_url=f"{pg}/warehouse",
            ingest_run_id=run_id,
            env=env,
        )
    finally:
        pids = pids or _recorded_pids(data_dir)
        down = run_cro(env, "prod", "down", timeout=120)
        left = {
            name: pid for name, (pid, ticks) in pids.items() if ticks and (is_alive(pid, ticks) or group_members(pid))
        }
        state_left = (data_dir / "prod" / "state.json").exists()
        shutil.rmtree(data_dir, ignore_errors=True)
        if down.returncode != 0 or left or state_left:
            pytest.fail(
                f"cro prod down did not stop the deployment cleanly (exit {down.returncode}; still running: {left}; "
                f"state file left: {state_left}):\n{down.stdout}\n{down.stderr}",
                pytrace=False,
            )


def deployment_state(deployment: NativeDeployment) -> dict[str, object]:
    return json.loads((deployment.data_dir / "prod" / "state.json").read_text())
