"""``small_batch_threads``: one torch thread for a small forward pass, then back.

A forward pass over a few rows takes microseconds; spread over a thread pool on a
busy machine it can take milliseconds. Inside the block torch runs on one thread,
and the caller's setting is restored when the block ends.
"""

from __future__ import annotations

import contextlib
import threading

import torch

__all__ = ["SMALL_BATCH_ROWS", "small_batch_threads"]

#: Up to this many rows, a forward pass runs on one torch thread.
SMALL_BATCH_ROWS = 256

# Held for the whole (short) block: whether torch's thread count is per process
# or per thread (OpenMP keeps it per thread), no other block can read the changed
# value as "the caller's" and restore it later, so the setting always ends as it
# was before.
_LOCK = threading.Lock()


@contextlib.contextmanager
def small_batch_threads(n_rows: int):
    """Run the block on one torch thread if ``n_rows <= SMALL_BATCH_ROWS``.

    ``torch.get_num_threads()`` is the same after the block as before it, also
    when several threads use this at once. Blocks that change the setting run one
    at a time, so keep them short (one forward pass). Larger inputs, and a caller
    already on one thread, run the block as it is.

    Examples
    --------
    >>> import torch
    >>> from skanime._threads import small_batch_threads
    >>> before = torch.get_num_threads()
    >>> with small_batch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n_rows > SMALL_BATCH_ROWS or torch.get_num_threads() == 1:
        yield
        return
    with _LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)
