"""A ``skanime`` command's standard output when its reader stops early.

``skanime train anime.csv --out m.skanime | head -1`` used to end the training
with "[Errno 32] Broken pipe" at the second line printed, saving nothing: a
reader that stops early (``head``, a pager quit) should end the output, not
the work. While a command runs, :func:`output_until_closed` puts a stream in
``sys.stdout`` that, once the reader is gone, writes nowhere, as Python's
documentation advises for ``SIGPIPE`` (``os.dup2`` of ``os.devnull`` onto the
descriptor, so that nothing fails at exit either). Only the standard library
is imported.
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
        with contextlib.suppress(OSError, ValueError):  # no descriptor: a test's
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def output_until_closed() -> Iterator[_UntilClosed]:
    """``sys.stdout`` in the block: the same stream, but a reader that stops
    early ends what is written, not the command."""
    guarded = _UntilClosed(sys.stdout)
    sys.stdout = guarded
    try:
        yield guarded
    finally:
        if sys.stdout is guarded:
            sys.stdout = guarded._stream


def reader_gone() -> bool:
    """Whether the reader of the command's standard output stopped early."""
    return getattr(sys.stdout, "reader_gone", False)
