"""What drives a prediction: permutation importance by input column.

:func:`column_importance` permutes each input column of the table as a whole (the
poster column's paths move as one unit: a row gets another anime's poster) with
:func:`sklearn.inspection.permutation_importance`, and measures how much worse the
model's mean absolute error gets. :func:`column_effects` asks, row by row, how
much each column's value moves the prediction against typical values, and
:func:`poster_effect` what the prediction would be without the poster.
:func:`plot_column_importance` and :func:`plot_column_effects` draw them as
horizontal bars.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import mean_absolute_error
from sklearn.utils import check_random_state

from ._bar_figures import bars_size
from ._fitted import check_fitted
from ._progress import progress_bar
from ._warn import each_warning_once
from .exceptions import ColumnError

__all__ = ["column_importance", "model_columns", "plot_column_importance"]
__all__ += ["column_effects", "largest_effects", "plot_column_effects"]
__all__ += ["poster_effect"]

#: Rows :func:`column_effects` predicts at once (as ``predict``'s network
#: chunks them): a chunk of ``X`` each repeated once a background row.
_CHUNK_ROWS = 8192


def _inner(model):
    """The HybridAnimeRegressor inside a wrapper such as ConformalRegressor."""
    return getattr(model, "estimator_", model)


def _frame(X, name: str = "X") -> pd.DataFrame:
    """``X`` as ``predict`` reads it (a polars frame or a list of records
    too); anything else refused, naming ``name``."""
    from ._validation import to_frame  # imports torch, as the model

    X = to_frame(X)
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame; got {type(X).__name__}.")
    return X


def _check_has(table: pd.DataFrame, columns, name: str = "X") -> None:
    """Refuse ``columns`` that ``table`` (called ``name``) lacks, naming them."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ColumnError(
            f"Column(s) {missing} are not in {name}; it has "
            f"{sorted(map(str, table.columns))}."
        )


def model_columns(model) -> list[str]:
    """The input columns a fitted model reads, in its order.

    For a skanime model, its ``required_columns_`` (every column of ``X`` with a
    role), or else the columns its fitted column transformer selected; for any
    other estimator, its ``feature_names_in_``.

    Examples
    --------
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.inspection import model_columns
    >>> df = make_anime(40, random_state=0)
    >>> model = HybridAnimeRegressor(poster_column=None, min_frequency=1, max_epochs=1)
    >>> model_columns(model.fit(df, df["Score"]))[:4]
    ['Title', 'Type', 'Episodes', 'Duration']
    """
    check_fitted(model)
    inner = _inner(model)
    required = getattr(inner, "required_columns_", None)
    if required is not None:  # the columns of X, before any cleaning step
        return [str(c) for c in required]
    pipeline = getattr(inner, "pipeline_", None)
    if pipeline is not None:
        columns = []
        for _, transformer, selected in pipeline["features"].transformers_:
            if transformer == "drop" or isinstance(selected, slice):
                continue
            for column in np.atleast_1d(selected):
                if column not in columns:
                    columns.append(str(column))
        return columns
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise ColumnError(
            f"Cannot tell which columns this {type(model).__name__} reads: it has no "
            "feature_names_in_; pass columns=[...]."
        )
    return [str(c) for c in names]


def column_importance(
    model,
    X: pd.DataFrame,
    y,
    *,
    columns=None,
    n_repeats: int = 5,
    max_samples=1.0,
    random_state=None,
    n_jobs=None,
) -> pd.DataFrame:
    """Permutation importance of each input column, permuted as a whole.

    Parameters
    ----------
    model : fitted regressor
        A :class:`~skanime.HybridAnimeRegressor`, a model wrapping one (such as
        :class:`~skanime.intervals.ConformalRegressor`), or any regressor fitted
        on a DataFrame.
    X : DataFrame of shape (n_samples, n_columns)
        Rows the model was not trained on, for an honest reading. A polars
        frame or a list of records (dicts) is read as ``predict`` reads it.
    y : array-like of shape (n_samples,)
    columns : list of str, default=None
        The columns to permute; None takes the columns the model reads
        (:func:`model_columns`). The other columns of ``X`` stay as they are.
    n_repeats : int, default=5
        Permutations per column; the mean and standard deviation are over them.
    max_samples : int or float, default=1.0
        Rows drawn (without replacement) for each repeat, as in scikit-learn.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None

    Returns
    -------
    importances : DataFrame
        Indexed by column, sorted by decreasing ``importance_mean``: the increase
        in mean absolute error when the column is permuted (``importance_mean``,
        ``importance_std`` over repeats). ``importances.attrs["baseline_mae"]`` is
        the unpermuted error.

    Examples
    --------
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.inspection import column_importance
    >>> df = make_anime(80, random_state=0)
    >>> model = HybridAnimeRegressor(
    ...     poster_column=None, max_epochs=2, min_frequency=1, random_state=0
    ... ).fit(df, df["Score"])
    >>> table = column_importance(model, df, df["Score"], n_repeats=2, random_state=0)
    >>> sorted(table.index)  # doctest: +NORMALIZE_WHITESPACE
    ['Duration', 'Episodes', 'Genres', 'Producers', 'Rating', 'Season', 'Source',
     'Studios', 'Themes', 'Title', 'Type', 'Year']
    >>> list(table.columns)
    ['importance_mean', 'importance_std']
    """
    from ._validation import check_target

    X = _frame(X)
    if columns is None:  # less those it learned nothing from, where X lacks them
        empty = getattr(_inner(model), "empty_columns_", ())
        columns = [c for c in model_columns(model) if c in X.columns or c not in empty]
    else:
        columns = [str(c) for c in columns]
    _check_has(X, columns)
    y = check_target(y, len(X), X=X)  # names NaN, text or a length that differs
    full = X.reset_index(drop=True)

    def neg_mae(estimator, part, y_part):
        # permutation_importance sees only ``columns``; the rest rejoins by row
        rows = full.iloc[part.index].copy()
        for column in part.columns:
            rows[column] = part[column].to_numpy()
        return -mean_absolute_error(y_part, estimator.predict(rows))

    with each_warning_once():  # not once a predict: dozens of them
        result = permutation_importance(
            model,
            full[columns],
            y,
            scoring=neg_mae,
            n_repeats=n_repeats,
            max_samples=max_samples,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        baseline = -neg_mae(model, full[columns], y)
    table = pd.DataFrame(
        {
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
        },
        index=pd.Index(columns, name="column"),
    ).sort_values("importance_mean", ascending=False)
    table.attrs["baseline_mae"] = float(baseline)
    return table


def poster_effect(model, X: pd.DataFrame, *, poster_column=None) -> pd.Series:
    """Per row: the prediction with the poster minus the prediction without it.

    The model's own answer to "what if this anime had no poster": the same row
    with an empty poster cell (a state the model is trained with, as anime
    without a poster are common). Rows without a poster get NaN.

    Parameters
    ----------
    model : fitted HybridAnimeRegressor (or a model wrapping one)
    X : DataFrame
        The rows (a polars frame or a list of records too, as ``predict``
        reads them).
    poster_column : str, default=None
        None takes the model's poster column (``poster_column_``).

    Returns
    -------
    effect : Series of float, indexed like ``X``

    Examples
    --------
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.inspection import poster_effect
    >>> df = make_anime(40, random_state=0)
    >>> df.loc[1, "poster"] = None  # an anime without a poster
    >>> model = HybridAnimeRegressor(backbone="simple_cnn", image_size=16, n_members=1,
    ...                              min_frequency=1, max_epochs=1, random_state=0)
    >>> effect = poster_effect(model.fit(df, df["Score"]), df.head(3))
    >>> effect.isna().tolist()  # NaN where there is no poster to take away
    [False, True, False]
    """
    check_fitted(model)
    X = _frame(X)
    inner = _inner(model)
    column = poster_column or getattr(
        inner, "poster_column_", getattr(inner, "poster_column", None)
    )
    if column is None:
        raise ColumnError(
            f"This {type(inner).__name__} reads no poster (it was fitted without a "
            "poster column), so no prediction depends on one."
        )
    if column not in X.columns:
        raise ColumnError(
            f"X lacks the poster column {column!r} the model reads; it has "
            f"{[str(c) for c in X.columns]}."
        )
    has_poster = X[column].notna().to_numpy()
    without = X.copy()
    without[column] = None
    with each_warning_once():  # the two predictions read the same table
        effect = np.asarray(model.predict(X), dtype=np.float64) - np.asarray(
            model.predict(without), dtype=np.float64
        )
    return pd.Series(np.where(has_poster, effect, np.nan), index=X.index)


def column_effects(
    model,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    columns=None,
    n_background: int = 50,
    random_state=None,
    verbose: int = 0,
) -> pd.DataFrame:
    """Per row and column: how much the column's value moves the prediction.

    The effect of column ``c`` on row ``x`` is the prediction for ``x`` minus
    the mean prediction for ``x`` with ``c`` taken from each row of
    ``background`` in turn, the rest of ``x`` kept: "what does this anime's
    studio (its genres, its poster, ...) add, against the studios of typical
    anime?". A list column (``Genres``) and the poster move as one unit, as in
    :func:`column_importance`. Effects of several columns need not add up to
    the prediction's distance from the background's mean prediction: columns
    that act together (episodes and duration) share their effect, or double it.

    Parameters
    ----------
    model : fitted regressor
        A :class:`~skanime.HybridAnimeRegressor`, a model wrapping one (such as
        :class:`~skanime.intervals.ConformalRegressor`), or any regressor fitted
        on a DataFrame.
    X : DataFrame
        The rows to explain (a polars frame or a list of records too, as
        ``predict`` reads them).
    background : DataFrame
        Typical rows the values are compared with: the training rows, or a
        sample of them. Rows up to ``n_background`` are drawn from it.
    columns : list of str, default=None
        The columns to measure; None takes the columns the model reads
        (:func:`model_columns`) that ``X`` has, and ``background`` must have
        them too.
    n_background : int, default=50
        Background rows drawn (without replacement) when it has more; each
        column costs ``len(X)`` predictions per distinct value among them, at
        most ``len(X) * n_background``.
    random_state : int, RandomState instance or None, default=None
        Which background rows are drawn.
    verbose : int, default=0
        Above 0, a progress bar on stderr: the rows are predicted in chunks of
        about 8,192 rows, and the bar counts them (1,000 anime against 50
        background rows, 12 columns: up to 600,000 predictions).

    Returns
    -------
    effects : DataFrame of shape (n_rows, n_columns)
        Indexed like ``X``, one column per input column, ordered by the mean
        absolute effect, largest first. ``effects.attrs["predicted"]`` holds the
        rows' predictions and ``effects.attrs["background_mean"]`` the mean
        prediction for the background rows drawn.

    See Also
    --------
    plot_column_effects : one row's effects as bars.
    poster_effect : the prediction with the poster minus without it.

    Examples
    --------
    Any regressor fitted on a DataFrame; for a linear one, a column's effect
    is its weight times the row's distance from the background's mean:

    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from skanime.inspection import column_effects
    >>> X = pd.DataFrame(
    ...     {"Episodes": [12, 24, 1, 13], "Year": [2001, 2010, 2015, 2020]}
    ... )
    >>> model = LinearRegression().fit(X, [7.0, 7.6, 6.4, 7.1])
    >>> effects = column_effects(model, X.head(2), X)
    >>> effects.round(3)  # 24 episodes against 12.5 on average: +0.605
    column  Episodes   Year
    0         -0.026 -0.020
    1          0.605 -0.003
    >>> round(effects.attrs["background_mean"], 3)  # the mean prediction
    7.025
    >>> effects.attrs["predicted"].round(3).tolist()
    [6.979, 7.627]
    """
    check_fitted(model)
    X, background = _frame(X), _frame(background, "background")
    for name, table in (("X", X), ("background", background)):
        if table.empty:
            raise ValueError(f"{name} has no rows.")
    if (
        isinstance(n_background, bool)
        or not isinstance(n_background, Integral)
        or n_background < 1
    ):
        raise ValueError(
            f"n_background must be a whole number >= 1; got {n_background!r}."
        )
    if columns is None:
        columns = [c for c in model_columns(model) if c in X.columns]
    else:
        columns = [str(c) for c in columns]
    _check_has(X, columns)
    _check_has(background, columns, "background")
    if len(background) > n_background:
        drawn = check_random_state(random_state).choice(
            len(background), n_background, replace=False
        )
        background = background.iloc[np.sort(drawn)]
    n, b = len(X), len(background)
    # a background value several rows share is predicted once and counted as
    # often (50 real anime hold 6 types, 12 sources, 4 poster cells)
    distinct = {column: _distinct(background[column]) for column in columns}
    effects = {column: np.empty(n) for column in columns}
    with (
        each_warning_once(),  # not once a column: a dozen predictions
        progress_bar(
            total=n * sum(len(values) for values, _ in distinct.values()),
            desc="column effects",
            unit="row",
            unit_scale=True,
            disable=not verbose,
        ) as bar,
    ):
        predicted = np.asarray(model.predict(X), dtype=np.float64)
        for column, (values, counts) in distinct.items():
            k, share = len(values), counts / b
            # each row of X once a value: a chunk of X at a time, so that
            # memory stays bounded by the chunk, not by len(X) * k
            step = max(1, _CHUNK_ROWS // k)
            for start in range(0, n, step):
                part = np.arange(start, min(start + step, n))
                rows = X.iloc[np.repeat(part, k)].reset_index(drop=True)
                rows[column] = pd.concat([values] * len(part), ignore_index=True)
                taken = np.asarray(model.predict(rows), dtype=np.float64)
                effects[column][part] = predicted[part] - taken.reshape(-1, k) @ share
                bar.update(len(rows))
        background_mean = float(np.mean(model.predict(background)))
    table = pd.DataFrame(effects, index=X.index)
    table.columns.name = "column"
    order = table.abs().mean().sort_values(ascending=False, kind="stable").index
    table = table[order]
    table.attrs["predicted"] = pd.Series(predicted, index=X.index)
    table.attrs["background_mean"] = background_mean
    return table


def _distinct(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The distinct cells of a background column, each at its first row, and
    how many rows hold each (missing cells, NaN or None, are one value); every
    cell once where they cannot be compared (lists, arrays).

    >>> cells, counts = _distinct(pd.Series([12.0, 24.0, None, 12.0, np.nan]))
    >>> cells.tolist(), counts.tolist()
    ([12.0, 24.0, nan], [2, 1, 2])
    """
    try:
        codes, _ = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable cells: a list of genres
        return values, np.ones(len(values))
    counts = np.bincount(codes)  # codes number the cells as they first appear
    first = np.unique(codes, return_index=True)[1]
    return values.iloc[first], counts


def largest_effects(effects: pd.Series, top: int) -> pd.Series:
    """The ``top`` largest of one row's :func:`column_effects` (a Series by
    column), in absolute value, largest first.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime.inspection import largest_effects
    >>> largest_effects(pd.Series({"Type": 0.1, "Studios": -0.4, "Year": 0.2}), 2)
    Studios   -0.4
    Year       0.2
    dtype: float64
    """
    return effects.reindex(effects.abs().sort_values(ascending=False).index[:top])


def plot_column_effects(effects: pd.DataFrame, row=None, ax=None, *, top: int = 15):
    """One row of :func:`column_effects` as horizontal bars: what raised its
    prediction (right) and what lowered it (left).

    Parameters
    ----------
    effects : DataFrame
        What :func:`column_effects` returns.
    row : label, default=None
        The row of ``effects`` to draw (an index label); None for its only row.
    ax : matplotlib Axes, default=None
        Where to draw; a new pyplot figure when None.
    top : int, default=15
        How many of the row's largest effects (in absolute value) to show.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from skanime.inspection import plot_column_effects
    >>> effects = pd.DataFrame({"Studios": [0.4], "Type": [-0.1]}, index=["Bebop"])
    >>> ax = plot_column_effects(effects, "Bebop", ax=Figure().subplots())
    >>> [label.get_text() for label in ax.get_yticklabels()]  # the largest on top
    ['Type', 'Studios']
    """
    if not isinstance(effects, pd.DataFrame) or effects.empty:
        raise ValueError(
            "effects must be the DataFrame that column_effects returns, with rows."
        )
    if row is None:
        if len(effects) != 1:
            raise ValueError(
                f"effects has {len(effects)} rows: name the one to draw (row=...)."
            )
        row = effects.index[0]
    if row not in effects.index:
        raise KeyError(f"No row {row!r} in effects; it has {list(effects.index)[:10]}.")
    if (effects.index == row).sum() > 1:
        raise ValueError(
            f"The row {row!r} is in effects more than once: give X an index of "
            "unique labels (titles, say)."
        )
    if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
        raise ValueError(f"top must be a whole number >= 1; got {top!r}.")
    shown = largest_effects(effects.loc[row], top)[::-1]  # the largest on top
    if ax is None:  # pyplot's figure, with the caller's backend (inline in Jupyter)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=bars_size(len(shown)))
    colors = np.where(shown.to_numpy() >= 0, "tab:green", "tab:red")
    ax.barh(shown.index.astype(str), shown.to_numpy(), color=colors, alpha=0.8)
    ax.axvline(0, color="black", lw=0.8)
    predicted = effects.attrs.get("predicted")
    mean = effects.attrs.get("background_mean")
    title = f"{row}"
    if predicted is not None and mean is not None and row in predicted.index:
        title += f": predicted {predicted.loc[row]:.2f} (typical anime {mean:.2f})"
    ax.set(title=title, xlabel="effect on the predicted score")
    ax.grid(axis="x", alpha=0.3)
    return ax


_IMPORTANCE_COLUMNS = ("importance_mean", "importance_std")


def _check_importances(importances) -> None:
    """Refuse anything but :func:`column_importance`'s table, naming what it lacks."""
    if not isinstance(importances, pd.DataFrame):
        raise TypeError(
            "plot_column_importance takes the DataFrame that column_importance "
            f"returns; got {type(importances).__name__}."
        )
    missing = [c for c in _IMPORTANCE_COLUMNS if c not in importances.columns]
    if missing:
        has = [str(c) for c in importances.columns]
        raise ColumnError(
            f"The importance table lacks {missing}: plot_column_importance takes "
            "the DataFrame that column_importance returns (columns "
            f"{list(_IMPORTANCE_COLUMNS)}); it has {has}."
        )


def plot_column_importance(importances: pd.DataFrame, ax=None, *, top: int = 20):
    """Horizontal bars of :func:`column_importance`, with the spread as error bars.

    Parameters
    ----------
    importances : DataFrame
        What :func:`column_importance` returns: one row per column, with
        ``importance_mean`` and ``importance_std``.
    ax : matplotlib Axes, default=None
        Where to draw; a new pyplot figure when None.
    top : int, default=20
        How many of the most important columns to show.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from skanime.inspection import plot_column_importance
    >>> importances = pd.DataFrame(
    ...     {"importance_mean": [0.14, 0.08], "importance_std": [0.01, 0.005]},
    ...     index=pd.Index(["Title", "Duration"], name="column"))
    >>> ax = plot_column_importance(importances, ax=Figure().subplots())
    >>> [label.get_text() for label in ax.get_yticklabels()]  # the largest on top
    ['Duration', 'Title']
    """
    _check_importances(importances)
    if isinstance(top, bool) or not isinstance(top, Integral) or top < 1:
        raise ValueError(f"top must be a whole number >= 1; got {top!r}.")
    shown = importances.head(top).iloc[::-1]
    if ax is None:  # pyplot's figure, with the caller's backend (inline in Jupyter)
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=bars_size(len(shown)))
    ax.barh(
        shown.index.astype(str),
        shown["importance_mean"],
        xerr=shown["importance_std"],
        color="tab:blue",
        alpha=0.8,
    )
    ax.axvline(0, color="black", lw=0.8)
    baseline = importances.attrs.get("baseline_mae")
    note = f" (MAE {baseline:.3f} unpermuted)" if baseline is not None else ""
    ax.set(
        title="Column importance",
        xlabel=f"increase in MAE when the column is permuted{note}",
    )
    ax.grid(axis="x", alpha=0.3)
    return ax
