"""``score_arrays``: scores and predictions checked as one 1-D float vector
each, with errors that name the function and the argument; shared by the
report's metrics and plots and by the intervals built around predictions."""

from __future__ import annotations

import numpy as np

__all__ = ["score_arrays"]


def score_arrays(
    function: str, *, allow_empty: bool = False, **named
) -> list[np.ndarray]:
    """The arrays in ``named`` as 1-D float64 vectors of one length (a one-column
    2-D array is flattened), or a ``ValueError`` naming ``function`` and the
    argument: not numbers, not one value a row, missing or infinite values,
    lengths that differ, or no rows at all (unless ``allow_empty``).

    >>> score_arrays("f", y_true=[7.0, 8.0], y_pred=[[7.5], [7.9]])
    [array([7., 8.]), array([7.5, 7.9])]
    >>> score_arrays("f", y_pred=[7.0, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: f: y_pred holds 1 missing or infinite value(s) (the first at ...
    """
    arrays = {}
    for name, values in named.items():
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{function}: {name} must hold numbers ({exc}).") from None
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(
                f"{function}: {name} must hold one score a row; got shape "
                f"{array.shape}."
            )
        bad = np.flatnonzero(~np.isfinite(array))
        if len(bad):
            raise ValueError(
                f"{function}: {name} holds {len(bad)} missing or infinite "
                f"value(s) (the first at position {bad[0]})."
            )
        arrays[name] = array
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise ValueError(f"{function}: the rows differ in number ({shown}).")
    if not allow_empty and not any(lengths.values()):
        raise ValueError(f"{function}: {' and '.join(lengths)} have no rows.")
    return list(arrays.values())
