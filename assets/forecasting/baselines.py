"""Benchmark forecasts with the prediction intervals of Hyndman & Athanasopoulos, FPP3 §5.5.

Both work on the values only (the dates are regular by the time they get here). The residual
standard deviation is the root mean square of the one-step in-sample residuals, divided by
``T - K - M`` as in FPP3 (K parameters estimated, M residuals missing at the start), and the
interval is ``yhat ± z * sigma_h`` with ``z`` the normal quantile of the requested width.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class PointForecast:
    """A forecast for ``h`` future periods: point values and the interval bounds."""

    yhat: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def clipped(self, floor: float = 0.0) -> PointForecast:
        """The same forecast with every value raised to at least ``floor``."""
        return PointForecast(np.maximum(self.yhat, floor), np.maximum(self.lower, floor), np.maximum(self.upper, floor))

    def widened(self, scale: float) -> PointForecast:
        """The same forecast with each side of the interval stretched ``scale`` times around ``yhat``."""
        return PointForecast(
            self.yhat, self.yhat - scale * (self.yhat - self.lower), self.yhat + scale * (self.upper - self.yhat)
        )


def z_value(interval_width: float) -> float:
    """Two-sided normal quantile for a central interval of ``interval_width`` (1.2816 for 0.8)."""
    return NormalDist().inv_cdf(0.5 + interval_width / 2.0)


def seasonal_naive(y: ArrayLike, horizon: int, season_length: int, interval_width: float) -> PointForecast:
    """``yhat(T+h) = y(T+h-m(k+1))`` with ``k = floor((h-1)/m)``; ``sigma_h = sigma * sqrt(k+1)``.

    Needs more than one season of history (``len(y) > m``) so at least one residual exists.
    """
    values = np.asarray(y, dtype=float)
    m = season_length
    if values.size <= m:
        raise ValueError(f"seasonal naive needs more than {m} points, got {values.size}")
    steps = np.arange(1, horizon + 1)
    k = (steps - 1) // m
    yhat = values[values.size - m + (steps - 1) % m]
    residuals = values[m:] - values[:-m]
    sigma = float(np.sqrt(np.mean(residuals**2)))
    half = z_value(interval_width) * sigma * np.sqrt(k + 1)
    return PointForecast(yhat, yhat - half, yhat + half)


def drift(y: ArrayLike, horizon: int, interval_width: float) -> PointForecast:
    """``yhat(T+h) = y_T + h (y_T - y_1)/(T-1)``; ``sigma_h = sigma * sqrt(h (1 + h/(T-1)))``.

    ``sigma`` comes from the residuals ``y_t - y_{t-1} - c`` (one parameter, one missing residual,
    so ``T - 2`` degrees of freedom); needs at least 3 points.
    """
    values = np.asarray(y, dtype=float)
    t_len = values.size
    if t_len < 3:
        raise ValueError(f"drift needs at least 3 points, got {t_len}")
    slope = (values[-1] - values[0]) / (t_len - 1)
    steps = np.arange(1, horizon + 1, dtype=float)
    yhat = values[-1] + steps * slope
    residuals = np.diff(values) - slope
    sigma = float(np.sqrt(np.sum(residuals**2) / (t_len - 2)))
    half = z_value(interval_width) * sigma * np.sqrt(steps * (1 + steps / (t_len - 1)))
    return PointForecast(yhat, yhat - half, yhat + half)
