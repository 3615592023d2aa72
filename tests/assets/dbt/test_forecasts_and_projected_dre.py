"""Forecast assets on the built marts, then the projected DRE downstream of them — on DuckDB and PostgreSQL.

The forecasts run through Dagster exactly as in production (the ``forecasting`` assets, then the
``dbt_projections`` dbt definition); the projected DRE is checked against an independent pandas
computation from the actuals' components, and the two databases against each other.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.forecasting.assets import COVERS_HORIZON, ForecastConfig, forecast_all, forecast_assets
from assets.forecasting.series import REVENUE
from orchestration.resources import ReportsResource, WarehouseResource
from tests.assets.dbt.conftest import BuiltWarehouse, forecasts_on

LOOKBACK_MONTHS = 6  # dbt_project.yml var projection_lookback_months
DAS_RATE = 0.06  # tax_regimes seed, simples_nacional


def frame(built: BuiltWarehouse, sql: str) -> pd.DataFrame:
    return pd.DataFrame(built.rows(sql))


def test_forecasts_and_projection_materialize_with_plots_and_checks(
    built: BuiltWarehouse, projected: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    result, reports = projected
    assert result.success
    checks = {(str(c.asset_key.to_user_string()), c.check_name): c for c in result.get_asset_check_evaluations()}
    for spec in ("revenue", "customers", "daily_revenue"):
        assert checks[(f"forecasts/{spec}", COVERS_HORIZON)].passed
    projected_checks = [c for (asset, _), c in checks.items() if asset == "marts/fct_dre_projected"]
    assert len(projected_checks) >= 15 and all(c.passed for c in projected_checks)
    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    revenue = materialized["forecasts/revenue"]
    assert revenue["dagster/row_count"].value == 3 * 6
    assert "data:image/png;base64," in revenue["plot"].value
    assert "| receita_bruta |" in revenue["backtest"].value
    for series in ("receita_bruta", "receita_liquida", "mrr"):
        assert (reports / "forecasts" / "revenue" / f"{series}.png").read_bytes().startswith(b"\x89PNG")
    report = (reports / "forecasts" / "customers" / "README.md").read_text()
    assert "## new_customers:google_ads" in report and "Published model" in report
    assert materialized["marts/fct_dre_projected"]["dagster/row_count"].value == 3 * 6 * 15


def test_forecast_tables_cover_the_horizon_after_the_last_complete_month(
    built: BuiltWarehouse, projected: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    last = frame(built, "select max(month) as m from marts.fct_mrr_monthly where is_complete")["m"][0]
    expected_months = list(pd.date_range(pd.Timestamp(last), periods=7, freq="MS")[1:])
    forecasts = frame(built, "select * from forecasts.revenue")
    for series, rows in forecasts.groupby("series"):
        assert sorted(pd.to_datetime(rows["ds"])) == expected_months, series
        assert (rows["yhat_lower"] <= rows["yhat"] + 1e-9).all() and (rows["yhat"] <= rows["yhat_upper"] + 1e-9).all()
    backtest = frame(built, "select * from forecasts.revenue_backtest")
    chosen = backtest[backtest["chosen"]].set_index("series")["model"].to_dict()
    published = forecasts.groupby("series")["model"].first().to_dict()
    assert chosen == published  # one chosen model per series, and it is the one published
    assert set(backtest["model"]) == {"prophet", "seasonal_naive", "drift"}  # 24 months: every candidate scored
    customers = frame(built, "select series, count(*) as n from forecasts.customers group by series")
    assert {"active_subscriptions", "churned_customers", "new_customers", "new_customers:google_ads"} <= set(
        customers["series"]
    )
    assert (customers["n"] == 6).all()
    daily = frame(built, "select min(ds) as first_day, count(*) as n from forecasts.daily_revenue")
    last_actual = pd.Timestamp(daily["first_day"][0]) - pd.Timedelta(days=1)
    assert daily["n"][0] == (last_actual + pd.DateOffset(months=6) - last_actual).days  # every day of 6 months


def test_projected_dre_follows_the_forecast_and_the_margins_of_the_actuals(
    built: BuiltWarehouse, projected: tuple[dg.ExecuteInProcessResult, Path]
) -> None:
    dre = frame(built, "select scenario, month, months_ahead, line_key, amount_brl from marts.fct_dre_projected")
    dre["amount_brl"] = dre["amount_brl"].astype(float)
    wide = dre.pivot_table(index=["scenario", "month"], columns="line_key", values="amount_brl").reset_index()
    forecast = frame(
        built, "select ds, yhat, yhat_lower, yhat_upper from forecasts.revenue where series = 'receita_bruta'"
    )
    forecast = forecast.assign(month=pd.to_datetime(forecast["ds"])).set_index("month")
    wide["month"] = pd.to_datetime(wide["month"])

    # the actuals' components over the lookback months, computed here independently
    months = frame(built, "select month from intermediate.int_reporting_months where is_complete order by month desc")
    lookback = set(pd.to_datetime(months["month"]).head(LOOKBACK_MONTHS))
    lines = frame(built, "select month, line_key, component_source, amount_brl from intermediate.int_dre_lines_monthly")
    lines = lines[pd.to_datetime(lines["month"]).isin(lookback) & (lines["component_source"] != "taxes")]
    totals = lines.assign(amount_brl=lines["amount_brl"].astype(float)).groupby("line_key")["amount_brl"].sum()
    gross = totals["receita_bruta"]

    base = wide[wide["scenario"] == "base"].set_index("month")
    for month, row in base.iterrows():
        rb = forecast.loc[month, "yhat"]
        assert row["receita_bruta"] == pytest.approx(rb, abs=0.006)
        assert row["cmv"] == pytest.approx(totals["cmv"] / gross * row["receita_bruta"], abs=0.02)
        assert row["despesas_administrativas"] == pytest.approx(
            totals["despesas_administrativas"] / LOOKBACK_MONTHS, abs=0.02
        )
        non_tax = totals["deducoes"] / gross * row["receita_bruta"]  # cancellations and discounts, signed negative
        das = -DAS_RATE * (row["receita_bruta"] + non_tax)
        assert row["deducoes"] == pytest.approx(non_tax + das, abs=0.02)
        assert row["receita_liquida"] == pytest.approx(row["receita_bruta"] + row["deducoes"], abs=0.005)
        assert row["ir_csll"] == 0  # Simples Nacional: inside the DAS
    by_scenario = wide.pivot_table(index="month", columns="scenario", values="receita_bruta")
    assert (by_scenario["conservative"] <= by_scenario["base"]).all()
    assert (by_scenario["base"] <= by_scenario["optimistic"]).all()


@pytest.mark.postgres
def test_forecasts_and_projection_agree_on_duckdb_and_postgresql(
    duckdb_built: BuiltWarehouse, postgres_built: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for built in (duckdb_built, postgres_built):
        forecasts_on(built, tmp_path_factory)
    sql = "select series, ds, model, yhat, yhat_lower, yhat_upper from forecasts.revenue order by series, ds"
    duck, pg = frame(duckdb_built, sql), frame(postgres_built, sql)
    assert list(duck["model"]) == list(pg["model"])
    for column in ("yhat", "yhat_lower", "yhat_upper"):
        assert list(pg[column].astype(float)) == pytest.approx(list(duck[column].astype(float)), rel=1e-4)
    sql = "select scenario, month, line_key, amount_brl from marts.fct_dre_projected order by scenario, month, line_key"
    duck, pg = frame(duckdb_built, sql), frame(postgres_built, sql)
    assert len(duck) == len(pg) == 3 * 6 * 15
    assert list(pg["amount_brl"].astype(float)) == pytest.approx(
        list(duck["amount_brl"].astype(float)), rel=1e-4, abs=0.05
    )


def receita_bruta_history(built: BuiltWarehouse) -> pd.DataFrame:
    rows = frame(
        built,
        "select month as ds, amount_brl as y from marts.fct_dre_monthly "
        "where is_complete and line_key = 'receita_bruta' order by month",
    )
    return rows.assign(ds=pd.to_datetime(rows["ds"]), y=rows["y"].astype(float))


def test_forecasts_are_reproducible(duckdb_built: BuiltWarehouse, tmp_path: Path) -> None:
    histories = {"receita_bruta": receita_bruta_history(duckdb_built)}
    first = forecast_all(REVENUE, histories, ForecastConfig(seed=3))[0].result
    second = forecast_all(REVENUE, histories, ForecastConfig(seed=3))[0].result
    assert first is not None and second is not None
    pd.testing.assert_frame_equal(first.forecast, second.forecast)


def test_a_series_too_short_to_forecast_is_skipped_with_its_reason() -> None:
    histories = {
        "two_points": pd.DataFrame({"ds": pd.to_datetime(["2026-01-01", "2026-02-01"]), "y": [1.0, 2.0]}),
        "empty": pd.DataFrame({"ds": pd.to_datetime([]), "y": []}),
    }
    outcomes = forecast_all(REVENUE, histories, ForecastConfig())
    assert [o.result for o in outcomes] == [None, None]
    assert "3" in (outcomes[0].skipped or "")  # the engine says how many points it needs
    assert outcomes[1].skipped == "no complete periods yet"


def test_forecasting_before_the_marts_exist_fails_with_what_to_do(tmp_path: Path) -> None:
    result = dg.materialize(
        [forecast_assets[0]],
        resources={
            "warehouse": WarehouseResource(url=f"duckdb:///{tmp_path / 'empty.duckdb'}"),
            "reports": ReportsResource(output_dir=str(tmp_path / "reports")),
        },
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)  # type: ignore[union-attr]
    assert "fct_dre_monthly" in message and "materialize the dbt models first" in message
