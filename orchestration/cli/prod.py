"""``cro prod up|down|status``: the production topology of ``docker-compose.yml`` as native processes.

The services, their commands, ports and environment come from ``orchestration/topology.py`` (the
compose file declares the same ones). PostgreSQL is the one at ``DAGSTER_PG_HOST`` or, when that is not
set, a local server started from the Debian binaries into ``$CRO_DATA_DIR/prod/postgres``; it holds
Dagster's storage (database ``dagster``, through the production ``deploy/dagster.yaml`` copied into
``$CRO_DATA_DIR/prod/dagster_home``) and the warehouse (database ``warehouse``). ``CRO_ENV`` keeps its
meaning: ``local`` (the default) serves the demo world's sources, so this is the whole production
topology on one machine with the demo data; ``prod`` needs the real credentials.

Every process is its own process group, writes ``$CRO_DATA_DIR/prod/<service>.pid`` and logs to
``$CRO_DATA_DIR/prod/logs/<service>.log``; ``state.json`` there records what ``down`` must stop.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestration.settings import PROJECT_ROOT, Settings, SettingsError, load_settings
from orchestration.topology import (
    CREDENTIAL_ENV,
    DATABASES,
    PLATFORM_ENV,
    SERVICES,
    WEBHOOK_SECRETS,
    Service,
    prepare_dagster_home,
    probe,
    service,
    topology_env_names,
)

app = typer.Typer(
    help="The production topology (docker-compose.yml) as native processes on this machine.",
    no_args_is_help=True,
)

APP_SERVICES: tuple[Service, ...] = tuple(s for s in SERVICES if s.image is None)
# the local server accepts any password (trust authentication, 127.0.0.1 only); dagster.yaml wants one set
LOCAL_PG_USER, LOCAL_PG_PASSWORD = "postgres", "local-trust-auth"
PENDING_URL = "postgresql://provided-by-cro-prod/warehouse"  # stands in until the deployment's URL is known


class DeploymentError(RuntimeError):
    """``up`` cannot proceed; the message says why and what to do."""


@dataclass(frozen=True)
class Layout:
    """Where the native deployment keeps its files: ``$CRO_DATA_DIR/prod``."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        return cls(settings.data_dir / "prod")

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def postgres_root(self) -> Path:
        return self.root / "postgres"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def webhook_secrets_file(self) -> Path:
        return self.root / "webhook_secrets.env"

    def pid_file(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def write_state(self, state: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)


# --- processes -----------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> str | None:
    """When the process started (clock ticks since boot): tells a pid apart from a later reuse of it."""
    fields = _stat(pid)
    return fields[19] if fields else None


def is_alive(pid: int, ticks: str | None = None) -> bool:
    """The process runs (a zombie does not count) and, given ``ticks``, is the one that was started."""
    if not Path("/proc").is_dir():  # not Linux: the best we can do
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat(pid)
    if fields is None or fields[0] == "Z":
        return False
    return ticks is None or fields[19] == ticks


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (each service is its own group)."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[0] != "Z" and fields[2] == str(pgid):
                members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def terminate_groups(groups: Mapping[str, int], timeout: float = 20.0) -> dict[str, str]:
    """SIGTERM every group at once, wait up to ``timeout`` s, then SIGKILL what is left.

    Returns, per name, ``stopped`` (ended on SIGTERM), ``killed`` or ``not running``.
    """
    outcome = {name: "not running" for name, pgid in groups.items() if not group_members(pgid)}
    pending = {name: pgid for name, pgid in groups.items() if name not in outcome}
    for pgid in pending.values():
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, pgid in list(pending.items()):
            if not group_members(pgid):
                outcome[name] = "stopped"
                del pending[name]
        time.sleep(0.2)
    for name, pgid in pending.items():
        _signal_group(pgid, signal.SIGKILL)
        outcome[name] = "killed"
    deadline = time.monotonic() + 10
    while any(group_members(pgid) for pgid in pending.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return outcome


def _executable(name: str) -> str:
    """The entry point next to this interpreter (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def _reset_ignored_signals() -> None:
    """A shell may start us with SIGTERM/SIGINT ignored; children would inherit that and not stop."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def service_environment(base: Mapping[str, str], values: Mapping[str, str], svc: Service) -> dict[str, str]:
    """What the service's container would see: the machine's environment minus every platform variable,
    plus exactly the variables the topology gives this service."""
    platform = topology_env_names() | set(CREDENTIAL_ENV)
    env = {k: v for k, v in base.items() if k not in platform and not k.startswith("CRO_")}
    env.update({name: values[name] for name in svc.env if values.get(name)})
    return env


# --- up ------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    host: str
    ports: dict[str, int]
    values: dict[str, str]  # every variable a service may get (secrets included; never written to disk)
    postgres: dict[str, Any]  # what to tell `status`/`down` about the server (no password)

    def public_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    def url(self, name: str) -> str | None:
        return service(name).url(self.public_host(), self.ports.get(name))


def _webhook_secrets(settings: Settings, layout: Layout, environ: Mapping[str, str]) -> dict[str, str]:
    """The receiver's secrets from the environment; locally, generated once and kept in the prod folder."""
    present = {name: environ[name] for name in WEBHOOK_SECRETS if environ.get(name)}
    missing = [name for name in WEBHOOK_SECRETS if name not in present]
    if not missing:
        return present
    if settings.env == "prod":
        raise DeploymentError(f"the webhook receiver needs {' and '.join(missing)} (CRO_ENV=prod)")
    stored: dict[str, str] = {}
    if layout.webhook_secrets_file.exists():
        for line in layout.webhook_secrets_file.read_text().splitlines():
            name, _, value = line.partition("=")
            stored[name.strip()] = value.strip()
    for name in missing:
        stored.setdefault(name, secrets.token_hex(16))
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.webhook_secrets_file.unlink(missing_ok=True)
    descriptor = os.open(layout.webhook_secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(f"{n}={stored[n]}\n" for n in WEBHOOK_SECRETS if n in stored))
    return present | {name: stored[name] for name in missing}


def _prepare_postgres(
    settings: Settings, layout: Layout, environ: Mapping[str, str], port: int, echo: Callable[[str], None]
) -> tuple[dict[str, str], dict[str, Any]]:
    """PostgreSQL for Dagster's storage and the warehouse: the configured server or a local one."""
    from orchestration.local_postgres import LocalPostgresError, PostgresServer, ensure_database, find_bindir

    configured_url = environ.get("CRO_WAREHOUSE_URL", "").strip()
    if configured_url and settings.warehouse_kind != "postgres":
        raise DeploymentError(
            "CRO_WAREHOUSE_URL points at DuckDB, which allows one writing process; the deployment runs several. "
            "Unset it (the warehouse then lives on the deployment's PostgreSQL) or point it at PostgreSQL."
        )
    host = environ.get("DAGSTER_PG_HOST", "").strip()
    if host:
        missing = [n for n in ("DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB") if not environ.get(n)]
        if missing:
            raise DeploymentError(f"DAGSTER_PG_HOST is set, so set {', '.join(missing)} too (deploy/dagster.yaml)")
        pg = {
            "DAGSTER_PG_HOST": host,
            "DAGSTER_PG_PORT": str(environ.get("DAGSTER_PG_PORT") or 5432),
            "DAGSTER_PG_USERNAME": environ["DAGSTER_PG_USERNAME"],
            "DAGSTER_PG_PASSWORD": environ["DAGSTER_PG_PASSWORD"],
            "DAGSTER_PG_DB": environ["DAGSTER_PG_DB"],
        }
        from urllib.parse import quote

        auth = f"{quote(pg['DAGSTER_PG_USERNAME'], safe='')}:{quote(pg['DAGSTER_PG_PASSWORD'], safe='')}"
        server_url = f"postgresql://{auth}@{host}:{pg['DAGSTER_PG_PORT']}"
        warehouse_url = configured_url or f"{server_url}/warehouse"
        if not configured_url:
            try:
                ensure_database(f"{server_url}/{pg['DAGSTER_PG_DB']}", "warehouse")
            except Exception as exc:
                raise DeploymentError(f"cannot prepare database 'warehouse' on {host}: {exc}") from exc
        return pg | {"CRO_WAREHOUSE_URL": warehouse_url}, {
            "managed": False,
            "host": host,
            "port": pg["DAGSTER_PG_PORT"],
        }

    bindir = find_bindir()
    if bindir is None:
        raise DeploymentError(
            "DAGSTER_PG_HOST is not set and no PostgreSQL server binaries were found to start a local server: "
            "apt-get install postgresql, or point DAGSTER_PG_HOST at a server"
        )
    server = PostgresServer.durable(bindir, layout.postgres_root, port)
    started = False
    try:
        started = server.ensure_running()
        for name in DATABASES:
            server.ensure_database(name)
    except LocalPostgresError as exc:
        raise DeploymentError(f"local PostgreSQL: {exc} (port: --postgres-port or DAGSTER_PG_PORT)") from exc
    except Exception as exc:  # the databases could not be created
        if started:
            server.stop()
        raise DeploymentError(f"local PostgreSQL {server.dsn()}: {exc}") from exc
    echo(f"{'started' if started else 'reusing'} PostgreSQL {server.dsn()} (data in {server.datadir})")
    pg = {
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USERNAME": LOCAL_PG_USER,
        "DAGSTER_PG_PASSWORD": LOCAL_PG_PASSWORD,
        "DAGSTER_PG_DB": "dagster",
    }
    state = {"managed": True, "bindir": str(bindir), "root": str(server.root), "port": port, "host": server.host}
    return pg | {"CRO_WAREHOUSE_URL": configured_url or server.dsn("warehouse")}, state


def plan_deployment(
    settings: Settings,
    layout: Layout,
    environ: Mapping[str, str],
    host: str,
    ports: dict[str, int],
    echo: Callable[[str], None],
) -> Plan:
    from orchestration.local_postgres import port_in_use

    for name, port in ports.items():
        if name != "postgres" and port_in_use(port):
            svc = service(name)
            raise DeploymentError(f"port {port} for {name} is in use: choose another (--{name}-port or {svc.port_env})")
    values = {name: environ[name] for name in PLATFORM_ENV if environ.get(name)}  # e.g. CRO_EXECUTOR
    values |= {
        "CRO_ENV": settings.env,
        "CRO_DATA_DIR": str(settings.data_dir),
        "CRO_DEMO_DIR": str(settings.demo_dir),
        "CRO_WHATSAPP_LANDING_DIR": str(settings.whatsapp_landing_dir),
        "CRO_LLM_PROVIDER": settings.llm_provider,
        "CRO_OUTBOUND": "live" if settings.outbound_live else "dry_run",
        "DAGSTER_HOME": str(layout.dagster_home),
        "CRO_CODE_SERVER_HOST": "127.0.0.1" if host in ("0.0.0.0", "::", "") else host,
        "CRO_CODE_SERVER_PORT": str(ports["code-server"]),
    }
    values |= {name: environ[name] for name in CREDENTIAL_ENV if environ.get(name)}
    values |= _webhook_secrets(settings, layout, environ)
    pg_values, pg_state = _prepare_postgres(settings, layout, environ, ports["postgres"], echo)
    values |= pg_values
    if settings.env == "local" and not (settings.demo_dir / "manifest.json").exists():
        echo(f"note: no demo world in {settings.demo_dir} yet; ingestion needs one: cro demo-data")
    return Plan(host=host, ports=ports, values=values, postgres=pg_state)


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_services(plan: Plan, layout: Layout, timeout: float, echo: Callable[[str], None]) -> dict[str, Any]:
    """Start every service once the ones it depends on are healthy; wait until all are. Returns the state."""
    _reset_ignored_signals()
    layout.logs.mkdir(parents=True, exist_ok=True)
    workspace = str(layout.dagster_home / "workspace.yaml")
    state: dict[str, Any] = {
        "host": plan.host,
        "postgres": plan.postgres,
        "services": {},
        # what `status` needs to probe the daemon: no secret here (the local server needs none)
        "dagster_env": {k: v for k, v in plan.values.items() if k.startswith("DAGSTER_") and "PASSWORD" not in k},
    }
    healthy = {"postgres"}
    running: dict[str, subprocess.Popen[bytes]] = {}
    started_at: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(healthy) < len(SERVICES):
        for svc in APP_SERVICES:
            if svc.name in running or not set(svc.depends_on) <= healthy:
                continue
            argv = svc.argv(host=plan.host, port=plan.ports.get(svc.name), workspace=workspace)
            log = layout.log_file(svc.name).open("ab")
            process = subprocess.Popen(
                [_executable(argv[0]), *argv[1:]],
                cwd=PROJECT_ROOT,
                env=service_environment(os.environ, plan.values, svc),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: `down` stops it and whatever it spawned
            )
            log.close()
            running[svc.name], started_at[svc.name] = process, time.time()
            layout.pid_file(svc.name).write_text(f"{process.pid}\n")
            state["services"][svc.name] = {
                "pid": process.pid,
                "start_ticks": start_ticks(process.pid),
                "port": plan.ports.get(svc.name),
                "url": plan.url(svc.name),
                "log": str(layout.log_file(svc.name)),
                "started_at": started_at[svc.name],
            }
            layout.write_state(state)
            echo(f"starting {svc.name}: {' '.join(argv)}")
        for name, process in running.items():
            if name in healthy:
                continue
            if process.poll() is not None:
                raise DeploymentError(
                    f"{name} exited with code {process.returncode}; its log ({layout.log_file(name)}) ends:\n"
                    + _log_tail(layout.log_file(name))
                )
            daemon_env = {k: v for k, v in plan.values.items() if k.startswith("DAGSTER_")}
            if probe(name, plan.public_host(), plan.ports.get(name), env=daemon_env, since=started_at[name]):
                healthy.add(name)
                echo(f"{name} healthy after {time.time() - started_at[name]:.1f} s")
        if time.monotonic() > deadline:
            waiting = sorted({s.name for s in APP_SERVICES} - healthy)
            raise DeploymentError(
                f"not healthy after {timeout:.0f} s: {', '.join(waiting)}; see the logs in {layout.logs}"
            )
        time.sleep(0.3)
    return state


def stop_deployment(layout: Layout, timeout: float = 20.0, echo: Callable[[str], None] = typer.echo) -> bool:
    """Stop what ``state.json`` records (and the local PostgreSQL if it is the deployment's); False if nothing."""
    state = layout.read_state()
    if state is None:
        return False
    groups = {
        name: int(info["pid"])
        for name, info in state.get("services", {}).items()
        # the pid still names the process that was started (not a later reuse) — or its group lives on
        if is_alive(int(info["pid"]), info.get("start_ticks")) or group_members(int(info["pid"]))
    }
    outcome = terminate_groups(groups, timeout=timeout)
    for name in state.get("services", {}):
        echo(f"{name}: {outcome.get(name, 'not running')}")
        layout.pid_file(name).unlink(missing_ok=True)
    pg = state.get("postgres") or {}
    if pg.get("managed"):
        from orchestration.local_postgres import PostgresServer

        server = PostgresServer.durable(Path(pg["bindir"]), Path(pg["root"]), int(pg["port"]))
        if server.is_running():
            server.stop()
            echo(f"postgres: stopped (data kept in {server.datadir})")
    layout.state_file.unlink(missing_ok=True)
    return True


def _settings(environ: Mapping[str, str]) -> Settings:
    try:
        # CRO_ENV=prod requires a warehouse URL; when none is set, the deployment provides one (PostgreSQL)
        return load_settings(dict(environ) | {"CRO_WAREHOUSE_URL": environ.get("CRO_WAREHOUSE_URL") or PENDING_URL})
    except SettingsError as exc:
        typer.echo(f"cro prod: {exc}", err=True)
        raise typer.Exit(code=2) from exc


def _ports(**given: int) -> dict[str, int]:
    return {name.replace("_", "-"): port for name, port in given.items()}


def _print_urls(plan_or_state: Mapping[str, Any], echo: Callable[[str], None]) -> None:
    for name, info in plan_or_state.items():
        if info.get("url"):
            echo(f"  {name:<12} {info['url']}")


@app.command("up")
def up(
    host: Annotated[str, typer.Option(help="Interface the services bind (0.0.0.0: every interface).")] = "127.0.0.1",
    webserver_port: Annotated[int, typer.Option(envvar="CRO_WEBSERVER_PORT", help="Dagster UI.")] = 3000,
    code_server_port: Annotated[int, typer.Option(envvar="CRO_CODE_SERVER_PORT", help="Code server (gRPC).")] = 4000,
    webhook_port: Annotated[int, typer.Option(envvar="CRO_WEBHOOK_PORT", help="WhatsApp webhook receiver.")] = 8081,
    docs_port: Annotated[int, typer.Option(envvar="CRO_DOCS_PORT", help="dbt docs site.")] = 8080,
    postgres_port: Annotated[
        int, typer.Option(envvar="DAGSTER_PG_PORT", help="Local PostgreSQL (when DAGSTER_PG_HOST is not set).")
    ] = 5432,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be healthy.")] = 300.0,
) -> None:
    """Start PostgreSQL, the code server, the webserver, the daemon, the webhook receiver and the docs site."""
    environ = dict(os.environ)
    settings = _settings(environ)
    layout = Layout.of(settings)
    state = layout.read_state()
    if state is not None:
        alive = [n for n, i in state.get("services", {}).items() if is_alive(int(i["pid"]), i.get("start_ticks"))]
        if alive:
            typer.echo(f"already running ({', '.join(alive)}); `cro prod status` checks it, `cro prod down` stops it")
            raise typer.Exit(code=0 if len(alive) == len(APP_SERVICES) else 1)
        stop_deployment(layout, echo=lambda _: None)  # leftovers of a deployment that died: clean up

    ports = _ports(
        webserver=webserver_port,
        code_server=code_server_port,
        webhook=webhook_port,
        docs=docs_port,
        postgres=postgres_port,
    )
    started = time.monotonic()
    try:
        plan = plan_deployment(settings, layout, environ, host, ports, typer.echo)
        layout.write_state({"host": host, "postgres": plan.postgres, "services": {}})
        prepare_dagster_home(layout.dagster_home)
        state = start_services(plan, layout, timeout, typer.echo)
    except BaseException as exc:  # whatever went wrong, nothing started stays behind
        message = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        typer.echo(f"cro prod up failed: {message}", err=True)
        typer.echo("stopping what was started …", err=True)
        stop_deployment(layout, echo=lambda line: typer.echo(f"  {line}", err=True))
        if isinstance(exc, DeploymentError | KeyboardInterrupt):
            raise typer.Exit(code=1) from None
        raise
    typer.echo(f"\nthe deployment is up ({time.monotonic() - started:.0f} s); logs in {layout.logs}")
    _print_urls(state["services"], typer.echo)
    typer.echo(
        f"  {'postgres':<12} postgresql://{plan.values['DAGSTER_PG_HOST']}:{plan.values['DAGSTER_PG_PORT']}"
        f" (databases: {', '.join(DATABASES)})"
    )
    typer.echo("stop it with: cro prod down")


@app.command("down")
def down(
    timeout: Annotated[float, typer.Option(help="Seconds to wait after SIGTERM before SIGKILL.")] = 20.0,
) -> None:
    """Stop every service (SIGTERM, wait, then SIGKILL) and the local PostgreSQL if the deployment started it."""
    layout = Layout.of(_settings(os.environ))
    if not stop_deployment(layout, timeout=timeout):
        typer.echo(f"nothing to stop (no {layout.state_file})")


@app.command("status")
def status() -> None:
    """Each service's process and health; exit 1 unless every one is running and healthy."""
    from rich.console import Console
    from rich.table import Table

    layout = Layout.of(_settings(os.environ))
    state = layout.read_state()
    if state is None:
        typer.echo("the deployment is not running (cro prod up starts it)")
        raise typer.Exit(code=1)
    table = Table(title=f"cro prod — {layout.root}")
    for column in ("service", "state", "pid", "url", "log"):
        table.add_column(column, overflow="fold")
    ok = True
    pg = state.get("postgres") or {}
    from orchestration.local_postgres import port_in_use

    pg_up = port_in_use(int(pg.get("port", 5432)), str(pg.get("host", "127.0.0.1")))
    ok &= pg_up
    where = "local, started by cro prod" if pg.get("managed") else "external (DAGSTER_PG_HOST)"
    table.add_row(
        "postgres", "[green]healthy" if pg_up else "[red]down", "", f"{pg.get('host')}:{pg.get('port')}", where
    )
    dagster_env = dict(state.get("dagster_env", {}))
    dagster_env.setdefault(
        "DAGSTER_PG_PASSWORD", LOCAL_PG_PASSWORD if pg.get("managed") else os.environ.get("DAGSTER_PG_PASSWORD", "")
    )
    host = state.get("host", "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    for svc in APP_SERVICES:
        info = state.get("services", {}).get(svc.name)
        if info is None:
            table.add_row(svc.name, "[red]not started", "", "", "")
            ok = False
            continue
        alive = is_alive(int(info["pid"]), info.get("start_ticks"))
        healthy = alive and probe(svc.name, host, info.get("port"), env=dagster_env)
        ok &= healthy
        label = "[green]healthy" if healthy else ("[yellow]unhealthy" if alive else "[red]stopped")
        table.add_row(svc.name, label, str(info["pid"]), info.get("url") or "", info.get("log", ""))
    Console(width=200).print(table)
    if not ok:
        raise typer.Exit(code=1)
