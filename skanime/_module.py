"""``HybridModule``: the torch network of the paper, an MLP and a CNN side by side."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from torch import nn

from ._branches import ContinuousEmbedding, get_tabular_branch
from ._layers import FastDropout, WordWeights, sparse_product
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
    hidden_units : int, default=512
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
    dropout : float, default=0.5
        Dropout after each tabular layer and in the head. ``hidden_units`` and
        ``dropout`` were chosen by 5-fold CV (seed-1 folds, not the benchmark's)
        of :class:`~skanime.HybridAnimeRegressor`'s default model on the
        MyAnimeList data: MAE 0.3590 against 0.3653 for the earlier 256 units and
        dropout 0.4 (chosen on the table alone, where they beat the paper-like 64
        units, head 32, dropout 0.1: 0.427 against 0.443); ``head_units`` on
        the table alone.
    tabular_branch : str, default="mlp"
        The tabular branch, by name (:func:`skanime.tabular_branches.
        list_tabular_branches`, plugins included): ``"mlp"`` (the paper's dense
        layers; the default, best on MyAnimeList with title and franchise
        features, seed-1 folds, ``docs/benchmarks_history.md``) or ``"tabm"`` (TabM-mini
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
        ``(score, members, poster_scores, has_image)`` for :class:`HybridNet`'s
        auxiliary loss (``poster_aux_weight``): one poster head per member,
        ``poster_scores`` of shape ``(batch, n_members)``; in eval mode
        (``predict``) the score only. No effect without a poster branch.
    n_members : int, default=1
        An ensemble of this many networks (tabular branch, image projection and
        head each; one shared backbone), initialised one after the other from
        torch's random state and trained together on the same batches, each on
        its own loss. The output is their mean; in training mode, with more than
        one member or a ``poster_head``, ``forward`` returns ``(mean, members,
        poster_scores, has_image)``: the members' scores of shape ``(batch,
        n_members)``, their poster heads' scores and the poster flags (empty
        tensors where there are none), for :meth:`HybridNet.get_loss`.
    numeric_embedding : int, default=0
        With ``continuous_columns``: the width of each continuous column's
        periodic embedding (:class:`~skanime._branches.ContinuousEmbedding`,
        PLR-lite) in front of every member's tabular branch; 0 feeds the columns
        as they are.
    continuous_columns : list of int or None, default=None
        The tabular block's continuous columns (more than two distinct values:
        numbers, priors, title components); :class:`HybridNet` sets them from the
        training data.
    n_words : int, default=0
        The last ``n_words`` tabular columns are 0/1 word columns (a title's
        words, :class:`~skanime.TitleWords`): each member adds a learned weight
        per word to its score (:class:`~skanime._layers.WordWeights`, a linear
        "wide" part), and its tabular branch reads the other columns.
        :class:`HybridNet` sets it from a ``"words"`` input.
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
        hidden_units: int = 512,
        image_units: int = 16,
        image_dropout: float | None = None,
        n_layers: int = 2,
        head: str = "mlp",
        head_units: int = 64,
        dropout: float = 0.5,
        tabular_branch: str = "mlp",
        tabular_options: dict | None = None,
        freeze_backbone: bool | int = False,
        freeze_batch_norm: bool = False,
        poster_head: bool = False,
        n_members: int = 1,
        numeric_embedding: int = 0,
        continuous_columns: list[int] | None = None,
        n_words: int = 0,
        target_mean: float = 0.0,
        target_std: float = 1.0,
    ) -> None:
        super().__init__()
        if n_tabular == 0 and not with_image:
            raise ValueError("HybridModule needs tabular inputs, a poster, or both.")
        if isinstance(n_members, bool) or not (
            isinstance(n_members, int) and n_members >= 1
        ):
            raise ValueError(f"n_members must be a positive int; got {n_members!r}.")
        self.backbone: nn.Module | None = None
        self.with_image = with_image
        n_image = 0
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
        # each member has its own word weights: shared ones would learn from
        # the rows a member validates on (MemberFolds)
        if n_words:
            if not 0 < n_words <= n_tabular or (
                n_words == n_tabular and not with_image
            ):
                raise ValueError(
                    f"n_words must be between 0 and n_tabular={n_tabular}, and "
                    f"leave a tabular column or a poster; got {n_words}."
                )
            if any(c >= n_tabular - n_words for c in continuous_columns or ()):
                raise ValueError("continuous_columns must not hold word columns.")
        # members draw their initial weights one after the other from torch's RNG
        self.members = nn.ModuleList(
            _Member(
                n_tabular,
                n_image,
                hidden_units=hidden_units,
                image_units=image_units,
                image_dropout=image_dropout or 0.0,
                n_layers=n_layers,
                head=head,
                head_units=head_units,
                dropout=dropout,
                tabular_branch=tabular_branch,
                tabular_options=tabular_options,
                poster_head=poster_head,
                numeric_embedding=numeric_embedding,
                continuous_columns=continuous_columns,
                n_words=n_words,
            )
            for _ in range(n_members)
        )
        self.freeze_backbone = freeze_backbone
        self.freeze_batch_norm = freeze_batch_norm
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))

    # the first member's parts, by their names before ensembling
    @property
    def tabular(self) -> nn.Module | None:
        """The first member's tabular branch (None without tabular inputs)."""
        return self.members[0].tabular

    @property
    def image_projection(self) -> nn.Module | None:
        """The first member's projection of the image features."""
        return self.members[0].image_projection

    @property
    def head(self) -> nn.Module:
        """The first member's fusion head."""
        return self.members[0].head

    @property
    def poster_head(self) -> nn.Module | None:
        """The first member's poster-only head (None without ``poster_head``)."""
        return self.members[0].poster_head

    def forward(
        self,
        tabular: torch.Tensor,
        image: torch.Tensor | None = None,
        has_image: torch.Tensor | None = None,
        embedding: torch.Tensor | None = None,
        fold: torch.Tensor | None = None,
    ) -> torch.Tensor:
        scores, poster, has_image = self._scores(
            tabular, image, has_image, embedding, fold=fold
        )
        mean = scores.mean(dim=1, keepdim=True)
        if self.training and (len(self.members) > 1 or poster is not None):
            # each member is trained on its own loss (see HybridNet.get_loss);
            # tensors only (empty where absent), as skorch moves them as a tuple
            empty = mean.new_zeros(0)
            return (
                mean,
                scores,
                empty if poster is None else poster,
                empty if has_image is None else has_image,
            )
        return mean

    def member_scores(self, **inputs: torch.Tensor | None) -> torch.Tensor:
        """Every member's score, ``(batch, n_members)``, in training or eval mode,
        from :meth:`forward`'s inputs (``forward`` in eval mode returns their
        mean)."""
        return self._scores(**inputs)[0]

    def held_out_scores(
        self, fold: torch.Tensor, **inputs: torch.Tensor | None
    ) -> torch.Tensor:
        """Each row's score by one member, ``(batch, 1)``: member ``j`` scores the
        rows whose ``fold`` is ``j`` (the fold it did not train on, with
        :class:`~skanime.MemberFolds`), and only those, so that scoring every row
        costs one member's forward pass rather than all of them."""
        features, present, has_image = self._image_inputs(**inputs)
        tabular, words = self._split_words(inputs["tabular"])
        fold = fold.reshape(-1).to(tabular.device)
        scores = tabular.new_zeros(len(tabular), 1, dtype=self.target_mean.dtype)
        every = _every_row(features, present)
        for j, member in enumerate(self.members):
            rows = torch.nonzero(fold == j).reshape(-1)
            if len(rows):
                scores += _on_rows(
                    member, rows, tabular, every, present, has_image, _column(words, j)
                )[0]
        return scores * self.target_std + self.target_mean

    def _split_words(self, tabular):
        """``(the tabular columns, every member's word sum (batch, n_members))``;
        ``(tabular, None)`` without word columns. The words of the batch are
        found once for all the members, and leave the columns each member
        gathers for its rows."""
        words = self.members[0].words
        if words is None:
            return tabular, None
        tabular, columns = words.split(tabular)
        weight = torch.cat([member.words.weight for member in self.members], dim=1)
        return tabular, sparse_product(columns, weight)

    def _image_inputs(self, tabular, image=None, has_image=None, embedding=None):
        """The image features of the rows with a poster (None where none has one
        or there is no poster branch), the boolean mask of those rows and the
        ``(batch, 1)`` poster flag (both None without a poster branch)."""
        if not self.with_image:
            return None, None, None
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
        # the backbone runs once, only on the rows that have a poster
        present = has_image[:, 0] > 0
        features = self._image_features(given[present]) if present.any() else None
        return features, present, has_image

    def _scores(self, tabular, image=None, has_image=None, embedding=None, fold=None):
        """The members' scores ``(batch, n_members)``, their poster-only scores
        (None without poster heads) and the ``(batch, 1)`` poster flag (None
        without a poster branch). With ``fold`` (the rows' folds of
        :class:`~skanime.MemberFolds`) in training mode, member ``j`` runs on
        the rows outside fold ``j`` only, the ones its loss counts, and scores
        the others 0."""
        features, present, has_image = self._image_inputs(
            tabular, image, has_image, embedding
        )
        tabular, words = self._split_words(tabular)
        if fold is None or not self.training or len(self.members) == 1:
            outputs = [
                member(tabular, features, present, has_image, _column(words, j))
                for j, member in enumerate(self.members)
            ]
        else:
            fold = fold.reshape(-1).to(tabular.device)
            every = _every_row(features, present)
            outputs = [
                _on_rows(
                    member,
                    torch.nonzero(fold != j).reshape(-1),
                    tabular,
                    every,
                    present,
                    has_image,
                    _column(words, j),
                )
                for j, member in enumerate(self.members)
            ]
        scale = self.target_std
        scores = torch.cat([o[0] for o in outputs], dim=1) * scale + self.target_mean
        poster = None
        if outputs[0][1] is not None:
            poster = torch.cat([o[1] for o in outputs], dim=1) * scale
            poster = poster + self.target_mean
        return scores, poster, has_image

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


def _every_row(features, present):
    """The image features of the rows with a poster, spread over every row of
    the batch (zero elsewhere); None without any."""
    if features is None:
        return None
    every = features.new_zeros(len(present), features.shape[1])
    every[present] = features
    return every


def _column(words, j):
    """Member ``j``'s word sums ``(batch, 1)`` of :meth:`HybridModule._split_words`
    (None without words)."""
    return None if words is None else words[:, j : j + 1]


def _on_rows(member, rows, tabular, every, present, has_image, words=None):
    """``member``'s outputs ``(score, poster)`` run on the batch rows ``rows``
    (indices) only, placed at those rows of zeros the batch's length (``poster``
    None without a poster head); ``every`` holds :func:`_every_row`'s image
    features, ``words`` the member's word sums of every row (or None)."""
    image = member_present = member_has_image = None
    if has_image is not None:
        member_present = present[rows]
        member_has_image = has_image[rows]
        if every is not None and member_present.any():
            image = every[rows][member_present]
    outputs = member(
        tabular[rows],
        image,
        member_present,
        member_has_image,
        None if words is None else words[rows],
    )
    return tuple(
        None
        if out is None
        else out.new_zeros(len(tabular), out.shape[1]).index_copy(0, rows, out)
        for out in outputs
    )


class _Member(nn.Module):
    """One member of the ensemble: tabular branch, image projection and head."""

    def __init__(
        self,
        n_tabular: int,
        n_image: int,
        *,
        hidden_units: int,
        image_units: int,
        image_dropout: float,
        n_layers: int,
        head: str,
        head_units: int,
        dropout: float,
        tabular_branch: str,
        tabular_options: dict | None,
        poster_head: bool = False,
        numeric_embedding: int = 0,
        continuous_columns: list[int] | None = None,
        n_words: int = 0,
    ) -> None:
        super().__init__()
        # the last n_words columns: words, whose weights join the score
        self.words = WordWeights(n_words) if n_words else None
        n_tabular -= n_words
        # the continuous columns embedded before the branch, when asked and found
        self.embed = None
        n_branch = n_tabular
        if n_tabular and numeric_embedding > 0 and continuous_columns:
            self.embed = ContinuousEmbedding(
                n_tabular, continuous_columns, d_embedding=numeric_embedding
            )
            n_branch = self.embed.out_features
        options = dict(tabular_options or {})
        if self.embed is not None and tabular_branch == "mlp":
            # the embedding's output leads, the (mostly zero) indicators follow
            options.setdefault("n_dense", self.embed.periodic.out_features)
        # no tabular columns (a poster-only model): no tabular branch
        self.tabular = (
            get_tabular_branch(
                tabular_branch,
                n_branch,
                hidden_units=hidden_units,
                n_layers=n_layers,
                dropout=dropout,
                **options,
            )
            if n_tabular
            else None
        )
        width = self.tabular.out_features if n_tabular else 0
        self.image_projection = None
        if n_image:
            self.image_projection = nn.Sequential(
                FastDropout(image_dropout), nn.Linear(n_image, image_units), nn.ReLU()
            )
            width += image_units + 1
        self.poster_head = (
            nn.Linear(image_units, 1) if n_image and poster_head else None
        )
        self.head = get_head(head, width, units=head_units, dropout=dropout)

    def forward(
        self,
        tabular: torch.Tensor,
        image: torch.Tensor | None,
        present: torch.Tensor | None,
        has_image: torch.Tensor | None,
        words: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The member's standardised score, ``(batch, 1)``, and its poster
        head's (None without one); ``image`` holds the backbone's features of
        the rows where ``present`` is True. With word columns, ``words`` is
        this member's sum of its rows' word weights, computed by
        :class:`HybridModule` for all members at once and left out of
        ``tabular``; None takes the word columns from the end of ``tabular``."""
        if self.words is not None and words is None:
            # called alone: the word columns are the last of ``tabular``
            tabular, columns = self.words.split(tabular)
            words = self.words(columns)
        if self.embed is not None:
            tabular = self.embed(tabular)
        parts = [] if self.tabular is None else [self.tabular(tabular)]
        poster = None
        if self.image_projection is not None:
            width = self.image_projection[1].out_features
            features = has_image.new_zeros(len(has_image), width)
            if image is not None:
                projected = self.image_projection(image)
                # under bfloat16 autocast the projection is bfloat16
                features = features.index_put((present,), projected.to(features.dtype))
            parts += [features, has_image]
            if self.poster_head is not None:
                poster = self.poster_head(features)
        score = self.head(torch.cat(parts, dim=1))
        if words is not None:
            score = score + words.to(score.dtype)
        return score, poster


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
