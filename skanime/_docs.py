"""Parameter descriptions shared by several classes, written once.

A class docstring names an entry as ``%(poster_root)s`` and :func:`substitute`
fills it in (imbalanced-learn's ``Substitution`` idea), so the same parameter reads
the same everywhere. A literal percent sign in such a docstring is written ``%%``.
"""

from __future__ import annotations

__all__ = ["PARAMETER_DOCS", "substitute"]

#: Entries at the indentation of a class docstring's parameter list.
PARAMETER_DOCS = {
    "poster_root": """poster_root : str or path-like, default=None
        Folder that relative poster paths are resolved against; the current
        folder if None.""",
    "poster_errors": """poster_errors : {"warn", "raise"}, default="warn"
        What an unreadable poster path gets (no such file, a directory, an empty
        file, not an image): treated as a missing poster, with one
        :class:`~skanime.exceptions.DataWarning` that counts them, or a
        :class:`~skanime.exceptions.PosterError` naming the row and the path.""",
    "cache_dir": """cache_dir : str or path-like, default=None
        Folder for a disk cache of poster embeddings, keyed by file content and
        backbone, shared by processes and sessions; None keeps them in memory
        only. It can be changed on a fitted model with ``set_params``. An entry
        there is used only if it is a finite float32 vector of the backbone's
        width (anything else is recomputed and rewritten), and a folder that
        cannot be written is skipped; each with one
        :class:`~skanime.exceptions.CacheWarning` per call, results unchanged.""",
    "engine": """engine : {"auto", "torch", "onnx"}, default="auto"
        What runs a frozen backbone over the posters: "onnx" is ONNX Runtime
        (``skanime[onnx]``, about 3x faster on a CPU), "auto" takes it when it is
        installed and ``device`` is the CPU.""",
    "title_features": """title_features : bool, default=True
        Encode each text column (the title) as word 1-2-gram TF-IDF reduced to
        32 SVD components plus a sequel flag (:class:`TitleEncoder`, standardised),
        joining the tabular block. Worth about 0.01 MAE on MyAnimeList
        (``docs/benchmarks.md``). No effect without a text column.""",
    "franchise_prior": """franchise_prior : bool, default=True
        Add the mean score and the number of the training anime of the same
        franchise (a key from the first text column, :class:`FranchisePrior`),
        cross-fitted inside ``fit`` so that no training row sees its own score.
        Worth about 0.02-0.03 MAE on MyAnimeList (``docs/benchmarks.md``). No
        effect without a text column.""",
    "title_words": """title_words : bool, default=True
        Give the network each word of the first text column that occurs in at
        least 3 training titles as a 0/1 column (:class:`TitleWords`); every
        member of the ensemble adds a learned weight per word to its score (a
        linear "wide" part beside the network). The boosted trees of
        ``booster`` do not read them. No effect without a text column.""",
    "title_neighbors": """title_neighbors : bool, default=True
        Add what the training anime with the most similar titles scored
        (character n-gram similarity to the first text column,
        :class:`TitleNeighborPrior`), cross-fitted inside ``fit`` so that no
        training row sees its own score. It finds the related titles that a
        franchise key misses ("Gintama'", "Gintama°"). No effect without a text
        column.""",
    "label_priors": """label_priors : bool, default=True
        Add the (shrunk, cross-fitted) mean score of each row's labels in every
        list column (studios, producers, genres, ...; :class:`LabelTargetEncoder`),
        beside their multi-hot inputs: what boosting reads from a label by
        splitting on it, given to the network directly.""",
    "n_members": """n_members : int, default=5
        Train an ensemble of this many networks (each with its own tabular
        branch, image projection and head, its own initial weights and its own
        loss, on the same batches; one shared poster backbone) and predict their
        mean (``module__n_members`` of :class:`HybridModule`). Fit time grows
        about in proportion; 1 is one network, as in the paper.""",
    "numeric_embedding": """numeric_embedding : int, default=8
        Embed each continuous input of the tabular block (numbers, priors, title
        components: the columns with more than two distinct values in the
        training data) with periodic embeddings of this width before the
        tabular branch (PLR: a linear layer per feature, frequencies
        initialised from N(0, 0.3); Gorishniy et al. 2022;
        ``module__numeric_embedding``); the 0/1 columns pass as they are. It lets
        the network model the sharp dependencies that trees find by splitting.
        0 feeds the columns as they are.""",
    "loss": """loss : {"huber", "squared_error"}, default="huber"
        What the network minimises: the Huber loss (squared below
        ``huber_delta`` score points of error, linear above it: closer to the
        MAE it is judged by, and less pulled by the few anime scored far from
        their like), or the paper's mean squared error. Huber was 0.002 MAE
        better in seed-1 CV on MyAnimeList (``docs/benchmarks_history.md``). The
        ``train_loss`` and ``valid_loss`` of ``history_`` are this loss; early
        stopping and the learning-rate schedule watch ``valid_loss``.""",
    "huber_delta": """huber_delta : float, default=0.5
        Where the Huber loss turns from squared to linear, in score points
        (``criterion__delta`` of torch's ``HuberLoss``). Ignored with
        ``loss="squared_error"``.""",
    "weight_decay": """weight_decay : float, default=1e-3
        Adam's L2 penalty on the network's weights (``optimizer__weight_decay``
        overrides it).""",
    "augment": """augment : bool, default=False
        Augment the posters of the training batches (a random resized crop of
        70-100% of the area, a horizontal flip, a light colour jitter;
        ``torchvision.transforms.v2``), drawn from torch's generator (seeded by
        ``random_state``). Validation rows and ``predict`` are never augmented.
        Needs a backbone trained inside the network (``freeze_backbone`` False
        or a number of blocks): with frozen, cached embeddings it is an error.""",
    "poster_aux_weight": """poster_aux_weight : float, default=0.0
        Weight of an auxiliary loss: a linear head on the image features
        predicts the score from the poster alone, and the training loss is
        ``loss(score) + poster_aux_weight * loss(poster-only score)`` (the
        net's criterion: Huber or MSE), the second over the rows with a poster,
        so the image branch must learn what the poster predicts. ``predict``
        returns the main score only; the validation loss is the main score's.
        0 adds no head.""",
    "mixed_precision": """mixed_precision : {"bfloat16"} or None, default=None
        "bfloat16" runs the training forward passes under ``torch.autocast`` in
        bfloat16 (matrix products at half width); the weights, the optimizer,
        the loss, validation and ``predict`` stay float32. For hardware that
        computes bfloat16 natively: on a CPU with AVX512-BF16 an epoch took
        12-19% less time on MyAnimeList, for the same accuracy
        (``docs/benchmarks.md``). GPUs from Ampere on support it too, but gain
        little here: on an NVIDIA H100 the default model fitted in 37.0 s
        against 38.1 s, its layers too small to matter to the GPU. A CPU
        without it emulates bfloat16, slower than float32.
        None: float32 throughout.""",
}


def substitute(obj):
    """Fill the ``%(name)s`` entries of ``obj``'s docstring from
    :data:`PARAMETER_DOCS` (a decorator)."""
    if obj.__doc__:
        obj.__doc__ = obj.__doc__ % PARAMETER_DOCS
    return obj
