"""Checks of ``sample_weight`` shared by the estimators that take it.

Kept free of torch, so that :mod:`skanime.intervals` (which may wrap any
scikit-learn regressor) imports without it.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import _check_sample_weight, has_fit_parameter

__all__ = ["checked_weights", "refuse_unweighted"]


def checked_weights(sample_weight, n_samples: int) -> np.ndarray:
    """``sample_weight`` as scikit-learn checks it (finite, non-negative, not all
    zero, one per row; its errors name ``sample_weight``): float64 of shape
    ``(n_samples,)``, unscaled."""
    return _check_sample_weight(
        sample_weight,
        np.empty((n_samples, 0)),
        dtype=np.float64,
        ensure_non_negative=True,
    )


def refuse_unweighted(role: str, model, advice: str = "") -> None:
    """Refuse ``model`` (an estimator's ``role``, such as its booster) when
    sample weights were given and its ``fit`` takes no ``sample_weight``; None
    and a name (a built-in model, which takes them) pass."""
    if model is None or isinstance(model, str):
        return
    if not has_fit_parameter(model, "sample_weight"):
        raise ValueError(
            f"sample_weight was given, but the {role} ({type(model).__name__}) "
            f"takes no sample_weight in fit{advice}."
        )
