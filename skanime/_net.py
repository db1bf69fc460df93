"""``HybridNet``: the skorch regressor that trains :class:`HybridModule`."""

from __future__ import annotations

import contextlib
import contextvars
import signal
import threading
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_array
from skorch import NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping, EpochScoring
from skorch.dataset import ValidSplit, unpack_data
from skorch.history import History
from skorch.utils import get_map_location, to_device, to_numpy, to_tensor
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    Subset,
)

from ._augment import AugmentedPosters, PosterAugmentation
from ._branches import continuous_columns
from ._compact_state import pack_json, unpack_json
from ._dataset import HybridDataset, _writable
from ._docs import substitute
from ._metrics import mean_absolute_percentage_error as percentage_error
from ._module import HybridModule
from ._posters import poster_loader_for
from ._precision import as_float32, check_mixed_precision, training_autocast
from ._print_log import TerminalPrintLog
from ._threads import small_batch_threads
from ._utils import dump_tensors, is_missing, load_tensors
from ._validation import check_sample_weight, device_missing
from .backbones import restoring_weights
from .exceptions import ColumnError, ShapeMismatchError

__all__ = [
    "HybridNet",
    "InputShapeSetter",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "optimizer_state_saved",
]

#: Key of the serialised tensors in a pickled (or skops) HybridNet state.
_TORCH_STATE = "_skanime_torch_state"
#: Where a loaded net keeps its optimizer's saved state until the optimizer
#: is first needed (``HybridNet.__getattr__``).
_UNBUILT_OPTIMIZER = "_skanime_unbuilt_optimizer"
#: Key of the training history, saved as one JSON text.
_HISTORY_JSON = "_skanime_history_json"
#: Whether a pickled HybridNet holds its optimizer's state (see
#: :func:`optimizer_state_saved`).
_SAVE_OPTIMIZER: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "skanime_save_optimizer", default=True
)


@contextlib.contextmanager
def optimizer_state_saved(saved: bool) -> Iterator[None]:
    """While it runs, a pickled (or skops-saved) :class:`HybridNet` holds its
    optimizer's state only if ``saved``; one saved without it predicts the
    same, and training it further starts the optimizer afresh."""
    token = _SAVE_OPTIMIZER.set(saved)
    try:
        yield
    finally:
        _SAVE_OPTIMIZER.reset(token)


#: Rows per forward pass when predicting an in-memory table.
INFERENCE_ROWS = 8192

#: skorch's 20% validation split (stateless, so one shared instance is safe).
DEFAULT_TRAIN_SPLIT = ValidSplit(0.2)


def _truth_and_prediction(net, X, y) -> tuple[np.ndarray, np.ndarray]:
    y_true = to_numpy(y) if torch.is_tensor(y) else np.asarray(y)
    return y_true.reshape(-1), net.predict(X).reshape(-1)


def mean_absolute_error(net, X, y) -> float:
    """MAE of ``net`` on ``(X, y)``, in score points (a skorch scoring callable)."""
    y_true, y_pred = _truth_and_prediction(net, X, y)
    return float(np.mean(np.abs(y_pred - y_true)))


def mean_absolute_percentage_error(net, X, y) -> float:
    """MAPE of ``net`` on ``(X, y)`` in percent, as the paper gives it."""
    return percentage_error(*_truth_and_prediction(net, X, y))


def _folds_of(X, n_members: int) -> torch.Tensor | None:
    """The rows' ``fold`` in a batch's ``X`` (see :class:`~skanime.MemberFolds`),
    checked against the module's ``n_members``."""
    fold = X.get("fold") if isinstance(X, dict) else None
    if fold is None:
        return None
    fold = torch.as_tensor(fold).reshape(-1)
    if len(fold) and int(fold.max()) >= n_members:
        raise ValueError(
            f"The rows carry fold {int(fold.max())} but the module has {n_members} "
            "members: give MemberFolds the module's n_members."
        )
    return fold


def _n_words(X) -> int:
    """The width of a dict input's ``"words"`` block (0 without one)."""
    if isinstance(X, dict) and X.get("words") is not None:
        shape = np.shape(X["words"])
        if len(shape) != 2:
            raise ValueError(
                f"X['words'] must be 2-D, (n_samples, n_words); got shape {shape}."
            )
        return int(shape[1])
    return 0


#: What a batch's ``X`` carries about its rows that is not a module input.
_ROW_INFO = ("fold", "sample_weight")


def _module_inputs(X):
    """A batch's ``X`` without the rows' ``fold`` and ``sample_weight``."""
    if isinstance(X, dict) and any(key in X for key in _ROW_INFO):
        return {key: value for key, value in X.items() if key not in _ROW_INFO}
    return X


def _weights_of(X, rows=None) -> torch.Tensor | None:
    """The rows' ``sample_weight`` in a batch's ``X`` as ``(n, 1)``, or None;
    ``rows`` selects some of them."""
    weight = X.get("sample_weight") if isinstance(X, dict) else None
    if weight is None:
        return None
    weight = torch.as_tensor(weight).reshape(-1, 1)
    return weight if rows is None else weight[rows]


def _fused_adam_supports(param_groups) -> bool:
    """Whether every parameter of ``param_groups`` (skorch's groups, dicts with
    ``"params"``) is a floating-point tensor on the CPU or a CUDA device, which
    torch's fused Adam kernels cover."""
    params = [p for group in param_groups for p in group["params"]]
    return bool(params) and all(
        p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params
    )


class TrainingInterrupted(BaseException):
    """Ctrl-C during :meth:`HybridNet.fit_loop`; re-raised as ``KeyboardInterrupt``
    (not a ``KeyboardInterrupt`` itself, which skorch would catch)."""


@contextlib.contextmanager
def _sigint_raises(error: type[BaseException]):
    """While in the block, SIGINT raises ``error``: only in the main thread and
    only where Python's default SIGINT handler is installed (a caller's own
    handler is left alone)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def handler(signum, frame):
        raise error

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class InputShapeSetter(Callback):
    """Set the module's data-dependent parameters when training begins.

    Like skorch's ``InputShapeSetter``, at ``on_train_begin`` of a freshly
    initialised :class:`HybridNet` (``fit``, the first ``partial_fit``) it reads the
    packed input and the target and sets ``module__n_tabular``,
    ``module__with_image``, ``module__embedding_dim``,
    ``module__continuous_columns``, ``module__target_mean`` and
    ``module__target_std``, then builds the module, criterion and optimizer for
    them. Later ``partial_fit`` calls and warm starts keep the trained module.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if not net.__dict__.pop("_awaiting_shapes", False):
            return
        if X is not None and not isinstance(X, torch.utils.data.Dataset):
            for key, value in net.discover_shapes(X, y).items():
                setattr(net, key, value)
        # build for the data (draws the initial weights from torch's RNG once);
        # quietly: the module so far is a placeholder, so this is its first build,
        # not the "Re-initializing ... re-set" that skorch prints for a user's change
        verbose, net.verbose = net.verbose, 0
        try:
            net._initialize_module()
            net._initialize_criterion()
            net._initialize_optimizer()
        finally:
            net.verbose = verbose


@substitute
class HybridNet(NeuralNetRegressor):
    """skorch's ``NeuralNetRegressor`` for :class:`HybridModule` (Adam, MSE loss).

    What it adds to skorch:

    * ``X`` is the dict that :class:`~skanime.PackInputs` makes (a skorch
      ``SliceDict``), whose keys are :meth:`HybridModule.forward`'s inputs:
      ``"tabular"`` (float32 ``(n, k)``) and either ``"poster"`` (a column of poster
      paths, ``None`` for a missing poster, decoded inside a
      :class:`HybridDataset`: once a fit in training, per batch in ``predict``)
      or ``"has_image"`` (``(n, 1)``) and ``"embedding"`` (``(n, d)``, the
      output of a :class:`~skanime.PosterEmbedder`), and
      optionally ``"words"`` (``(n, w)`` 0/1 word columns of
      :class:`~skanime.TitleWords`), which join the tabular block last and set
      the module's ``n_words``, and ``"sample_weight"`` (``(n,)``: each row's
      loss, in training and validation, is multiplied by its weight, scaled
      to mean 1). A plain 2-D array or DataFrame is a tabular-only input.
    * The posters are decoded by an image decoder the net builds from its own
      backbone's config (input size, mean, std) and its ``poster_root`` and
      ``poster_errors``: nothing is shared with the encoding steps before it.
    * The module's tabular width, whether it has a poster branch, and the target's
      mean and standard deviation are discovered from the data when training
      begins, by the :class:`InputShapeSetter` callback.
    * A 1-D ``y`` is reshaped to ``(n, 1)`` to match the network's output, and
      :meth:`get_loss` refuses mismatched shapes, so ``MSELoss`` can never broadcast
      to an ``(n, n)`` matrix. ``predict`` returns a 1-D array.
    * Validation MAE and MAPE (percent) are scored every epoch, on the training
      batches too, and kept in ``history_`` as ``train_mae``, ``valid_mae``,
      ``train_mape`` and ``valid_mape``.
    * A ``KeyboardInterrupt`` (Ctrl-C) during training propagates out of ``fit``
      and ``partial_fit``, as in any scikit-learn estimator (skorch itself would
      return normally with a partly trained network).
    * Optionally, training-time augmentation of the posters (``augment``), an
      auxiliary poster-only loss (``poster_aux_weight``) and bfloat16 mixed
      precision in training (``mixed_precision``).

    Parameters
    ----------
    module : type or nn.Module, default=HybridModule
    %(poster_root)s
    %(poster_errors)s
    %(augment)s
    %(poster_aux_weight)s
    %(mixed_precision)s
    criterion, optimizer, train_split, **kwargs
        As in skorch (defaults: ``MSELoss``, ``Adam``, a 20%% validation split).

    Attributes
    ----------
    image_decoder_ : PosterLoader or None
        Decodes the posters for the module's backbone; None without a backbone.
    n_features_in_ : int
        Input width: tabular columns, plus the poster column or the ``has_image``
        flag and embedding.

    Examples
    --------
    >>> import numpy as np
    >>> from skanime import HybridNet
    >>> rng = np.random.default_rng(0)
    >>> X = {"tabular": rng.normal(size=(20, 3)).astype(np.float32)}
    >>> net = HybridNet(max_epochs=1, train_split=None, verbose=0)
    >>> net.fit(X, rng.normal(7, 1, size=20)).predict(X).shape
    (20,)
    """

    def __init__(
        self,
        module=HybridModule,
        *args,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        train_split=DEFAULT_TRAIN_SPLIT,
        poster_root=None,
        poster_errors="warn",
        augment=False,
        poster_aux_weight=0.0,
        mixed_precision=None,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            optimizer=optimizer,
            train_split=train_split,
            **kwargs,
        )
        self.poster_root = poster_root
        self.poster_errors = poster_errors
        self.augment = augment
        self.poster_aux_weight = poster_aux_weight
        self.mixed_precision = mixed_precision

    def _yield_callbacks(self):
        """skorch's callbacks in skorch's order (``PrintLog`` last), except that
        early stopping comes after the log: it ends training by raising at the end
        of an epoch, and would otherwise leave that last epoch's row unprinted."""
        stoppers = []
        for item in super()._yield_callbacks():
            callback = item[1]
            if isinstance(callback, EarlyStopping) or callback is EarlyStopping:
                stoppers.append(item)
            else:
                yield item
        yield from stoppers

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        scores = [
            (
                f"{split}_{name}",
                EpochScoring(
                    scoring,
                    lower_is_better=True,
                    on_train=split == "train",
                    name=f"{split}_{name}",
                ),
            )
            for name, scoring in [
                ("mae", mean_absolute_error),
                ("mape", mean_absolute_percentage_error),
            ]
            for split in ("train", "valid")
        ]
        # print_log must stay last so that it shows the scores of the epoch;
        # it is skorch's, with colour codes only where a terminal shows them
        return (
            [("input_shapes", InputShapeSetter())]
            + [item for item in callbacks if item[0] != "print_log"]
            + scores
            + [("print_log", TerminalPrintLog())]
        )

    # -- initialisation: the module is built for the data at on_train_begin ------
    def initialize(self):
        """Initialise the net; the module is a placeholder until training begins.

        The data-dependent sizes are set by :class:`InputShapeSetter` when
        training begins, which then builds the real module. The placeholder is
        built without touching torch's random state, so a seed gives the same
        initial weights as building the module once.
        """
        check_mixed_precision(self.mixed_precision, self.device)
        self._awaiting_shapes = True
        with torch.random.fork_rng(devices=[]):
            return super().initialize()

    def initialize_module(self):
        """Build the module and, for a poster backbone, its image decoder."""
        if self.__dict__.get("_awaiting_shapes", False):
            self.module_ = torch.nn.Linear(1, 1)  # replaced at on_train_begin
            self.image_decoder_ = None
            return self
        kwargs = self.get_params_for("module")
        if self.poster_aux_weight:
            kwargs["poster_head"] = True  # the auxiliary loss's poster-only output
        self.module_ = self.initialized_instance(self.module, kwargs)
        backbone = getattr(self.module_, "backbone", None)
        self.image_decoder_ = (
            None
            if backbone is None
            else poster_loader_for(
                backbone,
                image_size=self.get_params_for("module").get("image_size"),
                poster_root=self.poster_root,
                poster_errors=self.poster_errors,
            )
        )
        return self

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's optimizer arguments, with ``fused=True`` for Adam and AdamW
        where torch has a fused kernel for every parameter (float tensors on the
        CPU or a CUDA device) and neither ``fused`` nor ``foreach`` was given:
        the same update, several times faster than the per-tensor loop that is
        torch's default on the CPU (an ensemble's step took 14 ms, fused 2 ms)."""
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if (
            prefix == "optimizer"
            and self.optimizer in (torch.optim.Adam, torch.optim.AdamW)
            and "fused" not in kwargs
            and "foreach" not in kwargs
            and _fused_adam_supports(args[0] if args else [])
        ):
            kwargs["fused"] = True
        return args, kwargs

    # -- Ctrl-C: propagate, as every scikit-learn estimator does ------------------
    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's training loop; Ctrl-C raises ``KeyboardInterrupt`` out of
        ``fit`` once the ``on_train_end`` callbacks have run.

        skorch catches ``KeyboardInterrupt`` (its ``EarlyStopping`` raises one to
        stop), so while the loop runs in the main thread a SIGINT raises
        :class:`TrainingInterrupted` instead, which skorch lets through.

        ``mixed_precision`` is checked again here, before any epoch: it may have
        been set with ``set_params`` after :meth:`initialize`.
        """
        check_mixed_precision(self.mixed_precision, self.device)
        try:
            with _sigint_raises(TrainingInterrupted):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except TrainingInterrupted:
            self._interrupted = True
            return self

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.__dict__.pop("_interrupted", False):
            raise KeyboardInterrupt
        super().on_train_end(net, X=X, y=y, **kwargs)

    # -- inputs ----------------------------------------------------------------
    def _split_inputs(self, X, *, join_words=True):
        """Return ``(tabular, paths, has_image, embedding)`` from any accepted ``X``.

        At most one of ``paths`` and ``embedding`` is not None. A dict's
        ``"words"`` are joined to ``tabular``, last, unless ``join_words`` is False
        (:meth:`discover_shapes` only needs their width, :func:`_n_words`).
        """
        if sp.issparse(X):  # before the dict test: a DOK matrix is a dict
            raise TypeError(
                "Sparse data was passed for X, but dense data is required: "
                "HybridNet takes a dense array, a DataFrame or a dict."
            )
        paths = has_image = embedding = None
        if isinstance(X, dict):
            unknown = set(X) - {
                "tabular",
                "words",
                "poster",
                "has_image",
                "embedding",
                "sample_weight",
            }
            if unknown:
                raise ValueError(
                    f"Unknown input(s) {sorted(unknown)} in X; HybridNet takes "
                    "'tabular', 'words', 'poster' or 'has_image' and 'embedding', "
                    "and 'sample_weight'."
                )
            tabular = check_array(
                X["tabular"], dtype=np.float32, input_name="X", ensure_min_features=0
            )
            if join_words and X.get("words") is not None:
                # the words' 0/1 columns follow the tabular ones (module n_words)
                words = check_array(
                    X["words"],
                    dtype=np.float32,
                    input_name="words",
                    ensure_min_features=0,
                )
                tabular = np.hstack([tabular, words])
            if X.get("poster") is not None:
                paths = np.asarray(X["poster"], dtype=object).reshape(-1)
            elif X.get("embedding") is not None:
                embedding = check_array(
                    X["embedding"], dtype=np.float32, input_name="embedding"
                )
                has_image = (
                    np.ones((len(embedding), 1), np.float32)
                    if X.get("has_image") is None
                    else np.asarray(X["has_image"], np.float32).reshape(-1, 1)
                )
        else:
            if torch.is_tensor(X):
                X = X.numpy(force=True)
            tabular = check_array(X, dtype=np.float32, input_name="X")
        expected = getattr(self, "n_features_in_", None)
        width = self._n_features(tabular, paths, embedding)
        if not join_words:
            width += _n_words(X)
        if expected is not None and width != expected:
            raise ValueError(
                f"X has {width} features, but HybridNet is expecting {expected} "
                "features as input."
            )
        return tabular, paths, has_image, embedding

    @staticmethod
    def _n_features(tabular, paths, embedding) -> int:
        """Input width: tabular columns, plus the poster column or block."""
        if paths is not None:
            return tabular.shape[1] + 1
        return tabular.shape[1] + (0 if embedding is None else embedding.shape[1] + 1)

    def discover_shapes(self, X, y) -> dict:
        """The module parameters that ``X`` and ``y`` imply (see
        :class:`InputShapeSetter`); sets ``n_features_in_``."""
        y = self._as_target(y)
        self.__dict__.pop("n_features_in_", None)
        # the words' width is all it needs of them: joining them to the table is
        # get_dataset's work (a copy of the whole block)
        tabular, paths, _, embedding = self._split_inputs(X, join_words=False)
        n_words = _n_words(X)
        if len(y) != len(tabular):
            raise ValueError(
                f"X has {len(tabular)} rows but y has {len(y)}: inconsistent numbers "
                "of samples."
            )
        if tabular.shape[1] + n_words == 0 and paths is None and embedding is None:
            raise ColumnError(
                "X has no input features: no tabular column was selected and there "
                "is no poster column."
            )
        self.n_features_in_ = self._n_features(tabular, paths, embedding) + n_words
        std = float(y.std()) if len(y) > 1 else 1.0
        shapes = {
            "module__n_tabular": tabular.shape[1] + n_words,
            "module__with_image": paths is not None or embedding is not None,
            "module__embedding_dim": 0 if embedding is None else embedding.shape[1],
            "module__continuous_columns": continuous_columns(tabular),
            "module__target_mean": float(y.mean()),
            "module__target_std": std if std > 0 else 1.0,
        }
        if n_words:
            shapes["module__n_words"] = n_words
        return shapes

    def get_dataset(self, X, y=None):
        """Wrap ``X`` (and ``y``, as ``(n, 1)`` float32) in a :class:`HybridDataset`.

        With ``y`` (training: many epochs over the same rows), the posters are
        decoded once, beforehand, where their pixels fit in
        :data:`~skanime._dataset.PRELOAD_MAX_BYTES` (``preload``); without
        (``predict``, one pass), each poster is decoded as its row is read.
        With ``verbose``, a progress bar shows the decoding once it has taken a
        second."""
        if isinstance(X, torch.utils.data.Dataset):
            return X
        tabular, paths, has_image, embedding = self._split_inputs(X)
        if y is not None:
            y = self._as_target(y)
        decoder = None
        if paths is not None:
            decoder = getattr(self, "image_decoder_", None)
            if decoder is None:
                raise ValueError(
                    "X holds poster paths but this HybridNet's module has no "
                    "backbone to run on them (was it fitted with embeddings?)."
                )
            paths = np.array(
                [None if is_missing(p) else decoder.resolve(p) for p in paths],
                dtype=object,
            )
        weight = X.get("sample_weight") if isinstance(X, dict) else None
        return HybridDataset(
            tabular,
            paths,
            y,
            loader=decoder,
            has_image=has_image,
            embedding=embedding,
            sample_weight=check_sample_weight(weight, len(tabular)),
            preload=y is not None,
            progress=bool(self.verbose),
        )

    def get_iterator(self, dataset, training=False):
        """skorch's DataLoader; for a dataset with nothing to decode per row (the
        table, with or without cached poster embeddings), one that draws batches of
        indices and reads each batch at once: the same batches and the same random
        draws as row-by-row loading, several times faster. Validation over such a
        dataset reads :data:`INFERENCE_ROWS` rows a batch (or ``batch_size`` if
        larger) unless ``iterator_valid__batch_size`` is given: no gradient is
        kept, and on 8,662 rows a pass took 0.13 s against 0.20 s in batches of
        256, the same loss."""
        base = dataset.dataset if isinstance(dataset, Subset) else dataset
        prefix = "iterator_train" if training else "iterator_valid"
        if isinstance(base, HybridDataset) and self.get_params_for(prefix).get(
            "num_workers", 0
        ):
            base.share_memory_()  # workers get the preloaded pixels, not copies
        if training and self.augment:
            dataset = self._augmented(dataset, base)
        iterator = self.iterator_train if training else self.iterator_valid
        if not (
            isinstance(base, HybridDataset)
            and base.batchable
            and iterator is DataLoader
        ):
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for(prefix)
        default = self.batch_size
        if not training and default != -1:
            default = max(default, INFERENCE_ROWS)
        batch_size = kwargs.pop("batch_size", default)
        if batch_size == -1:
            batch_size = len(dataset)
        order = (
            RandomSampler(dataset, generator=kwargs.pop("generator", None))
            if kwargs.pop("shuffle", False)
            else SequentialSampler(dataset)
        )
        batches = BatchSampler(
            order, batch_size, drop_last=kwargs.pop("drop_last", False)
        )
        return DataLoader(dataset, sampler=batches, batch_size=None, **kwargs)

    def _augmented(self, dataset, base) -> AugmentedPosters:
        """The training rows with their posters augmented (``augment=True``)."""
        decoder = getattr(self, "image_decoder_", None)
        if not isinstance(base, HybridDataset) or base.paths is None or decoder is None:
            raise ValueError(
                "augment=True needs posters decoded per batch for a backbone "
                "trained inside the network; this net gets "
                f"{'cached embeddings' if decoder is None else 'another dataset'}. "
                "Use freeze_backbone=False (or a number of blocks) with augment, "
                "or augment=False."
            )
        transform = PosterAugmentation(
            decoder.image_size, mean=decoder.mean, std=decoder.std
        )
        return AugmentedPosters(dataset, transform)

    @staticmethod
    def _as_target(y) -> np.ndarray:
        """``y`` as finite float32 of shape ``(n, 1)``, the network output's shape."""
        if y is None:
            raise ValueError(
                "HybridNet requires y to be passed, but the target y is None."
            )
        y = check_array(y, dtype=np.float32, ensure_2d=False, input_name="y")
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion (MSE or Huber) of the prediction; raises
        :class:`ShapeMismatchError` unless the shapes match.

        In training mode a :class:`HybridModule` with ``n_members > 1`` or a
        ``poster_head`` returns ``(mean, members, poster_scores, has_image)``. The
        ensemble is scored member by member, so that each member learns on its
        own rather than the ensemble as one wider network: the loss's value is
        the mean of the members' losses, its gradient that of their sum, which
        gives every member the gradient it would get alone (with a mean, Adam's
        ``weight_decay`` would weigh ``n_members`` times as much against each
        member's data). With ``poster_aux_weight`` > 0 the loss adds
        ``poster_aux_weight`` times the same loss of the members' poster-only
        scores, over the rows that have a poster.
        """
        members = poster_scores = has_image = None
        if isinstance(y_pred, tuple):
            y_pred, members, poster_scores, has_image = y_pred
        y_true = torch.as_tensor(y_true, device=y_pred.device).to(y_pred.dtype)
        if y_pred.shape != y_true.shape:
            raise ShapeMismatchError(
                f"Network output has shape {tuple(y_pred.shape)} but the target has "
                f"shape {tuple(y_true.shape)}; the loss would broadcast. Reshape y to "
                "(n_samples, 1)."
            )
        loss = self._members_loss(
            y_pred if members is None else members, y_true, X, training
        )
        # no auxiliary loss asked for, or no poster head (an empty placeholder)
        if (
            not self.poster_aux_weight
            or poster_scores is None
            or not len(poster_scores)
        ):
            return loss
        present = has_image.reshape(-1) > 0
        if not present.any():
            return loss
        # (k, n_members) against (k, 1): the rows with a poster
        poster_loss = self._members_loss(
            poster_scores[present], y_true[present], X, training, rows=present
        )
        return loss + self.poster_aux_weight * poster_loss

    def _members_loss(self, scores, y_true, X, training, rows=None):
        """The criterion of ``scores`` ``(n, k)`` against ``y_true`` ``(n, 1)``:
        the members' mean loss as its value, their summed loss as its gradient
        (see :meth:`get_loss`). Where the batch's rows carry their fold (from
        :class:`~skanime.MemberFolds`), member ``j`` is scored on the rows
        outside fold ``j`` only; ``rows`` selects the rows of ``X`` that
        ``scores`` are for."""
        fold = _folds_of(X, scores.shape[1])
        weight = _weights_of(X, rows)
        if weight is not None:
            weight = weight.to(scores.device, scores.dtype)
        if fold is None or scores.shape[1] == 1:
            mean = self._criterion(
                scores, y_true.expand_as(scores), weight, X=X, training=training
            )
        else:
            fold = fold.to(scores.device)
            fold = fold if rows is None else fold[rows]
            losses = [
                self._criterion(
                    scores[fold != j, j : j + 1],
                    y_true[fold != j],
                    None if weight is None else weight[fold != j],
                    X=X,
                    training=training,
                )
                for j in range(scores.shape[1])
                if bool((fold != j).any())
            ]
            if not losses:
                return scores.sum() * 0.0
            mean = torch.stack(losses).mean()
        if scores.shape[1] == 1:
            return mean
        total = mean * scores.shape[1]
        return total - (total - mean).detach()

    def _criterion(self, scores, y_true, weight, *, X, training):
        """skorch's loss of ``scores`` against ``y_true`` (same shapes), or, with
        ``weight`` (``(n, 1)``), the mean of each row's loss times its weight."""
        if weight is None:
            return super().get_loss(scores, y_true, X=X, training=training)
        criterion = self.criterion_
        reduction = getattr(criterion, "reduction", None)
        if reduction is None:
            raise TypeError(
                f"sample_weight needs a criterion with a 'reduction' (a torch.nn "
                f"loss); {type(criterion).__name__} has none."
            )
        criterion.reduction = "none"
        try:
            per_row = criterion(scores, y_true)
        finally:
            criterion.reduction = reduction
        return (per_row * weight).mean()

    def infer(self, x, **fit_params):
        """skorch's ``infer``; the rows' ``fold`` (from
        :class:`~skanime.MemberFolds`) goes to a :class:`HybridModule` in
        training mode, whose members then skip the rows they do not learn from,
        and is dropped otherwise (:meth:`get_loss` reads it from the batch).
        In training mode with ``mixed_precision``, the forward pass runs under
        ``torch.autocast`` and its outputs are returned in float32."""
        if not self.module_.training:
            return super().infer(_module_inputs(x), **fit_params)
        if (
            isinstance(x, dict)
            and "fold" in x
            and isinstance(self.module_, HybridModule)
        ):
            x = {**_module_inputs(x), "fold": _folds_of(x, len(self.module_.members))}
        else:
            x = _module_inputs(x)
        with training_autocast(self.mixed_precision, self.device):
            outputs = super().infer(x, **fit_params)
        return as_float32(outputs) if self.mixed_precision else outputs

    def validation_step(self, batch, **fit_params):
        """skorch's validation step; where the rows carry their fold (from
        :class:`~skanime.MemberFolds`), each row's prediction and loss are those
        of the member that did not train on it."""
        Xi, yi = unpack_data(batch)
        fold = _folds_of(Xi, len(self.module_.members))
        if fold is None:
            return super().validation_step(batch, **fit_params)
        self._set_training(False)
        with torch.no_grad():
            inputs = to_tensor(_module_inputs(Xi), device=self.device)
            y_pred = self.module_.held_out_scores(fold, **inputs, **fit_params)
            weight = Xi.get("sample_weight")
            loss = self.get_loss(
                y_pred,
                yi,
                X=None if weight is None else {"sample_weight": weight},
                training=False,
            )
        return {"loss": loss, "y_pred": y_pred}

    # -- persistence: weights as tensors only, loaded with weights_only=True -----
    def __getstate__(self):
        """skorch's state, with the torch objects replaced by their tensors.

        skorch pickles ``module_``, ``criterion_`` and ``optimizer_`` whole, and
        unpickling those can run arbitrary code. Here they are rebuilt from the
        net's parameters on load, and only their ``state_dict`` tensors are stored,
        in ``torch.save`` format that :meth:`__setstate__` reads with
        ``torch.load(weights_only=True)``. So a saved net holds no pickle of its
        own, and ``skanime.io`` (skops) can check every type in it.
        """
        torch_objects = set(self.cuda_dependent_attributes_)  # module_, optimizer_...
        torch_objects.add(_UNBUILT_OPTIMIZER)
        state = {k: v for k, v in self.__dict__.items() if k not in torch_objects}
        history = state.get("history_")
        if type(history) is History:
            # one JSON text: skops would write a node for every key and value
            # (5,000 of the 13,400 nodes of a model trained on MyAnimeList's table)
            text = pack_json(list(history))
            if text is not None:
                state["history_"], state[_HISTORY_JSON] = None, text
        if getattr(self, "initialized_", False) and hasattr(self, "module_"):
            tensors = {"module": self.module_.state_dict()}
            optimizer = self.__dict__.get("optimizer_")
            if optimizer is not None:
                saved = optimizer.state_dict()
            else:  # loaded and not trained since: the state it was loaded with
                saved = self.__dict__.get(_UNBUILT_OPTIMIZER)
            if saved is not None and _SAVE_OPTIMIZER.get():
                tensors["optimizer"] = saved
            state[_TORCH_STATE] = dump_tensors(tensors)
        return state

    def __setstate__(self, state):
        """Rebuild the module and criterion and load their tensors; a net
        trained on a GPU loads on a machine without one (on the CPU, with a
        warning).

        The optimizer is rebuilt, with its saved state, the first time
        ``optimizer_`` is read (by training, or by a change of its settings):
        building the first torch optimizer of a process imports
        ``torch._dynamo``, which took 1.7 s here, and a loaded model that only
        predicts never needs one.
        """
        state = dict(state)
        blob = state.pop(_TORCH_STATE, None)
        if _HISTORY_JSON in state:
            state["history_"] = History(unpack_json(state.pop(_HISTORY_JSON)))
        device = state.get("device", "cpu")
        if device_missing(device) not in (None, "cuda"):  # MPS off a Mac, ...
            map_location = torch.device("cpu")  # as skorch maps a missing CUDA
        else:
            map_location = get_map_location(device)
        state["device"] = self._check_device(device, map_location)
        self.__dict__.update(state)
        if blob is None:
            return
        tensors = load_tensors(blob, map_location)
        # initial weights are replaced: a pretrained backbone reads none
        with torch.random.fork_rng(devices=[]), restoring_weights():
            self.initialize_module()
            self.initialize_criterion()
        self.module_ = to_device(self.module_, self.device)
        self.module_.load_state_dict(tensors["module"])
        self.module_.eval()
        self.__dict__.pop("optimizer_", None)
        self.__dict__[_UNBUILT_OPTIMIZER] = tensors.get("optimizer")

    def initialize_optimizer(self, *args, **kwargs):
        """skorch's, dropping a loaded net's unbuilt optimizer state (a new
        optimizer replaces it)."""
        self.__dict__.pop(_UNBUILT_OPTIMIZER, None)
        return super().initialize_optimizer(*args, **kwargs)

    def __getattr__(self, name):
        """Build a loaded net's optimizer when ``optimizer_`` is first read
        (see :meth:`__setstate__`); any other missing attribute is an
        ``AttributeError`` as usual."""
        if name == "optimizer_" and _UNBUILT_OPTIMIZER in self.__dict__:
            optimizer_state = self.__dict__[_UNBUILT_OPTIMIZER]
            self.initialize_optimizer()  # drops the unbuilt state
            if optimizer_state is not None:
                self.optimizer_.load_state_dict(optimizer_state)
            return self.optimizer_
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    def evaluation_step(self, batch, training=False):
        """One forward pass for ``predict``; without autograd at all
        (``torch.inference_mode``) unless ``training``."""
        if training:
            return super().evaluation_step(batch, training=True)
        self.check_is_fitted()
        Xi, _ = unpack_data(batch)
        with torch.inference_mode():
            self._set_training(False)
            return self.infer(Xi)

    def predict(self, X):
        """Predicted scores, shape ``(n_samples,)``.

        An in-memory input (the table, with or without cached poster embeddings)
        runs straight through the module in chunks of :data:`INFERENCE_ROWS` rows,
        under ``torch.inference_mode``, with no DataLoader; a few rows run on one
        torch thread (see :func:`~skanime._threads.small_batch_threads`; the
        caller's setting is restored). Poster paths, which are decoded per batch,
        and torch Datasets go through skorch's loop.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return super().predict(X).reshape(-1)
        tabular, paths, has_image, embedding = self._split_inputs(X)
        if paths is not None:
            return super().predict(X).reshape(-1)
        return self._predict_arrays(tabular, has_image, embedding)

    def _predict_arrays(self, tabular, has_image, embedding) -> np.ndarray:
        """``predict`` of the module's inputs as arrays, without a DataLoader."""
        self.check_is_fitted()
        inputs = {"tabular": tabular}
        if embedding is not None:
            flags = np.ones((len(embedding), 1)) if has_image is None else has_image
            inputs["has_image"] = np.reshape(flags, (-1, 1))
            inputs["embedding"] = embedding
        # as HybridDataset holds them: contiguous, writable float32
        inputs = {
            key: _writable(np.ascontiguousarray(value, dtype=np.float32))
            for key, value in inputs.items()
        }
        n_rows = len(inputs["tabular"])
        out = np.empty(n_rows, dtype=np.float32)
        with small_batch_threads(n_rows), torch.inference_mode():
            if any(layer.training for layer in self.module_.modules()):
                self._set_training(False)  # walks every layer: skipped when done
            for start in range(0, n_rows, INFERENCE_ROWS):
                chunk = {
                    key: torch.from_numpy(value[start : start + INFERENCE_ROWS]).to(
                        self.device
                    )
                    for key, value in inputs.items()
                }
                scores = self.module_(**chunk)
                out[start : start + len(scores)] = scores.reshape(-1).cpu().numpy()
        return out
