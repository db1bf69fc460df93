"""``warn_user``: a warning attributed to the user's line, not to the library's.

A warning raised inside a transformer that scikit-learn's Pipeline calls would
otherwise point at ``sklearn/utils/_set_output.py`` or at skanime's own code;
Python 3.12's ``skip_file_prefixes`` does this, and this package supports 3.11.
"""

from __future__ import annotations

import os
import sys
import warnings
from importlib.util import find_spec

__all__ = ["warn_user"]


def _folders() -> tuple[str, ...]:
    """The folders of skanime and of the libraries that call into it."""
    folders = []
    for name in ("skanime", "sklearn", "skorch", "joblib", "pandas", "torch"):
        spec = find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders += [os.path.join(p, "") for p in spec.submodule_search_locations]
    return tuple(folders)


_LIBRARY_FOLDERS = _folders()


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` at the first frame outside skanime and the libraries
    that call it (scikit-learn, skorch, joblib, pandas, torch): the line of the
    user's code that led to it. Where no such frame exists (a worker thread),
    at the caller's caller, as ``stacklevel=2`` would be.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("a note", UserWarning)
    >>> caught[0].filename.startswith("<doctest"), str(caught[0].message)
    (True, 'a note')
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_FOLDERS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level if frame is not None else 2)
