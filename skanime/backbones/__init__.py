"""Image backbones chosen by name, extensible through entry points."""

from . import _builtin  # noqa: F401 - registers the built-in backbones
from ._builtin import SimpleCNN, TorchvisionBackbone
from ._registry import (
    ENTRY_POINT_GROUP,
    Backbone,
    PluginWarning,
    UnknownBackboneError,
    get_backbone,
    list_backbones,
    register_backbone,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backbone",
    "PluginWarning",
    "SimpleCNN",
    "TorchvisionBackbone",
    "UnknownBackboneError",
    "get_backbone",
    "list_backbones",
    "register_backbone",
]
