"""A ``skanime`` command's standard output when its reader stops early.

``skanime train anime.csv --out m.skanime | head -1`` used to end the training
with "[Errno 32] Broken pipe" at the second line printed, saving nothing; with
``2>&1 | head``, the first warning printed after ``head`` had its lines ended
it too, without a word. A reader that stops early (``head``, a pager quit)
should end the output, not the work. While a command runs,
:func:`output_until_closed` puts streams in ``sys.stdout`` and ``sys.stderr``
that, once the reader is gone, write nowhere, as Python's documentation advises
for ``SIGPIPE`` (``os.dup2`` of ``os.devnull`` onto the descriptor, so that
nothing fails at exit either). Only the standard library is imported.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO


class _UntilClosed:
    """``stream``, writing nowhere from the first write or flush that finds
    its reader gone (:attr:`reader_gone`)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.reader_gone = True
        try:
            fileno = self._stream.fileno()
        except (OSError, ValueError):  # no descriptor (a test's stream): done
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fileno)
        except OSError:
            pass
        finally:
            os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def output_until_closed() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` in the block: the same streams, but a
    reader that stops early ends what is written there, not the command
    (``2>&1 | head`` closes both)."""
    streams = {"stdout": _UntilClosed(sys.stdout), "stderr": _UntilClosed(sys.stderr)}
    for name, guarded in streams.items():
        setattr(sys, name, guarded)
    try:
        yield
    finally:
        for name, guarded in streams.items():
            if getattr(sys, name) is guarded:
                setattr(sys, name, guarded._stream)


def reader_gone() -> bool:
    """Whether the reader of the command's standard output stopped early."""
    return getattr(sys.stdout, "reader_gone", False)
