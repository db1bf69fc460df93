"""``HybridAnimeRegressor``: the whole pipeline behind one scikit-learn estimator."""

from __future__ import annotations

import difflib
import os
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from joblib import parallel_config
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from torch import nn

from ._embedding import PosterEmbedder
from ._net import HybridNet
from ._poster_features import PosterPrior
from ._posters import PosterLoader, poster_loader_for
from ._tabular import (
    DEFAULT_CATEGORICAL_COLUMNS,
    DEFAULT_LIST_COLUMNS,
    DEFAULT_NUMERIC_COLUMNS,
    DEFAULT_POSTER_COLUMN,
    make_tabular_encoder,
)
from ._version import PERSISTENCE_FORMAT, __version__
from .backbones import backbone_name, is_pretrained, resolve_backbone
from .exceptions import (
    ColumnError,
    DataError,
    DeviceError,
    IncompatibleModelError,
    NotFittedError,
    TargetError,
)

__all__ = ["HybridAnimeRegressor"]

#: skorch parameter prefixes that ``HybridAnimeRegressor`` passes to its network.
NET_PREFIXES = (
    "module__",
    "optimizer__",
    "criterion__",
    "iterator_train__",
    "iterator_valid__",
    "callbacks__",
)


def _in_this_thread():
    """Run nested joblib calls (a ColumnTransformer's) sequentially, here.

    Under joblib's Dask backend a nested ``Parallel`` call would *secede* from the
    worker's thread pool, letting the worker start another fit in this process
    while this one runs: the two would then share torch's global random state, and
    a seed would no longer give one result.
    """
    return parallel_config(backend="sequential")


class HybridAnimeRegressor(RegressorMixin, BaseEstimator):
    """Predict an anime's score from its metadata and poster (hybrid MLP + CNN).

    A :class:`~sklearn.pipeline.Pipeline` of :func:`make_tabular_encoder` (with a
    :class:`PosterLoader` for the poster column) and a :class:`HybridNet`, behind one
    estimator: every parameter below, and skorch's prefixed parameters
    (``module__hidden_units``, ``optimizer__weight_decay``, ``iterator_train__*``,
    ``callbacks__*``, ...), can be set, cloned and grid-searched.

    Parameters
    ----------
    numeric_columns : sequence of str or callable, default=("Episodes",)
        Numeric columns (text such as "Unknown" counts as missing).
    categorical_columns : list of str or callable, default=DEFAULT_CATEGORICAL_COLUMNS
        ``("Type", "Source", "Rating")`` by default.
        One-hot encoded columns.
    list_columns : sequence of str or callable, default=DEFAULT_LIST_COLUMNS
        ``("Genres", "Themes", "Studios")`` by default.
        Comma-separated list columns, multi-hot encoded.
    poster_column : str or None, default="poster"
        Column of poster paths; ``None`` fits a tabular-only model. Empty cells are
        missing posters (see :class:`PosterLoader`).
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
    freeze_backbone : bool or "auto", default="auto"
        Keep the backbone's weights fixed. A frozen backbone's poster embeddings
        are computed once by a :class:`PosterEmbedder` and cached (in memory, and
        in ``cache_dir`` if set), so later fits, folds and grid candidates reuse
        them; a trainable one is fine-tuned on images decoded per batch. "auto"
        freezes pretrained backbones and trains the others.
    cache_dir : str or path-like, default=None
        Folder for a disk cache of poster embeddings (frozen backbone only),
        keyed by file content and backbone, shared by processes and sessions.
    engine : {"auto", "torch", "onnx"}, default="auto"
        What runs a frozen backbone over the posters: "onnx" is ONNX Runtime
        (``skanime[onnx]``, about 3x faster on a CPU), "auto" takes it when it is
        installed and ``device`` is the CPU.
    poster_errors : {"warn", "raise"}, default="warn"
        What an unreadable poster gets: a missing poster and a warning, or an error.
    poster_root : str or path-like, default=None
        Folder that relative poster paths are resolved against.
    poster_prior : float or None, default=3000.0
        With a frozen backbone, also feed the table branch one number per anime:
        what a ridge regression (this penalty, on standardised embeddings)
        predicts from the poster alone, cross-fitted on the training rows
        (:class:`PosterPrior`; 0 without a poster). None leaves it out. Chosen
        by 5-fold CV on the poster rows of the MyAnimeList data (seed 1, not the
        benchmark's): it beats a constant-image control where the embedding
        alone, through the network, barely does (``docs/benchmarks.md``).
    lr : float, default=1e-3
        Adam's learning rate.
    max_epochs : int, default=20
    batch_size : int, default=64
    validation_fraction : float, default=0.2
        Share of the training rows held out to score each epoch (``history_``); 0
        disables validation (and early stopping).
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for ``patience`` epochs and
        restore the best epoch's weights.
    patience : int, default=5
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    num_workers : int, default=0
        DataLoader worker processes that decode posters in parallel.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling and the validation split: with an int, two fits
        on the CPU give identical predictions. The global torch RNG is left as it was.
    target_range : tuple of 2 floats or None, default=(1, 10)
        The scale of the scores: a target outside it is an error (a 0-100 scale
        or a wrong column, most likely). None accepts any finite number.
    verbose : int, default=0
        1 prints skorch's table of losses and metrics after every epoch, and a
        progress bar while the posters of a large frame are checked.
    **net_params
        Parameters for the network with one of the prefixes ``module__``,
        ``optimizer__``, ``criterion__``, ``iterator_train__``, ``iterator_valid__``,
        ``callbacks__``.

    Attributes
    ----------
    pipeline_ : Pipeline
        The fitted ``[("features", ColumnTransformer), ("net", HybridNet)]``.
    history_ : skorch.History
        Per-epoch ``train_loss``, ``valid_loss`` (MSE), ``train_mae``,
        ``valid_mae``, ``train_mape``, ``valid_mape`` (percent), ``dur``.
    backbone_ : str, nn.Module or None
        The backbone used ("auto" resolved to a name); None without posters.
    freeze_backbone_ : bool or None
        Whether it was frozen (its embeddings cached); None without posters.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame.

    Examples
    --------
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> df = make_anime(60, random_state=0)
    >>> model = HybridAnimeRegressor(max_epochs=2, min_frequency=1, random_state=0)
    >>> model.fit(df, df["Score"]).predict(df).shape
    (60,)
    """

    _parameter_constraints = {
        "numeric_columns": [list, tuple, callable, None],
        "categorical_columns": [list, tuple, callable, None],
        "list_columns": [list, tuple, callable, None],
        "poster_column": [str, None],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "backbone": [str, nn.Module],
        "freeze_backbone": ["boolean", StrOptions({"auto"})],
        "cache_dir": [str, os.PathLike, None],
        "engine": [StrOptions({"auto", "torch", "onnx"})],
        "poster_errors": [StrOptions({"warn", "raise"})],
        "poster_root": [str, os.PathLike, None],
        "poster_prior": [Interval(Real, 0, None, closed="neither"), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "target_range": [tuple, list, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        numeric_columns=DEFAULT_NUMERIC_COLUMNS,
        categorical_columns=DEFAULT_CATEGORICAL_COLUMNS,
        list_columns=DEFAULT_LIST_COLUMNS,
        poster_column=DEFAULT_POSTER_COLUMN,
        min_frequency=5,
        image_size=None,
        backbone="auto",
        freeze_backbone="auto",
        cache_dir=None,
        engine="auto",
        poster_errors="warn",
        poster_root=None,
        poster_prior=3000.0,
        lr=1e-3,
        max_epochs=20,
        batch_size=64,
        validation_fraction=0.2,
        early_stopping=False,
        patience=5,
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
        self.poster_column = poster_column
        self.min_frequency = min_frequency
        self.image_size = image_size
        self.backbone = backbone
        self.freeze_backbone = freeze_backbone
        self.cache_dir = cache_dir
        self.engine = engine
        self.poster_errors = poster_errors
        self.poster_root = poster_root
        self.poster_prior = poster_prior
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.device = device
        self.num_workers = num_workers
        self.random_state = random_state
        self.target_range = target_range
        self.verbose = verbose
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
        """Set parameters; prefixed keys (``module__*``, ...) go to the network."""
        plain = {}
        for key, value in params.items():
            if key.startswith(NET_PREFIXES):
                setattr(self, key, value)
            else:
                plain[key] = value
        return super().set_params(**plain) if plain else self

    def _check_net_params(self):
        bad = [k for k in self._net_params() if not k.startswith(NET_PREFIXES)]
        if bad:
            hints = []
            for key in bad:
                prefix = key.split("__")[0] + "__"
                close = difflib.get_close_matches(prefix, NET_PREFIXES, n=1)
                hint = (
                    f" (did you mean {close[0] + key[len(prefix) :]!r}?)"
                    if close
                    else ""
                )
                hints.append(f"{key!r}{hint}")
            raise ValueError(
                f"Unknown parameter(s) {', '.join(hints)} for HybridAnimeRegressor; "
                f"network parameters must start with one of {', '.join(NET_PREFIXES)}."
            )

    def _check_device(self) -> None:
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise DeviceError(
                f"device={self.device!r}, but torch sees no CUDA device here; use "
                'device="cpu", or check the GPU driver and the torch build '
                f"(torch {torch.__version__})."
            )

    # -- input checks -------------------------------------------------------------
    def _column_specs(self) -> dict:
        return {
            "numeric_columns": self.numeric_columns,
            "categorical_columns": self.categorical_columns,
            "list_columns": self.list_columns,
            "poster_column": (
                None if self.poster_column is None else [self.poster_column]
            ),
        }

    def _check_columns(self, X: pd.DataFrame) -> None:
        present = set(X.columns)
        problems = []
        for param, spec in self._column_specs().items():
            if spec is None or callable(spec):
                continue
            if isinstance(spec, str):
                spec = [spec]
            missing = [c for c in spec if c not in present]
            if missing:
                hints = [
                    f"{c!r}"
                    + (
                        f" (did you mean {close[0]!r}?)"
                        if (
                            close := difflib.get_close_matches(
                                str(c), map(str, present), 1
                            )
                        )
                        else ""
                    )
                    for c in missing
                ]
                fix = (
                    "pass poster_column=None for a tabular-only model"
                    if param == "poster_column"
                    else f"set {param}= to the columns you have"
                )
                problems.append(f"{param}: {', '.join(hints)} ({fix})")
        if problems:
            raise ColumnError(
                "Column(s) missing from X: "
                + "; ".join(problems)
                + f". X has columns {sorted(map(str, present))}."
            )

    def _frame(self, X, *, reset: bool) -> pd.DataFrame:
        """Validate ``X`` and return it as a DataFrame.

        At predict time a DataFrame may hold more columns than the model uses, in
        any order (the Score column, a synopsis, ...): the model picks its own by
        name and a missing one is a :class:`ColumnError`.
        """
        if isinstance(X, pd.DataFrame):
            if reset or not hasattr(self, "feature_names_in_"):
                validate_data(self, X, skip_check_array=True, reset=reset)
            if X.shape[1] == 0:
                raise ColumnError("X has no columns.")
        else:
            X = validate_data(
                self, X, dtype=None, ensure_all_finite="allow-nan", reset=reset
            )
            X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        if len(X) == 0:
            raise DataError("X is empty: 0 samples (rows) were given.")
        self._check_columns(X)
        return X

    def _target(self, y, n_samples: int) -> np.ndarray:
        if y is None:
            raise TargetError(
                "HybridAnimeRegressor requires y to be passed, but the target y is "
                "None; pass the scores."
            )
        try:
            values = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TargetError(
                f"The target y must be numeric; it holds values that are not numbers "
                f"({exc})."
            ) from exc
        if values.ndim == 2 and values.shape[1] == 1:
            values = column_or_1d(values, warn=True)
        if values.ndim != 1:
            raise TargetError(
                f"y must be 1-D (one score per row); got shape {values.shape}."
            )
        if len(values) != n_samples:
            raise DataError(
                f"X has {n_samples} rows but y has {len(values)}: inconsistent numbers "
                "of samples."
            )
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise TargetError(
                f"y holds {len(bad)} NaN or infinite value(s) (first at position "
                f"{bad[0]}); drop unscored rows first (load_mal(..., dropna=True))."
            )
        if self.target_range is not None:
            low, high = self.target_range
            outside = np.flatnonzero((values < low) | (values > high))
            if len(outside):
                raise TargetError(
                    f"y holds {len(outside)} score(s) outside [{low}, {high}] (first "
                    f"at position {outside[0]}: {values[outside[0]]!r}); rescale "
                    "them, or set target_range=None for another scale."
                )
        return values

    # -- building -----------------------------------------------------------------
    def _poster_step(
        self, seed: int | None
    ) -> tuple[PosterLoader | PosterEmbedder | None, dict]:
        """The poster column's transformer and the module parameters it implies.

        The backbone is built by the :class:`PosterEmbedder` (frozen, with its
        own seed: its ``fit`` may run in a nested joblib task, on another Dask
        worker, outside this fit's random state) or by the network's module
        (trained, under the fit's seed).
        """
        if self.poster_column is None:
            return None, {}
        name = backbone_name(self.backbone)
        frozen = self.freeze_backbone
        if frozen == "auto":
            frozen = (
                is_pretrained(name)
                if isinstance(name, str)
                else bool(getattr(name, "pretrained", False))
            )
        if frozen:
            embedder = PosterEmbedder(
                name,
                image_size=self.image_size,
                root=self.poster_root,
                on_error=self.poster_errors,
                engine=self.engine,
                cache_dir=self.cache_dir,
                device=self.device,
                progress=bool(self.verbose),
                random_state=seed,
            )
            return embedder, {}
        # the module builds its own copy; this one only tells the input it needs
        # (a name, not a module, reaches the net, so that skops can save it)
        with torch.random.fork_rng(devices=[]):
            probe = resolve_backbone(name, input_size=self.image_size)
        loader = poster_loader_for(
            probe,
            image_size=self.image_size,
            root=self.poster_root,
            on_error=self.poster_errors,
            progress=bool(self.verbose),
        )
        return loader, {
            "module__backbone": name,
            "module__image_size": loader.image_size,
        }

    def _make_pipeline(self, seed: int | None) -> Pipeline:
        poster_step, module_params = self._poster_step(seed)
        encoder = make_tabular_encoder(
            self.numeric_columns,
            self.categorical_columns,
            self.list_columns,
            self.poster_column,
            min_frequency=self.min_frequency,
            poster_loader=poster_step,
        )
        if isinstance(poster_step, PosterEmbedder) and self.poster_prior is not None:
            # a second reader of the same (cached) embeddings; its column is not
            # "poster__*", so the network takes it as a tabular input
            prior = Pipeline(
                [
                    ("embedder", clone(poster_step)),
                    ("prior", PosterPrior(self.poster_prior, random_state=seed)),
                ]
            )
            encoder.transformers.append(("poster_prior", prior, [self.poster_column]))
            encoder.set_output(transform="pandas")
        callbacks = []
        train_split = None
        if self.validation_fraction > 0:
            train_split = ValidSplit(self.validation_fraction, random_state=seed)
            if self.early_stopping:
                callbacks.append(
                    (
                        "early_stopping",
                        EarlyStopping(patience=self.patience, load_best=True),
                    )
                )
        net_params = {
            **module_params,
            "iterator_train__shuffle": True,
            "iterator_train__num_workers": self.num_workers,
            "iterator_valid__num_workers": self.num_workers,
        }
        net_params.update(self._net_params())
        net = HybridNet(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=self.device,
            verbose=self.verbose,
            poster_loader=poster_step
            if isinstance(poster_step, PosterLoader)
            else None,
            **net_params,
        )
        return Pipeline([("features", encoder), ("net", net)])

    # -- the estimator API ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the encoders and train the network.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Metadata columns plus the poster-path column.
        y : array-like of shape (n_samples,)
            The scores.

        Returns
        -------
        self : HybridAnimeRegressor
        """
        self._check_net_params()
        self._check_device()
        X = self._frame(X, reset=True)
        y = self._target(y, len(X))
        if len(X) < 2:
            raise DataError(
                f"HybridAnimeRegressor needs at least 2 samples to fit; got {len(X)} "
                "sample."
            )
        if (
            self.validation_fraction > 0
            and round(len(X) * self.validation_fraction) < 1
        ):
            raise DataError(
                f"validation_fraction={self.validation_fraction} of {len(X)} samples "
                "leaves no validation row; use more rows or validation_fraction=0."
            )
        seed = None
        if self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        with torch.random.fork_rng(devices=[]), _in_this_thread():
            if seed is not None:
                torch.manual_seed(seed)
            pipeline = self._make_pipeline(seed)
            pipeline.fit(X, y)
        self.pipeline_ = pipeline
        self.history_ = pipeline[-1].history_
        if self.poster_column is None:
            self.backbone_ = self.freeze_backbone_ = None
        else:
            self.backbone_ = backbone_name(self.backbone)
            posters = pipeline[0].named_transformers_["poster"]
            self.freeze_backbone_ = isinstance(posters, PosterEmbedder)
        return self

    def _check_fitted(self):
        try:
            check_is_fitted(self, "pipeline_")
        except Exception as exc:
            raise NotFittedError(
                "This HybridAnimeRegressor is not fitted yet; call fit(X, y) first."
            ) from exc

    def predict(self, X):
        """Predicted scores, shape ``(n_samples,)``."""
        self._check_fitted()
        X = self._frame(X, reset=False)
        # DataLoaders draw a seed: leave the caller's random state as it was
        with torch.random.fork_rng(devices=[]), _in_this_thread():
            return self.pipeline_.predict(X).astype(np.float64)

    @property
    def net_(self) -> HybridNet:
        """The fitted :class:`HybridNet` (the pipeline's last step)."""
        self._check_fitted()
        return self.pipeline_[-1]

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded features the network receives."""
        self._check_fitted()
        return self.pipeline_[0].get_feature_names_out()

    # -- persistence ------------------------------------------------------------------
    def __getstate__(self):
        """The state, stamped with skanime's version and persistence format."""
        state = super().__getstate__()
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
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags
