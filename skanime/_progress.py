"""``progress_bar``: tqdm's bar, quieter where it writes to a log, not a terminal."""

from __future__ import annotations

import sys

from tqdm.asyncio import tqdm_asyncio
from tqdm.auto import tqdm

__all__ = ["LOG_INTERVAL_S", "progress_bar"]

#: Seconds between a bar's updates where it writes to a file or a pipe.
LOG_INTERVAL_S = 30.0
#: Whether ``tqdm.auto`` chose Jupyter's widget (it does where ipywidgets runs).
_NOTEBOOK = tqdm is not tqdm_asyncio


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, written for a log where it goes
    to one.

    In a terminal or a notebook the bar is tqdm's. Written to a file or a pipe
    (``skanime train ... > train.log``, CI), it updates every
    :data:`LOG_INTERVAL_S` seconds at most instead of once a batch, and its last
    state ends its line: a bar that is cleared (``leave=False``) left its last
    state in the log with the next output on the same line.

    Examples
    --------
    >>> import io
    >>> log = io.StringIO()
    >>> with progress_bar(total=3, desc="work", leave=False, file=log) as bar:
    ...     _ = bar.update(3)
    >>> log.getvalue().endswith("\\n")  # what follows starts a new line
    True
    """
    stream = kwargs.get("file") or sys.stderr
    if not _NOTEBOOK and not _is_terminal(stream):
        kwargs["mininterval"] = max(kwargs.get("mininterval", 0.1), LOG_INTERVAL_S)
        kwargs["leave"] = True
    return tqdm(iterable, **kwargs)
