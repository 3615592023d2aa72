"""The Dagster instance for CLI runs: the same ``DAGSTER_HOME`` that ``dagster dev`` and the UI use."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings


def load_instance(settings: Settings) -> dg.DagsterInstance:
    """SQLite storage under ``DAGSTER_HOME`` unless a ``dagster.yaml`` there says otherwise."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))
