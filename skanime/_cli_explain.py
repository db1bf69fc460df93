"""``skanime predict --explain``: what moved each prediction, in words."""

from __future__ import annotations

#: The effects named a row (the largest in absolute value).
N_DRIVERS = 3


def drivers(model, frame, *, top: int = N_DRIVERS, seed: int = 0, verbose: int = 1):
    """A Series of text, one a row of ``frame``: its ``top`` largest column
    effects (:func:`~skanime.inspection.column_effects`, measured against up
    to 50 of the table's rows, with its progress bar unless ``verbose=0``),
    as ``"Title +0.62; poster +0.26; Themes -0.20"``."""
    import pandas as pd

    from .inspection import column_effects, largest_effects

    effects = column_effects(model, frame, frame, random_state=seed, verbose=verbose)
    words = []
    for _, row in effects.iterrows():
        largest = largest_effects(row, top)
        words.append(
            "; ".join(f"{name} {value:+.2f}" for name, value in largest.items())
        )
    return pd.Series(words, index=frame.index, dtype=object)
