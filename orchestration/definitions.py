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
from orchestration.sensors import all_sensors
from orchestration.settings import Settings, load_settings

# Step pods when CRO_EXECUTOR=k8s (deploy/k8s/, README "Sizing"). Sized from the benchmarks at 1M customers:
# the dbt build peaks at 4.3 GB, the heaviest ingestion step (HubSpot deals) at 2.3 GB, forecasts at 0.3 GB.
# Requests are what a step needs to start; limits leave room for the peaks.
K8S_STEP_RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}}
K8S_DBT_STEP_RESOURCES = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "6Gi"}}
K8S_DBT_STEPS = ("dbt_models", "dbt_projections", "dbt_docs")
K8S_EXECUTOR_CONFIG = {
    # pods of one run at a time; the run queue (dagsterDaemon in deploy/k8s/values.yaml) caps runs
    "max_concurrent": 4,
    "resources": K8S_STEP_RESOURCES,
    "per_step_k8s_config": {
        step: {"container_config": {"resources": K8S_DBT_STEP_RESOURCES}} for step in K8S_DBT_STEPS
    },
    # finished step Jobs (and their pods' logs) stay an hour for inspection, then Kubernetes removes them
    "step_k8s_config": {"job_spec_config": {"ttl_seconds_after_finished": 3600}},
}


def build_executor(settings: Settings) -> dg.ExecutorDefinition | None:
    """The executor of every job, chosen by ``CRO_EXECUTOR``; ``None`` keeps Dagster's default.

    The default runs each step in a subprocess of the run (the launchpad may still pick ``in_process``).
    ``k8s`` imports dagster-k8s (and the Kubernetes client) only here, so other code-location loads stay fast.
    """
    if settings.executor == "in_process":
        return dg.in_process_executor
    if settings.executor == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor.configured(K8S_EXECUTOR_CONFIG, name="k8s")
    return None


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    return dg.Definitions(
        assets=all_assets(),
        asset_checks=all_asset_checks(),
        jobs=all_jobs(),
        schedules=all_schedules(),
        sensors=all_sensors(),
        resources=build_resources(settings),
        executor=build_executor(settings),
    )


defs = build_definitions()
