"""The whole Dagster graph, as a snapshot: a change to assets, checks, jobs, schedules or sensors shows up here.

Regenerate the snapshot after an intended change with ``CRO_UPDATE_SNAPSHOTS=1 pytest tests/orchestration``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.settings import PROJECT_ROOT

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def describe(defs: dg.Definitions) -> dict[str, object]:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "deps": sorted(dep.to_user_string() for dep in node.parent_keys),
        }
    return {
        "assets": assets,
        "asset_checks": sorted(f"{check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys),
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")),
        "schedules": sorted(f"{s.name} [{s.cron_schedule} {s.execution_timezone}]" for s in (defs.schedules or [])),
        "sensors": sorted(sensor.name for sensor in (defs.sensors or [])),
    }


def test_definitions_match_snapshot() -> None:
    from orchestration.definitions import defs

    current = describe(defs)
    if os.environ.get("CRO_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no snapshot yet: run with CRO_UPDATE_SNAPSHOTS=1 and review the file"
    assert current == json.loads(SNAPSHOT.read_text())


def test_daily_and_weekly_jobs_cover_every_asset_once() -> None:
    """daily_refresh is everything but the agents, which agent_plans runs weekly; together: every asset."""
    from orchestration.definitions import defs

    daily = set(defs.resolve_job_def("daily_refresh").asset_layer.executable_asset_keys)
    weekly = set(defs.resolve_job_def("agent_plans").asset_layer.executable_asset_keys)
    graph = defs.resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert daily | weekly == materializable and not daily & weekly
    assert weekly == {k for k in materializable if k.path[0] == "agents"} and len(weekly) == 6


def test_workspace_loads_with_the_dagster_cli() -> None:
    """What `dagster dev` and the webserver do: load the code location from workspace.yaml."""
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cro" in result.stdout + result.stderr
