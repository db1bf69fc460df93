"""Printing a fitted model's column roles once per run: ``fit(verbose=1)``
prints the table, and inside :func:`roles_shown_once` (the k-fold CV and the
final fit of ``skanime train --cv K``) a table already printed is not printed
again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: The last table printed inside :func:`roles_shown_once`; None outside it.
_SHOWN: ContextVar[str | None] = ContextVar("skanime_roles_shown", default=None)


@contextmanager
def roles_shown_once() -> Iterator[None]:
    """Within the block, :func:`print_roles` prints a table only where it
    differs from the one it printed last, and says "as above" otherwise."""
    token = _SHOWN.set("")
    try:
        yield
    finally:
        _SHOWN.reset(token)


def print_roles(table: str) -> None:
    """Print ``table`` (``ColumnRoles.format()``) under "Column roles:"."""
    shown = _SHOWN.get()
    if shown == table:
        print("Column roles: as above.", flush=True)
        return
    print(f"Column roles:\n{table}", flush=True)
    if shown is not None:
        _SHOWN.set(table)
