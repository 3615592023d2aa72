"""Point and interval accuracy metrics used by the backtest.

Conventions (chosen so a metric is never ``inf`` and never raises on awkward data):

* MAPE and sMAPE are in percent. MAPE is NaN when any actual is 0 (it is undefined there).
  sMAPE is the Hyndman/M3 form ``200 * mean(|y - yhat| / (|y| + |yhat|))`` (0 to 200); a point
  where both the actual and the forecast are 0 counts as a perfect forecast (0).
* MASE divides the forecast MAE by the in-sample MAE of the seasonal naive forecast on the
  training window (Hyndman & Koehler 2006). When the training window has no full season plus one
  point (``len(train) <= m``) the lag-1 naive scale is used. A zero scale gives NaN.
* Coverage is the share of actuals inside ``[lower, upper]`` (both ends included).
* Empty inputs give NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _pair(y: ArrayLike, yhat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    actual = np.asarray(y, dtype=float)
    predicted = np.asarray(yhat, dtype=float)
    if actual.shape != predicted.shape:
        raise ValueError(f"y and yhat differ in shape: {actual.shape} vs {predicted.shape}")
    return actual, predicted


def mape(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean absolute percentage error, in percent; NaN if any actual is 0 or the input is empty."""
    actual, predicted = _pair(y, yhat)
    if actual.size == 0 or np.any(actual == 0):
        return float("nan")
    return float(np.mean(np.abs(actual - predicted) / np.abs(actual)) * 100.0)


def smape(y: ArrayLike, yhat: ArrayLike) -> float:
    """Symmetric MAPE in percent (0–200); a point with actual and forecast both 0 scores 0."""
    actual, predicted = _pair(y, yhat)
    if actual.size == 0:
        return float("nan")
    denominator = np.abs(actual) + np.abs(predicted)
    numerator = np.abs(actual - predicted)
    ratio = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    return float(np.mean(ratio) * 200.0)


def mase_scale(y_train: ArrayLike, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag ``season_length``) on the training window.

    Falls back to the lag-1 naive MAE when the window is not longer than one season; NaN when the
    window has fewer than 2 points or the scale is 0 (a flat training window).
    """
    train = np.asarray(y_train, dtype=float)
    lag = season_length if season_length >= 1 and train.size > season_length else 1
    if train.size <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    return scale if scale > 0 else float("nan")


def mase(y: ArrayLike, yhat: ArrayLike, y_train: ArrayLike, season_length: int) -> float:
    """Mean absolute scaled error of ``yhat`` against ``y``, scaled by :func:`mase_scale` of ``y_train``."""
    actual, predicted = _pair(y, yhat)
    scale = mase_scale(y_train, season_length)
    if actual.size == 0 or np.isnan(scale):
        return float("nan")
    return float(np.mean(np.abs(actual - predicted)) / scale)


def coverage(y: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actuals inside ``[lower, upper]``; NaN for empty input."""
    actual, low = _pair(y, lower)
    _, high = _pair(y, upper)
    if actual.size == 0:
        return float("nan")
    return float(np.mean((actual >= low) & (actual <= high)))
