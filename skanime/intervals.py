"""Prediction intervals by split conformal prediction: how sure is a score?

:class:`ConformalRegressor` wraps any regressor (a :class:`HybridAnimeRegressor`
by default). Its ``fit`` holds out ``calibration_size`` of the rows, trains a clone
of the regressor on the others only, and keeps the absolute errors it makes on the
held-out rows. An interval of confidence ``c`` is then the prediction plus or minus
the ``ceil((n + 1) c) / n`` quantile of those ``n`` errors: if new rows are
exchangeable with the calibration rows, it holds the true score with probability at
least ``c`` (and barely more). The calibration rows never train the network (nor
its early stopping), so the guarantee is honest.

That guarantee is on average over rows: with one width for every row, the rows
that are harder to predict are covered less often than ``c`` and the others more
(on MyAnimeList, an 80 % interval holds 75 % of the scores of anime without
related anime and 86 % of franchise entries). ``difficulty="auto"`` scales each
row's width by a model of how large its error is likely to be, fitted on half of
the calibration rows; the other half calibrates the scaled errors, and the
guarantee holds as before. ``fit(X, y, sample_weight=w)`` counts each
calibration row's error as many times as its weight (Barber et al., 2023):
weights that favour the latest anime let the intervals follow a drift.

Anime later than the data are not exchangeable with it: scores drift, and a
model errs more on anime further from its training years. ``time_column="Year"``
calibrates for them: the latest ``calibration_size`` of the rows calibrate a
clone trained on the earlier ones, and the estimator is then trained again on
every row. Each calibration error comes from a model as far behind its
calibration anime as the returned model is behind the anime that follow its
data (on MyAnimeList, one year ahead: 80 % intervals held 0.78 of the scores,
against 0.76 for a model trained before the latest year and calibrated on it,
and 0.67 calibrated on random anime; docs/benchmarks.md).

The same intervals come from MAPIE (``pip install skanime[intervals]``), which
also offers cross-conformal (CV+) intervals; see the user guide for the recipe.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

from ._fitted import check_fitted
from ._score_arrays import score_arrays
from ._times import read_times
from ._warn import warn_user
from ._weights import checked_weights, refuse_unweighted
from .exceptions import ColumnError, DataError, DataWarning, NotFittedError

__all__ = ["ConformalRegressor", "conformal_quantile", "interval_coverage"]


def conformal_quantile(residuals, confidence_level: float, sample_weight=None) -> float:
    """The split-conformal half-width for ``confidence_level`` from ``residuals``.

    The ``ceil((n + 1) * confidence_level)``-th smallest absolute residual; infinite
    when there are too few residuals for that level.

    With ``sample_weight``, each residual counts as many times as its weight (a
    weight of 2 as the row twice, 0 as no row) and the new row's own error as
    once: the smallest residual whose weights, with those of all smaller ones,
    reach ``confidence_level`` times the total weight plus 1 (the non-exchangeable
    conformal quantile of Barber et al., 2023, "Conformal prediction beyond
    exchangeability"). Weights of 1 give the unweighted quantile.

    Examples
    --------
    >>> conformal_quantile([0.1, 0.2, 0.3, 0.4], 0.5)
    0.3
    >>> conformal_quantile([0.1, 0.2, 0.3, 0.4], 0.9)
    inf
    >>> conformal_quantile([0.1, 0.2, 0.3, 0.4], 0.5, sample_weight=[2, 2, 1, 1])
    0.2
    """
    residuals = np.abs(np.asarray(residuals, dtype=np.float64).ravel())
    if not 0 < confidence_level < 1:
        raise ValueError(
            f"Got confidence_level={confidence_level!r}, expected a number strictly "
            "between 0 and 1 (such as 0.8 for an 80 % interval)."
        )
    if sample_weight is None:
        residuals = np.sort(residuals)
        rank = math.ceil((len(residuals) + 1) * confidence_level)
        return float(residuals[rank - 1]) if rank <= len(residuals) else float("inf")
    weight = np.asarray(sample_weight, dtype=np.float64).ravel()
    if weight.shape != residuals.shape:
        raise ValueError(
            f"sample_weight has {len(weight)} values for {len(residuals)} residuals."
        )
    order = np.argsort(residuals, kind="stable")
    reached = np.cumsum(weight[order]) >= (weight.sum() + 1) * confidence_level
    if not reached.any():
        return float("inf")
    return float(residuals[order][np.argmax(reached)])


def interval_coverage(y_true, intervals) -> dict[str, float]:
    """Share of ``y_true`` inside ``intervals`` (shape ``(n, 2)``) and mean width.

    Examples
    --------
    >>> interval_coverage([5.0, 7.0], [[4.5, 5.5], [7.5, 8.0]])
    {'coverage': 0.5, 'mean_width': 0.75}
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    intervals = np.asarray(intervals, dtype=np.float64)
    if intervals.shape != (len(y_true), 2):
        raise ValueError(
            f"intervals must have shape (n_samples, 2) = ({len(y_true)}, 2); got "
            f"{intervals.shape}."
        )
    inside = (intervals[:, 0] <= y_true) & (y_true <= intervals[:, 1])
    return {
        "coverage": float(inside.mean()),
        "mean_width": float(np.mean(intervals[:, 1] - intervals[:, 0])),
    }


def _predict_with_rows(estimator, X, *, encoded: bool):
    """``estimator``'s predictions (float64, 1-D) and, where ``encoded``, the rows
    as a difficulty model reads them: the estimator's encoded rows where it offers
    them (``X`` encoded once for both), else ``X``."""
    both = getattr(estimator, "_predict_and_encode", None)
    if encoded and both is not None:
        predicted, rows = both(X)
    else:
        predicted, rows = estimator.predict(X), X
    return np.asarray(predicted, dtype=np.float64).ravel(), rows


def _encoded_rows(estimator, X):
    """The rows as a difficulty model reads them, without predicting."""
    encode = getattr(estimator, "_encoded_rows", None)
    return X if encode is None else encode(X)


def _one_a_row(y_pred, X=None) -> np.ndarray:
    """``y_pred`` as one finite prediction a row (``(n,)``, or ``(n, 1)`` as a
    network gives it), as many as ``X`` has rows where it is given."""
    (values,) = score_arrays("interval_around", allow_empty=True, y_pred=y_pred)
    if X is not None and _num_samples(X) != len(values):
        raise ValueError(
            f"interval_around: y_pred has {len(values)} predictions but X has "
            f"{_num_samples(X)} rows; pass the rows y_pred was predicted for."
        )
    return values


def _scales(difficulty, floor: float, rows) -> np.ndarray:
    """Each row's predicted difficulty, at least ``floor``."""
    predicted = np.asarray(difficulty.predict(rows), dtype=np.float64).ravel()
    return np.maximum(predicted, floor)


def _too_few_to_calibrate(level: float, residuals, weight, bounded: bool) -> str:
    """The warning for a ``level`` whose conformal quantile is infinite: the
    calibration rows (or their total weight) it would need."""
    need = level / (1 - level) - 1e-9  # n >= need, or sum(weight) >= need
    percent = f"{100 * level:.6g}%"  # 80%, 99.9%
    named = f"{'an' if percent.startswith(('8', '11', '18')) else 'a'} {percent}"
    if weight is None:
        few = (
            f"{len(residuals)} calibration row(s) are too few for {named} interval "
            f"(it needs at least {math.ceil(need)})"
        )
    else:
        few = (
            f"the {len(residuals)} calibration rows weigh "
            f"{float(np.sum(weight)):.3g} in all, too little for {named} interval "
            f"(it needs a total weight of at least {need:.3g})"
        )
    spans = "spans the whole target range" if bounded else "is unbounded"
    return (
        f"{few[0].upper()}{few[1:]}: its bounds are infinite, so each interval "
        f"{spans}. Calibrate on more rows, or ask for a lower confidence_level."
    )


class ConformalRegressor(RegressorMixin, BaseEstimator):
    """A regressor with split-conformal prediction intervals.

    Parameters
    ----------
    estimator : regressor, default=None
        The model to wrap (cloned, never modified); None takes a
        :class:`~skanime.HybridAnimeRegressor` with its defaults. A model
        already fitted, wrapped in :class:`~sklearn.frozen.FrozenEstimator`, is
        not trained again: every row given to ``fit`` calibrates it. Those rows
        must be rows it was not trained on, or the intervals are too narrow.
    calibration_size : float, default=0.2
        Share of the rows given to ``fit`` that are held out to calibrate the
        intervals; the estimator is trained on the others only. Unused with a
        :class:`~sklearn.frozen.FrozenEstimator`. With ``time_column``, the
        latest rows (on MyAnimeList, 0.05 is about the latest year).
    difficulty : None, "auto" or regressor, default=None
        None: every interval has the same width. Otherwise a model of each row's
        absolute error scales its width (normalised split conformal): ``"auto"``
        is a :class:`~sklearn.ensemble.HistGradientBoostingRegressor` with the
        absolute error loss; a regressor given is cloned. It is fitted on a random
        half of the calibration rows; the errors of the other half, each divided by
        its predicted difficulty, give the quantile. It reads the estimator's
        encoded rows when the estimator offers them (a
        :class:`~skanime.HybridAnimeRegressor`: its network's tabular block, with
        the title's priors and the has-poster flag), else ``X`` itself.
    time_column : str, int or None, default=None
        None: the calibration rows are drawn at random. A column of ``X`` (a
        name, or a position for an array) that orders the rows in time, such as
        ``"Year"``, a column of datetimes, or dates written as text such as
        MyAnimeList's ``"Aired"`` (read as years: the start's year plus a
        quarter a season, 2009.25 for ``"Apr 5, 2009 to Jul 4, 2010"``; a cell
        that is no date gets no time, with a warning, and a column mostly of
        such text, such as titles, is refused): the calibration rows are the
        latest ``calibration_size`` of the rows by it
        (rows of equal time in random order, rows without a time never), a clone
        trained on the others gives the calibration errors, and ``estimator_``
        is then trained again on every row (two fits). The intervals are meant
        for rows later than the data: each calibration error is one of a model
        on rows later than its own data, as the final model's errors on new
        anime will be. Not with ``difficulty`` or a
        :class:`~sklearn.frozen.FrozenEstimator` (which cannot be trained again).
    time_gap : float, default=0
        With ``time_column`` (a column of numbers, or of dates written as
        text, which are read in years): how far before the
        earliest calibration row the clone's training rows end. The rows whose
        time lies within ``time_gap`` of it, or later, do not train the clone
        (they still train ``estimator_``); rows without a time do. 0 leaves
        none out. With years, ``time_gap=1`` makes each calibration error that
        of a model two years behind its anime, as ``estimator_`` is behind the
        anime two years after its data: intervals for those (on MyAnimeList,
        over three model seeds, 80 % intervals held 74 % of the scores two years
        ahead with 0, and 79 % with 1; ``docs/benchmarks.md``).
    random_state : int, RandomState instance or None, default=None
        Seeds the split into training and calibration rows (and, with
        ``difficulty``, of the calibration rows into halves).

    Attributes
    ----------
    estimator_ : regressor
        The clone of ``estimator`` trained on the training rows (with
        ``time_column``, on every row); with a
        :class:`~sklearn.frozen.FrozenEstimator`, the fitted model it wraps.
    calibration_residuals_ : ndarray
        Sorted absolute errors of ``estimator_`` on the calibration rows (with
        ``time_column``, of the clone trained before them); with
        ``difficulty``, on the half that calibrates, each divided by its row's
        difficulty.
    calibration_rows_ : ndarray of int
        Positions, among the rows given to ``fit``, of the rows held out to
        calibrate, in increasing order (with ``difficulty``, both halves; with
        a :class:`~sklearn.frozen.FrozenEstimator`, every row), to tell them
        apart later: their intervals' coverage is optimistic.
    calibration_weights_ : ndarray or None
        The weights of those errors, in the same order, where ``fit`` was given
        ``sample_weight``; None without.
    difficulty_ : regressor or None
        The fitted difficulty model (None without ``difficulty``).
    difficulty_floor_ : float or None
        The smallest difficulty used: a tenth of the mean absolute error on the
        rows the difficulty model was fitted on, so that no width collapses.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when the estimator has them.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.intervals import ConformalRegressor
    >>> df = make_anime(200, random_state=0)
    >>> X, y = df[["Episodes", "Duration", "Year"]], df["Score"]
    >>> model = ConformalRegressor(
    ...     HistGradientBoostingRegressor(max_iter=20), random_state=0
    ... ).fit(X, y)
    >>> model.predict_interval(X, confidence_level=0.8).shape
    (200, 2)
    >>> len(model.calibration_residuals_)
    40
    >>> scaled = ConformalRegressor(
    ...     HistGradientBoostingRegressor(max_iter=20),
    ...     calibration_size=0.5,
    ...     difficulty="auto",
    ...     random_state=0,
    ... ).fit(X, y)
    >>> widths = scaled.predict_interval(X, confidence_level=0.8) @ [-1, 1]
    >>> bool(widths.max() > 2 * widths.min())  # each row its own width
    True

    A model fitted before, calibrated on rows it did not see:

    >>> from sklearn.frozen import FrozenEstimator
    >>> fitted = HistGradientBoostingRegressor(max_iter=20).fit(X[:150], y[:150])
    >>> later = ConformalRegressor(FrozenEstimator(fitted)).fit(X[150:], y[150:])
    >>> later.estimator_ is fitted, len(later.calibration_residuals_)
    (True, 50)

    Intervals for anime later than the data, calibrated on the latest tenth of
    the rows by a model trained before them; the model kept learns every row:

    >>> ahead = ConformalRegressor(
    ...     HistGradientBoostingRegressor(max_iter=20),
    ...     calibration_size=0.1,
    ...     time_column="Year",
    ...     random_state=0,
    ... ).fit(X, y)
    >>> len(ahead.calibration_residuals_), ahead.estimator_.n_iter_ > 0
    (20, True)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "difficulty": [None, StrOptions({"auto"}), HasMethods(["fit", "predict"])],
        "time_column": [str, Integral, None],
        "time_gap": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        calibration_size=0.2,
        difficulty=None,
        time_column=None,
        time_gap=0,
        random_state=None,
    ):
        self.estimator = estimator
        self.calibration_size = calibration_size
        self.difficulty = difficulty
        self.time_column = time_column
        self.time_gap = time_gap
        self.random_state = random_state

    @staticmethod
    def min_calibration_rows(difficulty=None) -> int:
        """The fewest calibration rows ``fit`` takes with this ``difficulty``.

        1, or 4 with a ``difficulty`` model (half of the calibration rows fit
        it, the other half calibrate).

        Examples
        --------
        >>> from sklearn.linear_model import Ridge
        >>> ConformalRegressor.min_calibration_rows()
        1
        >>> ConformalRegressor.min_calibration_rows(Ridge())
        4
        """
        return 1 if difficulty is None else 4

    def _make_estimator(self):
        if self.estimator is None:
            from ._estimator import HybridAnimeRegressor

            return HybridAnimeRegressor()
        return clone(self.estimator)

    def _announce(self, what: str) -> None:
        """Print which of ``time_column``'s two fits starts, where the estimator
        prints its own progress (a truthy ``verbose``): each prints its epochs."""
        estimator = self.estimator
        verbose = 0 if estimator is None else estimator.get_params().get("verbose")
        if verbose:
            print(f"ConformalRegressor: {what}.", flush=True)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Train on ``1 - calibration_size`` of the rows, calibrate on the rest
        (a :class:`~sklearn.frozen.FrozenEstimator`: calibrate on every row;
        ``time_column``: calibrate on the latest rows, then train on every row).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. The training rows' weights go to the
            estimator's ``fit`` (and the difficulty model's); each calibration
            row's error counts as many times as its weight, a new row's as once
            (:func:`conformal_quantile`). Weights below 1 on older anime, for
            example, make the intervals follow the later ones (Barber et al.,
            2023). Weights are counts: doubling them all narrows the intervals
            a little, as twice the calibration rows would.

        Returns
        -------
        self : ConformalRegressor
        """
        y = column_or_1d(y, warn=True)
        self._check_time_column()
        if sample_weight is not None:
            sample_weight = self._checked_weights(sample_weight, X)
        rng = check_random_state(self.random_state)
        estimator, calibration, X_cal, y_cal, weight = self._train(
            X, y, sample_weight, rng
        )
        scaled = self.difficulty is not None
        predicted, rows = _predict_with_rows(estimator, X_cal, encoded=scaled)
        residuals = np.abs(np.asarray(y_cal, dtype=np.float64).ravel() - predicted)
        difficulty = floor = None
        if scaled:
            difficulty, floor, residuals, weight = self._fit_difficulty(
                rows, residuals, weight, rng
            )
        if self.time_column is not None:  # the model kept learns every row
            self._announce(f"fit 2 of 2, the model kept, on all {len(y)} rows")
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            estimator = self._make_estimator().fit(X, y, **weights)
        order = np.argsort(residuals, kind="stable")
        # set once everything is fitted: a refit that fails keeps the old model
        self.estimator_ = estimator
        self.difficulty_, self.difficulty_floor_ = difficulty, floor
        self.calibration_residuals_ = residuals[order]
        self.calibration_weights_ = None if weight is None else weight[order]
        self.calibration_rows_ = calibration
        self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        return self

    def _check_time_column(self) -> None:
        """Refuse, before anything trains, what ``time_column`` cannot do."""
        if self.time_column is None:
            if self.time_gap:
                raise ValueError(
                    f"time_gap={self.time_gap!r} needs a time_column to measure "
                    "the gap in; pass time_column (such as 'Year') or time_gap=0."
                )
            return
        if isinstance(self.estimator, FrozenEstimator):
            raise ValueError(
                f"time_column={self.time_column!r} trains the estimator again on "
                "every row after calibrating, which a FrozenEstimator cannot be; "
                "pass the estimator unfrozen, or calibrate the frozen model on "
                "later rows without time_column."
            )
        if self.difficulty is not None:
            raise ValueError(
                f"time_column={self.time_column!r} does not take a difficulty "
                "model (it would read the encoding of a model that is not kept); "
                "use difficulty=None for intervals of one width."
            )

    def _latest_rows(self, X, n_cal: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the rows that train and of the ``n_cal`` latest by
        ``time_column`` that calibrate (ties in random order)."""
        if issparse(X):
            table = X.tocsr()
        else:
            table = X if hasattr(X, "columns") else np.asarray(X)
        try:
            column = _safe_indexing(table, self.time_column, axis=1)
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            names = getattr(X, "columns", None)
            has = f"; it has {list(names)}" if names is not None else ""
            raise ColumnError(
                f"time_column={self.time_column!r}: X has no such column{has}."
            ) from exc
        if isinstance(column, pd.Series):  # its dtype kept (Int64, dates with a zone)
            times = column.reset_index(drop=True)
        else:
            column = column.toarray() if issparse(column) else np.asarray(column)
            if not hasattr(X, "columns"):  # an array's times are numbers
                column = column.astype(np.float64)
            times = pd.Series(column.ravel())
        times = read_times(times, f"time_column={self.time_column!r}")
        known = int(times.notna().sum())
        if known < n_cal:
            raise DataError(
                f"time_column={self.time_column!r} gives a time to {known} of "
                f"{len(times)} rows; calibration_size={self.calibration_size} "
                f"needs the {n_cal} latest."
            )
        rank = times.rank(method="min", na_option="top").to_numpy()
        order = np.lexsort((rng.permutation(len(times)), rank))
        # each part in the rows' own order: a model's validation folds see no
        # order in time
        train, calibration = np.sort(order[:-n_cal]), np.sort(order[-n_cal:])
        if self.time_gap:
            train = self._before_the_gap(times, train, calibration)
        return train, calibration

    def _before_the_gap(self, times, train, calibration) -> np.ndarray:
        """The rows of ``train`` more than ``time_gap`` before the earliest
        calibration row, and those without a time."""
        if not pd.api.types.is_numeric_dtype(times):
            raise DataError(
                f"time_gap={self.time_gap!r} is measured in the time_column's "
                f"numbers, but {self.time_column!r} holds {times.dtype} values; "
                "pass a numeric column (such as 'Year') or time_gap=0."
            )
        earliest = times.iloc[calibration].min()
        before = times.iloc[train]
        kept = train[((before < earliest - self.time_gap) | before.isna()).to_numpy()]
        if len(kept) < 2:
            raise DataError(
                f"time_gap={self.time_gap!r} leaves {len(kept)} rows before "
                f"{earliest - self.time_gap:g} (by {self.time_column!r}) to train "
                "the model that gives the calibration errors; need at least 2."
            )
        return kept

    def _checked_weights(self, sample_weight, X) -> np.ndarray:
        """``sample_weight`` checked by scikit-learn (its errors name it), after
        checking that the models that train take it."""
        if not isinstance(self.estimator, FrozenEstimator):  # a frozen one: none
            refuse_unweighted("estimator", self.estimator)  # None: it takes them
        refuse_unweighted("difficulty", self.difficulty)  # "auto" takes them
        return checked_weights(sample_weight, _num_samples(X))

    def _train(self, X, y, sample_weight, rng):
        """The fitted estimator, the positions of the rows that calibrate it
        (sorted), and those rows with their weights: a frozen model as it is,
        with every row; else a clone trained on ``1 - calibration_size`` of the
        rows, with the others."""
        n = _num_samples(X)
        positions = np.arange(n)
        least = self.min_calibration_rows(self.difficulty)
        with_difficulty = "" if least == 1 else " (with difficulty)"
        if isinstance(self.estimator, FrozenEstimator):
            if n < least:
                raise DataError(
                    "A FrozenEstimator is calibrated on every row given to fit: "
                    f"got {n}, need at least {least}{with_difficulty}."
                )
            estimator = self.estimator.estimator
            try:
                check_is_fitted(estimator)
            except Exception as exc:
                raise NotFittedError(
                    f"The FrozenEstimator's {type(estimator).__name__} is not "
                    "fitted: fit it before freezing it, or pass it unfrozen to "
                    "train it on 1 - calibration_size of the rows."
                ) from exc
            return estimator, positions, X, y, sample_weight
        n_cal = round(n * self.calibration_size)
        if n_cal < least or n - n_cal < 2:
            raise DataError(
                f"calibration_size={self.calibration_size} of {n} samples leaves "
                f"{n_cal} calibration and {n - n_cal} training rows; need at least "
                f"{least} and 2{with_difficulty}."
            )
        if self.time_column is None:
            rows = train_test_split(
                positions, test_size=n_cal, random_state=rng.randint(2**31 - 1)
            )
        else:
            rows = self._latest_rows(X, n_cal, rng)
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        parts = [_safe_indexing(a, r) for a in indexable(*arrays) for r in rows]
        X_fit, X_cal, y_fit, y_cal = parts[:4]
        calibration = np.sort(rows[1])
        if self.time_column is not None:
            before = (
                f"more than {self.time_gap:g} before" if self.time_gap else "before"
            )
            self._announce(
                f"fit 1 of 2, on the {len(rows[0])} rows {before} the latest "
                f"{n_cal} by {self.time_column!r} (its errors on those {n_cal} "
                "calibrate the intervals)"
            )
        if sample_weight is None:
            estimator = self._make_estimator().fit(X_fit, y_fit)
            return estimator, calibration, X_cal, y_cal, None
        w_fit, w_cal = parts[4:]
        estimator = self._make_estimator().fit(X_fit, y_fit, sample_weight=w_fit)
        return estimator, calibration, X_cal, y_cal, w_cal

    def _fit_difficulty(self, rows, residuals, weight, rng):
        """Fit the difficulty model on half of the calibration ``rows``; return
        it, its floor, and the other half's residuals divided by their
        difficulty, with their weights."""
        learn, scale = train_test_split(
            np.arange(len(residuals)),
            test_size=0.5,
            random_state=rng.randint(2**31 - 1),
        )
        model = (
            HistGradientBoostingRegressor(loss="absolute_error", random_state=0)
            if isinstance(self.difficulty, str)  # "auto"
            else clone(self.difficulty)
        )
        weights = {} if weight is None else {"sample_weight": weight[learn]}
        model.fit(_safe_indexing(rows, learn), residuals[learn], **weights)
        floor = float(residuals[learn].mean() / 10)
        scales = _scales(model, floor, _safe_indexing(rows, scale))
        scale_weight = None if weight is None else weight[scale]
        return model, floor, residuals[scale] / scales, scale_weight

    def _check_fitted(self):
        check_fitted(self, "calibration_residuals_")

    def predict(self, X):
        """The wrapped estimator's point predictions, shape ``(n_samples,)``."""
        self._check_fitted()
        return self.estimator_.predict(X)

    def score(self, X, y, sample_weight=None):
        """:math:`R^2` of the point predictions, ``y`` checked as ``fit``
        checks a target (NaN, text, a length that is not ``X``'s named).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skanime.intervals import ConformalRegressor
        >>> X, y = np.arange(40.0).reshape(-1, 1), np.arange(40.0)
        >>> model = ConformalRegressor(LinearRegression(), random_state=0).fit(X, y)
        >>> model.score(X, y)
        1.0
        """
        from ._validation import check_scoring

        self._check_fitted()
        X, y = check_scoring(X, y)
        return super().score(X, y, sample_weight=sample_weight)

    def half_width(self, confidence_level: float = 0.9) -> float:
        """Half the width of every interval of ``confidence_level``; without
        ``difficulty`` only, as with it each row has its own."""
        (quantile,) = self._quantiles(float(confidence_level))
        if self.difficulty_ is not None:
            raise ValueError(
                "With difficulty, each row's interval has its own width; "
                "predict_interval(X, confidence_level) gives the intervals."
            )
        return float(quantile)

    def _quantiles(self, confidence_level) -> np.ndarray:
        """The calibration scores' conformal quantile at each level (one for a
        number): the half-width, or with ``difficulty`` its multiple of each
        row's difficulty."""
        self._check_fitted()
        try:
            levels = np.atleast_1d(np.asarray(confidence_level, dtype=np.float64))
        except (TypeError, ValueError):
            levels = np.array([np.nan])
        if (
            levels.ndim != 1
            or not len(levels)
            or not np.all((0 < levels) & (levels < 1))
        ):
            raise ValueError(
                f"Got confidence_level={confidence_level!r}, expected a number or a "
                "1-D sequence of numbers strictly between 0 and 1 (such as 0.8 for "
                "an 80 % interval)."
            )
        residuals, weight = self.calibration_residuals_, self.calibration_weights_
        quantiles = np.array(
            [conformal_quantile(residuals, level, weight) for level in levels]
        )
        if np.isinf(quantiles).any():
            bounded = getattr(self.estimator_, "target_range", None) is not None
            warn_user(
                _too_few_to_calibrate(
                    levels[np.isinf(quantiles)][0], residuals, weight, bounded
                ),
                DataWarning,
            )
        return quantiles

    def _intervals(self, y_pred, quantiles, confidence_level, scales=1.0):
        """The bounds around ``y_pred`` at each of ``quantiles`` (those of
        ``confidence_level``), ``(n, 2)`` for one level given as a number,
        ``(n, 2, k)`` for ``k`` levels; ``scales``: each row's difficulty."""
        bounds = np.stack([self._bounds(y_pred, q * scales) for q in quantiles], -1)
        return bounds if np.ndim(confidence_level) else bounds[..., 0]

    def predict_interval(self, X, confidence_level=0.9) -> np.ndarray:
        """Lower and upper bounds, shape ``(n_samples, 2)``, or ``(n_samples, 2,
        k)`` for ``k`` levels.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        confidence_level : float or sequence of float, default=0.9
            The share of true scores the intervals should hold, in (0, 1).
            A level that needs more calibration rows than there are gives
            infinite bounds, and a :class:`~skanime.exceptions.DataWarning`
            that says how many rows it needs. Several levels cost one
            prediction (and, with ``difficulty``, one encoding of ``X``), as in
            MAPIE.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, 2, k)
            ``[low, high]`` per row (and level), clipped to the estimator's
            ``target_range`` when it has one (the true score lies in it, so
            coverage is unchanged).
        """
        quantiles = self._quantiles(confidence_level)  # a bad level fails first
        if self.difficulty_ is None:
            return self._intervals(self.predict(X), quantiles, confidence_level)
        predicted, rows = _predict_with_rows(self.estimator_, X, encoded=True)
        scales = _scales(self.difficulty_, self.difficulty_floor_, rows)
        return self._intervals(predicted, quantiles, confidence_level, scales)

    def interval_around(self, y_pred, confidence_level=0.9, X=None) -> np.ndarray:
        """The intervals of :meth:`predict_interval` around predictions already
        made: ``interval_around(model.predict(X), level, X)`` equals
        ``predict_interval(X, level)`` without predicting ``X`` a second time.

        Parameters
        ----------
        y_pred : array-like of shape (n_samples,)
            This model's predictions.
        confidence_level : float or sequence of float, default=0.9
            As in :meth:`predict_interval`.
        X : DataFrame or array-like of shape (n_samples, n_features), default=None
            The rows ``y_pred`` was predicted for; needed with ``difficulty``
            only, where each row's width depends on its row.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, 2, k)

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.dummy import DummyRegressor
        >>> from skanime.intervals import ConformalRegressor
        >>> X, y = np.zeros((50, 1)), np.arange(50.0)
        >>> model = ConformalRegressor(DummyRegressor(), random_state=0).fit(X, y)
        >>> y_pred = model.predict(X)
        >>> np.array_equal(
        ...     model.interval_around(y_pred, 0.8), model.predict_interval(X, 0.8)
        ... )
        True
        """
        quantiles = self._quantiles(confidence_level)  # a bad level fails first
        y_pred = _one_a_row(y_pred, X)
        if self.difficulty_ is None:
            return self._intervals(y_pred, quantiles, confidence_level)
        if X is None:
            raise ValueError(
                "With difficulty, each row's interval has its own width: pass the "
                "rows y_pred was predicted for, interval_around(y_pred, "
                "confidence_level, X)."
            )
        rows = _encoded_rows(self.estimator_, X)
        scales = _scales(self.difficulty_, self.difficulty_floor_, rows)
        return self._intervals(y_pred, quantiles, confidence_level, scales)

    def _bounds(self, y_pred, width) -> np.ndarray:
        """``y_pred`` +- ``width`` (one or one per row), clipped to the
        estimator's ``target_range``."""
        predicted = np.asarray(y_pred, dtype=np.float64).ravel()
        bounds = np.column_stack([predicted - width, predicted + width])
        target_range = getattr(self.estimator_, "target_range", None)
        if target_range is not None:
            bounds = np.clip(bounds, *target_range)
        return bounds

    def __getstate__(self):
        state = super().__getstate__()
        # a frozen model is both the parameter and the fitted estimator: saved
        # once (skops would write it twice)
        if isinstance(self.estimator, FrozenEstimator) and (
            state.get("estimator_") is self.estimator.estimator
        ):
            state = {**state, "estimator_": None, "_estimator_is_frozen": True}
        return state

    def __setstate__(self, state):
        if state.pop("_estimator_is_frozen", False):
            state["estimator_"] = state["estimator"].estimator
        # a model saved before ``difficulty``, ``time_column`` or ``time_gap``
        state.setdefault("difficulty", None)
        state.setdefault("time_column", None)
        state.setdefault("time_gap", 0)
        if "calibration_residuals_" in state:
            state.setdefault("difficulty_", None)
            state.setdefault("difficulty_floor_", None)
            state.setdefault("calibration_weights_", None)  # saved before weights
        super().__setstate__(state)

    # the wrapped model's training record, for reports
    @property
    def history_(self):
        """The wrapped estimator's ``history_`` (per-epoch losses)."""
        self._check_fitted()
        return self.estimator_.history_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            inner = self.estimator.__sklearn_tags__()
            tags.input_tags = inner.input_tags
            tags.non_deterministic = inner.non_deterministic
        else:
            tags.input_tags.allow_nan = True
            tags.input_tags.string = True
        return tags
