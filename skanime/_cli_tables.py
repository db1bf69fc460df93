"""Writing a command's table in the format its name says (``--out``)."""

from __future__ import annotations

from pathlib import Path

#: Compressions a written CSV takes from its name's last suffix, as pandas
#: infers them from a path (the file is first written under a temporary name).
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}


#: The suffixes of the tables written (beside compressed CSV and TSV).
WRITTEN = (".csv", ".tsv", ".parquet", ".json", ".jsonl")
#: Table formats ``--out`` may name that are not written, with what they are:
#: writing CSV text under their name made a file their programs refuse.
_NOT_WRITTEN = {
    ".xlsx": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".ods": "an OpenDocument spreadsheet",
    ".feather": "a Feather file",
    ".arrow": "an Arrow file",
    ".h5": "an HDF5 file",
    ".hdf5": "an HDF5 file",
    ".pkl": "a pickle",
    ".pickle": "a pickle",
}


def _check_table_format(target: Path) -> None:
    """Refuse, before any work, an output named as a format that is not
    written (:data:`_NOT_WRITTEN`: ``.xlsx``, ...) or a ``.parquet`` output
    where pandas has no engine to write it."""
    from importlib.util import find_spec

    from .exceptions import SkanimeError

    suffix = target.suffix.lower()
    if suffix in _NOT_WRITTEN:
        raise SkanimeError(
            f"--out {str(target)!r} names {_NOT_WRITTEN[suffix]}, which skanime "
            "does not write: name a .csv file (spreadsheets open it), "
            f"{', '.join(WRITTEN[1:-1])} or {WRITTEN[-1]}."
        )
    if suffix == ".parquet" and not (find_spec("pyarrow") or find_spec("fastparquet")):
        raise SkanimeError(
            f"--out {str(target)!r}: writing Parquet needs pyarrow (pip install "
            "pyarrow); or name a .csv file."
        )


def _write_table(frame, path: Path, target: Path) -> None:
    """``frame`` written to ``path`` in the format of ``target``'s name:
    Parquet (``.parquet``), JSON records (``.json``), JSON Lines (``.jsonl``),
    tab-separated text (``.tsv``), else CSV; text compressed where the name
    ends in ``.gz``, ``.bz2``, ``.zip`` or ``.xz`` (``.csv.gz``, ``.tsv.gz``)."""
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", force_ascii=False, indent=1)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        compression = _COMPRESSIONS.get(suffix)
        text = Path(target.stem).suffix.lower() if compression else suffix
        if compression == "zip":  # the member is named as the file unzipped
            compression = {"method": "zip", "archive_name": target.stem}
        sep = "\t" if text == ".tsv" else ","
        frame.to_csv(path, index=False, sep=sep, compression=compression)
