"""Brazilian holidays plus Black Friday, in Prophet's ``holidays`` frame format.

Prophet's format: columns ``holiday`` (name), ``ds`` (date), ``lower_window`` and ``upper_window``
(days before/after ``ds`` that share the effect).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

HOLIDAY_COLUMNS = ["holiday", "ds", "lower_window", "upper_window"]
# Black Friday's effect spans the weekend after it and Cyber Monday: Friday + 3 days.
BLACK_FRIDAY_UPPER_WINDOW = 3


def black_friday(year: int) -> date:
    """The Friday after the fourth Thursday of November (US Thanksgiving), as retail uses it.

    Usually the fourth Friday, but the fifth when November starts on a Friday (2024-11-29).
    """
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=21 + 1)


def brazil_holidays(start_year: int, end_year: int, *, include_optional: bool = False) -> pd.DataFrame:
    """National public holidays of Brazil (``holidays`` package, names in English) and Black Friday.

    ``include_optional`` adds the optional days ("ponto facultativo": Carnival, Ash Wednesday,
    Corpus Christi, Christmas Eve, ...). Black Friday gets ``upper_window=3`` (weekend and Cyber
    Monday); every other day has a zero window. Rows are sorted by date.
    """
    if end_year < start_year:
        raise ValueError(f"end_year {end_year} is before start_year {start_year}")
    import holidays as holidays_lib

    years = list(range(start_year, end_year + 1))
    categories = ("public", "optional") if include_optional else ("public",)
    calendar = holidays_lib.country_holidays("BR", years=years, categories=categories, language="en_US")
    rows = [(name, pd.Timestamp(day), 0, 0) for day, names in calendar.items() for name in names.split("; ")]
    rows += [("Black Friday", pd.Timestamp(black_friday(year)), 0, BLACK_FRIDAY_UPPER_WINDOW) for year in years]
    frame = pd.DataFrame(rows, columns=HOLIDAY_COLUMNS)
    return frame.sort_values(["ds", "holiday"], ignore_index=True)
