"""Every column analysts can query is documented, and only columns that exist are.

The dbt docs site is what analysts read: every column of every staging, intermediate and mart
relation of a real build (the ``duckdb_built`` warehouse) must have a non-empty description in the
dbt manifest, and no model may document a column its relation does not have (a renamed or dropped
column leaves a stale entry behind).

The manifest is parsed fresh from the project as it is now (``dbt parse``, the environment
``make install`` derives with ``orchestration.dbt_env``), into a temporary target: the docs site's
``dbt docs generate`` parses fresh too, and a stale ``dbt_project/target/manifest.json`` (or one
another process is rewriting) must not decide the result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assets.dbt.project import DBT_PROJECT_DIR
from orchestration.dbt_env import dbt_environment
from tests.assets.dbt.conftest import BuiltWarehouse

SCHEMAS = ("staging", "intermediate", "marts")
# Built by the `dbt_projections` assets after the forecasts, not by `dbt_models`: it may be absent.
MAY_BE_ABSENT = frozenset({"fct_dre_projected"})
DBT = str(Path(sys.executable).parent / "dbt")


@dataclass(frozen=True)
class ParsedProject:
    manifest: dict[str, Any]
    warnings: list[str]


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> ParsedProject:
    target = tmp_path_factory.mktemp("dbt_parse")
    env = os.environ | dbt_environment(f"duckdb:///{target / 'parse.duckdb'}")
    args = ["--log-format", "json", "--no-use-colors", "parse", "--no-partial-parse"]
    paths = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    done = subprocess.run(
        [DBT, *args, *paths, "--target-path", str(target), "--log-path", str(target)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    warnings = []
    for line in done.stdout.splitlines():
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError, TypeError):
            continue
        if info.get("level") in ("warn", "error"):
            warnings.append(f"{info.get('name')}: {info.get('msg')}")
    return ParsedProject(json.loads((target / "manifest.json").read_text()), warnings)


def documented_columns(manifest: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, relation) → {column: description} of every model in the checked schemas."""
    models = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] in SCHEMAS:
            relation = (node["schema"], (node.get("alias") or node["name"]).lower())
            models[relation] = {
                name.lower(): (column.get("description") or "").strip() for name, column in node["columns"].items()
            }
    return models


def warehouse_columns(built: BuiltWarehouse) -> dict[tuple[str, str], list[str]]:
    """(schema, relation) → its columns in order, for every table and view of the checked schemas."""
    schemas = ", ".join(f"'{schema}'" for schema in SCHEMAS)
    rows = built.rows(
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_schema in ({schemas}) order by table_schema, table_name, ordinal_position"
    )
    relations: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        relations.setdefault((row["table_schema"], row["table_name"].lower()), []).append(row["column_name"].lower())
    return relations


def test_every_column_is_documented_and_every_documented_column_exists(
    duckdb_built: BuiltWarehouse, parsed: ParsedProject
) -> None:
    actual = warehouse_columns(duckdb_built)
    documented = documented_columns(parsed.manifest)
    assert actual, "the built warehouse has no staging/intermediate/marts relation"

    undocumented = [
        f"{schema}.{relation}.{column}"
        for (schema, relation), columns in sorted(actual.items())
        for column in columns
        if not documented.get((schema, relation), {}).get(column)
    ]
    nonexistent = [
        f"{schema}.{relation}.{column}"
        for (schema, relation), columns in sorted(documented.items())
        if (schema, relation) in actual
        for column in sorted(columns)
        if column not in actual[(schema, relation)]
    ]
    no_model = sorted(f"{schema}.{relation}" for schema, relation in actual.keys() - documented.keys())
    not_built = sorted(
        f"{schema}.{relation}"
        for schema, relation in documented.keys() - actual.keys()
        if relation not in MAY_BE_ABSENT
    )

    problems = []
    if undocumented:
        problems.append(
            f"{len(undocumented)} column(s) without a description in the model yml:\n  " + "\n  ".join(undocumented)
        )
    if nonexistent:
        problems.append(
            f"{len(nonexistent)} documented column(s) that the relation does not have:\n  " + "\n  ".join(nonexistent)
        )
    if no_model:
        problems.append("relation(s) no dbt model describes:\n  " + "\n  ".join(no_model))
    if not_built:
        problems.append("model(s) missing from the built warehouse:\n  " + "\n  ".join(not_built))
    assert not problems, "\n".join(problems)


def test_dbt_parse_has_no_warnings(parsed: ParsedProject) -> None:
    # e.g. NoNodeForYamlKey: a yml entry for a model that does not exist documents nothing
    assert not parsed.warnings, "\n".join(parsed.warnings)
