"""``HybridModule``: the torch network of the paper, an MLP and a CNN side by side."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from torch import nn

from ._branches import get_tabular_branch
from .backbones import backbone_blocks, resolve_backbone
from .heads import get_head

__all__ = ["HybridModule"]


class HybridModule(nn.Module):
    """Tabular MLP and image backbone, concatenated into a dense head with one output.

    ``forward(tabular, image=None, has_image=None, embedding=None)`` returns scores
    of shape ``(batch, 1)``. The poster branch either runs ``backbone`` on ``image``
    (a trainable or frozen CNN, images decoded per batch) or, with
    ``embedding_dim > 0``, takes precomputed ``embedding`` features of a frozen
    backbone (see :class:`~skanime.PosterEmbedder`) and has no backbone of its own.
    The image features are zero where ``has_image`` is 0 (a missing poster) and
    ``has_image`` itself joins the concatenation, so a missing poster is represented
    explicitly rather than by a fake image.

    Parameters
    ----------
    n_tabular : int
        Width of the tabular vector; :class:`HybridNet` sets it from the data.
    with_image : bool, default=True
        Whether there is a poster branch; :class:`HybridNet` sets it from the data.
    backbone : str or nn.Module, default="simple_cnn"
        A registered backbone name (see :func:`skanime.backbones.list_backbones`),
        ``"auto"``, or a module with an ``out_features`` attribute (copied, so the
        caller's module is never trained in place). Unused when
        ``embedding_dim > 0``.
    image_size : int or None, default=None
        The side of the images: a backbone given by name is built for it (see
        :func:`skanime.backbones.resolve_backbone`).
    embedding_dim : int, default=0
        Width of precomputed poster embeddings; 0 runs ``backbone`` on images.
        :class:`HybridNet` sets it from the data.
    hidden_units : int, default=256
        Width of the tabular MLP.
    image_units : int, default=16
        Width of the projection of the image features.
    image_dropout : float or None, default=None
        Dropout on the image features before their projection. None is 0.8 on
        precomputed embeddings (``embedding_dim > 0``: 1280 redundant pretrained
        features that overfit a few hundred rows without it) and 0 for a backbone
        trained inside the network. These defaults were chosen by 5-fold CV on the
        poster rows of the MyAnimeList data with another seed than the benchmark's.
    n_layers : int, default=2
        Number of dense layers of the tabular MLP.
    head : str, default="mlp"
        The fusion head, by name (:func:`skanime.heads.list_heads`): "mlp" (one
        hidden layer, the paper's) or "linear".
    head_units : int, default=64
        Width of the head's hidden layer.
    dropout : float, default=0.4
        Dropout after each tabular layer and in the head. ``hidden_units``,
        ``head_units`` and ``dropout`` defaults were chosen by 5-fold CV on all
        rows of the MyAnimeList data (pre-release columns, table only) with folds
        other than the benchmark's: wider and more regularised than the paper's
        sizes, MAE 0.427 against 0.443 for 64 units, head 32, dropout 0.1.
    tabular_branch : str, default="mlp"
        The tabular branch, by name (:func:`skanime.tabular_branches.
        list_tabular_branches`, plugins included): ``"mlp"`` (the paper's dense
        layers; the default, best on MyAnimeList with title and franchise
        features, seed-1 folds, ``docs/benchmarks.md``) or ``"tabm"`` (TabM-mini
        ensembling of one MLP, optionally with periodic number embeddings).
    tabular_options : dict or None, default=None
        Extra keyword arguments of the branch (``{"k": 16, "d_embedding": 8}``).
    freeze_backbone : bool or int, default=False
        Keep the backbone's weights fixed (no gradients), or, an int ``N >= 1``,
        train only its last ``N`` blocks (:meth:`Backbone.blocks
        <skanime.backbones.Backbone.blocks>`) and keep the earlier ones fixed,
        their batch norms in eval mode.
    freeze_batch_norm : bool, default=False
        Keep every batch norm of a trained backbone in eval mode: its running
        statistics stay as they are (the pretrained ones) while its affine
        weights and the convolutions train. For a pretrained backbone fine-tuned
        on a few hundred posters in a few batches per epoch (EfficientNet-Lite's
        batch norms update their statistics with momentum 0.01), training on
        batch statistics and predicting with barely moved running ones does not
        match; this keeps the two the same.
    poster_head : bool, default=False
        Add a linear head on the projected image features that predicts the
        score from the poster alone. In training mode ``forward`` then returns
        ``(score, poster_score, has_image)`` for :class:`HybridNet`'s auxiliary
        loss (``poster_aux_weight``); in eval mode (``predict``) the score only.
        No effect without a poster branch.
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
        image_size: int | None = None,
        embedding_dim: int = 0,
        hidden_units: int = 256,
        image_units: int = 16,
        image_dropout: float | None = None,
        n_layers: int = 2,
        head: str = "mlp",
        head_units: int = 64,
        dropout: float = 0.4,
        tabular_branch: str = "mlp",
        tabular_options: dict | None = None,
        freeze_backbone: bool | int = False,
        freeze_batch_norm: bool = False,
        poster_head: bool = False,
        target_mean: float = 0.0,
        target_std: float = 1.0,
    ) -> None:
        super().__init__()
        if n_tabular == 0 and not with_image:
            raise ValueError("HybridModule needs tabular inputs, a poster, or both.")
        # no tabular columns (a poster-only model): no tabular branch
        self.tabular = (
            get_tabular_branch(
                tabular_branch,
                n_tabular,
                hidden_units=hidden_units,
                n_layers=n_layers,
                dropout=dropout,
                **(tabular_options or {}),
            )
            if n_tabular
            else None
        )
        width = self.tabular.out_features if n_tabular else 0
        self.backbone: nn.Module | None = None
        self.with_image = with_image
        if with_image:
            if embedding_dim > 0:
                n_image = embedding_dim
            else:
                self.backbone = resolve_backbone(backbone, input_size=image_size)
                self.backbone.to(memory_format=torch.channels_last)
                _freeze(self.backbone, freeze_backbone)
                n_image = self.backbone.out_features
            if image_dropout is None:
                image_dropout = 0.8 if embedding_dim > 0 else 0.0
            self.image_projection = nn.Sequential(
                nn.Dropout(image_dropout), nn.Linear(n_image, image_units), nn.ReLU()
            )
            width += image_units + 1
        self.poster_head = (
            nn.Linear(image_units, 1) if with_image and poster_head else None
        )
        self.freeze_backbone = freeze_backbone
        self.freeze_batch_norm = freeze_batch_norm
        self.head = get_head(head, width, units=head_units, dropout=dropout)
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))

    def forward(
        self,
        tabular: torch.Tensor,
        image: torch.Tensor | None = None,
        has_image: torch.Tensor | None = None,
        embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        parts = [] if self.tabular is None else [self.tabular(tabular)]
        if self.with_image:
            given = image if self.backbone is not None else embedding
            if given is None:
                raise ValueError(
                    "This HybridModule has a poster branch but was given no "
                    f"{'image' if self.backbone is not None else 'embedding'}; fit "
                    "it without a poster column for a tabular-only model."
                )
            if has_image is None:
                has_image = torch.ones(len(given), 1, device=given.device)
            has_image = has_image.reshape(-1, 1).to(self.target_mean.dtype)
            # the backbone runs only on the rows that have a poster
            present = has_image[:, 0] > 0
            features = has_image.new_zeros(
                len(given), self.image_projection[1].out_features
            )
            if present.any():
                encoded = self.image_projection(self._image_features(given[present]))
                features = features.index_put((present,), encoded)
            parts += [features, has_image]
        standardised = self.head(torch.cat(parts, dim=1))
        score = standardised * self.target_std + self.target_mean
        if self.training and self.poster_head is not None:
            poster_score = self.poster_head(features) * self.target_std
            return score, poster_score + self.target_mean, has_image
        return score

    def _image_features(self, given: torch.Tensor) -> torch.Tensor:
        if self.backbone is None:
            return given.to(self.target_mean.dtype)
        image = given.contiguous(memory_format=torch.channels_last)
        return self.backbone(image)

    def train(self, mode: bool = True) -> HybridModule:
        """Training mode, except for the frozen part of the backbone (its batch
        norms keep their running statistics, as a fixed feature extractor
        should), and every batch norm of the backbone with
        ``freeze_batch_norm``."""
        super().train(mode)
        if self.backbone is not None:
            trained = _trained_blocks(self.backbone, self.freeze_backbone)
            if trained is not None:
                self.backbone.eval()
                for block in trained:
                    block.train(mode)
            if self.freeze_batch_norm:
                for layer in self.backbone.modules():
                    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                        layer.eval()
        return self


def _trained_blocks(backbone: nn.Module, freeze: bool | int) -> list[nn.Module] | None:
    """The blocks of ``backbone`` that ``freeze`` (``freeze_backbone``) trains:
    None for all of the backbone (False), none (True), or the last ``freeze``
    blocks, everything else being fixed; a clear ``ValueError`` for any other
    value."""
    if isinstance(freeze, bool | np.bool_):
        return [] if freeze else None
    blocks = backbone_blocks(backbone)
    if not isinstance(freeze, Integral) or not 1 <= freeze <= len(blocks):
        raise ValueError(
            f"Got freeze_backbone={freeze!r}; expected True, False or the number "
            f"of last blocks to train, from 1 to {len(blocks)} for this backbone "
            f"({type(backbone).__name__})."
        )
    return blocks[len(blocks) - int(freeze) :]


def _freeze(backbone: nn.Module, freeze: bool | int) -> None:
    """Turn off the gradients of what ``freeze`` keeps fixed (see
    :func:`_trained_blocks`)."""
    trained = _trained_blocks(backbone, freeze)
    if trained is not None:
        backbone.requires_grad_(False)
        for block in trained:
            block.requires_grad_(True)
