"""``cro dbt -- ARGS``: the project's dbt, connected to the configured warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer


def dbt(ctx: typer.Context) -> None:
    """Run dbt on the project against the configured warehouse (CRO_WAREHOUSE_URL), e.g.
    `cro dbt -- build --vars "{as_of_date: '2026-06-30'}"`. Dagster does not see these runs: use
    `cro materialize` for the runs the UI should show."""
    from assets.dbt.project import DBT_PROJECT_DIR
    from orchestration.dbt_env import dbt_environment
    from orchestration.settings import load_settings

    args = list(ctx.args)
    if not args:
        typer.echo('give dbt its arguments after "--", e.g.: cro dbt -- build --select dim_segments', err=True)
        raise typer.Exit(code=2)
    if not any(arg == "--profiles-dir" or arg.startswith("--profiles-dir=") for arg in args):
        args += ["--profiles-dir", str(DBT_PROJECT_DIR)]
    env = os.environ | dbt_environment(load_settings().warehouse_url)
    executable = Path(sys.executable).parent / "dbt"
    done = subprocess.run([str(executable), *args], cwd=DBT_PROJECT_DIR, env=env, check=False)
    raise typer.Exit(code=done.returncode)
