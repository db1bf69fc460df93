"""Column roles: what each column of an anime table is, and why.

:func:`infer_column_roles` gives every column of a frame one role -- ``numeric``,
``categorical``, ``list`` (comma-separated labels), ``text`` (free text such as a
title), ``poster`` (image paths or URLs), ``date`` (an air date: becomes a year
and a season), ``duration`` (``"24 min. per ep."``: becomes minutes) or
``ignored`` -- each with its reason. Known MyAnimeList names (those of
:func:`~skanime.datasets.load_mal`, of the raw ``anime.csv`` and of Kaggle's
"anime-dataset-2023") get their known role; other columns are judged from their
dtype and content. :class:`TableCleaner` turns the raw columns into what the
encoders take, so that ``pd.read_csv("anime.csv")`` can be fed as it is.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from datetime import timedelta

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._compact_state import CompactDictsMixin
from ._held_images import held_image
from ._parsing import (
    NO_DATE,
    day_first,
    dict_text,
    parse_aired,
    parse_duration,
    parse_numbers,
    read_dates,
    two_digit_year_span,
)
from ._tabular import PLACEHOLDERS, _as_frame, _factorize_text, _warn_unread, is_null
from ._utils import URL_SCHEME, is_label_list, name_key, split_labels
from ._validation import to_frame
from .exceptions import ColumnError

__all__ = ["ROLES", "ColumnRoles", "TableCleaner", "infer_column_roles", "to_pandas"]

#: Every role, in the order they are shown.
ROLES = (
    "numeric",
    "categorical",
    "list",
    "text",
    "poster",
    "date",
    "duration",
    "ignored",
)
_INPUT_ROLES = ROLES[:-1]

_IDENTIFIER = "an identifier"
#: How the reason of a column ignored for its content as an identifier starts.
_IDENTIFIER_LIKE = "identifier-like: "
_TARGET = "the target (the score itself)"
_LEAK = "known only after release (it leaks the score)"
#: Known column names (compared lower-case, without spaces, "_" or "-") -> role,
#: or the reason they are ignored.
KNOWN_COLUMNS: dict[str, tuple[str, str]] = {
    # load_mal's frame and the raw anime.csv
    "animeid": ("ignored", _IDENTIFIER),
    "malid": ("ignored", _IDENTIFIER),
    "title": ("text", "known MyAnimeList column (the title)"),
    "japanese": ("text", "known MyAnimeList column (the Japanese title)"),
    "type": ("categorical", "known MyAnimeList column"),
    "source": ("categorical", "known MyAnimeList column"),
    "rating": ("categorical", "known MyAnimeList column (age rating)"),
    "season": ("categorical", "known MyAnimeList column"),
    "episodes": ("numeric", "known MyAnimeList column"),
    "duration": ("duration", "known MyAnimeList column"),
    "year": ("numeric", "known MyAnimeList column"),
    "aired": ("date", "known MyAnimeList column (start year and season)"),
    "premiered": ("date", "known MyAnimeList column (season and year)"),
    "genres": ("list", "known MyAnimeList column"),
    "themes": ("list", "known MyAnimeList column"),
    "studios": ("list", "known MyAnimeList column"),
    "producers": ("list", "known MyAnimeList column"),
    "licensors": (
        "ignored",
        "licensors are often found years after release; name it to use it",
    ),
    "poster": ("poster", "known column of poster paths"),
    "imageurl": ("poster", "known column of poster URLs"),
    "status": ("ignored", "the airing status changes after release"),
    # Jikan's (the MyAnimeList API's) fields beyond MyAnimeList's columns
    "airing": ("ignored", "the airing status changes after release"),
    "background": ("ignored", "written after release (it can tell the reception)"),
    "titles": (
        "ignored",
        "Jikan's list of the titles, which title, title_english and "
        "title_japanese give as text",
    ),
    "titleenglish": ("text", "known Jikan field (the English title)"),
    "titlejapanese": ("text", "known Jikan field (the Japanese title)"),
    "score": ("ignored", _TARGET),
    # Kaggle's anime-dataset-2023
    "name": ("text", "known Kaggle column (the title)"),
    "englishname": ("text", "known Kaggle column (the English title)"),
    "othername": ("text", "known Kaggle column (the native title)"),
    "synopsis": ("text", "known Kaggle column"),
    # Kaggle's anime-recommendation-database-2020 (its other names are above)
    "japanesename": ("text", "known Kaggle column (the Japanese title)"),
    # post-release figures
    "members": ("ignored", _LEAK),
    "favorites": ("ignored", _LEAK),
    "scoredby": ("ignored", _LEAK),
    "popularity": ("ignored", _LEAK),
    "rank": ("ignored", _LEAK),
    "ranked": ("ignored", _LEAK),
    "ranking": ("ignored", _LEAK),
    "watching": ("ignored", _LEAK),
    "completed": ("ignored", _LEAK),
    "onhold": ("ignored", _LEAK),
    "dropped": ("ignored", _LEAK),
    "plantowatch": ("ignored", _LEAK),
    # Kaggle's anime-recommendation-database-2020: how many users gave each
    # score ("Score-10" to "Score-1"), the score's own distribution
    **{f"score{n}": ("ignored", _LEAK) for n in range(1, 11)},
}

_IMAGE = re.compile(r"\.(?:jpe?g|png|webp|gif|bmp)(?:\?.*)?$", re.I)
_DURATION_TEXT = re.compile(r"\d\s*(?:hr|min|sec)\b", re.I)
_LIST_SPLIT = re.compile(r"\s*,\s*")
#: Share of the non-missing cells that must fit a shape for a column to get it.
_SHARE = 0.9
_SAMPLE = 2000
#: Cell text that means "missing" when judging a column: what says "no date"
#: in a date column (placeholders, "Not available") says it in any column.
_MISSING = NO_DATE


def to_pandas(X) -> pd.DataFrame:
    """A pandas frame of ``X``: dicts of columns, lists of records and the
    frames ``predict`` reads (polars, pyarrow ...; a lazy one is refused,
    saying how to compute it) are converted, pandas kept as is.

    Examples
    --------
    >>> to_pandas({"Type": ["TV"]}).columns.tolist()
    ['Type']
    >>> to_pandas([{"Type": "TV"}, {"Type": "Movie"}])["Type"].tolist()
    ['TV', 'Movie']
    """
    if isinstance(X, Mapping):
        return pd.DataFrame(X)
    frame = to_frame(X)  # as fit and predict read it
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(X, (np.ndarray, list)):  # positional names, as _tabular does
        return _as_frame(X)
    raise TypeError(
        f"Expected a pandas or polars DataFrame, got {type(X).__name__}; column "
        "roles need column names."
    )


class ColumnRoles:
    """The role of each column, with its reason.

    A plain container of strings (picklable, safe for skops): ``roles[role]`` is
    the list of columns with that role, ``reasons[column]`` why.

    Parameters
    ----------
    roles : dict of str to list of str
        Role -> columns, for each role of :data:`ROLES`.
    reasons : dict of str to str
        Column -> why it has its role.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Type": ["TV", "Movie"], "Members": [10, 20]})
    >>> roles = infer_column_roles(frame)
    >>> roles["categorical"], roles.ignored
    (['Type'], {'Members': 'known only after release (it leaks the score)'})
    """

    def __init__(self, roles: Mapping[str, Sequence[str]], reasons: Mapping):
        self.roles = {role: [str(c) for c in roles.get(role, ())] for role in ROLES}
        self.reasons = {str(k): str(v) for k, v in reasons.items()}

    def __getitem__(self, role: str) -> list[str]:
        if role not in self.roles:
            raise KeyError(f"Unknown role {role!r}; the roles are {list(ROLES)}.")
        return self.roles[role]

    @property
    def ignored(self) -> dict[str, str]:
        """Ignored column -> reason."""
        return {c: self.reasons[c] for c in self.roles["ignored"]}

    @property
    def identifiers(self) -> list[str]:
        """The ignored columns that tell a row (``anime_id``, a distinct
        integer in every row), in X's order.

        >>> frame = pd.DataFrame({"anime_id": [1, 2], "Type": ["TV", "Movie"]})
        >>> infer_column_roles(frame).identifiers
        ['anime_id']
        """
        return [
            column
            for column, why in self.ignored.items()
            if why == _IDENTIFIER or why.startswith(_IDENTIFIER_LIKE)
        ]

    @property
    def used(self) -> list[str]:
        """The columns the model reads (every role but ``ignored``), in X's order."""
        used = [c for role in _INPUT_ROLES for c in self.roles[role]]
        order = {c: i for i, c in enumerate(self.reasons)}
        return sorted(used, key=lambda c: order.get(c, len(order)))

    def role_of(self, column: str) -> str:
        """The role of one column."""
        for role, columns in self.roles.items():
            if column in columns:
                return role
        raise KeyError(f"No column {column!r} in these roles.")

    def date_names(self, column: str) -> tuple[str, str]:
        """The year and season columns the date ``column`` becomes in
        :class:`TableCleaner` (:func:`cleaned_date_names` among these roles)."""
        return cleaned_date_names(column, self.roles["date"], self.used)

    def encoder_columns(self) -> dict:
        """The columns the encoders get after :class:`TableCleaner`.

        Durations become numeric minutes, dates a numeric year and a categorical
        season (see :func:`cleaned_date_names`).

        Returns
        -------
        dict
            ``numeric_columns``, ``categorical_columns``, ``list_columns`` (tuples),
            ``text_columns`` (tuple) and ``poster_column`` (the first poster
            column, or None).
        """
        numeric = [*self.roles["numeric"], *self.roles["duration"]]
        categorical = list(self.roles["categorical"])
        for column in self.roles["date"]:
            year, season = self.date_names(column)
            numeric.append(year)
            categorical.append(season)
        posters = self.roles["poster"]
        return {
            "numeric_columns": tuple(numeric),
            "categorical_columns": tuple(categorical),
            "list_columns": tuple(self.roles["list"]),
            "text_columns": tuple(self.roles["text"]),
            "poster_column": posters[0] if posters else None,
        }

    def to_dict(self) -> dict:
        """``{"roles": {...}, "reasons": {...}}`` of plain lists and strings."""
        return {
            "roles": {k: list(v) for k, v in self.roles.items()},
            **{"reasons": dict(self.reasons)},
        }

    def __eq__(self, other) -> bool:
        return isinstance(other, ColumnRoles) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        shown = {role: cols for role, cols in self.roles.items() if cols}
        return f"ColumnRoles({shown})"

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        """A small table: one line per column, its role and why.

        Examples
        --------
        >>> import pandas as pd
        >>> print(infer_column_roles(pd.DataFrame({"Episodes": [12, 24]})))
        column    role     why
        Episodes  numeric  known MyAnimeList column
        """
        rows = [
            (column, role, self.reasons.get(column, ""))
            for role in ROLES
            for column in self.roles[role]
        ]
        if not rows:
            return "(no columns)"
        width = max(len("column"), *(len(r[0]) for r in rows))
        role_width = max(len("role"), *(len(r[1]) for r in rows))
        lines = [f"{'column':<{width}}  {'role':<{role_width}}  why"]
        lines += [f"{c:<{width}}  {r:<{role_width}}  {why}" for c, r, why in rows]
        return "\n".join(line.rstrip() for line in lines)


def cleaned_date_names(
    column: str, date_columns: Sequence[str], used: Sequence[str] = ()
) -> tuple[str, str]:
    """Names of the year and season a date column becomes: ``Year`` and ``Season``
    for the first date column, ``<column>_year`` and ``<column>_season`` for others,
    and for the first too where another of the ``used`` columns is already
    named ``Year`` or ``Season`` (a table with a ``Year`` column and a date).

    Examples
    --------
    >>> cleaned_date_names("Aired", ["Aired", "Premiered"])
    ('Year', 'Season')
    >>> cleaned_date_names("Premiered", ["Aired", "Premiered"])
    ('Premiered_year', 'Premiered_season')
    >>> cleaned_date_names("Aired", ["Aired"], used=["Aired", "Year", "Type"])
    ('Aired_year', 'Aired_season')
    """
    taken = {str(name) for name in used if name != column}
    if list(date_columns)[:1] == [column] and not taken & {"Year", "Season"}:
        return "Year", "Season"
    return f"{column}_year", f"{column}_season"


# -- judging one column by its content --------------------------------------------
def _sample(column: pd.Series) -> pd.Series:
    """The non-missing cells, at most :data:`_SAMPLE` of them (a seeded sample),
    which a column is judged by."""
    values = column[~column.isna()]
    if len(values) > _SAMPLE:
        values = values.sample(_SAMPLE, random_state=0)
    return values


def _present(values: pd.Series) -> pd.Series:
    """The cells of a :func:`_sample` as stripped text (placeholders dropped)."""
    text = values.astype(str).str.strip()
    return text[~text.str.lower().isin(_MISSING)]


def holds_nothing(column: pd.Series) -> bool:
    """Whether every cell is missing or placeholder text ("Unknown", ""), read
    until the first cell that holds anything.

    >>> holds_nothing(pd.Series([None, " ", "Unknown"]))
    True
    >>> holds_nothing(pd.Series([None, "Bones"]))
    False
    """
    for value in column[~column.isna()]:
        if not isinstance(value, str) or value.strip().lower() not in _MISSING:
            return False
    return True


def _share(mask) -> float:
    mask = np.asarray(mask, dtype=bool)
    return float(mask.mean()) if len(mask) else 0.0


def _looks_like_dates(text: pd.Series) -> bool:
    if not len(text) or _share(text.str.contains(r"\d{4}|\d+-\w+-\d+")) < _SHARE:
        return False
    starts = text.str.split(" to ").str[0]
    parsed = starts.map(lambda t: not np.isnan(parse_aired(t)[0]))
    if _share(parsed) >= _SHARE:
        return True
    try:
        from skrub import ToDatetime

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dates = ToDatetime().fit_transform(
                starts.rename("date").reset_index(drop=True)
            )
    except (ImportError, ValueError, TypeError):
        return False
    return _share(dates.notna()) >= _SHARE


def _judge_numbers(column: pd.Series, name: str) -> tuple[str, str]:
    values = parse_numbers(column).dropna()
    if values.empty:
        return "ignored", "no values"
    if values.nunique() == 1:
        return "ignored", "constant"
    integer = bool(np.all(np.isclose(values, np.round(values))))
    if integer and values.is_unique and len(values) >= 20:
        rows = "row" if len(values) == len(column) else "row that has a value"
        return "ignored", f"{_IDENTIFIER_LIKE}a distinct integer in every {rows}"
    if name_key(name).endswith("id") and integer:
        return "ignored", f"{_IDENTIFIER_LIKE}an integer column named *id"
    return "numeric", "numbers"


def _judge(column: pd.Series, name: str) -> tuple[str, str]:
    """The role of a column not known by name, from its dtype and content."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical", "true/false values"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date", "dates (year and season)"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "duration", "time spans: minutes"
    if pd.api.types.is_numeric_dtype(dtype):
        return _judge_numbers(column, name)
    cells = _sample(column)
    if len(cells) and _share(cells.map(held_image)) >= _SHARE:
        return "poster", "images held in the cells (bytes, PIL images, pixels)"
    lists = _judge_label_lists(cells)
    if lists is not None:
        return lists
    text = _present(cells)
    if text.empty:
        return "ignored", "no values (empty or placeholders only)"
    n_unique = text.nunique()
    if n_unique == 1:
        return "ignored", "constant"
    numbers = parse_numbers(text)
    if _share(numbers.notna()) >= _SHARE:
        role, why = _judge_numbers(text, name)
        return role, why.replace("numbers", "numbers stored as text", 1)
    if _share(text.str.contains(_DURATION_TEXT)) >= _SHARE:
        return "duration", "durations (hr./min./sec.): minutes"
    if _share(text.str.contains(_IMAGE) | text.str.match(URL_SCHEME)) >= _SHARE:
        return "poster", "image paths or URLs"
    if _looks_like_dates(text):
        return "date", "dates (year and season)"
    labels = text.map(lambda t: [s for s in _LIST_SPLIT.split(t) if s])
    n_labels = labels.map(len)
    distinct = len({label for cell in labels for label in cell})
    multi = _share(n_labels > 1)
    if (
        multi >= 0.1
        and distinct <= 0.5 * len(text)
        and labels.explode().str.len().mean() <= 40
    ):
        return "list", (
            f"comma-separated labels ({multi:.0%} of cells hold several, "
            f"{distinct} distinct)"
        )
    ratio = n_unique / len(text)
    words = text.str.split().map(len).mean()
    if ratio > 0.5 and words >= 2:
        return "text", f"free text ({ratio:.0%} distinct, {words:.1f} words a cell)"
    if ratio > 0.9:
        return "ignored", f"{_IDENTIFIER_LIKE}{ratio:.0%} of values are distinct"
    if ratio > 0.5 or n_unique > 200:
        return "text", f"short text with many values ({n_unique} distinct)"
    return "categorical", f"{n_unique} distinct values"


def _judge_label_lists(present: pd.Series) -> tuple[str, str] | None:
    """The role of a column whose cells (a :func:`_sample`) are lists of labels
    already split (JSON, Parquet, ``str.split``); None when most are not."""
    cells = present[present.map(is_label_list)]
    if not len(cells) or len(cells) < _SHARE * len(present):
        return None
    distinct = {label for cell in cells for label in split_labels(cell)}
    if not distinct:
        return "ignored", "no values (empty lists only)"
    return "list", f"lists of labels ({len(distinct)} distinct)"


def _as_list(value, role: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) or isinstance(value, (set, frozenset, np.ndarray)):
        return [str(v) for v in value]
    raise TypeError(
        f"Got {role} columns {value!r}; expected a column name, a list of names "
        "or None."
    )


def infer_column_roles(
    X, *, target=None, explicit=None, explicit_reason="named explicitly"
) -> ColumnRoles:
    """Give every column of ``X`` a role, with its reason.

    Parameters
    ----------
    X : DataFrame (pandas, polars, pyarrow ...), dict of columns or list of records
        The table (without or with its target column).
    target : str, default=None
        Name of the target column if it is in ``X``: it is ignored. ``Score`` is
        ignored in any case (MyAnimeList's target).
    explicit : dict, default=None
        ``{role: columns}`` for the roles you choose yourself (``"numeric"``,
        ``"categorical"``, ``"list"``, ``"text"``, ``"poster"``, ``"date"``,
        ``"duration"``), a list of names, a single name, or None (no column of
        that role). An explicit role is complete: columns judged to have it but
        not named are ignored. Named columns are used, whatever they are known as
        (a leak column named explicitly is used).
    explicit_reason : str, default="named explicitly"
        The reason shown for the columns of ``explicit``.

    Returns
    -------
    ColumnRoles

    Raises
    ------
    ColumnError
        If an explicitly named column is not in ``X``, or named for two roles.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "Title": ["Cowboy Bebop", "Trigun", "Monster"],
    ...     "Genres": ["Action, Sci-Fi", "Action", "Drama, Mystery"],
    ...     "Members": ["1,234", "567", "89"],
    ... })
    >>> roles = infer_column_roles(frame)
    >>> roles["text"], roles["list"], list(roles.ignored)
    (['Title'], ['Genres'], ['Members'])
    >>> infer_column_roles(frame, explicit={"numeric": ["Members"]})["numeric"]
    ['Members']
    """
    frame = to_pandas(X)
    columns = [str(c) for c in frame.columns]
    explicit = dict(explicit or {})
    unknown_roles = sorted(set(explicit) - set(_INPUT_ROLES))
    if unknown_roles:
        raise ValueError(
            f"Got explicit roles {unknown_roles}; the roles are {list(_INPUT_ROLES)}."
        )
    chosen: dict[str, str] = {}
    problems = []
    for role, value in explicit.items():
        if isinstance(value, str) and value == "auto":
            continue
        for column in _as_list(value, role):
            if column not in columns:
                problems.append(f"{role} column {column!r} is not in X")
            elif column in chosen and chosen[column] != role:
                problems.append(
                    f"column {column!r} is named both {chosen[column]} and {role}"
                )
            chosen[column] = role
    if problems:
        raise ColumnError("; ".join(problems) + f". X has the columns {columns}.")
    fixed_roles = {
        role
        for role, value in explicit.items()
        if not (isinstance(value, str) and value == "auto")
    }
    given_roles = {role: [c for c, r in chosen.items() if r == role] for role in ROLES}
    roles: dict[str, list[str]] = {role: [] for role in ROLES}
    reasons: dict[str, str] = {}
    for position, column in enumerate(columns):
        series = frame.iloc[:, position]
        if column in chosen:
            role, why = chosen[column], explicit_reason
        elif target is not None and column == str(target):
            role, why = "ignored", _TARGET
        elif name_key(column) in KNOWN_COLUMNS:
            role, why = KNOWN_COLUMNS[name_key(column)]
            if role in ("duration", "date") and pd.api.types.is_numeric_dtype(
                series.dtype
            ):
                role, why = "numeric", why + " (already numbers)"
        else:
            role, why = _judge(series, column)
        if role != "ignored" and column not in chosen and role in fixed_roles:
            used = (
                f"only the given {role} columns are used"
                if given_roles.get(role)
                else f"no {role} column is used"
            )
            role, why = "ignored", f"{role} ({why}), but {used}"
        if role != "ignored" and holds_nothing(series):
            why += "; every cell is empty, so it adds nothing"  # a named column
        roles[role].append(column)
        reasons[column] = why
    # one poster column is read: a second (the URLs of the paths) is ignored
    for column in [c for c in roles["poster"] if c not in chosen][
        1 if not any(c in chosen for c in roles["poster"]) else 0 :
    ]:
        roles["poster"].remove(column)
        roles["ignored"].append(column)
        reasons[column] = f"a second poster column; {roles['poster'][0]!r} is used"
    return ColumnRoles(roles, reasons)


class TableCleaner(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """Turn raw anime columns into what the encoders take; the pipeline's first step.

    In ``fit``, the roles of the columns are inferred (:func:`infer_column_roles`)
    unless given. ``transform`` returns a pandas frame of the used columns:
    numeric columns as floats (``"2,893,578"`` -> 2893578.0, ``"Unknown"`` ->
    NaN), durations as minutes, each date as a year (float) and a season, and the
    categorical, list, text and poster columns as text (missing as NaN). Ignored
    columns are dropped. A polars or pyarrow frame, or a list of records, is
    converted first.

    Parameters
    ----------
    roles : ColumnRoles or dict, default=None
        Fixed roles; inferred from the training frame if None. A dict is the
        ``explicit`` argument of :func:`infer_column_roles`.
    target : str, default=None
        Name of the target column, ignored if it is in ``X``.

    Attributes
    ----------
    column_roles_ : ColumnRoles
        The role of each input column, with its reason.
    date_spans_ : dict of str to (int, int) or None
        For each date column, the years that a two-digit year in it
        (``"6-Oct-26"``) can stand for, read off the training column as
        :func:`~skanime.datasets.load_mal` reads them
        (:func:`~skanime.datasets.two_digit_year_span`; None where it writes no
        four-digit year). Learned in ``fit``, so a row reads the same in
        ``transform`` whatever the date.
    date_day_first_ : dict of str to bool or None
        For each date column, whether its dates of numbers (``"05/04/2020"``)
        put the day first (True), the month (False), or cannot tell (None:
        the month), read off the training column
        (:func:`~skanime._parsing.day_first`), so that a row reads the same
        alone as in its batch.
    spellings_ : dict of str to dict of str to str
        For each categorical and list column, the training column's values
        (labels) by their text in lower case without spaces, hyphens or
        underscores (and in one width), where the training column writes
        that text in one way only. ``transform`` reads a value the training
        column never wrote, but wrote in another case or spacing
        (``"MOVIE"``, ``"bones"``, ``"Slice-of-Life"``), as the training
        column wrote it (``"Movie"``, ``"Bones"``, ``"Slice of Life"``), so
        that the encoders know it.
    feature_names_in_ : ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({
    ...     "Aired": ["Apr 5, 2009 to Jul 4, 2010", "Sep 1, 2001"],
    ...     "Duration": ["24 min. per ep.", "1 hr. 55 min."],
    ...     "Episodes": ["64", "Unknown"],
    ... })
    >>> TableCleaner().fit_transform(raw)
         Year  Season  Duration  Episodes
    0  2009.0  Spring      24.0      64.0
    1  2001.0  Summer     115.0       NaN
    """

    _compact_strings = ("feature_names_in_", "spellings_")  # saved as one string

    def __init__(self, roles=None, target=None):
        self.roles = roles
        self.target = target

    def _frame(self, X, *, reset: bool) -> pd.DataFrame:
        """X as a pandas frame; arrays are checked as scikit-learn does."""
        frame = to_frame(X)  # pandas, polars, pyarrow, records: a pandas frame
        if not isinstance(frame, pd.DataFrame):
            X = validate_data(self, X, dtype=None, ensure_all_finite=False, reset=reset)
            frame = _as_frame(X)
        if frame.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum "
                "of 1 is required by TableCleaner."
            )
        return frame

    def fit(self, X, y=None):
        """Infer (or check) the role of every column of ``X``."""
        for attribute in ("feature_names_in_", "n_features_in_"):
            if hasattr(self, attribute):
                delattr(self, attribute)
        frame = self._frame(X, reset=True)
        if isinstance(self.roles, ColumnRoles):
            missing = [c for c in self.roles.used if c not in frame.columns]
            if missing:
                raise ColumnError(f"Columns {missing} of the given roles are not in X.")
            self.column_roles_ = self.roles
        elif self.roles is None or isinstance(self.roles, Mapping):
            self.column_roles_ = infer_column_roles(
                frame, target=self.target, explicit=self.roles
            )
        else:
            raise TypeError(
                f"Got roles={self.roles!r}; expected a ColumnRoles, a dict or None."
            )
        self.date_spans_ = {
            str(column): _date_span(frame[column])
            for column in self.column_roles_["date"]
        }
        self.date_day_first_ = {
            str(column): day_first(frame[column])
            for column in self.column_roles_["date"]
        }
        self.spellings_ = {
            str(column): _spellings(
                _clean_texts(frame[column]), self.column_roles_.role_of(column)
            )
            for column in (
                *self.column_roles_["categorical"],
                *self.column_roles_["list"],
            )
        }
        if not hasattr(self, "n_features_in_"):  # a frame: validate_data set none
            self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], object)
            self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X):
        """The cleaned used columns (see the class description)."""
        check_is_fitted(self, "column_roles_")
        frame = self._frame(X, reset=False)
        roles = self.column_roles_
        missing = [c for c in roles.used if c not in frame.columns]
        if missing:
            raise ColumnError(
                f"X lacks the column(s) {missing} that the model was fitted on; it "
                f"has {[str(c) for c in frame.columns]}."
            )
        out = {}
        for column in roles.used:
            role = roles.role_of(column)
            series = frame[column]
            if role in ("numeric", "duration"):
                out[column] = _numeric(series, role)
            elif role == "date":
                year, season = roles.date_names(column)
                # fitted before date_spans_ (date_day_first_) existed: the
                # clock's rule (the month first)
                spans = getattr(self, "date_spans_", {})
                orders = getattr(self, "date_day_first_", {})
                out[year], out[season] = read_dates(
                    series, spans.get(str(column)), orders.get(str(column))
                )
                _warn_unread(
                    column, series, out[year].to_numpy(), "are not dates", _MISSING
                )
            elif role == "poster":  # an image held in a cell stays one
                out[column] = pd.Series(
                    [_poster_cell(v) for v in series], index=frame.index, dtype=object
                )
            else:
                texts = _clean_texts(series)
                # fitted before spellings_ existed: values as written
                spellings = getattr(self, "spellings_", {}).get(str(column))
                if spellings:
                    texts = _as_spelled(texts, spellings, role == "list")
                out[column] = pd.Series(texts, index=frame.index, dtype=object)
        return pd.DataFrame(out, index=frame.index)

    def get_feature_names_out(self, input_features=None):
        """The output columns: used columns, each date as its year and season."""
        check_is_fitted(self, "column_roles_")
        names = []
        for column in self.column_roles_.used:
            if self.column_roles_.role_of(column) == "date":
                names.extend(self.column_roles_.date_names(column))
            else:
                names.append(column)
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []  # a frame of mixed columns
        return tags


def _clean_texts(series: pd.Series) -> list | np.ndarray:
    """:func:`_text_or_nan` of each cell; once per distinct text in a text column."""
    codes, uniques = _factorize_text(series)
    if codes is None:
        return [_text_or_nan(v) for v in series]
    cleaned = np.array([_text_or_nan(u) for u in uniques] + [np.nan], dtype=object)
    return cleaned[codes]


def _spellings(texts, role: str) -> dict[str, str]:
    """``{key: value}`` of a column's cleaned ``texts`` (of its labels, for a
    list column), for each :func:`_spelling_key` that the column writes in
    one way only (a column with ``"TV"`` and ``"tv"`` gives neither)."""
    values = {text for text in texts if isinstance(text, str)}
    if role == "list":
        values = {label for text in values for label in split_labels(text)}
    by_key: dict[str, list[str]] = {}
    for value in values:
        by_key.setdefault(_spelling_key(value), []).append(value)
    return {key: given[0] for key, given in by_key.items() if len(given) == 1}


def _spelling_key(value: str) -> str:
    """A value as :func:`_spellings` matches it: its letters' width and case,
    spaces, hyphens and underscores aside (``"ＭＯＶＩＥ"``, ``"slice-of-life"``)."""
    return name_key(unicodedata.normalize("NFKC", value)).casefold()


def _as_spelled(texts, spellings: dict[str, str], labels: bool):
    """``texts`` with each value (each label of a list cell, for ``labels``)
    that is written otherwise than in training, but alike case, width and
    spacing aside, as :func:`_spellings` has it; the texts unchanged where
    every value is written as in training."""

    def spelled(value: str) -> str:
        return spellings.get(_spelling_key(value), value)

    changed = {}
    for text in {text for text in texts if isinstance(text, str)}:
        if labels:
            given = split_labels(text)
            written = [spelled(label) for label in given]
            if written != given:
                changed[text] = ", ".join(written)
        elif spelled(text) != text:
            changed[text] = spelled(text)
    if not changed:
        return texts
    return [
        changed.get(text, text) if isinstance(text, str) else text for text in texts
    ]


def _poster_cell(value):
    """A poster cell as :func:`_text_or_nan` gives it, but an image held in the
    cell as it is, for the poster reader to write to a file (not its repr read
    as a path)."""
    return value if held_image(value) else _text_or_nan(value)


def _text_or_nan(value):
    if is_label_list(value):  # labels already split: one cell, as a CSV writes it
        return ", ".join(split_labels(value)) or np.nan
    if isinstance(value, dict):  # a JSON object: the text it stands for
        value = dict_text(value)
    if is_null(value):
        return np.nan
    text = " ".join(str(value).split())
    return text if text and text.lower() not in PLACEHOLDERS else np.nan


def _numeric(series: pd.Series, role: str) -> pd.Series:
    """The numbers of a numeric or duration column; a cell of other text (not
    empty, not a placeholder such as ``"Unknown"``) is missing, with one
    :class:`~skanime.exceptions.DataWarning` that counts the cells."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return parse_numbers(series)
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return series.dt.total_seconds() / 60  # minutes, as the text's durations
    if pd.api.types.is_datetime64_any_dtype(series.dtype):  # "Year" as dates
        return series.dt.year.astype("float64")
    if role == "duration":
        numbers = series.map(_minutes).astype("float64")
    else:
        numbers = parse_numbers(series)
    what = "durations" if role == "duration" else "numbers"
    _warn_unread(series.name, series, numbers.to_numpy(), f"are not {what}", _MISSING)
    return numbers


def _minutes(value) -> float:
    """A duration cell in minutes: a ``timedelta`` (or pandas ``Timedelta``)
    object, or text :func:`~skanime._parsing.parse_duration` reads."""
    if isinstance(value, timedelta):  # (pandas' NaT is not one)
        return value.total_seconds() / 60
    return np.nan if is_null(value) else parse_duration(str(value))


def _date_span(series: pd.Series) -> tuple[int, int] | None:
    """The years a two-digit year of the date column ``series`` can stand for,
    or None: see ``date_spans_``."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return None
    return two_digit_year_span(series)
