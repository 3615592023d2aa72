"""A PNG chart of a forecast: history, the published forecast and its interval, backtest cutoffs."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from assets.forecasting.engine import ForecastResult

LABELS = {"prophet": "Prophet", "seasonal_naive": "seasonal naive", "drift": "drift"}


def plot_forecast(history: pd.DataFrame, result: ForecastResult, title: str) -> bytes:
    """Render ``history`` (``ds``, ``y``) and ``result`` as PNG bytes.

    Shows the actuals, the chosen model's forecast with its shaded interval, the other candidates
    as thin dotted lines, and a dashed vertical line at each backtest cutoff. Uses a standalone
    ``Figure`` with the Agg canvas, so no global pyplot state is touched (safe in threads/servers).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    actual = history.assign(ds=pd.to_datetime(history["ds"])).sort_values("ds")
    axes.plot(actual["ds"], actual["y"], color="#222222", linewidth=1.4, label="actuals")
    for name, frame in result.candidates.items():
        if name != result.model:
            axes.plot(frame["ds"], frame["yhat"], linestyle=":", linewidth=1.0, label=LABELS.get(name, name))
    forecast = result.forecast
    chosen = LABELS.get(result.model, result.model)
    axes.plot(forecast["ds"], forecast["yhat"], color="#1f77b4", linewidth=2.0, label=f"forecast ({chosen})")
    axes.fill_between(
        forecast["ds"],
        forecast["yhat_lower"],
        forecast["yhat_upper"],
        color="#1f77b4",
        alpha=0.2,
        label=f"{round(result.interval_width * 100)}% interval",
    )
    for index, cutoff in enumerate(result.backtest.cutoffs):
        label = "backtest cutoffs" if index == 0 else None
        axes.axvline(cutoff, color="#888888", linestyle="--", linewidth=0.8, label=label)
    axes.set_title(f"{title} — model: {chosen}")
    axes.set_xlabel("date")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
