"""Writing a command's table in the format its name says (``--out``)."""

from __future__ import annotations

from pathlib import Path

#: Compressions a written CSV takes from its name's last suffix, as pandas
#: infers them from a path (the file is first written under a temporary name).
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}


def _check_parquet_engine(target: Path) -> None:
    """Refuse a ``.parquet`` output where pandas has no engine to write it."""
    from importlib.util import find_spec

    from .exceptions import SkanimeError

    if target.suffix.lower() == ".parquet" and not (
        find_spec("pyarrow") or find_spec("fastparquet")
    ):
        raise SkanimeError(
            f"--out {str(target)!r}: writing Parquet needs pyarrow (pip install "
            "pyarrow); or name a .csv file."
        )


def _write_table(frame, path: Path, target: Path) -> None:
    """``frame`` written to ``path`` in the format of ``target``'s name:
    Parquet (``.parquet``), JSON records (``.json``), JSON Lines (``.jsonl``),
    else CSV, compressed where the name ends in ``.gz``, ``.bz2``, ``.zip`` or
    ``.xz``."""
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", force_ascii=False, indent=1)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        compression = _COMPRESSIONS.get(suffix)
        if compression == "zip":  # the member is named as the file unzipped
            compression = {"method": "zip", "archive_name": target.stem}
        frame.to_csv(path, index=False, compression=compression)
