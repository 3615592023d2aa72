"""The production topology, in one place: which processes run, on which ports, with which environment.

``cro prod up`` starts these services natively (``orchestration/cli/prod.py``); ``docker-compose.yml``
declares the same ones, and ``tests/deploy/test_compose_topology.py`` keeps the two equal (services,
ports, environment variable names, commands, dependencies, health checks).

Also a small command line for the containers (no heavy imports unless a probe needs them)::

    python -m orchestration.topology prepare-home DIR   # dagster.yaml + workspace.yaml into a DAGSTER_HOME
    python -m orchestration.topology probe SERVICE      # exit 0 when the service is healthy (compose healthcheck)
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agents.providers import ENV_VARS as LLM_ENV
from orchestration.settings import CREDENTIALS, PROJECT_ROOT, patched_environ

LOCATION_NAME = "cro"  # the code location's name in the workspace (GraphQL: repositoryLocationName)
DEFINITIONS_MODULE = "orchestration.definitions"
PRODUCTION_INSTANCE_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"

# Inside the containers (docker-compose.yml); natively these live under $CRO_DATA_DIR/prod/.
CONTAINER_DAGSTER_HOME = "/opt/dagster/dagster_home"
CONTAINER_DATA_DIR = "/data"
CONTAINER_WORKSPACE = f"{CONTAINER_DAGSTER_HOME}/workspace.yaml"
POSTGRES_IMAGE = "postgres:15"
DATABASES = ("dagster", "warehouse")  # Dagster storage, analytical warehouse: two databases on one server

# The webserver and the daemon reach the code location over gRPC; where it listens comes from the environment.
WORKSPACE_YAML = f"""\
# Written by orchestration/topology.py: the webserver and the daemon load the code location
# from the code server (`dagster code-server start`) over gRPC.
load_from:
  - grpc_server:
      host: {{env: CRO_CODE_SERVER_HOST}}
      port: {{env: CRO_CODE_SERVER_PORT}}
      location_name: {LOCATION_NAME}
"""

# Environment variable groups: what each kind of process reads.
DAGSTER_STORAGE_ENV = (
    "DAGSTER_HOME",
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_PORT",
    "DAGSTER_PG_USERNAME",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_DB",
)
WORKSPACE_ENV = ("CRO_CODE_SERVER_HOST", "CRO_CODE_SERVER_PORT")
PLATFORM_ENV = (
    "CRO_ENV",
    "CRO_DATA_DIR",
    "CRO_DEMO_DIR",
    "CRO_WHATSAPP_LANDING_DIR",
    "CRO_WAREHOUSE_URL",
    "CRO_LLM_PROVIDER",
    *(name for name in LLM_ENV if name not in ("CRO_LLM_PROVIDER", "OPENAI_API_KEY")),
    "CRO_OUTBOUND",
    "CRO_EXECUTOR",
)
CREDENTIAL_ENV = tuple(name for names in CREDENTIALS.values() for name in names)
WEBHOOK_SECRETS = ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")


@dataclass(frozen=True)
class Service:
    """One process of the deployment (one container in docker-compose.yml)."""

    name: str
    description: str
    port: int | None  # default port: the container's port in compose, the native default
    port_env: str | None  # the variable that moves it (published port in compose, listening port natively)
    command: tuple[str, ...]  # argv template: {host}, {port}, {workspace}; empty = the image's own
    env: tuple[str, ...]  # the environment variables the process reads
    depends_on: tuple[str, ...] = ()  # services that must be healthy first
    health_path: str | None = None  # HTTP path that answers 200 when healthy
    image: str | None = None  # a stock image; None = the project's image (Dockerfile)
    scheme: str = "http"

    def argv(self, *, host: str, port: int | None, workspace: str) -> list[str]:
        return [part.format(host=host, port=port, workspace=workspace) for part in self.command]

    def url(self, host: str, port: int | None) -> str | None:
        if port is None:
            return None
        return f"{self.scheme}://{host}:{port}"

    def healthcheck(self) -> list[str]:
        """The container health check (compose ``healthcheck.test``); natively ``probe`` does the same."""
        if self.name == "postgres":
            return ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", str(self.port)]
        return ["CMD", "python", "-m", "orchestration.topology", "probe", self.name]


SERVICES: tuple[Service, ...] = (
    Service(
        name="postgres",
        description="PostgreSQL: Dagster's run, event-log and schedule storage (database `dagster`) and the "
        "warehouse (database `warehouse`)",
        port=5432,
        port_env="DAGSTER_PG_PORT",
        command=(),
        env=("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"),
        image=POSTGRES_IMAGE,
        scheme="postgresql",
    ),
    Service(
        name="code-server",
        description="the code location (`orchestration.definitions`) served over gRPC; runs execute here",
        port=4000,
        port_env="CRO_CODE_SERVER_PORT",
        command=(
            "dagster",
            "code-server",
            "start",
            "-m",
            DEFINITIONS_MODULE,
            "--location-name",
            LOCATION_NAME,
            "-h",
            "{host}",
            "-p",
            "{port}",
        ),
        env=(*DAGSTER_STORAGE_ENV, *PLATFORM_ENV, *CREDENTIAL_ENV),
        depends_on=("postgres",),
        scheme="grpc",
    ),
    Service(
        name="webserver",
        description="the Dagster UI and its GraphQL API",
        port=3000,
        port_env="CRO_WEBSERVER_PORT",
        command=("dagster-webserver", "-h", "{host}", "-p", "{port}", "-w", "{workspace}"),
        env=(*DAGSTER_STORAGE_ENV, *WORKSPACE_ENV),
        depends_on=("postgres", "code-server"),
        health_path="/server_info",
    ),
    Service(
        name="daemon",
        description="dagster-daemon: schedules, sensors, the run queue (concurrency limits of dagster.yaml)",
        port=None,
        port_env=None,
        command=("dagster-daemon", "run", "-w", "{workspace}"),
        env=(*DAGSTER_STORAGE_ENV, *WORKSPACE_ENV),
        depends_on=("postgres", "code-server"),
    ),
    Service(
        name="webhook",
        description="the WhatsApp Cloud API webhook receiver (`cro webhook serve`): lands signed events",
        port=8081,
        port_env="CRO_WEBHOOK_PORT",
        command=("cro", "webhook", "serve", "--host", "{host}", "--port", "{port}"),
        env=(*PLATFORM_ENV, *WEBHOOK_SECRETS),
        health_path="/healthz",
    ),
    Service(
        name="docs",
        description="the dbt docs site (`cro docs`): lineage, column docs, the warehouse's catalog",
        port=8080,
        port_env="CRO_DOCS_PORT",
        command=("cro", "docs", "--host", "{host}", "--port", "{port}"),
        env=PLATFORM_ENV,
        depends_on=("postgres",),
        health_path="/",
    ),
)


def service(name: str) -> Service:
    for candidate in SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no service {name!r}; services: {', '.join(s.name for s in SERVICES)}")


def topology_env_names() -> set[str]:
    """Every variable any service reads (postgres's image variables aside)."""
    return {name for s in SERVICES if s.image is None for name in s.env} | {s.port_env for s in SERVICES if s.port_env}


def prepare_dagster_home(home: Path) -> Path:
    """A production ``DAGSTER_HOME``: ``deploy/dagster.yaml`` and the gRPC ``workspace.yaml``; returns the latter."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PRODUCTION_INSTANCE_YAML, home / "dagster.yaml")
    workspace = home / "workspace.yaml"
    workspace.write_text(WORKSPACE_YAML)
    return workspace


# --- health probes: the same checks natively (`cro prod up/status`) and in the containers ---------------


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def grpc_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """What ``dagster api grpc-health-check -p PORT`` checks: the code server answers SERVING."""
    from dagster._grpc.client import DagsterGrpcClient

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the client prints the RPC error of a refused connection
            return DagsterGrpcClient(port=port, host=host).health_check_query() == "SERVING"
    except Exception:  # unreachable or not serving yet
        return False


def daemon_ok(env: Mapping[str, str] | None = None, since: float | None = None, max_age: float = 90.0) -> bool:
    """Every daemon the instance requires (scheduler, sensors, run queue, …) has a heartbeat.

    ``since``: heartbeats must be newer than this timestamp (natively: the daemon's start), otherwise
    newer than ``max_age`` seconds (the daemon beats every 30 s).
    """
    import dagster as dg

    with patched_environ(env or {}):
        try:
            with dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
                required = instance.get_required_daemon_types()
                beats = instance.get_daemon_heartbeats()
        except Exception:  # storage unreachable
            return False
    oldest = since if since is not None else time.time() - max_age
    return all(kind in beats and beats[kind].timestamp >= oldest for kind in required)


def probe(
    name: str, host: str = "127.0.0.1", port: int | None = None, env: Mapping[str, str] | None = None, since=None
) -> bool:
    svc = service(name)
    port = svc.port if port is None else port
    if name == "code-server":
        return grpc_ok(host, int(port or 0))
    if name == "daemon":
        return daemon_ok(env, since)
    if svc.health_path:
        return http_ok(f"http://{host}:{port}{svc.health_path}")
    raise ValueError(f"no probe for {name}")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "prepare-home":
        print(prepare_dagster_home(Path(argv[1])))
        return 0
    if len(argv) == 2 and argv[0] == "probe":
        return 0 if probe(argv[1]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
