"""Input checks of :class:`~skanime.HybridAnimeRegressor`: parameters, frames,
columns and targets. Each collects what is wrong and raises one error that names
the parameter, column or row and says how to fix it."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import torch
from scipy.sparse import issparse
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import _num_samples, column_or_1d, validate_data
from skorch.exceptions import DeviceWarning

from ._utils import positional_names
from ._warn import warn_user
from ._weights import checked_weights, refuse_unweighted
from .exceptions import ColumnError, DataError, DataWarning, DeviceError, TargetError

__all__ = [
    "NET_PREFIXES",
    "check_columns",
    "check_cross_fitting",
    "check_device",
    "check_extra_params",
    "check_frame",
    "check_net_params",
    "check_sample_weight",
    "check_scoring",
    "check_target",
    "to_frame",
]

#: skorch parameter prefixes that ``HybridAnimeRegressor`` passes to its network.
NET_PREFIXES = (
    "module__",
    "optimizer__",
    "criterion__",
    "iterator_train__",
    "iterator_valid__",
    "callbacks__",
)


#: Names other libraries (or older skanime classes) use for our parameters.
_ALIASES = {
    "learning_rate": "lr",
    "on_error": "poster_errors",
    "root": "poster_root",
    "epochs": "max_epochs",
    "n_epochs": "max_epochs",
    "seed": "random_state",
}


def _column_hint(name: str, present: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for a column ``X`` writes in another case or
    spelling: alike to 0.8, case aside (``Themes`` is not ``Members``, nor
    ``Rating`` ``Duration``).

    >>> _column_hint("Themes", ["themes", "Members"])
    " (did you mean 'themes'?)"
    >>> _column_hint("Themes", ["Members"])
    ''
    """
    by_key = {str(c).lower(): str(c) for c in present}
    close = difflib.get_close_matches(name.lower(), list(by_key), n=1, cutoff=0.8)
    return f" (did you mean {by_key[close[0]]!r}?)" if close else ""


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    candidates = list(map(str, candidates))
    if _ALIASES.get(name) in candidates:
        return f" (did you mean {_ALIASES[name]!r}?)"
    close = difflib.get_close_matches(str(name), candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_extra_params(owner: str, params: dict, known: Iterable[str]) -> None:
    """Refuse keyword arguments that are neither ``known`` parameters nor skorch
    prefixed ones, as Python refuses an unexpected keyword: a ``TypeError`` that
    names each with a did-you-mean hint."""
    known = list(known)
    bad = []
    for key in params:
        if key.startswith(NET_PREFIXES) and not key.endswith("_"):
            continue
        hint = _did_you_mean(key, known)
        if not hint and "__" in key:
            prefix = key.split("__")[0] + "__"
            close = difflib.get_close_matches(prefix, NET_PREFIXES, n=1)
            if close:
                hint = f" (did you mean {close[0] + key[len(prefix) :]!r}?)"
        bad.append(f"{key!r}{hint}")
    if bad:
        raise TypeError(
            f"{owner} got unexpected parameter(s) {', '.join(bad)}; network "
            f"parameters must start with one of {', '.join(NET_PREFIXES)}."
        )


def _arguments(target) -> set[str] | None:
    """The keyword arguments a class (or an instance's class) takes, None
    where it takes any (``**kwargs``)."""
    cls = target if isinstance(target, type) else type(target)
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # no signature to read: any
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind is not p.VAR_POSITIONAL}


def check_net_params(owner: str, net, given: Iterable[str]) -> None:
    """Refuse, before anything is encoded or trained, the prefixed network
    parameters in ``given`` that skorch would refuse only when it builds the
    network (an argument the module, optimizer, criterion or data loader does
    not take; a parameter a callback does not have), or would ignore (a
    callback the network does not have): one error naming each, with a
    did-you-mean hint."""
    targets = {
        "module": net.module,
        "optimizer": net.optimizer,
        "criterion": net.criterion,
        "iterator_train": net.iterator_train,
        "iterator_valid": net.iterator_valid,
    }
    # skorch names the callbacks as `initialize` will (`print_log`, a repeated
    # class as `Name_1`, `Name_2`) only in a private method, stable since
    # skorch 0.x; where a release lacks it, skorch's own check at `initialize`
    # is left to name a bad callback parameter.
    naming = getattr(net, "_uniquely_named_callbacks", None)
    callbacks = None if naming is None else dict(naming())
    bad = []
    for key in given:
        prefix, _, rest = key.partition("__")
        name, _, param = rest.partition("__")
        if prefix == "callbacks" and callbacks is None:
            continue
        if prefix == "callbacks":
            if name not in callbacks:
                hint = _did_you_mean(name, callbacks)
                bad.append(
                    f"{key!r}: the network has no callback {name!r}{hint}; it "
                    f"has {', '.join(map(repr, callbacks))}"
                )
                continue
            owner_of, target, name = f"callback {name!r}", callbacks[name], param
            if not name:  # callbacks__name=None switches one off
                continue
        elif prefix in targets:
            target = targets[prefix]
            owner_of = getattr(target, "__name__", type(target).__name__)
        else:
            continue
        known = _arguments(target)
        if prefix == "optimizer" and known is not None:
            known.add("param_groups")  # skorch's own: per-group settings
        if known is not None and name not in known:
            bad.append(
                f"{key!r}: {owner_of} takes no {name!r}"
                f"{_did_you_mean(name, sorted(known))}"
            )
    if bad:
        raise InvalidParameterError(
            f"{owner} got network parameter(s) it cannot use: {'; '.join(bad)}."
        )


def check_cross_fitting(owner: str, steps, n_samples: int) -> None:
    """Refuse, before fitting ``steps`` (the pipeline's encoders), fewer rows
    than a cross-fitted prior deals into folds. Each prior is a branch of the
    encoder named as the parameter that turns it on (``franchise_prior``)."""
    folds = {}
    for key, step in steps.get_params(deep=True).items():
        cv = getattr(step, "cv", None)
        if not isinstance(step, type) and isinstance(cv, int) and cv > n_samples:
            folds[key.split("__")[1] if "__" in key else key] = cv
    if folds:
        off = ", ".join(
            f"{name}=None" if name == "poster_prior" else f"{name}=False"
            for name in folds
        )
        raise DataError(
            f"{owner} cross-fits its priors ({', '.join(folds)}) on "
            f"{max(folds.values())} folds, but there are {n_samples} samples; use "
            f"more rows, or turn them off ({off})."
        )


def resolve_device(device):
    """``device`` with ``"auto"`` resolved: ``"cuda"`` where torch sees a GPU,
    else ``"cpu"``; any other device as given."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _device_name(kind: str) -> str:
    """How messages name a device type: ``CUDA``, ``MPS``, ``XPU``."""
    return kind.upper()


def device_missing(device) -> str | None:
    """The type of ``device`` (``"auto"`` resolved) where it names an
    accelerator torch cannot use here (``"cuda"`` without a GPU, ``"mps"`` off
    a Mac), else None; a name torch does not know is :func:`check_device`'s."""
    device = resolve_device(device)
    if device is None:
        return None
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        return None
    if kind in ("cpu", "meta"):
        return None
    if kind == "cuda":
        return None if torch.cuda.is_available() else kind
    here = torch.accelerator.current_accelerator(check_available=True)
    return None if here is not None and here.type == kind else kind


def check_device(device) -> None:
    """A :class:`DeviceError` for a device torch does not know (``"tpu"``) or an
    accelerator torch cannot use here (CUDA without a GPU, MPS off a Mac)."""
    try:
        resolved = resolve_device(device)
        if resolved is not None:
            torch.device(resolved)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(
            f'device={device!r} is not a torch device; use "cpu", "cuda" '
            f'(or "cuda:1", ...) or "auto". Torch says: {exc}'
        ) from exc
    missing = device_missing(device)
    if missing is not None:
        raise DeviceError(
            f"device={device!r}, but torch sees no {_device_name(missing)} device "
            'here; use device="cpu", or check the GPU driver and the torch build '
            f"(torch {torch.__version__})."
        )


def device_on_load(device, owner: str):
    """``device``, or ``"cpu"`` with a :class:`~skorch.exceptions.DeviceWarning`
    where it names an accelerator torch cannot use here: a model fitted on a
    GPU (CUDA, or a Mac's MPS) loads on a machine without one, as skorch's nets
    do for CUDA. ``"auto"`` stays as it is: it is resolved where the device is
    used."""
    missing = device_missing(device)
    if missing is not None:
        warn_user(
            f"{owner} was fitted with device={device!r}, but torch sees no "
            f'{_device_name(missing)} device here; it runs on device="cpu" '
            "instead.",
            DeviceWarning,
        )
        return "cpu"
    return device


def to_frame(X):
    """A polars (or other narwhals-supported) frame, or a list of records
    (``{column: value}`` dicts, as JSON gives them), as a pandas DataFrame; a
    lazy frame is refused, saying how to compute it."""
    if isinstance(X, Mapping) and not issparse(X):  # scipy's dok is a dict
        raise DataError(
            f"X is a {type(X).__name__}, not a table; pass a DataFrame: "
            "pandas.DataFrame([X]) for one anime given as {column: value}, "
            "pandas.DataFrame(X) for {column: values}."
        )
    if isinstance(X, (list, tuple)) and X and all(isinstance(r, Mapping) for r in X):
        return pd.DataFrame.from_records(X)
    if isinstance(X, pd.DataFrame):
        return X
    try:
        import narwhals as nw
    except ImportError:
        return X
    frame = nw.from_native(X, pass_through=True)
    if isinstance(frame, nw.LazyFrame):  # polars' LazyFrame, Dask, DuckDB ...
        raise DataError(
            f"X is a lazy {type(X).__name__}, whose rows are not computed yet; "
            "compute it first (a polars LazyFrame: X.collect(); Dask: "
            "X.compute()), or predict partition by partition "
            "(docs/scaling_out.md)."
        )
    return frame.to_pandas() if isinstance(frame, nw.DataFrame) else X


def check_frame(estimator, X, *, reset: bool) -> pd.DataFrame:
    """Validate ``X`` and return it as a pandas DataFrame.

    A polars (or other) DataFrame, or a list of records (dicts), is converted.
    At predict time a DataFrame may hold more columns than the model uses, in
    any order; an array of the training width is mapped onto the training
    columns by position (with scikit-learn's warning about feature names), as
    scikit-learn estimators fitted on a DataFrame do.
    """
    X = to_frame(X)
    if isinstance(X, pd.DataFrame):
        if isinstance(X.columns, pd.MultiIndex):
            raise ColumnError(
                f"X has {X.columns.nlevels} levels of column names (a MultiIndex, "
                f"such as {X.columns[0]!r}); columns are read by one name each. "
                "Keep one level (X.columns = X.columns.droplevel(0)) or join them "
                "(X.columns = [' '.join(map(str, c)) for c in X.columns])."
            )
        duplicated = X.columns[X.columns.duplicated()].unique().tolist()
        if duplicated:
            raise ColumnError(
                f"X has duplicate column names {duplicated}; every column needs its "
                "own name."
            )
        not_text = [c for c in X.columns if not isinstance(c, str)]
        if not_text and len(not_text) < X.shape[1]:
            raise ColumnError(
                f"X mixes text and other column names ({not_text[:5]} are not "
                "text); name every column with text, e.g. "
                "X.columns = X.columns.astype(str)."
            )
        if X.shape[1] == 0:
            raise ColumnError("X has no columns.")
        if reset or not hasattr(estimator, "feature_names_in_"):
            validate_data(estimator, X, skip_check_array=True, reset=reset)
        if not_text:
            # like scikit-learn, names that are not text are no names: such a
            # frame is an array whose columns are called "0", "1", ...
            X = X.set_axis([str(c) for c in X.columns], axis=1)
    else:
        X = validate_data(
            estimator, X, dtype=None, ensure_all_finite="allow-nan", reset=reset
        )
        names = getattr(estimator, "feature_names_in_", None)
        if reset or names is None:
            names = positional_names(X.shape[1])
        X = pd.DataFrame(X, columns=list(names))
    if len(X) == 0:
        raise DataError("X is empty: 0 samples (rows) were given.")
    return X


def check_columns(X: pd.DataFrame, specs: dict, *, fitted: bool = False) -> None:
    """A :class:`ColumnError` naming each column of ``specs`` that ``X`` lacks.

    ``specs`` maps a parameter name to a list of column names (a callable spec,
    which selects among what is there, is not checked). ``fitted``: the columns
    are those a fitted model was trained on (the advice is to pass them or
    retrain).
    """
    present = set(X.columns)
    problems = []
    for param, spec in specs.items():
        if spec is None or callable(spec):
            continue
        if isinstance(spec, str):
            spec = [spec]
        missing = [c for c in spec if c not in present]
        if missing:
            hints = [f"{c!r}{_column_hint(str(c), present)}" for c in missing]
            if param == "poster_column" and fitted:
                fix = (
                    "the model was trained with posters: pass that column (empty "
                    "cells are missing posters), or retrain with poster_column=None "
                    "for a tabular-only model"
                )
            elif param == "poster_column":
                fix = "pass poster_column=None for a tabular-only model"
            elif param == "trained on":
                fix = "the model was fitted on them; pass them, or refit"
            else:
                fix = f"set {param}= to the columns you have"
            problems.append(f"{param}: {', '.join(hints)} ({fix})")
    if problems:
        raise ColumnError(
            "Column(s) missing from X: "
            + "; ".join(problems)
            + f". X has columns {sorted(map(str, present))}."
        )


def check_target_range(target_range) -> None:
    """Refuse a ``target_range`` that is not two numbers ``low < high``."""
    try:
        low, high = (float(bound) for bound in target_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "target_range must be two numbers (low, high), such as (1, 10), or "
            f"None; got {target_range!r}."
        ) from exc
    if not low < high:  # NaN fails too; an infinite bound is no bound
        raise ValueError(
            f"target_range must be (low, high) with low < high, or None; got "
            f"{target_range!r}."
        )


def check_target(y, n_samples: int, *, target_range=None, X=None) -> np.ndarray:
    """``y`` as a finite float64 1-D array matching ``X``'s rows.

    ``y`` is used by position, as in scikit-learn; a pandas ``y`` whose index
    differs from a pandas ``X``'s gets a :class:`DataWarning`.
    """
    if y is None:
        raise TargetError(
            "HybridAnimeRegressor requires y to be passed, but the target y is "
            "None; pass the scores."
        )
    if (
        isinstance(y, pd.Series | pd.DataFrame)
        and isinstance(X, pd.DataFrame)
        and len(y) == n_samples
        and not y.index.equals(X.index)
    ):
        warn_user(
            "y's index differs from X's; y is used by position (row i of y is the "
            "score of row i of X), as in scikit-learn. Align them first (e.g. "
            "y.loc[X.index]) if that is not what you meant.",
            DataWarning,
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
    if target_range is not None:
        check_target_range(target_range)
        low, high = target_range
        outside = np.flatnonzero((values < low) | (values > high))
        if len(outside):
            raise TargetError(
                f"y holds {len(outside)} score(s) outside [{low}, {high}] (first "
                f"at position {outside[0]}: {float(values[outside[0]])!r}); rescale "
                "them, or set target_range=None for another scale."
            )
    return values


def check_scoring(X, y) -> tuple:
    """``X`` as ``predict`` reads it (a list of records, a polars frame) and
    ``y`` checked as ``fit`` checks a target (:func:`check_target`): a
    regressor's ``score`` names a NaN, text or a length that is not ``X``'s,
    not scikit-learn's metric ("Input contains NaN")."""
    X = to_frame(X)
    return X, check_target(y, _num_samples(X), X=X)


def check_sample_weight(
    sample_weight, n_samples: int, booster=None
) -> np.ndarray | None:
    """``sample_weight`` checked (:func:`checked_weights`) and scaled to mean 1
    (so that a loss keeps its scale and only the ratios count), float32 of
    shape ``(n_samples,)``; None where it is None or every row weighs the same,
    which then trains exactly as unweighted.

    A ``booster`` estimator whose ``fit`` takes no ``sample_weight`` is refused
    here, before anything trains.
    """
    if sample_weight is None:
        return None
    weight = checked_weights(sample_weight, n_samples)
    refuse_unweighted("booster", booster, "; use a booster that does, or booster=None")
    if np.all(weight == weight[0]):
        return None
    return (weight / weight.mean()).astype(np.float32)
