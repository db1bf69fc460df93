"""A boosted-trees partner for the network: its inputs and the averaged prediction.

:class:`~skanime.HybridAnimeRegressor` with ``booster=...`` fits a scikit-learn
regressor on the network's own encoded inputs and averages the two predictions.
The network and boosted trees, given the same features, make different errors:
on MyAnimeList's CV folds their average is more accurate than either, though
not on anime later than the training data (``docs/benchmarks.md``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor

from ._utils import is_missing
from .exceptions import ColumnError

__all__ = ["BOOSTERS", "blend", "booster_inputs", "make_booster", "time_column"]

#: Boosters by name. "hist": scikit-learn's histogram gradient boosting with the
#: settings chosen on seed 1's CV folds of MyAnimeList (the network's encoded
#: inputs; ``docs/benchmarks.md``): 300 trees of at most 31 leaves at learning
#: rate 0.1, each split drawing from a quarter of the features, no early stopping.
BOOSTERS = {
    "hist": {
        "learning_rate": 0.1,
        "max_iter": 300,
        "max_leaf_nodes": 31,
        "max_features": 0.25,
        "early_stopping": False,
    },
}


def make_booster(booster, seed: int | None):
    """An unfitted regressor for the ``booster`` parameter.

    A name of :data:`BOOSTERS` is built as a
    :class:`~sklearn.ensemble.HistGradientBoostingRegressor`; an estimator is
    cloned. Either way, a ``random_state`` left None is set to ``seed``, so an
    int ``random_state`` of the model gives the same booster every fit.

    >>> make_booster("hist", 0).max_iter
    300
    """
    if isinstance(booster, str):
        model = HistGradientBoostingRegressor(**BOOSTERS[booster])
    else:
        model = clone(booster)
    params = model.get_params(deep=False)
    if seed is not None and "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=seed)
    return model


def booster_inputs(packed) -> np.ndarray:
    """The network's inputs as one float matrix: its ``"tabular"`` block (table,
    title features and priors, the poster prior) and a has-poster column.

    The flag is the packed ``"has_image"``, or, where the network reads poster
    paths (a backbone it trains), whether each row has one. The raw poster
    embedding is left out: the poster prior summarises it in the tabular block.

    >>> import numpy as np
    >>> paths = np.array(["a.jpg", None], dtype=object)
    >>> booster_inputs({"tabular": np.ones((2, 3)), "poster": paths})
    array([[1., 1., 1., 1.],
           [1., 1., 1., 0.]])
    """
    parts = [np.asarray(packed["tabular"], dtype=np.float64)]
    if "has_image" in packed:
        parts.append(np.asarray(packed["has_image"], dtype=np.float64).reshape(-1, 1))
    elif "poster" in packed:
        paths = np.asarray(packed["poster"], dtype=object).reshape(-1)
        parts.append(np.array([[not is_missing(p)] for p in paths], dtype=np.float64))
    return np.hstack(parts)


def time_column(column: str | None, roles) -> str | None:
    """The column among those the encoders get (``roles.encoder_columns()``)
    that ``booster_time_column`` names: a numeric column, or a date column's
    year (``Aired``: ``Year``); for "auto", the numeric column named "Year" in
    any case (None where there is none); None for None.

    A named column that is neither numeric nor a date in ``roles`` is a
    :class:`~skanime.exceptions.ColumnError`.

    >>> from skanime._roles import ColumnRoles
    >>> roles = ColumnRoles({"numeric": ["Episodes"], "date": ["Aired"]}, {})
    >>> time_column("auto", roles), time_column("Aired", roles)
    ('Year', 'Year')
    """
    if column is None:
        return None
    numeric = list(roles.encoder_columns()["numeric_columns"])
    if column == "auto":
        found = [c for c in numeric if c.lower() == "year"]
        return found[0] if found else None
    if column in roles["date"]:
        return roles.date_names(column)[0]
    if column not in numeric:
        raise ColumnError(
            f"booster_time_column={column!r} is not a numeric or date input "
            f"column; the numeric columns are {numeric}, the date columns "
            f"{roles['date']}."
        )
    return column


def blend(network: np.ndarray, booster: np.ndarray, weight) -> np.ndarray:
    """``(1 - weight) * network + weight * booster``, as float64 of shape (n,);
    ``weight`` is a number or one per row."""
    network = np.asarray(network, dtype=np.float64).reshape(-1)
    booster = np.asarray(booster, dtype=np.float64).reshape(-1)
    return (1.0 - weight) * network + weight * booster
