"""The related-anime prior: titles to franchise keys, target-encoded by cross-fitting.

Sequels, movies and specials of one franchise score alike; a title stem
("Gintama", "Shingeki no Kyojin") groups them. :class:`FranchisePrior` maps each
title to that stem and encodes it with the mean score of the *other* training
anime that share it (scikit-learn's :class:`~sklearn.preprocessing.TargetEncoder`,
which cross-fits inside ``fit_transform``), plus how many related training anime
there are.
"""

from __future__ import annotations

import re
import unicodedata
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.model_selection import KFold
from sklearn.preprocessing import TargetEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._compact_state import CompactDictsMixin
from ._utils import as_scores, title_column

__all__ = ["FranchisePrior", "franchise_key"]

_ROMAN = r"(?:ii|iii|iv|v|vi|vii|viii|ix|x)"
_ORDINAL = r"(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|final)"
# markers of an entry of a franchise rather than of the franchise itself
_MARKERS = [
    rf"\b{_ORDINAL}\s+(?:season|series|stage|part|cour|kick|attack)\b.*$",
    r"\b(?:season|series|part|cour|stage|chapter|vol|volume|ep|episode)s?\.?\s*"
    rf"(?:\d+|{_ROMAN})\b.*$",
    r"\b(?:the\s+)?(?:movie|movies|film|gekijouban|gekijou-ban)s?\b.*$",
    r"\b(?:ova|ovas|ona|oad|special|specials|recap|picture drama|tv|bd|dvd)\b.*$",
    r"\b(?:shin|zoku|kan|ni no shou|dai ni ki)\b\s*$",
    rf"\s(?:\d+|{_ROMAN})\s*$",
]
_MARKER_RES = [re.compile(p) for p in _MARKERS]
_SUBTITLE = re.compile(r"\s*(?::|\s-\s|~|\(|\[).*$")
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def franchise_key(title) -> str:
    """The franchise stem of one title: lower case, no subtitle, no sequel marker.

    Parameters
    ----------
    title : str or None
        An anime title; a missing title gives ``""``.

    Returns
    -------
    str
        The title without what follows a ``:``, `` - ``, ``~`` or bracket, without
        season, part, movie, OVA/special markers and trailing numerals (Arabic or
        Roman), accents folded, punctuation dropped.

    Examples
    --------
    >>> from skanime import franchise_key
    >>> franchise_key("Shingeki no Kyojin Season 3 Part 2")
    'shingeki no kyojin'
    >>> franchise_key("Gintama': Enchousen")
    'gintama'
    >>> franchise_key("Mushishi Zoku Shou 2nd Season")
    'mushishi zoku shou'
    >>> franchise_key("Re:Zero kara Hajimeru Isekai Seikatsu 2nd Season")
    're zero kara hajimeru isekai seikatsu'
    >>> franchise_key("Natsume Yuujinchou Roku")
    'natsume yuujinchou roku'
    """
    if title is None or title is pd.NA or (isinstance(title, float) and title != title):
        return ""
    text = unicodedata.normalize("NFKD", str(title))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    head = _SUBTITLE.sub("", text).strip()
    if len(head.replace(" ", "")) >= 4:  # "Re:Zero" keeps its subtitle
        text = head
    text = _NON_WORD.sub(" ", text.replace("'", ""))
    text = _SPACES.sub(" ", text).strip()
    for pattern in _MARKER_RES:
        stripped = pattern.sub("", text).strip()
        if stripped:  # never strip a title down to nothing
            text = stripped
    return text


class FranchisePrior(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """Out-of-fold mean score of an anime's franchise, and its size.

    Each title is mapped to :func:`franchise_key`; the key is target-encoded by
    :class:`~sklearn.preprocessing.TargetEncoder` (shrunk towards the overall mean
    for rare keys). ``fit_transform`` cross-fits: a training row's prior is learned
    from the other folds only, never from its own score, so a model downstream in
    a :class:`~sklearn.pipeline.Pipeline` sees at fit what it will see at predict
    time. ``transform`` uses every training row.

    Parameters
    ----------
    cv : int, default=5
        Folds of the cross-fitting in ``fit_transform``.
    smooth : "auto" or float, default="auto"
        Shrinkage of the key means towards the overall mean (see
        :class:`~sklearn.preprocessing.TargetEncoder`).
    count : bool, default=True
        Also output ``log1p`` of the number of *other* training anime with the same
        key (0 for a title alone in its franchise).
    random_state : int, RandomState instance or None, default=None
        Shuffling of the cross-fitting folds.

    Attributes
    ----------
    encoder_ : TargetEncoder
        Fitted on the keys of the training titles.
    counts_ : dict of str to int
        Number of training titles per key.
    priors_ : dict of str to float
        ``encoder_``'s full-data encoding of each key, for a fast ``transform``
        (an unseen key gets ``encoder_.target_mean_``).
    n_features_in_ : int
        Always 1: the title column.
    feature_names_in_ : ndarray of str
        The title column's name, when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import FranchisePrior
    >>> X = pd.DataFrame({"Title": ["Gintama", "Gintama'", "Gintama.: Shirogane",
    ...                             "Monster", "Mushishi", "Mushishi Zoku Shou"]})
    >>> y = [9.0, 9.1, 8.9, 8.9, 8.7, 8.8]
    >>> prior = FranchisePrior(cv=2, random_state=0).fit(X, y)
    >>> prior.get_feature_names_out().tolist()
    ['franchise_prior', 'franchise_count']
    >>> prior.transform(pd.DataFrame({"Title": ["Gintama Season 5"]})).shape
    (1, 2)
    """

    _compact_dicts = ("counts_", "priors_")  # saved as arrays
    _compact_strings = ("encoder_.categories_",)  # saved as one string

    _parameter_constraints: dict = {
        "cv": [Interval(Integral, 2, None, closed="left")],
        "smooth": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "count": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, cv=5, smooth="auto", count=True, random_state=None):
        self.cv = cv
        self.smooth = smooth
        self.count = count
        self.random_state = random_state

    def _keys(self, X, *, reset: bool) -> np.ndarray:
        titles = title_column(self, X, reset=reset)
        return np.array([franchise_key(t) for t in titles], dtype=object)

    def _encoder(self) -> TargetEncoder:
        # arrays whatever sklearn.set_config(transform_output=...) says
        return TargetEncoder(
            target_type="continuous",
            smooth=self.smooth,
            cv=KFold(self.cv, shuffle=True, random_state=self.random_state),
        ).set_output(transform="default")

    def _output(self, prior: np.ndarray, counts: np.ndarray) -> np.ndarray:
        columns = [prior.reshape(-1)]
        if self.count:
            columns.append(np.log1p(counts))
        return np.column_stack(columns).astype(np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the key means and counts of the training titles.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        self : FranchisePrior
        """
        self._fit(X, y)
        return self

    def _fit(self, X, y) -> np.ndarray:
        keys = self._keys(X, reset=True)
        y = as_scores(y, len(keys))
        self.encoder_ = self._encoder()
        # nothing to route to the encoder's own folds; with metadata routing on,
        # scikit-learn 1.9's TargetEncoder fails without groups (a KeyError)
        # and refuses groups=None ("not routed to any object")
        with config_context(enable_metadata_routing=False):
            cross_fitted = self.encoder_.fit_transform(keys.reshape(-1, 1), y)
        self.counts_ = dict(pd.Series(keys).value_counts())
        # the full-data encodings as a plain lookup: transform on a few rows
        # (one anime at predict time) then costs a dict look-up, not an encoder
        self.priors_ = dict(
            zip(
                self.encoder_.categories_[0].tolist(),
                self.encoder_.encodings_[0].tolist(),
                strict=True,
            )
        )
        return cross_fitted

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, **fit_params):
        """Fit, and return the cross-fitted priors of the training rows.

        A row's prior comes from the folds it is not in, and its count excludes
        itself, so no row's own score reaches its features.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        ndarray of shape (n_samples, 2), or (n_samples, 1) with ``count=False``
        """
        if y is None:
            raise ValueError("FranchisePrior needs y (the scores) to fit.")
        cross_fitted = self._fit(X, y)
        keys = self._keys(X, reset=False)
        counts = np.array([self.counts_[k] - 1 for k in keys], dtype=np.float64)
        return self._output(cross_fitted, counts)

    def transform(self, X):
        """The priors of new titles, learned from every training row.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.

        Returns
        -------
        ndarray of shape (n_samples, 2), or (n_samples, 1) with ``count=False``
        """
        check_is_fitted(self, "encoder_")
        keys = self._keys(X, reset=False)
        default = float(self.encoder_.target_mean_)  # an unseen franchise
        prior = np.array([self.priors_.get(k, default) for k in keys], dtype=float)
        counts = np.array([self.counts_.get(k, 0) for k in keys], dtype=np.float64)
        return self._output(prior, counts)

    def get_feature_names_out(self, input_features=None):
        """``franchise_prior`` (and ``franchise_count``)."""
        check_is_fitted(self, "encoder_")
        names = ["franchise_prior"] + (["franchise_count"] if self.count else [])
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags
