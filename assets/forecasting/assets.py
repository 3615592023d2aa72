"""Forecast assets (group ``forecasting``): thin wrappers around :func:`forecast_series`.

One asset per :class:`~assets.forecasting.series.ForecastSpec`: read its series from the marts,
forecast each (Prophet against the seasonal-naive and drift baselines, the backtest decides), and
write

* ``forecasts.<name>``: the published forecast, series × future period (dbt source of the
  projected DRE, so lineage is one graph);
* ``forecasts.<name>_backtest``: every candidate's backtest metrics per series, and which won;
* ``<reports>/forecasts/<name>/``: one PNG per series and a markdown report.

Two checks ride along: ``forecast_covers_horizon`` (ERROR: every series has its horizon, ordered
bounds) and ``prophet_not_beaten_by_baselines`` (WARN: METRICS.md says never to present a forecast
a naive method beats without saying so).
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
from dagster import AssetExecutionContext

from assets.forecasting.series import FORECASTS, ForecastSpec, read_series
from orchestration.resources import ReportsResource, WarehouseResource

if TYPE_CHECKING:  # pandas, NumPy and the engine load when an asset runs, not when the code location loads
    import pandas as pd

    from assets.forecasting.engine import ForecastResult

GROUP = "forecasting"
SCHEMA = "forecasts"
COVERS_HORIZON = "forecast_covers_horizon"
NOT_BEATEN = "prophet_not_beaten_by_baselines"


class ForecastConfig(dg.Config):
    """Launchpad options of a forecast run."""

    horizon_months: int = 6  # how far ahead; daily series forecast every day of these months
    seed: int = 0  # same data and seed give the same forecast
    backtest_cutoffs: int | None = None  # rolling origins of the backtest (default: up to 6)


@dataclass(frozen=True)
class SeriesOutcome:
    series: str
    history: "pd.DataFrame"
    result: "ForecastResult | None"
    skipped: str | None = None


def horizon_periods(freq: str, last: "pd.Timestamp", months: int) -> int:
    """Periods in ``months`` calendar months after ``last``: months itself, or the days they hold."""
    if freq == "MS":
        return months
    import pandas as pd

    return int((last + pd.DateOffset(months=months) - last).days)


def forecast_all(
    spec: ForecastSpec, histories: "dict[str, pd.DataFrame]", config: ForecastConfig
) -> list[SeriesOutcome]:
    """Forecast every series; one too short to forecast at all is skipped with its reason, not fatal."""
    from assets.forecasting.engine import forecast_series

    outcomes = []
    for series, history in histories.items():
        if history.empty:
            outcomes.append(SeriesOutcome(series, history, None, "no complete periods yet"))
            continue
        horizon = horizon_periods(spec.freq, history["ds"].iloc[-1], config.horizon_months)
        try:
            result = forecast_series(
                history, horizon, spec.freq, seed=config.seed, backtest_cutoffs=config.backtest_cutoffs
            )
        except ValueError as error:  # e.g. fewer than 3 periods: say so, forecast the others
            outcomes.append(SeriesOutcome(series, history, None, str(error)))
            continue
        outcomes.append(SeriesOutcome(series, history, result))
    return outcomes


def forecast_table(outcomes: list[SeriesOutcome]) -> "pd.DataFrame":
    import pandas as pd

    frames = [o.result.forecast.assign(series=o.series) for o in outcomes if o.result is not None]
    if not frames:
        return pd.DataFrame(columns=["series", "ds", "yhat", "yhat_lower", "yhat_upper", "model"])
    table = pd.concat(frames, ignore_index=True)
    table["ds"] = pd.to_datetime(table["ds"]).dt.date
    return table[["series", "ds", "yhat", "yhat_lower", "yhat_upper", "model"]]


def backtest_table(outcomes: list[SeriesOutcome]) -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for o in outcomes:
        if o.result is None:
            continue
        metrics = o.result.backtest.metrics
        for record in metrics.to_dict("records"):
            rows.append(
                {
                    "series": o.series,
                    "model": record["model"],
                    "chosen": record["model"] == o.result.model,
                    **{k: float(record[k]) for k in ("mape", "smape", "mase", "coverage")},
                    "n_cutoffs": int(record["n_cutoffs"]),
                    "horizon": int(record["horizon"]),
                }
            )
    columns = ["series", "model", "chosen", "mape", "smape", "mase", "coverage", "n_cutoffs", "horizon"]
    return pd.DataFrame(rows, columns=columns)


def _file_name(series: str) -> str:
    return series.replace(":", "__")


def summary_markdown(spec: ForecastSpec, outcomes: list[SeriesOutcome]) -> str:
    """The report: per series the published model, its backtest table, the notes and the forecast."""
    lines = [f"# {spec.title} forecast", "", spec.description, ""]
    for o in outcomes:
        lines.append(f"## {o.series}")
        if o.result is None:
            lines += ["", f"_Not forecast: {o.skipped}._", ""]
            continue
        r = o.result
        lines += ["", f"Published model: **{r.model}**.", "", r.backtest.to_markdown(), ""]
        lines += [f"- {note}" for note in r.notes]
        lines += ["", f"![{o.series}]({_file_name(o.series)}.png)", "", "| month | forecast | 80% interval |"]
        lines.append("|---|---:|---|")
        for row in r.forecast.itertuples(index=False):
            lines.append(f"| {row.ds:%Y-%m-%d} | {row.yhat:,.2f} | {row.yhat_lower:,.2f} – {row.yhat_upper:,.2f} |")
        lines.append("")
    return "\n".join(lines)


def overview_markdown(outcomes: list[SeriesOutcome]) -> str:
    lines = [
        "| series | published model | MASE | Prophet MASE | interval coverage | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for o in outcomes:
        if o.result is None:
            lines.append(f"| {o.series} | — | | | | not forecast: {o.skipped} |")
            continue
        r = o.result
        report = r.backtest
        beaten = "a baseline beat Prophet" if r.baseline_beats_prophet else ""
        lines.append(
            f"| {o.series} | {r.model} | {report.metric(r.model, 'mase'):.3f} | "
            f"{report.metric('prophet', 'mase'):.3f} | {report.metric(r.model, 'coverage'):.2f} | {beaten} |"
        )
    return "\n".join(lines)


def _write_reports(reports: ReportsResource, spec: ForecastSpec, outcomes: list[SeriesOutcome]) -> dict[str, bytes]:
    from assets.forecasting.plots import plot_forecast

    images: dict[str, bytes] = {}
    for o in outcomes:
        if o.result is None:
            continue
        png = plot_forecast(o.history, o.result, f"{spec.title}: {o.series}")
        reports.path("forecasts", spec.name, f"{_file_name(o.series)}.png").write_bytes(png)
        images[o.series] = png
    reports.path("forecasts", spec.name, "README.md").write_text(summary_markdown(spec, outcomes), encoding="utf-8")
    return images


def _checks(spec: ForecastSpec, outcomes: list[SeriesOutcome], horizon_months: int) -> list[dg.AssetCheckResult]:
    key = dg.AssetKey([SCHEMA, spec.name])
    forecast_rows = {o.series: o.result.forecast for o in outcomes if o.result is not None}
    short = [
        o.series
        for o in outcomes
        if o.result is not None
        and len(o.result.forecast) != horizon_periods(spec.freq, o.history["ds"].iloc[-1], horizon_months)
    ]
    unordered = [
        series
        for series, frame in forecast_rows.items()
        if not ((frame["yhat_lower"] <= frame["yhat"] + 1e-9) & (frame["yhat"] <= frame["yhat_upper"] + 1e-9)).all()
    ]
    beaten = {o.series: o.result.model for o in outcomes if o.result is not None and o.result.baseline_beats_prophet}
    return [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=COVERS_HORIZON,
            passed=bool(forecast_rows) and not short and not unordered,
            metadata={
                "series_forecast": len(forecast_rows),
                "series_short_of_horizon": dg.MetadataValue.json(short),
                "series_with_unordered_bounds": dg.MetadataValue.json(unordered),
            },
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=NOT_BEATEN,
            passed=not beaten,
            severity=dg.AssetCheckSeverity.WARN,
            description="A baseline beat Prophet on the backtest: the published forecast uses it." if beaten else None,
            metadata={"published_baselines": dg.MetadataValue.json(beaten)},
        ),
    ]


def build_forecast_asset(spec: ForecastSpec) -> dg.AssetsDefinition:
    key = dg.AssetKey([SCHEMA, spec.name])

    @dg.asset(
        key=key,
        group_name=GROUP,
        deps=[dg.AssetKey(["marts", mart]) for mart in spec.marts],
        kinds={"python", "prophet"},
        description=spec.description,
        metadata={"table": f"{SCHEMA}.{spec.name}", "backtest_table": f"{SCHEMA}.{spec.name}_backtest"},
        check_specs=[
            dg.AssetCheckSpec(
                COVERS_HORIZON,
                asset=key,
                description="Every series has a forecast for each period of the horizon, lower ≤ forecast ≤ upper.",
            ),
            dg.AssetCheckSpec(
                NOT_BEATEN,
                asset=key,
                description="WARN when a seasonal-naive or drift baseline beat Prophet on the rolling-origin backtest "
                "(the published forecast then uses the baseline).",
            ),
        ],
    )
    def _forecast(
        context: AssetExecutionContext, config: ForecastConfig, warehouse: WarehouseResource, reports: ReportsResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        import pyarrow as pa

        started = time.perf_counter()
        store = warehouse.get()
        missing = [mart for mart in spec.marts if not store.table_exists("marts", mart)]
        if missing:
            raise dg.Failure(
                description=f"marts {', '.join(missing)} not found in the warehouse: materialize the dbt models first "
                "(`cro materialize '*'`, or select them with this asset in the UI).",
                allow_retries=False,
            )
        histories = read_series(store, spec)
        if not histories:
            raise dg.Failure(
                description=f"No complete periods to forecast in marts {', '.join(spec.marts)}: load data and "
                "materialize the dbt models first (`cro materialize '*'`).",
                allow_retries=False,
            )
        outcomes = forecast_all(spec, histories, config)
        if all(o.result is None for o in outcomes):
            reasons = "; ".join(f"{o.series}: {o.skipped}" for o in outcomes)
            raise dg.Failure(description=f"No series could be forecast ({reasons}).", allow_retries=False)
        for o in outcomes:
            if o.result is None:
                context.log.warning(f"{o.series} not forecast: {o.skipped}")
            else:
                context.log.info(f"{o.series}: published {o.result.model}")

        forecasts, backtests = forecast_table(outcomes), backtest_table(outcomes)
        with store.session():
            store.merge(
                SCHEMA,
                spec.name,
                pa.Table.from_pandas(forecasts, preserve_index=False),
                ["series", "ds"],
                replace_all=True,
            )
            if not backtests.empty:
                store.merge(
                    SCHEMA,
                    f"{spec.name}_backtest",
                    pa.Table.from_pandas(backtests, preserve_index=False),
                    ["series", "model"],
                    replace_all=True,
                )
        images = _write_reports(reports, spec, outcomes)
        headline = spec.headline if spec.headline in images else next(iter(images))
        plot = base64.b64encode(images[headline]).decode("ascii")
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(forecasts),
                "series": len(histories),
                "series_forecast": sum(o.result is not None for o in outcomes),
                "published_models": dg.MetadataValue.json(
                    {o.series: o.result.model for o in outcomes if o.result is not None}
                ),
                "backtest": dg.MetadataValue.md(overview_markdown(outcomes)),
                "plot": dg.MetadataValue.md(f"**{headline}**\n\n![{headline}](data:image/png;base64,{plot})"),
                "report": dg.MetadataValue.path(str(reports.path("forecasts", spec.name, "README.md"))),
                "horizon_months": config.horizon_months,
                "duration_s": round(time.perf_counter() - started, 3),
            }
        )
        yield from _checks(spec, outcomes, config.horizon_months)

    return _forecast


forecast_assets = [build_forecast_asset(spec) for spec in FORECASTS]
