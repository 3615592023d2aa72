"""Fast unit tests of the forecasting building blocks (no Prophet fits): metrics, baselines,
holidays, cutoff planning, interval calibration, seasonality-mode rule and input validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assets.forecasting import baselines, metrics
from assets.forecasting.backtest import BacktestPlan, empty_report, interval_scale, plan_cutoffs, run_backtest
from assets.forecasting.engine import choose_seasonality_mode, prepare_history
from assets.forecasting.holiday_calendar import black_friday, brazil_holidays

Z80 = 1.2815515655446004


# --- metrics on hand-computed examples -------------------------------------------------------


def test_mape_hand_computed() -> None:
    # |110-100|/100 = 0.10, |180-200|/200 = 0.10 -> 10%
    assert metrics.mape([100, 200], [110, 180]) == pytest.approx(10.0)
    assert metrics.mape([50, 100, 200], [50, 75, 300]) == pytest.approx((0 + 0.25 + 0.5) / 3 * 100)


def test_mape_is_nan_with_a_zero_actual_or_no_data() -> None:
    assert math.isnan(metrics.mape([0, 100], [1, 100]))
    assert math.isnan(metrics.mape([], []))


def test_smape_hand_computed_and_zero_zero_points() -> None:
    # 200/2 * (10/210 + 20/380)
    assert metrics.smape([100, 200], [110, 180]) == pytest.approx(100 * (10 / 210 + 20 / 380))
    assert metrics.smape([0, 100], [0, 100]) == 0.0  # 0/0 counts as a perfect point, not NaN
    assert metrics.smape([0], [5]) == pytest.approx(200.0)
    assert math.isnan(metrics.smape([], []))


def test_mase_uses_the_seasonal_naive_scale_of_the_training_window() -> None:
    train = [1, 2, 3, 4, 5, 6]  # lag-2 differences are all 2 -> scale 2
    assert metrics.mase_scale(train, 2) == pytest.approx(2.0)
    # MAE of (|7-8|, |8-6|) = 1.5 -> 1.5 / 2
    assert metrics.mase([7, 8], [8, 6], train, 2) == pytest.approx(0.75)


def test_mase_falls_back_to_lag_one_when_the_window_is_short() -> None:
    assert metrics.mase_scale([1, 3, 4], 12) == pytest.approx((2 + 1) / 2)
    assert metrics.mase([5], [4], [1, 3, 4], 12) == pytest.approx(1 / 1.5)


def test_mase_is_nan_when_the_scale_is_zero() -> None:
    assert math.isnan(metrics.mase_scale([5, 5, 5, 5], 2))
    assert math.isnan(metrics.mase([5, 6], [5, 5], [5, 5, 5, 5], 2))
    assert math.isnan(metrics.mase_scale([5], 1))


def test_coverage_counts_bounds_as_inside() -> None:
    y = [1, 2, 3, 4]
    lower = [0, 2, 4, 0]
    upper = [2, 2, 5, 3]
    assert metrics.coverage(y, lower, upper) == pytest.approx(0.5)
    assert math.isnan(metrics.coverage([], [], []))


def test_metrics_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.mape([1, 2], [1])


# --- baselines -------------------------------------------------------------------------------


def test_z_value() -> None:
    assert baselines.z_value(0.8) == pytest.approx(Z80)
    assert baselines.z_value(0.95) == pytest.approx(1.959963984540054)


def test_seasonal_naive_values_and_fpp3_interval() -> None:
    y = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=float)  # m=4: residuals y[4:]-y[:4] = 4,4,4,4
    forecast = baselines.seasonal_naive(y, horizon=6, season_length=4, interval_width=0.8)
    np.testing.assert_allclose(forecast.yhat, [5, 6, 7, 8, 5, 6])
    sigma = 4.0
    k = np.array([0, 0, 0, 0, 1, 1])
    np.testing.assert_allclose(forecast.upper - forecast.yhat, Z80 * sigma * np.sqrt(k + 1))
    np.testing.assert_allclose(forecast.yhat - forecast.lower, Z80 * sigma * np.sqrt(k + 1))
    with pytest.raises(ValueError):
        baselines.seasonal_naive(y[:4], horizon=2, season_length=4, interval_width=0.8)


def test_drift_values_and_fpp3_interval() -> None:
    y = np.array([1.0, 2.0, 4.0])  # slope (4-1)/2 = 1.5; residuals 1-1.5, 2-1.5 -> sigma^2 = 0.5/(3-2)
    forecast = baselines.drift(y, horizon=3, interval_width=0.8)
    np.testing.assert_allclose(forecast.yhat, [5.5, 7.0, 8.5])
    h = np.arange(1, 4)
    expected = Z80 * math.sqrt(0.5) * np.sqrt(h * (1 + h / 2))
    np.testing.assert_allclose(forecast.upper - forecast.yhat, expected)
    with pytest.raises(ValueError):
        baselines.drift(y[:2], horizon=1, interval_width=0.8)


def test_point_forecast_widen_and_clip() -> None:
    forecast = baselines.PointForecast(np.array([1.0, 10.0]), np.array([0.0, 8.0]), np.array([3.0, 11.0]))
    wider = forecast.widened(2.0)
    np.testing.assert_allclose(wider.lower, [-1.0, 6.0])
    np.testing.assert_allclose(wider.upper, [5.0, 12.0])
    np.testing.assert_allclose(wider.clipped().lower, [0.0, 6.0])


# --- holidays --------------------------------------------------------------------------------


def test_black_friday_is_the_day_after_the_fourth_thursday() -> None:
    assert black_friday(2024) == pd.Timestamp("2024-11-29").date()  # Nov 2024 starts on a Friday
    assert black_friday(2025) == pd.Timestamp("2025-11-28").date()
    assert black_friday(2023) == pd.Timestamp("2023-11-24").date()
    for year in range(2015, 2035):
        day = black_friday(year)
        assert day.weekday() == 4 and 23 <= day.day <= 29


def test_brazil_holidays_frame() -> None:
    frame = brazil_holidays(2024, 2025)
    assert list(frame.columns) == ["holiday", "ds", "lower_window", "upper_window"]
    days = set(frame["ds"])
    for expected in ("2024-11-29", "2025-11-28", "2025-12-25", "2025-09-07", "2024-04-21", "2025-01-01"):
        assert pd.Timestamp(expected) in days
    friday = frame[frame["holiday"] == "Black Friday"]
    assert len(friday) == 2 and (friday["upper_window"] == 3).all() and (friday["lower_window"] == 0).all()
    assert frame["ds"].is_monotonic_increasing
    assert pd.Timestamp("2025-03-04") not in days  # Carnival is optional, not a national holiday
    assert pd.Timestamp("2025-03-04") in set(brazil_holidays(2025, 2025, include_optional=True)["ds"])
    with pytest.raises(ValueError):
        brazil_holidays(2026, 2025)


# --- cutoffs and the backtest loop -----------------------------------------------------------


def test_plan_cutoffs_monthly_steps_back_one_month() -> None:
    plan = plan_cutoffs(48, horizon=6, freq="MS", min_train=13, requested=None)
    assert plan.horizon == 6
    assert plan.positions == (36, 37, 38, 39, 40, 41)  # last cutoff leaves exactly 6 points
    assert plan.reason is None


def test_plan_cutoffs_daily_steps_back_half_a_horizon() -> None:
    plan = plan_cutoffs(730, horizon=30, freq="D", min_train=8, requested=None)
    assert plan.spacing == 15
    assert plan.positions[-1] == 730 - 1 - 30
    assert np.all(np.diff(plan.positions) == 15) and len(plan.positions) == 6


def test_plan_cutoffs_shrinks_the_horizon_for_short_series_and_can_give_up() -> None:
    plan = plan_cutoffs(8, horizon=6, freq="MS", min_train=4, requested=None)
    assert 1 <= plan.horizon < 6 and len(plan.positions) >= 3
    assert min(plan.positions) + 1 >= 4 and max(plan.positions) + plan.horizon == 7
    assert plan_cutoffs(48, 6, "MS", 13, requested=3).positions == (39, 40, 41)
    disabled = plan_cutoffs(48, 6, "MS", 13, requested=0)
    assert disabled.positions == () and "disabled" in (disabled.reason or "")
    none = plan_cutoffs(4, 6, "MS", 4, requested=None)
    assert none.positions == () and none.reason


def test_run_backtest_scores_models_on_shared_cutoffs() -> None:
    ds = pd.date_range("2020-01-01", periods=20, freq="MS")
    history = pd.DataFrame({"ds": ds, "y": np.arange(20, dtype=float) * 2 + 10})

    def last_value(train: pd.DataFrame, future: pd.DatetimeIndex) -> baselines.PointForecast:
        value = np.full(len(future), train["y"].iloc[-1])
        return baselines.PointForecast(value, value - 1, value + 1)

    def broken(train: pd.DataFrame, future: pd.DatetimeIndex) -> baselines.PointForecast:
        raise RuntimeError("boom")

    plan = BacktestPlan(horizon=2, positions=(15, 16, 17), spacing=1)
    report = run_backtest(history, {"naive": last_value, "broken": broken}, plan, season_length=12, interval_width=0.8)
    assert list(report.metrics["model"]) == ["naive"] and "boom" in report.failures["broken"]
    assert report.cutoffs == tuple(ds[[15, 16, 17]])
    assert len(report.predictions) == 3 * 2
    # Errors are 2 and 4 (slope 2) for every cutoff; seasonal scale (lag 12) of a slope-2 line is 24.
    assert report.metric("naive", "mase") == pytest.approx(3 / 24)
    assert report.metric("naive", "coverage") == 0.0
    assert "| naive |" in report.to_markdown()


def test_empty_report_explains_itself() -> None:
    report = empty_report("only 4 months", 6, 0.8)
    assert not report.available
    assert report.to_markdown() == "_No backtest: only 4 months._"
    assert math.isnan(report.metric("prophet", "mase"))


def test_interval_scale_widens_to_the_backtest_errors_but_never_narrows() -> None:
    n = 20
    yhat = np.full(n, 100.0)
    errors = np.where(np.arange(n) % 2 == 0, 1.0, -1.0) * np.linspace(1, 20, n)  # |error| up to 20
    frame = pd.DataFrame({"y": yhat + errors, "yhat": yhat, "yhat_lower": yhat - 5, "yhat_upper": yhat + 5})
    scale = interval_scale(frame, 0.8)
    covered = np.mean(np.abs(errors) <= scale * 5 + 1e-9)
    assert scale > 1 and covered >= 0.8
    wide = frame.assign(yhat_lower=yhat - 100, yhat_upper=yhat + 100)
    assert interval_scale(wide, 0.8) == 1.0
    assert interval_scale(frame.iloc[:5], 0.8) == 1.0  # too few points to calibrate


# --- seasonality mode rule -------------------------------------------------------------------


def test_seasonality_mode_rule() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(48)
    season = np.sin(2 * np.pi * t / 12)
    multiplicative = 100 * 1.03**t * (1 + 0.2 * season) * (1 + rng.normal(0, 0.01, 48))
    additive = 100 + 5 * t + 20 * season + rng.normal(0, 1, 48)
    assert choose_seasonality_mode(multiplicative, 12)[0] == "multiplicative"
    assert choose_seasonality_mode(additive, 12)[0] == "additive"
    assert choose_seasonality_mode(multiplicative[:20], 12)[0] == "additive"  # < 2 cycles
    assert choose_seasonality_mode(additive - 500, 12)[0] == "additive"  # non-positive values


# --- input validation and the gap rule -------------------------------------------------------


def _monthly(n: int) -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.date_range("2022-01-01", periods=n, freq="MS"), "y": np.arange(n) + 100.0})


@pytest.mark.parametrize(
    ("frame", "freq", "message"),
    [
        (_monthly(10).drop(columns="y"), "MS", "missing column"),
        (pd.concat([_monthly(10), _monthly(10).iloc[[3]]]), "MS", "duplicate"),
        (_monthly(10).assign(y=[1.0, np.nan, *range(8)]), "MS", "NaN"),
        (_monthly(2), "MS", "at least 3"),
        (_monthly(10), "W", "unsupported freq"),
        (_monthly(10).assign(ds=pd.date_range("2022-01-15", periods=10, freq="30D")), "MS", "first day of a month"),
        (_monthly(10).assign(y=["a"] * 10), "MS", "numeric"),
        (_monthly(10).assign(y=[np.inf, *range(9)]), "MS", "infinite"),
        (_monthly(12).iloc[[0, 1, 5, 6, 11]], "MS", "too sparse"),
        ([1, 2, 3], "MS", "DataFrame"),
    ],
)
def test_prepare_history_rejects_bad_input(frame: pd.DataFrame, freq: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare_history(frame, freq)


def test_prepare_history_sorts_and_interpolates_gaps() -> None:
    frame = _monthly(12).drop(index=[4, 5]).sample(frac=1.0, random_state=1)
    prepared, notes = prepare_history(frame, "MS")
    assert prepared["ds"].is_monotonic_increasing and len(prepared) == 12
    np.testing.assert_allclose(prepared["y"], np.arange(12) + 100.0)  # linear data is recovered exactly
    assert len(notes) == 1 and "2 missing period" in notes[0] and "2022-05-01" in notes[0]


def test_prepare_history_accepts_strings_and_drops_time_zones() -> None:
    frame = pd.DataFrame({"ds": ["2024-01-03", "2024-01-01", "2024-01-02"], "y": [3, 1, 2]})
    prepared, notes = prepare_history(frame, "D")
    assert list(prepared["y"]) == [1.0, 2.0, 3.0] and not notes
    aware = frame.assign(ds=pd.to_datetime(frame["ds"]).dt.tz_localize("America/Sao_Paulo"))
    assert prepare_history(aware, "D")[0]["ds"].dt.tz is None
