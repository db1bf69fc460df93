"""Train, test and report, as ``skanime train`` and ``skanime demo`` do: a
train/test split (cf. the paper), k-fold CV, the training messages, and the HTML
report (``skanime evaluate`` writes one too). Only the standard library is
imported at start.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._interrupts import _check_interrupt, _publish
from ._row_records import _point_model, _row_digests, _rows_record

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._atomic import atomic_group
    from ._estimator import HybridAnimeRegressor

#: Confidence levels whose coverage the HTML report shows.
REPORT_LEVELS = (0.8, 0.9)
#: What ``evaluate`` says of the intervals where every row is known to the model.
_NO_NEW_ROWS = (
    "Every row here trained or calibrated the model: its intervals' coverage is "
    "not measured."
)


def _say(message: str) -> None:
    print(message, flush=True)


def say_report_work(n_rows: int, importance_repeats: int, rows: str = "rows") -> None:
    """Say what the report measures before it does: its column importance is
    the longest silent step (25 s on 1,625 real anime, three shuffles)."""
    if importance_repeats > 0:
        shuffles = (
            "1 shuffle" if importance_repeats == 1 else f"{importance_repeats} shuffles"
        )
        _say("")
        _say(
            f"Measuring each column's importance on the {n_rows} {rows} "
            f"({shuffles} a column) for the report..."
        )


#: The plots a report folder can hold (``run_experiment``'s and ``skanime
#: evaluate``'s), in the order :func:`_plots_written` names them, each with what
#: it shows where the name does not say it.
_PLOTS = {
    "training_curves.png": "loss, MAE, MAPE per epoch",
    "predicted_vs_actual.png": "",
    "residuals_by_group.png": "",
    "column_importance.png": "",
    "largest_errors.png": "what moved the predictions that missed most",
    "intervals.png": "",
}
#: How many of the test rows a report explains: those the model missed most.
N_MISSES = 3
#: The share of the rows ``run_experiment`` holds out as test rows by default
#: (``skanime demo`` and ``train``).
TEST_SIZE = 0.15


def run_experiment(
    model: HybridAnimeRegressor,
    X: pd.DataFrame,
    y,
    *,
    out_dir: str | Path,
    test_size: float = TEST_SIZE,
    valid_size: float | None = None,
    seed: int = 0,
    title: str = "",
    outputs: atomic_group | None = None,
    calibration_size: float = 0.0,
    scaled_intervals: bool = False,
    importance_repeats: int = 3,
    source: str | None = None,
    sample_weight=None,
    time_column: str | None = None,
    time_gap: float = 0,
):
    """Train and test on a train/test split, report and plot (cf. the paper).

    The test rows (``test_size``) are held out first. The network is validated
    every epoch as the model says (by default each member of the ensemble on its
    own fold of the training rows), or, with ``valid_size``, on that share of all
    rows held out of training, as the paper did. A mean predictor fitted
    on the same training rows is the baseline. With ``calibration_size > 0``, that
    share of all rows is held out of training too, and calibrates the trained
    model's prediction intervals afterwards
    (:class:`~skanime.intervals.ConformalRegressor` over a
    :class:`~sklearn.frozen.FrozenEstimator` of it; with ``scaled_intervals``,
    each row's width scaled by a difficulty model), whose coverage is then
    measured on the test rows. With ``time_column`` as well, the calibration
    rows are instead the latest of the training rows by that column, predicted
    by a model trained before them, and the model kept is then trained on every
    training row (``ConformalRegressor(time_column=...)``): intervals for anime
    later than the data; ``time_gap`` leaves the rows within that gap before
    the calibration rows out of the first model (``ConformalRegressor(time_gap=
    ...)``): intervals for anime that much further ahead. ``sample_weight`` (one
    per row of ``X``) weighs the training and the calibration rows (``fit``'s
    ``sample_weight``); the metrics stay unweighted. Plots and ``report.html`` go to
    ``out_dir``, all together and atomically, through ``outputs`` if given (an
    :class:`~skanime._atomic.atomic_group`, which writes them when it ends).

    Returns
    -------
    model : HybridAnimeRegressor or ConformalRegressor
        Fitted on the training rows (a ConformalRegressor wrapping the
        HybridAnimeRegressor when ``calibration_size > 0``). Its
        ``training_data_`` records ``source``, how many rows trained it and how
        many test rows were held out, and a digest of each training row, by
        which ``skanime evaluate`` and ``skanime calibrate`` recognise them; a
        ConformalRegressor's ``calibration_data_`` records its calibration rows
        likewise.
    metrics : dict
        ``{"hybrid": {...}, "baseline": {...}}`` on the test rows.
    """
    import numpy as np
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import train_test_split
    from sklearn.utils import _safe_indexing

    from .exceptions import DataError
    from .intervals import ConformalRegressor
    from .report import (
        format_table,
        plot_history,
        plot_predictions,
        regression_metrics,
    )

    y = np.asarray(y, dtype=np.float64)
    w = None if sample_weight is None else np.asarray(sample_weight)

    def rows_of(rows):
        """``X``, ``y`` and the weights (or None) of the positions ``rows``."""
        return _safe_indexing(X, rows), y[rows], None if w is None else w[rows]

    # positions split as the rows themselves would be
    train, test = train_test_split(
        np.arange(len(y)), test_size=test_size, random_state=seed
    )
    ahead = calibration_size > 0 and time_column is not None
    if calibration_size > 0:
        n_cal = round(len(train) * calibration_size / (1 - test_size))
        least = ConformalRegressor.min_calibration_rows(_difficulty(scaled_intervals))
        if not least <= n_cal < len(train) - 1:
            raise DataError(
                f"calibration_size (--calibration-size) {calibration_size:g} of "
                f"{len(X)} rows leaves {n_cal} calibration rows and "
                f"{len(train) - n_cal} training rows; need at least {least} "
                "and 2."
            )
    if calibration_size > 0 and not ahead:
        train, calibration = train_test_split(train, test_size=n_cal, random_state=seed)
        X_cal, y_cal, w_cal = rows_of(calibration)
    X_train, y_train, w_train = rows_of(train)
    X_test, y_test, _ = rows_of(test)
    # the model kept trains on the calibration rows too when ahead
    fit_share = 1 - test_size - (0 if ahead else calibration_size)
    if valid_size is not None:
        if not 0 < valid_size < fit_share:
            raise ValueError(
                f"valid_size (--valid-size) must be above 0 and below {fit_share:g}, "
                f"the share of the rows left for training; got {valid_size:g}."
            )
        model.set_params(validation_fraction=valid_size / fit_share)
    validation = _validation_words(model, valid_size)
    if ahead:
        first = (
            f"the rows more than {time_gap:g} before the latest {n_cal}"
            if time_gap
            else f"all but the latest {n_cal}"
        )
        calibrating = (
            f"; first on {first} by {time_column!r}, which calibrate prediction "
            "intervals for later anime, then on all of them"
        )
    elif calibration_size > 0:
        calibrating = f", calibrating prediction intervals on {len(X_cal)}"
    else:
        calibrating = ""
    _say(
        f"Training on {len(X_train)} rows ({validation}){calibrating}, testing on "
        f"{len(X_test)}."
    )
    start = time.perf_counter()
    if ahead:
        model = ConformalRegressor(  # refuses a difficulty model before training
            model,
            calibration_size=n_cal / len(X_train),
            difficulty=_difficulty(scaled_intervals),
            time_column=time_column,
            time_gap=time_gap,
            random_state=seed,
        )
    model.fit(X_train, y_train, sample_weight=w_train)
    _check_interrupt()
    seconds = time.perf_counter() - start
    _say(
        (
            f"Trained twice in {seconds:.1f} s, the model kept for "
            f"{len(model.history_)} epochs"
            if ahead
            else f"Trained {len(model.history_)} epochs in {seconds:.1f} s"
        )
        + _kept_epoch(model)
        + "."
        + _booster_words(model)
    )
    # what the model saw, to tell those rows apart later (skanime evaluate)
    trained_on = _rows_record(
        source, _row_digests(X_train, model), held_out_rows=len(X_test)
    )
    if calibration_size > 0 and not ahead:
        model = ConformalRegressor(
            FrozenEstimator(model),
            difficulty=_difficulty(scaled_intervals),
            random_state=seed,
        ).fit(X_cal, y_cal, sample_weight=w_cal)
    if ahead:  # the latest training rows calibrated
        X_cal = _safe_indexing(X_train, model.calibration_rows_)
    if calibration_size > 0:
        model.calibration_data_ = _rows_record(source, _row_digests(X_cal, model))
    model.training_data_ = trained_on
    y_pred = model.predict(X_test)
    baseline = np.full(len(y_test), y_train.mean())
    metrics = {
        "hybrid": regression_metrics(y_test, y_pred),
        "baseline": regression_metrics(y_test, baseline),
    }
    _say("")
    _say(
        format_table(
            {
                "HybridAnimeRegressor": metrics["hybrid"],
                "mean predictor (baseline)": metrics["baseline"],
            },
            title=title or "Test set",
        )
    )
    out_dir = Path(out_dir)
    say_report_work(len(X_test), importance_repeats, "test rows")
    with tempfile.TemporaryDirectory(prefix="skanime-report-") as staging:
        staging = Path(staging)
        try:
            plot_history(model, staging / "training_curves.png")  # names its loss
            plot_predictions(y_test, y_pred, staging / "predicted_vs_actual.png")
            write_report(
                model,
                X_test,
                y_test,
                y_pred,
                {
                    "HybridAnimeRegressor": metrics["hybrid"],
                    "mean predictor (baseline)": metrics["baseline"],
                },
                out_dir=staging,
                title=title or "skanime report: test set",
                data=X,
                data_target=y,
                importance_repeats=importance_repeats,
                seed=seed,
            )
        except Exception as exc:  # the model is trained: a plot's failure keeps it
            from ._warn import warn_user
            from .exceptions import SkanimeWarning

            warn_user(
                f"The plots and report could not be made ({type(exc).__name__}: "
                f"{exc}); the trained model is kept, and {str(out_dir)!r} is left "
                "as it was (`skanime evaluate MODEL DATA --report-dir DIR` "
                "reports on a table with the saved model).",
                SkanimeWarning,
            )
            return model, metrics
        _publish(staging, out_dir, outputs)
        written = _plots_written(staging, out_dir)
    _say(f"\n{written}")
    return model, metrics


def _plots_written(staging: Path, out_dir: Path) -> str:
    """The line that names each plot made in ``staging`` as it stands in
    ``out_dir``, then the report that embeds them."""
    plots = [
        f"{out_dir / name}" + (f" ({shows})" if shows else "")
        for name, shows in _PLOTS.items()
        if (staging / name).is_file()
    ]
    return (
        f"Plots: {', '.join(plots)}; report, with all of them: "
        f"{out_dir / 'report.html'}."
    )


def _plot_misses(model, X, y, y_pred, path: Path, seed: int) -> Path:
    """:func:`~skanime.report.plot_largest_errors` of the :data:`N_MISSES`
    rows of ``X`` the model missed most, each column measured against the
    rows of ``X``."""
    import numpy as np

    from .inspection import column_effects
    from .report import plot_largest_errors

    errors = np.abs(np.asarray(y, dtype=np.float64) - np.asarray(y_pred))
    worst = np.argsort(-errors, kind="stable")[:N_MISSES]
    rows = X.iloc[worst].reset_index(drop=True)  # X's labels may repeat
    effects = column_effects(model, rows, X, random_state=seed)
    names = rows["Title"].astype(str).tolist() if "Title" in rows else None
    return plot_largest_errors(effects, np.asarray(y)[worst], path, names=names)


def _residual_groups(model, X) -> tuple[str, ...]:
    """The columns the report groups residuals by: ``Type`` and ``Year`` where
    ``X`` has them, else, for a table of other columns, the first two of its
    categorical columns that the model reads (without any, the plot says that
    ``X`` lacks ``Type`` and ``Year``)."""
    found = tuple(c for c in ("Type", "Year") if c in X.columns)
    roles = getattr(_point_model(model), "column_roles_", None)
    others = [c for c in roles["categorical"] if c in X.columns] if roles else []
    return found or tuple(others[:2]) or ("Type", "Year")


def write_report(
    model,
    X,
    y,
    y_pred,
    metrics: dict,
    *,
    out_dir: str | Path,
    title: str,
    data=None,
    data_target=None,
    importance_repeats: int = 3,
    seed: int = 0,
    held_out: bool = True,
    interval_rows=None,
    coverage_at_levels=None,
) -> Path:
    """``out_dir/report.html``: one page with the data, roles, metrics and every
    plot, for the rows ``X`` (held out from training unless ``held_out`` is
    False) and their scores ``y``;
    ``data`` and ``data_target``, if given, are the whole table it summarises.
    ``interval_rows`` (a boolean mask of ``X``'s rows, those that neither trained
    nor calibrated the model) restricts the intervals' coverage to them;
    ``coverage_at_levels`` is that coverage where it was computed already (what
    :func:`_coverage_at_levels` gives for those rows).

    Also writes the PNGs it embeds (residuals, importance, intervals) beside the
    training curves and the predicted-vs-actual plot, which it reads.
    """
    import pandas as pd

    from .inspection import column_importance
    from .intervals import ConformalRegressor
    from .report import (
        column_roles,
        plot_importance,
        plot_intervals,
        plot_residuals,
        write_html_report,
    )

    out_dir = Path(out_dir)
    figures = {}
    for key, name in (
        ("curves", "training_curves.png"),
        ("predictions", "predicted_vs_actual.png"),
    ):
        if (out_dir / name).is_file():
            figures[key] = out_dir / name
    figures["residuals"] = plot_residuals(
        X, y, y_pred, out_dir / "residuals_by_group.png", by=_residual_groups(model, X)
    )
    if held_out:
        where = f"the {len(X)} test rows, held out from training"
    else:
        where = (
            f"the {len(X)} rows given; where the model was trained or calibrated "
            "on some of them, its figures there are optimistic"
        )
    notes = {
        "data": f"The table given. Metrics, plots, importance and intervals are on "
        f"{where}.",
    }
    importance = None
    if importance_repeats > 0:
        importance = column_importance(
            model, X, y, n_repeats=importance_repeats, random_state=seed
        )
        figures["importance"] = plot_importance(
            importance, out_dir / "column_importance.png"
        )
        notes["importance"] = (
            "Increase in the mean absolute error when one "
            f"column is shuffled across rows ({importance_repeats} shuffles); the "
            "poster column moves as a unit."
        )
        if len(X) >= 2:
            figures["misses"] = _plot_misses(
                model, X, y, y_pred, out_dir / "largest_errors.png", seed
            )
            notes["misses"] = (
                f"The {min(N_MISSES, len(X))} rows the model missed most (of "
                f"{where}), and what moved each prediction: a column's effect is the "
                "prediction less the mean prediction with that column's value taken "
                "from each of the other rows (up to 50; "
                "skanime.inspection.column_effects)."
            )
    coverage = None
    # the intervals' rows: X's, or those of them new to the model
    X_new, y_new, pred_new, interval_where = X, y, y_pred, where
    if interval_rows is not None:
        X_new, y_new = X[interval_rows], y[interval_rows]
        pred_new = y_pred[interval_rows]
        interval_where = (
            f"the {len(X_new)} rows that neither trained nor calibrated the model"
        )
    if isinstance(model, ConformalRegressor) and not len(X_new):
        notes["intervals"] = _NO_NEW_ROWS
    elif isinstance(model, ConformalRegressor):
        covered = coverage_at_levels or _coverage_at_levels(
            model, X_new, y_new, pred_new
        )
        coverage = pd.DataFrame(
            [{"nominal level": level, **cover} for level, (_, cover) in covered.items()]
        )
        figures["intervals"] = plot_intervals(
            y_new,
            pred_new,
            covered[REPORT_LEVELS[0]][0],
            out_dir / "intervals.png",
            level=REPORT_LEVELS[0],
        )
        rows = len(model.calibration_residuals_)
        if model.time_column is not None:
            how = (
                f"for anime later than the data: calibrated on the latest {rows} "
                f"training rows by {model.time_column!r}, predicted by a model "
                "trained before them (the model kept was then trained on them "
                "too)"
            )
        elif model.difficulty_ is None:
            how = f"calibrated on {rows} rows kept out of training"
        else:  # the other half of the calibration rows fitted the difficulty model
            how = (
                "each scaled by a model of its row's difficulty, calibrated on "
                f"{rows} rows kept out of training (the difficulty model on about "
                "as many)"
            )
        notes["intervals"] = (
            f"Split-conformal intervals, {how}; coverage is the share of scores "
            f"inside their interval, on {interval_where}. "
            + (
                _AHEAD_NOTE
                if model.time_column is not None
                else "They hold for anime like the calibration rows: for anime "
                "later than those, they are too narrow (on MyAnimeList an 80% "
                "interval held 57% of the scores of anime two to seven years "
                "later; calibrated on the latest year with skanime calibrate, "
                "about 70% of those and 76% of the next year's; skanime train "
                "--calibrate-on-latest calibrates for later anime)."
            )
        )
    else:
        notes["intervals"] = (
            "This model was trained without calibration rows "
            "(skanime train --calibration-size)."
        )
    inner = getattr(model, "estimator_", model)
    return write_html_report(
        out_dir / "report.html",
        title=title,
        data=X if data is None else data,
        target=y if data is None else data_target,
        roles=column_roles(inner),
        metrics=metrics,
        figures=figures,
        importance=importance,
        coverage=coverage,
        notes=notes,
    )


#: The report's note on intervals calibrated for later anime (time_column).
_AHEAD_NOTE = (
    "These rows are not later than the data, so they are covered more often than "
    "the level: the intervals are as wide as a model's errors on anime after its "
    "training years (on MyAnimeList an 80% interval held 78% of the next year's "
    "scores)."
)


def _coverage_at_levels(model, X, y, y_pred) -> dict:
    """``{level: (bounds, coverage)}`` of ``model``'s intervals around ``y_pred``
    for the rows ``X`` at each of :data:`REPORT_LEVELS`."""
    from .intervals import interval_coverage

    bounds = model.interval_around(y_pred, list(REPORT_LEVELS), X)  # one pass
    return {
        level: (bounds[..., i], interval_coverage(y, bounds[..., i]))
        for i, level in enumerate(REPORT_LEVELS)
    }


def cross_validate_report(
    model, X, y, *, folds: int, seed: int, sample_weight=None
) -> dict:
    """k-fold CV of the model and the mean predictor on the same folds (the
    model fitted with the training folds' ``sample_weight``, if given)."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    from .report import format_table, regression_metrics

    y = np.asarray(y, dtype=np.float64)
    rows = {"hybrid": [], "baseline": []}
    for k, (train, test) in enumerate(
        KFold(folds, shuffle=True, random_state=seed).split(X), start=1
    ):
        _say(
            f"fold {k}/{folds}: training on {len(train)} rows, testing on {len(test)}."
        )
        weights = None if sample_weight is None else sample_weight[train]
        fold_model = clone(model).fit(X.iloc[train], y[train], sample_weight=weights)
        _check_interrupt()
        rows["hybrid"].append(
            regression_metrics(y[test], fold_model.predict(X.iloc[test]))
        )
        rows["baseline"].append(
            regression_metrics(y[test], np.full(len(test), y[train].mean()))
        )
        _say(
            f"fold {k}/{folds}: MAE {rows['hybrid'][-1]['mae']:.3f} "
            f"(baseline {rows['baseline'][-1]['mae']:.3f})"
        )
    means = {
        name: {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
        for name, runs in rows.items()
    }
    _say(
        format_table(
            {
                f"HybridAnimeRegressor ({folds}-fold)": means["hybrid"],
                "mean predictor (baseline)": means["baseline"],
            },
            title=f"{folds}-fold cross-validation (means)",
        )
    )
    return means


def _validation_words(model, valid_size: float | None) -> str:
    """How ``model`` is validated each epoch, for the training message."""
    from ._member_folds import _SINGLE_MEMBER_FOLDS

    fraction = model.validation_fraction
    if valid_size is not None:
        words = f"of which {valid_size:.0%} of all rows validate each epoch"
    elif fraction == 0:
        return "no validation"
    elif fraction != "folds":
        words = f"of which {float(fraction):.0%} validate each epoch"
    elif model.n_members == 1:
        words = f"of which {1 / _SINGLE_MEMBER_FOLDS:.0%} validate each epoch"
    else:
        words = (
            f"each epoch, each of the {model.n_members} networks is validated on "
            "the fold of these rows it does not train on"
        )
    return words if model.early_stopping else f"{words}; no early stopping"


def _kept_epoch(model) -> str:
    """ ", keeping epoch k (the best validation loss)" when early stopping did:
    the epoch whose weights its callback restored (the last that beat the best
    loss by its threshold, which a later epoch may beat by less)."""
    from .report import kept_epoch

    epoch = kept_epoch(model)  # a ConformalRegressor's point model's, too
    if epoch is None:  # no validation, no early stopping, or not load_best
        return ""
    return f", keeping the weights of epoch {epoch} (best validation loss)"


def _booster_words(model) -> str:
    """ " Predictions average ... " when the model has a booster (--booster)."""
    model = _point_model(model)
    if model.booster_ is None:
        return ""
    networks = "network" if model.n_members == 1 else "networks"
    later = ""
    if model.booster_time_feature_ is not None:
        column = model.booster_time_feature_.split("__", 1)[-1]
        later = (
            f" for anime up to the training rows' latest {column!r}; later ones get "
            f"the {networks} alone"
        )
    return (
        f" Predictions average the {networks} with a {type(model.booster_).__name__} "
        f"fitted on the same inputs ({model.booster_weight:g} of the weight on it)"
        f"{later}."
    )


def _difficulty(scaled_intervals: bool):
    """``ConformalRegressor``'s ``difficulty`` for ``--scaled-intervals``."""
    return "auto" if scaled_intervals else None
