"""The embedding cache: poster embeddings keyed by file content and backbone.

A key is ``(fingerprint, digest)``: the backbone's fingerprint (its class, weights,
input size and normalisation) and the poster file's content digest, so a renamed
file hits the cache and an edited file or a different backbone misses it. Entries
live in a process-wide in-memory LRU (shared by every clone of an estimator, hence
by every fold of ``cross_val_score`` and every candidate of ``GridSearchCV``) and,
optionally, in a folder on disk that other processes and later sessions reuse.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
import torch

from ._atomic import atomic_path

__all__ = [
    "EmbeddingCache",
    "backbone_fingerprint",
    "clear_memory_cache",
    "file_digest",
    "memory_cache",
]

_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGEST_LOCK = threading.Lock()


def file_digest(path: str) -> str:
    """Hex digest of a file's content (memoised by path, size and mtime)."""
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    with _DIGEST_LOCK:
        digest = _DIGESTS.get(key)
    if digest is None:
        with open(path, "rb") as file:
            digest = hashlib.file_digest(file, "blake2b").hexdigest()[:32]
        with _DIGEST_LOCK:
            _DIGESTS[key] = digest
    return digest


def backbone_fingerprint(
    backbone: torch.nn.Module, *, image_size: int, mean, std
) -> str:
    """Hex digest of what determines an embedding: the backbone and its inputs."""
    hasher = hashlib.blake2b(digest_size=16)
    kind = type(backbone)
    hasher.update(f"{kind.__module__}.{kind.__qualname__}".encode())
    hasher.update(repr((int(image_size), tuple(mean), tuple(std))).encode())
    for name, tensor in sorted(backbone.state_dict().items()):
        hasher.update(name.encode())
        hasher.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return hasher.hexdigest()


class _MemoryLRU:
    """A thread-safe LRU of arrays, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value: np.ndarray) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = value
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


#: At most 2 GiB of embeddings per process (1.6 million 320-wide floats).
_MEMORY = _MemoryLRU(max_bytes=2 * 1024**3)


def memory_cache() -> _MemoryLRU:
    """The process-wide in-memory cache."""
    return _MEMORY


def clear_memory_cache() -> None:
    """Forget every embedding held in memory (the disk cache is kept)."""
    _MEMORY.clear()


class EmbeddingCache:
    """Look up and store embeddings in memory and, if ``folder`` is set, on disk.

    Parameters
    ----------
    fingerprint : str
        The backbone's :func:`backbone_fingerprint`.
    folder : str or path-like, default=None
        Disk cache: ``folder/<fingerprint>/<digest>.npy``, written atomically, so
        several processes can share it.
    use_memory : bool, default=True
        Also use the process-wide in-memory cache.
    """

    def __init__(self, fingerprint: str, folder=None, *, use_memory: bool = True):
        self.fingerprint = fingerprint
        self.folder = (
            None if folder is None else os.path.join(os.fspath(folder), fingerprint)
        )
        self.use_memory = use_memory

    def _file(self, digest: str) -> str:
        return os.path.join(self.folder, f"{digest}.npy")

    def get(self, digest: str) -> np.ndarray | None:
        """The cached embedding of a poster, or None."""
        key = (self.fingerprint, digest)
        if self.use_memory and (value := _MEMORY.get(key)) is not None:
            return value
        if self.folder is not None:
            try:
                value = np.load(self._file(digest), allow_pickle=False)
            except (OSError, ValueError):  # absent, or half-written by a crash
                return None
            if self.use_memory:
                _MEMORY.put(key, value)
            return value
        return None

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store ``(digest, embedding)`` pairs."""
        if self.folder is not None:
            os.makedirs(self.folder, exist_ok=True)
        for digest, value in items:
            value = np.ascontiguousarray(value, dtype=np.float32)
            value.flags.writeable = False
            if self.use_memory:
                _MEMORY.put((self.fingerprint, digest), value)
            if self.folder is not None:
                self._write(digest, value)

    def _write(self, digest: str, value: np.ndarray) -> None:
        with atomic_path(self._file(digest)) as temporary, open(temporary, "wb") as f:
            np.save(f, value, allow_pickle=False)
