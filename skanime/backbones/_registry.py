"""The backbone registry: names to builders of image feature extractors.

Built-in backbones register with :func:`register_backbone`; other packages add theirs
through the entry-point group ``skanime.backbones`` (each entry point names a module
or a callable; loading it registers the backbones). Entry points are read lazily, on
the first lookup, and a plugin that fails to load is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .._registry import PluginWarning, Registry, UnknownNameError
from .._utils import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "Backbone",
    "register_backbone",
    "list_backbones",
    "get_backbone",
    "is_pretrained",
    "accepts_input_size",
    "UnknownBackboneError",
    "PluginWarning",
    "BACKBONES",
]

ENTRY_POINT_GROUP = "skanime.backbones"


class UnknownBackboneError(UnknownNameError):
    """No backbone is registered under that name."""


class Backbone(nn.Module):
    """Base class of image backbones: an ``nn.Module`` that declares its interface.

    ``forward`` maps a float32 batch ``(b, 3, input_size, input_size)``, normalised
    with ``mean`` and ``std``, to features ``(b, out_features)``.

    Attributes
    ----------
    out_features : int
        Width of the feature vector.
    input_size : int
        Side of the square images it expects.
    mean, std : tuple of float
        The per-channel normalisation its inputs must have (ImageNet's by default).
    pretrained : bool
        Whether it comes with trained weights; ``HybridAnimeRegressor`` freezes a
        pretrained backbone by default and trains any other one.
    """

    out_features: int
    input_size: int = 64
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    pretrained: bool = False


#: The registry behind the functions below.
BACKBONES: Registry[Backbone] = Registry(
    "backbone", ENTRY_POINT_GROUP, UnknownBackboneError
)


def register_backbone(
    name: str, *, pretrained: bool = False
) -> Callable[[Callable[..., Backbone]], Callable[..., Backbone]]:
    """Register a backbone builder under ``name`` (a decorator).

    Parameters
    ----------
    name : str
    pretrained : bool, default=False
        Whether the builder returns trained weights. ``HybridAnimeRegressor``
        freezes (and caches the embeddings of) pretrained backbones by default.

    Raises
    ------
    ValueError
        If ``name`` is already registered.
    """
    return BACKBONES.register(name, pretrained=pretrained)


def list_backbones(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered backbones, optionally filtered by a glob."""
    return BACKBONES.list(pattern)


def is_pretrained(name: str) -> bool:
    """Whether ``name`` was registered with ``pretrained=True``."""
    return BACKBONES.is_pretrained(name)


def accepts_input_size(name: str) -> bool:
    """Whether the builder of ``name`` takes an ``input_size`` keyword."""
    return BACKBONES.accepts(name, "input_size")


def get_backbone(name: str, **config) -> Backbone:
    """Build the backbone registered under ``name`` with keyword ``config``.

    Raises
    ------
    UnknownBackboneError
        Naming the available backbones and the plugins found.
    """
    return BACKBONES.get(name, **config)
