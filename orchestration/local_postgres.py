"""A PostgreSQL server started from the local server binaries (Debian's ``postgresql`` package).

Two users: the tests (a throwaway server in a temporary folder, tuned for speed, removed on stop) and
``cro prod up`` (a durable server under ``$CRO_DATA_DIR/prod/postgres`` that survives restarts).
PostgreSQL refuses to run as root, so as root every server command runs as the ``postgres`` user.
Only TCP on 127.0.0.1 is opened (no Unix socket, whose path length is limited); authentication is
``trust``, so the server must stay local.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# fast and unsafe: what a throwaway test server wants, never a durable one
TEST_TUNING = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class LocalPostgresError(RuntimeError):
    """The local server could not be prepared or started; the message says why and what to do."""


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with ``initdb``, or the one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str = "postgres"
    host: str = "127.0.0.1"
    # a throwaway server: fast settings, its folder is removed on stop
    ephemeral: bool = True

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def _command(self, *args: str) -> list[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._command(*args), capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise LocalPostgresError(
                f"{args[0]} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}"
                + (f"\nserver log: {self.log_file}" if self.log_file.exists() else "")
            )
        return result

    @classmethod
    def start(cls, bindir: Path, root: Path | None = None, port: int | None = None) -> PostgresServer:
        """A throwaway server in a new temporary folder on a free port (``stop`` removes it)."""
        server = cls(bindir=bindir, root=root or Path(tempfile.mkdtemp(prefix="cro-pg-")), port=port or free_port())
        server.ensure_running()
        return server

    @classmethod
    def durable(cls, bindir: Path, root: Path, port: int) -> PostgresServer:
        """A server whose data outlives it (``cro prod``): normal durability, ``stop`` keeps the folder."""
        return cls(bindir=bindir, root=root, port=port, ephemeral=False)

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        shutil.chown(self.root, user="postgres", group="postgres")
        reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.root)], check=False)
        if reachable.returncode != 0:
            raise LocalPostgresError(
                f"PostgreSQL runs as the 'postgres' user, which cannot reach {self.root}: "
                "make the folders above it traversable (chmod o+x) or choose another CRO_DATA_DIR"
            )

    def is_initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    def running_port(self) -> int | None:
        """The port in ``postmaster.pid`` (its fourth line) while the server runs."""
        try:
            return int((self.datadir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def ensure_running(self) -> bool:
        """Initialize the cluster if needed and start it unless it runs; True if this call started it."""
        self._prepare_root()
        if not self.is_initialized():
            self._run(
                "initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
            )
        if self.is_running():
            running_port = self.running_port()
            if running_port not in (None, self.port):
                raise LocalPostgresError(f"the server in {self.datadir} already runs on port {running_port}")
            return False
        if port_in_use(self.port, self.host):
            raise LocalPostgresError(f"port {self.port} is already in use on {self.host}: choose another port")
        options = f"-p {self.port} -c listen_addresses={self.host} -c unix_socket_directories='' -c max_connections=200"
        if self.ephemeral:
            options += f" {TEST_TUNING}"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log_file), "-w", "-t", "60", "-o", options, "start")
        return True

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are ended); a throwaway server's folder is removed."""
        try:
            if self.is_running():
                self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        finally:
            if self.ephemeral:
                shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database (dropped first if it exists); returns its DSN."""
        _execute(self.dsn(), f'drop database if exists "{name}"', f'create database "{name}"')
        return self.dsn(name)

    def ensure_database(self, name: str) -> str:
        """The database, created if missing and kept otherwise; returns its DSN."""
        ensure_database(self.dsn(), name)
        return self.dsn(name)


def _execute(dsn: str, *statements: str) -> None:
    import psycopg2

    con = psycopg2.connect(dsn, connect_timeout=10)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        con.close()


def ensure_database(admin_dsn: str, name: str) -> bool:
    """Create database ``name`` through ``admin_dsn`` (any database of the server) unless it exists.

    Returns True if it was created.
    """
    import psycopg2

    con = psycopg2.connect(admin_dsn, connect_timeout=10)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if cur.fetchone():
                return False
            cur.execute(f'create database "{name}"')
            return True
    finally:
        con.close()
