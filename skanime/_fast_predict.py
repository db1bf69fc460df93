"""``encode_for_net``: a fitted pipeline's encoding steps, straight to arrays.

The ``[features, pack]`` steps of :func:`~skanime.make_hybrid_pipeline` make a
pandas DataFrame of every encoded column (scikit-learn's ``set_output``) and then
split it into the network's input arrays. At predict time, on a few rows, building
and indexing those frames, and validating the same columns again in every step,
take far longer than the network. Here each fitted branch of the
``ColumnTransformer`` encodes its columns to an array and the arrays are packed as
:class:`~skanime.PackInputs` packs them: the same values, without the frames.
Anything this does not recognise (another layout, a sparse or non-numeric
branch) is left to the pipeline itself (``encode_for_net`` returns None).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.helper import SliceDict

from ._pack import PackInputs, pack_arrays

__all__ = ["encode_for_net"]


def encode_for_net(pipeline: Pipeline, X: pd.DataFrame) -> SliceDict | None:
    """``pipeline[:-1].transform(X)`` for a fitted ``[..., features, pack, net]``
    pipeline, or None where only the pipeline itself can do it.

    ``X`` must hold the columns the features step was fitted on (checked by the
    caller); steps before the features step run as they are.
    """
    steps = [step for _, step in pipeline.steps[:-1]]
    if (
        len(steps) < 2
        or not isinstance(steps[-2], ColumnTransformer)
        or type(steps[-1]) is not PackInputs
    ):
        return None
    for step in steps[:-2]:
        if step is None or step == "passthrough":
            continue
        X = step.transform(X)
    if not isinstance(X, pd.DataFrame):
        return None
    parts = _branch_outputs(steps[-2], X)
    if parts is None:
        return None
    return pack_arrays(steps[-1], parts)


def _branch_outputs(features: ColumnTransformer, X: pd.DataFrame):
    """``[(slice of the output columns, 2-D array)]``, one per branch with output."""
    parts = []
    for name, transformer, columns in features.transformers_:
        out_slice = features.output_indices_[name]
        width = out_slice.stop - out_slice.start
        if width == 0 or (isinstance(transformer, str) and transformer == "drop"):
            continue
        if isinstance(transformer, str) or not _is_name_list(columns):
            return None  # "passthrough", positional or boolean selections
        values = _transform(transformer, _columns(X, columns))
        if values is None or values.shape != (len(X), width):
            return None
        parts.append((out_slice, values))
    return parts


def _columns(X: pd.DataFrame, columns) -> pd.DataFrame:
    """``X[list(columns)]``, by position: several times faster on a few rows."""
    positions = X.columns.get_indexer(list(columns))
    if (positions < 0).any():
        return X[list(columns)]  # raises the usual KeyError
    return X.take(positions, axis=1)


def _is_name_list(columns) -> bool:
    return isinstance(columns, list | tuple) and all(
        isinstance(c, str) for c in columns
    )


def _transform(transformer, X):
    """``transformer.transform(X)`` as a 2-D ndarray (or the DataFrame a
    transformer makes itself), without scikit-learn's pandas-output wrapping of
    the last step; None for sparse output."""
    if isinstance(transformer, Pipeline):
        steps = [
            s for _, s in transformer.steps if s is not None and s != "passthrough"
        ]
        if not steps:
            return _as_output(X)
        if type(steps[-1]) is StandardScaler and len(steps) > 1:
            # a branch that ends in scaling (the title branches): no frame is
            # needed between the steps, as the scaler's arithmetic ignores names
            for step in steps[:-1]:
                X = _as_output(_unwrapped_transform(step, X))
                if X is None or isinstance(X, pd.DataFrame):
                    return None
            return _scale(steps[-1], X)
        for step in steps[:-1]:
            X = step.transform(X)  # as the pipeline makes it, names and all
        transformer = steps[-1]
    encode = getattr(transformer, "_encode", None)
    if encode is not None and _same_columns(transformer, X):
        return _as_output(encode(X))  # skanime's encoders: X is already checked
    if type(transformer) is OneHotEncoder:
        encoded = _one_hot(transformer, X)
        if encoded is not None:
            return encoded
    return _as_output(_unwrapped_transform(transformer, X))


def _unwrapped_transform(transformer, X):
    """``transformer.transform(X)`` without scikit-learn's output wrapping."""
    method = type(transformer).transform
    return getattr(method, "__wrapped__", method)(transformer, X)


def _scale(scaler: StandardScaler, X: np.ndarray) -> np.ndarray | None:
    """``scaler.transform(X)`` for a dense float array: the same arithmetic
    (a float copy, minus ``mean_``, divided by ``scale_``, in place) without its
    checks."""
    if sp.issparse(X) or X.shape[1] != scaler.n_features_in_:
        return None
    dtype = X.dtype if X.dtype in (np.float64, np.float32, np.float16) else np.float64
    X = np.array(X, dtype=dtype, copy=True)
    if scaler.with_mean:
        X -= scaler.mean_
    if scaler.with_std:
        X /= scaler.scale_
    return X


def _one_hot(encoder: OneHotEncoder, X) -> np.ndarray | None:
    """``encoder.transform(X)`` for text categories and dense output, or None
    where the encoder's own ``transform`` is needed.

    Each value is looked up among the fitted categories; an infrequent category,
    and an unknown one under ``handle_unknown="infrequent_if_exist"``, goes to the
    feature's infrequent column, which comes last; any other unknown value is a
    row of zeros. This is what scikit-learn's encoder does, without its checks.
    """
    if (
        encoder.drop is not None
        or encoder.sparse_output
        or encoder.handle_unknown not in ("ignore", "infrequent_if_exist")
        or not _same_columns(encoder, X)
    ):
        return None
    mappings = (
        getattr(encoder, "_default_to_infrequent_mappings", None)
        if getattr(encoder, "_infrequent_enabled", False)
        else None
    )
    if mappings is None and getattr(encoder, "_infrequent_enabled", False):
        return None
    blocks = []
    for i, categories in enumerate(encoder.categories_):
        values = X.iloc[:, i].to_numpy(dtype=object)
        if not (_all_text(values) and _all_text(categories)):
            return None
        codes = pd.Index(categories, dtype=object).get_indexer(values)
        known = codes >= 0
        mapping = None if mappings is None else mappings[i]
        if mapping is None:
            width, columns = len(categories), codes
        else:
            width = int(mapping.max()) + 1
            columns = mapping[codes]
            if encoder.handle_unknown == "infrequent_if_exist":
                columns = np.where(known, columns, width - 1)
                known = np.ones_like(known)
        block = np.zeros((len(values), width), dtype=encoder.dtype)
        block[np.flatnonzero(known), columns[known]] = 1
        blocks.append(block)
    return np.hstack(blocks) if blocks else np.zeros((len(X), 0), encoder.dtype)


def _all_text(values) -> bool:
    return pd.api.types.infer_dtype(values, skipna=False) == "string"


def _as_output(X):
    if sp.issparse(X):
        return None
    if isinstance(X, pd.DataFrame):
        return X
    return np.asarray(X).reshape(len(X), -1)


def _same_columns(transformer, X) -> bool:
    names = getattr(transformer, "feature_names_in_", None)
    return (
        isinstance(X, pd.DataFrame)
        and names is not None
        and list(X.columns) == list(names)
    )
