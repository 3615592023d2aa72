"""Schedules, in São Paulo time: when the platform refreshes itself."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import agent_plans, daily_refresh

TIMEZONE = "America/Sao_Paulo"

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh_0600",
    job=daily_refresh,
    cron_schedule="0 6 * * *",
    execution_timezone=TIMEZONE,
    description="Every day at 06:00: ingest every source and refresh everything downstream.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

agent_plans_schedule = dg.ScheduleDefinition(
    name="agent_plans_monday_0800",
    job=agent_plans,
    cron_schedule="0 8 * * 1",
    execution_timezone=TIMEZONE,
    description="Mondays at 08:00, after the 06:00 refresh: the agents' plans, drafts and the weekly growth brief.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def all_schedules() -> list[dg.ScheduleDefinition]:
    from orchestration.automation.playbooks import playbook_schedules

    return [daily_refresh_schedule, agent_plans_schedule, *playbook_schedules()]
