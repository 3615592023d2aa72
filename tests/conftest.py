"""Shared fixtures: an isolated data dir and Dagster home per session, and a real PostgreSQL server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer, require_postgres_binaries


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep tests away from the developer's ``data/`` and ``dagster_home/`` and from real credentials."""
    root = tmp_path_factory.mktemp("cro")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRO_ENV", "local")
        mp.setenv("CRO_DATA_DIR", str(root / "data"))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        for name in list(os.environ):
            if name.startswith(("CRO_WAREHOUSE", "HUBSPOT_", "WHATSAPP_", "NOTION_", "SLACK_", "SMTP_", "OPENAI_")):
                mp.delenv(name)
        (root / "dagster_home").mkdir()
        yield root


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session; skips (or fails in CI) without the binaries."""
    server = PostgresServer.start(require_postgres_binaries())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database for one test."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    return postgres_server.create_database(name)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against a DuckDB file and against the real PostgreSQL server."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'wh.duckdb'}"
    return str(request.getfixturevalue("postgres_dsn"))
