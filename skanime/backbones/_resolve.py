"""From what a user passes as ``backbone`` to a fresh module."""

from __future__ import annotations

import copy

from torch import nn

from ._builtin import default_backbone
from ._registry import accepts_input_size, get_backbone

__all__ = ["backbone_name", "resolve_backbone"]


def backbone_name(backbone: str | nn.Module) -> str | nn.Module:
    """``"auto"`` resolved to :func:`default_backbone`; anything else as given.

    Examples
    --------
    >>> from skanime.backbones import backbone_name, default_backbone
    >>> backbone_name("simple_cnn")
    'simple_cnn'
    >>> backbone_name("auto") == default_backbone()
    True
    """
    return (
        default_backbone()
        if isinstance(backbone, str) and backbone == "auto"
        else backbone
    )


def resolve_backbone(
    backbone: str | nn.Module, *, input_size: int | None = None
) -> nn.Module:
    """A fresh backbone module from a name (``"auto"`` included) or a module.

    A name is built with ``input_size`` when given and its builder takes that
    keyword (every built-in does). A module is deep-copied, so fitting never
    changes the caller's object.

    Examples
    --------
    >>> from skanime.backbones import get_backbone, resolve_backbone
    >>> type(resolve_backbone("simple_cnn", input_size=32)).__name__
    'SimpleCNN'
    >>> mine = get_backbone("simple_cnn")
    >>> resolve_backbone(mine) is mine  # a copy: fitting leaves yours as it was
    False
    """
    if isinstance(backbone, str):
        name = backbone_name(backbone)
        if input_size is not None and accepts_input_size(name):
            return get_backbone(name, input_size=input_size)
        return get_backbone(name)
    if isinstance(backbone, type):
        raise TypeError(
            f"backbone={backbone.__name__} is a class; pass an instance "
            f"(backbone={backbone.__name__}()) or a registered name."
        )
    if not isinstance(backbone, nn.Module) or not hasattr(backbone, "out_features"):
        raise TypeError(
            f"Got backbone={backbone!r}; expected a registered name or an nn.Module "
            "with an `out_features` attribute (see skanime.backbones.Backbone)."
        )
    return copy.deepcopy(backbone)
