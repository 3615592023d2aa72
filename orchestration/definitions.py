"""The one ``Definitions`` object of the project: assets, checks, jobs, schedules, sensors, resources.

Loaded by ``workspace.yaml`` (``dagster dev``/webserver/daemon), by the ``cro`` CLI and by the tests.
Heavy libraries are imported inside the assets that use them, so loading this module stays fast.
"""

from __future__ import annotations

import dagster as dg

from assets import all_asset_checks, all_assets
from orchestration.jobs import all_jobs
from orchestration.resources import build_resources
from orchestration.schedules import all_schedules
from orchestration.settings import load_settings


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    return dg.Definitions(
        assets=all_assets(),
        asset_checks=all_asset_checks(),
        jobs=all_jobs(),
        schedules=all_schedules(),
        resources=build_resources(settings),
    )


defs = build_definitions()
