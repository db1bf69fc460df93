"""``HybridNet``: the skorch regressor that trains :class:`HybridModule`."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils import check_array
from skorch import NeuralNetRegressor
from skorch.callbacks import EpochScoring
from skorch.dataset import ValidSplit, unpack_data
from skorch.utils import get_map_location, to_device, to_numpy
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    Subset,
)

from ._dataset import HybridDataset
from ._metrics import mean_absolute_percentage_error as percentage_error
from ._module import HybridModule
from ._posters import PosterLoader
from .exceptions import ColumnError, ShapeMismatchError

__all__ = ["HybridNet", "mean_absolute_error", "mean_absolute_percentage_error"]

#: Key of the serialised tensors in a pickled (or skops) HybridNet state.
_TORCH_STATE = "_skanime_torch_state"

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


class HybridNet(NeuralNetRegressor):
    """skorch's ``NeuralNetRegressor`` for :class:`HybridModule` (Adam, MSE loss).

    What it adds to skorch:

    * ``X`` may be the pandas output of :func:`make_tabular_encoder`: the columns
      whose name starts with ``poster_prefix`` are either one column of poster paths
      (``poster__path``, decoded per batch by ``poster_loader`` inside a
      :class:`HybridDataset`) or the ``has_image`` flag and embedding of a
      :class:`~skanime.PosterEmbedder` (``poster__has_image``, ``poster__emb_*``);
      all other columns form the float32 tabular input. A dict
      ``{"tabular": ..., "poster": paths}`` or ``{"tabular": ..., "embedding": ...}``
      and a plain 2-D array (tabular only) work too.
    * The module's tabular width, whether it has a poster branch, and the target's
      mean and standard deviation are discovered from the data at ``fit``
      (``module__n_tabular``, ``module__with_image``, ``module__embedding_dim``,
      ``module__target_mean``, ``module__target_std``), as skorch's
      ``InputShapeSetter`` does.
    * A 1-D ``y`` is reshaped to ``(n, 1)`` to match the network's output, and
      :meth:`get_loss` refuses mismatched shapes, so ``MSELoss`` can never broadcast
      to an ``(n, n)`` matrix. ``predict`` returns a 1-D array.
    * Validation MAE and MAPE (percent) are scored every epoch, on the training
      batches too, and kept in ``history_`` as ``train_mae``, ``valid_mae``,
      ``train_mape`` and ``valid_mape``.

    Parameters
    ----------
    module : type or nn.Module, default=HybridModule
    poster_loader : PosterLoader, default=None
        Decodes the posters; a default :class:`PosterLoader` if None.
    poster_prefix : str, default="poster__"
        Prefix of the poster-path column in a DataFrame ``X``.
    criterion, optimizer, train_split, **kwargs
        As in skorch (defaults: ``MSELoss``, ``Adam``, a 20% validation split).
    """

    def __init__(
        self,
        module=HybridModule,
        *args,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        train_split=DEFAULT_TRAIN_SPLIT,
        poster_loader=None,
        poster_prefix="poster__",
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
        self.poster_loader = poster_loader
        self.poster_prefix = poster_prefix

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
        # print_log must stay last so that it shows the scores of the epoch
        return callbacks[:-1] + scores + callbacks[-1:]

    def _split_inputs(self, X):
        """Return ``(tabular, paths, embedding)`` from any accepted form of ``X``.

        At most one of ``paths`` and ``embedding`` is not None.
        """
        if sp.issparse(X):  # before the dict test: a DOK matrix is a dict
            raise TypeError(
                "Sparse data was passed for X, but dense data is required: "
                "HybridNet takes a dense array, a DataFrame or a dict."
            )
        paths = embedding = None
        if isinstance(X, dict):
            tabular = check_array(X["tabular"], dtype=np.float32, input_name="X")
            if X.get("poster") is not None:
                paths = np.asarray(X["poster"], dtype=object)
            elif X.get("embedding") is not None:
                embedding = check_array(
                    X["embedding"], dtype=np.float32, input_name="embedding"
                )
        elif isinstance(X, pd.DataFrame):
            poster = [c for c in X.columns if str(c).startswith(self.poster_prefix)]
            tabular = X.drop(columns=poster).to_numpy(dtype=np.float32, na_value=np.nan)
            if poster == [f"{self.poster_prefix}path"]:
                paths = X[poster[0]].to_numpy(dtype=object)
            elif poster and poster[0] == f"{self.poster_prefix}has_image":
                embedding = X[poster].to_numpy(dtype=np.float32)
            elif poster:
                raise ValueError(
                    f"Columns {poster[:3]} start with {self.poster_prefix!r} but are "
                    "neither one 'path' column nor a 'has_image' column followed by "
                    "embedding columns."
                )
        else:
            if torch.is_tensor(X):
                X = X.numpy(force=True)
            tabular = check_array(X, dtype=np.float32, input_name="X")
        expected = getattr(self, "n_features_in_", None)
        width = self._n_features(tabular, paths, embedding)
        if expected is not None and width != expected:
            raise ValueError(
                f"X has {width} features, but HybridNet is expecting {expected} "
                "features as input."
            )
        return tabular, paths, embedding

    @staticmethod
    def _n_features(tabular, paths, embedding) -> int:
        """Input width: tabular columns, plus the poster column or block."""
        if paths is not None:
            return tabular.shape[1] + 1
        return tabular.shape[1] + (0 if embedding is None else embedding.shape[1])

    def get_dataset(self, X, y=None):
        """Wrap ``X`` (and ``y``) in a :class:`HybridDataset`."""
        if isinstance(X, torch.utils.data.Dataset):
            return X
        tabular, paths, embedding = self._split_inputs(X)
        loader = (
            self.poster_loader if self.poster_loader is not None else PosterLoader()
        )
        return HybridDataset(tabular, paths, y, loader=loader, embedding=embedding)

    def get_iterator(self, dataset, training=False):
        """skorch's DataLoader; for a dataset with nothing to decode per row (the
        table, with or without cached poster embeddings), one that draws batches of
        indices and reads each batch at once: the same batches and the same random
        draws as row-by-row loading, several times faster."""
        base = dataset.dataset if isinstance(dataset, Subset) else dataset
        iterator = self.iterator_train if training else self.iterator_valid
        if not (
            isinstance(base, HybridDataset)
            and base.batchable
            and iterator is DataLoader
        ):
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        batch_size = kwargs.pop("batch_size", self.batch_size)
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

    @staticmethod
    def _as_target(y) -> np.ndarray:
        """``y`` as finite float32 of shape ``(n, 1)``, the network output's shape."""
        if y is None:
            raise ValueError(
                "HybridNet requires y to be passed, but the target y is None."
            )
        y = check_array(y, dtype=np.float32, ensure_2d=False, input_name="y")
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _discover(self, X, y):
        """Set the module's data-dependent parameters; return ``y`` as ``(n, 1)``."""
        y = self._as_target(y)
        self.__dict__.pop("n_features_in_", None)
        tabular, paths, embedding = self._split_inputs(X)
        if len(y) != len(tabular):
            raise ValueError(
                f"X has {len(tabular)} rows but y has {len(y)}: inconsistent numbers "
                "of samples."
            )
        if tabular.shape[1] == 0 and paths is None and embedding is None:
            raise ColumnError(
                "X has no input features: no tabular column was selected and there "
                "is no poster column."
            )
        self.n_features_in_ = self._n_features(tabular, paths, embedding)
        std = float(y.std()) if len(y) > 1 else 1.0
        discovered = {
            "module__n_tabular": tabular.shape[1],
            "module__with_image": paths is not None or embedding is not None,
            # the block is has_image then the embedding
            "module__embedding_dim": 0 if embedding is None else embedding.shape[1] - 1,
            "module__target_mean": float(y.mean()),
            "module__target_std": std if std > 0 else 1.0,
        }
        for key, value in discovered.items():
            setattr(self, key, value)
        return y

    def fit(self, X, y, **fit_params):
        """Fit the network; the module's input width and target scale come from data."""
        if not isinstance(X, torch.utils.data.Dataset):
            y = self._discover(X, y)
        return super().fit(X, y, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train one more round; discovers the data's shapes on the first call."""
        if not isinstance(X, torch.utils.data.Dataset):
            if not self.initialized_:
                y = self._discover(X, y)
                self.initialize()
            elif y is not None:
                y = self._as_target(y)
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """MSE loss; raises :class:`ShapeMismatchError` unless the shapes match."""
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        if y_pred.shape != y_true.shape:
            raise ShapeMismatchError(
                f"Network output has shape {tuple(y_pred.shape)} but the target has "
                f"shape {tuple(y_true.shape)}; the loss would broadcast. Reshape y to "
                "(n_samples, 1)."
            )
        return super().get_loss(y_pred, y_true.to(y_pred.dtype), X=X, training=training)

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
        state = {k: v for k, v in self.__dict__.items() if k not in torch_objects}
        if getattr(self, "initialized_", False) and hasattr(self, "module_"):
            tensors = {"module": self.module_.state_dict()}
            if getattr(self, "optimizer_", None) is not None:
                tensors["optimizer"] = self.optimizer_.state_dict()
            buffer = io.BytesIO()
            torch.save(tensors, buffer)
            state[_TORCH_STATE] = buffer.getvalue()
        return state

    def __setstate__(self, state):
        """Rebuild the module, criterion and optimizer and load their tensors; a
        net trained on a GPU loads on a machine without one (on the CPU, with a
        warning)."""
        state = dict(state)
        blob = state.pop(_TORCH_STATE, None)
        device = state.get("device", "cpu")
        map_location = get_map_location(device)
        state["device"] = self._check_device(device, map_location)
        self.__dict__.update(state)
        if blob is None:
            return
        tensors = torch.load(
            io.BytesIO(blob), map_location=map_location, weights_only=True
        )
        with torch.random.fork_rng(devices=[]):  # initial weights are replaced
            self.initialize_module()
            self.initialize_criterion()
        self.module_ = to_device(self.module_, self.device)
        self.module_.load_state_dict(tensors["module"])
        self.module_.eval()
        self.initialize_optimizer()
        if "optimizer" in tensors:
            self.optimizer_.load_state_dict(tensors["optimizer"])

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
        """Predicted scores, shape ``(n_samples,)``."""
        return super().predict(X).reshape(-1)
