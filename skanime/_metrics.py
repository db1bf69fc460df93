"""The paper's percentage error, shared by the training history and the report."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_absolute_percentage_error"]


def mean_absolute_percentage_error(y_true, y_pred) -> float:
    """MAPE in percent (the paper's unit), guarded against a zero target."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    error = np.abs(np.asarray(y_pred, dtype=np.float64).reshape(-1) - y_true)
    return float(100.0 * np.mean(error / np.maximum(np.abs(y_true), 1e-8)))
