"""What to say when a folder is given where a file was expected."""

from __future__ import annotations

import os
from pathlib import Path

#: Suffixes of the tables :func:`skanime.datasets.load_mal` reads.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".json", ".jsonl")

#: Suffixes of saved models: skanime's secure format and pickles.
MODEL_SUFFIXES = (".skanime", ".joblib", ".pkl", ".pickle")

#: At most this many candidate files are named.
_SHOWN = 5


def folder_hint(folder: str | os.PathLike, suffixes: tuple[str, ...], what: str) -> str:
    """A sentence naming the files of ``folder`` with one of ``suffixes``
    (``what`` says what they are: ``"table"``, ``"model file"``), to follow
    "... is a folder; name the ... in it." A single candidate is given as the
    path to pass; a folder that cannot be listed gives ``""``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> _ = (folder / "anime.csv").write_text("Title,Score\\n")
    >>> folder_hint(folder, TABLE_SUFFIXES, "table").endswith("anime.csv'.")
    True
    >>> folder_hint(folder, MODEL_SUFFIXES, "model file")
    ' It holds no model file (.skanime, .joblib, .pkl, .pickle).'
    >>> tmp.cleanup()
    """
    try:
        names = sorted(
            entry.name
            for entry in os.scandir(folder)
            if entry.is_file() and entry.name.lower().endswith(suffixes)
        )
    except OSError:
        return ""
    if not names:
        return f" It holds no {what} ({', '.join(suffixes)})."
    if len(names) == 1:
        return f" It holds one: pass {str(Path(folder) / names[0])!r}."
    shown = ", ".join(names[:_SHOWN])
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f" It holds {len(names)}: {shown}{more}."
