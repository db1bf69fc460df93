"""Built-in backbones: the paper's small CNN and torchvision architectures."""

from __future__ import annotations

import torch
from torch import nn

from ._registry import Backbone, register_backbone

__all__ = ["SimpleCNN", "TorchvisionBackbone"]


class SimpleCNN(Backbone):
    """The paper's from-scratch CNN: conv/ReLU/max-pool blocks, then global pooling.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64)
        Output channels of each convolution block.
    input_size : int, default=64
        The image side it is meant for (it accepts any size).
    """

    def __init__(
        self, *, channels: tuple[int, ...] = (16, 32, 64), input_size: int = 64
    ):
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for width in channels:
            layers += [
                nn.Conv2d(previous, width, kernel_size=3, padding=1),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            previous = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.out_features = previous
        self.input_size = input_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.features(image)


class TorchvisionBackbone(Backbone):
    """A torchvision classification network without its classifier.

    Parameters
    ----------
    network : nn.Module
        The torchvision model.
    out_features : int
        Width of the features before its classifier.
    input_size : int, default=224
    """

    def __init__(self, network: nn.Module, out_features: int, *, input_size: int = 224):
        super().__init__()
        self.network = network
        self.out_features = out_features
        self.input_size = input_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.network(image)


@register_backbone("simple_cnn")
def simple_cnn(
    *, channels: tuple[int, ...] = (16, 32, 64), input_size: int = 64
) -> Backbone:
    """The paper's small CNN, trained from scratch (the default)."""
    return SimpleCNN(channels=channels, input_size=input_size)


@register_backbone("resnet18")
def resnet18(*, input_size: int = 224) -> Backbone:
    """torchvision's ResNet-18 with random weights."""
    from torchvision.models import resnet18 as build

    network = build(weights=None)
    width = network.fc.in_features
    network.fc = nn.Identity()
    return TorchvisionBackbone(network, width, input_size=input_size)


@register_backbone("mobilenet_v3_small")
def mobilenet_v3_small(*, input_size: int = 224) -> Backbone:
    """torchvision's MobileNetV3-Small with random weights."""
    from torchvision.models import mobilenet_v3_small as build

    network = build(weights=None)
    width = network.classifier[0].in_features
    network.classifier = nn.Identity()
    return TorchvisionBackbone(network, width, input_size=input_size)
