"""``HybridAnimeRegressor``: the whole pipeline behind one scikit-learn estimator."""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

import numpy as np
import torch
from joblib import parallel_config
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from skorch.helper import SliceDict
from torch import nn

from ._booster import BOOSTERS, blend, booster_inputs, make_booster, time_column
from ._docs import substitute
from ._embedding import PosterEmbedder
from ._fast_predict import encode_for_net
from ._fitted import check_fitted
from ._member_folds import MemberFolds
from ._net import HybridNet
from ._pipeline import make_hybrid_pipeline, resolve_freeze
from ._posters import PosterLoader
from ._precision import MIXED_PRECISION_DTYPES
from ._roles import ColumnRoles, holds_nothing, infer_column_roles
from ._roles_shown import print_roles
from ._utils import derive_seed, with_columns_empty
from ._validation import (
    NET_PREFIXES,
    check_columns,
    check_cross_fitting,
    check_device,
    check_extra_params,
    check_frame,
    check_net_params,
    check_sample_weight,
    check_scoring,
    check_target,
)
from ._version import PERSISTENCE_FORMAT, __version__
from ._warn import each_warning_once, warn_user
from .backbones import backbone_name
from .exceptions import ColumnError, DataError, DataWarning, IncompatibleModelError

__all__ = ["HybridAnimeRegressor"]


def _in_this_thread():
    """Run nested joblib calls (a ColumnTransformer's) sequentially, here.

    Under joblib's Dask backend a nested ``Parallel`` call would *secede* from the
    worker's thread pool, letting the worker start another fit in this process
    while this one runs: the two would then share torch's global random state, and
    a seed would no longer give one result.
    """
    return parallel_config(backend="sequential")


#: Rows whose booster inputs ``predict`` builds at a time: float64 copies of the
#: network's tabular block (about 22 MB for MyAnimeList's 677 columns), so a
#: large batch does not hold them all at once.
_BOOSTER_ROWS = 4096


@substitute
class HybridAnimeRegressor(RegressorMixin, BaseEstimator):
    """Predict an anime's score from its metadata and poster (hybrid MLP + CNN).

    The :class:`~sklearn.pipeline.Pipeline` of :func:`make_hybrid_pipeline`
    (:func:`make_tabular_encoder`, :class:`PackInputs`, :class:`HybridNet`) behind
    one estimator: every parameter below, and skorch's prefixed parameters
    (``module__hidden_units``, ``optimizer__weight_decay``, ``iterator_train__*``,
    ``callbacks__*``, ...), can be set, cloned and grid-searched. Any other
    keyword is a ``TypeError`` naming it (with a did-you-mean hint). Its
    prediction averages the network with boosted trees fitted on the network's
    own inputs (``booster``), except for anime later than the training data,
    which get the network alone (``booster_time_column``).

    ``X`` is a DataFrame (pandas, or polars and other frames, converted). At
    predict time it may hold more columns than the model uses, in any order; a
    column the model was trained on that is absent is a :class:`ColumnError`. An
    array as wide as the training frame is mapped onto its columns by position,
    with scikit-learn's warning. ``y`` is used by position, as in scikit-learn (a
    pandas ``y`` whose index differs from ``X``'s gets a warning).

    A ``KeyboardInterrupt`` (Ctrl-C) during ``fit`` propagates, as in any
    scikit-learn estimator, and the model is left as it was before ``fit``.

    Parameters
    ----------
    numeric_columns : "auto", sequence of str, callable or None, default="auto"
        Numeric columns (numbers stored as text such as ``"1,234"`` are parsed;
        ``"Unknown"`` counts as missing). "auto": the columns judged numeric by
        :func:`infer_column_roles`, plus durations (as minutes) and the year of
        each date. A list is complete: it also turns the date and duration
        roles off unless ``date_columns`` or ``duration_columns`` name their
        columns (or name ``Duration`` or ``Year`` here where they are numbers
        already, as in :func:`~skanime.datasets.load_mal`'s frame).
    categorical_columns : "auto", sequence of str, callable or None, default="auto"
        One-hot encoded columns. "auto" adds the season of each date.
    list_columns : "auto", sequence of str, callable or None, default="auto"
        Comma-separated list columns, multi-hot encoded.
    text_columns : "auto", sequence of str, callable or None, default="auto"
        Free-text columns (titles; "auto" finds ``Title``), read by the
        ``title_features``, ``franchise_prior``, ``title_neighbors`` and
        ``title_words`` branches.
        None leaves text out.
    date_columns : "auto", sequence of str, callable or None, default="auto"
        Date columns (``Aired``: ``"Apr 5, 2009 to ?"``, ISO dates, dates of
        numbers, datetimes), each read as a year (numeric) and a season
        (categorical). "auto": the columns judged dates, unless
        ``numeric_columns`` is a list (then none).
    duration_columns : "auto", sequence of str, callable or None, default="auto"
        Duration columns (``"24 min. per ep."``, ``"1 hr. 55 min."``, time
        spans), read as minutes. "auto": the columns judged durations, unless
        ``numeric_columns`` is a list (then none).
    poster_column : "auto", str or None, default="auto"
        Column of poster paths; ``None`` fits a tabular-only model, "auto" takes
        the column judged to hold image paths or URLs (``poster``, ``Image URL``,
        ...), or none. Empty cells are missing posters (see :class:`PosterLoader`).

        Every "auto" is resolved at ``fit`` by :func:`infer_column_roles`, which
        gives each column of ``X`` a role or ignores it with a reason
        (identifiers, the target, columns known only after release such as
        ``Members``); explicitly named columns are used whatever they are known
        as, and one that ``X`` lacks is a :class:`ColumnError`. A callable
        (e.g. :func:`~sklearn.compose.make_column_selector`) is called on ``X``.
        Raw columns (numbers as text, dates, durations) are cleaned by a
        :class:`TableCleaner`, the pipeline's first step.
    %(title_features)s
    %(franchise_prior)s
    %(title_neighbors)s
    %(title_words)s
    %(label_priors)s
    min_frequency : int, default=5
        Minimum count of a category or list label to get its own input.
    image_size : int or None, default=None
        Side of the square images the posters are resized to; None takes the
        backbone's ``input_size`` (260 for ``efficientnet_lite2``, 224 for
        ``efficientnet_lite0``, 64 for ``simple_cnn``).
    backbone : str or nn.Module, default="auto"
        The poster network: a name from :func:`skanime.backbones.list_backbones`,
        a module with an ``out_features`` attribute (copied, never modified), or
        "auto": the ImageNet-pretrained ``efficientnet_lite2`` when
        ``skanime[pretrained-large]`` is installed, else ``efficientnet_lite0``
        when ``skanime[pretrained]`` is, else the paper's ``simple_cnn``.
    freeze_backbone : bool, int or "auto", default="auto"
        Keep the backbone's weights fixed. A frozen backbone's poster embeddings
        are computed once by a :class:`PosterEmbedder` and cached (in memory, and
        in ``cache_dir`` if set), so later fits, folds and grid candidates reuse
        them; a trainable one is fine-tuned on images decoded once a fit (up
        to 1 GiB of them; beyond, per batch, every epoch). An int
        ``N >= 1`` fine-tunes only the backbone's last ``N`` blocks
        (:meth:`Backbone.blocks <skanime.backbones.Backbone.blocks>`; for
        EfficientNet-Lite, the last ``N`` MBConv blocks and the head
        convolution) on images decoded as for False, and keeps the
        earlier blocks fixed with their batch norms in eval mode; more than
        the backbone has is an error. "auto" freezes pretrained backbones and
        trains the others.
    %(cache_dir)s
        Used by a frozen backbone, and by the poster prior of a trained
        pretrained one.
    %(engine)s
    %(poster_errors)s
    %(poster_root)s
    poster_prior : float or None, default=3000.0
        Also feed the table branch one number per anime: what a ridge
        regression (this penalty, on standardised embeddings) predicts from the
        poster alone, cross-fitted on the training rows (:class:`PosterPrior`;
        0 without a poster). The embeddings are the frozen backbone's; when a
        pretrained backbone trains, its pretrained weights', frozen, beside the
        copy that trains (a backbone without pretrained weights then gets no
        prior). None leaves it out. Chosen
        by 5-fold CV on the poster rows of the MyAnimeList data (seed 1, not the
        benchmark's): it beats a constant-image control where the embedding
        alone, through the network, barely does (``docs/benchmarks.md``).
    %(n_members)s
    %(numeric_embedding)s
    %(augment)s
    %(poster_aux_weight)s
    %(mixed_precision)s
    backbone_lr : float or None, default=None
        A learning rate of its own for a backbone trained inside the network
        (typically 10x lower than ``lr`` for a pretrained one): the optimizer
        group ``("backbone.*", {"lr": backbone_lr})``, added after any
        ``optimizer__param_groups``. None: the backbone trains at ``lr``. An
        error with a frozen backbone.
    %(loss)s
    %(huber_delta)s
    lr : float, default=1e-3
        Adam's learning rate.
    %(weight_decay)s
    max_epochs : int, default=150
        The most epochs; early stopping usually ends sooner (19 to 37 epochs on
        MyAnimeList's CV folds with the default ensemble; see
        docs/benchmarks.md).
    batch_size : int, default=256
        Rows per training step (validation over in-memory inputs reads 8,192
        rows a batch, unless ``iterator_valid__batch_size`` says otherwise).
        ``batch_size``, ``weight_decay`` and ``patience`` were chosen by 5-fold
        CV on MyAnimeList with title and franchise features (seed 1, not the
        benchmark's folds; ``docs/benchmarks.md``).
    validation_fraction : "folds" or float, default="folds"
        How each epoch is scored (``history_``) for early stopping. "folds": the
        rows are dealt into ``n_members`` folds, member ``j`` never trains on
        fold ``j``, and every row is scored by the member that did not train on
        it (:class:`~skanime.MemberFolds`); so every row trains the ensemble and
        every row scores it (a single member holds out 20%%). A float: that share
        of the rows is held out from every member. 0 disables validation (and
        early stopping).
    early_stopping : bool, default=True
        Stop when the validation loss has not improved for ``patience`` epochs and
        restore the best epoch's weights (needs validation).
    patience : int, default=4
        4, with the plateau schedule cutting the rate after 2 epochs, trains
        about a fifth fewer epochs than patience 6 with the schedule's 4 (the
        defaults until 2026-11-27). On the seed-1 folds it was chosen on: 0.3547
        against 0.3541 MAE, and 0.4079 against 0.4141 on the earlier temporal
        split (two model seeds). On the reported folds: 0.3562 against 0.3552 in
        CV, 0.5256 against 0.5271 on the temporal split, and a fit about 7.4x
        LightGBM's time rather than 10x (``docs/benchmarks.md``).
        ``patience=6, callbacks__lr_schedule__patience=4`` restores the slower
        setting.
    lr_schedule : "plateau" or None, default="plateau"
        "plateau": the learning rate drops to 0.3 times its value after 2 epochs
        without a better validation loss (torch's ``ReduceLROnPlateau`` through
        skorch's ``LRScheduler``, callback ``lr_schedule``, whose options are
        set as ``callbacks__lr_schedule__patience`` and the like; needs
        validation).
        None: a constant learning rate.
    booster : "hist", regressor or None, default="hist"
        Boosted trees to average with the network: a scikit-learn regressor
        fitted on the network's own encoded inputs (the table, the title features
        and the priors, the poster prior and the has-poster flag; not the raw
        poster embedding), or "hist": a
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor` with the
        settings of :data:`skanime.BOOSTERS` (chosen on seed 1's MyAnimeList CV
        folds). A regressor is cloned; its ``random_state``, if None, is drawn
        from ``random_state``. Given the same features, the network and the
        trees make different errors: in CV on MyAnimeList their average is the
        more accurate model (MAE 0.350 against the network's 0.355), but on
        anime later than the training data it is not, so those get the network
        alone (``booster_time_column``; ``docs/benchmarks.md``). The booster's
        fit adds about three quarters of a LightGBM fit to the network's (8.4x
        LightGBM's fit time in all, against 7.6x) and about an eighth to a
        single-row ``predict``. None: the network alone (the default until
        2026-11-28).
        Its parameters can be grid-searched as ``booster__<name>``.
    booster_weight : float in [0, 1], default=0.3
        The booster's share of the prediction:
        ``(1 - booster_weight) * network + booster_weight * booster``. 0.3
        was within 0.0003 MAE of the best weight (0.4) on seed 1's CV folds, and
        level with the network alone on an earlier temporal split inside the
        training years (train before 2012, test 2012-2015), where 0.5 was
        0.005 worse (``docs/benchmarks.md``).
        Read at predict time: a fitted model takes a new weight without refitting.
    booster_time_column : "auto", str or None, default="auto"
        A numeric or date input column that orders the anime in time. Rows
        later than every training row by it are predicted by the network
        alone: trees predict a later anime as if it were one of the latest they
        were trained on, while the network extrapolates the years' trend (on
        MyAnimeList's temporal split the trees alone scored 0.555 against the
        network's 0.527, and the average was the worse model:
        ``docs/benchmarks.md``). "auto": the numeric column named "Year" (any
        case), which a date column such as ``Aired`` becomes; where there is
        none, every row gets the average. None: every row gets the average. A
        missing value counts as within the training years. Read in ``fit``,
        with a ``booster`` only.
    device : str, default="cpu"
        Torch device, e.g. "cuda"; "auto" takes "cuda" where torch sees a GPU,
        else "cpu" (``device_`` says which).
    num_workers : int, default=0
        DataLoader worker processes that read the posters of a trained backbone
        in parallel: in ``fit``, they augment and normalise posters decoded once
        before the first epoch (up to 1 GiB of them; beyond, they decode them
        too); in ``predict``, they decode them. They are
        started once a fit and kept from epoch to epoch (``persistent_workers``),
        so training draws its random numbers a little differently from 0: the
        predictions differ slightly, each reproducible with an int
        ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling and the validation split: with an int, two fits
        on the CPU give identical predictions. The global torch RNG is left as it was.
    target_range : tuple of 2 floats or None, default=(1, 10)
        The scale of the scores: a target outside it is an error (a 0-100 scale
        or a wrong column, most likely). None accepts any finite number.
    verbose : int, default=0
        1 prints the column roles, skorch's table of losses and metrics after
        every epoch, and progress bars while the posters of a large frame are
        checked or embedded (at ``fit`` and ``predict``). Set on a fitted model,
        it reaches those bars too.
    **net_params
        Parameters for the network with one of the prefixes ``module__``,
        ``optimizer__``, ``criterion__``, ``iterator_train__``, ``iterator_valid__``,
        ``callbacks__``.

    Attributes
    ----------
    pipeline_ : Pipeline
        The fitted ``[("clean", TableCleaner), ("features", ColumnTransformer),
        ("pack", PackInputs), ("net", HybridNet)]``.
    column_roles_ : ColumnRoles
        The role of every column of ``X`` (``column_roles_["numeric"]``, ...),
        and the ignored ones with their reasons (``column_roles_.ignored``);
        ``print(column_roles_)`` shows them as a table.
    numeric_columns_, categorical_columns_, list_columns_, text_columns_ : list of str
        The resolved columns the encoders read, after the ``clean`` step (a date
        column ``Aired`` becomes ``Year`` and ``Season``).
    poster_column_ : str or None
        The resolved poster column.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``valid_loss`` (the ``loss``), ``train_mae``,
        ``valid_mae``, ``train_mape``, ``valid_mape`` (percent), ``dur``.
    backbone_ : str, nn.Module or None
        The backbone used ("auto" resolved to a name); None without posters.
    freeze_backbone_ : bool, int or None
        Whether it was frozen (True: its embeddings cached), trained (False), or
        how many of its last blocks were trained (an int); None without posters.
    booster_ : regressor or None
        The fitted booster (``booster``); None without one.
    booster_time_feature_ : str or None
        The encoded feature of ``booster_time_column`` (such as
        ``"numeric__Year"``) that :meth:`predict` compares with
        ``booster_latest_``; None without a booster or such a column.
    booster_latest_ : float or None
        That feature's largest value among the training rows: a row above it
        is later than every training row, and gets the network alone.
    device_ : str or torch.device
        The device the network was trained on (``device`` with "auto" resolved).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame.
    required_columns_ : list of str
        The columns of ``X`` the model reads (every role but ``ignored``):
        ``predict`` needs them, but for those of ``empty_columns_``.
    empty_columns_ : list of str
        The columns of ``required_columns_`` in which every training cell was
        missing or a placeholder (a column ``skanime train`` gave a table that
        lacked it): the model learned nothing from them, and ``predict`` reads
        them as empty, as they were in training (with a ``DataWarning`` where
        ``X`` has values in them), or where ``X`` lacks them.

    The paper's setup (its five columns, the poster, one tabular MLP, no title
    features, no label priors) is ``HybridAnimeRegressor(**PAPER_COLUMNS,
    **PAPER_MODEL, backbone="simple_cnn")`` with
    :data:`skanime.datasets.PAPER_COLUMNS` and :data:`~skanime.datasets.PAPER_MODEL`
    (``module__tabular_branch="mlp"`` is the default branch).

    Examples
    --------
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> df = make_anime(60, random_state=0)
    >>> model = HybridAnimeRegressor(max_epochs=2, min_frequency=1, random_state=0)
    >>> model.fit(df, df["Score"]).predict(df).shape
    (60,)
    >>> model.column_roles_["list"], model.poster_column_
    (['Genres', 'Themes', 'Studios', 'Producers'], 'poster')
    >>> model.column_roles_.ignored
    {'anime_id': 'an identifier', 'Score': 'the target (the score itself)'}
    >>> model.text_columns_
    ['Title']
    """

    _parameter_constraints = {
        "numeric_columns": [StrOptions({"auto"}), list, tuple, callable, None],
        "categorical_columns": [StrOptions({"auto"}), list, tuple, callable, None],
        "list_columns": [StrOptions({"auto"}), list, tuple, callable, None],
        "text_columns": [StrOptions({"auto"}), list, tuple, callable, None],
        "date_columns": [StrOptions({"auto"}), list, tuple, callable, None],
        "duration_columns": [StrOptions({"auto"}), list, tuple, callable, None],
        "poster_column": [str, None],
        "title_features": ["boolean"],
        "franchise_prior": ["boolean"],
        "title_neighbors": ["boolean"],
        "title_words": ["boolean"],
        "label_priors": ["boolean"],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "backbone": [str, nn.Module],
        "freeze_backbone": [
            "boolean",
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "cache_dir": [str, os.PathLike, None],
        "engine": [StrOptions({"auto", "torch", "onnx"})],
        "poster_errors": [StrOptions({"warn", "raise"})],
        "poster_root": [str, os.PathLike, None],
        "poster_prior": [Interval(Real, 0, None, closed="neither"), None],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "numeric_embedding": [Interval(Integral, 0, None, closed="left")],
        "augment": ["boolean"],
        "poster_aux_weight": [Interval(Real, 0, None, closed="left")],
        "mixed_precision": [StrOptions(set(MIXED_PRECISION_DTYPES)), None],
        "backbone_lr": [Interval(Real, 0, None, closed="neither"), None],
        "loss": [StrOptions({"huber", "squared_error"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [
            Interval(Real, 0, 1, closed="left"),
            StrOptions({"folds"}),
        ],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions({"plateau"}), None],
        "booster": [StrOptions(set(BOOSTERS)), HasMethods(["fit", "predict"]), None],
        "booster_weight": [Interval(Real, 0, 1, closed="both")],
        "booster_time_column": [str, None],
        "device": [str, torch.device],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "target_range": [tuple, list, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        numeric_columns="auto",
        categorical_columns="auto",
        list_columns="auto",
        text_columns="auto",
        date_columns="auto",
        duration_columns="auto",
        poster_column="auto",
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
        early_stopping=True,
        patience=4,
        lr_schedule="plateau",
        booster="hist",
        booster_weight=0.3,
        booster_time_column="auto",
        device="cpu",
        num_workers=0,
        random_state=None,
        target_range=(1, 10),
        verbose=0,
        **net_params,
    ):
        self.numeric_columns = numeric_columns
        self.categorical_columns = categorical_columns
        self.list_columns = list_columns
        self.text_columns = text_columns
        self.date_columns = date_columns
        self.duration_columns = duration_columns
        self.poster_column = poster_column
        self.title_features = title_features
        self.franchise_prior = franchise_prior
        self.title_neighbors = title_neighbors
        self.title_words = title_words
        self.label_priors = label_priors
        self.min_frequency = min_frequency
        self.image_size = image_size
        self.backbone = backbone
        self.freeze_backbone = freeze_backbone
        self.cache_dir = cache_dir
        self.engine = engine
        self.poster_errors = poster_errors
        self.poster_root = poster_root
        self.poster_prior = poster_prior
        self.n_members = n_members
        self.numeric_embedding = numeric_embedding
        self.augment = augment
        self.poster_aux_weight = poster_aux_weight
        self.mixed_precision = mixed_precision
        self.backbone_lr = backbone_lr
        self.loss = loss
        self.huber_delta = huber_delta
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.booster = booster
        self.booster_weight = booster_weight
        self.booster_time_column = booster_time_column
        self.device = device
        self.num_workers = num_workers
        self.random_state = random_state
        self.target_range = target_range
        self.verbose = verbose
        check_extra_params("HybridAnimeRegressor", net_params, self._get_param_names())
        for key, value in net_params.items():
            setattr(self, key, value)

    # -- parameters ---------------------------------------------------------------
    def _net_params(self) -> dict:
        return {
            k: v for k, v in vars(self).items() if "__" in k and not k.endswith("_")
        }

    def get_params(self, deep=True):
        """Parameters of this estimator, including the prefixed network ones."""
        params = super().get_params(deep=deep)
        params.update(self._net_params())
        return params

    def set_params(self, **params):
        """Set parameters; prefixed keys (``module__*``, ...) go to the network.

        On a fitted model, ``cache_dir`` also reaches the fitted
        :class:`PosterEmbedder`, so a loaded model can be given another cache
        folder, or none (``cache_dir=None``), without refitting; and
        ``verbose`` reaches its poster readers, so ``set_params(verbose=0)``
        quiets the progress bars of a model fitted with ``verbose=1`` (one
        trained by ``skanime train``) when it predicts.
        """
        plain = {}
        for key, value in params.items():
            if key.startswith(NET_PREFIXES):
                setattr(self, key, value)
            else:
                plain[key] = value
        if plain:
            super().set_params(**plain)
        if "cache_dir" in plain and hasattr(self, "pipeline_"):
            for embedder in self._fitted_poster_steps(PosterEmbedder):
                embedder.cache_dir = plain["cache_dir"]
        if "verbose" in plain and hasattr(self, "pipeline_"):
            for step in self._fitted_poster_steps((PosterEmbedder, PosterLoader)):
                step.progress = bool(plain["verbose"])
            self.pipeline_[-1].verbose = plain["verbose"]
        return self

    def _fitted_poster_steps(self, kind) -> list:
        """Every fitted step of class ``kind`` among the poster readers of the
        pipeline (the poster branch's :class:`PosterEmbedder` or
        :class:`PosterLoader`, and the poster prior's second reader of the same
        embeddings)."""
        found = []
        for _, step, _ in self.pipeline_["features"].transformers_:
            parts = step.steps if isinstance(step, Pipeline) else [(None, step)]
            found += [s for _, s in parts if isinstance(s, kind)]
        return found

    #: Column parameter -> the role of :func:`infer_column_roles` it names.
    _ROLE_PARAMS = {
        "numeric_columns": "numeric",
        "categorical_columns": "categorical",
        "list_columns": "list",
        "text_columns": "text",
        "date_columns": "date",
        "duration_columns": "duration",
        "poster_column": "poster",
    }

    def _column_specs(self) -> dict:
        """The explicitly named columns of each column parameter ("auto" and
        callables are resolved at fit, not checked here)."""
        specs = {}
        for param in self._ROLE_PARAMS:
            value = getattr(self, param)
            if isinstance(value, str) and value == "auto":
                continue
            specs[param] = [value] if param == "poster_column" and value else value
        return specs

    def _resolve_roles(self, X, y, *, check: bool = True) -> ColumnRoles:
        """Every column's role: the explicit parameters, the rest inferred;
        with ``check``, a :class:`ColumnError` where no column is used."""
        explicit = {}
        for param, role in self._ROLE_PARAMS.items():
            value = getattr(self, param)
            if isinstance(value, str) and value == "auto":
                continue
            if callable(value):
                value = [str(c) for c in value(X)]
            explicit[role] = value
        if not (
            self.title_features
            or self.franchise_prior
            or self.title_neighbors
            or self.title_words
        ):
            explicit["text"] = None  # no branch reads text: predict must not need it
        if "numeric" in explicit:  # a numeric list is complete (see numeric_columns)
            explicit.setdefault("date", None)  # unless date_columns names some
            explicit.setdefault("duration", None)
        target = getattr(y, "name", None)
        roles = infer_column_roles(
            X, target=target if isinstance(target, str) else None, explicit=explicit
        )
        if check and not roles.used:
            raise ColumnError(
                "No column of X can be used: every column is ignored "
                f"({roles.ignored}). Name the columns to use, e.g. "
                "numeric_columns=[...]."
            )
        return roles

    def _pipeline_params(self) -> dict:
        params = self.get_params(deep=False)
        for key in (
            "target_range",
            "random_state",
            "booster",
            "booster_weight",
            "booster_time_column",
            *self._ROLE_PARAMS,
        ):
            params.pop(key)
        return params

    # -- the estimator API ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the encoders and train the network.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Metadata columns plus the poster-path column.
        y : array-like of shape (n_samples,)
            The scores, used by position.
        sample_weight : array-like of shape (n_samples,), default=None
            Each row's weight in the network's loss, in training and in the
            validation loss that early stopping watches, and in the booster's
            fit. Scaled to mean 1, so only the ratios count; equal weights
            train exactly as None. The encoders and the cross-fitted priors
            (franchise, title neighbours, labels, poster) are fitted
            unweighted.

        Returns
        -------
        self : HybridAnimeRegressor

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C during training. After it, or any other error, the model
            is as it was before ``fit``.
        """
        before = dict(self.__dict__)
        try:
            with each_warning_once():
                return self._fit(X, y, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, sample_weight):
        check_device(self.device)
        given = X
        X = check_frame(self, X, reset=True)
        check_columns(X, self._column_specs())
        roles = self._resolve_roles(X, y)
        y = check_target(y, len(X), target_range=self.target_range, X=given)
        sample_weight = check_sample_weight(sample_weight, len(X), self.booster)
        if len(X) < 2:
            raise DataError(
                f"HybridAnimeRegressor needs at least 2 samples to fit; got {len(X)} "
                "sample."
            )
        if self.validation_fraction == "folds":
            n_folds = MemberFolds(self.n_members).n_folds
            if len(X) < n_folds:
                raise DataError(
                    f"validation_fraction='folds' deals the rows into {n_folds} "
                    f"folds, but there are {len(X)} samples; use more rows or "
                    "validation_fraction=0."
                )
        elif (
            self.validation_fraction > 0
            and round(len(X) * self.validation_fraction) < 1
        ):
            raise DataError(
                f"validation_fraction={self.validation_fraction} of {len(X)} samples "
                "leaves no validation row; use more rows or validation_fraction=0."
            )
        elif len(X) - math.ceil(len(X) * self.validation_fraction) < 1:
            raise DataError(
                f"validation_fraction={self.validation_fraction} of {len(X)} samples "
                "leaves no training row; use a smaller fraction, such as 0.1."
            )
        columns = roles.encoder_columns()
        # a bad booster_time_column is refused before any training
        year = None  # the encoders' column that the booster's time gate reads
        if self.booster is not None:
            year = time_column(self.booster_time_column, roles)
        if self.verbose:
            print_roles(roles.format())
        seed = derive_seed(self.random_state)
        with torch.random.fork_rng(devices=[]), _in_this_thread():
            if seed is not None:
                torch.manual_seed(seed)
            pipeline = make_hybrid_pipeline(
                **self._pipeline_params(),
                **columns,
                roles=roles,
                random_state=seed,
            )
            # a misspelt network parameter is refused before the posters are read
            check_net_params("HybridAnimeRegressor", pipeline[-1], self._net_params())
            check_cross_fitting("HybridAnimeRegressor", pipeline[:-1], len(X))
            # Pipeline.fit's steps, with the network's inputs kept for the booster
            packed = pipeline[:-1].fit_transform(X, y)
            # the net reads the weights from its dict input, the booster in fit
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            pipeline[-1].fit(SliceDict(**packed, **weights) if weights else packed, y)
            booster = feature = latest = None
            if self.booster is not None:
                inputs = booster_inputs(packed)
                booster = make_booster(self.booster, seed).fit(inputs, y, **weights)
                tabular = pipeline["pack"].blocks_["tabular"]
                if year is not None and f"numeric__{year}" in tabular:
                    feature = f"numeric__{year}"
                    latest = float(np.nanmax(inputs[:, tabular.index(feature)]))
        self.booster_ = booster
        self.booster_time_feature_, self.booster_latest_ = feature, latest
        self.pipeline_ = pipeline
        self.history_ = pipeline[-1].history_
        self.device_ = pipeline[-1].device
        self.column_roles_ = roles
        self.numeric_columns_ = list(columns["numeric_columns"])
        self.categorical_columns_ = list(columns["categorical_columns"])
        self.list_columns_ = list(columns["list_columns"])
        self.text_columns_ = list(columns["text_columns"])
        self.poster_column_ = columns["poster_column"]
        self.required_columns_ = list(roles.used)
        self.empty_columns_ = [c for c in roles.used if holds_nothing(X[c])]
        if self.poster_column_ is None:
            self.backbone_ = self.freeze_backbone_ = None
        else:
            self.backbone_ = backbone_name(self.backbone)
            self.freeze_backbone_ = resolve_freeze(self.backbone, self.freeze_backbone)
        return self

    def _check_fitted(self):
        check_fitted(self, "pipeline_")

    def predict(self, X):
        """Predicted scores, shape ``(n_samples,)``.

        Raises
        ------
        ColumnError
            Naming each column the model was trained on that ``X`` lacks.
        """
        with _in_this_thread(), each_warning_once():
            return self._predict_packed(self._packed_inputs(X))

    def score(self, X, y, sample_weight=None):
        """:math:`R^2` of the predictions for ``X`` against the scores ``y``.

        ``y`` is checked as ``fit`` checks it (NaN, text, a length that is not
        ``X``'s are named), not by scikit-learn's metric.

        Examples
        --------
        >>> from skanime import HybridAnimeRegressor
        >>> from skanime.datasets import make_anime
        >>> X = make_anime(40, random_state=0)
        >>> model = HybridAnimeRegressor(
        ...     poster_column=None, max_epochs=2, n_members=1, random_state=0
        ... ).fit(X, X["Score"])
        >>> model.score(X, X["Score"]) <= 1.0
        True
        >>> model.score(X, X["Score"].where(X["Score"] > 7))  # unscored rows
        Traceback (most recent call last):
        ...
        skanime.exceptions.TargetError: y holds ... NaN or infinite value(s) ...
        """
        self._check_fitted()
        X, y = check_scoring(X, y)
        return super().score(X, y, sample_weight=sample_weight)

    def _predict_packed(self, packed) -> np.ndarray:
        """Predicted scores from the network's packed inputs."""
        if "poster" not in packed:
            network = self.pipeline_[-1].predict(packed)
        else:
            # DataLoaders draw a seed: leave the caller's random state as it was
            with torch.random.fork_rng(devices=[]):
                network = self.pipeline_[-1].predict(packed)
        if self.booster_ is None or self.booster_weight == 0:
            return network.astype(np.float64)
        network = np.asarray(network, dtype=np.float64).reshape(-1)
        j = None
        if self.booster_time_feature_ is not None:
            tabular = self.pipeline_["pack"].blocks_["tabular"]
            j = tabular.index(self.booster_time_feature_)
        averaged = np.empty(len(network))
        # the trees' float64 inputs a block of rows at a time
        for start in range(0, len(network), _BOOSTER_ROWS):
            rows = slice(start, start + _BOOSTER_ROWS)
            inputs = booster_inputs({key: v[rows] for key, v in packed.items()})
            weight = np.full(len(inputs), float(self.booster_weight))
            if j is not None:  # later than every training row: the network
                weight[inputs[:, j] > self.booster_latest_] = 0.0
            trees = self.booster_.predict(inputs)
            averaged[rows] = blend(network[rows], trees, weight)
        return averaged

    def _packed_inputs(self, X):
        """``X`` checked and encoded as the network's packed inputs: the encoders
        straight to the network's arrays where they can, else the pipeline's steps
        before the net."""
        self._check_fitted()
        X = check_frame(self, X, reset=False)
        X = self._empty_columns_blanked(X)
        posters = self.column_roles_["poster"]
        check_columns(
            X,
            {
                "poster_column": posters,
                "trained on": [c for c in self.required_columns_ if c not in posters],
            },
            fitted=True,
        )
        packed = encode_for_net(self.pipeline_, X)
        if packed is None:
            with torch.random.fork_rng(devices=[]):
                packed = self.pipeline_[:-1].transform(X)
        return packed

    def _empty_columns_blanked(self, X):
        """``X`` with the columns of ``empty_columns_`` empty, as they were in
        every training row: the model learned nothing from them, so it needs
        none, and a value (a poster where no training row had one) would only
        move its predictions where it never trained. A warning names the
        columns whose values are so dropped."""
        given = [
            c for c in self.empty_columns_ if c in X.columns and not holds_nothing(X[c])
        ]
        if given:
            warn_user(
                f"Column(s) {given} held no value in any training row, so the "
                "model learned nothing from them: their values here are read as "
                "empty. Train on rows that have them to use them.",
                DataWarning,
            )
        return with_columns_empty(X, self.empty_columns_)

    def _predict_and_encode(self, X) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict`'s scores, and the rows encoded for the difficulty model
        of :class:`~skanime.intervals.ConformalRegressor`: the network's tabular
        block (table, title features, priors, poster prior) and a has-poster
        column, as the booster reads them. ``X`` is encoded once for both."""
        with _in_this_thread(), each_warning_once():
            packed = self._packed_inputs(X)
            return self._predict_packed(packed), booster_inputs(packed)

    def _encoded_rows(self, X) -> np.ndarray:
        """The rows of :meth:`_predict_and_encode`, without predicting."""
        with _in_this_thread(), each_warning_once():
            return booster_inputs(self._packed_inputs(X))

    @property
    def net_(self) -> HybridNet:
        """The fitted :class:`HybridNet` (the pipeline's last step)."""
        self._check_fitted()
        return self.pipeline_[-1]

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded features the network receives."""
        self._check_fitted()
        return self.pipeline_["features"].get_feature_names_out()

    # -- persistence ------------------------------------------------------------------
    def __getstate__(self):
        """The state, stamped with skanime's version and persistence format."""
        # a copy: object.__getstate__ gives the instance's own __dict__
        state = dict(super().__getstate__())
        pipeline = state.get("pipeline_")
        if pipeline is not None and state.get("history_") is getattr(
            pipeline[-1], "history_", None
        ):
            # the network's own history: saved once (skops would write it twice)
            state["history_"], state["_history_is_the_nets"] = None, True
        state["_skanime_version"] = __version__
        state["_skanime_format"] = PERSISTENCE_FORMAT
        return state

    def __setstate__(self, state):
        """Refuse a model saved in another persistence format, clearly."""
        state = dict(state)
        version = state.pop("_skanime_version", "unknown")
        saved_format = state.pop("_skanime_format", None)
        if saved_format != PERSISTENCE_FORMAT:
            raise IncompatibleModelError(
                f"This model was saved by skanime {version} (persistence format "
                f"{saved_format}); skanime {__version__} reads format "
                f"{PERSISTENCE_FORMAT}. Install skanime=={version} to load it, or "
                "train the model again."
            )
        if state.pop("_history_is_the_nets", False):
            state["history_"] = state["pipeline_"][-1].history_
        # a model saved before the booster's time gate predicts as it did
        state.setdefault("booster_time_column", None)
        # saved before date_columns and duration_columns: "auto" reads the
        # roles as they were read (off where numeric_columns is a list)
        state.setdefault("date_columns", "auto")
        state.setdefault("duration_columns", "auto")
        if "booster_" in state:
            state.setdefault("booster_time_feature_", None)
            state.setdefault("booster_latest_", None)
        if "required_columns_" in state:  # saved before empty_columns_
            state.setdefault("empty_columns_", [])
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags
