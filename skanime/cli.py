"""The ``skanime`` command: train, evaluate, predict, and a self-contained demo."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, train_test_split

from . import io as skanime_io
from ._estimator import HybridAnimeRegressor
from .datasets import PAPER_COLUMNS, PRERELEASE_COLUMNS, load_mal, make_anime
from .exceptions import SkanimeError
from .intervals import ConformalRegressor, interval_coverage
from .report import (
    atomic_path,
    column_roles,
    format_table,
    plot_history,
    plot_importance,
    plot_intervals,
    plot_predictions,
    plot_residuals,
    regression_metrics,
    write_html_report,
)

__all__ = ["main", "run_experiment", "write_report"]

COLUMN_SETS = {"paper": PAPER_COLUMNS, "prerelease": PRERELEASE_COLUMNS}
#: Model files with this suffix use the secure format of skanime.io, others joblib.
SECURE_SUFFIX = ".skanime"
#: Confidence levels whose coverage the HTML report shows.
REPORT_LEVELS = (0.8, 0.9)


def _say(message: str) -> None:
    print(message, flush=True)


def run_experiment(
    model: HybridAnimeRegressor,
    X: pd.DataFrame,
    y,
    *,
    out_dir: str | Path,
    test_size: float = 0.15,
    valid_size: float = 0.15,
    seed: int = 0,
    title: str = "",
    calibration_size: float = 0.0,
    importance_repeats: int = 3,
):
    """Train on a train/validation/test split as the paper does, report and plot.

    The test rows (``test_size``) are held out first; ``valid_size`` of all rows is
    the validation set that the network scores every epoch. A mean predictor fitted
    on the same training rows is the baseline. With ``calibration_size > 0``, that
    share of all rows is held out of training too, to calibrate prediction
    intervals (:class:`~skanime.intervals.ConformalRegressor`), whose coverage is
    then measured on the test rows. Plots and ``report.html`` go to ``out_dir``.

    Returns
    -------
    model : HybridAnimeRegressor or ConformalRegressor
        Fitted on the training rows (a ConformalRegressor wrapping the
        HybridAnimeRegressor when ``calibration_size > 0``).
    metrics : dict
        ``{"hybrid": {...}, "baseline": {...}}`` on the test rows.
    """
    y = np.asarray(y, dtype=np.float64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed
    )
    fit_share = 1 - test_size - calibration_size
    model.set_params(validation_fraction=valid_size / fit_share)
    if calibration_size > 0:
        model = ConformalRegressor(
            model,
            calibration_size=calibration_size / (1 - test_size),
            random_state=seed,
        )
    _say(
        f"Training on {len(X_train)} rows (of which {valid_size:.0%} of all rows "
        f"validate each epoch), testing on {len(X_test)}."
    )
    if calibration_size > 0:
        _say(
            f"Of the training rows, {calibration_size:.0%} of all rows are kept out "
            "of training to calibrate prediction intervals."
        )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    _say(
        f"Trained {len(model.history_)} epochs in {time.perf_counter() - start:.1f} s."
    )
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
    curves = plot_history(model.history_, out_dir / "training_curves.png")
    scatter = plot_predictions(y_test, y_pred, out_dir / "predicted_vs_actual.png")
    _say(f"\nPlots written: {curves} (loss, MAE, MAPE per epoch) and {scatter}.")
    report = write_report(
        model,
        X_test,
        y_test,
        y_pred,
        {
            "HybridAnimeRegressor": metrics["hybrid"],
            "mean predictor (baseline)": metrics["baseline"],
        },
        out_dir=out_dir,
        title=title or "skanime report: test set",
        data=X,
        data_target=y,
        importance_repeats=importance_repeats,
        seed=seed,
    )
    _say(f"Report written: {report}.")
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
) -> Path:
    """``out_dir/report.html``: one page with the data, roles, metrics and every
    plot, for the rows ``X`` (held out from training unless ``held_out`` is
    False) and their scores ``y``;
    ``data`` and ``data_target``, if given, are the whole table it summarises.

    Also writes the PNGs it embeds (residuals, importance, intervals) beside the
    training curves and the predicted-vs-actual plot, which it reads.
    """
    from .inspection import column_importance

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
    if isinstance(model, ConformalRegressor):
        levels = []
        for level in REPORT_LEVELS:
            bounds = model.predict_interval(X, level)
            levels.append({"nominal level": level, **interval_coverage(y, bounds)})
        coverage = pd.DataFrame(levels)
        figures["intervals"] = plot_intervals(
            y,
            y_pred,
            model.predict_interval(X, REPORT_LEVELS[0]),
            out_dir / "intervals.png",
            level=REPORT_LEVELS[0],
        )
        notes["intervals"] = (
            f"Split-conformal intervals calibrated on "
            f"{len(model.calibration_residuals_)} rows kept out of training; "
            f"coverage is the share of scores inside their interval, on {where}."
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


def cross_validate_report(model, X, y, *, folds: int, seed: int) -> dict:
    """k-fold CV of the model and the mean predictor on the same folds."""
    y = np.asarray(y, dtype=np.float64)
    rows = {"hybrid": [], "baseline": []}
    for k, (train, test) in enumerate(
        KFold(folds, shuffle=True, random_state=seed).split(X), start=1
    ):
        fold_model = clone(model).fit(X.iloc[train], y[train])
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


def _model_from_args(args, **extra) -> HybridAnimeRegressor:
    columns = COLUMN_SETS[args.columns]
    return HybridAnimeRegressor(
        **columns,
        poster_column=None if args.no_posters else "poster",
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        image_size=args.image_size,
        backbone=args.backbone,
        cache_dir=args.cache_dir,
        early_stopping=args.patience > 0,
        patience=max(args.patience, 1),
        num_workers=args.num_workers,
        device=args.device,
        random_state=args.seed,
        verbose=1,
        **extra,
    )


def _save(model, path: Path) -> None:
    """``.skanime``: the secure format of :mod:`skanime.io`; else joblib."""
    if path.suffix == SECURE_SUFFIX:
        skanime_io.save(model, path)
    else:
        with atomic_path(path) as tmp:
            joblib.dump(model, tmp)
    _say(f"Model saved to {path}.")


def cmd_demo(args) -> None:
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
    model, _ = run_experiment(
        model,
        frame,
        frame["Score"],
        out_dir=out_dir,
        seed=args.seed,
        title="Synthetic demo data, test set (cf. the paper's Table 1)",
    )
    if args.out:
        _save(model, Path(args.out))


def cmd_train(args) -> None:
    frame = load_mal(args.data, dropna=True)
    _say(
        f"Loaded {len(frame)} scored anime from {args.data} "
        f"({int(frame['poster'].notna().sum())} with a poster)."
    )
    model = _model_from_args(args)
    if args.cv:
        cross_validate_report(
            model, frame, frame["Score"], folds=args.cv, seed=args.seed
        )
    model, _ = run_experiment(
        model,
        frame,
        frame["Score"],
        out_dir=args.report_dir,
        seed=args.seed,
        calibration_size=args.calibration_size,
        importance_repeats=args.importance_repeats,
    )
    _save(model, Path(args.out))


def _load_model(path) -> HybridAnimeRegressor | ConformalRegressor:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {str(path)!r}")
    if path.suffix == SECURE_SUFFIX:
        model = skanime_io.load(path)
    else:  # a pickle: only for files you made yourself
        model = joblib.load(path)
    if not isinstance(_point_model(model), HybridAnimeRegressor):
        raise SkanimeError(
            f"{str(path)!r} holds a {type(model).__name__}, not a HybridAnimeRegressor."
        )
    return model


def _point_model(model):
    """The HybridAnimeRegressor itself, or the one a ConformalRegressor wraps."""
    return model.estimator_ if isinstance(model, ConformalRegressor) else model


def cmd_evaluate(args) -> None:
    model = _load_model(args.model)
    frame = load_mal(args.data, dropna=True)
    y = frame["Score"].to_numpy()
    train_mean = float(_point_model(model).net_.module_.target_mean)
    y_pred = model.predict(frame)
    rows = {
        "HybridAnimeRegressor": regression_metrics(y, y_pred),
        "training mean (baseline)": regression_metrics(y, np.full(len(y), train_mean)),
    }
    _say(format_table(rows, title=f"{args.data}: {len(frame)} scored anime"))
    if args.report_dir:
        _evaluate_report(model, frame, y, y_pred, rows, args)


def _evaluate_report(model, frame, y, y_pred, rows, args) -> None:
    out_dir = Path(args.report_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    history = getattr(_point_model(model), "history_", None)
    if history is not None and len(history):
        plot_history(history, out_dir / "training_curves.png")
    plot_predictions(
        y, y_pred, out_dir / "predicted_vs_actual.png", title="Predicted vs actual"
    )
    report = write_report(
        model,
        frame,
        y,
        y_pred,
        rows,
        out_dir=out_dir,
        title=f"skanime report: {args.data}",
        importance_repeats=args.importance_repeats,
        seed=0,
        held_out=False,
    )
    _say(f"Report written: {report}.")


def cmd_predict(args) -> None:
    model = _load_model(args.model)
    frame = load_mal(args.data)
    out = frame[["anime_id", "Title"]].copy()
    out["predicted_score"] = np.round(model.predict(frame), 3)
    if args.interval is not None:
        _add_interval_columns(out, model, frame, args.interval, args.model)
    with atomic_path(args.out) as tmp:
        out.to_csv(tmp, index=False)
    _say(f"Wrote {len(out)} predictions to {args.out}.")


def _add_interval_columns(out, model, frame, level: float, path) -> None:
    """``score_low``/``score_high``: the model's split-conformal interval."""
    if not isinstance(model, ConformalRegressor):
        raise SkanimeError(
            f"--interval needs a model trained with calibration rows; {str(path)!r} "
            "has none. Train it with skanime train --calibration-size 0.1 (the "
            "default)."
        )
    bounds = model.predict_interval(frame, level)
    out["score_low"] = np.round(bounds[:, 0], 3)
    out["score_high"] = np.round(bounds[:, 1], 3)


def _confidence_level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a confidence level between 0 and 1, such as 0.8; got {text!r}"
        )
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 0.5:
        raise argparse.ArgumentTypeError(
            f"expected a share of the rows in [0, 0.5), such as 0.1; got {text!r}"
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
            "intervals (predict --interval); 0: none (default: 0.1)",
        )
    parser.add_argument(
        "--importance-repeats",
        type=int,
        default=3,
        help="shuffles per column for the report's column importance; 0: skip it "
        "(default: 3)",
    )


def _add_training_options(parser, *, epochs: int) -> None:
    parser.add_argument(
        "--columns",
        choices=sorted(COLUMN_SETS),
        default="prerelease",
        help="input columns: the paper's five, or all known before release (default)",
    )
    parser.add_argument(
        "--no-posters",
        action="store_true",
        help="tabular-only model (ignore the poster column)",
    )
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--backbone",
        default="auto",
        help="poster network: a name from skanime.backbones.list_backbones(), or "
        "'auto' (pretrained efficientnet_lite0 when installed, else simple_cnn)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="poster side in pixels (default: the backbone's, 224 for "
        "efficientnet_lite0, 64 for simple_cnn)",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="folder for a disk cache of poster embeddings (frozen backbones)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=0,
        help="early stopping patience in epochs (0: off)",
    )
    parser.add_argument(
        "--num-workers", type=int, default=0, help="DataLoader workers decoding posters"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skanime",
        description="Predict MyAnimeList scores from metadata and posters.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="train and report on synthetic data")
    demo.add_argument("--n-samples", type=int, default=3000)
    demo.add_argument(
        "--out-dir",
        default="skanime_demo",
        help="folder for the posters and plots (default: skanime_demo)",
    )
    demo.add_argument("--out", help="also save the fitted model here")
    _add_training_options(demo, epochs=20)
    demo.set_defaults(func=cmd_demo)

    train = commands.add_parser("train", help="train on a MyAnimeList CSV")
    train.add_argument(
        "data", help="CSV such as anime.csv (see skanime.datasets.load_mal)"
    )
    train.add_argument(
        "--out",
        required=True,
        help="where to save the model: .skanime (secure, skanime.io) or .joblib",
    )
    train.add_argument(
        "--report-dir",
        default="skanime_report",
        help="folder for the plots (default: skanime_report)",
    )
    train.add_argument("--cv", type=int, default=0, help="also run k-fold CV first")
    _add_training_options(train, epochs=30)
    _add_report_options(train, calibration=True)
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="score a saved model on a CSV")
    evaluate.add_argument("model")
    evaluate.add_argument("data")
    evaluate.add_argument(
        "--report-dir",
        default=None,
        help="also write report.html and its plots to this folder",
    )
    _add_report_options(evaluate, calibration=False)
    evaluate.set_defaults(func=cmd_evaluate)

    predict = commands.add_parser("predict", help="write predictions for a CSV")
    predict.add_argument("model")
    predict.add_argument("data")
    predict.add_argument("--out", required=True, help="CSV to write")
    predict.add_argument(
        "--interval",
        type=_confidence_level,
        default=None,
        metavar="LEVEL",
        help="also write score_low and score_high, an interval holding the score "
        "with this probability, e.g. 0.8 (needs a model trained with "
        "--calibration-size)",
    )
    predict.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``skanime`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (SkanimeError, ValueError, FileNotFoundError, TypeError) as exc:
        print(f"skanime: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
