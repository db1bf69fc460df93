"""``HybridModule``: the torch network of the paper, an MLP and a CNN side by side."""

from __future__ import annotations

import torch
from torch import nn

from .backbones import get_backbone

__all__ = ["HybridModule"]


def _mlp(n_in: int, hidden_units: int, n_layers: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(n_layers):
        layers += [nn.Linear(n_in, hidden_units), nn.ReLU(), nn.Dropout(dropout)]
        n_in = hidden_units
    return nn.Sequential(*layers)


class HybridModule(nn.Module):
    """Tabular MLP and image backbone, concatenated into a dense head with one output.

    ``forward(tabular, image=None, has_image=None)`` returns scores of shape
    ``(batch, 1)``. The image features are multiplied by ``has_image`` (0 for a
    missing poster) and ``has_image`` itself joins the concatenation, so a missing
    poster is represented explicitly rather than by a fake image.

    Parameters
    ----------
    n_tabular : int
        Width of the tabular vector; :class:`HybridNet` sets it from the data.
    with_image : bool, default=True
        Whether there is a poster branch; :class:`HybridNet` sets it from the data.
    backbone : str or nn.Module, default="simple_cnn"
        A registered backbone name (see :func:`skanime.backbones.list_backbones`) or
        a module with an ``out_features`` attribute.
    hidden_units : int, default=64
        Width of the tabular MLP and of the image projection.
    n_layers : int, default=2
        Number of dense layers of the tabular MLP.
    head_units : int, default=32
        Width of the dense head after the concatenation.
    dropout : float, default=0.1
    freeze_backbone : bool, default=False
        Keep the backbone's weights fixed (no gradients).
    target_mean, target_std : float, default=0.0, 1.0
        The head predicts a standardised score which is mapped back with these;
        :class:`HybridNet` sets them from the training target, so losses and metrics
        stay in score units while training starts well conditioned.
    """

    def __init__(
        self,
        n_tabular: int,
        *,
        with_image: bool = True,
        backbone: str | nn.Module = "simple_cnn",
        hidden_units: int = 64,
        n_layers: int = 2,
        head_units: int = 32,
        dropout: float = 0.1,
        freeze_backbone: bool = False,
        target_mean: float = 0.0,
        target_std: float = 1.0,
    ) -> None:
        super().__init__()
        self.tabular = _mlp(n_tabular, hidden_units, n_layers, dropout)
        width = hidden_units if n_layers > 0 else n_tabular
        self.backbone: nn.Module | None = None
        if with_image:
            self.backbone = _build_backbone(backbone)
            if freeze_backbone:
                self.backbone.requires_grad_(False)
            self.image_projection = nn.Sequential(
                nn.Linear(self.backbone.out_features, hidden_units), nn.ReLU()
            )
            width += hidden_units + 1
        self.head = nn.Sequential(
            nn.Linear(width, head_units),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_units, 1),
        )
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))

    def forward(
        self,
        tabular: torch.Tensor,
        image: torch.Tensor | None = None,
        has_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        parts = [self.tabular(tabular)]
        if self.backbone is not None:
            if image is None:
                raise ValueError(
                    "This HybridModule has a poster branch but was given no image; "
                    "fit it without a poster column for a tabular-only model."
                )
            if has_image is None:
                has_image = torch.ones(len(image), 1, device=image.device)
            has_image = has_image.reshape(-1, 1).to(parts[0].dtype)
            # the backbone runs only on the rows that have a poster
            present = has_image[:, 0] > 0
            features = parts[0].new_zeros(
                len(image), self.image_projection[0].out_features
            )
            if present.any():
                encoded = self.image_projection(self.backbone(image[present]))
                features = features.index_put((present,), encoded)
            parts += [features, has_image]
        standardised = self.head(torch.cat(parts, dim=1))
        return standardised * self.target_std + self.target_mean


def _build_backbone(backbone: str | nn.Module) -> nn.Module:
    if isinstance(backbone, str):
        return get_backbone(backbone)
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
    return backbone
