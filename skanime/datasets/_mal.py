"""``load_mal``: a MyAnimeList CSV into a clean, typed frame."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .._atomic import is_special_file
from .._folder_hint import TABLE_SUFFIXES, folder_hint
from .._held_images import held_image
from .._parsing import (
    NO_DATE,
    day_first,
    parse_aired,
    parse_duration,
    parse_numbers,
    read_dates,
    two_digit_year_span,
)
from .._utils import (
    PLACEHOLDERS,
    URL_SCHEME,
    name_key,
    split_labels,
)
from .._warn import warn_user
from ..exceptions import ColumnError, DataWarning, SkanimeError, TargetError
from ._json_tables import document_records
from ._table_files import read_text_table, text_table

__all__ = [
    "load_mal",
    "PAPER_COLUMNS",
    "PAPER_MODEL",
    "PRERELEASE_COLUMNS",
    "parse_duration",
    "parse_aired",
    "two_digit_year_span",
]

#: The paper's inputs: source, episodes, type, genres, studios (+ the poster).
PAPER_COLUMNS = {
    "numeric_columns": ("Episodes",),
    "categorical_columns": ("Type", "Source"),
    "list_columns": ("Genres", "Studios"),
}
#: The paper's model beside its columns: no boosted trees, no title branches, no
#: label priors, one network rather than an ensemble (so a 20% validation split),
#: 256 units with dropout 0.4, a constant learning rate
#: (``HybridAnimeRegressor(**PAPER_COLUMNS, **PAPER_MODEL)``).
PAPER_MODEL = {
    "booster": None,
    "text_columns": None,
    "label_priors": False,
    "n_members": 1,
    "numeric_embedding": 0,
    "lr_schedule": None,
    "patience": 12,
    "loss": "squared_error",
    "module__hidden_units": 256,
    "module__dropout": 0.4,
}
#: Every column of :func:`load_mal`'s frame known before an anime is released.
PRERELEASE_COLUMNS = {
    "numeric_columns": ("Episodes", "Duration", "Year"),
    "categorical_columns": ("Type", "Source", "Rating", "Season"),
    "list_columns": ("Genres", "Themes", "Studios", "Producers"),
}

#: Column names of Kaggle's "anime-dataset-2023" mapped to this schema (in any
#: case or spacing, as :func:`_names_in_any_case` reads the others).
KAGGLE_NAMES = {
    "Name": "Title",
    "MAL_ID": "anime_id",  # Kaggle's "anime-recommendation-database-2020"
    "Image URL": "image_url",
}
_REQUIRED = ("Title", "Type", "Episodes", "Source", "Genres", "Studios")
_OPTIONAL = (
    "anime_id",
    "Score",
    "Aired",
    "Duration",
    "Themes",
    "Producers",
    "Licensors",
    "Rating",
    "Status",
    "Members",
    "poster",
    "image_url",
)
_LIST_COLUMNS = ("Genres", "Themes", "Studios", "Producers", "Licensors")
_MISSING_TEXT = set(PLACEHOLDERS) | {""}
#: A score written with a decimal comma, as spreadsheets in much of Europe
#: save it ("7,43"); a score has no thousands to group.
_DECIMAL_COMMA = re.compile(r"^\d{1,2},\d+$")


def _clean_list(cell) -> float | str:
    labels = split_labels(cell)
    return ", ".join(dict.fromkeys(labels)) if labels else np.nan


def _clean_text(cell) -> float | str:
    if not isinstance(cell, str) or cell.strip().lower() in _MISSING_TEXT:
        return np.nan
    return " ".join(cell.split())


def load_mal(
    path: str | os.PathLike | IO | pd.DataFrame | list | dict,
    *,
    dropna: bool = False,
    poster_root: str | os.PathLike | None = None,
    return_X_y: bool = False,
    fill_absent: bool = True,
    other_columns: bool = False,
    names: dict[str, str] | None = None,
):
    """Read a MyAnimeList CSV into a clean frame with typed columns.

    Handles the quirks of scraped MyAnimeList data: ``Unknown`` episodes,
    ``add some`` / ``None found`` placeholders, mixed ``Aired`` formats, ``Duration``
    text, ``Members`` with thousands separators, empty or ``N/A`` scores. A
    two-digit year (``"6-Oct-26"``, as a spreadsheet writes a date) is read in
    the years the file writes in four digits, so ``"26"`` is 1926 in a file whose
    dates run from 1917 to 2022, whatever the date today
    (:func:`parse_aired`, :func:`two_digit_year_span`). Kaggle's
    "anime-dataset-2023" column names (``Name``, ``Image URL``, ``UNKNOWN``
    values, ...) are accepted too (its ``Premiered``, ``"spring 1998"``, gives
    ``Year`` and ``Season`` where ``Aired`` has no date), and so are the names
    in another case or spacing (``title``, ``EPISODES``, ``Anime ID``) where
    the file does not also write them as here.

    Parameters
    ----------
    path : str, path-like, open file, DataFrame, list or dict
        The CSV file (a local one, ``~`` expanded: a URL is not fetched),
        UTF-8 text, separated by commas (or by semicolons or tabs,
        as spreadsheets save it in some locales: the header tells which), or
        a Parquet or JSON table with the same columns, told by its first
        bytes: JSON as an array of records, JSON Lines, any layout pandas'
        ``to_json`` writes, or an API's answer saved as it came (Jikan's;
        AniList's, whose records read in MyAnimeList's columns and words).
        Its typed cells read as the CSV's text: lists of labels, dates, time
        spans, numbers; a poster's bytes are kept for the model to read.
        Or an open file holding any of those (``sys.stdin.buffer``,
        ``io.BytesIO(response.content)``), read to its end. Or a table
        already read: a DataFrame (``pd.read_excel(...)``), or parsed JSON in
        any of those layouts (``requests.get(url).json()``, a list of
        records). Relative poster paths then lead from the current folder
        (from an open file's folder where it has a path).
    dropna : bool, default=False
        Drop the rows without a score.
    poster_root : str or path-like, default=None
        Folder that relative ``poster`` paths are resolved against; the file's
        folder if None (the current folder for a table given).
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of the frame (X without ``Score``).
    fill_absent : bool, default=True
        Give the optional columns the file does not have (``Rating``, ``Aired``,
        ``poster``, ...) as all-missing columns. False leaves out every column
        made from one the file lacks, so that a model trained with it raises a
        :class:`~skanime.exceptions.ColumnError` at predict time instead of
        predicting from blanks (``skanime predict`` reads files this way). The
        columns the model needs are then its own, so the paper's five and the
        title are not required either.
    other_columns : bool, default=False
        Also keep the columns this loader does not read (``Japanese``, a
        column of your own), after its own: numbers where every value given is
        one (read as ``Members`` is: ``"2,893,578"``; whole numbers as
        ``Int64``), else text, with blanks and placeholders (``Unknown``,
        ``N/A``) missing. A spreadsheet's empty, unnamed columns are left
        out. ``HybridAnimeRegressor()`` gives each a role (``skanime train
        --columns auto`` reads files this way).
    names : dict, default=None
        The table's own names for columns this loader reads, where it knows
        them by no name of theirs: ``{"my_rating": "Score", "cover":
        "poster"}`` reads the column ``my_rating`` as the scores and
        ``cover`` as the poster paths (``skanime``'s ``--score-column`` and
        ``--poster-column``). Each key is a column of the table (as written,
        spaces around it ignored), each value a name from the Returns below
        (or ``Aired``, ``Premiered``) that no other column of the table
        holds.

    Returns
    -------
    DataFrame, or (DataFrame, Series)
        Columns ``anime_id`` (Int64), ``Title``, ``Type``, ``Source``, ``Rating``,
        ``Status``, ``Season`` (str or NaN), ``Episodes``, ``Duration`` (minutes),
        ``Year``, ``Members`` (float), ``Genres``, ``Themes``, ``Studios``,
        ``Producers``, ``Licensors`` (clean ``", "``-separated strings or NaN),
        ``poster`` (absolute path of an existing file, or NaN), ``Score`` (float,
        NaN where unscored). Image URLs, where given, are kept in ``image_url``
        (and so are URLs in the poster column, with a
        :class:`~skanime.exceptions.DataWarning`: ``skanime posters`` fetches
        them).
        A poster path that leads to no file is NaN, and one
        :class:`~skanime.exceptions.DataWarning` counts those and names
        ``poster_root``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    SkanimeError
        If the file cannot be parsed as CSV or holds no rows.
    ColumnError
        Naming the required columns that are missing (``Title``, ``Type``,
        ``Episodes``, ``Source``, ``Genres``, ``Studios``; with
        ``fill_absent=True``), or a column of ``names`` the table lacks.
    TargetError
        Naming the row and value of a score that is not a number.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from skanime.datasets import load_mal
    >>> tmp = tempfile.TemporaryDirectory()
    >>> csv = pathlib.Path(tmp.name) / "anime.csv"
    >>> _ = csv.write_text(
    ...     "Title,Type,Episodes,Duration,Source,Genres,Studios,Aired,Score\\n"
    ...     'Cowboy Bebop,TV,26,24 min. per ep.,Original,"Action, Sci-Fi",Sunrise,'
    ...     '"Apr 3, 1998 to Apr 24, 1999",8.75\\n'
    ...     "A Film,Movie,Unknown,1 hr. 45 min.,Manga,Drama,add some,Jul 2001,\\n"
    ... )
    >>> df = load_mal(csv)
    >>> df[["Episodes", "Duration", "Year", "Season", "Studios", "Score"]]
       Episodes  Duration    Year  Season  Studios  Score
    0      26.0      24.0  1998.0  Spring  Sunrise   8.75
    1       NaN     105.0  2001.0  Summer      NaN    NaN
    >>> X, y = load_mal(csv, dropna=True, return_X_y=True)  # the scored rows
    >>> X.shape, y.tolist()
    ((1, 17), [8.75])
    >>> mine = pd.DataFrame({"Title": ["Cowboy Bebop"], "my_rating": ["8.75"]})
    >>> load_mal(mine, names={"my_rating": "Score"}, fill_absent=False)
              Title  Score
    0  Cowboy Bebop   8.75
    >>> tmp.cleanup()
    """
    names = _checked_names(names)
    if isinstance(path, dict | list | pd.DataFrame):  # a table already read
        raw, where = _given_table(path, names), GIVEN
        folder, source = Path.cwd(), None
    else:
        raw, where, folder, source = _read_source(path, names)
    frame = _mal_frame(
        raw,
        where,
        folder,
        dropna=dropna,
        poster_root=poster_root,
        fill_absent=fill_absent,
        other_columns=other_columns,
    ).reset_index(drop=True)
    if source is not None:
        frame.attrs["source"] = source
    if return_X_y:
        return frame.drop(columns="Score"), frame["Score"]
    return frame


#: How messages name a table given to :func:`load_mal` rather than a file.
GIVEN = "the table given"


def _given_table(table, names: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`_read_mal_csv`'s table of a frame or of parsed JSON (records, or
    an API's answer, as :func:`_json_tables.document_records` reads them),
    with :func:`load_mal`'s ``names``."""
    if not isinstance(table, pd.DataFrame):
        table = pd.DataFrame.from_records(
            document_records(table, _known_names(), GIVEN)
        )
    return _named_columns(text_table(table), GIVEN, "records", 0, names)


def _row_words(raw: pd.DataFrame, row) -> str:
    """How messages name a row of :func:`_read_mal_csv`'s table: its line in a
    CSV, its position in a Parquet or JSON table."""
    if raw.attrs.get("format", "csv") == "csv":
        line = row + 2 + raw.attrs.get("lines_before_header", 0)  # "sep=;"
        return f"row {line} (line in the file)"
    return f"row {row} (counting from 0)"


def _read_mal_csv(
    path: str | os.PathLike,
    where: str | None = None,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The CSV (or Parquet or JSON table) as :func:`load_mal` reads it, every
    cell as text: the header stripped, Kaggle's names and names in another
    case or spacing (``"title"``) mapped, the required
    columns and a first row checked. Its index is the row's line in a CSV less
    2, its position in a Parquet or JSON table (``attrs["format"]`` says
    which). ``where`` names the file in messages (its quoted path by default);
    ``names`` are :func:`load_mal`'s."""
    path = Path(path)
    where = repr(str(path)) if where is None else where
    if path.is_dir():
        raise SkanimeError(
            f"{where} is a folder; name the table in it (a CSV, Parquet or "
            "JSON file)." + folder_hint(path, TABLE_SUFFIXES, "table")
        )
    if not path.is_file():
        raise FileNotFoundError(f"No such MyAnimeList CSV: {where}")
    raw, kind, skip = read_text_table(path, where, _known_names())
    return _named_columns(raw, where, kind, skip, names)


#: How messages name standard input read as a table (``skanime predict MODEL -``).
STANDARD_INPUT = "standard input"


def _local_path(path: str | os.PathLike) -> Path:
    """``path`` as a local file's ``Path``, ``~`` expanded (as pandas' readers
    do); a URL or an empty path is refused, saying what to do instead."""
    text = os.fspath(path)
    if isinstance(text, str) and URL_SCHEME.match(text):
        raise SkanimeError(
            f"{text!r} is a URL: load_mal reads local files and fetches "
            "nothing. Download the table first, or pass it read: "
            "load_mal(pandas.read_csv(url))."
        )
    if not text:
        raise FileNotFoundError("No MyAnimeList CSV named: the path is empty.")
    return Path(text).expanduser()


def _read_source(
    path, names: dict[str, str] | None = None
) -> tuple[pd.DataFrame, str, Path, str]:
    """:func:`_read_mal_csv`'s table of the file ``path``, or of an open file
    (anything with ``read``: ``sys.stdin.buffer``, ``io.BytesIO``), with how
    messages name it, the folder relative poster paths lead from, and its
    name for the frame's ``attrs["source"]``; ``names`` are :func:`load_mal`'s."""
    if not hasattr(path, "read"):
        path = _local_path(path)
        where = repr(str(path))
        if not is_special_file(path):
            return _read_mal_csv(path, None, names), where, path.parent, str(path)
        with open(path, "rb") as file:  # a pipe (`<(zcat anime.csv.gz)`): read once
            return _read_spooled(file, where, names), where, Path.cwd(), str(path)
    where, folder, source = _open_file_place(path)
    return _read_spooled(path, where, names), where, folder, source


def _read_spooled(
    file, where: str, names: dict[str, str] | None = None
) -> pd.DataFrame:
    """:func:`_read_mal_csv`'s table (with ``names``) of what the open ``file``
    reads to its end, held in a temporary file the readers can read more than
    once."""
    with tempfile.TemporaryDirectory(prefix="skanime-") as spool:
        held = Path(spool, "table")
        data = file.read()
        if not data:
            raise SkanimeError(f"{where} is empty: it holds no table.")
        # text read from a text-mode file: the UTF-8 the readers take
        held.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return _read_mal_csv(held, where, names)


def _open_file_place(file) -> tuple[str, Path, str]:
    """How messages name the open ``file`` (its quoted path; ``standard
    input`` for ``sys.stdin``; ``the file given`` for one without a path), the
    folder relative poster paths lead from (the path's, else the current
    folder), and its name unquoted."""
    name = getattr(file, "name", None)
    if isinstance(name, str | bytes | os.PathLike):
        path = Path(os.fsdecode(name))
        if path.is_file():
            return repr(str(path)), path.parent, str(path)
    words = STANDARD_INPUT if name == "<stdin>" else "the file given"
    return words, Path.cwd(), words


def _named_columns(
    raw: pd.DataFrame,
    where: str,
    kind: str,
    skip: int,
    names: dict[str, str] | None = None,
):
    """``raw`` with its columns named as :func:`load_mal` names them (the
    header stripped, the user's ``names`` (:func:`_checked_names`), then
    Kaggle's names and names in another case or spacing mapped), how it was
    read in its ``attrs``, and a first row checked;
    ``where`` names it in messages. A name written twice
    (``attrs["header"]``, a CSV's header as written, else the columns), also
    once the spaces around it are stripped, is refused."""
    if raw.shape == (0, 0):  # "[]", "{}", an empty DataFrame
        raise SkanimeError(f"{where} is empty: it holds no table.")
    header = raw.attrs.pop("header", [str(c) for c in raw.columns])
    _check_unique_names(header, where)
    raw = raw.rename(columns=lambda c: c.strip())
    if names:
        _check_names_given(names, raw.columns, where)
        raw = raw.rename(columns=names)
        raw.attrs["names"] = {name: column for column, name in names.items()}
    raw = raw.rename(columns=_names_in_any_case(raw.columns))
    raw.attrs["format"] = kind
    raw.attrs["lines_before_header"] = skip
    _check_no_header_row(raw, header, where)
    if raw.empty:
        raise SkanimeError(f"{where} holds no rows.")
    return raw


def _check_no_header_row(raw: pd.DataFrame, header: list, where: str) -> None:
    """Refuse a row that repeats the header (two exports joined into one
    file), naming it: its Score, ``"Score"``, was named as a bad number."""
    if len(header) != raw.shape[1] or raw.empty:
        return
    repeats = (raw.to_numpy(dtype=object) == np.array(header, dtype=object)).all(1)
    if repeats.any():
        rows = np.flatnonzero(repeats)
        more = f" ({len(rows)} such rows)" if len(rows) > 1 else ""
        raise SkanimeError(
            f"{where}, {_row_words(raw, raw.index[rows[0]])}: the row repeats "
            f"the header{more} (were two tables joined into one file?); "
            "remove it."
        )


def _check_unique_names(names, where: str) -> None:
    """Refuse a table that names a column twice (``"Genres"`` and
    ``"Genres "`` included), naming each such name and where it stands."""
    stripped = [str(name).lstrip("\ufeff").strip() for name in names]
    # unnamed columns (a spreadsheet's empty ones) are pandas' "Unnamed: 18"
    repeated = sorted({n for n in stripped if n and stripped.count(n) > 1})
    if not repeated:
        return
    places = "; ".join(
        f"{name!r} as columns "
        + " and ".join(str(i + 1) for i, n in enumerate(stripped) if n == name)
        for name in repeated
    )
    raise ColumnError(
        f"{where} names a column more than once: {places} (counting from 1, "
        "spaces around a name ignored); every column needs its own name: "
        "rename or remove the copies."
    )


def _checked_names(names) -> dict[str, str] | None:
    """:func:`load_mal`'s ``names``, checked as far as they can be without the
    table: a mapping of column names to names it reads, each once; keys
    stripped, as the header's names are."""
    if names is None:
        return None
    if not isinstance(names, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in names.items()
    ):
        raise TypeError(
            "names must be a dict of the table's column names to load_mal's, "
            f"such as {{'my_rating': 'Score'}}; got {names!r}."
        )
    unknown = [v for v in names.values() if v not in _READ_NAMES]
    if unknown:
        raise ColumnError(
            f"names={names!r}: {unknown[0]!r} is not a column load_mal reads; "
            f"it reads {list(_READ_NAMES)}."
        )
    repeated = sorted({v for v in names.values() if list(names.values()).count(v) > 1})
    if repeated:
        raise ColumnError(
            f"names={names!r} names more than one column {repeated[0]!r}; name one."
        )
    return {key.strip(): value for key, value in names.items()}


def _check_names_given(names: dict[str, str], columns, where: str) -> None:
    """Refuse ``names`` (:func:`_checked_names`'s) naming a column ``where``
    lacks, or a name one of its other columns already has, naming both."""
    columns = list(columns)
    for key, value in names.items():
        if key not in columns:
            raise ColumnError(
                f"The column {key!r} given for {value!r}: {where} has no such "
                f"column; it has {columns}."
            )
        if value in columns and value not in names:
            raise ColumnError(
                f"The column {key!r} given for {value!r}: {where} already has "
                f"a column {value!r}. Rename or remove one of them."
            )


#: The names of the columns :func:`load_mal` reads (before Kaggle's and
#: Jikan's names for them).
_READ_NAMES = (*_REQUIRED, *_OPTIONAL, "Year", "Season", "Premiered")


def _known_names() -> dict[str, str]:
    """``{name_key(name): name}`` for every name of a column :func:`load_mal`
    reads, Kaggle's and Jikan's (:data:`KAGGLE_NAMES`) among them."""
    known = {name_key(name): name for name in _READ_NAMES}
    known.update({name_key(other): name for other, name in KAGGLE_NAMES.items()})
    return known


def _names_in_any_case(columns) -> dict[str, str]:
    """``{column: name}`` for the columns that name one of :func:`load_mal`'s
    columns in another case or spacing (``"title"``, ``"EPISODES"``,
    ``"Anime ID"``), or by Kaggle's or Jikan's name (:data:`KAGGLE_NAMES`:
    ``"Name"``, ``"mal_id"``), as the model's roles match them, where the
    table lacks that name as written and no other column names it too."""
    known = _known_names()
    found: dict[str, list[str]] = {}
    for column in columns:
        name = known.get(name_key(column))
        if name is not None and name not in columns:
            found.setdefault(name, []).append(column)
    return {given[0]: name for name, given in found.items() if len(given) == 1}


def _mal_frame(
    raw: pd.DataFrame,
    where: str,
    folder: Path,
    *,
    dropna: bool,
    poster_root: str | os.PathLike | None,
    fill_absent: bool,
    other_columns: bool = False,
) -> pd.DataFrame:
    """:func:`load_mal`'s frame from :func:`_read_mal_csv`'s ``raw``, keeping
    ``raw``'s index (the rows' lines in the file less 2), also with ``dropna``,
    ``fill_absent`` and ``other_columns``; ``where`` names the table in
    messages (a file's quoted path), and relative poster paths lead from
    ``folder`` unless ``poster_root``."""
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing and fill_absent:
        raise ColumnError(
            f"{where} lacks the column(s) {missing}; it has {list(raw.columns)}. "
            "To read the columns it has, none required: load_mal(..., "
            "fill_absent=False), as skanime train --columns auto does."
        )
    others = _other_columns(raw) if other_columns else None
    absent = [*missing, *(c for c in _OPTIONAL if c not in raw.columns)]
    raw = raw.assign(**dict.fromkeys(absent, ""))

    frame = pd.DataFrame(index=raw.index)
    frame["anime_id"] = parse_numbers(raw["anime_id"]).astype("Int64")
    for column in ("Title", "Type", "Source", "Rating", "Status"):
        frame[column] = raw[column].map(_clean_text)
    frame["Episodes"] = parse_numbers(raw["Episodes"]).where(lambda s: s > 0)
    frame["Duration"] = raw["Duration"].map(parse_duration)
    # two-digit years ("6-Oct-26") read within the years the file spans
    # and dates of other formats ("2020-04-05", "05/04/2020") as the model reads them
    aired = raw["Aired"]
    frame["Year"], season = read_dates(
        aired, two_digit_year_span(aired), day_first(aired)
    )
    frame["Season"] = season.infer_objects()  # text, as the other columns
    _warn_unread_dates(aired, frame["Year"])
    # Kaggle's Premiered ("spring 1998") where Aired gives no date
    if "Premiered" in raw.columns:
        year, season = read_dates(raw["Premiered"])
        frame["Year"] = frame["Year"].fillna(year)
        frame["Season"] = frame["Season"].where(frame["Season"].notna(), season)
    # a frame written by skanime has Year and Season instead of Aired
    if "Year" in raw.columns:
        frame["Year"] = frame["Year"].fillna(parse_numbers(raw["Year"]))
    if "Season" in raw.columns:
        own = raw["Season"].map(_clean_text).astype(object)
        frame["Season"] = (
            frame["Season"].astype(object).where(frame["Season"].notna(), own)
        )
    frame["Members"] = parse_numbers(raw["Members"])
    for column in _LIST_COLUMNS:
        frame[column] = raw[column].map(_clean_list)
    raw = _poster_urls_apart(raw)
    root = Path(poster_root) if poster_root is not None else folder
    frame["poster"] = raw["poster"].map(lambda p: _poster_path(p, root))
    _warn_unresolved(raw["poster"], frame["poster"], root, poster_root)
    if raw["image_url"].str.strip().ne("").any():
        frame["image_url"] = raw["image_url"].map(_clean_text)

    score_text = raw["Score"].str.strip()
    scores = parse_numbers(raw["Score"])
    bad = scores.isna() & ~score_text.str.lower().isin(_MISSING_TEXT)
    if bad.any():
        row = bad.idxmax()
        comma = (
            f" Write decimals with a point ({score_text[row].replace(',', '.')!r}),"
            " not a comma."
            if _DECIMAL_COMMA.match(score_text[row])
            else ""
        )
        written = raw.attrs.get("names", {}).get("Score", "Score")  # names=
        raise TargetError(
            f"{where}, {_row_words(raw, row)}: {written} "
            f"{raw.at[row, 'Score']!r} is not a number ({int(bad.sum())} such "
            f"row(s)).{comma}"
        )
    frame["Score"] = scores
    if dropna:
        frame = frame[frame["Score"].notna()]
        if frame.empty:
            if "Score" in absent:
                given = [c for c in raw.columns if c not in absent]
                raise SkanimeError(
                    f"{where} has no Score column; scores are needed here. It "
                    f"has {given}: name the column of scores 'Score', or "
                    "give its name: load_mal(..., names={'its name': 'Score'}), "
                    "skanime's --score-column."
                )
            raise SkanimeError(
                f"{where} has no scored rows (every Score is empty); scores are "
                "needed here."
            )
    if not fill_absent:
        frame = frame.drop(columns=_made_from(absent, raw.columns))
    if others is not None:
        frame = pd.concat([frame, others.loc[frame.index]], axis=1)
    return frame


#: The largest whole number a float64 holds exactly: beyond it, numbers of
#: :func:`_other_columns` stay floats (a 20-digit code cannot be an Int64).
_EXACT = 2**53


def _other_columns(raw: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``raw`` that :func:`load_mal` does not read, typed:
    numbers where every value given is one (whole numbers as ``Int64``, as
    ``anime_id``, where a float holds them exactly), else text (blanks and
    placeholders missing); unnamed columns without a value are left out.

    >>> raw = pd.DataFrame({"Title": ["A", "B"], "Hype": ["1,200", "Unknown"],
    ...                     "Rate": ["0.5", "2"], "Note": ["  so  good", ""],
    ...                     "Unnamed: 3": ["", ""]})
    >>> _other_columns(raw)
       Hype  Rate     Note
    0  1200   0.5  so good
    1  <NA>   2.0      NaN
    """
    known = set(_known_names().values())
    kept = {}
    for column in raw.columns:
        if column in known:
            continue
        text = raw[column].map(_clean_text)
        given = text.notna()
        if not given.any() and str(column).startswith("Unnamed: "):
            continue
        numbers = parse_numbers(raw[column]).where(given)
        if not (given.any() and numbers[given].notna().all()):
            kept[column] = text
        elif ((numbers[given] % 1 == 0) & (numbers[given].abs() <= _EXACT)).all():
            kept[column] = numbers.astype("Int64")  # an id reads as written
        else:
            kept[column] = numbers
    return pd.DataFrame(kept, index=raw.index)


def _poster_urls_apart(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` with the URLs of its ``poster`` column moved to ``image_url``
    (where that has none), with one warning counting them: posters are read
    from files, and a URL is fetched by ``skanime posters``, which reads
    ``image_url``. They were read as paths that lead to no file, with advice
    to set ``poster_root``."""
    cells = raw["poster"]
    urls = cells.map(
        lambda cell: isinstance(cell, str) and bool(URL_SCHEME.match(cell))
    )
    if not urls.any():
        return raw
    warn_user(
        f"{int(urls.sum())} poster(s) are URLs (first: "
        f"{cells[urls].iloc[0].strip()!r}), and posters are read from files: "
        "they are missing posters here, kept in image_url for `skanime "
        "posters DATA --dest FOLDER --out TABLE` to fetch and write the "
        "table with their files.",
        DataWarning,
    )
    given = raw["image_url"].str.strip().ne("")  # as _mal_frame tells them
    return raw.assign(
        image_url=raw["image_url"].where(given | ~urls, cells),
        poster=cells.where(~urls, ""),
    )


def _poster_path(cell, root: Path):
    if held_image(cell):  # a Parquet table's poster bytes: read by the model
        return cell
    if not isinstance(cell, str) or not cell.strip():
        return np.nan
    poster = Path(cell.strip())
    if not poster.is_absolute():
        poster = root / poster
    return str(poster.resolve()) if poster.is_file() else np.nan


def _made_from(absent: list[str], columns) -> list[str]:
    """The columns of the frame made only from columns in ``absent``."""
    made = [c for c in absent if c not in ("Aired", "image_url")]
    if "Aired" in absent and "Premiered" not in columns:
        made += [c for c in ("Year", "Season") if c not in columns]
    return made


def _warn_unread_dates(cells: pd.Series, years: pd.Series) -> None:
    """One warning counting the ``Aired`` cells that hold text but no date."""
    text = cells.astype(str).str.strip()
    unread = years.isna() & ~text.str.lower().isin(NO_DATE)
    if unread.any():
        warn_user(
            f"Column 'Aired': {int(unread.sum())} value(s) are not dates (e.g. "
            f"{text[unread].iloc[0]!r}) and are treated as missing (Year and "
            "Season unknown).",
            DataWarning,
        )


def _warn_unresolved(cells: pd.Series, paths: pd.Series, root: Path, given) -> None:
    """One warning counting the poster paths that lead to no file."""
    named = cells.map(lambda cell: isinstance(cell, str) and bool(cell.strip()))
    unresolved = named & paths.isna()
    if unresolved.any():
        first = cells[unresolved].iloc[0].strip()
        where = (
            f"poster_root={str(given)!r}"
            if given is not None
            else f"the data's folder {str(root)!r} (poster_root=None)"
        )
        warn_user(
            f"{int(unresolved.sum())} poster path(s) lead to no file and are "
            f"treated as missing posters (first: {first!r}, relative paths "
            f"resolved against {where}); set poster_root (--poster-root in the "
            "command) to the posters' folder.",
            DataWarning,
        )
