"""The epoch table, coloured only where the colours show."""

from __future__ import annotations

import os
import sys
from numbers import Number

from skorch.callbacks import PrintLog

#: Appended to a value that is the best so far, where colours are off.
BEST_MARK = "*"


def _colours_shown(sink) -> bool:
    """Whether ``sink`` writes where colours show: it is ``print`` (so it
    writes to ``sys.stdout``), standard output is a terminal or a Jupyter
    kernel's stream (which renders them), and ``NO_COLOR``
    (https://no-color.org) is unset or empty."""
    if sink is not print or os.environ.get("NO_COLOR"):
        return False
    if type(sys.stdout).__module__.startswith("ipykernel"):
        return True
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class TerminalPrintLog(PrintLog):
    """skorch's :class:`~skorch.callbacks.PrintLog`, with colours only where
    they show (a terminal, a Jupyter notebook).

    skorch marks the best value of each score so far with a colour code. In a
    log file or a CI log those codes are noise (``\\x1b[36m0.4123\\x1b[0m``),
    so where standard output is neither a terminal nor a Jupyter notebook,
    where ``NO_COLOR`` is set, or where ``sink`` is not ``print``, the best
    values are marked with a trailing ``*`` instead. The parameters are
    skorch's.

    Examples
    --------
    >>> log = TerminalPrintLog().initialize()
    >>> row = {"epoch": 3, "valid_loss": 0.41234, "valid_loss_best": True}
    >>> log.format_row(row, "valid_loss", color="\\x1b[36m")
    '0.4123*'
    """

    def format_row(self, row, key, color):
        best = f"{key}_best"
        if row.get(best) and not _colours_shown(self.sink):
            text = super().format_row({**row, best: False}, key, color)
            if isinstance(row[key], Number) and not isinstance(row[key], bool):
                text += BEST_MARK
            return text
        return super().format_row(row, key, color)
