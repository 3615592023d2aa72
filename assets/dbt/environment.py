"""Run dbt against the configured warehouse: its profile reads the environment this sets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestration.dbt_env import dbt_environment
from orchestration.settings import patched_environ


@contextmanager
def warehouse_environment(warehouse_url: str) -> Iterator[dict[str, str]]:
    """Set the ``CRO_DBT_*``/``CRO_PG_*`` variables for the dbt subprocesses started inside."""
    values = dbt_environment(warehouse_url)
    with patched_environ(values):
        yield values
