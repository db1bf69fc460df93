"""Reading the column that orders rows in time (``ConformalRegressor``'s
``time_column``, ``skanime train --calibrate-on-latest``): numbers, datetimes,
or dates written as text, in years."""

from __future__ import annotations

import pandas as pd

from ._parsing import NO_DATE, date_years
from ._warn import warn_user
from .exceptions import ColumnError, DataWarning


def read_times(times: pd.Series, what: str, warn: bool = True) -> pd.Series:
    """The column that orders the rows in time (``what`` names it in messages):
    numbers or dates (also as date or Timestamp objects) as they are; text that
    reads as numbers as numbers; text that reads as dates (``"Apr 5, 2009 to
    Jul 4, 2010"``, ``"2019-10-01"``), in a column that may also hold numbers,
    in years, by
    :func:`~skanime._parsing.date_years`, a cell that holds no date without a
    time (with a warning where ``warn``); a column mostly of other text (titles)
    refused, as its order is the alphabet's.

    Examples
    --------
    >>> read_times(pd.Series(["Apr 5, 2009 to Jul 4, 2010", "Not available"]), "t")
    0    2009.25
    1        NaN
    dtype: float64
    """
    types = pd.api.types
    if types.is_numeric_dtype(times) or types.is_datetime64_any_dtype(times):
        return times
    if types.infer_dtype(times, skipna=True) in ("date", "datetime"):
        return times  # date or Timestamp objects (.dt.date, mixed zones)
    numbers = pd.to_numeric(times, errors="coerce")
    if not (times.notna() & numbers.isna()).any():
        return numbers
    years = numbers.fillna(date_years(times))  # "2009.5" as a number, too
    text = times.astype(str).str.strip().str.lower()
    held = times.notna() & ~text.isin(NO_DATE)  # "Not available": no time
    unread = held & years.isna()
    if 2 * unread.sum() > held.sum():  # mostly not dates: titles, labels
        raise ColumnError(
            f"{what} holds values that are neither numbers nor dates (such as "
            f"{times[unread].iloc[0]!r}), which cannot order the rows in time. "
            "Name a column of numbers (such as 'Year') or of dates (such as "
            "'Aired')."
        )
    if warn and unread.any():
        warn_user(
            f"{what}: {int(unread.sum())} value(s) are neither numbers nor dates "
            f"(e.g. {times[unread].iloc[0]!r}); those rows have no time, so they "
            "never calibrate.",
            DataWarning,
        )
    return years
