"""The paper's report: a metrics table next to a baseline, and its figures."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from ._atomic import atomic_path
from ._metrics import mean_absolute_percentage_error

__all__ = [
    "regression_metrics",
    "format_table",
    "plot_history",
    "plot_predictions",
    "atomic_path",
]


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Test loss (MSE), MAE, MAPE (percent) and R², as in the paper's Table 1."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return {
        "mse": float(mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "mape": mean_absolute_percentage_error(y_true, y_pred),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def format_table(rows: Mapping[str, Mapping[str, float]], title: str = "") -> str:
    """A plain-text table: one row per model, columns Loss (MSE), MAE, MAPE, R²."""
    header = f"{'model':<28}{'loss (MSE)':>12}{'MAE':>9}{'MAPE %':>9}{'R²':>8}"
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for name, m in rows.items():
        lines.append(
            f"{name:<28}{m['mse']:>12.3f}{m['mae']:>9.3f}{m['mape']:>9.2f}{m['r2']:>8.3f}"
        )
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path: str | os.PathLike) -> Path:
    """The paper's figures 4–6 in one row: loss, MAE and MAPE per epoch.

    Parameters
    ----------
    history : skorch.History
        ``model.history_``.
    path : str or path-like
        The PNG file to write.
    """
    plt = _pyplot()
    epochs = history[:, "epoch"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, (key, label) in zip(
        axes,
        [("loss", "Loss (MSE)"), ("mae", "MAE"), ("mape", "MAPE (%)")],
        strict=True,
    ):
        for split in ("train", "valid"):
            name = f"{split}_{key}"
            if name in history[-1]:
                values = [row.get(name, np.nan) for row in history]
                ax.plot(
                    epochs,
                    values,
                    marker="o",
                    ms=3,
                    label="training" if split == "train" else "validation",
                )
        ax.set(title=f"Training and validation {label}", xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def plot_predictions(y_true, y_pred, path: str | os.PathLike, title: str = "") -> Path:
    """Predicted against actual scores on the test rows, with the identity line."""
    plt = _pyplot()
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    low = float(min(y_true.min(), y_pred.min()))
    high = float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="black", lw=1, label="perfect prediction")
    m = regression_metrics(y_true, y_pred)
    ax.set(
        title=title or "Predicted vs actual score (test set)",
        xlabel="actual score",
        ylabel="predicted score",
    )
    ax.text(
        0.02,
        0.98,
        f"MAE {m['mae']:.3f}\nR² {m['r2']:.3f}",
        transform=ax.transAxes,
        va="top",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)
