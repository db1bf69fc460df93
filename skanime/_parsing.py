"""Parsers of MyAnimeList cell text: numbers, durations, air dates (also in
other formats, :func:`read_dates`).

It imports nothing of the package but the leaf :mod:`skanime._utils` (the
placeholders), and is shared by :func:`skanime.datasets.load_mal`, the column
roles of :mod:`skanime._roles` and the time column of
:class:`~skanime.intervals.ConformalRegressor`.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime

import numpy as np
import pandas as pd

from ._utils import PLACEHOLDERS

__all__ = [
    "NO_DATE",
    "date_years",
    "day_first",
    "dict_text",
    "parse_aired",
    "parse_duration",
    "parse_numbers",
    "read_dates",
    "season_of_month",
    "two_digit_year_span",
]

_SEASONS = ("Winter", "Spring", "Summer", "Fall")
#: Text of a date cell, lower case and stripped, that says there is no date
#: (MyAnimeList's "Not available"): missing, not a date that cannot be read.
NO_DATE = (*PLACEHOLDERS, "", "not available", "not yet aired")
_DATE_FORMATS = ("%b %d, %Y", "%d-%b-%y", "%b-%y", "%b, %Y", "%b %Y", "%Y")
_TWO_DIGIT_YEAR_FORMATS = ("%d-%b-%y", "%b-%y")
#: A number whose commas group its thousands: ``2,893,578``, ``-1,024.5``.
_THOUSANDS = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
#: A currency sign before a number, or a percent sign after it, read as the
#: number itself ("$12,345" is 12345, "85%" is 85).
_UNIT = r"^[$€£¥]\s*|\s*%$"
_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
#: A date of numbers with the year last: "05/04/2020", "20.01.2011", "1-10-99".
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?!\d)")
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


def _numeric_dates(column: pd.Series) -> pd.DataFrame:
    """The three numbers of each cell written as :data:`_NUMERIC_DATE`
    (columns 0, 1 and 2, the year last), NaN where a cell is not."""
    text = column.astype("string")
    return text.str.extract(_NUMERIC_DATE).astype("float64")


def day_first(column: pd.Series) -> bool | None:
    """Whether the column's dates of numbers with the year last put the day
    first (``"20/01/2011"``, as most of the world writes them) or the month
    (``"01/20/2011"``): True where some first number is over 12 and no second
    one is, False for the reverse, None where they do not tell (then
    :func:`read_dates` reads the month first, as pandas does). A column
    decides for all its cells, so that ``"01/10/1999"`` in a column of
    ``"20/01/2011"`` is the first of October.

    Examples
    --------
    >>> day_first(pd.Series(["20/01/2011", "01/10/1999", "Apr 5, 2009"]))
    True
    >>> day_first(pd.Series(["01/20/2011", "01/10/1999"]))
    False
    >>> print(day_first(pd.Series(["01/10/1999", "2011"])))  # it cannot tell
    None
    """
    parts = _numeric_dates(column).dropna()
    over_first, over_second = (parts[0] > 12).any(), (parts[1] > 12).any()
    if over_first != over_second:
        return bool(over_first)
    return None


def _as_text(value) -> str | None:
    """A cell as text for :func:`parse_aired`; None where it is missing. A JSON
    object reads as the date it holds (Jikan's ``aired``: its ``"string"``;
    AniList's ``startDate``: its year and month)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return dict_text(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # a list or an array: not a date anyway
        pass
    return str(value)


def dict_text(cell: dict) -> str | None:
    """The text a JSON object in a cell stands for, as the Jikan and AniList
    APIs nest them: its ``"name"`` (a genre or studio), its ``"string"``
    (Jikan's ``aired``), its ``"from"`` date, or its ``"year"`` and
    ``"month"`` (AniList's ``startDate``); None if it has none of these.

    >>> dict_text({"mal_id": 1, "type": "anime", "name": "Action"})
    'Action'
    >>> dict_text({"from": "1998-04-03T00:00:00+00:00", "string": "Apr 3, 1998"})
    'Apr 3, 1998'
    >>> dict_text({"year": 1998, "month": 4, "day": 3}), dict_text({"id": 5})
    ('1998-04', None)
    """
    for key in ("name", "string", "from"):
        value = cell.get(key)
        if isinstance(value, str) and value.strip():
            return value
    year, month = cell.get("year"), cell.get("month")
    if isinstance(year, int | float) and year == year:
        if isinstance(month, int | float) and month == month:
            return f"{int(year)}-{int(month):02d}"
        return str(int(year))
    return None


#: A time's offset from UTC after it ("T00:00:00+09:00", "12:30Z"): the date as
#: written is the anime's, so the offset is dropped rather than applied.
_UTC_OFFSET = re.compile(
    r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}:?\d{2})$"
)


def _pandas_dates(text: pd.Series) -> pd.Series:
    """pandas' reading of date text, NaT where it reads none; times' offsets
    from UTC are dropped (mixed offsets make pandas refuse the whole column)."""
    text = text.str.replace(_UTC_OFFSET, r"\1", regex=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(text, errors="coerce", format="mixed")
        except (ValueError, TypeError, OverflowError):  # any other mix: cell by cell
            return pd.Series(
                [_naive(pd.to_datetime(t, errors="coerce")) for t in text],
                index=text.index,
                dtype="datetime64[ns]",
            )


def _naive(date):
    """A timestamp without its time zone (the date as written), NaT as it is."""
    return date.tz_localize(None) if getattr(date, "tzinfo", None) else date


def _seasons(months: pd.Series) -> pd.Series:
    """The season of each month number (NaN where it is missing), as text."""
    return months.map(
        lambda m: np.nan if pd.isna(m) else season_of_month(int(m))
    ).astype(object)


def read_dates(
    column: pd.Series,
    span: tuple[int, int] | None = None,
    day_first: bool | None = None,
) -> tuple[pd.Series, pd.Series]:
    """The start year (float, NaN where unknown) and season (text, NaN where
    unknown) of each cell of an air-date column.

    A column of datetimes gives their year and month. Text is read by
    :func:`parse_aired` (MyAnimeList's formats, ``span`` for two-digit years),
    then dates of numbers with the year last (``"05/04/2020"``; the day first
    where ``day_first`` is True, as :func:`day_first` reads a column), then
    any other date pandas reads (ISO ``"2020-04-05"``, ``"5 Apr 2009"``); a
    year these last two give outside 1900-2100 is unknown.

    Examples
    --------
    >>> cells = pd.Series(["Apr 5, 2009 to ?", "2019-10-01", "01/10/1999", None])
    >>> year, season = read_dates(cells, day_first=True)
    >>> year.tolist(), season.tolist()
    ([2009.0, 2019.0, 1999.0, nan], ['Spring', 'Fall', 'Fall', nan])
    """
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        year = column.dt.year.astype("float64")
        return year, _seasons(column.dt.month)
    index = column.index
    texts = pd.Series([_as_text(value) for value in column], dtype=object)
    parsed = texts.map(lambda text: parse_aired(text, span=span))
    year = parsed.map(lambda t: t[0]).astype("float64")
    season = parsed.map(lambda t: np.nan if t[1] is None else t[1]).astype(object)
    unread = year.isna().to_numpy() & texts.notna().to_numpy()
    if not unread.any():
        year.index = season.index = index
        return year, season
    starts = texts[unread].astype(str).str.split(" to ").str[0]
    parts = _numeric_dates(starts)
    numeric = parts[2].notna()
    if numeric.any():
        first, second, years = parts[0], parts[1], parts[2]
        day, month = (first, second) if day_first else (second, first)
        years = years.map(
            lambda y: (
                np.nan if pd.isna(y) else y if y >= 100 else _century(int(y), span)
            )
        )
        numeric &= month.between(1, 12) & day.between(1, 31)
        numeric &= years.between(1900, 2100)
        rows = parts.index[numeric]
        year[rows] = years[numeric].astype("float64")
        season[rows] = _seasons(month[numeric])
    rest = starts[~numeric.to_numpy()]
    if len(rest):  # other formats: pandas' own parser
        dates = _pandas_dates(rest)
        dates = dates.where(dates.dt.year.between(1900, 2100))  # no "year 1"
        year[rest.index] = dates.dt.year.astype("float64")
        season[rest.index] = _seasons(dates.dt.month)
    year.index = season.index = index
    return year, season


def date_years(column: pd.Series) -> pd.Series:
    """Each cell's start date in years, as :func:`read_dates` reads the column
    (its two-digit years and day/month order judged on the whole column): the
    year plus a quarter for each season after Winter, the year alone where the
    season is unknown, NaN where the year is.

    Examples
    --------
    >>> date_years(pd.Series(["Apr 5, 2009 to Jul 4, 2010", "2005 to ?", "soon"]))
    0    2009.25
    1    2005.00
    2        NaN
    dtype: float64
    """
    year, season = read_dates(
        column, span=two_digit_year_span(column), day_first=day_first(column)
    )
    quarters = season.map(lambda s: np.nan if pd.isna(s) else _SEASONS.index(s) / 4)
    return year + quarters.astype("float64").fillna(0.0)


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
