"""A clean +Pet world, ingested and built by dbt for real — once per module and database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.dbt.models import dbt_models, dbt_projections
from assets.forecasting.assets import forecast_assets
from assets.ingestion.hubspot import hubspot_assets
from assets.ingestion.sheets import sheet_assets
from assets.ingestion.whatsapp import whatsapp_events
from integrations.demo_world import WorldConfig, generate_world
from orchestration.resources import (
    HubSpotResource,
    ReportsResource,
    SheetsResource,
    WarehouseResource,
    WhatsAppResource,
    dbt_cli_resource,
)
from orchestration.warehouse import Warehouse
from tests.postgres_server import PostgresServer

# bad_share=0: every aggregate of the ground truth is exactly recoverable
CLEAN_WORLD = WorldConfig(customers=3000, months=24, end_month="2026-10", seed=11, bad_share=0.0, faults=frozenset())


@dataclass(frozen=True)
class BuiltWarehouse:
    url: str
    world: Path
    result: dg.ExecuteInProcessResult

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.url)

    @property
    def truth(self) -> dict[str, Any]:
        return json.loads((self.world / "ground_truth.json").read_text())

    def rows(self, sql: str) -> list[dict[str, Any]]:
        with self.warehouse.connect() as con:
            cur = con.cursor()
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def build(world: Path, warehouse_url: str) -> dg.ExecuteInProcessResult:
    """Ingest the world and run `dbt build` through the Dagster assets, as production does."""
    return dg.materialize(
        [*hubspot_assets, *sheet_assets, whatsapp_events, dbt_models],
        resources={
            "warehouse": WarehouseResource(url=warehouse_url),
            "hubspot": HubSpotResource(demo_dir=str(world)),
            "sheets": SheetsResource(csv_dir=str(world / "sheets")),
            "whatsapp": WhatsAppResource(landing_dir=str(world / "whatsapp" / "webhooks")),
            "dbt": dbt_cli_resource(),
        },
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean_world")
    generate_world(CLEAN_WORLD, out_dir=root)
    return root


@pytest.fixture(scope="session")
def duckdb_built(clean_world: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    url = f"duckdb:///{tmp_path_factory.mktemp('duck') / 'warehouse.duckdb'}"
    return BuiltWarehouse(url, clean_world, build(clean_world, url))


@pytest.fixture(scope="session")
def postgres_built(clean_world: Path, postgres_server: PostgresServer) -> BuiltWarehouse:
    url = postgres_server.create_database("metrics_clean_world")
    return BuiltWarehouse(url, clean_world, build(clean_world, url))


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest) -> BuiltWarehouse:
    """The same assertions against the DuckDB and the PostgreSQL build."""
    return request.getfixturevalue(f"{request.param}_built")


Forecasted = tuple[dg.ExecuteInProcessResult, Path]
_FORECASTS: dict[str, Forecasted] = {}


def forecasts_on(built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Forecasted:
    """The forecast assets and the projected DRE (dbt) on a built warehouse, once per database."""
    if built.url not in _FORECASTS:
        reports = tmp_path_factory.mktemp("reports")
        result = dg.materialize(
            [*forecast_assets, dbt_projections],
            resources={
                "warehouse": WarehouseResource(url=built.url),
                "reports": ReportsResource(output_dir=str(reports)),
                "dbt": dbt_cli_resource(),
            },
            raise_on_error=False,
        )
        _FORECASTS[built.url] = (result, reports)
    return _FORECASTS[built.url]


@pytest.fixture
def projected(built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Forecasted:
    """Forecasts + projected DRE on the built warehouse (DuckDB and PostgreSQL)."""
    return forecasts_on(built, tmp_path_factory)
