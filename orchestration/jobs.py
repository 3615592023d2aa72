"""Jobs: named asset selections that schedules, sensors, the UI and the CLI launch."""

from __future__ import annotations

import dagster as dg

# The main job: everything that exists on the embedded default, source to marts.
daily_refresh = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, build the models and refresh everything downstream.",
)


def all_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [daily_refresh]
