"""Rolling-origin backtest: refit every model at each cutoff, forecast the next periods, score.

Cutoff placement (:func:`plan_cutoffs`): the last cutoff leaves exactly ``horizon`` points after
it, earlier ones step back by 1 period for monthly series and by half the horizon for daily
ones (Prophet's own default spacing), up to 6 cutoffs, and every training window keeps at least
``min_train`` points. When the history cannot fit 3 cutoffs the evaluation horizon shrinks; when
it cannot fit even one, there is no backtest and the report says why. All models share the same
cutoffs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.forecasting import metrics
from assets.forecasting.baselines import PointForecast

DEFAULT_CUTOFFS = 6
MIN_CUTOFFS = 3
# Interval calibration: at least this many backtest points, and never stretch more than this.
MIN_CALIBRATION_POINTS = 10
MAX_INTERVAL_SCALE = 10.0
METRIC_COLUMNS = ["model", "mape", "smape", "mase", "coverage", "interval_scale", "n_cutoffs", "horizon"]
PREDICTION_COLUMNS = ["cutoff", "ds", "y", "yhat", "yhat_lower", "yhat_upper", "model"]

# A model: training frame (``ds``, ``y``) and the dates to forecast -> forecast for those dates.
ModelFn = Callable[[pd.DataFrame, pd.DatetimeIndex], PointForecast]


@dataclass(frozen=True)
class BacktestPlan:
    """Where to cut: positions (0-based index of the last training point) and the horizon."""

    horizon: int
    positions: tuple[int, ...]
    spacing: int
    reason: str | None = None  # why there is no backtest, when ``positions`` is empty


def plan_cutoffs(n_points: int, horizon: int, freq: str, min_train: int, requested: int | None) -> BacktestPlan:
    """Choose the cutoffs for a history of ``n_points`` (see the module docstring for the rule)."""
    if requested == 0:
        return BacktestPlan(horizon, (), 1, "backtest disabled (backtest_cutoffs=0)")
    max_cutoffs = requested or DEFAULT_CUTOFFS
    for needed in (min(MIN_CUTOFFS, max_cutoffs), 1):
        for h in range(horizon, 0, -1):
            spacing = 1 if freq == "MS" else max(1, h // 2)
            room = n_points - h - min_train
            if room < 0:
                continue
            count = min(max_cutoffs, room // spacing + 1)
            if count >= needed:
                last = n_points - 1 - h
                return BacktestPlan(h, tuple(last - spacing * i for i in reversed(range(count))), spacing)
    return BacktestPlan(
        horizon,
        (),
        1,
        f"{n_points} points leave no room for a backtest (each training window needs at least {min_train})",
    )


@dataclass(frozen=True, eq=False)
class BacktestReport:
    """Per-model backtest metrics, the cutoffs and every per-cutoff prediction.

    ``metrics`` has one row per model: ``mape`` and ``smape`` (percent, pooled over all cutoffs),
    ``mase`` (mean over cutoffs of the MAE scaled by the seasonal-naive in-sample MAE of that
    cutoff's training window; cutoffs whose window is flat have no scale and are skipped),
    ``coverage`` (share of actuals inside the model's own interval), ``interval_scale`` (see
    :func:`interval_scale`), ``n_cutoffs`` and ``horizon``. It is empty, with ``reason`` set, when
    no backtest could be run.
    """

    metrics: pd.DataFrame
    cutoffs: tuple[pd.Timestamp, ...]
    predictions: pd.DataFrame
    horizon: int
    interval_width: float
    reason: str | None = None
    failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        """True when at least one model was scored."""
        return not self.metrics.empty

    def metric(self, model: str, name: str) -> float:
        """One metric of one model (NaN when the model was not scored)."""
        rows = self.metrics.loc[self.metrics["model"] == model, name]
        return float(rows.iloc[0]) if len(rows) else float("nan")

    def to_markdown(self) -> str:
        """The metrics as a Markdown table (or one line saying why there is none)."""
        if not self.available:
            return f"_No backtest: {self.reason or 'not run'}._"
        cover = f"{round(self.interval_width * 100)}% coverage"
        lines = [
            f"| model | MAPE % | sMAPE % | MASE | {cover} | interval scale | cutoffs | horizon |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.metrics.itertuples(index=False):
            lines.append(
                f"| {row.model} | {_fmt(row.mape, 2)} | {_fmt(row.smape, 2)} | {_fmt(row.mase, 3)} | "
                f"{_fmt(row.coverage, 2)} | {_fmt(row.interval_scale, 2)} | {row.n_cutoffs} | {row.horizon} |"
            )
        return "\n".join(lines)


def interval_scale(predictions: pd.DataFrame, interval_width: float) -> float:
    """How much to stretch a model's intervals so they would have covered ``interval_width`` of its
    backtest actuals: the ``interval_width`` quantile of ``|error| / half-width`` (the half on the
    error's side), at least 1 (intervals are widened, never narrowed), at most 10; 1 with fewer
    than 10 backtest points.
    """
    if len(predictions) < MIN_CALIBRATION_POINTS:
        return 1.0
    y = predictions["y"].to_numpy(dtype=float)
    yhat = predictions["yhat"].to_numpy(dtype=float)
    error = y - yhat
    half = np.where(
        error >= 0,
        predictions["yhat_upper"].to_numpy(dtype=float) - yhat,
        yhat - predictions["yhat_lower"].to_numpy(dtype=float),
    )
    half = np.maximum(half, 0.0)
    ratio = np.divide(np.abs(error), half, out=np.full(error.shape, np.inf), where=half > 0)
    ratio[(half <= 0) & (error == 0)] = 0.0
    needed = float(np.quantile(ratio, interval_width, method="higher"))
    return float(min(MAX_INTERVAL_SCALE, max(1.0, needed)))


def _fmt(value: float, digits: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def empty_report(reason: str, horizon: int, interval_width: float) -> BacktestReport:
    """A report with no metrics and the reason."""
    return BacktestReport(
        metrics=pd.DataFrame(columns=METRIC_COLUMNS),
        cutoffs=(),
        predictions=pd.DataFrame(columns=PREDICTION_COLUMNS),
        horizon=horizon,
        interval_width=interval_width,
        reason=reason,
    )


def run_backtest(
    history: pd.DataFrame,
    models: Mapping[str, ModelFn],
    plan: BacktestPlan,
    season_length: int,
    interval_width: float,
) -> BacktestReport:
    """Refit each model at each cutoff of ``plan`` on ``history`` (regular ``ds``, ``y``) and score it.

    A model that raises at any cutoff is left out of the metrics and listed in ``failures``.
    """
    if not plan.positions:
        return empty_report(plan.reason or "no cutoffs", plan.horizon, interval_width)
    frames: list[pd.DataFrame] = []
    scaled_errors: dict[str, list[float]] = {name: [] for name in models}
    failures: dict[str, str] = {}
    for position in plan.positions:
        train = history.iloc[: position + 1]
        actual = history.iloc[position + 1 : position + 1 + plan.horizon]
        future = pd.DatetimeIndex(actual["ds"])
        scale = metrics.mase_scale(train["y"].to_numpy(), season_length)
        for name, model in models.items():
            if name in failures:
                continue
            try:
                forecast = model(train, future)
            except Exception as error:  # a model failing on one window must not sink the others
                failures[name] = f"{type(error).__name__}: {error}"
                continue
            y = actual["y"].to_numpy(dtype=float)
            mae = float(np.mean(np.abs(y - forecast.yhat)))
            scaled_errors[name].append(mae / scale if math.isfinite(scale) else float("nan"))
            frames.append(
                pd.DataFrame(
                    {
                        "cutoff": history["ds"].iloc[position],
                        "ds": future,
                        "y": y,
                        "yhat": forecast.yhat,
                        "yhat_lower": forecast.lower,
                        "yhat_upper": forecast.upper,
                        "model": name,
                    }
                )
            )
    predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PREDICTION_COLUMNS)
    predictions = predictions[~predictions["model"].isin(list(failures))].reset_index(drop=True)
    rows = []
    for name in models:
        if name in failures:
            continue
        part = predictions[predictions["model"] == name]
        per_cutoff = np.asarray(scaled_errors[name], dtype=float)
        finite = per_cutoff[np.isfinite(per_cutoff)]  # a flat training window has no MASE scale
        rows.append(
            {
                "model": name,
                "mape": metrics.mape(part["y"], part["yhat"]),
                "smape": metrics.smape(part["y"], part["yhat"]),
                "mase": float(np.mean(finite)) if finite.size else float("nan"),
                "coverage": metrics.coverage(part["y"], part["yhat_lower"], part["yhat_upper"]),
                "interval_scale": interval_scale(part, interval_width),
                "n_cutoffs": len(plan.positions),
                "horizon": plan.horizon,
            }
        )
    return BacktestReport(
        metrics=pd.DataFrame(rows, columns=METRIC_COLUMNS),
        cutoffs=tuple(pd.Timestamp(history["ds"].iloc[p]) for p in plan.positions),
        predictions=predictions,
        horizon=plan.horizon,
        interval_width=interval_width,
        reason=None if rows else "every model failed",
        failures=failures,
    )
