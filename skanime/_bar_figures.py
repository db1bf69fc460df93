"""The size of a figure of horizontal bars, one bar a row: shared by the plots
of :mod:`skanime.inspection` and the report's figures of them, so that a bar
is as tall in a notebook as in ``report.html``."""

from __future__ import annotations

__all__ = ["bar_height", "bars_size"]

#: Inches a bar takes, and inches for the title and the axis beneath them.
bar_height = 0.35
_MARGIN = 1.5


def bars_size(n_bars: int, *, width: float = 6.5, margin: float = _MARGIN) -> tuple:
    """``(width, height)`` in inches of a plot of ``n_bars`` horizontal bars.

    >>> bars_size(2)
    (6.5, 2.2)
    """
    return (width, round(bar_height * n_bars + margin, 6))
