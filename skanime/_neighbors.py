"""The nearest-title prior: the scores of the training anime with the most similar
titles, cross-fitted.

A franchise key (:class:`~skanime.FranchisePrior`) groups titles that reduce to the
same stem; many related titles do not ("Gintama'", "Gintama°", "Gintama.").
:class:`TitleNeighborPrior` compares titles by character n-gram TF-IDF (cosine
similarity) and describes each title by the scores of its ``k`` nearest training
titles.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._compact_state import CompactDictsMixin
from ._utils import as_scores, cross_fit, is_null, title_column

__all__ = ["TitleNeighborPrior"]

#: Titles compared at once in ``transform`` (bounds the dense similarity block).
_CHUNK_ROWS = 2048
#: Below this many titles, the similarities are computed as ``(train @ X.T).T``
#: (no conversion of the training matrix; slower per row than ``X @ train.T``).
_FEW_ROWS = 64

_FEATURES = ("neighbor_mean", "neighbor_nearest", "neighbor_max_sim", "neighbor_sim")


class TitleNeighborPrior(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """Scores of the training anime whose titles are most alike, as features.

    Titles are compared by the cosine similarity of their character n-gram TF-IDF
    vectors (``analyzer="char_wb"``). For each title, of its ``k`` most similar
    training titles, the transformer outputs:

    * ``neighbor_mean``: their scores' mean weighted by squared similarity,
    * ``neighbor_nearest``: the most similar title's score (the mean score of
      the titles tied as most similar),

    both minus the training mean (0 for a title that shares no n-gram with any
    training title), and ``neighbor_max_sim`` and ``neighbor_sim``,
    the highest and the mean similarity (how much the first two can be trusted).
    ``fit_transform`` cross-fits: a training row's neighbours come from the other
    folds only, so no row's own score reaches its features, and a model
    downstream sees at fit what it will see at predict time. ``transform``
    searches every training title.

    Parameters
    ----------
    n_neighbors : int, default=10
        The ``k`` nearest training titles described.
    ngram_range : tuple of int, default=(3, 4)
        Character n-gram lengths.
    cv : int, default=5
        Folds of the cross-fitting in ``fit_transform``.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the cross-fitting folds.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer or None
        Fitted on the training titles; None when they hold no n-gram at all
        (every title missing), and then every feature is 0.
    train_vectors_ : sparse matrix of shape (n_train, n_ngrams)
        The training titles' TF-IDF vectors (unit length).
    train_scores_ : ndarray of shape (n_train,)
        The training scores.
    target_mean_ : float
        The training scores' mean.
    n_features_in_ : int
        Always 1: the title column.
    feature_names_in_ : ndarray of str
        The title column's name, when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import TitleNeighborPrior
    >>> X = pd.DataFrame({"Title": ["Gintama", "Gintama'", "Gintama.",
    ...                             "Monster", "Mushishi", "Mushishi Zoku Shou"]})
    >>> y = [9.0, 9.1, 8.9, 8.7, 8.6, 8.8]
    >>> prior = TitleNeighborPrior(n_neighbors=2, cv=2, random_state=0).fit(X, y)
    >>> new = prior.transform(pd.DataFrame({"Title": ["Gintama°"]}))
    >>> new.shape
    (1, 4)
    >>> bool(new[0, 1] > 0)  # its nearest title is a Gintama, above the mean
    True
    """

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "ngram_range": [tuple],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    _compact_dicts = ("vectorizer_.vocabulary_",)  # saved as arrays

    def __init__(self, n_neighbors=10, ngram_range=(3, 4), cv=5, random_state=None):
        self.n_neighbors = n_neighbors
        self.ngram_range = ngram_range
        self.cv = cv
        self.random_state = random_state

    def _titles(self, X, *, reset: bool) -> np.ndarray:
        titles = title_column(self, X, reset=reset)
        return np.array(["" if is_null(t) else str(t) for t in titles], dtype=object)

    def _describe(self, vectors, neighbors, scores) -> np.ndarray:
        """The four features of each row of ``vectors`` against ``neighbors``
        (whose ``scores`` give the mean subtracted: a fold's own, when cross-fitting,
        so that not even the mean holds a row's score)."""
        out = np.zeros((vectors.shape[0], len(_FEATURES)))
        if neighbors is None:
            return out
        k = min(self.n_neighbors, neighbors.shape[0])
        if k == 0:
            return out
        mean = scores.mean()
        for start in range(0, vectors.shape[0], _CHUNK_ROWS):
            chunk = vectors[start : start + _CHUNK_ROWS]
            if chunk.shape[0] < _FEW_ROWS:
                # scipy would first convert the transposed training matrix to
                # CSR, about 2 ms: most of a one-row transform
                block = (neighbors @ chunk.T).T.toarray()
            else:
                block = (chunk @ neighbors.T).toarray()
            block = torch.from_numpy(block)
            # the k largest similarities, most similar first
            top, nearest = torch.topk(block, k, dim=1)
            sims, found = top.numpy(), scores[nearest.numpy()] - mean
            # a title that shares no n-gram with another has no neighbour (its
            # first two features stay 0, the mean); the equally nearest share
            weights = sims**2
            tied = (sims == sims[:, :1]) & (sims > 0)
            rows = slice(start, start + len(block))
            out[rows, 0] = _ratio((weights * found).sum(1), weights.sum(1))
            out[rows, 1] = _ratio((tied * found).sum(1), tied.sum(1))
            out[rows, 2] = sims[:, 0]
            out[rows, 3] = sims.mean(1)
        return out

    def _fit(self, X, y):
        titles = self._titles(X, reset=True)
        y = as_scores(y, len(titles))
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.ngram_range, sublinear_tf=True
        )
        try:
            self.train_vectors_ = self.vectorizer_.fit_transform(titles)
        except ValueError:  # no n-gram at all (every title missing or too short)
            self.vectorizer_ = None
            self.train_vectors_ = None
        self.train_scores_ = y
        self.target_mean_ = float(y.mean())
        return titles, y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the training titles' vectors and scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        self : TitleNeighborPrior
        """
        self._fit(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, **fit_params):
        """Fit, and return the cross-fitted features of the training rows.

        A row's neighbours come from the folds it is not in, so no row's own
        score reaches its features.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        ndarray of shape (n_samples, 4)
        """
        if y is None:
            raise ValueError("TitleNeighborPrior needs y (the scores) to fit.")
        titles, y = self._fit(X, y)
        if self.vectorizer_ is None:
            return np.zeros((len(titles), len(_FEATURES)))
        vectors = self.train_vectors_
        return cross_fit(
            len(titles),
            len(_FEATURES),
            lambda train, test: self._describe(vectors[test], vectors[train], y[train]),
            cv=self.cv,
            random_state=self.random_state,
        )

    def transform(self, X):
        """The features of new titles, against every training title.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.

        Returns
        -------
        ndarray of shape (n_samples, 4)
        """
        check_is_fitted(self, "train_scores_")
        titles = self._titles(X, reset=False)
        if self.vectorizer_ is None:
            return np.zeros((len(titles), len(_FEATURES)))
        vectors = self.vectorizer_.transform(titles)
        return self._describe(vectors, self.train_vectors_, self.train_scores_)

    def get_feature_names_out(self, input_features=None):
        """``neighbor_mean``, ``neighbor_nearest``, ``neighbor_max_sim``,
        ``neighbor_sim``."""
        check_is_fitted(self, "train_scores_")
        return np.asarray(_FEATURES, dtype=object)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0."""
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)
