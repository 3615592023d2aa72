"""Conservative / base / optimistic paths derived from a published forecast."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from assets.forecasting.engine import ForecastResult

DEFAULT_SHOCKS = {"conservative": -0.02, "base": 0.0, "optimistic": 0.02}
SCENARIO_BOUNDS = {"conservative": "yhat_lower", "base": "yhat", "optimistic": "yhat_upper"}


def scenario_paths(result: ForecastResult, shocks: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Conservative / base / optimistic paths from the published forecast, as ``ds, scenario, value``.

    Each scenario starts from one column of ``result.forecast`` (conservative → ``yhat_lower``,
    base → ``yhat``, optimistic → ``yhat_upper``) and multiplies period ``k`` (1 for the first
    forecast period) by ``(1 + shock) ** k``, a compounding growth shock per period. Default
    shocks: -2%, 0%, +2%. Only those three scenario names are accepted; shocks must be > -1.
    """
    chosen = dict(DEFAULT_SHOCKS if shocks is None else shocks)
    unknown = sorted(set(chosen) - set(SCENARIO_BOUNDS))
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}: use {sorted(SCENARIO_BOUNDS)}")
    for name, shock in chosen.items():
        if not math.isfinite(shock) or shock <= -1:
            raise ValueError(f"shock for {name!r} must be a finite number above -1, got {shock!r}")
    forecast = result.forecast
    steps = np.arange(1, len(forecast) + 1, dtype=float)
    frames = [
        pd.DataFrame(
            {
                "ds": forecast["ds"].to_numpy(),
                "scenario": name,
                "value": forecast[SCENARIO_BOUNDS[name]].to_numpy(dtype=float) * (1.0 + shock) ** steps,
            }
        )
        for name, shock in chosen.items()
    ]
    return pd.concat(frames, ignore_index=True)
