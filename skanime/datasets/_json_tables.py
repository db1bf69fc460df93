"""A JSON file as ``load_mal``'s records: every shape pandas writes a frame in,
JSON Lines, and the answers of the Jikan and AniList APIs saved as they came."""

from __future__ import annotations

import json
from collections.abc import Container
from pathlib import Path
from typing import Any

import pandas as pd

from .._utils import name_key
from ..exceptions import SkanimeError
from ._anilist import is_anilist_record, mal_record

__all__ = ["document_records", "json_records"]


def json_records(
    path: Path, columns: Container[str], where: str | None = None
) -> list[dict[str, Any]]:
    """The records (``{column: value}``) of the JSON file ``path``: an array of
    records, JSON Lines (one record a line), any of pandas' ``to_json``
    layouts (``orient="columns"``, its default, ``"index"``, ``"split"``,
    ``"table"``), or an API's answer (Jikan's ``{"data": [...]}``, AniList's
    ``{"data": {"Page": {"media": [...]}}}``; AniList's records in
    MyAnimeList's columns, :func:`~skanime.datasets._anilist.mal_record`).
    ``columns`` holds the :func:`~skanime._utils.name_key` of every column name
    ``load_mal`` reads, by which a record is told from a wrapper around
    records. ``where`` names the file in messages (its quoted path by default).

    Raises
    ------
    SkanimeError
        If the file is not JSON (naming the line of JSON Lines that is not),
        holds no column names (an array of arrays), or is an API's error
        answer (quoting its message).
    """
    where = repr(str(path)) if where is None else where
    text = path.read_text(encoding="utf-8-sig")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.lstrip().startswith("{"):
            raise SkanimeError(f"Cannot read {where} as JSON: {exc}") from exc
        return [_in_mal_columns(record) for record in _json_lines(text, where)]
    return document_records(document, columns, where)


def document_records(
    document, columns: Container[str], where: str
) -> list[dict[str, Any]]:
    """The records of one parsed JSON ``document`` (a list or a dict, in any
    of the layouts :func:`json_records` reads), AniList's in MyAnimeList's
    columns; ``where`` names the document in messages (a file's quoted
    path)."""
    return [_in_mal_columns(record) for record in _records(document, where, columns)]


def _json_lines(text: str, where: str) -> list[dict[str, Any]]:
    """The records of JSON Lines text, one object a line (blank lines
    skipped); ``where`` names the file in messages."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SkanimeError(
                f"Cannot read {where} as JSON Lines (one record a line): "
                f"line {number}: {exc.msg} (column {exc.colno})."
            ) from exc
        if not isinstance(record, dict):
            raise SkanimeError(
                f"Cannot read {where} as JSON Lines: line {number} holds "
                f"a {type(record).__name__}, not a record ({{column: value}})."
            )
        records.append(record)
    return records


def _names_columns(mapping: dict, columns: Container[str]) -> bool:
    """Whether one of ``mapping``'s keys names a column ``load_mal`` reads."""
    return any(name_key(key) in columns for key in mapping)


def _records(document, where: str, columns: Container[str]) -> list[dict[str, Any]]:
    """The records of one parsed JSON document (see :func:`json_records`)."""
    if isinstance(document, list):
        if all(isinstance(record, dict) for record in document):
            return document
        raise SkanimeError(
            f"{where} is a JSON array of arrays, which names no column: "
            "write the table as records (DataFrame.to_json(path, "
            "orient='records'))."
        )
    if not isinstance(document, dict):
        raise SkanimeError(
            f"{where} holds one JSON {type(document).__name__}, not a table."
        )
    if document.get("errors") and not document.get("data"):
        raise SkanimeError(
            f"{where} is an API's answer that holds no anime but an error: "
            f"{_error_text(document['errors'])}"
        )
    data = document.get("data")
    if isinstance(document.get("columns"), list) and isinstance(data, list):
        # pandas' orient="split": {"columns": [...], "index": [...], "data": [...]}
        return [dict(zip(document["columns"], row, strict=False)) for row in data]
    if isinstance(data, list | dict) and not _names_columns(document, columns):
        # Jikan's {"data": [...]} or {"data": {...}}, pandas' orient="table",
        # AniList's {"data": {"Page": {"media": [...]}}} or {"data": {"Media": {...}}}
        page = data.get("Page") if isinstance(data, dict) else None
        if isinstance(page, dict) and isinstance(page.get("media"), list):
            return _records(page["media"], where, columns)
        if isinstance(data, dict) and isinstance(data.get("Media"), dict):
            return [data["Media"]]
        return _records(data, where, columns)
    values = list(document.values())
    if values and all(isinstance(value, dict) for value in values):
        if _names_columns(document, columns):  # pandas' orient="columns"
            return pd.DataFrame(document).to_dict("records")
        if any(_names_columns(value, columns) for value in values):
            return values  # pandas' orient="index": {row: {column: value}}
    if not _names_columns(document, columns):
        # a wrapper around one list of records ({"results": [...]})
        lists = [
            value
            for value in values
            if isinstance(value, list)
            and value
            and all(isinstance(record, dict) for record in value)
        ]
        if len(lists) == 1:
            return lists[0]
    return [document]  # one anime


def _error_text(errors) -> str:
    """The messages of a GraphQL answer's ``errors``."""
    if isinstance(errors, list):
        messages = [e.get("message") for e in errors if isinstance(e, dict)]
        if any(messages):
            return "; ".join(str(m) for m in messages if m)
    return str(errors)


def _in_mal_columns(record: dict[str, Any]) -> dict[str, Any]:
    """An AniList record in MyAnimeList's columns; Jikan's ``images`` object
    as the ``image_url`` of its JPEG; any other record as it is."""
    if is_anilist_record(record):
        return mal_record(record)
    images = record.get("images")
    if isinstance(images, dict) and "image_url" not in record:
        jpeg = images.get("jpg")
        if isinstance(jpeg, dict) and jpeg.get("image_url"):
            return {**record, "image_url": jpeg["image_url"]}
    return record
