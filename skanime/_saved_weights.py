"""A frozen backbone's weights in a saved model: one copy for every embedder.

A default model holds two :class:`~skanime.PosterEmbedder` (the poster branch's
and the poster prior's) over one frozen backbone. Each saved its own
``torch.save`` bytes of the weights, so the file held them twice (two 19.6 MB
copies for EfficientNet-Lite2) and a load built the backbone twice.

:func:`saved_weights` returns the *same object* for a module whose weights have
not changed, so the serialiser writes it once: pickle and joblib keep one copy
of a bytes object met twice, and skops one copy of a numpy array (it writes a
bytes object every time it meets it), hence an array while
:func:`skanime.io.save` runs (:func:`arrays_for_skops`). :func:`restored_backbone`
builds one module for equal weights, which the loaded embedders then share, as
the embedders of a fit share a pretrained backbone.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
import weakref
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from ._utils import dump_tensors, load_tensors

__all__ = ["arrays_for_skops", "restored_backbone", "saved_weights"]

_FOR_SKOPS = contextvars.ContextVar("skanime_weights_for_skops", default=False)
_LOCK = threading.Lock()
#: module -> (its tensors' addresses and versions, the weights' digest, their
#: bytes, and those bytes as a uint8 array)
_SAVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: (builder key, weights digest) -> the module built from those weights
_RESTORED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


@contextlib.contextmanager
def arrays_for_skops() -> Iterator[None]:
    """While it runs, :func:`saved_weights` gives numpy arrays (skops keeps one
    copy of an array met twice, not of bytes)."""
    token = _FOR_SKOPS.set(True)
    try:
        yield
    finally:
        _FOR_SKOPS.reset(token)


def _versions(tensors: dict) -> tuple:
    # an in-place change (load_state_dict, an optimiser step) bumps a tensor's
    # version counter; a replaced tensor has another address
    return tuple((t.data_ptr(), t._version) for t in tensors.values())


def saved_weights(module: nn.Module) -> bytes | np.ndarray:
    """``module``'s ``state_dict`` as ``torch.save`` bytes (a uint8 array under
    :func:`arrays_for_skops`): the same object while its weights are unchanged,
    and for any live module whose weights are equal. The bytes are kept while
    the module lives (a pretrained backbone's, once saved, for the process).

    >>> from torch import nn
    >>> layer = nn.Linear(2, 1)
    >>> saved_weights(layer) is saved_weights(layer)
    True
    """
    tensors = module.state_dict()
    versions = _versions(tensors)
    with _LOCK:
        entry = _SAVED.get(module)
        if entry is None or entry[0] != versions:
            digest = _digest(tensors)
            # equal weights in another live module (built from the same seed)
            # are the same objects too
            same = [e for e in _SAVED.values() if e[1] == digest]
            if same:
                entry = (versions, *same[0][1:])
            else:
                # contiguous: a backbone that embedded on the CPU is
                # channels-last, and the file holds the same bytes either way
                blob = dump_tensors({k: v.contiguous() for k, v in tensors.items()})
                entry = (versions, digest, blob, np.frombuffer(blob, np.uint8))
            _SAVED[module] = entry
    return entry[3] if _FOR_SKOPS.get() else entry[2]


def restored_backbone(
    weights: bytes | np.ndarray, key: tuple | None, build: Callable[[], nn.Module]
) -> nn.Module:
    """The frozen module ``build()`` makes, with ``weights`` loaded, in eval mode.

    Modules restored from equal weights with the same ``key`` (the backbone's
    name and input size) are one module, shared read-only while any holder lives;
    ``key=None`` gives a module of its own.

    >>> from torch import nn
    >>> weights = saved_weights(nn.Linear(2, 1))
    >>> first = restored_backbone(weights, ("linear",), lambda: nn.Linear(2, 1))
    >>> first is restored_backbone(weights, ("linear",), lambda: nn.Linear(2, 1))
    True
    >>> first.training, first.weight.requires_grad
    (False, False)
    """
    tensors = load_tensors(bytes(memoryview(weights).cast("B")), "cpu")
    digest = None if key is None else (key, _digest(tensors))
    with _LOCK:
        module = None if digest is None else _RESTORED.get(digest)
        if module is None:
            module = build()
            module.load_state_dict(tensors)
            module = module.eval().requires_grad_(False)
            if digest is not None:
                _RESTORED[digest] = module
    return module


def _digest(tensors: dict) -> str:
    """A digest of a state dict's names, dtypes, shapes and values, whatever
    their memory layout (a backbone that embedded on the CPU is channels-last,
    and files written before :func:`saved_weights` hold such a copy beside a
    contiguous one)."""
    h = hashlib.sha256()
    for name, tensor in tensors.items():
        h.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        h.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()
