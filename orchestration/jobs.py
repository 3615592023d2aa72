"""Jobs: named asset selections that schedules, sensors, the UI and the CLI launch."""

from __future__ import annotations

import dagster as dg

# The main job: everything that exists on the embedded default, source to marts and forecasts. The agents
# plan weekly (agent_plans), not every day.
daily_refresh = dg.define_asset_job(
    name="daily_refresh",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("agents"),
    description="Ingest every source, build the models, forecasts and docs (everything but the agents).",
)

# The agents' weekly work: plans, campaign drafts (pending approval), finance and sales reviews, the brief.
agent_plans = dg.define_asset_job(
    name="agent_plans",
    selection=dg.AssetSelection.groups("agents"),
    description="Retention and media plans, campaign drafts, finance report, sales review and the growth brief, "
    "from the current marts. Proposals only: nothing is sent.",
)

# Only the sources: every raw table and its quality checks, nothing downstream. In one process: a step
# subprocess costs more to start (imports, loading the definitions) than a demo-sized load takes.
ingest_sources = dg.define_asset_job(
    name="ingest_sources",
    selection=dg.AssetSelection.groups("ingestion"),
    executor_def=dg.in_process_executor,
    description="Land every source (HubSpot, WhatsApp, Sheets) in the raw schemas and run their quality checks.",
)


def all_jobs() -> list[dg.UnresolvedAssetJobDefinition | dg.JobDefinition]:
    from orchestration.automation.alerts import alert_jobs
    from orchestration.automation.campaign_job import send_campaign
    from orchestration.automation.crm_job import sync_crm
    from orchestration.automation.playbooks import playbook_jobs
    from orchestration.automation.publish_job import publish_reports

    return [
        daily_refresh,
        ingest_sources,
        agent_plans,
        send_campaign,
        publish_reports,
        sync_crm,
        *playbook_jobs(),
        *alert_jobs(),
    ]
