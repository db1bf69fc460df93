"""Image backbones chosen by name, extensible through entry points."""

from . import _builtin  # noqa: F401 - registers the built-in backbones
from ._builtin import (
    EfficientNetLite,
    EfficientNetLite0,
    FlipAverage,
    SimpleCNN,
    TorchvisionBackbone,
    default_backbone,
    lite_available,
    pretrained_available,
)
from ._registry import (
    ENTRY_POINT_GROUP,
    Backbone,
    PluginWarning,
    UnknownBackboneError,
    accepts_input_size,
    backbone_blocks,
    child_blocks,
    get_backbone,
    is_pretrained,
    list_backbones,
    register_backbone,
    restoring_weights,
    weights_follow,
)
from ._resolve import backbone_name, resolve_backbone

__all__ = [
    "accepts_input_size",
    "backbone_blocks",
    "backbone_name",
    "child_blocks",
    "ENTRY_POINT_GROUP",
    "Backbone",
    "EfficientNetLite",
    "EfficientNetLite0",
    "FlipAverage",
    "PluginWarning",
    "SimpleCNN",
    "TorchvisionBackbone",
    "UnknownBackboneError",
    "default_backbone",
    "get_backbone",
    "is_pretrained",
    "list_backbones",
    "lite_available",
    "pretrained_available",
    "register_backbone",
    "resolve_backbone",
    "restoring_weights",
    "weights_follow",
]
