"""Transformers after :class:`~skanime.PosterEmbedder`: fewer, better poster features.

Both take the embedder's block, ``(n, 1 + d)`` float: a ``has_image`` flag then the
``d`` features of a frozen backbone (all zeros where the flag is 0), and are fitted
on the rows that have a poster only, so the rows without one (most of a real table)
neither shift the mean nor take up components.

* :class:`EmbeddingReducer` keeps the block's shape contract (``has_image`` then
  ``emb_*``) with ``n_components`` principal components instead of ``d`` features,
  so it slots in between the embedder and :class:`~skanime.HybridNet` unchanged.
* :class:`PosterPrior` sums the block up as one number: what a ridge regression on
  the embedding alone predicts, cross-fitted on the training rows as scikit-learn's
  :class:`~sklearn.preprocessing.TargetEncoder` is, so a row's own score never
  leaks into its feature.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._compact_state import CompactDictsMixin
from ._utils import as_scores, float_columns

__all__ = ["EmbeddingReducer", "PosterPrior"]


def _split_block(X) -> tuple[np.ndarray, np.ndarray]:
    """``(present, embedding)`` of an embedder's block: bool flags and features."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[1] < 2:
        raise ValueError(
            f"Expected the output of a PosterEmbedder: a has_image column followed "
            f"by at least one embedding column; got {X.shape[1]} column(s)."
        )
    return X[:, 0] > 0, X[:, 1:]


class _BlockTransformer(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """Shared input checks of the transformers over a PosterEmbedder's block."""

    _compact_strings = ("feature_names_in_",)  # saved as one string

    def _check(self, X, *, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        if reset:
            X = validate_data(
                self, X, dtype=np.float64, ensure_min_features=2, reset=True
            )
        else:
            X = float_columns(self, X, reset=False)
        return _split_block(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.transformer_tags.preserves_dtype = ["float32"]  # the network's dtype
        return tags


class EmbeddingReducer(_BlockTransformer):
    """Principal components of poster embeddings, fitted on the posters only.

    A frozen backbone gives ~1,000 correlated features, far more than a few hundred
    posters can train a network on; the first few dozen principal components hold
    most of what varies between posters. ``transform`` returns ``(n, 1 + k)``:
    ``has_image`` unchanged, then the ``k`` components (zeros where there is no
    poster), whitened by default so each has unit variance over the posters.

    Parameters
    ----------
    n_components : int, default=30
        Components kept; fewer when ``fit`` sees fewer posters or features.
    whiten : bool, default=True
        Scale the components to unit variance.
    random_state : int, RandomState instance or None, default=None
        For PCA's randomised solver on large inputs.

    Attributes
    ----------
    pca_ : PCA or None
        Fitted on the rows with a poster; None when ``fit`` saw fewer than two.
    n_components_ : int
        Components produced: those with variance over the posters (0 when
        ``pca_`` is None; the output then has one all-zero component).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skanime import EmbeddingReducer
    >>> rng = np.random.default_rng(0)
    >>> block = np.hstack([np.ones((50, 1)), rng.normal(size=(50, 64))])
    >>> block[:5] = 0.0  # five rows without a poster
    >>> reduced = EmbeddingReducer(n_components=8).fit_transform(block)
    >>> reduced.shape, bool((reduced[:5] == 0).all())
    ((50, 9), True)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "whiten": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=30, *, whiten=True, random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the components on the rows whose ``has_image`` is 1."""
        present, embedding = self._check(X, reset=True)
        posters = embedding[present]
        k = min(self.n_components, len(posters) - 1, embedding.shape[1])
        if k < 1:
            self.pca_, self.n_components_ = None, 0
            return self
        self.pca_ = PCA(k, whiten=self.whiten, random_state=self.random_state)
        self.pca_.set_output(transform="default")  # whatever the global config
        with np.errstate(divide="ignore", invalid="ignore"):  # identical posters
            self.pca_.fit(posters)
        # components without variance (identical posters) are dropped: whitening
        # would divide by zero
        variance = self.pca_.explained_variance_
        self.n_components_ = int((variance > 1e-12 * max(variance.max(), 1.0)).sum())
        return self

    def transform(self, X):
        """``(n, 1 + n_components_)`` float32: ``has_image`` and the components."""
        check_is_fitted(self)
        present, embedding = self._check(X, reset=False)
        out = np.zeros((len(present), 1 + max(self.n_components_, 1)), np.float32)
        out[:, 0] = present
        if self.n_components_ and present.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                scores = self.pca_.transform(embedding[present])
            out[present, 1:] = scores[:, : self.n_components_]
        return out

    def get_feature_names_out(self, input_features=None):
        """``has_image``, then ``emb_0`` ... (the names :class:`HybridNet` reads)."""
        check_is_fitted(self)
        k = max(self.n_components_, 1)
        return np.asarray(["has_image"] + [f"emb_{j}" for j in range(k)], object)


class PosterPrior(_BlockTransformer):
    """The score a ridge regression predicts from the poster alone, cross-fitted.

    ``fit(X, y)`` fits a standardised ridge regression of ``y`` on the embeddings
    of the rows with a poster. ``transform`` returns one column, that prediction
    standardised (its mean and scale over the training posters), and 0 where there
    is no poster. ``fit_transform`` (what a Pipeline or ColumnTransformer calls in
    ``fit``) instead gives each training row the prediction of a model fitted on
    the other ``cv`` - 1 folds, as :class:`~sklearn.preprocessing.TargetEncoder`
    does: a network trained on it then sees what the poster predicts on unseen
    rows, not a memorised score.

    Parameters
    ----------
    alpha : float, default=1000.0
        Ridge penalty on standardised embeddings (1,280 features, a few hundred
        posters: strong shrinkage).
    cv : int, default=5
        Folds of the cross-fitting.
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds.

    Attributes
    ----------
    ridge_ : Pipeline or None
        ``StandardScaler`` then ``Ridge``, fitted on every training poster; None
        when ``fit`` saw fewer than two posters, or posters that all give the
        same prediction (identical images): the feature is then all zeros.
    center_, scale_ : float
        Standardisation of the prediction (the scale at least a quarter of the
        training scores' standard deviation).
    target_range_ : tuple of 2 floats
        The training posters' lowest and highest score: every prediction is
        clipped to it before standardising, so an unusual poster cannot become an
        extreme input.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skanime import PosterPrior
    >>> rng = np.random.default_rng(0)
    >>> embedding = rng.normal(size=(80, 16))
    >>> y = 7 + embedding[:, 0]
    >>> block = np.hstack([np.ones((80, 1)), embedding])
    >>> prior = PosterPrior(alpha=1.0, random_state=0).fit_transform(block, y)
    >>> prior.shape, bool(np.corrcoef(prior[:, 0], y)[0, 1] > 0.9)
    ((80, 1), True)
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, alpha=1000.0, *, cv=5, shuffle=True, random_state=None):
        self.alpha = alpha
        self.cv = cv
        self.shuffle = shuffle
        self.random_state = random_state

    def _ridge(self):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        ridge = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        return ridge.set_output(transform="default")  # whatever the global config

    def _target(self, y, n: int) -> np.ndarray:
        if y is None:
            raise ValueError(
                "PosterPrior requires y to be passed, but the target y is None."
            )
        return as_scores(y, n)

    def _fit_full(self, present, embedding, y) -> None:
        if present.sum() < 2:
            self.ridge_, self.center_, self.scale_ = None, 0.0, 1.0
            self.target_range_ = (0.0, 0.0)
            return
        self.ridge_ = self._ridge().fit(embedding[present], y[present])
        fitted = self.ridge_.predict(embedding[present])
        self.center_ = float(fitted.mean())
        self.scale_ = float(fitted.std())
        # predictions stay within the training scores, and the scale is at least
        # a quarter of theirs: where the in-sample fit is nearly flat (a few,
        # similar posters) a cross-fitted or new poster's prediction must not
        # become an input dozens of units wide
        self.target_range_ = (float(y[present].min()), float(y[present].max()))
        if self.scale_ <= 1e-9 * max(1.0, abs(self.center_)):
            # identical posters (a constant image): nothing to predict from, and
            # rounding noise must not be blown up into a feature
            self.ridge_, self.center_, self.scale_ = None, 0.0, 1.0
        else:
            self.scale_ = max(self.scale_, 0.25 * float(y[present].std()))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the ridge regression on every training poster."""
        present, embedding = self._check(X, reset=True)
        self._fit_full(present, embedding, self._target(y, len(present)))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit on every poster; return each training row's cross-fitted prior."""
        present, embedding = self._check(X, reset=True)
        y = self._target(y, len(present))
        self._fit_full(present, embedding, y)
        out = np.zeros((len(present), 1), dtype=np.float32)
        rows = np.flatnonzero(present)
        if self.ridge_ is None or len(rows) < self.cv:
            return out
        raw = np.empty(len(rows))
        folds = KFold(
            self.cv,
            shuffle=self.shuffle,
            random_state=self.random_state if self.shuffle else None,
        )
        for train, test in folds.split(rows):
            model = self._ridge().fit(embedding[rows[train]], y[rows[train]])
            raw[test] = model.predict(embedding[rows[test]])
        out[rows, 0] = self._standardise(raw)
        return out

    def _standardise(self, raw: np.ndarray) -> np.ndarray:
        return (np.clip(raw, *self.target_range_) - self.center_) / self.scale_

    def transform(self, X):
        """``(n, 1)`` float32: the standardised prior, 0 without a poster."""
        check_is_fitted(self)
        present, embedding = self._check(X, reset=False)
        out = np.zeros((len(present), 1), dtype=np.float32)
        if self.ridge_ is not None and present.any():
            raw = self.ridge_.predict(embedding[present])
            out[present, 0] = self._standardise(raw)
        return out

    def get_feature_names_out(self, input_features=None):
        """``["prior"]``."""
        check_is_fitted(self)
        return np.asarray(["prior"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
