"""The torch ``Dataset`` that hands the network tabular rows and posters per item."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["HybridDataset"]


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
    """Rows of the encoded table plus their posters, decoded when an item is read.

    Items are ``(x, y)`` with ``x`` a dict that :class:`HybridModule` receives as
    keyword arguments: ``tabular`` (float32, ``(k,)``), and when there are posters,
    ``has_image`` (float32, ``(1,)``) and either ``image`` (float32, ``(3, s, s)``,
    zeros for a missing poster) or, for a frozen backbone, ``embedding`` (float32,
    ``(d,)``). Posters are decoded here, so DataLoader workers decode them in
    parallel and only one batch of images is in memory at a time.

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

    def __len__(self) -> int:
        return len(self.tabular)

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
            image = self.loader.load(self.paths[i])
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
