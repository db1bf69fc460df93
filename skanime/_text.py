"""Titles as dense features: TF-IDF n-grams reduced by SVD, and a sequel flag."""

from __future__ import annotations

import re
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._compact_state import CompactDictsMixin
from ._utils import title_column

__all__ = ["TitleEncoder", "TitleWords", "is_sequel"]

_SEQUEL = re.compile(
    r"(?:\b(?:\d+(?:st|nd|rd|th)|final)\s+(?:season|stage|part|cour)\b"
    r"|\b(?:season|part|cour)\s*(?:\d+|ii|iii|iv)\b"
    r"|\s(?:2|3|4|5|ii|iii|iv)\s*(?::|$)"
    r"|\b(?:movie|ova|ona|special|specials|recap|zoku|shin)\b"
    r"|:)",
    re.IGNORECASE,
)


def is_sequel(title) -> bool:
    """Whether a title reads like a sequel, spin-off or side story of a franchise.

    True for season/part/cour numbers, trailing numerals, movie/OVA/special
    markers and subtitles after a colon.

    Examples
    --------
    >>> from skanime import is_sequel
    >>> is_sequel("Shingeki no Kyojin Season 3"), is_sequel("Monster")
    (True, False)
    """
    if title is None or (isinstance(title, float) and np.isnan(title)):
        return False
    return bool(_SEQUEL.search(str(title)))


def _as_texts(column) -> list[str]:
    """Each cell as text; a missing one (None, NaN, pandas' NA) as ""."""
    return [
        "" if t is None or t is pd.NA or (isinstance(t, float) and t != t) else str(t)
        for t in column
    ]


class _TitleTransformer(CompactDictsMixin, TransformerMixin, BaseEstimator):
    """What :class:`TitleEncoder` and :class:`TitleWords` share: one title
    column read as text, missing titles as ""."""

    _compact_dicts = ("vectorizer_.vocabulary_",)  # saved as arrays

    def _texts(self, X, *, reset: bool) -> list[str]:
        return _as_texts(title_column(self, X, reset=reset))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


class TitleEncoder(_TitleTransformer):
    """Encode a title column as TF-IDF n-grams reduced to a few dense components.

    Word (or character) n-grams are TF-IDF weighted, then projected on their
    ``n_components`` leading singular directions (:class:`TruncatedSVD`), so a
    network gets a small dense block; a sequel flag (:func:`is_sequel`) may
    follow.

    Parameters
    ----------
    analyzer : {"word", "char_wb"}, default="word"
        What the n-grams are made of.
    ngram_range : tuple of int, default=(1, 2)
        Smallest and largest n-gram length.
    min_df : int, default=3
        An n-gram must occur in at least this many training titles.
    n_components : int, default=32
        Width of the dense block (capped at the vocabulary size minus one).
    sequel_flag : bool, default=True
        Append a 0/1 column: does the title read like a sequel?
    random_state : int, RandomState instance or None, default=None
        Seed of the randomised SVD.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer
        Fitted on the training titles.
    svd_ : TruncatedSVD or None
        The projection; None when the vocabulary has fewer than two n-grams
        (the block is then empty).
    n_features_in_ : int
        Always 1: the title column.
    feature_names_in_ : ndarray of str
        The title column's name, when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import TitleEncoder
    >>> X = pd.DataFrame({"Title": ["Gintama", "Gintama Season 2", "Monster",
    ...                             "Monster Movie", "Mushishi", "Mushishi Zoku Shou"]})
    >>> enc = TitleEncoder(min_df=1, n_components=2, random_state=0).fit(X)
    >>> enc.transform(X).shape
    (6, 3)
    >>> enc.get_feature_names_out().tolist()
    ['title_svd0', 'title_svd1', 'title_sequel']
    """

    _parameter_constraints: dict = {
        "analyzer": [StrOptions({"word", "char_wb", "char"})],
        "ngram_range": [tuple],
        "min_df": [Interval(Integral, 1, None, closed="left")],
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "sequel_flag": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        analyzer="word",
        ngram_range=(1, 2),
        min_df=3,
        n_components=32,
        sequel_flag=True,
        random_state=None,
    ):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.n_components = n_components
        self.sequel_flag = sequel_flag
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary, its IDF weights and the SVD projection.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.
        y : None
            Ignored.

        Returns
        -------
        self : TitleEncoder
        """
        texts = self._texts(X, reset=True)
        min_df = min(self.min_df, len(texts))
        self.vectorizer_ = TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=tuple(self.ngram_range),
            min_df=min_df,
            sublinear_tf=True,
            dtype=np.float64,
        )
        try:
            tfidf = self.vectorizer_.fit_transform(texts)
        except ValueError:  # no n-gram reaches min_df (or no text at all)
            self.vectorizer_ = None
            tfidf = None
        self.svd_ = None
        if tfidf is not None and self.n_components > 0:
            n = min(self.n_components, tfidf.shape[1] - 1, len(texts) - 1)
            if n >= 1:
                svd = TruncatedSVD(n, random_state=self.random_state)
                with np.errstate(invalid="ignore", divide="ignore"):
                    # constant titles have no variance to explain: not an error
                    self.svd_ = svd.fit(tfidf)
        return self

    def transform(self, X):
        """The dense title block (and sequel flag).

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.

        Returns
        -------
        ndarray of shape (n_samples, n_output_features)
        """
        check_is_fitted(self, "svd_")
        texts = self._texts(X, reset=False)
        blocks = []
        if self.svd_ is not None:
            # TruncatedSVD.transform's product, without its per-call validation
            tfidf = self.vectorizer_.transform(texts)
            blocks.append(np.asarray(tfidf @ self.svd_.components_.T))
        if self.sequel_flag:
            blocks.append(np.array([[float(is_sequel(t))] for t in texts]))
        if not blocks:
            return np.zeros((len(texts), 0))
        return np.hstack(blocks).astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        """``title_svd0`` ... and ``title_sequel``."""
        check_is_fitted(self, "svd_")
        n = 0 if self.svd_ is None else self.svd_.n_components
        names = [f"title_svd{i}" for i in range(n)]
        if self.sequel_flag:
            names.append("title_sequel")
        return np.asarray(names, dtype=object)


class TitleWords(_TitleTransformer):
    """Encode a title column as 0/1 columns, one per word of the training titles.

    The network's text input beside :class:`TitleEncoder`'s few dense
    components: each word (lower-cased, two letters or more) that occurs in at
    least ``min_df`` training titles gets a column, 1 where a title holds it.
    Franchise and studio names, "Gakuen", "Movie" or "Recap" each keep their own
    column rather than sharing 32 directions. :func:`make_hybrid_pipeline`
    routes the block to the network's ``"words"`` input, where each word gets a
    learned weight added to the score (:class:`~skanime._layers.WordWeights`).

    Parameters
    ----------
    min_df : int, default=3
        A word must occur in at least this many training titles.
    ngram_range : tuple of int, default=(1, 1)
        Smallest and largest number of words in a column's n-gram.

    Attributes
    ----------
    vectorizer_ : CountVectorizer or None
        Fitted on the training titles; None when no word reaches ``min_df``
        (the block is then empty).
    n_features_in_ : int
        Always 1: the title column.
    feature_names_in_ : ndarray of str
        The title column's name, when fitted on a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import TitleWords
    >>> X = pd.DataFrame({"Title": ["Gintama", "Gintama Movie", "Monster",
    ...                             "Monster Movie", "Mushishi"]})
    >>> words = TitleWords(min_df=2).fit(X)
    >>> words.get_feature_names_out().tolist()
    ['word_gintama', 'word_monster', 'word_movie']
    >>> words.transform(pd.DataFrame({"Title": ["Gintama Movie 2"]})).tolist()
    [[1.0, 0.0, 1.0]]
    """

    _parameter_constraints: dict = {
        "min_df": [Interval(Integral, 1, None, closed="left")],
        "ngram_range": [tuple],
    }

    def __init__(self, min_df=3, ngram_range=(1, 1)):
        self.min_df = min_df
        self.ngram_range = ngram_range

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.
        y : None
            Ignored.

        Returns
        -------
        self : TitleWords
        """
        texts = self._texts(X, reset=True)
        self.vectorizer_ = CountVectorizer(
            binary=True,
            min_df=min(self.min_df, max(len(texts), 1)),
            ngram_range=tuple(self.ngram_range),
            dtype=np.float32,
        )
        try:
            self.vectorizer_.fit(texts)
        except ValueError:  # no word reaches min_df (or no text at all)
            self.vectorizer_ = None
        return self

    def transform(self, X):
        """The 0/1 word columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            The title column.

        Returns
        -------
        ndarray of shape (n_samples, n_words), float32
        """
        check_is_fitted(self, "vectorizer_")
        texts = self._texts(X, reset=False)
        if self.vectorizer_ is None:
            return np.zeros((len(texts), 0), dtype=np.float32)
        return self.vectorizer_.transform(texts).toarray()

    def get_feature_names_out(self, input_features=None):
        """``word_<word>`` for each word of the vocabulary."""
        check_is_fitted(self, "vectorizer_")
        if self.vectorizer_ is None:
            return np.asarray([], dtype=object)
        words = self.vectorizer_.get_feature_names_out()
        return np.asarray([f"word_{w}" for w in words], dtype=object)
