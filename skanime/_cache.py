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

from ._atomic import atomic_path, remove_stale

__all__ = [
    "EmbeddingCache",
    "backbone_fingerprint",
    "clear_memory_cache",
    "file_digest",
    "memory_cache",
]

#: Changes whenever the decoding of a poster into pixels changes (2: EXIF
#: orientation applied), so that embeddings cached before are not reused.
DECODE_VERSION = 2

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
    hasher.update(f"decode {DECODE_VERSION}".encode())
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
    """Forget every embedding held in memory (the disk cache is kept).

    Examples
    --------
    >>> from skanime import clear_memory_cache
    >>> from skanime._cache import memory_cache
    >>> clear_memory_cache()
    >>> len(memory_cache())
    0
    """
    _MEMORY.clear()


_SWEPT: set[str] = set()
_SWEPT_LOCK = threading.Lock()


def _sweep_once(folder: str) -> None:
    """Remove the stale temporary entries of killed writers from ``folder``, once
    per process (listing a folder of many entries for every write would be slow)."""
    with _SWEPT_LOCK:
        if folder in _SWEPT:
            return
        _SWEPT.add(folder)
    remove_stale(folder, r"[0-9a-f]{32}\.npy")


#: Bytes an ``.npy`` file of ``dim`` float32 values may take beyond its data (the
#: header is 128 bytes in practice); a larger file is refused unread.
_NPY_HEADER_BYTES = 4096


class EmbeddingCache:
    """Look up and store embeddings in memory and, if ``folder`` is set, on disk.

    An entry read from disk is used only if it is a float32 array of shape
    ``(dim,)`` with finite values; any other file (empty, truncated, NaN, a
    scalar, a wrong length, ...) is a miss, listed in :attr:`rejected`, and is
    overwritten when the embedding is stored again. A folder that cannot be
    written (read-only, a file, not creatable) is not written to; the first
    error is kept in :attr:`write_error` and nothing is raised.

    Parameters
    ----------
    fingerprint : str
        The backbone's :func:`backbone_fingerprint`.
    folder : str or path-like, default=None
        Disk cache: ``folder/<fingerprint>/<digest>.npy``, written atomically, so
        several processes can share it.
    use_memory : bool, default=True
        Also use the process-wide in-memory cache.
    dim : int or None, default=None
        The backbone's embedding width, which entries read from disk must have;
        None checks only that an entry is a finite 1-D float32 array.

    Attributes
    ----------
    rejected : list of (str, str)
        ``(file, reason)`` of each disk entry refused since this object was made.
    write_error : OSError or None
        Why the folder could not be written, if it could not.
    """

    def __init__(
        self,
        fingerprint: str,
        folder=None,
        *,
        use_memory: bool = True,
        dim: int | None = None,
    ):
        self.fingerprint = fingerprint
        self.folder = (
            None if folder is None else os.path.join(os.fspath(folder), fingerprint)
        )
        self.use_memory = use_memory
        self.dim = dim
        self.rejected: list[tuple[str, str]] = []
        self.write_error: OSError | None = None

    def _file(self, digest: str) -> str:
        return os.path.join(self.folder, f"{digest}.npy")

    def get(self, digest: str) -> np.ndarray | None:
        """The cached embedding of a poster, or None."""
        key = (self.fingerprint, digest)
        if self.use_memory and (value := _MEMORY.get(key)) is not None:
            return value
        if self.folder is not None:
            value = self._read(self._file(digest))
            if value is None:
                return None
            value.flags.writeable = False
            if self.use_memory:
                _MEMORY.put(key, value)
            return value
        return None

    def _read(self, file: str) -> np.ndarray | None:
        """The entry in ``file`` if it is usable; else None (and noted)."""
        try:
            size = os.stat(file).st_size
        except OSError:  # absent (a plain miss), or the folder is unreadable
            return None
        limit = 4 * (self.dim or 0) + _NPY_HEADER_BYTES
        if self.dim is not None and size > limit:
            return self._reject(file, f"{size} bytes, more than an entry takes")
        try:
            value = np.load(file, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:  # empty, truncated, garbage
            return self._reject(file, f"not a readable .npy file ({exc})")
        if not isinstance(value, np.ndarray):  # an .npz archive
            value.close()
            return self._reject(file, "not a single array")
        if value.dtype != np.float32:
            return self._reject(file, f"dtype {value.dtype}, expected float32")
        expected = (self.dim,) if self.dim is not None else (value.size,)
        if value.shape != expected or value.size == 0:
            return self._reject(file, f"shape {value.shape}, expected {expected}")
        if not np.isfinite(value).all():
            return self._reject(file, "holds NaN or infinite values")
        return value

    def _reject(self, file: str, reason: str) -> None:
        self.rejected.append((file, reason))
        return None

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store ``(digest, embedding)`` pairs (on disk only if it can be written)."""
        items = list(items)
        values = []
        for digest, value in items:
            value = np.ascontiguousarray(value, dtype=np.float32)
            value.flags.writeable = False
            if self.use_memory:
                _MEMORY.put((self.fingerprint, digest), value)
            values.append((digest, value))
        if self.folder is None or self.write_error is not None or not values:
            return
        try:
            os.makedirs(self.folder, exist_ok=True)
            _sweep_once(self.folder)
            for digest, value in values:
                self._write(digest, value)
        except OSError as exc:  # read-only, a file, full, not creatable
            self.write_error = exc

    def _write(self, digest: str, value: np.ndarray) -> None:
        file = self._file(digest)
        with atomic_path(file, clean=False) as temporary, open(temporary, "wb") as f:
            np.save(f, value, allow_pickle=False)

    def problems(self) -> str | None:
        """One sentence on the entries refused and the writes that failed, or None."""
        parts = []
        if self.rejected:
            file, reason = self.rejected[0]
            parts.append(
                f"{len(self.rejected)} embedding cache entr"
                f"{'y' if len(self.rejected) == 1 else 'ies'} could not be used "
                f"and were computed again (first: {file!r}: {reason})"
            )
        if self.write_error is not None:
            parts.append(
                f"the cache folder {self.folder!r} cannot be written "
                f"({self.write_error}); embeddings were not stored on disk "
                "(set cache_dir to a writable folder, or None)"
            )
        return "; ".join(parts) + "." if parts else None
