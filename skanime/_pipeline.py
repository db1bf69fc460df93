"""``make_hybrid_pipeline``: the data's path as one scikit-learn Pipeline.

(:class:`TableCleaner`, given column roles ->) ``ColumnTransformer`` (numeric,
categorical, lists, poster, title, franchise prior, title neighbours, label
priors) -> :class:`PackInputs`
-> :class:`HybridNet` (-> :class:`HybridModule`). Each step gets its own
parameters; no object is shared between steps.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from ._embedding import PosterEmbedder
from ._franchise import FranchisePrior
from ._label_prior import LabelTargetEncoder
from ._member_folds import MemberFolds
from ._neighbors import TitleNeighborPrior
from ._net import HybridNet
from ._pack import PackInputs
from ._poster_features import PosterPrior
from ._posters import PosterLoader
from ._roles import ColumnRoles, TableCleaner
from ._schedule import plateau_schedule
from ._tabular import (
    DEFAULT_CATEGORICAL_COLUMNS,
    DEFAULT_LIST_COLUMNS,
    DEFAULT_NUMERIC_COLUMNS,
    DEFAULT_POSTER_COLUMN,
    DEFAULT_TEXT_COLUMNS,
    make_tabular_encoder,
)
from ._text import TitleEncoder, TitleWords
from ._validation import resolve_device
from .backbones import backbone_name, is_pretrained

__all__ = ["make_hybrid_pipeline", "resolve_freeze", "title_branches"]


def resolve_freeze(backbone, freeze_backbone) -> bool | int:
    """``freeze_backbone`` with "auto" resolved (pretrained backbones are frozen):
    True, False, or the number of last blocks to train (an int >= 1)."""
    if isinstance(freeze_backbone, str) and freeze_backbone == "auto":
        return _pretrained(backbone)
    if isinstance(freeze_backbone, bool | np.bool_):
        return bool(freeze_backbone)
    if isinstance(freeze_backbone, Integral) and freeze_backbone >= 1:
        return int(freeze_backbone)
    raise ValueError(
        f"Got freeze_backbone={freeze_backbone!r}; expected True, False, "
        '"auto" or the number of last backbone blocks to train (an int >= 1).'
    )


def _pretrained(backbone) -> bool:
    """Whether a backbone (a name, "auto" or a module) comes with trained weights."""
    name = backbone_name(backbone)
    if isinstance(name, str):
        return is_pretrained(name)
    return bool(getattr(name, "pretrained", False))


def make_hybrid_pipeline(
    *,
    numeric_columns=DEFAULT_NUMERIC_COLUMNS,
    categorical_columns=DEFAULT_CATEGORICAL_COLUMNS,
    list_columns=DEFAULT_LIST_COLUMNS,
    poster_column=DEFAULT_POSTER_COLUMN,
    text_columns=DEFAULT_TEXT_COLUMNS,
    title_features=True,
    franchise_prior=True,
    title_neighbors=True,
    title_words=True,
    label_priors=True,
    min_frequency=5,
    image_size=None,
    backbone="auto",
    freeze_backbone="auto",
    cache_dir=None,
    engine="auto",
    poster_errors="warn",
    poster_root=None,
    poster_prior=3000.0,
    n_members=5,
    numeric_embedding=8,
    augment=False,
    poster_aux_weight=0.0,
    mixed_precision=None,
    backbone_lr=None,
    loss="huber",
    huber_delta=0.5,
    lr=1e-3,
    weight_decay=1e-3,
    max_epochs=150,
    batch_size=256,
    validation_fraction="folds",
    lr_schedule="plateau",
    early_stopping=True,
    patience=4,
    device="cpu",
    num_workers=0,
    random_state=None,
    verbose=0,
    extra_branches=(),
    roles: ColumnRoles | None = None,
    **net_params,
) -> Pipeline:
    """Build the unfitted ``[features, pack, net]`` Pipeline of the hybrid model.

    The parameters are those of :class:`~skanime.HybridAnimeRegressor` (which
    calls this function in ``fit``), plus ``extra_branches`` (see
    :func:`~skanime.make_tabular_encoder`) and ``roles``: a
    :class:`~skanime.ColumnRoles` (from :func:`~skanime.infer_column_roles`)
    puts a :class:`~skanime.TableCleaner` with those roles first, and a column
    parameter set to "auto" takes its columns from ``roles.encoder_columns()``
    (a text branch in ``extra_branches`` can read ``roles["text"]``, which the
    cleaner passes through). Without ``roles``, the column parameters are used
    as given and there is no cleaning step. ``random_state`` must be an int or
    None here: it seeds the validation split and a frozen random backbone; seed
    torch's global generator yourself for the network's initial weights.

    The poster column goes to a :class:`~skanime.PosterEmbedder` (frozen backbone:
    embeddings computed once and cached) or a :class:`~skanime.PosterLoader`
    (trained backbone: paths checked here, images decoded by the net, once a
    fit in training and per batch in ``predict``, with a decoder it builds from
    its backbone). The backbone is built once, by the embedder or by the net's
    module (a trained pretrained backbone's prior builds a frozen copy too).
    With ``poster_prior`` set, a
    ``poster_prior`` branch (a second reader of the same cached embeddings, then
    :class:`~skanime.PosterPrior`) adds one cross-fitted poster-only prediction
    to the tabular block; with a trained pretrained backbone it reads the
    pretrained weights, frozen (no prior for a trained backbone without them).
    ``augment`` and ``backbone_lr`` need a trained backbone (``freeze_backbone``
    False or a number of blocks): with a frozen one they are a ``ValueError``.
    ``backbone_lr`` adds the group ``("backbone.*", {"lr": backbone_lr})`` after
    any ``optimizer__param_groups``.

    Each text column gets a ``title`` branch (``title_features``: a
    :class:`~skanime.TitleEncoder`, then a ``StandardScaler``; named
    ``title_<column>`` when there are several) and the first text column a
    ``franchise_prior`` branch (``franchise_prior``: a
    :class:`~skanime.FranchisePrior`, cross-fitted inside ``fit_transform`` so
    that no training row sees its own score, then a ``StandardScaler``) and a
    ``title_neighbors`` branch (``title_neighbors``: a
    :class:`~skanime.TitleNeighborPrior`, cross-fitted the same way), and, with
    ``title_words``, a ``title_words`` branch (:class:`~skanime.TitleWords`)
    that :class:`~skanime.PackInputs` packs as the network's ``"words"`` input
    rather than into the tabular block. The list
    columns get a ``label_priors`` branch (``label_priors``: a
    :class:`~skanime.LabelTargetEncoder`, cross-fitted, then a
    ``StandardScaler``) beside their multi-hot encoding. All join the tabular
    block. ``text_columns=()`` (or every title flag False) leaves the titles
    out. ``n_members`` networks are trained as one ensemble
    (``module__n_members`` of :class:`~skanime.HybridModule`).

    Returns
    -------
    Pipeline
        ``[("features", ColumnTransformer), ("pack", PackInputs), ("net",
        HybridNet)]``, with ``("clean", TableCleaner)`` first if ``roles`` is
        given.

    Examples
    --------
    >>> from skanime import make_hybrid_pipeline
    >>> from skanime.datasets import make_anime
    >>> df = make_anime(40, random_state=0)
    >>> pipe = make_hybrid_pipeline(poster_column=None, max_epochs=1, min_frequency=1)
    >>> [name for name, _ in pipe.steps]
    ['features', 'pack', 'net']
    >>> pipe.fit(df, df["Score"]).predict(df).shape
    (40,)
    >>> names = [name for name, *_ in pipe["features"].transformers_]
    >>> sorted(set(names) & {"title", "franchise_prior", "title_neighbors",
    ...                      "label_priors"})
    ['franchise_prior', 'label_priors', 'title', 'title_neighbors']
    >>> from skanime import infer_column_roles
    >>> pipe = make_hybrid_pipeline(
    ...     roles=infer_column_roles(df), numeric_columns="auto",
    ...     categorical_columns="auto", list_columns="auto", poster_column=None,
    ...     max_epochs=1, min_frequency=1,
    ... )
    >>> [name for name, _ in pipe.steps]
    ['clean', 'features', 'pack', 'net']
    """
    specs = {
        "numeric_columns": numeric_columns,
        "categorical_columns": categorical_columns,
        "list_columns": list_columns,
        "poster_column": poster_column,
        "text_columns": text_columns,
    }
    auto = [k for k, v in specs.items() if isinstance(v, str) and v == "auto"]
    if auto and roles is None:
        raise ValueError(
            f"{', '.join(auto)}='auto' needs the column roles: pass "
            "roles=infer_column_roles(X), or name the columns."
        )
    if auto:
        resolved = roles.encoder_columns()
        specs.update({k: resolved[k] for k in auto})
    numeric_columns, categorical_columns, list_columns, poster_column, text_columns = (
        specs.values()
    )
    device = resolve_device(device)  # "auto": the GPU where torch sees one
    module_params = {}
    poster_step = None
    net_params = dict(net_params)
    frozen = None  # the frozen backbone's embedder, whatever trains
    if poster_column is not None:
        name = backbone_name(backbone)
        freeze = resolve_freeze(backbone, freeze_backbone)
        frozen = PosterEmbedder(
            name,
            image_size=image_size,
            poster_root=poster_root,
            poster_errors=poster_errors,
            engine=engine,
            cache_dir=cache_dir,
            device=device,
            progress=bool(verbose),
            random_state=random_state,
        )
        if freeze is True:
            _check_trained_only(
                augment=(augment, False), backbone_lr=(backbone_lr, None)
            )
            poster_step = frozen
        else:
            poster_step = PosterLoader(
                image_size=image_size or 64,
                poster_root=poster_root,
                poster_errors=poster_errors,
                progress=bool(verbose),
            )
            # a name, not a module, where it can be (so that skops can save it)
            module_params = {"module__backbone": name, "module__image_size": image_size}
            if freeze is not False:  # a number of last blocks to train
                module_params["module__freeze_backbone"] = freeze
            if backbone_lr is not None:
                net_params["optimizer__param_groups"] = [
                    *net_params.get("optimizer__param_groups", []),
                    ("backbone.*", {"lr": backbone_lr}),
                ]
    extra_branches = list(extra_branches)
    # the poster prior reads the frozen embeddings: of the poster step, or beside
    # a trained backbone its pretrained weights' (random weights would be noise)
    if (
        poster_prior is not None
        and frozen is not None
        and (poster_step is frozen or _pretrained(backbone))
    ):
        prior = Pipeline(
            [
                ("embedder", clone(frozen)),
                ("prior", PosterPrior(poster_prior, random_state=random_state)),
            ]
        )
        extra_branches.append(("poster_prior", prior, [poster_column]))
    extra_branches += title_branches(
        text_columns,
        title_features=title_features,
        franchise_prior=franchise_prior,
        title_neighbors=title_neighbors,
        title_words=title_words,
        random_state=random_state,
    )
    list_names = _named_columns(list_columns)
    if label_priors and list_names:
        encoder = LabelTargetEncoder(random_state=random_state)
        extra_branches.append(
            ("label_priors", make_pipeline(encoder, StandardScaler()), list_names)
        )
    encoder = make_tabular_encoder(
        numeric_columns,
        categorical_columns,
        list_columns,
        poster_column,
        min_frequency=min_frequency,
        poster_transformer=poster_step,
        extra_branches=extra_branches,
    )
    callbacks = []
    train_split = None
    if validation_fraction == "folds":
        train_split = MemberFolds(n_members, random_state=random_state)
    elif validation_fraction > 0:
        train_split = ValidSplit(validation_fraction, random_state=random_state)
    if train_split is not None and lr_schedule == "plateau":
        callbacks.append(("lr_schedule", plateau_schedule()))
    if train_split is not None:
        if early_stopping:
            callbacks.append(
                ("early_stopping", EarlyStopping(patience=patience, load_best=True))
            )
    if loss == "huber":
        criterion = {"criterion": torch.nn.HuberLoss, "criterion__delta": huber_delta}
    elif loss == "squared_error":
        criterion = {"criterion": torch.nn.MSELoss}
    else:
        raise ValueError(f'loss must be "huber" or "squared_error"; got {loss!r}.')
    net = HybridNet(
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=train_split,
        callbacks=callbacks,
        device=device,
        verbose=verbose,
        poster_root=poster_root,
        poster_errors=poster_errors,
        augment=bool(augment) and poster_column is not None,
        poster_aux_weight=poster_aux_weight,
        mixed_precision=mixed_precision,
        **{
            **criterion,
            **module_params,
            "module__n_members": n_members,
            "module__numeric_embedding": numeric_embedding,
            "optimizer__weight_decay": weight_decay,
            "iterator_train__shuffle": True,
            "iterator_train__num_workers": num_workers,
            "iterator_valid__num_workers": num_workers,
            # workers kept from epoch to epoch, not started again for each
            "iterator_train__persistent_workers": num_workers > 0,
            "iterator_valid__persistent_workers": num_workers > 0,
            **net_params,
        },
    )
    steps = [("features", encoder), ("pack", PackInputs()), ("net", net)]
    if roles is not None:
        # pandas for the encoder whatever sklearn.set_config(transform_output=...)
        cleaner = TableCleaner(roles=roles).set_output(transform="pandas")
        steps.insert(0, ("clean", cleaner))
    return Pipeline(steps)


def _check_trained_only(**params) -> None:
    """Refuse ``name=(value, default)`` pairs set away from their default: they
    need a backbone trained inside the network, and this one is frozen."""
    for name, (value, default) in params.items():
        if value != default:
            raise ValueError(
                f"Got {name}={value!r} with a frozen backbone, whose poster "
                "embeddings are computed once and cached: it needs a backbone "
                "trained inside the network. Set freeze_backbone=False (or the "
                f"number of last blocks to train), or leave {name} at {default!r}."
            )


def title_branches(
    text_columns,
    *,
    title_features=True,
    franchise_prior=True,
    title_neighbors=True,
    title_words=True,
    random_state=None,
) -> list[tuple]:
    """The ``(name, transformer, columns)`` branches of the text columns.

    A ``title`` branch per text column (``title_<column>`` with several), and
    ``franchise_prior``, ``title_neighbors`` and ``title_words`` branches on the
    first one; see :func:`make_hybrid_pipeline`.
    """
    if text_columns is None:
        text_columns = ()
    columns = [text_columns] if isinstance(text_columns, str) else list(text_columns)
    branches = []
    if title_features:
        for column in columns:
            name = "title" if len(columns) == 1 else f"title_{column}"
            encoder = make_pipeline(
                TitleEncoder(random_state=random_state), StandardScaler()
            )
            branches.append((name, encoder, [column]))
    if franchise_prior and columns:
        prior = make_pipeline(
            FranchisePrior(random_state=random_state), StandardScaler()
        )
        branches.append(("franchise_prior", prior, [columns[0]]))
    if title_neighbors and columns:
        neighbors = make_pipeline(
            TitleNeighborPrior(random_state=random_state), StandardScaler()
        )
        branches.append(("title_neighbors", neighbors, [columns[0]]))
    if title_words and columns:
        # routed to the network's "words" input by PackInputs
        branches.append(("title_words", TitleWords(), [columns[0]]))
    return branches


def _named_columns(columns) -> list:
    """``columns`` as a list of names; [] for None or a callable (which
    :func:`make_tabular_encoder` resolves itself)."""
    if columns is None or callable(columns):
        return []
    return [columns] if isinstance(columns, str) else list(columns)
