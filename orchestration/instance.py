"""The Dagster instance for CLI runs: the same ``DAGSTER_HOME`` that ``dagster dev`` and the UI use."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings

# SQLite storage in DAGSTER_HOME (Dagster's default); an explicit file silences its "no dagster.yaml" notice.
LOCAL_INSTANCE_YAML = (
    "# Embedded default: SQLite run, event-log and schedule storage in this folder.\ntelemetry:\n  enabled: false\n"
)


def load_instance(settings: Settings) -> dg.DagsterInstance:
    """SQLite storage under ``DAGSTER_HOME`` unless a ``dagster.yaml`` there says otherwise."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = settings.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


if __name__ == "__main__":  # `make install` prepares DAGSTER_HOME for `dagster dev` this way
    from orchestration.settings import load_settings

    load_instance(load_settings())
