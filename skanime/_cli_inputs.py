"""What a ``skanime`` command reads: the scored rows of a CSV with their
weights, checked, and a saved model file. Only the standard library is imported
at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._folder_hint import MODEL_SUFFIXES, folder_hint
from ._row_records import _point_model

if TYPE_CHECKING:  # pragma: no cover
    from ._estimator import HybridAnimeRegressor
    from .intervals import ConformalRegressor

#: Model files with this suffix use the secure format of skanime.io, others joblib.
SECURE_SUFFIX = ".skanime"


#: DATA that reads the table from standard input.
STDIN = "-"


def _data(args):
    """What ``load_mal`` reads for the command's DATA: the file it names, or
    standard input for ``-`` (refused where nothing is piped in, which would
    wait for typing)."""
    import sys

    from .exceptions import SkanimeError

    if args.data != STDIN:
        return args.data
    if sys.stdin is None or sys.stdin.isatty():
        raise SkanimeError(
            "DATA '-' reads the table from standard input, and nothing is piped "
            f"in: `... | skanime {args.command} ... -`, or name the file (./- "
            "for one named '-')."
        )
    return sys.stdin.buffer


def _data_words(args, *, quote: bool = True) -> str:
    """How messages name the command's DATA: its path (quoted with
    ``quote``), or standard input."""
    from .datasets._mal import STANDARD_INPUT

    if args.data == STDIN:
        return STANDARD_INPUT
    return repr(str(args.data)) if quote else str(args.data)


def _column_names(args) -> dict[str, str] | None:
    """``load_mal``'s ``names`` from ``--score-column`` and
    ``--poster-column``: the table's names for its scores and posters; None
    where neither is given. One column given for both is refused."""
    from .exceptions import SkanimeError

    given = {
        "Score": getattr(args, "score_column", None),
        "poster": getattr(args, "poster_column", None),
    }
    if given["Score"] is not None and given["Score"] == given["poster"]:
        raise SkanimeError(
            f"--score-column and --poster-column both name {given['Score']!r}: "
            "the scores and the poster files are two columns."
        )
    names = {column: name for name, column in given.items() if column is not None}
    return names or None


def _table_as_given(args):
    """Every row of the command's DATA as ``load_mal`` reads it with the
    command's options, the columns the file lacks left absent (so that a
    model that reads one names it) and its own columns kept."""
    from .datasets import load_mal

    return load_mal(
        _data(args),
        poster_root=args.poster_root,
        fill_absent=False,
        other_columns=True,
        names=_column_names(args),
    )


def _scored_rows_and_weights(
    args, *, fill_absent: bool = True, other_columns: bool = False
):
    """The scored rows of the command's DATA (``load_mal``, with
    ``fill_absent`` and ``other_columns``), and with ``--weight-column`` each
    one's weight from that column of the file, checked; else None. The weight
    column is never among the rows' columns, as it is never an input."""
    import numpy as np

    from ._parsing import parse_numbers
    from .datasets import load_mal
    from .datasets._mal import _mal_frame, _read_source, _row_words
    from .exceptions import ColumnError, DataError

    names = _column_names(args)
    read = {
        "poster_root": args.poster_root,
        "fill_absent": fill_absent,
        "other_columns": other_columns,
    }
    column = getattr(args, "weight_column", None)
    if column is None:
        return load_mal(_data(args), dropna=True, names=names, **read), None
    raw, where, folder, _ = _read_source(_data(args), names)
    if column not in raw.columns:
        raise ColumnError(
            f"--weight-column {column!r}: {where} has no such column; it "
            f"has {list(raw.columns)}."
        )
    # the scored rows, indexed by their lines in the file less 2
    frame = _mal_frame(raw, where, folder, dropna=True, **read)
    if other_columns:  # a column of the file's own, never an input
        frame = frame.drop(columns=column, errors="ignore")
    # read as load_mal reads numbers ("2,893,578" included: Members can weigh)
    cells = raw.loc[frame.index, column]
    weights = parse_numbers(cells).to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        row = cells.index[np.argmax(bad)]
        raise DataError(
            f"--weight-column {column!r}: {_row_words(raw, row)} has "
            f"{raw.at[row, column]!r}, not a number >= 0 ({int(bad.sum())} such "
            "scored row(s))."
        )
    if not weights.any():
        raise DataError(f"--weight-column {column!r}: every scored row weighs 0.")
    return frame.reset_index(drop=True), weights


def _unfetched_urls(frame) -> int:
    """How many rows of ``frame`` have a poster URL (``image_url``) and no
    poster file: the posters ``skanime posters`` would fetch."""
    if "image_url" not in frame:
        return 0
    no_poster = frame["poster"].isna() if "poster" in frame else True
    return int((frame["image_url"].notna() & no_poster).sum())


def _check_posters_given(model, frame, args) -> None:
    """Refuse, before any work, a table without the poster column the model
    reads, saying how to give it: ``skanime posters`` for a table of poster
    URLs (a Jikan or AniList answer, Kaggle's ``Image URL``),
    ``--poster-column`` for one under another name, an empty column to go
    without. The model's own error named the column alone, and still names
    every missing column where others are missing too."""
    from .exceptions import ColumnError

    point = _point_model(model)
    roles = getattr(point, "column_roles_", None)
    if roles is None:
        return
    # the columns the model reads that the table lacks, as predict finds them:
    # one empty in every training row is read as empty where it is absent
    readable = set(frame.columns) | set(point.empty_columns_)
    missing = [c for c in point.required_columns_ if c not in readable]
    # where other columns are missing too, the model names them all
    if not missing or not set(missing) <= set(roles["poster"]):
        return
    urls = _unfetched_urls(frame)
    fetch = (
        f"`skanime posters DATA --dest FOLDER --out TABLE` fetches its {urls} "
        f"poster URL(s) and writes the table to {args.command} with its poster "
        "files; "
        if urls
        else ""
    )
    raise ColumnError(
        f"{_data_words(args)} has no column {missing[0]!r}, and the model reads "
        f"posters: {fetch}--poster-column NAME reads a column of poster files "
        f"under another name; an empty {missing[0]!r} column {args.command}s without "
        "posters (as for anime without one)."
    )


def _check_writable(path, option: str, *, folder: bool = False) -> None:
    """Refuse, before any work, an output option that cannot be written: a
    file option naming a folder, a path through a file, or a place where no
    file can be created (a read-only or special file system). Found only when
    the outputs are written, after training, it would lose the training."""
    import os
    import tempfile

    from ._atomic import is_special_file
    from .exceptions import SkanimeError

    if path is None:
        return
    path = Path(path)
    if not folder and is_special_file(path):  # /dev/null, /dev/stdout: written in place
        if not os.access(path, os.W_OK):
            raise SkanimeError(f"{option} {str(path)!r} cannot be written.")
        return
    if not folder and path.is_dir():
        raise SkanimeError(f"{option} {str(path)!r} is a folder; name a file to write.")
    # the folder that the outputs (and the folders they need) are created in
    place = next(
        p for p in (path if folder else path.parent, *path.parents) if p.exists()
    )
    if not place.is_dir():
        raise SkanimeError(
            f"{option} {str(path)!r} cannot be written: {str(place)!r} is a file, "
            "not a folder."
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".skanime-probe.", dir=place)
    except OSError as exc:
        raise SkanimeError(
            f"{option} {str(path)!r} cannot be written: no file can be created in "
            f"{str(place)!r} ({exc.strerror or exc}). Nothing was done."
        ) from exc
    os.close(fd)
    os.unlink(probe)


def _check_model_out(path) -> None:
    """Refuse, before any work, a model ``--out`` named as a table
    (``skanime train anime.csv --out predictions.csv``): the model would be
    a pickle under a table's name."""
    from ._cli_tables import WRITTEN
    from .exceptions import SkanimeError

    tables = (*WRITTEN, ".xlsx", ".xls")  # a model under them would be a pickle
    if path is not None and Path(path).suffix.lower() in tables:
        raise SkanimeError(
            f"--out {str(path)!r} names a table, and this command saves a model "
            f"there: name a {SECURE_SUFFIX} file (secure, skanime.io) or a "
            ".joblib one. Predictions are written by skanime predict."
        )


def _check_out_is_not_an_input(args, *inputs: str) -> None:
    """Refuse an ``--out`` that cannot be written (:func:`_check_writable`) or
    that is the same file as one of the command's ``inputs`` (names of
    ``args``: "data", "model"), before any work: writing it would replace the
    CSV or the model the command reads."""
    import os

    from .exceptions import SkanimeError

    _check_writable(args.out, "--out")
    out = Path(args.out)
    if not out.exists():
        return
    for name in inputs:
        given = getattr(args, name)
        if name == "data" and given == STDIN:
            continue
        if Path(given).exists() and os.path.samefile(out, given):
            what = "data file" if name == "data" else "model file"
            raise SkanimeError(
                f"--out {str(args.out)!r} is the {what} this command reads "
                f"({str(given)!r}); writing it would replace that file. Name "
                "another --out."
            )


def _check_folder(path, option: str) -> None:
    """Refuse a folder option (``--report-dir``, ``--out-dir``) that names an
    existing file, before any work: the plots and the report need a folder."""
    from .exceptions import SkanimeError

    if path is not None and Path(path).exists() and not Path(path).is_dir():
        raise SkanimeError(
            f"{option} {str(path)!r} is a file; it needs a folder (created where "
            "it does not exist)."
        )
    _check_writable(path, option, folder=True)


def _check_score_scale(args, frame) -> None:
    """Refuse scores outside MyAnimeList's 1 to 10 before training, naming an
    anime and the range the file's scores span (a 0-100 score, as AniList's,
    needs dividing by 10)."""
    from .exceptions import TargetError

    scores = frame["Score"]
    outside = (scores < 1) | (scores > 10)
    if outside.any():
        first = outside.to_numpy().argmax()
        given = getattr(args, "score_column", None)
        name = "Score(s)" if given is None else f"score(s) of {given!r}"
        raise TargetError(
            f"{_data_words(args)}: {int(outside.sum())} {name} are outside "
            f"MyAnimeList's 1 to 10 (first: {_anime_words(frame, first)}, "
            f"{scores.iloc[first]:g}); this file's scores run from "
            f"{scores.min():g} to {scores.max():g}. Rescale them to 1-10 first "
            "(a score out of 100, as AniList's averageScore, divided by 10)."
        )


def _anime_words(frame, row: int) -> str:
    """How messages name the anime at position ``row`` of ``frame``: its
    quoted title, or, in a table without titles, its place among the rows."""
    if "Title" in frame.columns and isinstance(frame["Title"].iloc[row], str):
        return repr(frame["Title"].iloc[row])
    return f"scored row {row + 1}"


def _check_calibrate_on_latest(args, frame) -> None:
    """Refuse ``--calibrate-on-latest`` (and ``--calibration-gap``) where it
    cannot work, before training."""
    import pandas as pd

    from ._times import read_times
    from .exceptions import ColumnError, SkanimeError

    column = args.calibrate_on_latest
    if column is None:
        if args.calibration_gap:
            raise SkanimeError(
                "--calibration-gap needs --calibrate-on-latest: the gap is "
                "between the calibration anime and the model that predicts them."
            )
        return
    if args.scaled_intervals:
        raise SkanimeError(
            "--calibrate-on-latest gives intervals of one width; leave out "
            "--scaled-intervals."
        )
    if not args.calibration_size:
        raise SkanimeError(
            "--calibrate-on-latest needs calibration rows: a --calibration-size "
            "above 0, such as 0.1."
        )
    if column not in frame.columns:
        raise ColumnError(
            f"--calibrate-on-latest {column!r}: the data has no such column; it "
            f"has {list(frame.columns)}."
        )
    # refused before the training message, as ConformalRegressor.fit would
    times = read_times(frame[column], f"--calibrate-on-latest {column!r}", warn=False)
    if args.calibration_gap and pd.api.types.is_datetime64_any_dtype(times):
        raise SkanimeError(
            f"--calibration-gap is measured in --calibrate-on-latest {column!r}'s "
            f"numbers, but it holds {frame[column].dtype} values."
        )


def _starts_like_a_zip(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def _load_model(path) -> HybridAnimeRegressor | ConformalRegressor:
    """A model file: the secure format if it is a zip (whatever its name), else
    joblib; anything unreadable is an :class:`IncompatibleModelError`."""
    import joblib

    from . import io as skanime_io
    from ._estimator import HybridAnimeRegressor
    from .exceptions import IncompatibleModelError, SkanimeError

    path = Path(path)
    if path.is_dir():
        raise SkanimeError(
            f"{str(path)!r} is a folder; name the model file in it."
            + folder_hint(path, MODEL_SUFFIXES, "model file")
        )
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {str(path)!r}")
    if path.suffix.lower() == SECURE_SUFFIX or _starts_like_a_zip(path):
        model = skanime_io.load(path)
    else:  # a pickle: only for files you made yourself
        try:
            model = joblib.load(path)
        except SkanimeError:
            raise
        except Exception as exc:  # unpickling garbage raises any kind of error
            raise IncompatibleModelError(
                f"{str(path)!r} is not a model file joblib can read "
                f"({type(exc).__name__}: {exc}).{_table_hint(path)}"
            ) from exc
    if not isinstance(_point_model(model), HybridAnimeRegressor):
        raise SkanimeError(
            f"{str(path)!r} holds a {type(model).__name__}, not a HybridAnimeRegressor."
        )
    return model


def _table_hint(path: Path) -> str:
    """ " It looks like a table ..." where the file given as a model starts as a
    CSV, Parquet or JSON table does: the arguments were likely swapped."""
    with open(path, "rb") as file:
        start = file.read(4096)
    if start.startswith(b"PAR1"):
        looks = "a Parquet table"
    else:
        try:
            first = start.decode("utf-8").lstrip("\ufeff").splitlines()[0]
        except (UnicodeDecodeError, IndexError):
            return ""
        if not any(sep in first for sep in ",;\t") and not first.startswith(("[", "{")):
            return ""
        looks = "a table (text with columns)"
    return f" It looks like {looks}: the model file comes first (MODEL DATA)."


def _use_cache_dir(model, cache_dir) -> None:
    """Let a loaded model's poster embedder read and fill ``cache_dir``."""
    if cache_dir is not None:
        _point_model(model).set_params(cache_dir=cache_dir)


def _model_and_scored_rows(args):
    """The saved model ``args.model`` (its poster cache at ``args.cache_dir``),
    the scored rows of the command's DATA, columns it lacks left absent, and
    their weights (``--weight-column``; None without)."""
    model = _load_model(args.model)
    _use_cache_dir(model, args.cache_dir)
    frame, weights = _scored_rows_and_weights(
        args, fill_absent=False, other_columns=True
    )
    _check_posters_given(model, frame, args)
    return model, frame, weights
