"""Fusion heads chosen by name: from the concatenated branches to one score.

A head builder takes the width of the concatenation and returns an ``nn.Module``
mapping ``(b, n_inputs)`` to ``(b, 1)`` (a standardised score, which
:class:`~skanime.HybridModule` rescales). Other packages add heads through the
entry-point group ``skanime.heads``, as for backbones (see
``docs/backbone_plugins.md``).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ._layers import FastDropout
from ._registry import Registry, UnknownNameError

__all__ = ["HEADS", "UnknownHeadError", "get_head", "list_heads", "register_head"]


class UnknownHeadError(UnknownNameError):
    """No head is registered under that name."""


#: The registry of fusion heads (entry-point group ``skanime.heads``).
HEADS: Registry[nn.Module] = Registry("head", "skanime.heads", UnknownHeadError)


def register_head(name: str) -> Callable[[Callable[..., nn.Module]], Callable]:
    """Register a head builder ``builder(n_inputs, *, units, dropout)``."""
    return HEADS.register(name)


def list_heads(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered heads, optionally filtered by a glob.

    Examples
    --------
    >>> from skanime.heads import list_heads
    >>> {"linear", "mlp"} <= set(list_heads())  # and any a plugin adds
    True
    """
    return HEADS.list(pattern)


def get_head(name: str, n_inputs: int, *, units: int, dropout: float) -> nn.Module:
    """Build the head ``name`` for a concatenation ``n_inputs`` wide.

    Examples
    --------
    >>> import torch
    >>> from skanime.heads import get_head
    >>> head = get_head("mlp", 40, units=16, dropout=0.1)
    >>> head(torch.zeros(3, 40)).shape  # one score a row
    torch.Size([3, 1])
    """
    return HEADS.get(name, n_inputs=n_inputs, units=units, dropout=dropout)


@register_head("mlp")
def mlp_head(n_inputs: int, *, units: int, dropout: float) -> nn.Module:
    """The paper's dense head: one hidden ReLU layer with dropout (the default)."""
    return nn.Sequential(
        nn.Linear(n_inputs, units), nn.ReLU(), FastDropout(dropout), nn.Linear(units, 1)
    )


@register_head("linear")
def linear_head(n_inputs: int, *, units: int, dropout: float) -> nn.Module:
    """A single linear layer on the concatenation (``units`` is unused)."""
    return nn.Sequential(FastDropout(dropout), nn.Linear(n_inputs, 1))
