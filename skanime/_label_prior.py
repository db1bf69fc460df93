"""Label priors: each list column's labels (studios, producers, genres)
target-encoded, cross-fitted.

A studio's or producer's past scores are what boosting reads from their one-hot
columns by splitting on them; a network learns them slowly from one weight per
label, and not at all for labels below ``min_frequency``.
:class:`LabelTargetEncoder` gives it the (shrunk) mean score of each label
directly.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._compact_state import CompactDictsMixin
from ._utils import (
    as_scores,
    cross_fit,
    object_columns,
    positional_names,
    split_labels,
)

__all__ = ["LabelTargetEncoder"]


class LabelTargetEncoder(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """The mean score of each row's labels, per list column, as features.

    For every label of a list column (``"Sunrise, Bones"``, or a list) it learns
    the training scores' mean deviation from the overall mean, shrunk towards 0 by
    ``smooth`` pseudo-rows: ``sum(y - mean) / (count + smooth)``. A row is
    described, per column, by the mean of its labels' deviations
    (``<column>_mean``) and by the one of largest magnitude (``<column>_extreme``);
    0 for a row without a known label. ``fit_transform`` cross-fits: a training
    row's encodings come from the other folds only, so no row's own score
    reaches its features. ``transform`` uses every training row.

    Parameters
    ----------
    smooth : float, default=10.0
        Pseudo-rows of shrinkage towards the overall mean.
    cv : int, default=5
        Folds of the cross-fitting in ``fit_transform``.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the cross-fitting folds.

    Attributes
    ----------
    encodings_ : list of dict of str to float
        Per column, each training label's shrunk mean deviation.
    n_features_in_ : int
        Number of list columns.
    feature_names_in_ : ndarray of str
        Their names, when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import LabelTargetEncoder
    >>> X = pd.DataFrame({"Studios": ["Bones", "Bones", "Sunrise", "Bones, Sunrise"]})
    >>> encoder = LabelTargetEncoder(smooth=1.0, cv=2, random_state=0)
    >>> encoder.fit(X, [8.0, 8.4, 6.0, 7.0]).get_feature_names_out().tolist()
    ['Studios_mean', 'Studios_extreme']
    >>> bool(encoder.transform(pd.DataFrame({"Studios": ["Bones"]}))[0, 0] > 0)
    True
    """

    _parameter_constraints: dict = {
        "smooth": [Interval(Real, 0, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    _compact_strings = ("encodings_",)  # saved as one string and numbers

    def __init__(self, smooth=10.0, cv=5, random_state=None):
        self.smooth = smooth
        self.cv = cv
        self.random_state = random_state

    def _labels(self, X, *, reset: bool) -> list[list[list[str]]]:
        """Per column, per row, the row's labels."""
        X = object_columns(self, X, reset=reset)
        return [[split_labels(value) for value in column] for column in X.T]

    def _learn(self, columns, y) -> list[dict]:
        deviation = y - y.mean()
        encodings = []
        for column in columns:
            sums: dict[str, float] = {}
            counts: dict[str, int] = {}
            for labels, d in zip(column, deviation, strict=True):
                for label in labels:
                    sums[label] = sums.get(label, 0.0) + d
                    counts[label] = counts.get(label, 0) + 1
            encodings.append({k: sums[k] / (counts[k] + self.smooth) for k in sums})
        return encodings

    @staticmethod
    def _encode(columns, encodings) -> np.ndarray:
        n_rows = len(columns[0]) if columns else 0
        out = np.zeros((n_rows, 2 * len(columns)))
        for j, (column, known) in enumerate(zip(columns, encodings, strict=True)):
            for i, labels in enumerate(column):
                values = [known[label] for label in labels if label in known]
                if values:
                    out[i, 2 * j] = sum(values) / len(values)
                    out[i, 2 * j + 1] = max(values, key=abs)
        return out

    def _fit(self, X, y):
        columns = self._labels(X, reset=True)
        y = as_scores(y, len(columns[0]) if columns else None)
        self.encodings_ = self._learn(columns, y)
        return columns, y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn each label's shrunk mean deviation.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The list columns.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        self : LabelTargetEncoder
        """
        self._fit(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, **fit_params):
        """Fit, and return the cross-fitted encodings of the training rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The list columns.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        ndarray of shape (n_samples, 2 * n_columns)
        """
        if y is None:
            raise ValueError("LabelTargetEncoder needs y (the scores) to fit.")
        columns, y = self._fit(X, y)

        def encode(train, test):
            learned = self._learn(_rows(columns, train), y[train])
            return self._encode(_rows(columns, test), learned)

        return cross_fit(
            len(y), 2 * len(columns), encode, cv=self.cv, random_state=self.random_state
        )

    def transform(self, X):
        """The encodings of new rows, learned from every training row.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The list columns.

        Returns
        -------
        ndarray of shape (n_samples, 2 * n_columns)
        """
        check_is_fitted(self, "encodings_")
        return self._encode(self._labels(X, reset=False), self.encodings_)

    def get_feature_names_out(self, input_features=None):
        """``<column>_mean`` and ``<column>_extreme`` for each list column."""
        check_is_fitted(self, "encodings_")
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = positional_names(self.n_features_in_)
        return np.asarray(
            [f"{c}_{kind}" for c in names for kind in ("mean", "extreme")],
            dtype=object,
        )


def _rows(columns: list[list], index) -> list[list]:
    """The rows ``index`` of each column."""
    return [[column[i] for i in index] for column in columns]
