"""Large string-valued state of a fitted transformer, saved as a few arrays.

skops writes a dict as a node for every key and value: the title-neighbour
prior's character n-gram vocabulary (about 28,000 terms on MyAnimeList's
table) alone made 341,000 of the 855,000 nodes of a default model's file, and
reading those nodes was most of :func:`skanime.io.load`'s time.
:class:`CompactDictsMixin` saves such a dict (a ``vectorizer_``'s
``vocabulary_``, say) as an array of its keys and one of its values, which skops,
pickle and joblib each store as one block, and rebuilds the dict on load.
It saves the lists, object arrays and dicts of strings named in
``_compact_strings`` (column names, labels, spellings, label encodings:
18,000 of the 31,500 nodes left in that file) as one string and an array of
lengths each.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = [
    "CompactDictsMixin",
    "pack_dict",
    "pack_json",
    "pack_strings",
    "unpack_dict",
    "unpack_json",
    "unpack_strings",
]

_PACKED = "_skanime_packed_dicts"
_PACKED_STRINGS = "_skanime_packed_strings"


def pack_dict(mapping: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """``(keys, values)`` arrays of a dict of strings to numbers, in its order;
    None for any other dict, or anything else (a fixed-width string array
    cannot end a key with ``"\\x00"``, so such a dict stays as it is).

    >>> keys, values = pack_dict({"ab": 1, "c": 2})
    >>> keys.dtype.kind, values.tolist()
    ('U', [1, 2])
    >>> pack_dict({1: "a"}) is None
    True
    """
    if not isinstance(mapping, dict):
        return None
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


def _joined(strings) -> tuple[np.ndarray, np.ndarray] | None:
    """``(text, lengths)``: the strings joined into one 0-d string array and
    their lengths; None unless every item is a ``str`` (a fixed-width string
    array drops a trailing ``"\\x00"``, so text ending with one is refused)."""
    if not all(type(item) is str for item in strings):
        return None
    text = "".join(strings)
    if text.endswith("\x00"):
        return None
    return np.array(text), np.array([len(item) for item in strings], dtype=np.int64)


def _split(text: np.ndarray, lengths: np.ndarray) -> list[str]:
    whole, items, start = str(text), [], 0
    for length in lengths.tolist():
        items.append(whole[start : start + length])
        start += length
    return items


def pack_strings(value):
    """A compact form of a list, 1-D object array or dict of strings (or a
    list or dict of those, or a dict of strings to floats or to ints): one
    string and an array of lengths for each sequence of strings, an array
    for the numbers; None for anything else, which is saved as it is.

    >>> packed = pack_strings({"Studios": ["Bones", "MAPPA"], "Type": ["TV"]})
    >>> unpack_strings(packed)
    {'Studios': ['Bones', 'MAPPA'], 'Type': ['TV']}
    >>> unpack_strings(pack_strings([{"Bones": 0.25}, {}]))
    [{'Bones': 0.25}, {}]
    >>> pack_strings([1, 2]) is None
    True
    """
    if type(value) is list:
        joined = _joined(value)
        if joined is not None:
            return ("list", *joined)
        parts = [pack_strings(item) for item in value]
        return None if None in parts else ("lists", parts)
    if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 1:
        joined = _joined(value.tolist())
        return None if joined is None else ("array", *joined)
    if type(value) is dict:
        keys = _joined(list(value))
        if keys is None:
            return None
        values = _joined(list(value.values()))
        if values is not None:
            return ("str_dict", *keys, *values)
        for kind in (float, int, np.float64):  # numbers of one type, not bool
            if value and all(type(item) is kind for item in value.values()):
                try:
                    numbers = np.array(list(value.values()), kind)
                except OverflowError:  # an int beyond 64 bits
                    return None
                return ("number_dict", *keys, numbers, kind is np.float64)
        parts = [pack_strings(item) for item in value.values()]
        return None if None in parts else ("dict", *keys, parts)
    return None


def unpack_strings(packed):
    """The value :func:`pack_strings` packed, with the same types."""
    kind = packed[0]
    if kind == "list":
        return _split(*packed[1:])
    if kind == "lists":
        return [unpack_strings(part) for part in packed[1]]
    if kind == "array":
        return np.array(_split(*packed[1:]), dtype=object)
    keys = _split(packed[1], packed[2])
    if kind == "str_dict":
        return dict(zip(keys, _split(packed[3], packed[4]), strict=True))
    if kind == "number_dict":  # NumPy's float64 scalars, or Python numbers
        numbers = list(packed[3]) if packed[4] else packed[3].tolist()
        return dict(zip(keys, numbers, strict=True))
    return dict(zip(keys, map(unpack_strings, packed[3]), strict=True))


#: How :func:`pack_json` writes a NumPy float64 scalar, which JSON has not.
_FLOAT64 = "__skanime_float64__"


class _NotJSON(Exception):
    pass


def _jsonable(value):
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is np.float64:
        return {_FLOAT64: float(value)}
    if kind is list:
        return [_jsonable(item) for item in value]
    if kind is dict:
        if not all(type(key) is str and key != _FLOAT64 for key in value):
            raise _NotJSON
        return {key: _jsonable(item) for key, item in value.items()}
    raise _NotJSON


def pack_json(value) -> str | None:
    """``value`` (lists, string-keyed dicts, strings, numbers, booleans, None
    and NumPy float64 scalars: a skorch ``History``) as one JSON text; None
    for anything else, which is saved as it is.

    >>> text = pack_json([{"epoch": 1, "valid_loss": np.float64(0.5)}])
    >>> unpack_json(text)
    [{'epoch': 1, 'valid_loss': np.float64(0.5)}]
    >>> pack_json([(1, 2)]) is None
    True
    """
    try:
        return json.dumps(_jsonable(value))
    except _NotJSON:
        return None


def unpack_json(text: str):
    """The value :func:`pack_json` wrote, with the same types."""

    def read(mapping: dict):
        if mapping.keys() == {_FLOAT64}:
            return np.float64(mapping[_FLOAT64])
        return mapping

    return json.loads(text, object_hook=read)


def _attribute(state: dict, name: str):
    """``state[name]``, or for ``"owner.attribute"`` that attribute of
    ``state["owner"]``; None where there is none."""
    owner_name, _, attribute = name.rpartition(".")
    if not owner_name:
        return state.get(name)
    return getattr(state.get(owner_name), "__dict__", {}).get(attribute)


def _drop(state: dict, name: str, copied: set[str]) -> None:
    """Take ``name`` out of ``state``; an ``"owner.attribute"`` out of a copy
    of the owner (made once, in ``copied``), so the fitted owner keeps it."""
    owner_name, _, attribute = name.rpartition(".")
    if not owner_name:
        del state[name]
        return
    if owner_name not in copied:
        original = state[owner_name]
        state[owner_name] = original.__class__.__new__(original.__class__)
        state[owner_name].__dict__.update(vars(original))
        copied.add(owner_name)
    delattr(state[owner_name], attribute)


class CompactDictsMixin:
    """Saves the dicts named in ``_compact_dicts`` as :func:`pack_dict` arrays,
    and the attributes named in ``_compact_strings`` as :func:`pack_strings`
    makes them (a dotted name, ``"encoder_.categories_"``, is an attribute of
    the fitted ``encoder_``); put it before ``BaseEstimator`` in the bases.
    The fitted object itself is not changed."""

    _compact_dicts: tuple[str, ...] = ()
    _compact_strings: tuple[str, ...] = ()

    def __getstate__(self):
        # a copy: object.__getstate__ gives the instance's own __dict__
        state = dict(super().__getstate__())
        copied: set[str] = set()
        for key, names, pack in (
            (_PACKED, self._compact_dicts, pack_dict),
            (_PACKED_STRINGS, self._compact_strings, pack_strings),
        ):
            packed = {}
            for name in names:
                compact = pack(_attribute(state, name))
                if compact is not None:
                    packed[name] = compact
                    _drop(state, name, copied)
            if packed:
                state[key] = packed
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop(_PACKED, {})
        strings = state.pop(_PACKED_STRINGS, {})
        super().__setstate__(state)
        restored = [(n, unpack_strings(c)) for n, c in strings.items()]
        restored += [(n, unpack_dict(*pair)) for n, pair in packed.items()]
        for name, value in restored:
            owner_name, _, attribute = name.rpartition(".")
            owner = getattr(self, owner_name) if owner_name else self
            setattr(owner, attribute, value)
