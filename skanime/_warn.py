"""``warn_user``: a warning attributed to the user's line, not to the library's.

A warning raised inside a transformer that scikit-learn's Pipeline calls would
otherwise point at ``sklearn/utils/_set_output.py`` or at skanime's own code;
Python 3.12's ``skip_file_prefixes`` does this, and this package supports 3.11.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.util import find_spec

__all__ = ["each_warning_once", "warn_user"]

#: The (text, category) of the warnings given in the current
#: :func:`each_warning_once` scope; None outside one.
_GIVEN: ContextVar[set | None] = ContextVar("skanime_warnings_given", default=None)


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
    given = _GIVEN.get()
    if given is not None:
        if (message, category) in given:
            return
        given.add((message, category))
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_FOLDERS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level if frame is not None else 2)


@contextmanager
def each_warning_once() -> Iterator[None]:
    """Within it, :func:`warn_user` gives each warning (text and category) once.

    A call of ``fit``, ``predict`` or an inspection function runs in one: the
    model's poster network and poster prior read the same posters, and
    ``column_importance`` predicts dozens of times, and each repeated the same
    warning. A scope inside another shares the outer one's.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     with each_warning_once():
    ...         for _ in range(3):
    ...             warn_user("a note", UserWarning)
    ...     warn_user("a note", UserWarning)  # outside: given again
    >>> len(caught)
    2
    """
    if _GIVEN.get() is not None:
        yield
        return
    token = _GIVEN.set(set())
    try:
        yield
    finally:
        _GIVEN.reset(token)
