"""forecast_series end to end on synthetic series with known truth (Prophet runs for real).

Every series comes from a fixed RNG seed; expensive results are shared through module fixtures so
the whole file stays in the tens of seconds on a 2-core machine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.forecasting import metrics
from assets.forecasting.engine import (
    ForecastResult,
    black_friday,
    brazil_holidays,
    forecast_series,
    plot_forecast,
    scenario_paths,
)

# Month-of-year factors within ±15% (December peak, January trough): a typical retail shape.
FACTORS = np.array([0.85, 0.90, 1.00, 0.97, 1.02, 0.95, 0.93, 1.00, 1.03, 1.05, 1.12, 1.15])
TRAIN_MONTHS = 48
HORIZON = 6
COVERAGE_SEEDS = range(6)


def monthly_truth(seed: int, n: int = TRAIN_MONTHS + HORIZON) -> tuple[pd.DataFrame, np.ndarray]:
    """Level 100k growing 2%/month x multiplicative seasonality, 2% noise; returns (observed, truth)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    truth = 100_000 * 1.02**t * (FACTORS / FACTORS.mean())[t % 12]
    observed = truth * (1 + rng.normal(0, 0.02, n))
    ds = pd.date_range("2021-01-01", periods=n, freq="MS")
    return pd.DataFrame({"ds": ds, "y": observed}), truth


@pytest.fixture(scope="module")
def multiplicative_runs() -> list[tuple[pd.DataFrame, np.ndarray, ForecastResult]]:
    runs = []
    for seed in COVERAGE_SEEDS:
        frame, truth = monthly_truth(seed)
        runs.append((frame, truth, forecast_series(frame.iloc[:TRAIN_MONTHS], horizon=HORIZON, seed=0)))
    return runs


def test_recovers_trend_and_multiplicative_seasonality(multiplicative_runs) -> None:
    for frame, truth, result in multiplicative_runs:
        forecast = result.forecast
        assert list(forecast.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper", "model"]
        pd.testing.assert_series_equal(
            forecast["ds"], frame["ds"].iloc[TRAIN_MONTHS:].reset_index(drop=True), check_names=False
        )
        assert metrics.mape(truth[TRAIN_MONTHS:], forecast["yhat"]) < 8.0
        assert result.model != "drift"
        assert result.seasonality_mode == "multiplicative"
        assert result.season_length == 12
        assert (forecast["yhat_lower"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["yhat_upper"]).all()
        assert set(result.candidates) == {"prophet", "seasonal_naive", "drift"}


def test_intervals_cover_roughly_their_nominal_share(multiplicative_runs) -> None:
    inside = []
    for frame, _, result in multiplicative_runs:
        actual = frame["y"].to_numpy()[TRAIN_MONTHS:]
        forecast = result.forecast
        inside.extend((actual >= forecast["yhat_lower"]) & (actual <= forecast["yhat_upper"]))
    pooled = float(np.mean(inside))
    assert 0.55 <= pooled <= 0.98, pooled


def test_backtest_report_is_consistent_with_its_own_predictions(multiplicative_runs) -> None:
    frame, _, result = multiplicative_runs[0]
    report = result.backtest
    history = frame.iloc[:TRAIN_MONTHS]
    assert len(report.cutoffs) == 6 and report.horizon == HORIZON
    assert report.cutoffs[-1] == history["ds"].iloc[-1 - HORIZON]  # last window ends with the history
    assert set(report.metrics["model"]) == {"prophet", "seasonal_naive", "drift"}
    predictions = report.predictions
    assert list(predictions.columns) == ["cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper", "model"]
    for _, part in predictions.groupby("model"):
        assert tuple(sorted(part["cutoff"].unique())) == report.cutoffs  # the same cutoffs for every model
        assert len(part) == 6 * HORIZON
    # Seasonal naive predictions are last year's actuals; MASE recomputed independently per cutoff.
    naive = predictions[predictions["model"] == "seasonal_naive"].merge(
        history.assign(ds=history["ds"] + pd.DateOffset(years=1)).rename(columns={"y": "last_year"}), on="ds"
    )
    np.testing.assert_allclose(naive["yhat"], naive["last_year"])
    per_cutoff = []
    for cutoff, part in naive.groupby("cutoff"):
        train = history.loc[history["ds"] <= cutoff, "y"].to_numpy()
        scale = np.mean(np.abs(train[12:] - train[:-12]))
        per_cutoff.append(np.mean(np.abs(part["y"] - part["yhat"])) / scale)
    assert report.metric("seasonal_naive", "mase") == pytest.approx(np.mean(per_cutoff))
    markdown = report.to_markdown()
    assert markdown.count("\n") == 4 and "| prophet |" in markdown and "MASE" in markdown


def test_seasonal_naive_wins_on_an_exactly_repeating_pattern() -> None:
    rng = np.random.default_rng(11)
    pattern = np.array([80, 90, 120, 100, 95, 105, 110, 130, 90, 85, 100, 150], dtype=float) * 1000
    y = np.tile(pattern, 4) + rng.normal(0, 20, 48)
    result = forecast_series(pd.DataFrame({"ds": pd.date_range("2021-01-01", periods=48, freq="MS"), "y": y}))
    assert result.baseline_beats_prophet
    assert result.model != "prophet"
    assert any("beat Prophet" in note for note in result.notes)
    assert result.backtest.metric(result.model, "mase") < result.backtest.metric("prophet", "mase")
    np.testing.assert_allclose(result.forecast["yhat"], pattern[:HORIZON], rtol=0.01)


def test_prophet_wins_on_a_strong_trend() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(48)
    y = 50_000 + 3_000 * t + 5_000 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1_500, 48)
    result = forecast_series(pd.DataFrame({"ds": pd.date_range("2021-01-01", periods=48, freq="MS"), "y": y}))
    assert result.model == "prophet"
    assert not result.baseline_beats_prophet
    assert result.backtest.metric("prophet", "mase") < result.backtest.metric("seasonal_naive", "mase")
    assert any("publishing Prophet" in note for note in result.notes)


def daily_series(end: str = "2025-11-10", days: int = 730) -> pd.DataFrame:
    """Two years of daily revenue: weekly pattern, slow growth, Black Friday weekend spike."""
    rng = np.random.default_rng(3)
    ds = pd.date_range(end=end, periods=days, freq="D")
    weekly = np.array([1.0, 1.05, 1.1, 1.1, 1.2, 0.8, 0.7])[ds.dayofweek]
    y = 5_000 * (1 + 0.0005 * np.arange(days)) * weekly * (1 + rng.normal(0, 0.05, days))
    for year in sorted(set(ds.year)):
        friday = pd.Timestamp(black_friday(year))
        for offset, lift in enumerate([3.0, 1.8, 1.5, 1.6]):
            y[ds == friday + pd.Timedelta(days=offset)] *= lift
    return pd.DataFrame({"ds": ds, "y": y})


def test_daily_series_with_weekly_pattern_and_black_friday() -> None:
    history = daily_series()
    result = forecast_series(history, horizon=30, freq="D")
    expected_days = pd.date_range("2025-11-11", periods=30, freq="D")
    assert result.season_length == 7
    for frame in [result.forecast, *result.candidates.values()]:
        assert len(frame) == 30
        assert list(frame["ds"]) == list(expected_days)
    assert result.backtest.available and result.backtest.horizon == 30
    prophet = result.candidates["prophet"].set_index("ds")["yhat"]
    # The holiday regressor carries last year's spike onto 2025-11-28; the weekly shape shows too.
    assert prophet[pd.Timestamp("2025-11-28")] > 1.8 * prophet.median()
    weekdays = prophet[prophet.index.dayofweek < 5].median()
    sundays = prophet[(prophet.index.dayofweek == 6) & (prophet.index < pd.Timestamp("2025-11-27"))]
    assert (sundays < 0.8 * weekdays).all()
    assert result.backtest.metric("prophet", "mase") < result.backtest.metric("drift", "mase")
    holidays = brazil_holidays(2023, 2025)
    assert pd.Timestamp("2025-12-25") in set(holidays["ds"])


def test_short_history_skips_seasonality_and_seasonal_naive() -> None:
    rng = np.random.default_rng(2)
    y = 1_000 + 30 * np.arange(14) + rng.normal(0, 10, 14)
    result = forecast_series(pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=14, freq="MS"), "y": y}))
    assert set(result.candidates) == {"prophet", "drift"}
    assert result.model in {"prophet", "drift"}
    assert any("Only 14 months" in note and "seasonal naive" in note for note in result.notes)
    assert result.backtest.available and "seasonal_naive" not in set(result.backtest.metrics["model"])
    assert len(result.forecast) == HORIZON and result.forecast["yhat"].iloc[-1] > y[-1]


def test_very_short_history_uses_drift_without_a_backtest() -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=4, freq="MS"), "y": [10.0, 12.0, 13.0, 15.0]})
    result = forecast_series(frame, horizon=3)
    assert result.model == "drift" and list(result.candidates) == ["drift"]
    np.testing.assert_allclose(result.forecast["yhat"], [15 + 5 / 3 * h for h in (1, 2, 3)])
    assert not result.backtest.available and "4 months" in (result.backtest.reason or "")
    assert result.backtest.to_markdown().startswith("_No backtest")
    assert any("Only 4 months" in note for note in result.notes)
    assert not result.baseline_beats_prophet and result.seasonality_mode is None


def test_constant_series_forecasts_the_constant() -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2022-01-01", periods=30, freq="MS"), "y": 250.0})
    result = forecast_series(frame)
    for forecast in result.candidates.values():
        np.testing.assert_allclose(forecast["yhat"], 250.0, rtol=1e-9)
        assert ((forecast["yhat_upper"] - forecast["yhat_lower"]) < 1e-4).all()  # degenerate or tiny
    assert any("constant" in note for note in result.notes)
    assert result.selection_metric == "smape"  # MASE has a zero scale on a flat series


def test_forecasts_are_clipped_at_zero_unless_told_otherwise() -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=4, freq="MS"), "y": [30.0, 20.0, 10.0, 5.0]})
    clipped = forecast_series(frame, horizon=4).forecast
    assert (clipped[["yhat", "yhat_lower", "yhat_upper"]] >= 0).all().all()
    assert (clipped["yhat"].iloc[-2:] == 0).all()
    free = forecast_series(frame, horizon=4, nonnegative=False).forecast
    assert (free["yhat"] < 0).any()
    with pytest.raises(ValueError, match="negative"):
        forecast_series(frame.assign(y=[3.0, -1.0, 2.0, 4.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"freq": "W"}, "unsupported freq"),
        ({"horizon": 0}, "horizon"),
        ({"interval_width": 1.5}, "interval_width"),
        ({"backtest_cutoffs": -1}, "backtest_cutoffs"),
        ({"holidays": pd.DataFrame({"name": ["x"]})}, "holidays"),
    ],
)
def test_invalid_arguments(kwargs: dict, message: str) -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=4, freq="MS"), "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match=message):
        forecast_series(frame, **kwargs)


def test_invalid_history() -> None:
    good = pd.DataFrame({"ds": pd.date_range("2025-01-01", periods=4, freq="MS"), "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="missing column"):
        forecast_series(good.rename(columns={"y": "revenue"}))
    with pytest.raises(ValueError, match="duplicate"):
        forecast_series(pd.concat([good, good.iloc[[1]]]))
    with pytest.raises(ValueError, match="NaN"):
        forecast_series(good.assign(y=[1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(ValueError, match="at least 3"):
        forecast_series(good.iloc[:2])


def test_same_seed_same_output_and_global_rng_untouched() -> None:
    frame, _ = monthly_truth(42, n=36)
    np.random.seed(123)  # whatever the caller's global RNG holds must not matter...
    before = np.random.get_state()[1].copy()
    first = forecast_series(frame, seed=7)
    assert np.array_equal(np.random.get_state()[1], before)  # ...and is left as it was
    np.random.seed(456)
    second = forecast_series(frame, seed=7)
    pd.testing.assert_frame_equal(first.forecast, second.forecast)
    pd.testing.assert_frame_equal(first.backtest.predictions, second.backtest.predictions)
    pd.testing.assert_frame_equal(first.backtest.metrics, second.backtest.metrics)
    for name in first.candidates:
        pd.testing.assert_frame_equal(first.candidates[name], second.candidates[name])
    assert first.notes == second.notes


def test_plot_and_scenarios(multiplicative_runs) -> None:
    frame, _, result = multiplicative_runs[0]
    png = plot_forecast(frame.iloc[:TRAIN_MONTHS], result, "MRR")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000

    paths = scenario_paths(result)
    assert list(paths.columns) == ["ds", "scenario", "value"] and len(paths) == 3 * HORIZON
    by_name = {name: part["value"].to_numpy() for name, part in paths.groupby("scenario")}
    steps = np.arange(1, HORIZON + 1)
    np.testing.assert_allclose(by_name["conservative"], result.forecast["yhat_lower"] * 0.98**steps)
    np.testing.assert_allclose(by_name["base"], result.forecast["yhat"])
    np.testing.assert_allclose(by_name["optimistic"], result.forecast["yhat_upper"] * 1.02**steps)
    assert (by_name["conservative"] < by_name["base"]).all() and (by_name["base"] < by_name["optimistic"]).all()
    custom = scenario_paths(result, {"base": 0.01})
    np.testing.assert_allclose(custom["value"], result.forecast["yhat"] * 1.01**steps)
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario_paths(result, {"bullish": 0.1})
    with pytest.raises(ValueError, match="above -1"):
        scenario_paths(result, {"base": -1.0})
