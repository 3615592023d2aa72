"""Validate a ``ds, y`` history and make it regular (one row per period, gaps interpolated)."""

from __future__ import annotations

import numpy as np
import pandas as pd

SEASON_LENGTHS = {"MS": 12, "D": 7}
MIN_POINTS = 3
# More missing periods than this share of the range is too sparse to interpolate honestly.
MAX_MISSING_SHARE = 0.2


def prepare_history(history: pd.DataFrame, freq: str) -> tuple[pd.DataFrame, list[str]]:
    """Validate ``history`` and return it sorted, regular (gaps interpolated) as ``ds``, ``y`` + notes.

    Raises ``ValueError`` for: not a DataFrame, missing ``ds``/``y``, unparseable or missing dates,
    dates not aligned to ``freq``, duplicate dates, non-numeric, NaN or infinite ``y``, fewer than
    3 points, unsupported ``freq``, or more than 20% of the periods missing.
    """
    if freq not in SEASON_LENGTHS:
        raise ValueError(f"unsupported freq {freq!r}: use 'MS' (monthly, month starts) or 'D' (daily)")
    if not isinstance(history, pd.DataFrame):
        raise ValueError(f"history must be a pandas DataFrame with columns 'ds' and 'y', got {type(history).__name__}")
    missing = [column for column in ("ds", "y") if column not in history.columns]
    if missing:
        raise ValueError(
            f"history is missing column(s) {missing}: expected 'ds' (dates) and 'y' (values), "
            f"got {list(history.columns)}"
        )
    try:
        ds = pd.to_datetime(history["ds"])
    except (ValueError, TypeError) as error:
        raise ValueError(f"history.ds could not be read as dates: {error}") from error
    if ds.dt.tz is not None:
        ds = ds.dt.tz_localize(None)
    if ds.isna().any():
        raise ValueError(f"history.ds has {int(ds.isna().sum())} missing date(s)")
    try:
        y = pd.to_numeric(history["y"], errors="raise").astype(float)
    except (ValueError, TypeError) as error:
        raise ValueError(f"history.y must be numeric: {error}") from error
    frame = pd.DataFrame({"ds": ds.to_numpy(), "y": y.to_numpy()}).sort_values("ds", ignore_index=True)
    duplicated = frame.loc[frame["ds"].duplicated(), "ds"]
    if len(duplicated):
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in duplicated.drop_duplicates().iloc[:5])
        raise ValueError(f"history.ds has duplicate dates ({shown}); aggregate to one row per period first")
    if frame["y"].isna().any():
        bad = frame.loc[frame["y"].isna(), "ds"]
        raise ValueError(
            f"history.y has {len(bad)} NaN value(s) (first at ds={bad.iloc[0]:%Y-%m-%d}); "
            "drop those rows (gaps are interpolated) or fill them before forecasting"
        )
    if not np.isfinite(frame["y"].to_numpy()).all():
        raise ValueError("history.y has infinite values")
    if len(frame) < MIN_POINTS:
        raise ValueError(f"history needs at least {MIN_POINTS} points to forecast, got {len(frame)}")
    aligned = frame["ds"] == frame["ds"].dt.normalize()
    if freq == "MS":
        aligned &= frame["ds"].dt.day == 1
    if not aligned.all():
        first = frame.loc[~aligned, "ds"].iloc[0]
        expected = "the first day of a month at midnight" if freq == "MS" else "a date at midnight"
        raise ValueError(f"freq={freq!r} needs every ds to be {expected}; got {first}")
    full = pd.date_range(frame["ds"].iloc[0], frame["ds"].iloc[-1], freq=freq)
    notes: list[str] = []
    gaps = len(full) - len(frame)
    if gaps:
        if gaps > MAX_MISSING_SHARE * len(full):
            raise ValueError(
                f"history.ds misses {gaps} of {len(full)} periods between its first and last date "
                f"(more than {MAX_MISSING_SHARE:.0%}); too sparse to forecast"
            )
        filled = frame.set_index("ds").reindex(full)
        missing_dates = filled.index[filled["y"].isna()]
        filled["y"] = filled["y"].interpolate(method="linear")
        frame = filled.rename_axis("ds").reset_index()
        shown = ", ".join(f"{d:%Y-%m-%d}" for d in missing_dates[:5]) + (", ..." if gaps > 5 else "")
        notes.append(f"Filled {gaps} missing period(s) ({shown}) by linear interpolation between their neighbours.")
    return frame, notes
