"""Forecast one business time series: Prophet against seasonal-naive and drift baselines.

Public API: :func:`forecast_series` (returns :class:`ForecastResult`), :class:`BacktestReport`,
:func:`brazil_holidays`, :func:`plot_forecast` and :func:`scenario_paths`. Pure pandas/NumPy +
Prophet; no Dagster, no I/O.

Rules, in the order :func:`forecast_series` applies them:

* **Input**: ``ds`` dates aligned to ``freq`` (month starts for ``"MS"``, midnight for ``"D"``;
  time zones are dropped, keeping wall time), ``y`` finite numbers, no duplicate dates, at least
  3 points. Rows are sorted by ``ds``.
* **Gaps**: periods missing inside the range are filled by linear interpolation between the
  neighbouring observations (a zero would read as a collapse of a revenue level) and listed in
  the notes. More than 20% of the periods missing is rejected as too sparse. If a missing
  period really means zero activity, fill the zeros before calling.
* **Candidates** by history length ``n`` with season length ``m`` (12 monthly, 7 daily):
  ``n < 6`` → drift only, no backtest; ``n < 2m`` → Prophet without the seasonal cycle and
  drift (seasonal naive needs two cycles to be worth testing); otherwise Prophet, seasonal naive
  and drift. Daily Prophet models yearly seasonality only from 728 days (two years) of history,
  weekly from 14 days, and Brazilian holidays plus Black Friday (:func:`brazil_holidays`).
* **Seasonality mode** (``multiplicative=None``): a classical decomposition (centred moving
  average trend, seasonal index per season position) is fitted both ways; multiplicative is used
  when the series is strictly positive and the multiplicative decomposition leaves at least 5%
  less squared error than the additive one, i.e. when the seasonal swings grow with the level.
* **Backtest**: rolling origin on the most recent periods, same cutoffs for every model (see
  :mod:`assets.forecasting.backtest`).
* **Intervals**: each model's own interval (Prophet's sampled one, the FPP3 formulas for the
  baselines) is widened by the factor its backtest errors call for (``interval_scale`` in the
  backtest metrics; never narrowed), because Prophet's MAP-fitted intervals ignore parameter
  uncertainty and come out far too narrow on monthly data.
* **Selection**: lowest backtest MASE (sMAPE when MASE is undefined, e.g. a flat series); ties go
  to Prophet, then seasonal naive, then drift. Without a backtest: Prophet when fitted, else
  drift. ``baseline_beats_prophet`` is true when a baseline scored strictly better than Prophet.
* **Non-negative** series (the default): every forecast and bound is clipped at 0, in the
  backtest too, and a negative value in the history is an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.forecasting import baselines, prophet_model
from assets.forecasting.backtest import (
    BacktestReport,
    ModelFn,
    empty_report,
    plan_cutoffs,
    run_backtest,
)
from assets.forecasting.baselines import PointForecast
from assets.forecasting.history import SEASON_LENGTHS, prepare_history
from assets.forecasting.holiday_calendar import HOLIDAY_COLUMNS, black_friday, brazil_holidays
from assets.forecasting.plots import plot_forecast
from assets.forecasting.prophet_model import choose_seasonality_mode
from assets.forecasting.scenarios import scenario_paths

__all__ = [
    "BacktestReport",
    "ForecastResult",
    "black_friday",
    "brazil_holidays",
    "choose_seasonality_mode",
    "forecast_series",
    "plot_forecast",
    "prepare_history",
    "scenario_paths",
]

PERIOD_WORDS = {"MS": ("month", "months"), "D": ("day", "days")}
MIN_POINTS_FOR_PROPHET = 6
MIN_TRAIN_POINTS = 4
MODEL_ORDER = ("prophet", "seasonal_naive", "drift")
MODEL_LABELS = {"prophet": "Prophet", "seasonal_naive": "Seasonal naive", "drift": "Drift"}
FORECAST_COLUMNS = ["ds", "yhat", "yhat_lower", "yhat_upper", "model"]


@dataclass(frozen=True, eq=False)
class ForecastResult:
    """What :func:`forecast_series` found.

    ``forecast`` is the published forecast (``ds, yhat, yhat_lower, yhat_upper, model``; future
    periods only) of the chosen ``model``; ``candidates`` holds every fitted model's forecast in
    the same shape, so a caller can show them side by side. ``notes`` explain the choices in plain
    English. ``seasonality_mode`` is Prophet's mode (None when Prophet was not fitted) and
    ``selection_metric`` the backtest metric the choice was made on (None without a backtest).
    """

    forecast: pd.DataFrame
    backtest: BacktestReport
    model: str
    candidates: Mapping[str, pd.DataFrame]
    notes: list[str]
    baseline_beats_prophet: bool
    season_length: int
    freq: str
    horizon: int
    interval_width: float
    seasonality_mode: str | None = None
    selection_metric: str | None = None
    history_end: pd.Timestamp | None = field(default=None)


def forecast_series(
    history: pd.DataFrame,
    horizon: int = 6,
    freq: str = "MS",
    *,
    seed: int = 0,
    holidays: pd.DataFrame | None = None,
    backtest_cutoffs: int | None = None,
    interval_width: float = 0.8,
    multiplicative: bool | None = None,
    nonnegative: bool = True,
) -> ForecastResult:
    """Backtest Prophet, seasonal naive and drift on ``history`` and publish the best forecast.

    Args:
        history: ``ds`` (dates) and ``y`` (values), one row per period; see the module docstring
            for validation and the gap rule.
        horizon: number of future periods to forecast (>= 1).
        freq: ``"MS"`` (monthly, month starts) or ``"D"`` (daily).
        seed: fixes Stan's optimizer and Prophet's interval sampling: same data and seed give the
            same result.
        holidays: Prophet holidays frame (``holiday``, ``ds``, optional ``lower_window``,
            ``upper_window``). Default: none for monthly series, :func:`brazil_holidays` over the
            history and horizon for daily ones; pass an empty frame to use none. On monthly
            series only holidays dated on a month start can match a row.
        backtest_cutoffs: number of rolling-origin cutoffs (default up to 6; 0 skips the backtest).
        interval_width: central prediction interval width (0.8 gives 80% intervals).
        multiplicative: Prophet seasonality mode; None decides by the decomposition rule.
        nonnegative: clip forecasts and bounds at 0 (revenue, counts); the history must then have
            no negative values.

    Raises:
        ValueError: on invalid arguments or history (message says what and where).
    """
    _check_arguments(horizon, freq, interval_width, backtest_cutoffs, holidays)
    frame, notes = prepare_history(history, freq)
    if nonnegative and bool((frame["y"] < 0).any()):
        first = frame.loc[frame["y"] < 0, "ds"].iloc[0]
        raise ValueError(
            f"history has negative y values (first at ds={first:%Y-%m-%d}) but nonnegative=True; "
            "pass nonnegative=False for a series that can go below zero"
        )
    m = SEASON_LENGTHS[freq]
    n = len(frame)
    one, many = PERIOD_WORDS[freq]
    y = frame["y"].to_numpy(dtype=float)
    future = pd.date_range(frame["ds"].iloc[-1], periods=horizon + 1, freq=freq)[1:]
    constant = bool(y.min() == y.max())
    if constant:
        notes.append(
            f"Series is constant ({y[0]:g} in every {one}): every model forecasts that value and the "
            "intervals collapse onto it; there is nothing to learn beyond the level."
        )

    # Which models are worth fitting, and Prophet's setup.
    names: list[str]
    spec: prophet_model.ProphetSpec | None = None
    if n < MIN_POINTS_FOR_PROPHET:
        names = ["drift"]
        notes.append(
            f"Only {n} {many} of history: too short to fit Prophet or to backtest anything; publishing a "
            "drift forecast (last value plus the average change per period). Treat it as a rough extrapolation."
        )
    else:
        names = ["prophet", "seasonal_naive", "drift"] if n >= 2 * m else ["prophet", "drift"]
        if n < 2 * m:
            cycle = "yearly" if freq == "MS" else "weekly"
            notes.append(
                f"Only {n} {many} of history (fewer than 2 {cycle} cycles = {2 * m} {many}): {cycle} "
                "seasonality disabled in Prophet and the seasonal naive baseline skipped; "
                "comparing Prophet (trend only) with drift."
            )
        spec = _prophet_spec(frame, freq, horizon, seed, holidays, interval_width, multiplicative, constant, notes)

    models = {name: _model_fn(name, spec, m, interval_width, nonnegative) for name in names}

    # Final fits on the whole history; a Prophet failure falls back to the baselines.
    candidate_forecasts: dict[str, PointForecast] = {}
    for name, model in models.items():
        try:
            candidate_forecasts[name] = model(frame, future)
        except Exception as error:  # Prophet/Stan can fail on odd data; the baselines cannot
            if name != "prophet":
                raise
            notes.append(f"Prophet failed to fit ({type(error).__name__}: {error}); using the baselines only.")
    models = {name: models[name] for name in candidate_forecasts}
    if "prophet" not in models:
        spec = None

    # Backtest on shared cutoffs.
    if n < MIN_POINTS_FOR_PROPHET:
        report = empty_report(f"only {n} {many} of history (a backtest needs at least 6)", horizon, interval_width)
    else:
        min_train = m + 1 if "seasonal_naive" in models else MIN_TRAIN_POINTS
        plan = plan_cutoffs(n, horizon, freq, min_train, backtest_cutoffs)
        report = run_backtest(frame, models, plan, m, interval_width)
        if report.available and plan.horizon < horizon:
            notes.append(
                f"History is short: the backtest scores {plan.horizon}-{one} forecasts, not {horizon}-{one} ones."
            )
        if backtest_cutoffs and report.available and len(plan.positions) < backtest_cutoffs:
            notes.append(f"Only {len(plan.positions)} of the {backtest_cutoffs} requested backtest cutoffs fit.")
        if not report.available:
            notes.append(f"No backtest: {report.reason}.")
        for name, error in report.failures.items():
            notes.append(f"{MODEL_LABELS[name]} failed during the backtest ({error}); left out of the comparison.")
            candidate_forecasts.pop(name, None)
            if name == "prophet":
                spec = None

    # Widen intervals that under-covered in the backtest (never narrow them).
    scales = {name: report.metric(name, "interval_scale") if report.available else 1.0 for name in candidate_forecasts}
    for name, scale in scales.items():
        if math.isfinite(scale) and scale > 1:
            widened = candidate_forecasts[name].widened(scale)
            candidate_forecasts[name] = widened.clipped(0.0) if nonnegative else widened

    chosen, metric, beaten, selection_notes = _select(report, list(candidate_forecasts))
    notes.extend(selection_notes)
    if math.isfinite(scales[chosen]) and scales[chosen] > 1:
        width = round(interval_width * 100)
        notes.append(
            f"{MODEL_LABELS[chosen]}'s own {width}% intervals held only "
            f"{report.metric(chosen, 'coverage'):.0%} of the backtest actuals; the published intervals are "
            f"widened {scales[chosen]:.2f}x so that {width}% of those backtest errors would have fitted."
        )
    candidates = {name: _frame(future, fc, name) for name, fc in candidate_forecasts.items()}
    return ForecastResult(
        forecast=candidates[chosen].copy(),
        backtest=report,
        model=chosen,
        candidates=candidates,
        notes=notes,
        baseline_beats_prophet=beaten,
        season_length=m,
        freq=freq,
        horizon=horizon,
        interval_width=interval_width,
        seasonality_mode=spec.seasonality_mode if spec is not None else None,
        selection_metric=metric,
        history_end=pd.Timestamp(frame["ds"].iloc[-1]),
    )


def _check_arguments(
    horizon: int, freq: str, interval_width: float, backtest_cutoffs: int | None, holidays: pd.DataFrame | None
) -> None:
    if freq not in SEASON_LENGTHS:
        raise ValueError(f"unsupported freq {freq!r}: use 'MS' (monthly, month starts) or 'D' (daily)")
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    if not 0 < interval_width < 1:
        raise ValueError(f"interval_width must be between 0 and 1 (exclusive), got {interval_width!r}")
    if backtest_cutoffs is not None and (not isinstance(backtest_cutoffs, int | np.integer) or backtest_cutoffs < 0):
        raise ValueError(f"backtest_cutoffs must be None or an integer >= 0, got {backtest_cutoffs!r}")
    if holidays is not None and (
        not isinstance(holidays, pd.DataFrame) or not {"holiday", "ds"} <= set(holidays.columns)
    ):
        raise ValueError("holidays must be a DataFrame with at least the columns 'holiday' and 'ds'")


def _prophet_spec(
    frame: pd.DataFrame,
    freq: str,
    horizon: int,
    seed: int,
    holidays: pd.DataFrame | None,
    interval_width: float,
    multiplicative: bool | None,
    constant: bool,
    notes: list[str],
) -> prophet_model.ProphetSpec:
    """Prophet's setup for this history (rules in the module docstring); appends notes."""
    n = len(frame)
    m = SEASON_LENGTHS[freq]
    seasonal = n >= 2 * m
    if freq == "MS":
        yearly = prophet_model.MONTHLY_YEARLY_ORDER if seasonal else 0
        weekly = 0
        calendar = holidays
    else:
        yearly = prophet_model.DAILY_YEARLY_ORDER if n >= prophet_model.DAILY_YEARLY_MIN_POINTS else 0
        weekly = prophet_model.DAILY_WEEKLY_ORDER if seasonal else 0
        if holidays is None:
            last = frame["ds"].iloc[-1] + pd.Timedelta(days=horizon)
            calendar = brazil_holidays(frame["ds"].iloc[0].year, last.year)
        else:
            calendar = holidays
        if seasonal and not yearly:
            notes.append(
                f"Less than two years of daily history ({n} days): Prophet models the weekly pattern"
                " and holidays but no yearly seasonality."
            )
    if calendar is not None:
        calendar = calendar.copy()
        calendar["ds"] = pd.to_datetime(calendar["ds"])
        calendar = calendar[[c for c in HOLIDAY_COLUMNS if c in calendar.columns]]
    has_pattern = bool(yearly or weekly or (calendar is not None and len(calendar)))
    if multiplicative is not None:
        mode = "multiplicative" if multiplicative else "additive"
    elif constant or not has_pattern:
        mode = "additive"
    else:
        mode, why = choose_seasonality_mode(frame["y"].to_numpy(), m)
        notes.append(f"Prophet seasonality mode: {mode}, because {why}.")
    return prophet_model.ProphetSpec(
        yearly_order=yearly,
        weekly_order=weekly,
        seasonality_mode=mode,
        interval_width=interval_width,
        seed=seed,
        holidays=calendar,
    )


def _model_fn(
    name: str, spec: prophet_model.ProphetSpec | None, m: int, interval_width: float, nonnegative: bool
) -> ModelFn:
    def model(train: pd.DataFrame, future: pd.DatetimeIndex) -> PointForecast:
        if name == "prophet":
            assert spec is not None
            forecast = prophet_model.fit_predict(spec, train, future)
        elif name == "seasonal_naive":
            forecast = baselines.seasonal_naive(train["y"].to_numpy(), len(future), m, interval_width)
        else:
            forecast = baselines.drift(train["y"].to_numpy(), len(future), interval_width)
        return forecast.clipped(0.0) if nonnegative else forecast

    return model


def _select(report: BacktestReport, names: list[str]) -> tuple[str, str | None, bool, list[str]]:
    """Chosen model, metric used, whether a baseline beat Prophet, and the notes saying so."""
    ordered = [name for name in MODEL_ORDER if name in names]
    if not report.available or not set(ordered) <= set(report.metrics["model"]):
        chosen = "prophet" if "prophet" in ordered else ordered[0]
        if len(ordered) > 1:
            return chosen, None, False, [f"No backtest to compare models; publishing {MODEL_LABELS[chosen]}."]
        return chosen, None, False, []
    metric = None
    for candidate in ("mase", "smape"):
        scores = {name: report.metric(name, candidate) for name in ordered}
        if all(math.isfinite(score) for score in scores.values()):
            metric = candidate
            break
    if metric is None:
        chosen = "prophet" if "prophet" in ordered else ordered[0]
        note = f"Backtest errors are undefined for this series; publishing {MODEL_LABELS[chosen]}."
        return chosen, None, False, [note]
    best = min(scores.values())
    tolerance = 1e-9 * max(1.0, abs(best))
    chosen = next(name for name in ordered if scores[name] <= best + tolerance)
    label = metric.upper() if metric == "mase" else "sMAPE"
    if len(ordered) == 1:
        return chosen, metric, False, []
    if "prophet" not in scores:
        return chosen, metric, False, [f"{MODEL_LABELS[chosen]} scored best on the backtest; publishing it."]
    prophet_score = scores["prophet"]
    beaten = any(scores[name] < prophet_score - tolerance for name in ordered if name != "prophet")
    if chosen == "prophet":
        others = ", ".join(f"{MODEL_LABELS[name].lower()} {scores[name]:.2f}" for name in ordered if name != "prophet")
        note = f"Prophet scored best on the backtest ({label} {prophet_score:.2f} vs {others}); publishing Prophet."
    else:
        note = (
            f"{MODEL_LABELS[chosen]} beat Prophet on the backtest ({label} {scores[chosen]:.2f} vs "
            f"{prophet_score:.2f}); publishing {MODEL_LABELS[chosen].lower()}."
        )
    return chosen, metric, beaten, [note]


def _frame(future: pd.DatetimeIndex, forecast: PointForecast, name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ds": future,
            "yhat": forecast.yhat,
            "yhat_lower": forecast.lower,
            "yhat_upper": forecast.upper,
            "model": name,
        },
        columns=FORECAST_COLUMNS,
    )
