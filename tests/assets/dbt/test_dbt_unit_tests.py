"""Every dbt unit test (a small hand-computed example per metric definition) passes on both databases.

Production builds skip unit tests (they need no data); here they run against an empty warehouse:
building the models and seeds there creates every relation with its columns and no rows (the
sources are created empty by the on-run-start hook), then ``dbt test`` runs the unit tests only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets.dbt.project import DBT_PROJECT_DIR
from orchestration.dbt_env import dbt_environment

DBT = str(Path(sys.executable).parent / "dbt")


def dbt(args: list[str], warehouse_url: str, target: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | dbt_environment(warehouse_url)
    common = ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target)]
    return subprocess.run([DBT, *args, *common], cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("warehouse_kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_unit_tests_pass(tmp_path: Path, warehouse_kind: str, request: pytest.FixtureRequest) -> None:
    url = (
        f"duckdb:///{tmp_path / 'empty.duckdb'}"
        if warehouse_kind == "duckdb"
        else request.getfixturevalue("postgres_dsn")
    )
    empty = dbt(["build", "--resource-type", "model", "--resource-type", "seed"], url, tmp_path / "empty")
    assert empty.returncode == 0, empty.stdout[-3000:]

    done = dbt(["test", "--select", "test_type:unit"], url, tmp_path / "unit")
    results = [
        r
        for r in json.loads((tmp_path / "unit" / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("unit_test.")
    ]
    failed = [r["unique_id"] for r in results if r["status"] != "pass"]
    assert done.returncode == 0 and not failed, (failed, done.stdout[-4000:])
    manifest = json.loads((tmp_path / "unit" / "manifest.json").read_text())
    tested_models = {test["model"] for test in manifest["unit_tests"].values()}
    # every mart that implements a METRICS.md definition has at least one hand-computed example
    for mart in ("fct_mrr_movements", "fct_mrr_monthly", "fct_churn_monthly", "fct_cohort_retention", "fct_cac",
                 "fct_unit_economics", "fct_ltv", "fct_dre_monthly", "fct_campaign_results", "fct_sales_funnel",
                 "dim_segments", "int_customer_months", "int_customers"):  # fmt: skip
        assert mart in tested_models, mart
    assert len(results) >= 19
