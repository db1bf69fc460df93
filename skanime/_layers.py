"""Layers of the networks that are faster on the CPU than torch's own."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FastDropout", "PartlySparseLinear", "WordWeights"]


class FastDropout(nn.Dropout):
    """``nn.Dropout`` with its mask drawn from 16 random bits per entry.

    The same scaling and behaviour as ``nn.Dropout`` (it is one), with ``p``
    rounded to a multiple of 1/65536 (the mask keeps an entry whose 16 bits,
    read as a number, are at least ``p * 65536``). torch's CPU kernels draw a
    Bernoulli sample several times slower than a uniform one, and a uniform one
    several times slower than 16 bits of one 64-bit word: a ``(256, 512)``
    mask took 1.2 ms with ``bernoulli_``, 0.27 ms with ``rand_like`` and
    0.09 ms this way; the ensemble's dropout layers had taken an eighth of each
    training epoch. The bits come from torch's default generator, so
    ``torch.manual_seed`` makes them repeat.

    Examples
    --------
    >>> import torch
    >>> from skanime._layers import FastDropout
    >>> _ = torch.manual_seed(0)
    >>> layer = FastDropout(0.5)
    >>> out = layer(torch.ones(1000, 10))
    >>> sorted(out.unique().tolist()), round(float((out == 0).float().mean()), 1)
    ([0.0, 2.0], 0.5)
    >>> bool(layer.eval()(torch.ones(3)).eq(1).all())
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        threshold = round(self.p * 65536)
        if threshold == 65536:  # p == 1, or within 1/131072 of it
            return x * 0.0
        words = torch.empty((x.numel() + 3) // 4, dtype=torch.int64, device=x.device)
        # every bit random (random_() alone leaves the sign bit 0)
        words.random_(-(2**63), 2**63 - 1)
        bits = words.view(torch.int16)[: x.numel()].view(x.shape)
        keep = bits >= threshold - 32768
        return x * keep * (65536.0 / (65536 - threshold))


class PartlySparseLinear(nn.Module):
    """A linear layer whose input columns from ``n_dense`` on are data that is
    mostly zero (one-hot and multi-hot indicators), computed as a sum over their
    non-zero entries.

    It computes what ``nn.Linear(in_features, out_features)`` does, from the
    same initial weights (drawn by an ``nn.Linear``), held as two parameters: the
    first ``n_dense`` columns (a learned embedding) are multiplied as usual; the
    others go through ``F.embedding_bag`` over their non-zero entries, without a
    gradient for them (they are data). On the MyAnimeList table, 10 of 719
    indicator columns are non-zero in a row, and the layer ran several times
    faster than the dense product with its input gradient. The indicators'
    weights are stored one row per column, the layout ``embedding_bag`` reads:
    splitting one ``nn.Linear`` weight instead cost a transposed copy of that
    block and a concatenation of the two gradients in every step (4.4 against
    3.0 ms forward and backward, 205 rows, 392 dense and 659 indicator columns,
    one thread).

    Parameters
    ----------
    in_features, out_features, bias
        As for ``nn.Linear``.
    n_dense : int
        The number of leading dense columns; the others are taken as sparse.

    Attributes
    ----------
    dense_weight : Parameter of shape (out_features, n_dense)
        The dense columns' weights, as in ``nn.Linear``.
    sparse_weight : Parameter of shape (in_features - n_dense, out_features)
        The indicator columns' weights, one row per column.
    bias : Parameter of shape (out_features,) or None

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skanime._layers import PartlySparseLinear
    >>> _ = torch.manual_seed(0)
    >>> layer = PartlySparseLinear(6, 3, n_dense=2)
    >>> dense = nn.Linear(6, 3)
    >>> with torch.no_grad():
    ...     _ = dense.weight.copy_(layer.weight), dense.bias.copy_(layer.bias)
    >>> x = torch.tensor([[0.5, -1.0, 0, 1, 0, 0], [2.0, 0.0, 0, 0, 0, 0]])
    >>> torch.allclose(layer(x), dense(x))
    True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        n_dense: int,
    ) -> None:
        super().__init__()
        if not 0 <= n_dense <= in_features:
            raise ValueError(
                f"n_dense must be between 0 and in_features={in_features}; "
                f"got {n_dense}."
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.n_dense = int(n_dense)
        # nn.Linear's initialisation, drawn by one
        linear = nn.Linear(in_features, out_features, bias=bias)
        dense, sparse = linear.weight.detach().split(
            [self.n_dense, in_features - self.n_dense], dim=1
        )
        self.dense_weight = nn.Parameter(dense.clone())
        self.sparse_weight = nn.Parameter(sparse.t().contiguous())
        self.bias = linear.bias

    @property
    def weight(self) -> torch.Tensor:
        """The ``(out_features, in_features)`` weight of the ``nn.Linear`` this
        layer computes (a new tensor, joined from the two parameters)."""
        return torch.cat([self.dense_weight, self.sparse_weight.t()], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.n_dense
        out = F.linear(x[:, :k], self.dense_weight, self.bias)
        if k == self.in_features or not len(x):
            return out
        return out + sparse_product(x[:, k:], self.sparse_weight)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, n_dense={self.n_dense}"
        )


class WordWeights(nn.Module):
    """A learned weight per word column, summed over a row's words: a linear
    layer without bias over 0/1 word columns, computed from their non-zero
    entries.

    The "wide" part beside a network (Cheng et al. 2016, "Wide & Deep"): each
    word of a title (:class:`~skanime.TitleWords`) adds its own weight to the
    score. The weights start at zero, so the network starts as it would
    without them. Only the words of a batch's rows get a gradient.

    Parameters
    ----------
    n_words : int
        The number of word columns.

    Examples
    --------
    >>> import torch
    >>> from skanime._layers import WordWeights
    >>> words = WordWeights(4)
    >>> with torch.no_grad():
    ...     _ = words.weight.copy_(torch.tensor([[1.0], [2.0], [3.0], [4.0]]))
    >>> words(torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 0]])).tolist()
    [[4.0], [0.0]]
    """

    def __init__(self, n_words: int) -> None:
        super().__init__()
        if n_words < 1:
            raise ValueError(f"WordWeights needs n_words >= 1; got {n_words}.")
        self.n_words = int(n_words)
        self.weight = nn.Parameter(torch.zeros(self.n_words, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sparse_product(x, self.weight)

    def split(self, tabular: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(the other columns, the word columns)`` of a tabular block whose
        last ``n_words`` columns are the words."""
        k = tabular.shape[1] - self.n_words
        return tabular[:, :k], tabular[:, k:]

    def extra_repr(self) -> str:
        return f"n_words={self.n_words}"


def sparse_product(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x @ weight`` for mostly-zero ``x`` (no gradient for ``x``), computed
    as a sum over its non-zero entries (``F.embedding_bag``): ``(n, k)`` for
    ``weight`` of shape ``(w, k)``.

    The indicator columns of :class:`PartlySparseLinear` and the word columns
    of :class:`WordWeights` go through it; with the word weights of several
    members side by side in ``weight``, a batch's words are found once for all
    of them.
    """
    x = x.detach()
    rows, columns = x.nonzero(as_tuple=True)
    offsets = torch.searchsorted(rows, torch.arange(len(x), device=x.device))
    return F.embedding_bag(
        columns, weight, offsets, mode="sum", per_sample_weights=x[rows, columns]
    )
