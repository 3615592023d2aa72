"""Jobs: named asset selections that schedules, sensors, the UI and the CLI launch."""

from __future__ import annotations

import dagster as dg

# The main job: everything that exists on the embedded default, source to marts.
daily_refresh = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, build the models and refresh everything downstream.",
)

# Only the sources: every raw table and its quality checks, nothing downstream. In one process: a step
# subprocess costs more to start (imports, loading the definitions) than a demo-sized load takes.
ingest_sources = dg.define_asset_job(
    name="ingest_sources",
    selection=dg.AssetSelection.groups("ingestion"),
    executor_def=dg.in_process_executor,
    description="Land every source (HubSpot, WhatsApp, Sheets) in the raw schemas and run their quality checks.",
)


def all_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [daily_refresh, ingest_sources]
