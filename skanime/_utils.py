"""Leaf helpers shared by the package's modules; this module imports nothing of
skanime, so any module may import it without a circle.

Null cells and placeholders, list-cell splitting, seed derivation, the tensor-blob
persistence of torch objects, ImageNet's normalisation and positional column names.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import validate_data

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LIST_SEPARATORS",
    "PLACEHOLDERS",
    "is_label_list",
    "clean_text",
    "derive_seed",
    "dump_tensors",
    "float_columns",
    "title_column",
    "is_missing",
    "is_null",
    "load_tensors",
    "name_key",
    "positional_names",
    "split_labels",
]

#: The per-channel normalisation of ImageNet-trained networks.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Cell values that mean "nothing here" in scraped MyAnimeList data.
PLACEHOLDERS = ("add some", "none found", "unknown", "none", "n/a", "nan", "-", "?")

#: What separates the labels of a list cell ("Action, Drama").
LIST_SEPARATORS = re.compile(r"\s*[,;|/]\s*")

#: How a URL starts (a poster column of links rather than local files).
URL_SCHEME = re.compile(r"^\s*(?:https?|s3|gs)://", re.I)


def name_key(name) -> str:
    """A column name as its known names are matched: lower case, without
    spaces, underscores or hyphens (``"Image URL"`` and ``"image_url"`` are
    ``"imageurl"``).

    Examples
    --------
    >>> name_key("MAL_ID"), name_key("English name")
    ('malid', 'englishname')
    """
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def is_null(value) -> bool:
    """Whether a cell is None, NaN or pandas' NA.

    >>> is_null(float("nan")), is_null(None), is_null("")
    (True, True, False)
    """
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and bool(np.isnan(value))


def is_missing(value) -> bool:
    """A null cell, or a blank string."""
    return is_null(value) or (isinstance(value, str) and not value.strip())


def with_columns_empty(frame, columns):
    """``frame`` with every cell of ``columns`` missing (NaN), those it lacks
    added; ``frame`` itself where ``columns`` is empty.

    >>> import pandas as pd
    >>> with_columns_empty(pd.DataFrame({"Type": ["TV"], "poster": ["a.jpg"]}),
    ...                    ["poster", "Themes"])
      Type  poster  Themes
    0   TV     NaN     NaN
    """
    return frame.assign(**dict.fromkeys(columns, np.nan)) if columns else frame


def clean_text(value) -> str | None:
    """A cell as text with runs of whitespace made one space; None when it is
    empty or a placeholder (``Unknown``, ``N/A``, ...).

    >>> clean_text("  Action   Drama "), clean_text("Unknown")
    ('Action Drama', None)
    """
    text = " ".join(str(value).split())
    return None if not text or text.lower() in PLACEHOLDERS else text


def is_label_list(cell) -> bool:
    """Whether a cell holds its labels already split: a list, tuple, set or
    array, as JSON, Parquet, polars and ``str.split`` give them.

    >>> is_label_list(["Action", "Drama"]), is_label_list("Action, Drama")
    (True, False)
    """
    if isinstance(cell, np.ndarray):
        return cell.ndim == 1
    return isinstance(cell, list | tuple | set | frozenset)


def split_labels(cell, separators: re.Pattern = LIST_SEPARATORS) -> list[str]:
    """Split one multi-valued cell into clean labels (placeholders dropped).

    A cell already split (:func:`is_label_list`) reads as its items joined by
    commas (a set's in sorted order), so it gives the labels of its text; an
    item that is a JSON object reads as its ``"name"`` (a genre or studio as
    the Jikan and AniList APIs give them).

    >>> split_labels("Action, Drama;add some")
    ['Action', 'Drama']
    >>> split_labels(["Action", " Slice of  Life", None, "Unknown"])
    ['Action', 'Slice of Life']
    >>> split_labels([{"mal_id": 1, "name": "Action"}, {"mal_id": 8, "name": "Drama"}])
    ['Action', 'Drama']
    """
    if is_label_list(cell):
        items = sorted(cell, key=str) if isinstance(cell, set | frozenset) else cell
        items = (i.get("name") if isinstance(i, dict) else i for i in items)
        cell = ", ".join(str(item) for item in items if not is_null(item))
    elif is_null(cell):
        return []
    labels = map(clean_text, separators.split(str(cell)))
    return [label for label in labels if label is not None]


def cross_fit(n_rows: int, width: int, encode, *, cv: int, random_state) -> np.ndarray:
    """Out-of-fold encodings of ``n_rows`` training rows, ``(n_rows, width)``.

    For each of ``cv`` shuffled folds (fewer with fewer rows; zeros with under
    two), ``encode(train, test)`` returns the ``test`` rows' encoding learned
    from the ``train`` rows only, so that no row's own target reaches it.

    >>> cross_fit(4, 1, lambda train, test: np.full((len(test), 1), len(train)),
    ...           cv=2, random_state=0).ravel().tolist()
    [2.0, 2.0, 2.0, 2.0]
    """
    from sklearn.model_selection import KFold

    out = np.zeros((n_rows, width))
    n_splits = min(cv, n_rows)
    if n_splits < 2:
        return out
    folds = KFold(n_splits, shuffle=True, random_state=random_state)
    for train, test in folds.split(np.empty((n_rows, 1))):
        out[test] = encode(train, test)
    return out


def as_scores(y, n_rows: int | None) -> np.ndarray:
    """``y`` as float64 of shape ``(n,)``; a ``ValueError`` unless ``n`` is
    ``n_rows`` (None: any length), the number of rows of ``X``.

    >>> as_scores([[7.0], [8.5]], 2).tolist()
    [7.0, 8.5]
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if n_rows is not None and len(y) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(y)}: they must match.")
    return y


def derive_seed(random_state) -> int | None:
    """An int seed drawn from ``random_state`` (None stays None).

    >>> derive_seed(None) is None, derive_seed(0) == derive_seed(0)
    (True, True)
    """
    if random_state is None:
        return None
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(2**31 - 1))


def dump_tensors(tensors: dict) -> bytes:
    """``tensors`` (state dicts) in ``torch.save`` format, for a pickled state
    that holds no pickled torch object."""
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def load_tensors(blob: bytes, map_location=None) -> dict:
    """What :func:`dump_tensors` wrote, read with ``weights_only=True``."""
    return torch.load(io.BytesIO(blob), map_location=map_location, weights_only=True)


def positional_names(n: int) -> list[str]:
    """The names ``x0, x1, ...`` that array columns get.

    >>> positional_names(3)
    ['x0', 'x1', 'x2']
    """
    return [f"x{i}" for i in range(n)]


def _fitted_frame(estimator, X, reset: bool) -> bool:
    """Whether ``X`` is, at predict time, a DataFrame with exactly the columns
    ``estimator`` was fitted on (in order): what ``validate_data`` would check."""
    names = getattr(estimator, "feature_names_in_", None)
    return (
        not reset
        and isinstance(X, pd.DataFrame)
        and names is not None
        and X.shape[1] == len(names)
        and (X.columns == names).all()
    )


def float_columns(estimator, X, *, reset: bool) -> np.ndarray:
    """``X`` as a 2-D float64 array of finite values, validated as scikit-learn
    does (``reset`` as in ``validate_data``).

    At predict time (``reset=False``) a DataFrame of finite numbers with exactly
    the columns ``estimator`` was fitted on skips the per-call validation, whose
    per-column dtype checks take milliseconds on a thousand columns (a poster
    embedding). Anything else (other columns, text, a missing or infinite
    value) is validated, and refused, as ``validate_data`` does.

    >>> class Fitted:
    ...     feature_names_in_ = np.array(["a", "b"], dtype=object)
    ...     n_features_in_ = 2
    >>> float_columns(Fitted(), pd.DataFrame({"a": [1.0], "b": [2.0]}), reset=False)
    array([[1., 2.]])
    """
    if _fitted_frame(estimator, X, reset):
        try:
            values = X.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            values = None  # text or missing values: validate_data says which
        if values is not None and np.isfinite(values).all():
            return values
    return validate_data(estimator, X, reset=reset, dtype=np.float64)


def object_columns(estimator, X, *, reset: bool) -> np.ndarray:
    """``X`` as a 2-D object array (missing values as NaN), validated as
    scikit-learn does (``reset`` as in ``validate_data``).

    At predict time (``reset=False``) a DataFrame with exactly the columns
    ``estimator`` was fitted on skips the per-call validation.

    >>> class Fitted:
    ...     feature_names_in_ = np.array(["Studios"], dtype=object)
    ...     n_features_in_ = 1
    >>> object_columns(Fitted(), pd.DataFrame({"Studios": ["Bones", None]}),
    ...                reset=False).tolist()
    [['Bones'], [nan]]
    """
    if _fitted_frame(estimator, X, reset):
        return X.to_numpy(dtype=object, na_value=np.nan)
    return validate_data(
        estimator, X, reset=reset, dtype=None, ensure_all_finite=False, ensure_2d=True
    )


def title_column(estimator, X, *, reset: bool) -> np.ndarray:
    """The one title column of ``X`` as an object array (missing values as NaN),
    validated as scikit-learn does (``reset`` as in ``validate_data``).

    At predict time (``reset=False``) a DataFrame with exactly the column
    ``estimator`` was fitted on skips the per-call validation.

    >>> class Fitted:
    ...     feature_names_in_ = np.array(["Title"], dtype=object)
    ...     n_features_in_ = 1
    >>> title_column(Fitted(), pd.DataFrame({"Title": ["Monster", None]}), reset=False)
    array(['Monster', nan], dtype=object)
    """
    X = object_columns(estimator, X, reset=reset)
    if X.shape[1] != 1:
        raise ValueError(
            f"{type(estimator).__name__} takes one title column; got {X.shape[1]} "
            "columns."
        )
    return X[:, 0]
