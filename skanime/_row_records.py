"""What a model records of the rows it trained or calibrated on, and finding
those rows again (``skanime evaluate`` and ``skanime calibrate``): one 64-bit
digest per row of the model's inputs, never the rows themselves.
"""

from __future__ import annotations


def _point_model(model):
    """The HybridAnimeRegressor itself, or the one a ConformalRegressor wraps."""
    from .intervals import ConformalRegressor

    return model.estimator_ if isinstance(model, ConformalRegressor) else model


def _row_digests(frame, model):
    """One 64-bit digest per row of the model's inputs (the columns it was
    trained on), to recognise the training rows later without storing them."""
    import pandas as pd

    from ._utils import with_columns_empty

    point = _point_model(model)
    columns = getattr(point, "required_columns_", None)
    if columns is None:
        columns = sorted(c for c in frame.columns if c != "Score")
    # the columns empty in training read as empty, as predict reads them
    frame = with_columns_empty(frame, getattr(point, "empty_columns_", []))
    inputs = frame[list(columns)]
    return pd.util.hash_pandas_object(inputs, index=False).to_numpy()


def _recorded_rows(model, record: str, digests):
    """Which rows (by their :func:`_row_digests`) are among those the model
    records in its ``record`` attribute (``"training_data_"`` or
    ``"calibration_data_"``, :func:`_rows_record`): a boolean mask, all False
    where the model records none, and the record itself (or None)."""
    import numpy as np

    info = getattr(model, record, None)
    if info is None:
        return np.zeros(len(digests), dtype=bool), None
    return np.isin(digests, info["row_digests"]), info


def _rows_record(source, digests, **more) -> dict:
    """What a model records of rows it trained or calibrated on (its
    ``training_data_`` or ``calibration_data_``): their ``source``, how many,
    and their digests (:func:`_row_digests`), by which ``skanime evaluate`` and
    ``skanime calibrate`` recognise them; ``more`` adds keys."""
    return {"source": source, "rows": len(digests), **more, "row_digests": digests}
