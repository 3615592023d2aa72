"""Run dbt against the configured warehouse: its profile reads the environment this sets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from orchestration.dbt_env import dbt_environment


@contextmanager
def warehouse_environment(warehouse_url: str) -> Iterator[dict[str, str]]:
    """Set the ``CRO_DBT_*``/``CRO_PG_*`` variables for the dbt subprocesses started inside."""
    values = dbt_environment(warehouse_url)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
