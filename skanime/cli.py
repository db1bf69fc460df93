"""The ``skanime`` command: train, evaluate, predict, and a self-contained demo.

Only the standard library is imported at start: torch, scikit-learn and the
estimator load when a command starts its work, so ``skanime --help`` answers at
once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._estimator import HybridAnimeRegressor

__all__ = ["main", "run_experiment"]

#: ``--columns`` choices: the column sets of :mod:`skanime.datasets`.
COLUMN_SET_NAMES = ("paper", "prerelease")
#: Model files with this suffix use the secure format of skanime.io, others joblib.
SECURE_SUFFIX = ".skanime"
#: ``--epochs`` and ``--patience`` defaults, chosen on real data (seed-1 folds of
#: benchmarks/bench_epochs.py): validation MAE stops improving after about 10
#: epochs, and restoring the best epoch's weights costs no accuracy.
MAX_EPOCHS, PATIENCE = 60, 5


def _column_sets() -> dict:
    from .datasets import PAPER_COLUMNS, PRERELEASE_COLUMNS

    return {"paper": PAPER_COLUMNS, "prerelease": PRERELEASE_COLUMNS}


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
    import numpy as np
    from sklearn.model_selection import train_test_split

    from .report import format_table, plot_history, plot_predictions, regression_metrics

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
        f"Trained {len(model.history_)} epochs in {time.perf_counter() - start:.1f} s"
        + _kept_epoch(model)
        + "."
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
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    from .report import format_table, regression_metrics

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


def _kept_epoch(model) -> str:
    """ ", keeping epoch k (the best validation loss)" when early stopping did."""
    if not model.early_stopping or model.validation_fraction <= 0:
        return ""
    losses = list(model.history_[:, "valid_loss"])
    best = min(range(len(losses)), key=losses.__getitem__)
    return f", keeping the weights of epoch {best + 1} (best validation loss)"


def _model_from_args(args, **extra) -> HybridAnimeRegressor:
    from ._estimator import HybridAnimeRegressor

    columns = _column_sets()[args.columns]
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
    import joblib

    from . import io as skanime_io
    from .report import atomic_path

    if path.suffix == SECURE_SUFFIX:
        skanime_io.save(model, path)
    else:
        with atomic_path(path) as tmp:
            joblib.dump(model, tmp)
    _say(f"Model saved to {path}.")


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


def _row_digests(frame):
    """One 64-bit digest per row of the model's inputs (the score left out), to
    recognise the training rows later without storing them."""
    import pandas as pd

    inputs = frame.drop(columns=["Score"], errors="ignore")
    return pd.util.hash_pandas_object(inputs, index=False).to_numpy()


def _show_roles(frame, args) -> None:
    """The role of every column of the CSV for the chosen column set."""
    from ._roles import infer_column_roles

    chosen = dict(_column_sets()[args.columns])
    explicit = {
        "numeric": chosen.get("numeric_columns"),
        "categorical": chosen.get("categorical_columns"),
        "list": chosen.get("list_columns"),
        "poster": None if args.no_posters else "poster",
        "text": None,
        "date": None,
        "duration": None,
    }
    roles = infer_column_roles(
        frame,
        target="Score",
        explicit=explicit,
        explicit_reason=f"in --columns {args.columns}",
    )
    _say(f"Columns (--columns {args.columns}):\n{roles.format()}\n")


def cmd_train(args) -> None:
    import warnings

    from .datasets import load_mal

    frame = load_mal(args.data, dropna=True)
    _say(
        f"Loaded {len(frame)} scored anime from {args.data} "
        f"({int(frame['poster'].notna().sum())} with a poster)."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _show_roles(frame, args)
    model = _model_from_args(args)
    if args.cv:
        cross_validate_report(
            model, frame, frame["Score"], folds=args.cv, seed=args.seed
        )
    model, _ = run_experiment(
        model, frame, frame["Score"], out_dir=args.report_dir, seed=args.seed
    )
    # what the saved model saw: the training split (test rows held out)
    from sklearn.model_selection import train_test_split

    train_rows, test_rows = train_test_split(
        frame.index, test_size=0.15, random_state=args.seed
    )
    model.training_data_ = {
        "source": str(args.data),
        "rows": len(train_rows),
        "held_out_rows": len(test_rows),
        "row_digests": _row_digests(frame.loc[train_rows]),
    }
    _say(
        f"The saved model was fitted on the training split: {len(train_rows)} of "
        f"the {len(frame)} rows (85%); the {len(test_rows)} test rows (15%) above "
        "were held out. `skanime evaluate` on this CSV says which rows it saw."
    )
    _save(model, Path(args.out))


def _load_model(path) -> HybridAnimeRegressor:
    import joblib

    from . import io as skanime_io
    from ._estimator import HybridAnimeRegressor
    from .exceptions import SkanimeError

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


def _use_cache_dir(model, cache_dir) -> None:
    """Let a loaded model's poster embedder read and fill ``cache_dir``."""
    if cache_dir is None:
        return
    from ._embedding import PosterEmbedder

    model.cache_dir = cache_dir
    for _, step in model.pipeline_.steps:
        for _, transformer, _ in getattr(step, "transformers_", ()):
            if isinstance(transformer, PosterEmbedder):
                transformer.cache_dir = cache_dir


def cmd_evaluate(args) -> None:
    import numpy as np

    from .datasets import load_mal
    from .report import format_table, regression_metrics

    model = _load_model(args.model)
    _use_cache_dir(model, args.cache_dir)
    frame = load_mal(args.data, dropna=True)
    y = frame["Score"].to_numpy()
    pred = model.predict(frame)
    train_mean = float(model.net_.module_.target_mean)
    seen_info = getattr(model, "training_data_", None)

    def table(rows, title):
        return format_table(
            {
                "HybridAnimeRegressor": regression_metrics(y[rows], pred[rows]),
                "training mean (baseline)": regression_metrics(
                    y[rows], np.full(int(rows.sum()), train_mean)
                ),
            },
            title=title,
        )

    every = np.ones(len(frame), dtype=bool)
    if seen_info is None:
        _say(
            "This model does not record its training rows (it was not trained by "
            "`skanime train`): if it saw rows of this CSV, their figures are "
            "in-sample and optimistic."
        )
        _say(table(every, f"{args.data}: {len(frame)} scored anime"))
        return
    seen = np.isin(_row_digests(frame), seen_info["row_digests"])
    _say(
        f"The model was fitted on {seen_info['rows']} rows of "
        f"{seen_info['source']} (its training split; {seen_info['held_out_rows']} "
        f"test rows held out). {int(seen.sum())} of the {len(frame)} rows here "
        "are among them."
    )
    if seen.any():
        _say(
            table(
                seen,
                f"IN-SAMPLE (optimistic): the {int(seen.sum())} rows the model "
                "was trained on",
            )
        )
    if (~seen).any():
        _say(
            table(
                ~seen,
                f"Out of sample: the {int((~seen).sum())} rows the model never saw",
            )
        )


def cmd_predict(args) -> None:
    import numpy as np

    from .datasets import load_mal
    from .report import atomic_path

    model = _load_model(args.model)
    _use_cache_dir(model, args.cache_dir)
    frame = load_mal(args.data)
    out = frame[["anime_id", "Title"]].copy()
    out["predicted_score"] = np.round(model.predict(frame), 3)
    with atomic_path(args.out) as tmp:
        out.to_csv(tmp, index=False)
    _say(f"Wrote {len(out)} predictions to {args.out}.")


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
        help="input columns: 'paper' (the paper's five) or 'prerelease' (every "
        "column known before release, see skanime.datasets.PRERELEASE_COLUMNS)",
    )
    parser.add_argument(
        "--no-posters",
        action="store_true",
        help="tabular-only model (ignore the poster column)",
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
        default=PATIENCE,
        help="early stopping: stop after this many epochs without a better "
        "validation loss and keep the best epoch's weights (0: train every epoch "
        "and keep the last)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="rows per batch")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (Adam)")
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
        help="poster side in pixels (None: the backbone's own, 224 for "
        "efficientnet_lite0, 64 for simple_cnn)",
    )
    _add_cache_dir(parser)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=0,
        help="DataLoader workers decoding posters (0: in the main process)",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the split and the weights"
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default shown, except those of required options and on/off flags."""

    def _get_help_string(self, action):
        if action.required or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


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
        "train on 70%, validate on 15%, report on the 15% test rows.",
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
        description="Train on 85% of the rows of a MyAnimeList CSV (of which "
        "15% of all rows validate each epoch), report on the other 15%, and save "
        "the model fitted on the 85%.",
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
    _add_training_options(train, epochs=MAX_EPOCHS)
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on a CSV",
        description="Score a saved model on the scored rows of a CSV; rows the "
        "model was trained on are reported apart (in-sample).",
        formatter_class=formatter,
    )
    evaluate.add_argument("model", help="model file written by `skanime train`")
    evaluate.add_argument("data", help="MyAnimeList CSV with a Score column")
    _add_cache_dir(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    predict = commands.add_parser(
        "predict",
        help="write predictions for a CSV",
        description="Write anime_id, Title and predicted_score for every row.",
        formatter_class=formatter,
    )
    predict.add_argument("model", help="model file written by `skanime train`")
    predict.add_argument("data", help="MyAnimeList CSV (Score not needed)")
    predict.add_argument("--out", required=True, help="CSV to write")
    _add_cache_dir(predict)
    predict.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``skanime`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .exceptions import SkanimeError

    try:
        args.func(args)
    except (SkanimeError, ValueError, FileNotFoundError, TypeError) as exc:
        print(f"skanime: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
