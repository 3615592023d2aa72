"""Prophet configured for monthly or daily business series, fitted quietly and reproducibly.

The configuration (:class:`ProphetSpec`) is decided once from the whole history and reused for
every backtest refit, the way Prophet's own ``cross_validation`` reuses a model's settings; only
the number of changepoints follows the length of each training window. Fits are MAP (L-BFGS), so
Prophet's intervals only reflect noise and trend-change uncertainty; the engine calibrates them
against the backtest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assets.forecasting.baselines import PointForecast

# Fourier order of the yearly seasonality on monthly data: twelve points a year identify at most
# 6 harmonics (Prophet's default of 10 aliases the upper ones onto the lower ones). On synthetic
# trend x seasonality series order 6 forecast as well as 10 and better than 4.
MONTHLY_YEARLY_ORDER = 6
DAILY_YEARLY_ORDER = 10
DAILY_WEEKLY_ORDER = 3
# Daily series need about two full years (104 weeks) before a yearly seasonality can be told from
# the trend; Prophet's own "auto" wants a 730-day span, one day more than 730 daily points have.
DAILY_YEARLY_MIN_POINTS = 728
MAX_CHANGEPOINTS = 25
UNCERTAINTY_SAMPLES = 500
MAX_ITERATIONS = 1000
# Multiplicative seasonality must cut the decomposition's squared error by at least this share.
MULTIPLICATIVE_MIN_GAIN = 0.05


@dataclass(frozen=True, eq=False)
class ProphetSpec:
    """Everything needed to build the same Prophet model on any training window."""

    yearly_order: int  # 0 turns yearly seasonality off
    weekly_order: int  # 0 turns weekly seasonality off
    seasonality_mode: str  # "additive" or "multiplicative"
    interval_width: float
    seed: int
    holidays: pd.DataFrame | None = None
    uncertainty_samples: int = UNCERTAINTY_SAMPLES


def n_changepoints(n_points: int) -> int:
    """About one potential changepoint per 3 points in the first 80% of the history, at most 25."""
    return min(MAX_CHANGEPOINTS, int(0.8 * n_points) // 3)


def _prophet_class() -> Any:
    """Import Prophet lazily (0.6–0.9 s) and keep it and cmdstanpy quiet."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "Importing plotly failed" at import
    from cmdstanpy.utils.logging import get_logger
    from prophet import Prophet

    get_logger()  # cmdstanpy configures its logger on first use; let it, then override the level
    # CRITICAL: cmdstanpy logs an ERROR when L-BFGS stops early, although Prophet then refits with
    # Newton; real failures raise and end up in the forecast notes instead.
    logging.getLogger("cmdstanpy").setLevel(logging.CRITICAL)
    # ERROR, not WARNING: Prophet warns on every fit with yearly seasonality and < 730 days of
    # span, which this engine enables on purpose (documented rule, judged by the backtest).
    logging.getLogger("prophet").setLevel(logging.ERROR)
    return Prophet


def fit_predict(spec: ProphetSpec, train: pd.DataFrame, future_ds: pd.DatetimeIndex) -> PointForecast:
    """Fit Prophet on ``train`` (``ds``, ``y``) and forecast ``future_ds`` with intervals.

    Deterministic: Stan's optimizer gets ``spec.seed``, and the predictive sampling runs with the
    global NumPy generator seeded to ``spec.seed`` and restored afterwards, so callers' random
    state is left untouched. (Prophet only samples from the global generator, so two threads
    forecasting at once in one process could interleave draws; Dagster's default multiprocess
    executor runs each step in its own process.)
    """
    prophet_cls = _prophet_class()
    model = prophet_cls(
        growth="linear",
        n_changepoints=n_changepoints(len(train)),
        yearly_seasonality=spec.yearly_order if spec.yearly_order else False,
        weekly_seasonality=spec.weekly_order if spec.weekly_order else False,
        daily_seasonality=False,
        holidays=spec.holidays if spec.holidays is not None and len(spec.holidays) else None,
        seasonality_mode=spec.seasonality_mode,
        interval_width=spec.interval_width,
        uncertainty_samples=spec.uncertainty_samples,
    )
    # L-BFGS for every size (Prophet picks Newton below 100 points, which can crawl for seconds on
    # near-noiseless series); Prophet itself falls back to Newton if L-BFGS stops abnormally.
    # Well-posed fits converge in a few hundred iterations; the cap (Prophet asks for 10,000)
    # bounds the degenerate ones (more parameters than points, the noise scale chasing 0) to
    # about half a second instead of several.
    model.fit(train[["ds", "y"]], seed=spec.seed, algorithm="LBFGS", iter=MAX_ITERATIONS)
    state = np.random.get_state()
    np.random.seed(spec.seed)
    try:
        predicted = model.predict(pd.DataFrame({"ds": future_ds}))
    finally:
        np.random.set_state(state)
    return PointForecast(
        predicted["yhat"].to_numpy(dtype=float),
        predicted["yhat_lower"].to_numpy(dtype=float),
        predicted["yhat_upper"].to_numpy(dtype=float),
    )


def choose_seasonality_mode(y: np.ndarray, season_length: int) -> tuple[str, str]:
    """Additive or multiplicative seasonality for ``y``, and why (rule in :mod:`assets.forecasting.engine`).

    Needs two full cycles and strictly positive values to consider multiplicative.
    """
    values = np.asarray(y, dtype=float)
    m = season_length
    if values.size < 2 * m:
        return "additive", "there are fewer than two seasonal cycles"
    if np.any(values <= 0):
        return "additive", "the series has zero or negative values"
    # Centred moving average: 2xm for an even season length, plain m for an odd one.
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(values.size, np.nan)
    trend[half : values.size - half] = np.convolve(values, weights, mode="valid")
    valid = ~np.isnan(trend)
    position = np.arange(values.size) % m
    detrended = values - trend
    ratio = values / trend
    additive_index = np.array([np.nanmean(detrended[valid & (position == j)]) for j in range(m)])
    multiplicative_index = np.array([np.nanmean(ratio[valid & (position == j)]) for j in range(m)])
    additive_index -= additive_index.mean()
    multiplicative_index /= multiplicative_index.mean()
    sse_add = float(np.sum((detrended - additive_index[position])[valid] ** 2))
    sse_mult = float(np.sum((values - trend * multiplicative_index[position])[valid] ** 2))
    if sse_add > 0 and sse_mult < (1 - MULTIPLICATIVE_MIN_GAIN) * sse_add:
        gain = 1 - sse_mult / sse_add
        return "multiplicative", f"the seasonal swings grow with the level ({gain:.0%} less decomposition error)"
    return "additive", "the seasonal swings do not grow with the level"
