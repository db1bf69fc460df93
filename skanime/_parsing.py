"""Parsers of MyAnimeList cell text: numbers, durations, air dates.

A leaf module (it imports nothing of the package), shared by
:func:`skanime.datasets.load_mal` and the column roles of :mod:`skanime._roles`.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd

__all__ = [
    "parse_aired",
    "parse_duration",
    "parse_numbers",
    "season_of_month",
    "two_digit_year_span",
]

_SEASONS = ("Winter", "Spring", "Summer", "Fall")
_DATE_FORMATS = ("%b %d, %Y", "%d-%b-%y", "%b-%y", "%b, %Y", "%b %Y", "%Y")
_TWO_DIGIT_YEAR_FORMATS = ("%d-%b-%y", "%b-%y")
#: A number whose commas group its thousands: ``2,893,578``, ``-1,024.5``.
_THOUSANDS = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
#: A currency sign before a number, or a percent sign after it, read as the
#: number itself ("$12,345" is 12345, "85%" is 85).
_UNIT = r"^[$€£¥]\s*|\s*%$"
_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
_SEASON_YEAR = re.compile(r"^(winter|spring|summer|fall|autumn)\s+(\d{4})$", re.I)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(hr|h|min|m|sec|s)\b\.?", re.I)
_UNITS = {"hr": 60.0, "h": 60.0, "min": 1.0, "m": 1.0, "sec": 1 / 60, "s": 1 / 60}


def season_of_month(month: int) -> str:
    """The anime season of a month: 1-3 Winter, 4-6 Spring, 7-9 Summer, 10-12 Fall.

    Examples
    --------
    >>> season_of_month(4)
    'Spring'
    """
    return _SEASONS[(int(month) - 1) // 3]


def parse_duration(text) -> float:
    """Minutes in a MyAnimeList duration (``"1 hr. 55 min."`` -> 115.0), else NaN.

    Examples
    --------
    >>> parse_duration("24 min. per ep.")
    24.0
    >>> parse_duration("1 hr. 55 min.")
    115.0
    """
    if not isinstance(text, str):
        return np.nan
    try:  # a plain number is already minutes (a frame written by skanime)
        return float(text)
    except ValueError:
        pass
    found = _DURATION.findall(text)
    if not found:
        return np.nan
    return round(sum(float(n) * _UNITS[u.lower()] for n, u in found), 2)


def parse_aired(text, span: tuple[int, int] | None = None) -> tuple[float, str | None]:
    """Start year and season of a MyAnimeList ``Aired`` value, (NaN, None) if unknown.

    Accepts ``"Apr 5, 2009 to Jul 4, 2010"``, ``"Sep 1, 2001"``, ``"9-Nov-18"``,
    ``"2005 to ?"``, ``"Apr 2009"``, ``"Mar-11"`` (a spreadsheet's March 2011) and
    Kaggle's ``Premiered`` (``"spring 1998"``).

    Parameters
    ----------
    text : str or None
        The ``Aired`` cell.
    span : (int, int), default=None
        The first and last year that a two-digit year can stand for, as
        :func:`two_digit_year_span` reads them off a whole column. ``"26"`` is
        2026 if that is in ``span``, else 1926 if that is; where neither is
        (or ``span`` is None), the clock decides: the year up to two years
        after the current one, so ``"63"`` is 1963. Four-digit years are never
        moved.

    Examples
    --------
    >>> parse_aired("Apr 5, 2009 to Jul 4, 2010")
    (2009.0, 'Spring')
    >>> parse_aired("spring 1998")
    (1998.0, 'Spring')
    >>> parse_aired("6-Oct-26", span=(1917, 2024))
    (1926.0, 'Fall')
    """
    if not isinstance(text, str) or not text.strip():
        return np.nan, None
    start = text.split(" to ")[0].strip()
    match = _SEASON_YEAR.match(start)
    if match:
        season = match.group(1).capitalize().replace("Autumn", "Fall")
        return float(match.group(2)), season
    for fmt in _DATE_FORMATS:
        try:
            date = datetime.strptime(start, fmt)
        except ValueError:
            continue
        year = date.year
        if fmt in _TWO_DIGIT_YEAR_FORMATS:
            year = _century(year % 100, span)
        season = None if fmt == "%Y" else season_of_month(date.month)
        return float(year), season
    return np.nan, None


def _century(two_digits: int, span: tuple[int, int] | None) -> int:
    """The year that ``two_digits`` stands for: see :func:`parse_aired`."""
    later, earlier = 2000 + two_digits, 1900 + two_digits
    if span is not None:
        for year in (later, earlier):
            if span[0] <= year <= span[1]:
                return year
    return later if later <= datetime.now().year + 2 else earlier


def two_digit_year_span(column: pd.Series) -> tuple[int, int] | None:
    """The years that the two-digit years of an ``Aired`` column can stand for:
    from the earliest year it writes in four digits to two years after the
    latest; None if it writes none. For :func:`parse_aired`'s ``span``.

    A spreadsheet writes single dates with two-digit years (``"6-Oct-26"``)
    and leaves ranges (``"Apr 5, 2009 to Jul 4, 2010"``) in four digits, so the
    ranges tell which century a file's dates are in, whatever the date today.

    Examples
    --------
    >>> two_digit_year_span(pd.Series(["Oct 1963 to 1964", "Jan 2022 to ?", None]))
    (1963, 2024)
    """
    years = column.dropna().astype(str).str.findall(_FOUR_DIGITS).explode().dropna()
    if not len(years):
        return None
    years = years.astype(int)
    return int(years.min()), int(years.max()) + 2


def parse_numbers(column: pd.Series) -> pd.Series:
    """Floats of a column of number text (``"2,893,578"`` -> 2893578.0); NaN where
    a cell is not a number (``"Unknown"``, ``"add some"``, blank).

    A currency sign before a number or a percent sign after it is dropped, so
    that a column of money or of shares reads as numbers in its own unit.

    Examples
    --------
    >>> parse_numbers(pd.Series(["2,893,578", "Unknown", 12, "5,23"])).tolist()
    [2893578.0, nan, 12.0, nan]
    >>> parse_numbers(pd.Series(["$12,345", "85%", "€ 3.5", "5 %"])).tolist()
    [12345.0, 85.0, 3.5, 5.0]
    """
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype("float64")
    if pd.api.types.is_numeric_dtype(column.dtype):
        return pd.Series(
            column.to_numpy(dtype="float64", na_value=np.nan),
            index=column.index,
            name=column.name,
        )
    text = column.astype("string").str.strip().str.replace(_UNIT, "", regex=True)
    # commas only as thousands separators ("2,893,578"): "5,23" (a decimal
    # comma) is not a number here, rather than 523
    comma = text.str.contains(",", regex=False).fillna(False)
    grouped = text.str.fullmatch(_THOUSANDS).fillna(False)
    text = text.str.replace(",", "", regex=False).where(~comma | grouped)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers.to_numpy(na_value=np.nan)))
