"""The torch ``Dataset`` that hands the network tabular rows and posters per item."""

from __future__ import annotations

import copy
import os

import numpy as np
import torch
from torch.utils.data import Dataset

from ._posters import _PROGRESS_DELAY_S, PosterLoader, decoded_batches
from ._progress import progress_bar

__all__ = ["HybridDataset", "PRELOAD_MAX_BYTES"]

#: ``preload=True`` decodes a dataset's posters when it is made while their
#: pixels (uint8, ``image_size**2 * 3`` bytes each) take at most this much
#: memory; more posters are decoded per item, every epoch, as without it.
PRELOAD_MAX_BYTES = 1 << 30
#: Distinct posters decoded per thread-pool task when preloading.
_PRELOAD_CHUNK = 32


def _preload(
    paths, loader: PosterLoader, progress: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each distinct poster of ``paths`` decoded once, as uint8 pixels
    ``(m, s, s, 3)``, and each row's slot among them (-1 where the poster is
    missing or cannot be decoded); None where they would take more than
    :data:`PRELOAD_MAX_BYTES`. Decoded in threads (PIL releases the GIL), with
    a progress bar (``progress``) once that has taken a second."""
    present = [p for p in paths if p is not None]
    distinct = list(dict.fromkeys(present))
    size = int(loader.image_size)
    if len(distinct) * size * size * 3 > PRELOAD_MAX_BYTES:
        return None
    pixels = np.zeros((len(distinct), size, size, 3), dtype=np.uint8)
    decoded = np.zeros(len(distinct), dtype=bool)
    threads = min(8, os.cpu_count() or 1) if len(distinct) > _PRELOAD_CHUNK else 0
    start = 0
    with progress_bar(
        total=len(distinct),
        desc="decoding posters",
        unit="poster",
        leave=False,
        disable=not progress,
        delay=_PROGRESS_DELAY_S,
    ) as bar:
        for chunk, ok in decoded_batches(distinct, loader, _PRELOAD_CHUNK, threads):
            end = start + len(chunk)
            pixels[start:end], decoded[start:end] = chunk, ok
            bar.update(end - start)
            start = end
    slot_of = {path: i if decoded[i] else -1 for i, path in enumerate(distinct)}
    slots = np.array([-1 if p is None else slot_of[p] for p in paths], np.int64)
    return pixels, slots


def _per_row(values, n_rows: int, dtype, name: str) -> np.ndarray:
    """``values`` (the rows' ``name``) as writable ``dtype`` of shape
    ``(n_rows,)``."""
    values = _writable(np.ascontiguousarray(values, dtype=dtype))
    if values.shape != (n_rows,):
        raise ValueError(
            f"{name} has shape {values.shape}; it must be ({n_rows},), one per row."
        )
    return values


def _writable(array: np.ndarray) -> np.ndarray:
    """``array`` itself, or a copy where it is read-only (torch needs writable)."""
    return array if array.flags.writeable else array.copy()


class HybridDataset(Dataset):
    """Rows of the encoded table plus their posters, decoded when an item is read
    (or once, beforehand, with ``preload``).

    Items are ``(x, y)`` with ``x`` a dict that :class:`HybridModule` receives as
    keyword arguments: ``tabular`` (float32, ``(k,)``), and when there are posters,
    ``has_image`` (float32, ``(1,)``) and either ``image`` (float32, ``(3, s, s)``,
    zeros for a missing poster) or, for a frozen backbone, ``embedding`` (float32,
    ``(d,)``). Posters are decoded here, so DataLoader workers decode them in
    parallel and only one batch of images is in memory at a time; with
    ``preload``, every poster is decoded once, beforehand, and items only
    normalise its pixels (training many epochs, where decoding each poster
    every epoch is most of an epoch's time).

    Parameters
    ----------
    tabular : ndarray of shape (n, k)
    paths : ndarray of shape (n,) of str or None, or None
        Poster paths (None for a missing poster); None for a tabular-only model.
    y : ndarray of shape (n, 1), or None
    loader : PosterLoader, default=None
        Decodes the posters; required when ``paths`` is given.
    embedding : ndarray of shape (n, d), default=None
        Instead of ``paths``: the poster embedding of each row (from
        :class:`~skanime.PosterEmbedder`).
    has_image : ndarray of shape (n, 1), default=None
        With ``embedding``: 1 where a row has a poster, 0 where it is missing (its
        embedding is zeros); all ones if None.
    fold : ndarray of shape (n,) of int, default=None
        Each row's fold for :class:`~skanime.MemberFolds`: the ensemble member
        that does not train on the row and scores it for early stopping. Items
        then hold it as ``fold`` (int64), which :class:`~skanime.HybridNet`
        reads and does not pass to the module.
    sample_weight : ndarray of shape (n,), default=None
        Each row's weight in the loss. Items then hold it as ``sample_weight``
        (float32), which :class:`~skanime.HybridNet` reads and does not pass to
        the module.
    preload : bool, default=False
        With ``paths``: decode each distinct poster once, now (in threads), and
        keep its pixels (uint8) in memory, so that items only normalise them,
        where they take at most :data:`PRELOAD_MAX_BYTES`; beyond that, or
        False, each item decodes its poster when it is read. A poster that
        cannot be decoded then fails (or, with the loader's
        ``poster_errors="warn"``, counts as missing) here, not in an epoch.
    progress : bool, default=False
        With ``preload``: show a progress bar while the posters are decoded,
        once that has taken a second.
    """

    def __init__(
        self,
        tabular,
        paths=None,
        y=None,
        loader=None,
        embedding=None,
        has_image=None,
        fold=None,
        sample_weight=None,
        preload=False,
        progress=False,
    ):
        self.tabular = _writable(np.ascontiguousarray(tabular, dtype=np.float32))
        n_rows = len(self.tabular)
        self.fold = None if fold is None else _per_row(fold, n_rows, np.int64, "fold")
        self.sample_weight = (
            None
            if sample_weight is None
            else _per_row(sample_weight, n_rows, np.float32, "sample_weight")
        )
        self.paths = paths
        self.embedding = (
            None
            if embedding is None
            else _writable(np.ascontiguousarray(embedding, dtype=np.float32))
        )
        self.has_image = None
        if self.embedding is not None:
            flags = (
                np.ones((len(self.embedding), 1))
                if has_image is None
                else np.asarray(has_image).reshape(-1, 1)
            )
            self.has_image = np.ascontiguousarray(flags, dtype=np.float32)
        if paths is not None and embedding is not None:
            raise ValueError("Pass poster paths or embeddings, not both.")
        if self.embedding is not None and len(self.embedding) != len(self.tabular):
            raise ValueError(
                f"{len(self.embedding)} poster embeddings for {len(self.tabular)} "
                "tabular rows."
            )
        self.y = (
            None if y is None else _writable(np.asarray(y, np.float32).reshape(-1, 1))
        )
        self.loader = loader
        if paths is not None and loader is None:
            raise ValueError("HybridDataset needs a PosterLoader to decode posters.")
        if paths is not None and len(paths) != len(self.tabular):
            raise ValueError(
                f"{len(paths)} poster paths for {len(self.tabular)} tabular rows."
            )
        if self.y is not None and len(self.y) != len(self.tabular):
            raise ValueError(f"{len(self.y)} targets for {len(self.tabular)} rows.")
        # each distinct poster's pixels and each row's slot among them (-1: none)
        self.pixels = self.slots = None
        if preload and paths is not None:
            decoded = _preload(paths, loader, progress)
            self.pixels, self.slots = decoded or (None, None)

    def __len__(self) -> int:
        return len(self.tabular)

    def share_memory_(self) -> HybridDataset:
        """Move the preloaded pixels into shared memory (once), so that
        DataLoader workers started by spawn or forkserver (macOS, Windows,
        Linux from Python 3.14) get a handle to them, not each a copy: 200 MB
        of pixels took 2.9 s more to hand to two spawned workers as an array.
        Without preloaded pixels there is nothing to move. Returns ``self``."""
        if self.pixels is not None and not isinstance(self.pixels, torch.Tensor):
            self.pixels = torch.from_numpy(self.pixels).share_memory_()
        return self

    @property
    def batchable(self) -> bool:
        """Whether whole batches can be read at once (nothing to decode per item):
        :class:`HybridNet` then draws index batches and reads each batch with one
        array indexing, instead of one Python call per row."""
        return self.paths is None

    def __getitem__(self, i):
        """Item ``i``, or the stacked batch of items ``i`` when it is a list of
        indices (only where :attr:`batchable`)."""
        if isinstance(i, list | np.ndarray):
            return self._batch(np.asarray(i, dtype=np.int64))
        return self._item(i)

    def _batch(self, rows: np.ndarray):
        if not self.batchable:
            raise TypeError("Posters are decoded per item: index one row at a time.")
        return self._arrays(rows)

    def _item(self, i: int):
        x, y = self._arrays(i)
        if self.paths is not None:
            if self.slots is None:
                image = self.loader.load(self.paths[i])
            elif (slot := self.slots[i]) < 0:
                image = None
            else:
                image = self.loader.normalize(np.asarray(self.pixels[slot]))
            size = int(self.loader.image_size)
            if image is None:
                x["image"] = torch.zeros(3, size, size)
                x["has_image"] = torch.zeros(1)
            else:
                x["image"] = torch.from_numpy(image)
                x["has_image"] = torch.ones(1)
        return x, y

    def _arrays(self, index):
        """What the arrays hold for a row (an int) or a batch (an index array):
        the tabular values, the embedding with its flag, and the target."""
        x = {"tabular": torch.from_numpy(self.tabular[index])}
        if self.fold is not None:
            x["fold"] = torch.as_tensor(self.fold[index])
        if self.sample_weight is not None:
            x["sample_weight"] = torch.as_tensor(self.sample_weight[index])
        if self.embedding is not None:
            x["has_image"] = torch.from_numpy(self.has_image[index])
            x["embedding"] = torch.from_numpy(self.embedding[index])
        if self.y is None:
            return x, torch.zeros(*np.shape(index), 1)
        return x, torch.from_numpy(self.y[index])


def with_folds(dataset: HybridDataset, fold) -> HybridDataset:
    """A shallow copy of ``dataset`` (the same arrays) whose items carry ``fold``."""
    folded = copy.copy(dataset)
    folded.fold = _per_row(fold, len(dataset), np.int64, "fold")
    return folded
