"""A skorch ``train_split`` that gives each ensemble member its own held-out fold."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from skorch.dataset import ValidSplit

from ._dataset import HybridDataset, with_folds

__all__ = ["MemberFolds"]

#: Folds dealt for a single member, which then holds out one of them (20%).
_SINGLE_MEMBER_FOLDS = 5


class MemberFolds:
    """Split for :class:`~skanime.HybridNet`: every ensemble member holds out a fold.

    The rows are dealt at random into ``n_members`` folds. Member ``j`` never
    trains on fold ``j``, and the validation score of a row is that of the member
    that did not train on it (out of fold). So every row trains all members but
    one, and early stopping watches every row, where a plain hold-out
    (skorch's ``ValidSplit``) keeps its rows from every member. The training and
    the validation datasets are the whole dataset, each row carrying its fold
    (see :class:`~skanime.HybridDataset`); :meth:`HybridNet.get_loss` leaves a
    member's held-out rows out of its loss.

    With a single member there is nothing to share out: it is skorch's
    ``ValidSplit(0.2)``, a plain 20% hold-out.

    Parameters
    ----------
    n_members : int
        The ensemble's members (``module__n_members``).
    random_state : int, RandomState instance or None, default=None
        How the rows are dealt.

    Examples
    --------
    >>> import numpy as np
    >>> from skanime import HybridDataset, MemberFolds
    >>> data = HybridDataset(np.zeros((10, 2)), y=np.arange(10.0))
    >>> train, valid = MemberFolds(5, random_state=0)(data)
    >>> len(train), len(valid), np.bincount(train.fold).tolist()
    (10, 10, [2, 2, 2, 2, 2])
    """

    def __init__(self, n_members, random_state=None):
        self.n_members = n_members
        self.random_state = random_state

    @property
    def n_folds(self) -> int:
        """``n_members``, or five for a single member."""
        return self.n_members if self.n_members > 1 else _SINGLE_MEMBER_FOLDS

    def folds(self, n_rows: int) -> np.ndarray:
        """Each row's fold, ``(n_rows,)``: as even as can be, in random order."""
        order = check_random_state(self.random_state).permutation(n_rows)
        fold = np.empty(n_rows, dtype=np.int64)
        fold[order] = np.arange(n_rows) % self.n_folds
        return fold

    def __call__(self, dataset, y=None, groups=None):
        """``(train, valid)`` datasets of ``dataset``, a :class:`HybridDataset`."""
        if not isinstance(self.n_members, Integral) or self.n_members < 1:
            raise ValueError(
                f"MemberFolds needs n_members >= 1, got {self.n_members!r}."
            )
        if not isinstance(dataset, HybridDataset):
            raise TypeError(
                "MemberFolds splits a HybridDataset, got "
                f"{type(dataset).__name__}; pass arrays or a dict to HybridNet."
            )
        if len(dataset) < self.n_folds:
            raise ValueError(
                f"MemberFolds deals the rows into {self.n_folds} folds and needs "
                f"at least as many rows, got {len(dataset)}."
            )
        if self.n_members == 1:
            split = ValidSplit(1 / _SINGLE_MEMBER_FOLDS, random_state=self.random_state)
            return split(dataset, y, groups=groups)
        folded = with_folds(dataset, self.folds(len(dataset)))
        return folded, folded

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.n_members!r}, "
            f"random_state={self.random_state!r})"
        )
