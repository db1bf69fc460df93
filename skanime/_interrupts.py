"""A ``skanime`` command's interrupts and output files: all or none.

Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt, and are also remembered: a
library may catch the KeyboardInterrupt (skorch ends training early on one and
returns normally), so the command checks after each fit. Outputs are written
together at the end (:class:`~skanime._atomic.atomic_group`), with interrupts held
back for the moment it takes to move them into place: an interrupted command
leaves every file as it was. Only the standard library is imported.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
from pathlib import Path

from ._atomic import atomic_group

# takes to move them into place: an interrupted command leaves every file as it was.
_INTERRUPTED: list[int] = []  # the signals received
_WRITTEN: list = []  # the groups of outputs written


def _on_signal(signum, frame) -> None:
    _remember(signum, frame)
    raise KeyboardInterrupt


def _check_interrupt() -> None:
    """Raise KeyboardInterrupt if a signal arrived (even one a library swallowed)."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signal_handler(handler):
    """SIGINT and SIGTERM go to ``handler`` in the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _remember(signum, frame) -> None:
    _INTERRUPTED.append(signum)


class _Outputs(atomic_group):
    """The command's output files: written at the end, all or none, uninterrupted."""

    def __exit__(self, exc_type, exc, tb) -> None:
        # a signal that arrived before (perhaps swallowed): nothing is written
        interrupted = exc_type is None and bool(_INTERRUPTED)
        failed = KeyboardInterrupt if interrupted else exc_type
        try:
            with _signal_handler(_remember):  # remembered, acted on after
                super().__exit__(failed, exc, tb)
        except BaseException:  # also a signal just before the handler changed
            self._discard()
            raise
        if interrupted:
            raise KeyboardInterrupt
        if exc_type is None:
            _WRITTEN.append(self)


def _publish(staging: Path, out_dir, outputs: atomic_group | None) -> None:
    """Copy every file made in ``staging`` to ``out_dir``, all or none: through
    ``outputs`` (written when that group ends) or a group of its own."""
    out_dir = Path(out_dir)
    own = outputs is None
    with atomic_group() if own else contextlib.nullcontext(outputs) as group:
        for file in sorted(staging.iterdir()):
            shutil.copyfile(file, group.path(out_dir / file.name))
