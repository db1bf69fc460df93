"""Prediction intervals by split conformal prediction: how sure is a score?

:class:`ConformalRegressor` wraps any regressor (a :class:`HybridAnimeRegressor`
by default). Its ``fit`` holds out ``calibration_size`` of the rows, trains a clone
of the regressor on the others only, and keeps the absolute errors it makes on the
held-out rows. An interval of confidence ``c`` is then the prediction plus or minus
the ``ceil((n + 1) c) / n`` quantile of those ``n`` errors: if new rows are
exchangeable with the calibration rows, it holds the true score with probability at
least ``c`` (and barely more). The calibration rows never train the network (nor
its early stopping), so the guarantee is honest.

The same intervals come from MAPIE (``pip install skanime[intervals]``), which
also offers cross-conformal (CV+) intervals; see the user guide for the recipe.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

from .exceptions import DataError, NotFittedError

__all__ = ["ConformalRegressor", "conformal_quantile", "interval_coverage"]


def conformal_quantile(residuals, confidence_level: float) -> float:
    """The split-conformal half-width for ``confidence_level`` from ``residuals``.

    The ``ceil((n + 1) * confidence_level)``-th smallest absolute residual; infinite
    when there are too few residuals for that level.

    Examples
    --------
    >>> conformal_quantile([0.1, 0.2, 0.3, 0.4], 0.5)
    0.3
    >>> conformal_quantile([0.1, 0.2, 0.3, 0.4], 0.9)
    inf
    """
    residuals = np.sort(np.abs(np.asarray(residuals, dtype=np.float64).ravel()))
    if not 0 < confidence_level < 1:
        raise ValueError(
            f"Got confidence_level={confidence_level!r}, expected a number strictly "
            "between 0 and 1 (such as 0.8 for an 80 % interval)."
        )
    rank = math.ceil((len(residuals) + 1) * confidence_level)
    return float(residuals[rank - 1]) if rank <= len(residuals) else float("inf")


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


class ConformalRegressor(RegressorMixin, BaseEstimator):
    """A regressor with split-conformal prediction intervals.

    Parameters
    ----------
    estimator : regressor, default=None
        The model to wrap (cloned, never modified); None takes a
        :class:`~skanime.HybridAnimeRegressor` with its defaults.
    calibration_size : float, default=0.2
        Share of the rows given to ``fit`` that are held out to calibrate the
        intervals; the estimator is trained on the others only.
    random_state : int, RandomState instance or None, default=None
        Seeds the split into training and calibration rows.

    Attributes
    ----------
    estimator_ : regressor
        The clone of ``estimator`` trained on the training rows.
    calibration_residuals_ : ndarray of shape (n_calibration,)
        Sorted absolute errors of ``estimator_`` on the calibration rows.
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
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, calibration_size=0.2, random_state=None):
        self.estimator = estimator
        self.calibration_size = calibration_size
        self.random_state = random_state

    def _make_estimator(self):
        if self.estimator is None:
            from ._estimator import HybridAnimeRegressor

            return HybridAnimeRegressor()
        return clone(self.estimator)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Train on ``1 - calibration_size`` of the rows, calibrate on the rest.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : ConformalRegressor
        """
        n = _num_samples(X)
        y = column_or_1d(y, warn=True)
        n_cal = round(n * self.calibration_size)
        if n_cal < 1 or n - n_cal < 2:
            raise DataError(
                f"calibration_size={self.calibration_size} of {n} samples leaves "
                f"{n_cal} calibration and {n - n_cal} training rows; need at least 1 "
                "and 2."
            )
        rng = check_random_state(self.random_state)
        X_fit, X_cal, y_fit, y_cal = train_test_split(
            X, y, test_size=n_cal, random_state=rng.randint(2**31 - 1)
        )
        estimator = self._make_estimator().fit(X_fit, y_fit)
        predicted = np.asarray(estimator.predict(X_cal), dtype=np.float64).ravel()
        residuals = np.abs(np.asarray(y_cal, dtype=np.float64).ravel() - predicted)
        self.estimator_ = estimator
        self.calibration_residuals_ = np.sort(residuals)
        self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        return self

    def _check_fitted(self):
        try:
            check_is_fitted(self, "calibration_residuals_")
        except Exception as exc:
            raise NotFittedError(
                "This ConformalRegressor is not fitted yet; call fit(X, y) first."
            ) from exc

    def predict(self, X):
        """The wrapped estimator's point predictions, shape ``(n_samples,)``."""
        self._check_fitted()
        return self.estimator_.predict(X)

    def half_width(self, confidence_level: float = 0.9) -> float:
        """Half the width of every interval of ``confidence_level``."""
        self._check_fitted()
        return conformal_quantile(self.calibration_residuals_, confidence_level)

    def predict_interval(self, X, confidence_level: float = 0.9) -> np.ndarray:
        """Lower and upper bounds, shape ``(n_samples, 2)``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        confidence_level : float, default=0.9
            The share of true scores the intervals should hold, in (0, 1).
            A level that needs more calibration rows than there are gives
            infinite bounds.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2)
            ``[low, high]`` per row, clipped to the estimator's ``target_range``
            when it has one (the true score lies in it, so coverage is unchanged).
        """
        width = self.half_width(confidence_level)  # a bad level fails first
        return self._bounds(self.predict(X), width)

    def interval_around(self, y_pred, confidence_level: float = 0.9) -> np.ndarray:
        """The intervals of :meth:`predict_interval` around predictions already
        made: ``interval_around(model.predict(X), level)`` equals
        ``predict_interval(X, level)`` without predicting ``X`` a second time.

        Parameters
        ----------
        y_pred : array-like of shape (n_samples,)
            This model's predictions.
        confidence_level : float, default=0.9
            As in :meth:`predict_interval`.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2)

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
        return self._bounds(y_pred, self.half_width(confidence_level))

    def _bounds(self, y_pred, width: float) -> np.ndarray:
        """``y_pred`` +- ``width``, clipped to the estimator's ``target_range``."""
        predicted = np.asarray(y_pred, dtype=np.float64).ravel()
        bounds = np.column_stack([predicted - width, predicted + width])
        target_range = getattr(self.estimator_, "target_range", None)
        if target_range is not None:
            bounds = np.clip(bounds, *target_range)
        return bounds

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
