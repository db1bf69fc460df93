"""A table file read with every cell as text: a CSV in the forms
spreadsheets and exports write (a comma, semicolon or tab between fields,
Excel's ``sep=;`` line, UTF-16, compressed), Parquet or JSON; Excel files and
skanime's model files refused, saying what they are. :func:`load_mal` names
and cleans the columns of what this reads."""

from __future__ import annotations

import csv
import re
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .._held_images import held_image
from .._parsing import dict_text
from .._utils import is_label_list, is_null, split_labels
from ..exceptions import SkanimeError
from ._json_tables import json_records

__all__ = ["read_text_table", "text_table"]

#: Excel's first line naming the separator ("sep=;"), which it reads and some
#: exports write.
_EXCEL_SEPARATOR = re.compile(r"^\ufeff?sep=([,;\t|])\s*$", re.I)


def _separator(path: Path, encoding: str = "utf-8") -> tuple[str, int]:
    """The CSV's separator and the lines before its header: Excel's
    ``sep=;`` first line where there is one (the separator it names, one
    line), else the separator read from the header: a comma, or the semicolon
    or tab a spreadsheet writes in some locales where the header holds more of
    those than commas (no MyAnimeList column name holds any of them). The
    header is read through pandas, so a compressed CSV (``.gz``, ``.zip``, ...)
    is read as the text inside."""
    first = pd.read_csv(
        path,
        header=None,
        nrows=1,
        dtype=str,
        sep=",",
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        encoding=encoding,
        encoding_errors="replace",
    )
    header = ",".join(first.iloc[0].tolist())
    named = _EXCEL_SEPARATOR.match(header)
    if named:
        return named.group(1), 1
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: (counts[sep], sep == ",")), 0


#: The first bytes of files that are often given where a CSV goes and are not
#: read: what they are, and the pandas reader that makes a CSV of one.
_NOT_CSV = {
    b"PK\x03\x04": ("a zip archive (an Excel .xlsx workbook?)", "read_excel"),
    b"\xd0\xcf\x11\xe0": ("an Excel .xls workbook", "read_excel"),
}
#: The first bytes of the other tables read: Parquet, a JSON array of records,
#: and JSON Lines (one record a line).
_OTHER_TABLES = {b"PAR1": "parquet", b"[": "json", b"{": "json lines"}
#: Suffixes pandas reads as compressed CSV (its compression="infer").
_COMPRESSED = {".gz", ".bz2", ".zip", ".xz", ".zst", ".tar"}


def _is_a_model_file(path: Path) -> bool:
    """Whether the zip archive ``path`` is a model that skanime.io saved."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return "skanime.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _first_bytes(path: Path) -> bytes:
    """The first bytes of ``path``, by which :func:`_table_format` and the
    encoding tell the file; none for a compressed CSV (left to pandas)."""
    if path.suffix.lower() in _COMPRESSED:
        return b""
    with open(path, "rb") as file:
        return file.read(64)


def _table_format(path: Path, first: bytes, where: str) -> str:
    """``"csv"``, ``"parquet"``, ``"json"`` or ``"json lines"``, by the file's
    ``first`` bytes (:func:`_first_bytes`); an Excel file, or a saved model, is
    refused, saying what it is (``where`` names the file)."""
    start = first.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, kind in _OTHER_TABLES.items():
        if start.startswith(magic):
            return kind
    if start.startswith(b"PK\x03\x04") and _is_a_model_file(path):
        raise SkanimeError(
            f"{where} is a skanime model file, not a table of anime: the "
            "table comes first in skanime train DATA, and after the model in "
            "evaluate, calibrate and predict (MODEL DATA)."
        )
    for magic, (kind, reader) in _NOT_CSV.items():
        if start.startswith(magic):
            raise SkanimeError(
                f"Cannot read {where} as a CSV file: it is {kind}. "
                "skanime reads CSV text (a spreadsheet's Save As 'CSV UTF-8'); "
                f"convert it first: pandas.{reader}(path).to_csv('anime.csv', "
                "index=False)."
            )
    return "csv"


def _cell_text(cell):
    """A typed cell of a Parquet or JSON table as a CSV would hold it: lists as
    their labels joined by commas, dates as ISO dates, time spans in minutes,
    JSON objects as the text they stand for (:func:`dict_text`), missing
    values empty; an image held in the cell (a poster's bytes) as it is."""
    if isinstance(cell, str):
        return cell
    if is_label_list(cell):
        return ", ".join(split_labels(cell))
    if held_image(cell):
        return cell
    if isinstance(cell, dict):  # a JSON object: the text it stands for
        return dict_text(cell) or ""
    if is_null(cell) or cell is pd.NaT:
        return ""
    if isinstance(cell, datetime | date):
        return cell.strftime("%Y-%m-%d")
    if isinstance(cell, timedelta):
        return f"{cell.total_seconds() / 60:g} min."
    return str(cell)


def _read_other_table(
    path: Path, kind: str, where: str, known_names: dict[str, str]
) -> pd.DataFrame:
    """A Parquet or JSON table (records, one record a line, any layout pandas
    writes, or an API's answer: :func:`_json_tables.json_records`, which reads
    it with ``known_names``) with its cells as text (:func:`text_table`);
    ``where`` names the file in messages."""
    try:
        if kind == "parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.DataFrame.from_records(json_records(path, known_names, where))
    except (ImportError, ValueError, OSError) as exc:
        raise SkanimeError(f"Cannot read {where} as {kind}: {exc}") from exc
    return text_table(table)


def text_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its cells as text (:func:`_cell_text`), its columns'
    names as text, and the row's position as its index."""
    table = table.copy()
    table.columns = [str(c) for c in table.columns]
    return table.reset_index(drop=True).astype(object).map(_cell_text)


#: What a row with more fields than the header names is told.
_QUOTE_HINT = (
    'A value holding the separator needs quotes ("Action, Drama"), or the '
    "header lacks a name."
)

#: Fields beyond the header's looked at in a row that has more than it names.
_EXTRA_FIELDS = 64


def _rows_under_header(path: Path, read: dict, width: int, where: str) -> pd.DataFrame:
    """The CSV's rows (``read``: pandas' options) under its header of
    ``width`` names. A first row with more fields made pandas take its first
    fields for an index and shift every value a column (``anime_id`` under
    ``Title``); here a row's empty fields beyond the header (a comma at the
    end of each line) are dropped, and a row with values there is refused,
    naming its line. A file is read in full once, or twice where a row has
    more fields than the header."""
    message = "Length of header or names does not match"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message, pd.errors.ParserWarning)
        try:
            return pd.read_csv(path, keep_default_na=False, index_col=False, **read)
        except pd.errors.ParserWarning:
            pass  # a row has more fields than the header names
    padded = pd.read_csv(  # every row as wide, shorter ones padded with ""
        path,
        header=None,
        names=range(width + _EXTRA_FIELDS),
        keep_default_na=False,
        **{**read, "skiprows": read["skiprows"] + 1},
    )
    filled = padded.iloc[:, width:].fillna("").map(str.strip).ne("")
    if filled.to_numpy().any():
        row = int(np.flatnonzero(filled.any(axis=1).to_numpy())[0])
        fields = width + int(np.flatnonzero(filled.iloc[row].to_numpy())[-1]) + 1
        raise SkanimeError(
            f"Cannot read {where} as a CSV file: its row {row + 1} (line "
            f"{row + 2 + read['skiprows']}) has {fields} fields, and the header "
            f"names {width}. {_QUOTE_HINT}"
        )
    # the rows as read above, under the header's names as pandas gives them
    # ("Genres.1" for a repeated name, "Unnamed: 3" for none)
    names = pd.read_csv(path, nrows=0, **read).columns
    return padded.iloc[:, :width].set_axis(names, axis=1)


def read_text_table(
    path: Path, where: str, known_names: dict[str, str]
) -> tuple[pd.DataFrame, str, int]:
    """The table file ``path`` with every cell as text, the format it was
    read as (``"csv"``, ``"parquet"``, ``"json"`` or ``"json lines"``), and
    the lines before a CSV's header (Excel's ``sep=;``). A CSV's header as
    written is in the frame's ``attrs["header"]`` (pandas renames a repeated
    name ``"Genres.1"``). ``where`` names the file in messages;
    ``known_names`` (``{name_key(name): name}``) are the column names a JSON
    API's records are read for.

    Raises
    ------
    SkanimeError
        If the file is not a table read here (an Excel file, a model file), is
        not UTF-8 (or UTF-16) text, is empty, or is a CSV whose rows pandas
        cannot split, saying which and what to do.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name, "anime.csv")
    >>> _ = path.write_text("sep=;\\nTitle;Episodes\\nMonster;74\\n")
    >>> raw, kind, skip = read_text_table(path, "'anime.csv'", {})
    >>> raw.to_dict("records"), kind, skip
    ([{'Title': 'Monster', 'Episodes': '74'}], 'csv', 1)
    >>> tmp.cleanup()
    """
    first = _first_bytes(path)
    kind = _table_format(path, first, where)
    # UTF-16's byte-order mark: a spreadsheet's "Unicode Text" (pandas skips
    # UTF-8's either way)
    encoding = "utf-16" if first[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    skip = 0  # lines before the header: Excel's "sep=;"
    try:
        if kind != "csv":
            return _read_other_table(path, kind, where, known_names), kind, skip
        sep, skip = _separator(path, encoding)
        read = {"sep": sep, "skiprows": skip, "dtype": str, "encoding": encoding}
        # the header as written: pandas renames a repeated name ("Genres.1")
        header = pd.read_csv(
            path, header=None, nrows=1, keep_default_na=False, **read
        ).iloc[0]
        raw = _rows_under_header(path, read, len(header), where)
        raw.attrs["header"] = [str(name) for name in header]
        return raw, kind, skip
    except UnicodeDecodeError as exc:
        raise SkanimeError(
            f"Cannot read {where} as a CSV file: it is not "
            f"{encoding.upper()} text "
            f"(it holds the byte {exc.object[exc.start]:#04x}). Save it "
            'as UTF-8 (a spreadsheet\'s "CSV UTF-8").'
        ) from exc
    except pd.errors.EmptyDataError as exc:  # not a byte, or only blank lines
        raise SkanimeError(f"{where} is empty: it holds no table.") from exc
    except pd.errors.ParserError as exc:
        words = str(exc).strip()
        if re.search(r"Expected \d+ fields in line \d+, saw \d+", words):
            words += f". {_QUOTE_HINT}"
        raise SkanimeError(f"Cannot read {where} as a CSV file: {words}") from exc
