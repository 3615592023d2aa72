"""Every dbt model and seed an asset, every dbt test an asset check (ERROR tests block downstream).

Reads the manifest that ``make install`` prepared (``assets/dbt/project.py``); importing this
module never parses the dbt project.
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import time
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from assets.dbt.environment import warehouse_environment
from assets.dbt.metadata import relation_facts, relation_metadata
from assets.dbt.project import DBT_BUILD_ARGS, dbt_project
from orchestration.resources import WarehouseResource

if not dbt_project.manifest_path.exists():
    raise FileNotFoundError(
        f"dbt manifest not found at {dbt_project.manifest_path}. Run `make install` (it runs "
        "`dagster-dbt project prepare-and-package --file assets/dbt/project.py`)."
    )


class CroDbtTranslator(DagsterDbtTranslator):
    """Groups follow the project's folders: staging, intermediate, marts; seeds are `reference`."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


class DbtBuildConfig(dg.Config):
    """Launchpad/CLI options of a dbt build."""

    full_refresh: bool = False  # rebuild incremental models from scratch (after a model change, or weekly)


def _relation(manifest: Mapping[str, Any], unique_id: str) -> tuple[str, str] | None:
    node = manifest["nodes"].get(unique_id)
    if node is None or node["resource_type"] not in ("model", "seed"):
        return None
    return node["schema"], node.get("alias") or node["name"]


# Models that read what Python assets write (the projected DRE reads the forecasts): a dbt
# definition of their own, downstream of those assets, so the graph has no cycle and each run
# calls dbt twice at most.
AFTER_FORECASTS = "tag:after_forecasts"


def _build_dbt_assets(name: str, *, select: str = "fqn:*", exclude: str | None = None) -> dg.AssetsDefinition:
    """One ``@dbt_assets`` over the models ``select``/``exclude`` pick; the body is the same for all."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=CroDbtTranslator(),
        name=name,
        select=select,
        exclude=exclude,
    )
    def _models(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
    ) -> Iterator[dg.Output[Any] | dg.AssetCheckResult | dg.AssetMaterialization | dg.AssetCheckEvaluation]:
        started = time.perf_counter()
        with warehouse_environment(warehouse.url):
            args = [*DBT_BUILD_ARGS, "--full-refresh"] if config.full_refresh else DBT_BUILD_ARGS
            invocation = dbt.cli(args, context=context, raise_on_error=False)
            events = list(invocation.stream())
        relation_of = {
            id(event): relation
            for event in events
            if isinstance(event, dg.Output)
            and (unique_id := event.metadata.get("unique_id")) is not None
            and (relation := _relation(invocation.manifest, str(unique_id.value))) is not None
        }
        facts = relation_facts(warehouse.get(), set(relation_of.values()))
        for event in events:
            if (found := facts.get(relation_of.get(id(event), ("", "")))) is not None:
                event = event.with_metadata({**event.metadata, **relation_metadata(found)})
            yield event
        context.log.info(f"dbt build finished in {time.perf_counter() - started:.1f} s")
        if not invocation.is_successful():
            raise dg.Failure(
                description="dbt build failed: see the failed models and checks above (run_results.json in "
                f"{invocation.target_path}).",
                allow_retries=False,
            )

    return _models


dbt_models = _build_dbt_assets("dbt_models", exclude=AFTER_FORECASTS)
dbt_projections = _build_dbt_assets("dbt_projections", select=AFTER_FORECASTS)
all_dbt_assets = [dbt_models, dbt_projections]
