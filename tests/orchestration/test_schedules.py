from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.schedules import daily_refresh_schedule


def test_daily_refresh_runs_at_six_in_sao_paulo() -> None:
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 6, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
    )
    result = daily_refresh_schedule.evaluate_tick(context)
    assert result.run_requests and len(result.run_requests) == 1
    assert daily_refresh_schedule.job_name == "daily_refresh"
    assert (daily_refresh_schedule.cron_schedule, daily_refresh_schedule.execution_timezone) == (
        "0 6 * * *",
        "America/Sao_Paulo",
    )
