"""Schedules, in São Paulo time: when the platform refreshes itself."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import daily_refresh

TIMEZONE = "America/Sao_Paulo"

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh_0600",
    job=daily_refresh,
    cron_schedule="0 6 * * *",
    execution_timezone=TIMEZONE,
    description="Every day at 06:00: ingest every source and refresh everything downstream.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def all_schedules() -> list[dg.ScheduleDefinition]:
    return [daily_refresh_schedule]
