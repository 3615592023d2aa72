"""The dbt project as Dagster sees it. Kept apart from the assets module on purpose:

``dagster-dbt project prepare-and-package --file assets/dbt/project.py`` (run by ``make install``
and the Docker build) imports only this module to write ``dbt_project/target/manifest.json``;
the code location then reads that file and never parses the dbt project when it loads.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# What production runs: every model, seed and data test. dbt unit tests (fixed inputs, no
# warehouse data) belong to CI, where tests/assets/dbt/test_dbt_unit_tests.py runs them.
DBT_BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]
