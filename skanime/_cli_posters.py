"""``skanime posters``: fetch a table's poster URLs into a folder, and write the
table with a ``poster`` column of their paths, ready for ``skanime train``.

Kaggle's "anime-dataset-2023", a Jikan or an AniList answer give posters as
URLs (``image_url``), which the model does not fetch; this is the command-line
side of :func:`skanime.datasets.download_posters`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ._cli_inputs import (
    _check_out_is_not_an_input,
    _check_writable,
    _data_words,
    _table_as_given,
)
from ._cli_options import _add_table_options, _HelpFormatter, _whole_number
from ._cli_tables import _check_table_format, _write_table
from ._experiment import _say
from ._interrupts import _Outputs

__all__ = ["add_posters_command", "cmd_posters"]


def add_posters_command(commands) -> None:
    """The ``posters`` command's parser, added to ``commands`` (the
    ``skanime`` parser's subparsers)."""
    posters = commands.add_parser(
        "posters",
        help="fetch a table's poster URLs and write it with their paths",
        description="Fetch the poster URL of every row without a poster file "
        "(image_url: Kaggle's 'Image URL', Jikan's images, AniList's "
        "coverImage) into --dest, and write the table with a 'poster' column "
        "of the files' paths (relative to --out's folder), to train or predict "
        "on; posters a Parquet table holds as images (bytes) are written to "
        "--dest too. Files already in --dest are kept, not fetched again; a "
        "poster that cannot be fetched is a missing one, and the reasons are "
        "listed.",
        formatter_class=_HelpFormatter,
    )
    posters.add_argument(
        "data",
        help="CSV, Parquet or JSON table (read by skanime.datasets.load_mal); '-' "
        "reads it from standard input (an API's answer piped in)",
    )
    posters.add_argument(
        "--dest", required=True, help="folder to fetch the posters into"
    )
    posters.add_argument(
        "--out",
        required=True,
        help="the table to write: CSV (.csv, also .csv.gz, .zip, .bz2, .xz), .tsv, or "
        "Parquet (.parquet), JSON records (.json) or JSON Lines (.jsonl)",
    )
    posters.add_argument(
        "--workers",
        type=_whole_number(1),
        default=8,
        help="posters fetched at once",
    )
    _add_table_options(posters, scores=False)
    posters.set_defaults(func=cmd_posters)


def cmd_posters(args: argparse.Namespace) -> None:
    """Run ``skanime posters`` (see :func:`add_posters_command`)."""
    import warnings

    from ._held_images import held_image
    from .exceptions import DataWarning, SkanimeError

    _check_out_is_not_an_input(args, "data")
    _check_writable(args.dest, "--dest", folder=True)
    out = Path(args.out)
    _check_table_format(out)
    # columns the file lacks stay absent, so that predict refuses the table
    # for a model that reads them, as it would the file; its own are kept
    with warnings.catch_warnings():  # what says to run this command
        warnings.filterwarnings("ignore", r".*poster\(s\) are URLs", DataWarning)
        frame = _table_as_given(args)
    # paths go in it (a column of no poster reads as floats)
    frame["poster"] = frame["poster"].astype(object) if "poster" in frame else None
    held = frame["poster"].map(held_image)
    urls = frame.get("image_url")
    if (urls is None or not urls.notna().any()) and not held.any():
        raise SkanimeError(
            f"{_data_words(args)} gives no poster URL (a column image_url or Image "
            "URL, Jikan's images, AniList's coverImage): there is nothing to fetch."
        )
    if held.any():  # a Parquet table's image bytes: files, as the paths are
        frame.loc[held, "poster"] = _held_files(frame.loc[held, "poster"], args.dest)
    if urls is not None:
        _fetch(frame, urls, args)
    folder = out.resolve().parent
    frame["poster"] = frame["poster"].map(
        lambda path: os.path.relpath(path, folder) if isinstance(path, str) else path
    )
    with _Outputs() as outputs:
        _write_table(frame, outputs.path(args.out), out)
    _say(
        f"Wrote {len(frame)} anime to {args.out}, "
        f"{int(frame['poster'].notna().sum())} with a poster; train on it with "
        f"skanime train {args.out} --out model.skanime."
    )


def _fetch(frame, urls, args: argparse.Namespace) -> None:
    """Fetch the posters of ``frame``'s rows that have a URL but no poster
    into ``args.dest``, and put their paths in its ``poster`` column; refused
    where none could be fetched."""
    from .datasets import download_posters
    from .exceptions import SkanimeError

    needed = urls.notna() & frame["poster"].isna()
    _say(
        f"Fetching {int(needed.sum())} poster(s) into {args.dest} "
        f"({int(frame['poster'].notna().sum())} row(s) have a poster file, "
        f"{int(urls.isna().sum())} no URL)."
    )
    summary = download_posters(frame[needed], args.dest, max_workers=args.workers)
    _say(str(summary))
    if summary.failures and not (summary.downloaded or summary.skipped):
        first = next(iter(summary.failures.values()))
        raise SkanimeError(
            f"None of the {len(summary.failures)} poster URL(s) could be fetched "
            f"(first: {first}); is the network reachable? No table was written."
        )
    frame.loc[needed, "poster"] = summary.paths


def _held_files(cells, dest: str) -> list:
    """The paths of files in ``dest`` holding the images of poster ``cells``
    (a Parquet table's bytes, a Hugging Face image's dict), which a CSV or
    JSON table cannot hold; a cell that is no image is a missing poster,
    listed with its reason."""
    from ._held_images import held_image_file

    paths, unreadable = [], []
    for row, cell in cells.items():
        try:
            paths.append(held_image_file(cell, dest))
        except ValueError as exc:
            paths.append(None)
            unreadable.append(f"row {row}: {exc}")
    _say(f"Wrote {len(cells) - len(unreadable)} poster(s) the table held to {dest}.")
    if unreadable:
        _say(
            f"{len(unreadable)} poster cell(s) hold no image, and are missing "
            f"posters: {'; '.join(unreadable[:5])}"
        )
    return paths
