"""The tabular side: numeric, categorical and list columns into one float block.

``make_tabular_encoder`` builds the ``ColumnTransformer`` of the data's path; the
two transformers defined here are the pieces scikit-learn does not have.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._compact_state import CompactDictsMixin
from ._posters import PosterLoader
from ._utils import PLACEHOLDERS, clean_text, is_null, positional_names, split_labels
from ._warn import warn_user
from .exceptions import DataWarning

__all__ = [
    "DEFAULT_NUMERIC_COLUMNS",
    "DEFAULT_CATEGORICAL_COLUMNS",
    "DEFAULT_LIST_COLUMNS",
    "DEFAULT_POSTER_COLUMN",
    "DEFAULT_TEXT_COLUMNS",
    "PLACEHOLDERS",
    "NumericEncoder",
    "MultiLabelEncoder",
    "make_tabular_encoder",
]

#: Numeric columns of MyAnimeList's ``anime.csv`` used by default.
DEFAULT_NUMERIC_COLUMNS = ("Episodes",)
#: Categorical columns of ``anime.csv`` used by default (one-hot encoded).
DEFAULT_CATEGORICAL_COLUMNS = ("Type", "Source", "Rating")
#: Comma-separated list columns of ``anime.csv`` used by default (multi-hot encoded).
DEFAULT_LIST_COLUMNS = ("Genres", "Themes", "Studios")
#: The column holding each anime's poster path.
DEFAULT_POSTER_COLUMN = "poster"
#: Free-text columns read by the title branches of :func:`make_hybrid_pipeline`.
DEFAULT_TEXT_COLUMNS = ("Title",)

#: Plausible ranges of the numeric columns of ``anime.csv``: a value outside is a
#: scraping error and is treated as missing (with a warning).
DEFAULT_VALID_RANGES = {
    "Episodes": (0, 10_000),
    "Duration": (0, 1_000),  # minutes per episode
    "Year": (1900, 2100),
}


def _as_frame(X) -> pd.DataFrame:
    """Return ``X`` as a DataFrame (arrays get positional column names)."""
    if isinstance(X, pd.DataFrame):
        return X
    X = np.asarray(X, dtype=object)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return pd.DataFrame(X, columns=positional_names(X.shape[1]))


class _TableTransformer(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """Shared plumbing of the table transformers: tags and input column names."""

    _compact_strings = ("feature_names_in_", "categories_")  # saved as one string

    def _input_names(self, input_features) -> list[str]:
        if input_features is not None:
            return [str(n) for n in input_features]
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
        return positional_names(self.n_features_in_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class NumericEncoder(_TableTransformer):
    """Turn numeric-like columns into standardised floats.

    Text that is not a number (``"Unknown"`` episodes, say) becomes missing; missing
    values are replaced by the column's median seen in ``fit`` and flagged in an extra
    ``<column>_missing`` column (only for columns that had missing values in ``fit``).
    Non-negative columns whose skewness exceeds ``skew_threshold`` are log-scaled
    (``log1p``) before standardisation.

    **Extreme values.** One huge value (``1e308`` members) cannot blank a
    column: the log decision, mean and scale are computed with values clipped to
    a range that no single value moves (``lower_``, ``upper_``), and values
    beyond it are clipped in ``transform`` too.

    **Bad values.** Placeholders such as ``Unknown`` or ``""`` are missing values.
    Any other text, ``inf`` and ``-inf``, and a number outside the column's
    range in ``valid_ranges`` (a negative or absurd episode count), is treated as
    missing too, with one :class:`~skanime.exceptions.DataWarning` per column and
    kind that counts the rows (in ``fit`` and in ``transform``).

    Parameters
    ----------
    skew_threshold : float, default=1.0
        Skewness above which a non-negative column is log-scaled.
    valid_ranges : dict or None, default=None
        ``{column: (low, high)}``, inclusive; None uses ``DEFAULT_VALID_RANGES``
        (Episodes 0 to 10,000, Duration 0 to 1,000 minutes, Year 1900 to 2100);
        ``{}`` checks nothing.

    Attributes
    ----------
    medians_ : ndarray of shape (n_features,)
        Median of each column in ``fit`` (0 where a column had no number).
    log_scaled_ : ndarray of bool, shape (n_features,)
        Which columns are log-scaled.
    lower_, upper_ : ndarray of shape (n_features,)
        Values (after the log) are clipped to this range before scaling: the
        second-smallest to second-largest value seen in ``fit`` (1st to 99th
        percentile on more than 100 rows), widened by its width on each side.
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation applied after the log and the clipping.
    missing_indicator_ : ndarray of bool, shape (n_features,)
        Which columns get a ``_missing`` flag column.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skanime import NumericEncoder
    >>> df = pd.DataFrame({"Episodes": ["12", "Unknown", "24", "1"],
    ...                    "Year": [2001, 2010, np.nan, 2020]})
    >>> encoder = NumericEncoder().fit(df)
    >>> encoder.get_feature_names_out().tolist()
    ['Episodes', 'Year', 'Episodes_missing', 'Year_missing']
    >>> encoder.medians_  # what a missing value becomes, before scaling
    array([  12., 2010.])
    >>> encoder.transform(df).round(2)
    array([[-0.03, -1.38,  0.  ,  0.  ],
           [-0.03, -0.04,  1.  ,  0.  ],
           [ 1.44, -0.04,  0.  ,  1.  ],
           [-1.38,  1.45,  0.  ,  0.  ]])
    """

    _parameter_constraints = {
        "skew_threshold": [Interval(Real, 0, None, closed="left")],
        "valid_ranges": [dict, None],
    }

    def __init__(self, skew_threshold=1.0, valid_ranges=None):
        self.skew_threshold = skew_threshold
        self.valid_ranges = valid_ranges

    def _to_numbers(self, X):
        frame = _as_frame(X)
        ranges = (
            DEFAULT_VALID_RANGES if self.valid_ranges is None else self.valid_ranges
        )
        values = np.empty(frame.shape, dtype=np.float64)
        for j, name in enumerate(frame.columns):
            column = frame.iloc[:, j]
            numbers = pd.to_numeric(column, errors="coerce")
            numbers = numbers.astype("float64").to_numpy(na_value=np.nan, copy=True)
            if not (isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu"):
                # text may hold placeholders and words; a numpy number column not
                _warn_unread(name, column, numbers, "are not numbers")
            infinite = np.isinf(numbers)
            _warn_bad(name, column, infinite, "are infinite")
            numbers[infinite] = np.nan
            if name in ranges:
                low, high = ranges[name]
                outside = (numbers < low) | (numbers > high)
                _warn_bad(name, column, outside, f"are outside [{low}, {high}]")
                numbers[outside] = np.nan
            values[:, j] = numbers
        return values

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn medians, which columns to log-scale, and the scaling."""
        validate_data(self, X, dtype=None, ensure_all_finite=False, reset=True)
        values = self._to_numbers(X)
        missing = np.isnan(values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nanmedian(values, axis=0) if len(values) else None
        medians = np.where(np.isnan(medians), 0.0, medians)
        filled = np.where(missing, medians, values)
        # the skewness of the values with the extremes pulled in: one huge value
        # must not decide (or overflow) it
        low, high = _robust_bounds(values)
        skew = pd.DataFrame(np.clip(filled, low, high)).skew().fillna(0.0)
        self.log_scaled_ = (skew.to_numpy() > self.skew_threshold) & (
            filled.min(axis=0) >= 0
        )
        logged = np.where(self.log_scaled_, np.log1p(np.abs(values)), values)
        self.lower_, self.upper_ = _robust_bounds(logged)
        filled = np.where(self.log_scaled_, np.log1p(np.abs(filled)), filled)
        filled = np.clip(filled, self.lower_, self.upper_)
        self.medians_ = medians
        with np.errstate(over="ignore", invalid="ignore"):
            mean = filled.mean(axis=0)
            scale = filled.std(axis=0)
        self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.missing_indicator_ = missing.any(axis=0)
        return self

    def transform(self, X):
        """Return the scaled columns, then one ``_missing`` flag per flagged column."""
        check_is_fitted(self)
        validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)
        return self._encode(X)

    def _encode(self, X):
        """``transform`` of an ``X`` already checked (the fitted columns, in order)."""
        values = self._to_numbers(X)
        missing = np.isnan(values)
        filled = np.where(missing, self.medians_, values)
        logged = np.log1p(np.clip(filled, 0, None))
        filled = np.where(self.log_scaled_, logged, filled)
        filled = np.clip(filled, self.lower_, self.upper_)
        scaled = (filled - self.mean_) / self.scale_
        flags = missing[:, self.missing_indicator_].astype(np.float64)
        return np.hstack([scaled, flags])

    def get_feature_names_out(self, input_features=None):
        """Column names, then ``<column>_missing`` for each flagged column."""
        check_is_fitted(self)
        names = self._input_names(input_features)
        flags = [
            f"{n}_missing"
            for n, m in zip(names, self.missing_indicator_, strict=True)
            if m
        ]
        return np.asarray(names + flags, dtype=object)


def _robust_bounds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the range of the known (non-NaN) values outside which a value
    counts as extreme.

    The second-smallest to second-largest value (the 1st to 99th percentile on
    more than 100 rows), widened by its own width on each side: no single value
    moves it, and clean data lies inside it. Where that width is 0 (nearly
    constant columns), the whole range. Finite whatever the values.
    """
    lower = np.zeros(values.shape[1])
    upper = np.zeros(values.shape[1])
    for j in range(values.shape[1]):
        known = values[:, j][~np.isnan(values[:, j])]
        if not len(known):
            continue
        low = np.quantile(known, 0.01, method="higher")
        high = np.quantile(known, 0.99, method="lower")
        low, high = min(low, high), max(low, high)
        with np.errstate(over="ignore", invalid="ignore"):
            width = high - low
            lower[j], upper[j] = low - width, high + width
        if not width > 0:
            lower[j], upper[j] = known.min(), known.max()
    # beyond this, squares overflow: no scraped number is anywhere near it
    return np.clip(lower, -_HUGE, _HUGE), np.clip(upper, -_HUGE, _HUGE)


_HUGE = 1e100


def clean_categories(X) -> pd.DataFrame:
    """Categorical cells as stripped text; blanks and placeholders become "missing".

    So a column mixing numbers and text, ``None`` and ``"Unknown"``, encodes
    without error (categories are compared as text).
    """
    frame = _as_frame(X)

    def clean(value) -> str:
        text = None if is_null(value) else clean_text(value)
        return "missing" if text is None else text

    cells = np.empty(frame.shape, dtype=object)
    for j in range(frame.shape[1]):
        codes, uniques = _factorize_text(frame.iloc[:, j])
        if codes is None:
            cells[:, j] = [clean(value) for value in frame.iloc[:, j].tolist()]
        else:
            cleaned = np.array([clean(u) for u in uniques] + [clean(None)], object)
            cells[:, j] = cleaned[codes]
    return pd.DataFrame(cells, index=frame.index, columns=frame.columns, dtype=object)


def _factorize_text(column: pd.Series):
    """``(codes, uniques)`` of a column of text and missing values, each missing
    value coded ``-1``, so that a function of a cell runs once per distinct text;
    ``(None, None)`` for a column holding anything else (where equal hashes,
    such as ``1`` and ``1.0``, need not give equal text)."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None, None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


def _warn_bad(name, column: pd.Series, bad: np.ndarray, why: str) -> None:
    if bad.any():
        example = column[bad].iloc[0]
        warn_user(
            f"Column {name!r}: {int(bad.sum())} value(s) {why} (e.g. {example!r}) "
            "and are treated as missing.",
            DataWarning,
        )


def _warn_unread(
    name,
    column: pd.Series,
    numbers: np.ndarray,
    why: str,
    placeholders: tuple[str, ...] = (*PLACEHOLDERS, ""),
) -> None:
    """:func:`_warn_bad` for the cells of the text ``column`` that hold
    something (not missing, not one of ``placeholders``) but gave no number in
    ``numbers``."""
    unread = np.isnan(numbers) & ~column.isna().to_numpy()
    if unread.any():
        text = column[unread].astype(str).str.strip().str.lower()
        unread[unread] = ~text.isin(placeholders).to_numpy()
        _warn_bad(name, column, unread, why)


class MultiLabelEncoder(_TableTransformer):
    """Multi-hot encode comma-separated list columns.

    ``"Action, Drama"`` becomes 1 in the ``Genres_Action`` and ``Genres_Drama``
    columns. Cells are split on ``,`` (also ``;``, ``|`` and ``/``), whitespace is
    trimmed, and placeholders such as ``"add some"`` or ``"None found"`` count as no
    label. Labels seen fewer than ``min_frequency`` times in ``fit`` are dropped;
    labels never seen in ``fit`` are ignored at ``transform``.

    Parameters
    ----------
    min_frequency : int, default=1
        Minimum number of rows a label must appear in during ``fit`` to get a column.

    Attributes
    ----------
    categories_ : list of list of str
        The kept labels of each input column, sorted.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import MultiLabelEncoder
    >>> encoder = MultiLabelEncoder().fit(
    ...     pd.DataFrame({"Genres": ["Action, Drama", "Drama", "add some"]}))
    >>> encoder.get_feature_names_out().tolist()
    ['Genres_Action', 'Genres_Drama']
    >>> encoder.transform(pd.DataFrame({"Genres": ["Drama; Comedy", None]}))
    array([[0., 1.],
           [0., 0.]], dtype=float32)
    """

    _parameter_constraints = {
        "min_frequency": [Interval(Integral, 1, None, closed="left")]
    }

    def __init__(self, min_frequency=1):
        self.min_frequency = min_frequency

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the labels of each column."""
        validate_data(self, X, dtype=None, ensure_all_finite=False, reset=True)
        frame = _as_frame(X)
        self.categories_ = []
        for j in range(frame.shape[1]):
            counts = Counter(
                label for cell in frame.iloc[:, j] for label in set(split_labels(cell))
            )
            kept = sorted(k for k, c in counts.items() if c >= self.min_frequency)
            self.categories_.append(kept)
        return self

    def transform(self, X):
        """Return a float32 0/1 matrix, one column per kept label."""
        check_is_fitted(self)
        validate_data(self, X, dtype=None, ensure_all_finite=False, reset=False)
        return self._encode(X)

    def _encode(self, X):
        """``transform`` of an ``X`` already checked (the fitted columns, in order)."""
        frame = _as_frame(X)
        blocks = []
        for j, categories in enumerate(self.categories_):
            index = {label: k for k, label in enumerate(categories)}
            codes, uniques = _factorize_text(frame.iloc[:, j])
            cells = frame.iloc[:, j] if codes is None else uniques
            block = np.zeros((len(cells) + 1, len(categories)), dtype=np.float32)
            for i, cell in enumerate(cells):
                for label in split_labels(cell):
                    k = index.get(label)
                    if k is not None:
                        block[i, k] = 1.0
            # one row per distinct text, then the row of a missing cell (zeros)
            blocks.append(block[:-1] if codes is None else block[codes])
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0), np.float32)

    def get_feature_names_out(self, input_features=None):
        """``<column>_<label>`` for each kept label."""
        check_is_fitted(self)
        names = self._input_names(input_features)
        return np.asarray(
            [
                f"{n}_{label}"
                for n, cats in zip(names, self.categories_, strict=True)
                for label in cats
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # 0/1 floats
        return tags


ColumnSpec = Sequence[str] | Callable | None


def _columns(spec: ColumnSpec):
    if spec is None:
        return []
    if callable(spec) or isinstance(spec, str):
        return spec
    return list(spec)


def make_tabular_encoder(
    numeric_columns: ColumnSpec = DEFAULT_NUMERIC_COLUMNS,
    categorical_columns: ColumnSpec = DEFAULT_CATEGORICAL_COLUMNS,
    list_columns: ColumnSpec = DEFAULT_LIST_COLUMNS,
    poster_column: str | None = DEFAULT_POSTER_COLUMN,
    *,
    min_frequency: int = 5,
    poster_transformer=None,
    extra_branches: Sequence[tuple] = (),
) -> ColumnTransformer:
    """Build the ``ColumnTransformer`` that encodes an anime table.

    Parameters
    ----------
    numeric_columns : sequence of str or callable, default=("Episodes",)
        Standardised by :class:`NumericEncoder` (log-scaled where skewed). A callable
        (e.g. :func:`sklearn.compose.make_column_selector`) selects columns by dtype.
    categorical_columns : list of str or callable, default=DEFAULT_CATEGORICAL_COLUMNS
        ``("Type", "Source", "Rating")`` by default.
        One-hot encoded (after :func:`clean_categories` turns blanks and
        placeholders into a "missing" category); unknown categories are ignored,
        categories rarer than ``min_frequency`` are grouped.
    list_columns : sequence of str or callable, default=DEFAULT_LIST_COLUMNS
        ``("Genres", "Themes", "Studios")`` by default.
        Comma-separated lists, multi-hot encoded by :class:`MultiLabelEncoder`.
    poster_column : str or None, default="poster"
        Column of poster paths, handed to ``poster_transformer``; ``None`` for a
        tabular-only model.
    min_frequency : int, default=5
        Minimum count of a category or label to get its own column.
    poster_transformer : PosterLoader or PosterEmbedder, default=None
        The transformer for the poster column; a default :class:`PosterLoader` if
        None.
    extra_branches : sequence of (name, transformer, columns), default=()
        More branches, placed after the list branch; each must output dense
        floats, which join the network's ``"tabular"`` input (see
        :class:`~skanime.PackInputs` to route one to its own input).

    Returns
    -------
    ColumnTransformer
        With pandas output: its feature names are ``numeric__*``,
        ``categorical__*``, ``lists__*``, those of the extra branches, and
        ``poster__path`` (or ``poster__has_image`` and ``poster__emb_*``).

    Examples
    --------
    >>> from skanime import make_tabular_encoder
    >>> from skanime.datasets import make_anime
    >>> df = make_anime(20, random_state=0)
    >>> encoder = make_tabular_encoder(poster_column=None, min_frequency=1)
    >>> encoder.fit_transform(df).columns[0]
    'numeric__Episodes'
    """
    categorical = make_pipeline(
        FunctionTransformer(
            clean_categories, feature_names_out="one-to-one", validate=False
        ),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=min_frequency,
            sparse_output=False,
        ),
    )
    # one branch per line: (name, transformer, columns)
    transformers = [
        ("numeric", NumericEncoder(), _columns(numeric_columns)),
        ("categorical", categorical, _columns(categorical_columns)),
        ("lists", MultiLabelEncoder(min_frequency), _columns(list_columns)),
        *extra_branches,
    ]
    if poster_column is not None:
        poster = PosterLoader() if poster_transformer is None else poster_transformer
        transformers.append(("poster", poster, [poster_column]))
    # n_jobs=1: the branches run in this thread, also under a joblib backend such
    # as Dask's, which would otherwise send them to other workers (away from the
    # fit's random state, and letting another fit start in this one's process)
    encoder = ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0, n_jobs=1
    )
    return encoder.set_output(transform="pandas")
