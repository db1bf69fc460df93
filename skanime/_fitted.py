"""``check_fitted``: the one not-fitted check of skanime's estimators and
inspection functions. Only scikit-learn is imported (no torch), so that
:mod:`skanime.intervals` stays light."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from .exceptions import NotFittedError

__all__ = ["check_fitted"]


def check_fitted(model, attributes: str | None = None) -> None:
    """Raise skanime's :class:`~skanime.exceptions.NotFittedError` (also
    scikit-learn's) where ``model`` is not fitted yet: scikit-learn's check, on
    ``attributes`` where given, with the words of skanime's errors.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> check_fitted(DummyRegressor())
    Traceback (most recent call last):
    ...
    skanime.exceptions.NotFittedError: This DummyRegressor is not fitted yet; call fit(X, y) first.
    """  # noqa: E501
    try:
        check_is_fitted(model, attributes)
    except _SklearnNotFittedError as exc:
        raise NotFittedError(
            f"This {type(model).__name__} is not fitted yet; call fit(X, y) first."
        ) from exc
