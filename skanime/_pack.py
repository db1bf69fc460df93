"""``PackInputs``: the last encoding step, from the encoded table to the network's
inputs.

The :class:`~sklearn.compose.ColumnTransformer` of the data's path outputs one
DataFrame whose columns are named ``<branch>__<feature>``. :class:`PackInputs`
groups them by branch into the dict that :class:`~skanime.HybridNet` hands to
:meth:`HybridModule.forward <skanime.HybridModule.forward>` as keyword arguments
(a skorch ``SliceDict``, so it can be indexed by rows like an array).
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from skorch.helper import SliceDict

from ._compact_state import CompactDictsMixin
from .exceptions import ColumnError

__all__ = ["DEFAULT_ROUTES", "PackInputs", "pack_arrays"]

#: Which branch feeds which input; every other branch joins "tabular". The
#: title's word columns (:class:`~skanime.TitleWords`) are the ``"words"`` input.
DEFAULT_ROUTES = {"poster": "poster", "title_words": "words"}


# auto_wrap_output_keys=None: the output is a dict of inputs, not a table, so
# sklearn.set_config(transform_output="pandas") must leave it as it is
class PackInputs(
    CompactDictsMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Pack an encoded DataFrame into the dict of the network's inputs.

    Columns are grouped by their branch prefix (``numeric__Episodes`` belongs to
    ``numeric``). A branch named in ``routes`` goes to that input; all other
    branches are concatenated, in order, into ``"tabular"`` (float32). The
    ``"poster"`` input is the poster branch's output: either one column of poster
    paths (from :class:`~skanime.PosterLoader`) or the ``has_image`` flag and the
    embedding of a :class:`~skanime.PosterEmbedder`, packed as ``"has_image"``
    (``(n, 1)``) and ``"embedding"`` (``(n, d)``).

    Parameters
    ----------
    routes : dict or None, default=None
        ``{branch: input}``; None is :data:`DEFAULT_ROUTES` (``{"poster":
        "poster", "title_words": "words"}``). Other inputs than ``"tabular"`` and
        ``"poster"`` are packed as float32 blocks under their own key.

    Attributes
    ----------
    blocks_ : dict
        ``{input: list of column names}``, in input order.
    feature_names_in_ : ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime import PackInputs
    >>> encoded = pd.DataFrame({"numeric__a": [1.0, 2.0], "poster__path": ["p", None]})
    >>> packed = PackInputs().fit_transform(encoded)
    >>> sorted(packed), packed["tabular"].shape
    (['poster', 'tabular'], (2, 1))
    """

    _compact_strings = ("feature_names_in_", "blocks_")  # saved as one string

    def __init__(self, routes=None):
        self.routes = routes

    def fit(self, X, y=None):
        """Learn which columns form which input."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "PackInputs expects the DataFrame output of a ColumnTransformer "
                "(set_output(transform='pandas')); got "
                f"{type(X).__name__}."
            )
        routes = DEFAULT_ROUTES if self.routes is None else self.routes
        blocks: dict[str, list[str]] = {"tabular": []}
        for column in X.columns:
            branch = str(column).split("__", 1)[0]
            blocks.setdefault(routes.get(branch, "tabular"), []).append(column)
        self.blocks_ = blocks
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X) -> SliceDict:
        """The dict of inputs (a ``SliceDict``), one row per row of ``X``."""
        check_is_fitted(self)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ColumnError(f"Encoded column(s) {missing[:3]} are missing.")
        packed = {}
        for key, columns in self.blocks_.items():
            if key == "poster":
                names = [str(c).split("__", 1)[-1] for c in columns]
                packed.update(
                    _poster_inputs(
                        names, lambda dtype, block=X[columns]: _values(block, dtype)
                    )
                )
            else:
                packed[key] = X[columns].to_numpy(dtype=np.float32, na_value=np.nan)
        return SliceDict(**packed)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return self.feature_names_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags


def pack_arrays(pack: PackInputs, parts) -> SliceDict | None:
    """What ``pack.transform`` makes of the encoded table, from its parts.

    ``parts`` is ``[(slice, values)]``: the encoded columns ``slice`` of the
    table ``pack`` was fitted on (its ``feature_names_in_``), as a 2-D array or
    DataFrame, in column order. The values are converted as
    :meth:`PackInputs.transform` converts them; None where the parts do not
    hold the fitted columns in order.
    """
    check_is_fitted(pack)
    layout = _layout(pack, tuple((s.start, s.stop, v.shape[1]) for s, v in parts))
    if layout is None:
        return None  # columns missing, or not in the table's order
    packed = {}
    for key, pieces_of, names in layout:
        pieces = []
        for i, local in pieces_of:
            values = parts[i][1]
            if local is None:
                pieces.append(values)
            elif isinstance(values, pd.DataFrame):
                pieces.append(values.iloc[:, local])
            else:
                pieces.append(values[:, local])
        if key == "poster":
            if len(pieces) != 1:
                return None
            packed.update(
                _poster_inputs(
                    names, lambda dtype, block=pieces[0]: _values(block, dtype)
                )
            )
        elif not pieces:  # e.g. no tabular column beside the poster
            packed[key] = np.zeros((_n_rows(parts), 0), dtype=np.float32)
        else:
            blocks = [_values(piece, np.float32) for piece in pieces]
            packed[key] = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
    return SliceDict(**packed)


#: ``pack -> (its blocks_, the parts' shapes, layout)``: the last layout of each
#: fitted PackInputs, recomputed when it is refitted or the parts change.
_LAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layout(pack: PackInputs, shapes: tuple) -> list | None:
    """Per input: ``(key, [(part index, column indices or None for all)],
    poster column names)`` for parts of ``shapes`` (``(start, stop, width)``
    each), or None where they do not hold the fitted columns in order."""
    cached = _LAYOUTS.get(pack)
    if cached is not None and cached[0] is pack.blocks_ and cached[1] == shapes:
        return cached[2]
    position = {name: i for i, name in enumerate(pack.feature_names_in_)}
    layout = []
    for key, columns in pack.blocks_.items():
        wanted = np.fromiter((position[c] for c in columns), dtype=np.intp)
        pieces_of, found = [], 0
        for i, (start, stop, width) in enumerate(shapes):
            local = wanted[(wanted >= start) & (wanted < stop)] - start
            if not len(local):
                continue
            found += len(local)
            whole = len(local) == width and (local == np.arange(width)).all()
            pieces_of.append((i, None if whole else local))
        if found != len(columns):
            layout = None
            break
        names = (
            [str(c).split("__", 1)[-1] for c in columns] if key == "poster" else None
        )
        layout.append((key, pieces_of, names))
    _LAYOUTS[pack] = (pack.blocks_, shapes, layout)
    return layout


def _n_rows(parts) -> int:
    return len(parts[0][1]) if parts else 0


def _values(block, dtype) -> np.ndarray:
    """``block`` as an ndarray of ``dtype``, missing values as NaN (as pandas'
    ``to_numpy(dtype, na_value=np.nan)`` gives them)."""
    if isinstance(block, pd.DataFrame):
        if dtype is object:
            return block.iloc[:, 0].to_numpy(dtype=object)
        return block.to_numpy(dtype=dtype, na_value=np.nan)
    if dtype is object:  # missing paths as the DataFrame holds them (NaN)
        return pd.DataFrame(block[:, :1]).iloc[:, 0].to_numpy(dtype=object)
    if block.dtype.kind not in "fiub":
        return pd.DataFrame(block).to_numpy(dtype=dtype, na_value=np.nan)
    return np.asarray(block, dtype=dtype)


def _poster_inputs(names: list, values) -> dict:
    """``{"poster": paths}`` or ``{"has_image": ..., "embedding": ...}`` of the
    poster block whose column names are ``names``; ``values(dtype)`` is the block
    as an array (for object, its first column)."""
    if names == ["path"]:
        return {"poster": values(object)}
    if names and names[0] == "has_image":
        block = values(np.float32)
        return {"has_image": block[:, :1], "embedding": block[:, 1:]}
    raise ColumnError(
        f"The poster branch gives columns {names[:3]}, neither one 'path' column nor "
        "a 'has_image' column followed by embedding columns."
    )
