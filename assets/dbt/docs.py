"""The dbt docs site (lineage, column docs, the catalog of the real warehouse) as an asset."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.dbt.environment import warehouse_environment
from assets.dbt.models import all_dbt_assets
from orchestration.resources import DbtDocsResource, WarehouseResource

SITE_FILES = ("index.html", "manifest.json", "catalog.json")


def generate_docs(dbt: DbtCliResource, warehouse_url: str, output_dir: Path) -> Path:
    """Run ``dbt docs generate`` against the warehouse and keep the three files the site needs."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with warehouse_environment(warehouse_url):
        invocation = dbt.cli(["docs", "generate"], target_path=output_dir / "build", raise_on_error=False).wait()
    if not invocation.is_successful():
        raise RuntimeError(f"dbt docs generate failed; its log is in {output_dir / 'build'}")
    for name in SITE_FILES:
        shutil.copyfile(output_dir / "build" / name, output_dir / name)
    return output_dir / "index.html"


@dg.asset(
    key=["dbt_docs"],
    group_name="docs",
    kinds={"dbt"},
    deps=[key for definition in all_dbt_assets for key in definition.keys],
    description="The dbt docs site: model lineage and column docs, with the warehouse's catalog. `cro docs` serves it.",
)
def dbt_docs(dbt: DbtCliResource, warehouse: WarehouseResource, dbt_docs: DbtDocsResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    index = generate_docs(dbt, warehouse.url, Path(dbt_docs.output_dir))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(index)),
            "size_kb": round(sum((index.parent / n).stat().st_size for n in SITE_FILES) / 1024, 1),
            "duration_s": round(time.perf_counter() - started, 3),
        }
    )
