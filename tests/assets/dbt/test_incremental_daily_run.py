"""The daily incremental run gives the same marts as rebuilding everything from scratch.

One more day of orders lands in the raw tables (the benchmark's own ``ADD_ONE_DAY_SQL``); the
incremental ``dbt build`` must then leave every mart and intermediate table equal to a
``--full-refresh`` build of the same data.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from assets.dbt.project import DBT_BUILD_ARGS, DBT_PROJECT_DIR
from orchestration.dbt_env import dbt_environment
from tests.assets.dbt.conftest import BuiltWarehouse

ROOT = Path(__file__).resolve().parents[3]


def add_one_day_sql() -> list[str]:
    spec = importlib.util.spec_from_file_location("bench_metrics", ROOT / "benchmarks" / "bench_metrics.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.ADD_ONE_DAY_SQL)


def dbt_build(warehouse: Path, target: Path, *extra: str) -> None:
    env = os.environ | dbt_environment(f"duckdb:///{warehouse}")
    args = [*DBT_BUILD_ARGS, *extra, "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(warehouse), read_only=True)
    names = con.sql(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('intermediate', 'marts') and table_type = 'BASE TABLE'"
    ).fetchall()
    frames = {}
    for (name,) in names:
        frame = con.sql(
            f"select * exclude (loaded_at) from {name}" if _has_loaded_at(con, name) else f"select * from {name}"
        ).df()
        frames[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    con.close()
    return frames


def _has_loaded_at(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.columns where table_schema = ? and table_name = ? "
            "and column_name = 'loaded_at'",
            [schema, table],
        ).fetchall()[0][0]
    )


def test_daily_incremental_run_equals_a_full_rebuild(duckdb_built: BuiltWarehouse, tmp_path: Path) -> None:
    source = Path(duckdb_built.url.removeprefix("duckdb:///"))
    incremental, rebuilt = tmp_path / "incremental.duckdb", tmp_path / "rebuilt.duckdb"
    shutil.copyfile(source, incremental)
    con = duckdb.connect(str(incremental))
    before = con.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    for sql in add_one_day_sql():
        con.execute(sql)
    con.close()

    dbt_build(incremental, tmp_path / "daily")
    shutil.copyfile(incremental, rebuilt)
    dbt_build(rebuilt, tmp_path / "full", "--full-refresh")

    daily, full = tables(incremental), tables(rebuilt)
    assert daily.keys() == full.keys()
    grown = duckdb.connect(str(incremental), read_only=True)
    assert grown.execute("select count(*) from marts.fct_orders").fetchone()[0] > before  # type: ignore[index]
    grown.close()
    for name in full:
        pd.testing.assert_frame_equal(daily[name], full[name], check_exact=False, rtol=1e-9, obj=name)
