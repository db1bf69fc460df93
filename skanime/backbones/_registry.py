"""The backbone registry: names to builders of image feature extractors.

Built-in backbones register with :func:`register_backbone`; other packages add theirs
through the entry-point group ``skanime.backbones`` (each entry point names a module
or a callable; loading it registers the backbones). Entry points are read lazily, on
the first lookup, and a plugin that fails to load is skipped with a warning.
"""

from __future__ import annotations

import fnmatch
import inspect
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points

from torch import nn

from ..exceptions import SkanimeError, SkanimeWarning

__all__ = [
    "Backbone",
    "register_backbone",
    "list_backbones",
    "get_backbone",
    "is_pretrained",
    "UnknownBackboneError",
    "PluginWarning",
]

ENTRY_POINT_GROUP = "skanime.backbones"

_BUILDERS: dict[str, Callable[..., Backbone]] = {}
_PRETRAINED: set[str] = set()
_PLUGINS: dict[str, str] = {}  # entry-point name -> "loaded" or the error
_plugins_loaded = False


class UnknownBackboneError(SkanimeError, KeyError):
    """No backbone is registered under that name."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class PluginWarning(SkanimeWarning):
    """A backbone plugin could not be loaded and was skipped."""


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
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    pretrained: bool = False


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

    def decorator(builder: Callable[..., Backbone]) -> Callable[..., Backbone]:
        if name in _BUILDERS:
            raise ValueError(
                f"A backbone named {name!r} is already registered "
                f"(by {_BUILDERS[name].__module__}.{_BUILDERS[name].__qualname__})."
            )
        _BUILDERS[name] = builder
        if pretrained:
            _PRETRAINED.add(name)
        return builder

    return decorator


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
            if callable(loaded) and not isinstance(loaded, type):
                loaded()
            _PLUGINS[entry_point.name] = "loaded"
        except Exception as exc:  # a broken plugin must not break the host
            _PLUGINS[entry_point.name] = f"failed: {exc!r}"
            warnings.warn(
                f"skanime backbone plugin {entry_point.name!r} "
                f"({entry_point.value}) could not be loaded and is skipped: {exc!r}",
                PluginWarning,
                stacklevel=3,
            )


def list_backbones(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered backbones, optionally filtered by a glob."""
    _load_plugins()
    names = sorted(_BUILDERS)
    if pattern is not None:
        names = fnmatch.filter(names, pattern)
    return names


def is_pretrained(name: str) -> bool:
    """Whether ``name`` was registered with ``pretrained=True``."""
    _load_plugins()
    return name in _PRETRAINED


def accepts_input_size(name: str) -> bool:
    """Whether the builder of ``name`` takes an ``input_size`` keyword."""
    _load_plugins()
    builder = _BUILDERS.get(name)
    if builder is None:
        return False
    try:
        parameters = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == "input_size" or p.kind is inspect.Parameter.VAR_KEYWORD
        for p in parameters
    )


def get_backbone(name: str, **config) -> Backbone:
    """Build the backbone registered under ``name`` with keyword ``config``.

    Raises
    ------
    UnknownBackboneError
        Naming the available backbones and the plugins found.
    """
    _load_plugins()
    try:
        builder = _BUILDERS[name]
    except KeyError:
        plugins = ", ".join(f"{k} ({v})" for k, v in sorted(_PLUGINS.items())) or "none"
        close = fnmatch.filter(sorted(_BUILDERS), f"*{name}*") if name else []
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownBackboneError(
            f"Unknown backbone {name!r}.{hint} Available: "
            f"{', '.join(sorted(_BUILDERS))}. Plugins found: {plugins}."
        ) from None
    return builder(**config)
