"""The backbone registry: names to builders of image feature extractors.

Built-in backbones register with :func:`register_backbone`; other packages add theirs
through the entry-point group ``skanime.backbones`` (each entry point names a module
or a callable; loading it registers the backbones). Entry points are read lazily, on
the first lookup, and a plugin that fails to load is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from torch import nn

from .._registry import PluginWarning, Registry, UnknownNameError
from .._utils import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "Backbone",
    "backbone_blocks",
    "child_blocks",
    "register_backbone",
    "list_backbones",
    "get_backbone",
    "is_pretrained",
    "accepts_input_size",
    "restoring_weights",
    "weights_follow",
    "UnknownBackboneError",
    "PluginWarning",
    "BACKBONES",
]

ENTRY_POINT_GROUP = "skanime.backbones"

_RESTORING: ContextVar[bool] = ContextVar("skanime_restoring_weights", default=False)


@contextmanager
def restoring_weights() -> Iterator[None]:
    """Build backbones whose weights a saved model will load next: a pretrained
    built-in then skips reading its own weights, and needs no package holding
    them (a saved model loads with skanime alone).

    Examples
    --------
    >>> from skanime.backbones import restoring_weights, weights_follow
    >>> with restoring_weights():
    ...     weights_follow()
    True
    >>> weights_follow()
    False
    """
    token = _RESTORING.set(True)
    try:
        yield
    finally:
        _RESTORING.reset(token)


def weights_follow() -> bool:
    """Whether a backbone built now gets a saved model's weights next (inside
    :func:`restoring_weights`): a builder of a pretrained backbone reads its
    own weights only where it returns False.

    Examples
    --------
    >>> from skanime.backbones import weights_follow
    >>> weights_follow()  # a backbone built here reads its pretrained weights
    False
    """
    return _RESTORING.get()


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

    Override :meth:`blocks` where the children in order are not the right
    stages to fine-tune (``freeze_backbone=N`` trains the last ``N``).

    Examples
    --------
    A backbone of your own declares its width; register its builder by name
    (:func:`register_backbone`, or an entry point, see
    ``docs/backbone_plugins.md``) to choose it with ``backbone=``:

    >>> import torch
    >>> from torch import nn
    >>> from skanime.backbones import Backbone
    >>> class TinyCNN(Backbone):
    ...     def __init__(self, input_size=32):
    ...         super().__init__()
    ...         self.out_features, self.input_size = 8, input_size
    ...         self.layers = nn.Sequential(
    ...             nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    ...     def forward(self, image):
    ...         return self.layers(image)
    >>> TinyCNN()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 8])
    """

    out_features: int
    input_size: int = 64
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    pretrained: bool = False

    def blocks(self) -> list[nn.Module]:
        """The backbone's stages in order, from the image to the features.

        ``HybridAnimeRegressor(freeze_backbone=N)`` trains the last ``N`` and
        keeps the others frozen, their batch norms in eval mode. Every parameter
        should belong to one block (a parameter in none stays frozen). By
        default, :func:`child_blocks`: the children that hold parameters.
        """
        return child_blocks(self)


def child_blocks(module: nn.Module) -> list[nn.Module]:
    """The children of ``module`` that hold parameters, in order; where only one
    child does (a wrapped network, an ``nn.Sequential`` of layers), those of
    that child, and so on down.

    Examples
    --------
    >>> from torch import nn
    >>> from skanime.backbones import child_blocks
    >>> layers = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3))
    >>> net = nn.Sequential(layers)
    >>> [type(block).__name__ for block in child_blocks(net)]
    ['Conv2d', 'Conv2d']
    """
    while True:
        holders = [
            child
            for child in module.children()
            if any(True for _ in child.parameters())
        ]
        if len(holders) != 1:
            return holders
        module = holders[0]


def backbone_blocks(backbone: nn.Module) -> list[nn.Module]:
    """The blocks of any backbone module: its ``blocks()`` where it has that
    method (every :class:`Backbone` does), else :func:`child_blocks`."""
    method = getattr(backbone, "blocks", None)
    if callable(method) and not isinstance(method, nn.Module):
        return list(method())
    return child_blocks(backbone)


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
    """Sorted names of the registered backbones, optionally filtered by a glob.

    Examples
    --------
    >>> from skanime.backbones import list_backbones
    >>> "simple_cnn" in list_backbones()
    True
    >>> all(name.startswith("efficientnet") for name in list_backbones("efficientnet*"))
    True
    """
    return BACKBONES.list(pattern)


def is_pretrained(name: str) -> bool:
    """Whether ``name`` was registered with ``pretrained=True``.

    Examples
    --------
    >>> from skanime.backbones import is_pretrained
    >>> is_pretrained("simple_cnn")  # trained from scratch
    False
    """
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
    TypeError
        If the builder returns something that is not an ``nn.Module`` with a
        positive integer ``out_features`` (the contract of a backbone).

    Examples
    --------
    >>> import torch
    >>> from skanime.backbones import get_backbone
    >>> backbone = get_backbone("simple_cnn", input_size=32)
    >>> backbone.out_features
    64
    >>> backbone(torch.zeros(2, 3, 32, 32)).shape  # one feature vector a poster
    torch.Size([2, 64])
    """
    backbone = BACKBONES.get(name, **config)
    width = getattr(backbone, "out_features", None)
    if not isinstance(backbone, nn.Module) or not (
        isinstance(width, int) and not isinstance(width, bool) and width > 0
    ):
        raise TypeError(
            f"The backbone builder registered as {name!r} returned "
            f"{type(backbone).__name__} (out_features={width!r}); a backbone is an "
            "nn.Module with a positive integer out_features, the width of the "
            "features its forward returns (docs/backbone_plugins.md)."
        )
    return backbone
