"""Calendar of the simulated period: months, local days, seasonality and São Paulo time.

Days are integers (days since 1970-01-01 as a São Paulo calendar date) so every date operation is
numpy arithmetic. Local time becomes UTC through a per-day offset table, computed once from the
tz database, which keeps the pre-2019 Brazilian daylight-saving rules right without per-row work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from integrations.demo_world import config
from integrations.demo_world.sampling import categorical

TIMEZONE: Final = "America/Sao_Paulo"
DAY_MS: Final = 86_400_000
_PADDING_DAYS: Final = 400  # sign-ups precede first orders; modifications trail the horizon


def _month_index(month: str) -> int:
    year, mon = (int(part) for part in month.split("-"))
    return year * 12 + mon - 1


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _epoch_day(year: int, month: int, day: int) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}") - np.datetime64("1970-01-01")).astype(int))


@dataclass(frozen=True)
class Timeline:
    """The simulated months and the helpers every module uses to place events in them."""

    labels: tuple[str, ...]
    month_start: np.ndarray  # int32 epoch day of each month's first day, plus one past the end
    offset_first_day: int
    utc_offset_s: np.ndarray  # seconds to add to local time to get UTC, per day from offset_first_day

    @classmethod
    def build(cls, start_month: str, months: int) -> Timeline:
        first = _month_index(start_month)
        labels = tuple(_month_label(first + i) for i in range(months))
        starts = [_epoch_day((first + i) // 12, (first + i) % 12 + 1, 1) for i in range(months + 1)]
        month_start = np.asarray(starts, dtype=np.int32)
        offset_first_day = int(month_start[0]) - _PADDING_DAYS
        n_days = int(month_start[-1]) + _PADDING_DAYS - offset_first_day
        noon = pd.to_datetime(offset_first_day + np.arange(n_days), unit="D") + pd.Timedelta(hours=12)
        local = noon.tz_localize(TIMEZONE)
        offset = (noon - local.tz_convert("UTC").tz_localize(None)).total_seconds()
        return cls(labels, month_start, offset_first_day, -np.asarray(offset, dtype=np.int64))

    @property
    def n_months(self) -> int:
        return len(self.labels)

    @property
    def first_day(self) -> int:
        return int(self.month_start[0])

    @property
    def end_day(self) -> int:
        """First day after the horizon (exclusive)."""
        return int(self.month_start[-1])

    @property
    def days_in_month(self) -> np.ndarray:
        return np.diff(self.month_start).astype(np.int32)

    @property
    def end_ms(self) -> int:
        """UTC milliseconds of local midnight after the last simulated day."""
        return int(self.to_utc_ms(np.array([self.end_day]), np.array([0]))[0])

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Month index of each local day (-1 before the horizon, n_months after it)."""
        return (np.searchsorted(self.month_start, days, side="right") - 1).astype(np.int32)

    def to_utc_ms(self, days: np.ndarray, seconds: np.ndarray, millis: np.ndarray | int = 0) -> np.ndarray:
        """UTC epoch milliseconds of local (day, second of day, millisecond)."""
        days64 = np.asarray(days, dtype=np.int64)
        offset = self.utc_offset_s[np.clip(days64 - self.offset_first_day, 0, len(self.utc_offset_s) - 1)]
        return (days64 * 86_400 + np.asarray(seconds, dtype=np.int64) + offset) * 1000 + np.asarray(millis)

    def to_local_day(self, utc_ms: np.ndarray) -> np.ndarray:
        """Local calendar day of UTC epoch milliseconds (business hours never straddle a DST switch)."""
        utc_ms = np.asarray(utc_ms, dtype=np.int64)
        guess = utc_ms // DAY_MS
        offset = self.utc_offset_s[np.clip(guess - self.offset_first_day, 0, len(self.utc_offset_s) - 1)]
        return ((utc_ms - offset * 1000) // DAY_MS).astype(np.int32)

    def daily_weights(self) -> np.ndarray:
        """Relative demand per horizon day: growth x weekday x retail calendar (Black Friday, ...)."""
        days = np.arange(self.first_day, self.end_day, dtype=np.int64)
        months_elapsed = (days - self.first_day) / 30.44
        weight = np.exp(config.GROWTH_PER_MONTH * months_elapsed)
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        weight *= np.asarray(config.WEEKDAY_WEIGHTS)[weekday]
        return weight * self.event_boost(days)

    def event_boost(self, days: np.ndarray) -> np.ndarray:
        """Multiplier of the Brazilian retail calendar on each day (1.0 on ordinary days)."""
        days = np.asarray(days, dtype=np.int64)
        boost = np.ones(len(days))
        years = days[[0, -1]].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        first_year, last_year = int(years[0]), int(years[1])
        for year in range(first_year, last_year + 1):
            black_friday = last_weekday(year, 11, 4)
            boost[(days >= black_friday - 4) & (days <= black_friday + 3)] *= config.BLACK_FRIDAY_WEEK_BOOST
            boost[days == black_friday] *= config.BLACK_FRIDAY_DAY_BOOST / config.BLACK_FRIDAY_WEEK_BOOST
            boost[(days >= _epoch_day(year, 12, 1)) & (days <= _epoch_day(year, 12, 23))] *= config.CHRISTMAS_BOOST
            mothers = nth_weekday(year, 5, 6, 2)
            boost[(days > mothers - 7) & (days <= mothers)] *= config.MOTHERS_DAY_BOOST
            fathers = nth_weekday(year, 8, 6, 2)
            boost[(days > fathers - 7) & (days <= fathers)] *= config.FATHERS_DAY_BOOST
            boost[(days >= _epoch_day(year, 1, 1)) & (days <= _epoch_day(year, 1, 31))] *= config.JANUARY_DIP
        return boost

    def day_label(self, day: int) -> str:
        return str(np.datetime64(int(day), "D"))


def nth_weekday(year: int, month: int, weekday: int, n: int) -> int:
    """Epoch day of the n-th ``weekday`` (Monday = 0) of a month: Dia das Mães is (5, 6, 2)."""
    first = _epoch_day(year, month, 1)
    shift = (weekday - (first + 3) % 7) % 7
    return first + shift + 7 * (n - 1)


def last_weekday(year: int, month: int, weekday: int) -> int:
    """Epoch day of the last ``weekday`` of a month: Black Friday is the last Friday of November."""
    next_first = _epoch_day(year + month // 12, month % 12 + 1, 1)
    last = next_first - 1
    return last - ((last + 3) % 7 - weekday) % 7


def business_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after local midnight during business hours, weighted by the hour's traffic."""
    hour_weights = np.asarray(config.HOUR_WEIGHTS, dtype=np.float64)
    hours = categorical(rng, hour_weights, n) + config.FIRST_BUSINESS_HOUR
    return (hours * 3600 + rng.integers(0, 3600, n)).astype(np.int64)
