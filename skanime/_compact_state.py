"""Large string-keyed dicts of a fitted transformer, saved as two arrays.

skops writes a dict as a node for every key and value: the title-neighbour
prior's character n-gram vocabulary (about 28,000 terms on MyAnimeList's
table) alone made 341,000 of the 855,000 nodes of a default model's file, and
reading those nodes was most of :func:`skanime.io.load`'s time.
:class:`CompactDictsMixin` saves such a dict (and a ``vectorizer_``'s
``vocabulary_``) as an array of its keys and one of its values, which skops,
pickle and joblib each store as one block, and rebuilds the dict on load.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CompactDictsMixin", "pack_dict", "unpack_dict"]

_PACKED = "_skanime_packed_dicts"


def pack_dict(mapping: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """``(keys, values)`` arrays of a dict of strings to numbers, in its order;
    None for any other dict (a fixed-width string array cannot end a key with
    ``"\\x00"``, so such a dict stays as it is).

    >>> keys, values = pack_dict({"ab": 1, "c": 2})
    >>> keys.dtype.kind, values.tolist()
    ('U', [1, 2])
    >>> pack_dict({1: "a"}) is None
    True
    """
    keys = list(mapping)
    if not keys or not all(type(k) is str and not k.endswith("\x00") for k in keys):
        return None
    values = np.asarray(list(mapping.values()))
    if values.dtype.kind not in "iuf" or values.ndim != 1:
        return None
    return np.asarray(keys, dtype=str), values


def unpack_dict(keys: np.ndarray, values: np.ndarray) -> dict:
    """The dict :func:`pack_dict` packed, with Python strings and numbers.

    >>> unpack_dict(*pack_dict({"ab": 1, "c": 2.5}))
    {'ab': 1.0, 'c': 2.5}
    """
    return dict(zip(keys.tolist(), values.tolist(), strict=True))


class CompactDictsMixin:
    """Saves the dicts named in ``_compact_dicts``, and ``vectorizer_.vocabulary_``
    where there is one, as :func:`pack_dict` arrays; put it before
    ``BaseEstimator`` in the bases. The fitted object itself is not changed."""

    _compact_dicts: tuple[str, ...] = ()

    def __getstate__(self):
        # a copy: object.__getstate__ gives the instance's own __dict__
        state = dict(super().__getstate__())
        packed = {}
        for name in self._compact_dicts:
            pair = pack_dict(state[name]) if isinstance(state.get(name), dict) else None
            if pair is not None:
                packed[name] = pair
                del state[name]
        vectorizer = state.get("vectorizer_")
        vocabulary = getattr(vectorizer, "vocabulary_", None)
        pair = pack_dict(vocabulary) if isinstance(vocabulary, dict) else None
        if pair is not None:
            # a copy without it: the fitted vectorizer keeps its vocabulary
            copy = vectorizer.__class__.__new__(vectorizer.__class__)
            copy.__dict__.update(vectorizer.__dict__)
            del copy.vocabulary_
            state["vectorizer_"] = copy
            packed["vectorizer_.vocabulary_"] = pair
        if packed:
            state[_PACKED] = packed
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop(_PACKED, {})
        super().__setstate__(state)
        for name, (keys, values) in packed.items():
            if name == "vectorizer_.vocabulary_":
                self.vectorizer_.vocabulary_ = unpack_dict(keys, values)
            else:
                setattr(self, name, unpack_dict(keys, values))
