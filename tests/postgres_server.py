"""A throwaway PostgreSQL server for tests, started from the local server binaries.

Runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root).
Tuned for speed, not durability: fsync and synchronous commit are off.
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


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with ``initdb``, or the one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls, bindir: Path) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="cro-pg-"))
        server = cls(bindir=bindir, root=root, port=_free_port())
        if os.geteuid() == 0:
            shutil.chown(root, user="postgres", group="postgres")
        server._run("initdb", "-D", str(server.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8")  # fmt: skip
        options = (
            f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        server._run("pg_ctl", "-D", str(server.datadir), "-l", str(root / "server.log"), "-w", "-o", options, "start")
        return server

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg2

        con = psycopg2.connect(self.dsn())
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'drop database if exists "{name}"')
            cur.execute(f'create database "{name}"')
        con.close()
        return self.dsn(name)
