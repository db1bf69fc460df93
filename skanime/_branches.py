"""Tabular branches of :class:`~skanime.HybridModule`, chosen by name.

A branch builder ``builder(n_in, *, hidden_units, n_layers, dropout, **options)``
returns an ``nn.Module`` mapping the ``(batch, n_in)`` float block to ``(batch,
out_features)``, with an ``out_features`` attribute. Built-ins register in
:data:`TABULAR_BRANCHES`; other packages add theirs through the entry-point group
``skanime.tabular_branches``, as for backbones and heads (see
``docs/backbone_plugins.md``).

* ``"mlp"``: the paper's dense ReLU layers with dropout.
* ``"tabm"``: TabM-mini (Gorishniy et al., "TabM: Advancing Tabular Deep Learning
  with Parameter-Efficient Ensembling", ICLR 2025): ``k`` members share one MLP;
  each member sees the input scaled by its own random-sign-initialised vector, and
  the members' outputs are averaged. Numbers first go through periodic embeddings
  (PLR-lite: sin/cos of learned frequencies, a shared linear layer, ReLU), which
  lets an MLP model the sharp, non-smooth dependencies that trees find easily.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ._layers import FastDropout, PartlySparseLinear
from ._registry import Registry, UnknownNameError

__all__ = [
    "TABULAR_BRANCHES",
    "MLPBranch",
    "TabMBranch",
    "UnknownTabularBranchError",
    "get_tabular_branch",
    "list_tabular_branches",
    "make_tabular_branch",
    "register_tabular_branch",
]


class UnknownTabularBranchError(UnknownNameError):
    """No tabular branch is registered under that name."""


#: The registry of tabular branches (entry-point group ``skanime.tabular_branches``).
TABULAR_BRANCHES: Registry[nn.Module] = Registry(
    "tabular branch", "skanime.tabular_branches", UnknownTabularBranchError
)


def register_tabular_branch(
    name: str,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a branch builder ``builder(n_in, *, hidden_units, n_layers,
    dropout, **options)`` under ``name`` (a decorator; a class works too).

    Examples
    --------
    >>> from torch import nn
    >>> from skanime.tabular_branches import list_tabular_branches
    >>> list_tabular_branches()
    ['mlp', 'tabm']
    """
    return TABULAR_BRANCHES.register(name)


def list_tabular_branches(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered tabular branches (glob ``pattern``).

    Examples
    --------
    >>> from skanime.tabular_branches import list_tabular_branches
    >>> {"mlp", "tabm"} <= set(list_tabular_branches())  # and any a plugin adds
    True
    """
    return TABULAR_BRANCHES.list(pattern)


def get_tabular_branch(
    name: str,
    n_in: int,
    *,
    hidden_units: int = 256,
    n_layers: int = 2,
    dropout: float = 0.4,
    **options,
) -> nn.Module:
    """Build the tabular branch ``name`` for an ``n_in``-wide input.

    Raises
    ------
    UnknownTabularBranchError
        Naming the registered branches (and the closest name).

    Examples
    --------
    >>> import torch
    >>> from skanime.tabular_branches import get_tabular_branch
    >>> branch = get_tabular_branch("tabm", 10, hidden_units=32, k=4)
    >>> branch(torch.zeros(5, 10)).shape, branch.out_features
    (torch.Size([5, 32]), 32)
    """
    return TABULAR_BRANCHES.get(
        name,
        n_in=n_in,
        hidden_units=hidden_units,
        n_layers=n_layers,
        dropout=dropout,
        **options,
    )


@register_tabular_branch("mlp")
class MLPBranch(nn.Sequential):
    """The paper's tabular MLP: ``n_layers`` x (Linear, ReLU, Dropout).

    ``n_dense``: where the input's columns from ``n_dense`` on are mostly-zero
    indicators (as after :class:`ContinuousEmbedding`), the first layer is a
    :class:`~skanime._layers.PartlySparseLinear` that multiplies only their
    non-zero entries; the outputs of ``nn.Linear`` from the same initial
    weights, faster.

    Examples
    --------
    >>> import torch
    >>> from skanime.tabular_branches import MLPBranch
    >>> branch = MLPBranch(10, hidden_units=32, n_layers=2, dropout=0.4)
    >>> branch(torch.zeros(5, 10)).shape, branch.out_features
    (torch.Size([5, 32]), 32)
    """

    def __init__(
        self,
        n_in: int,
        *,
        hidden_units: int = 256,
        n_layers: int = 2,
        dropout: float = 0.4,
        n_dense: int | None = None,
    ) -> None:
        layers: list[nn.Module] = []
        width = n_in
        for i in range(n_layers):
            linear = (
                nn.Linear(width, hidden_units)
                if i or n_dense is None
                else PartlySparseLinear(width, hidden_units, n_dense=n_dense)
            )
            layers += [linear, nn.ReLU(), FastDropout(dropout)]
            width = hidden_units
        super().__init__(*layers)
        self.out_features = width


class PeriodicEmbeddings(nn.Module):
    """Each feature ``x_j`` to ``ReLU(W_j v_j + b_j)``, where ``v_j`` is
    ``[sin(2 pi c_j x_j), cos(2 pi c_j x_j)]``.

    ``c_j`` holds ``n_frequencies`` learned frequencies per feature, initialised
    from N(0, sigma); ``W_j, b_j`` is a linear layer of feature ``j``'s own (the
    PLR embeddings of Gorishniy et al. 2022), or, with ``lite=True``, one linear
    layer shared by all features (their "lite" variant). In seed-1 CV on
    MyAnimeList (docs/benchmarks_history.md), sigma 0.3 was 0.0026 MAE better than 0.1
    (0.5 and 1.0 were worse), and with sigma 0.3 the lite variant was about
    0.004 worse.

    Examples
    --------
    >>> import torch
    >>> from skanime._branches import PeriodicEmbeddings
    >>> embed = PeriodicEmbeddings(3, n_frequencies=4, d_embedding=2)
    >>> embed(torch.randn(5, 3)).shape, tuple(embed.weight.shape)
    (torch.Size([5, 6]), (3, 8, 2))
    """

    def __init__(
        self,
        n_features: int,
        *,
        n_frequencies: int = 16,
        d_embedding: int = 8,
        sigma: float = 0.3,
        lite: bool = False,
    ) -> None:
        super().__init__()
        self.lite = lite
        self.frequencies = nn.Parameter(torch.randn(n_features, n_frequencies) * sigma)
        n_in = 2 * n_frequencies
        if lite:
            self.linear = nn.Linear(n_in, d_embedding)
        else:
            # nn.Linear's initialisation, one layer per feature
            bound = 1 / math.sqrt(n_in)
            self.weight = nn.Parameter(
                torch.empty(n_features, n_in, d_embedding).uniform_(-bound, bound)
            )
            self.bias = nn.Parameter(
                torch.empty(n_features, d_embedding).uniform_(-bound, bound)
            )
        self.out_features = n_features * d_embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * self.frequencies * x.unsqueeze(-1)  # (b, n, f)
        periodic = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
        if self.lite:
            return torch.relu(self.linear(periodic)).flatten(1)
        # (n, b, 2f) @ (n, 2f, d): one batched product over the features
        out = torch.baddbmm(
            self.bias.unsqueeze(1), periodic.transpose(0, 1), self.weight
        )
        return torch.relu(out).transpose(0, 1).flatten(1)


class ContinuousEmbedding(nn.Module):
    """Periodic embeddings of the continuous columns of the tabular block, the
    other (0/1) columns passed on as they are.

    The continuous columns (numbers, priors, title components) go through
    :class:`PeriodicEmbeddings`, which lets the branch after it model the sharp,
    non-smooth dependencies that trees find by splitting; the one-hot and
    multi-hot columns, most of the block, gain nothing from it and stay as they
    are, so the layer after stays narrow.

    Parameters
    ----------
    n_in : int
        Width of the tabular block.
    continuous : sequence of int
        Indices of its continuous columns.
    d_embedding, n_frequencies, sigma, lite
        As in :class:`PeriodicEmbeddings`.

    Examples
    --------
    >>> import torch
    >>> from skanime._branches import ContinuousEmbedding
    >>> embed = ContinuousEmbedding(5, [0, 3], d_embedding=4)
    >>> embed.out_features, embed(torch.randn(2, 5)).shape
    (11, torch.Size([2, 11]))
    """

    def __init__(
        self,
        n_in: int,
        continuous,
        *,
        d_embedding: int = 8,
        n_frequencies: int = 16,
        sigma: float = 0.3,
        lite: bool = False,
    ) -> None:
        super().__init__()
        chosen = torch.zeros(n_in, dtype=torch.bool)
        chosen[torch.as_tensor(list(continuous), dtype=torch.long)] = True
        self.register_buffer("continuous", torch.nonzero(chosen).reshape(-1))
        self.register_buffer("others", torch.nonzero(~chosen).reshape(-1))
        self.periodic = PeriodicEmbeddings(
            len(self.continuous),
            n_frequencies=n_frequencies,
            d_embedding=d_embedding,
            sigma=sigma,
            lite=lite,
        )
        self.out_features = self.periodic.out_features + len(self.others)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # index_select: several times faster than x[:, index] on the CPU
        embedded = self.periodic(x.index_select(1, self.continuous))
        return torch.cat([embedded, x.index_select(1, self.others)], dim=1)


def continuous_columns(tabular) -> list[int]:
    """Indices of the columns of a 2-D array with more than two distinct values
    (numbers, priors, components), as opposed to 0/1 indicator columns.

    >>> import numpy as np
    >>> continuous_columns(np.array([[0, 1.5, 1], [1, 2.5, 0], [0, 0.1, 1]]))
    [1]
    """
    import numpy as np

    values = np.sort(np.asarray(tabular), axis=0)
    changes = (values[1:] != values[:-1]).sum(axis=0)
    return [int(j) for j in np.flatnonzero(changes >= 2)]


@register_tabular_branch("tabm")
class TabMBranch(nn.Module):
    """TabM-mini: ``k`` members sharing one MLP, with periodic number embeddings.

    Parameters
    ----------
    n_in : int
        Width of the tabular input.
    hidden_units : int, default=256
        Width of the shared MLP's layers.
    n_layers : int, default=2
        Number of shared layers.
    dropout : float, default=0.1
        Dropout after each layer.
    k : int, default=16
        Number of ensemble members (each row runs ``k`` times through the MLP).
    d_embedding : int, default=0
        Width of each feature's periodic embedding; 0 feeds the numbers as they are.
    n_frequencies : int, default=16
        Frequencies per feature of the periodic embeddings.
    sigma : float, default=0.1
        Scale of the frequencies' initialisation.

    Its periodic embeddings are the "lite" PLR variant (one linear layer shared
    by the features; :class:`PeriodicEmbeddings`).

    Examples
    --------
    >>> import torch
    >>> from skanime.tabular_branches import TabMBranch
    >>> branch = TabMBranch(10, hidden_units=32, k=4)  # 4 members, one MLP
    >>> branch(torch.zeros(5, 10)).shape  # the members' outputs, averaged
    torch.Size([5, 32])
    """

    def __init__(
        self,
        n_in: int,
        *,
        hidden_units: int = 256,
        n_layers: int = 2,
        dropout: float = 0.1,
        k: int = 16,
        d_embedding: int = 0,
        n_frequencies: int = 16,
        sigma: float = 0.1,
    ) -> None:
        super().__init__()
        self.k = k
        self.embeddings = (
            PeriodicEmbeddings(
                n_in,
                n_frequencies=n_frequencies,
                d_embedding=d_embedding,
                sigma=sigma,
                lite=True,
            )
            if d_embedding > 0
            else None
        )
        width = n_in if self.embeddings is None else self.embeddings.out_features
        # TabM-mini's only member-specific weights: an input scaling per member,
        # initialised to random signs so that members start apart
        self.adapters = nn.Parameter(torch.randint(0, 2, (k, width)).float() * 2 - 1)
        self.mlp = MLPBranch(
            width, hidden_units=hidden_units, n_layers=n_layers, dropout=dropout
        )
        self.out_features = self.mlp.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.embeddings is not None:
            x = self.embeddings(x)
        members = x.unsqueeze(1) * self.adapters  # (batch, k, width)
        hidden = self.mlp(members.flatten(0, 1))
        return hidden.view(len(x), self.k, -1).mean(dim=1)


#: Kept for code that calls it by this name: :func:`get_tabular_branch`.
make_tabular_branch = get_tabular_branch
