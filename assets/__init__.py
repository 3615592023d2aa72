"""Dagster asset definitions, grouped by layer (ingestion, dbt, forecasting, agents, quality)."""

from __future__ import annotations

import dagster as dg


def all_assets() -> list[dg.AssetsDefinition]:
    """Every asset of the project, in one list, so Definitions and tests agree on the graph."""
    from assets.agents.assets import agent_assets
    from assets.dbt.docs import dbt_docs
    from assets.dbt.models import all_dbt_assets
    from assets.forecasting.assets import forecast_assets
    from assets.ingestion.hubspot import hubspot_assets
    from assets.ingestion.sheets import sheet_assets
    from assets.ingestion.whatsapp import whatsapp_events

    return [*hubspot_assets, *sheet_assets, whatsapp_events, *all_dbt_assets, *forecast_assets, *agent_assets, dbt_docs]


def all_asset_checks() -> list[dg.AssetChecksDefinition]:
    from assets.quality.checks import quality_checks

    return [*quality_checks]
