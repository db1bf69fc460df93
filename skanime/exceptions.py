"""Errors and warnings raised by skanime.

Every error the package raises on purpose derives from :class:`SkanimeError`, so a
caller can catch them all at once; each also derives from the built-in exception a
scikit-learn user would expect (``ValueError``, ``TypeError``, ...).
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "SkanimeError",
    "ColumnError",
    "DataError",
    "DeviceError",
    "PosterError",
    "TargetError",
    "ShapeMismatchError",
    "NotFittedError",
    "IncompatibleModelError",
    "SkanimeWarning",
    "DataWarning",
    "CacheWarning",
]


class SkanimeError(Exception):
    """Base class of every error skanime raises on purpose."""


class DataError(SkanimeError, ValueError):
    """The data as a whole cannot be used (no rows, too few rows, mismatched sizes)."""


class DeviceError(SkanimeError, ValueError):
    """The requested torch device is not available on this machine."""


class ColumnError(SkanimeError, ValueError):
    """A column is missing, of the wrong kind, or holds values that cannot be used."""


class PosterError(SkanimeError, ValueError):
    """A poster image is missing or cannot be decoded (strict mode)."""


class TargetError(SkanimeError, ValueError):
    """The target (the score) holds values that cannot be learned from."""


class ShapeMismatchError(SkanimeError, ValueError):
    """The network's output and the target do not have the same shape."""


class NotFittedError(SkanimeError, _SklearnNotFittedError):
    """The estimator is used before ``fit``; also scikit-learn's ``NotFittedError``."""


class IncompatibleModelError(SkanimeError, ValueError):
    """A saved model comes from an incompatible skanime (or is not a skanime file)."""


class SkanimeWarning(UserWarning):
    """Base class of skanime's warnings."""


class DataWarning(SkanimeWarning):
    """Some values were replaced by a documented fallback (the message counts them)."""


class CacheWarning(SkanimeWarning):
    """The embedding cache was not used as asked (an unusable entry was computed
    again, or the cache folder cannot be written); results are unchanged."""
