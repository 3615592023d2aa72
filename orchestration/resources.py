"""Dagster resources and their per-environment configuration.

``build_resources`` is the single switch between the embedded default and production; assets only
ever see the resource interfaces defined here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.settings import Settings


def mask_url(url: str) -> str:
    """Hide the password of a database URL so it can be shown to a person or a log."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


class WarehouseResource(dg.ConfigurableResource):
    """The analytical warehouse: a DuckDB file by default, PostgreSQL in production.

    ``url`` is ``duckdb:///<path>`` or ``postgresql://user:password@host:port/db``.
    """

    url: str

    @property
    def kind(self) -> str:
        return "postgres" if self.url.startswith(("postgresql://", "postgres://")) else "duckdb"

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection, closed on exit (DuckDB allows one writer process at a time)."""
        if self.kind == "duckdb":
            import duckdb

            path = self.url.removeprefix("duckdb:///")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(path)
        else:
            import psycopg2

            con = psycopg2.connect(self.url, connect_timeout=5)
        try:
            yield con
        finally:
            con.close()

    def ping(self) -> str:
        """Run a trivial query; returns the server version. Raises if unreachable."""
        with self.connect() as con:
            cur = con.cursor()
            cur.execute("select version()")
            row = cur.fetchone()
            return str(row[0]) if row else "unknown"


def build_resources(settings: Settings) -> dict[str, Any]:
    """Resources for the active environment. Secrets stay ``EnvVar`` references until run time."""
    if settings.env == "prod":
        warehouse = WarehouseResource(url=dg.EnvVar("CRO_WAREHOUSE_URL"))
    else:
        warehouse = WarehouseResource(url=settings.warehouse_url)
    return {"warehouse": warehouse}
