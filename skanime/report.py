"""The paper's report: a metrics table next to a baseline, its figures, and one
self-contained HTML page that gathers them."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from ._atomic import atomic_path
from ._bar_figures import bars_size
from ._fitted import check_fitted
from ._metrics import mean_absolute_percentage_error
from ._score_arrays import score_arrays

__all__ = [
    "regression_metrics",
    "format_table",
    "kept_epoch",
    "loss_label",
    "plot_history",
    "plot_predictions",
    "atomic_path",
    "column_roles",
    "data_summary",
    "plot_importance",
    "plot_intervals",
    "plot_largest_errors",
    "plot_residuals",
    "write_html_report",
]


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Test MSE, MAE, MAPE (percent) and R², as in the paper's Table 1 (whose
    "loss" is the MSE; skanime trains on the Huber loss by default).

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_pred`` are empty, differ in length, or hold
        anything but finite numbers.

    Examples
    --------
    >>> from skanime.report import regression_metrics
    >>> metrics = regression_metrics([6.0, 7.5, 8.0], [6.5, 7.0, 8.2])
    >>> {name: round(value, 3) for name, value in metrics.items()}
    {'mse': 0.18, 'mae': 0.4, 'mape': 5.833, 'r2': 0.751}
    """
    y_true, y_pred = score_arrays("regression_metrics", y_true=y_true, y_pred=y_pred)
    return {
        "mse": float(mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "mape": mean_absolute_percentage_error(y_true, y_pred),
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def format_table(rows: Mapping[str, Mapping[str, float]], title: str = "") -> str:
    """A plain-text table: one row per model, columns MSE, MAE, MAPE, R² (each
    row a :func:`regression_metrics` dict).

    Examples
    --------
    >>> from skanime.report import format_table, regression_metrics
    >>> y = [6.0, 7.5, 8.0]
    >>> print(format_table({"model": regression_metrics(y, [6.5, 7.0, 8.2]),
    ...                     "mean": regression_metrics(y, [7.17] * 3)}, "Test set"))
    Test set
    model                                MSE      MAE   MAPE %      R²
    ------------------------------------------------------------------
    model                              0.180    0.400     5.83   0.751
    mean                               0.722    0.777    11.43  -0.000
    """
    for name, m in rows.items():
        missing = [key for key in ("mse", "mae", "mape", "r2") if key not in m]
        if missing:
            raise KeyError(
                f"format_table: the row {name!r} lacks {missing}; each row is "
                "what regression_metrics returns."
            )
    header = f"{'model':<28}{'MSE':>12}{'MAE':>9}{'MAPE %':>9}{'R²':>8}"
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for name, m in rows.items():
        lines.append(
            f"{name:<28}{m['mse']:>12.3f}{m['mae']:>9.3f}{m['mape']:>9.2f}{m['r2']:>8.3f}"
        )
    return "\n".join(lines)


def _figure(**params):
    """A matplotlib ``Figure`` outside pyplot: written to a file without a
    backend, so a plot saved here neither switches the caller's backend (a
    notebook's inline one) nor shows up in its open figures."""
    from matplotlib.figure import Figure

    return Figure(**params)


def _save_figure(fig, path) -> Path:
    """Lay ``fig`` out and write it to ``path`` as a PNG (atomically)."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return Path(path)


def loss_label(model) -> str:
    """The name of the criterion a fitted model (or its ``HybridNet``) trained
    with, for a plot's label: "MSE", "Huber, delta d", or "loss" for any other.

    It is read from the fitted criterion, so a ``criterion__delta`` given
    beside ``huber_delta`` shows as the delta that was used.

    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.report import loss_label
    >>> df = make_anime(30, random_state=0)
    >>> params = dict(poster_column=None, min_frequency=1, max_epochs=1)
    >>> loss_label(HybridAnimeRegressor(**params).fit(df, df["Score"]))
    'Huber, delta 0.5'
    >>> mse = HybridAnimeRegressor(**params, loss="squared_error")
    >>> loss_label(mse.fit(df, df["Score"]))
    'MSE'
    """
    import torch

    criterion = getattr(getattr(model, "net_", model), "criterion_", None)
    if isinstance(criterion, torch.nn.HuberLoss):
        return f"Huber, delta {criterion.delta:g}"
    return "MSE" if isinstance(criterion, torch.nn.MSELoss) else "loss"


def kept_epoch(model) -> int | None:
    """The epoch whose weights a fitted model kept, or None where nothing
    restored an earlier epoch's (the model has its last epoch's weights).

    Early stopping (``early_stopping=True`` with a validation share) restores
    the weights of the epoch with the best validation loss when training ends,
    whether it stopped early or ran every epoch.

    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.report import kept_epoch
    >>> df = make_anime(40, random_state=0)
    >>> params = dict(poster_column=None, min_frequency=1, max_epochs=3)
    >>> model = HybridAnimeRegressor(**params).fit(df, df["Score"])
    >>> kept_epoch(model) in (1, 2, 3)
    True
    >>> kept_epoch(model.set_params(early_stopping=False).fit(df, df["Score"]))
    """
    model = getattr(model, "estimator_", model)  # a ConformalRegressor's
    net = getattr(model, "net_", model)
    stopper = dict(getattr(net, "callbacks_", ())).get("early_stopping")
    if stopper is None or not getattr(stopper, "load_best", False):
        return None
    return getattr(stopper, "best_epoch_", None)


def plot_history(history, path: str | os.PathLike, loss: str | None = None) -> Path:
    """The paper's figures 4–6 in one row: loss, MAE and MAPE per epoch.

    Given a model whose early stopping kept an earlier epoch's weights, a
    dashed line marks that epoch (:func:`kept_epoch`).

    Parameters
    ----------
    history : fitted HybridAnimeRegressor, HybridNet or skorch.History
        The model (its ``history_``, or a net's ``history``), or the history
        itself. A ``ConformalRegressor`` gives its point model's.
    path : str or path-like
        The PNG file to write.
    loss : str, default=None
        The loss's name in the first plot's labels. None reads it from the
        model (:func:`loss_label`: "Huber, delta 0.5", "MSE"); given a bare
        history, the label is just "Loss".

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.report import plot_history
    >>> df = make_anime(40, random_state=0)
    >>> model = HybridAnimeRegressor(poster_column=None, min_frequency=1,
    ...                              max_epochs=2).fit(df, df["Score"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_history(model, pathlib.Path(tmp) / "curves.png").name
    'curves.png'
    """
    kept = None
    if not isinstance(history, list):  # a model: skorch's History is a list
        model = getattr(history, "estimator_", history)  # a ConformalRegressor's
        if not hasattr(model, "history_") and not hasattr(model, "history"):
            check_fitted(history)  # an unfitted model: NotFittedError
            raise TypeError(
                "plot_history takes a fitted HybridAnimeRegressor, a HybridNet or "
                f"a skorch History; got {type(history).__name__}."
            )
        if loss is None:
            loss = loss_label(model)
        history = model.history_ if hasattr(model, "history_") else model.history
        kept = kept_epoch(model)
    if not len(history):
        raise ValueError("plot_history: the history has no epochs to plot.")
    title = "Loss" if loss is None else f"Loss ({loss})"
    epochs = history[:, "epoch"]
    fig = _figure(figsize=(15, 4))
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(
        axes,
        [("loss", title), ("mae", "MAE"), ("mape", "MAPE (%)")],
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
        if kept is not None:
            ax.axvline(kept, color="0.4", ls="--", lw=1, label=f"kept (epoch {kept})")
        ax.set(title=f"Training and validation {label}", xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
        ax.legend()
    return _save_figure(fig, path)


def plot_predictions(y_true, y_pred, path: str | os.PathLike, title: str = "") -> Path:
    """Predicted against actual scores on the test rows, with the identity line.

    ``y_true`` and ``y_pred`` must be finite numbers, one a row, as many of each
    (a ``ValueError`` names the one that is not).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from skanime.report import plot_predictions
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> plot_predictions([6.0, 7.5, 8.0], [6.5, 7.0, 8.2], folder / "pred.png").name
    'pred.png'
    >>> tmp.cleanup()
    """
    y_true, y_pred = score_arrays("plot_predictions", y_true=y_true, y_pred=y_pred)
    fig = _figure(figsize=(5.5, 5.5))
    ax = fig.subplots()
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
    return _save_figure(fig, path)


# -- the HTML report ------------------------------------------------------------------
#: The report's sections, in order: (id, heading).
REPORT_SECTIONS = (
    ("data", "Data"),
    ("roles", "Column roles"),
    ("metrics", "Metrics against the baselines"),
    ("curves", "Training curves"),
    ("predictions", "Predicted vs actual"),
    ("residuals", "Residuals by group"),
    ("importance", "Column importance"),
    ("misses", "The largest errors, explained"),
    ("intervals", "Prediction intervals"),
)


def data_summary(X):
    """One row per column: dtype, non-missing count, missing share, distinct values.

    Examples
    --------
    >>> import pandas as pd
    >>> from skanime.report import data_summary
    >>> table = data_summary(pd.DataFrame({"Type": ["TV", None, "TV"],
    ...                                    "Episodes": [12, 24, None]}))
    >>> table[["column", "non-missing", "missing %", "distinct"]]
         column  non-missing  missing %  distinct
    0      Type            2       33.3         1
    1  Episodes            2       33.3         2
    """
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"data_summary takes a DataFrame; got {type(X).__name__}.")
    rows = []
    for column in X.columns:
        values = X[column]
        missing = float(values.isna().mean()) if len(values) else 0.0
        try:
            distinct = int(values.nunique())
        except TypeError:  # unhashable cells
            distinct = -1
        rows.append(
            {
                "column": str(column),
                "dtype": str(values.dtype),
                "non-missing": int(values.notna().sum()),
                "missing %": round(100 * missing, 1),
                "distinct": distinct,
            }
        )
    return pd.DataFrame(rows)


def column_roles(model) -> dict[str, object]:
    """The model's column roles: its ``column_roles_`` if it has them (role ->
    columns, the ignored ones with their reasons), else the column parameters it
    was given.

    Examples
    --------
    >>> from skanime import HybridAnimeRegressor
    >>> from skanime.datasets import make_anime
    >>> from skanime.report import column_roles
    >>> column_roles(HybridAnimeRegressor())["numeric_columns"]  # not fitted
    'auto'
    >>> df = make_anime(40, random_state=0)
    >>> model = HybridAnimeRegressor(poster_column=None, min_frequency=1, max_epochs=1)
    >>> roles = column_roles(model.fit(df, df["Score"]))
    >>> roles["numeric"], roles["text"]
    (['Episodes', 'Duration', 'Year'], ['Title'])
    """
    inner = getattr(model, "estimator_", model)
    roles = getattr(inner, "column_roles_", None)
    if hasattr(roles, "roles") and hasattr(roles, "ignored"):  # a ColumnRoles
        shown: dict[str, object] = {
            role: list(columns)
            for role, columns in roles.roles.items()
            if columns and role != "ignored"
        }
        if roles.ignored:
            shown["ignored"] = [f"{c}: {why}" for c, why in roles.ignored.items()]
        return shown
    if roles is not None:
        return roles if isinstance(roles, Mapping) else {"column_roles_": roles}
    return {
        name: getattr(inner, name)
        for name in (
            "numeric_columns",
            "categorical_columns",
            "list_columns",
            "poster_column",
        )
        if hasattr(inner, name)
    }


def plot_residuals(
    X, y_true, y_pred, path: str | os.PathLike, by=("Type", "Year")
) -> Path:
    """Box plots of the residuals (predicted minus actual) per group of each
    column in ``by`` that ``X`` has; a numeric column is grouped in 5-unit bins
    (years into 5-year spans). Groups of fewer than 3 rows are left out; each
    label gives its row count. ``by`` may be one column's name. ``X``, ``y_true``
    and ``y_pred`` must have as many rows (a ``ValueError`` says which differ).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from skanime.report import plot_residuals
    >>> X = pd.DataFrame({"Type": ["TV"] * 3 + ["Movie"] * 3,
    ...                   "Year": [1999, 2003, 2004, 2011, 2012, 2014]})
    >>> y = [7.0, 6.5, 8.0, 7.2, 6.1, 5.9]
    >>> pred = [7.2, 6.9, 7.6, 7.0, 6.4, 6.3]
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> plot_residuals(X, y, pred, folder / "residuals.png").name
    'residuals.png'
    >>> tmp.cleanup()
    """
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"plot_residuals takes X as a DataFrame; got {type(X).__name__}."
        )
    y_true, y_pred = score_arrays("plot_residuals", y_true=y_true, y_pred=y_pred)
    if len(X) != len(y_true):
        raise ValueError(
            f"plot_residuals: the rows differ in number (X {len(X)}, y_true and "
            f"y_pred {len(y_true)})."
        )
    residual = y_pred - y_true
    by = (by,) if isinstance(by, str) else tuple(by)
    present = [c for c in by if c in X.columns]
    fig = _figure(figsize=(6.5 * max(len(present), 1), 4.2))
    axes = fig.subplots(1, max(len(present), 1))
    axes = np.atleast_1d(axes)
    for ax, column in zip(axes, present, strict=False):
        values = X[column].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(values):
            start = (np.floor(values / 5) * 5).astype("Int64")
            groups = start.astype(str).where(start.notna(), "unknown")
            groups = groups.where(
                groups == "unknown", groups + "–" + (start + 4).astype(str)
            )
        else:
            groups = values.astype(object).where(values.notna(), "unknown").astype(str)
        counts = groups.value_counts()
        keep = sorted(counts[counts >= 3].index)
        data = [residual[(groups == g).to_numpy()] for g in keep]
        if data:
            ax.boxplot(data, showfliers=False)
            labels = [f"{g} ({counts[g]})" for g in keep]
            ax.set_xticks(range(1, len(keep) + 1), labels, rotation=45, ha="right")
        else:
            ax.text(0.5, 0.5, "no group of 3 rows or more", ha="center")
        ax.axhline(0, color="black", lw=0.8)
        ax.set(title=f"Residuals by {column}", ylabel="predicted − actual score")
        ax.grid(axis="y", alpha=0.3)
    if not present:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, f"X has none of {list(by)}", ha="center")
    return _save_figure(fig, path)


def plot_importance(importances, path: str | os.PathLike, *, top: int = 20) -> Path:
    """:func:`skanime.inspection.plot_column_importance` of the ``top`` most
    important columns, saved as a PNG; the figure's height follows the bars.

    Parameters
    ----------
    importances : DataFrame
        What :func:`skanime.inspection.column_importance` returns.
    path : str or path-like
        The PNG to write.
    top : int, default=20
        How many of the most important columns to show.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from skanime.report import plot_importance
    >>> importances = pd.DataFrame(
    ...     {"importance_mean": [0.14, 0.08], "importance_std": [0.01, 0.005]},
    ...     index=pd.Index(["Title", "Duration"], name="column"))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> plot_importance(importances, folder / "importance.png").name
    'importance.png'
    >>> tmp.cleanup()
    """
    from .inspection import plot_column_importance

    fig = _figure()
    # drawn first, so a bad table or top is refused before the figure is sized
    ax = plot_column_importance(importances, ax=fig.subplots(), top=top)
    fig.set_size_inches(bars_size(len(ax.get_yticks())))
    return _save_figure(fig, path)


def plot_largest_errors(
    effects, y_true, path: str | os.PathLike, *, names=None, top: int = 8
) -> Path:
    """:func:`skanime.inspection.column_effects` of the rows a model missed
    most, one panel a row, saved as a PNG: what raised (green) and lowered
    (red) each prediction, under its predicted and actual score.

    Parameters
    ----------
    effects : DataFrame
        :func:`~skanime.inspection.column_effects` of the rows to draw.
    y_true : array-like of shape (n_rows,)
        Their scores, in ``effects``' order.
    path : str or path-like
    names : sequence of str, default=None
        What to call each row (their titles); their index labels if None.
    top : int, default=8
        The largest effects shown a row.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from skanime.report import plot_largest_errors
    >>> effects = pd.DataFrame({"Studios": [0.4, -0.2], "Type": [-0.1, 0.3]})
    >>> effects.attrs["predicted"] = pd.Series([7.9, 6.0])
    >>> effects.attrs["background_mean"] = 6.8
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(tmp.name) / "errors.png"
    >>> plot_largest_errors(effects, [6.1, 8.2], path, names=["A", "B"]).name
    'errors.png'
    >>> tmp.cleanup()
    """
    from .inspection import plot_column_effects

    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    if len(y_true) != len(effects):
        raise ValueError(
            f"effects has {len(effects)} rows but y_true has {len(y_true)} scores."
        )
    names = [str(label) for label in effects.index] if names is None else names
    shown = min(top, effects.shape[1])
    fig = _figure(figsize=bars_size(shown, width=4.8 * len(effects), margin=1.8))
    axes = np.atleast_1d(fig.subplots(1, len(effects)))
    predicted = effects.attrs.get("predicted")
    for position, (ax, name, score) in enumerate(zip(axes, names, y_true, strict=True)):
        one = effects.iloc[[position]].reset_index(drop=True)  # labels may repeat
        one.attrs = {}  # the title is set here
        plot_column_effects(one, 0, ax=ax, top=top)
        said = (
            "" if predicted is None else f"predicted {predicted.iloc[position]:.2f}, "
        )
        ax.set_title(f"{name}\n{said}scored {score:.2f}", fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, path)


def _html_table(frame, *, index: bool = False, floatfmt: str = "{:.3f}") -> str:
    return frame.to_html(
        index=index,
        border=0,
        classes="table",
        float_format=floatfmt.format,
        na_rep="",
    )


def _html_image(path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _metrics_frame(rows: Mapping[str, Mapping[str, float]]):
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model": name,
                "MSE": m["mse"],
                "MAE": m["mae"],
                "MAPE %": m["mape"],
                "R²": m["r2"],
            }
            for name, m in rows.items()
        ]
    )


def _roles_html(roles) -> str:
    items = []
    for name, value in roles.items():
        if isinstance(value, (list, tuple)):
            # the ignored columns with their reasons: one a line
            joiner = "<br>" if name == "ignored" else ", "
            shown = joiner.join(html.escape(str(v)) for v in value) or "(none)"
        elif value is None:
            shown = "(none)"
        elif callable(value):
            shown = html.escape(
                f"selected by {getattr(value, '__name__', repr(value))}"
            )
        else:
            shown = html.escape(str(value))
        items.append(f"<tr><th>{html.escape(str(name))}</th><td>{shown}</td></tr>")
    return f'<table class="table">{"".join(items)}</table>'


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-top: .6em; }
table.table { border-collapse: collapse; margin: .5em 0; }
table.table th, table.table td { padding: .25em .7em; border-bottom: 1px solid #eee;
       text-align: right; }
table.table th:first-child, table.table td:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #555; font-size: .92em; }
nav a { margin-right: 1em; }
"""


def write_html_report(
    path: str | os.PathLike,
    *,
    title: str,
    data=None,
    target=None,
    roles=None,
    metrics=None,
    figures=None,
    importance=None,
    coverage=None,
    notes: Mapping[str, str] | None = None,
) -> Path:
    """Write one self-contained HTML page: tables, and every figure embedded.

    Parameters
    ----------
    path : str or path-like
        The ``.html`` file to write (atomically).
    title : str
    data : DataFrame, default=None
        The rows the report is about; summarised column by column.
    target : array-like, default=None
        Their scores, summarised.
    roles : mapping, default=None
        Column roles (:func:`column_roles`).
    metrics : mapping of str to metrics, default=None
        ``{model name: regression_metrics(...)}``, the model and its baselines.
    figures : mapping of str to path, default=None
        PNG files for the sections ``"curves"``, ``"predictions"``,
        ``"residuals"``, ``"importance"`` and ``"intervals"``; embedded as base64.
    importance : DataFrame, default=None
        :func:`skanime.inspection.column_importance`'s table.
    coverage : DataFrame, default=None
        One row per confidence level: nominal level, coverage, mean width.
    notes : mapping of str to str, default=None
        A sentence per section id, shown under its heading (plain text).

    Returns
    -------
    path : Path

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from skanime.report import (
    ...     plot_predictions, regression_metrics, write_html_report)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> y, pred = [6.0, 7.5, 8.0], [6.5, 7.0, 8.2]
    >>> page = write_html_report(
    ...     folder / "report.html",
    ...     title="Test set",
    ...     metrics={"model": regression_metrics(y, pred)},
    ...     figures={"predictions": plot_predictions(y, pred, folder / "pred.png")},
    ... )
    >>> text = page.read_text(encoding="utf-8")
    >>> text.startswith("<!DOCTYPE html>"), "data:image/png;base64," in text
    (True, True)
    >>> tmp.cleanup()
    """
    figures = dict(figures or {})
    notes = dict(notes or {})
    body = {}
    if data is not None:
        text = f"<p>{len(data)} rows, {data.shape[1]} columns.</p>"
        if target is not None:
            y = np.asarray(target, dtype=np.float64)
            text += (
                f"<p>Score: mean {y.mean():.3f}, standard deviation {y.std():.3f}, "
                f"from {y.min():.2f} to {y.max():.2f}.</p>"
            )
        body["data"] = text + _html_table(data_summary(data), floatfmt="{:.1f}")
    if roles is not None:
        body["roles"] = _roles_html(roles)
    if metrics is not None:
        body["metrics"] = _html_table(_metrics_frame(metrics))
    if importance is not None:
        shown = importance.reset_index().rename(
            columns={
                "importance_mean": "MAE increase (mean)",
                "importance_std": "(sd over shuffles)",
            }
        )
        body["importance"] = _html_table(shown, floatfmt="{:.4f}")
    if coverage is not None:
        body["intervals"] = _html_table(
            coverage.rename(columns=lambda c: str(c).replace("_", " "))
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<nav>"
        + "".join(f'<a href="#{key}">{name}</a>' for key, name in REPORT_SECTIONS)
        + "</nav>",
    ]
    for key, heading in REPORT_SECTIONS:
        parts.append(f'<section id="{key}"><h2>{html.escape(heading)}</h2>')
        if key in notes:
            parts.append(f'<p class="note">{html.escape(notes[key])}</p>')
        content = body.get(key, "")
        if key in figures:
            content += _html_image(figures[key], heading)
        parts.append(content or '<p class="note">Not available for this run.</p>')
        parts.append("</section>")
    parts.append("</body></html>")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(parts), encoding="utf-8")
    return Path(path)


def plot_intervals(y_true, y_pred, intervals, path: str | os.PathLike, level=None):
    """Each row's interval (sorted by predicted score) with its actual score;
    actual scores outside their interval are drawn in red.

    ``intervals`` has a ``(low, high)`` pair a row, shape ``(n, 2)`` as
    :meth:`~skanime.intervals.ConformalRegressor.predict_interval` returns it
    (or MAPIE's ``(n, 2, 1)`` for one level); ``level`` is the nominal level,
    such as 0.8, for the title.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from skanime.report import plot_intervals
    >>> y, pred = [6.0, 7.5, 8.0], [6.5, 7.0, 8.2]
    >>> intervals = [[6.0, 7.0], [6.5, 7.5], [7.7, 8.7]]  # (low, high) a row
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = pathlib.Path(tmp.name)
    >>> plot_intervals(y, pred, intervals, folder / "iv.png", level=0.8).name
    'iv.png'
    >>> tmp.cleanup()
    """
    y_true, y_pred = score_arrays("plot_intervals", y_true=y_true, y_pred=y_pred)
    intervals = np.asarray(intervals, dtype=np.float64)
    if intervals.ndim == 3 and intervals.shape[2] == 1:
        intervals = intervals[:, :, 0]
    if intervals.shape != (len(y_true), 2):
        raise ValueError(
            "plot_intervals: intervals must hold a (low, high) pair for each of "
            f"the {len(y_true)} rows, shape ({len(y_true)}, 2); got shape "
            f"{intervals.shape}."
        )
    if level is not None and not 0 < level < 1:
        raise ValueError(
            f"plot_intervals: level is a probability such as 0.8; got {level!r}."
        )
    order = np.argsort(y_pred, kind="stable")
    x = np.arange(len(order))
    low, high = intervals[order, 0], intervals[order, 1]
    actual = y_true[order]
    outside = (actual < low) | (actual > high)
    fig = _figure(figsize=(9, 4.2))
    ax = fig.subplots()
    ax.fill_between(x, low, high, color="tab:blue", alpha=0.25, label="interval")
    ax.plot(x, y_pred[order], color="tab:blue", lw=1, label="predicted")
    ax.scatter(x[~outside], actual[~outside], s=5, color="black", label="actual")
    ax.scatter(x[outside], actual[outside], s=7, color="tab:red", label="outside")
    share = 1 - outside.mean()
    name = f"{level:.0%} intervals" if level is not None else "Intervals"
    ax.set(
        title=f"{name} on the test rows: {share:.1%} hold the actual score",
        xlabel="test rows, by predicted score",
        ylabel="score",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return _save_figure(fig, path)
