"""The poster ablation on real MyAnimeList data (the first accuracy benchmark).

The all-rows comparison with boosting given the same information (has-poster flag,
title, franchise prior) is ``bench_accuracy.py``; the "main" part here is kept for
reproducing the earlier table, in which boosting did not get the has-poster flag.

Part "main": 5-fold cross-validation of HybridAnimeRegressor and of a
HistGradientBoosting baseline on the same folds and the same encoded features (the
boosting model sees the table only: it cannot read images), plus the mean
predictor. Metrics are given on all test rows and on the test rows that have a
poster.

Part "ablation": on the rows that have a poster only, 5-fold CV (same folds for
every model) of: the mean predictor, boosting on the table, the network on the
table only, the network on the poster only (frozen pretrained features), the hybrid
with the paper's from-scratch CNN, and the hybrid with frozen pretrained
EfficientNet-Lite0 features.

    python benchmarks/bench_poster_ablation.py [../shared/data/mal] [--part all]

Skips (exit 0) with a message when the data folder is absent.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import benchmark_parser, load_real_data
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from skanime import HybridAnimeRegressor, make_tabular_encoder
from skanime.backbones import pretrained_available
from skanime.datasets import PAPER_COLUMNS, PRERELEASE_COLUMNS
from skanime.report import regression_metrics

COLUMN_SETS = {"paper": PAPER_COLUMNS, "prerelease": PRERELEASE_COLUMNS}


def models(columns: dict, seed: int, epochs: int) -> dict:
    return {
        "hybrid (MLP + CNN)": HybridAnimeRegressor(
            **columns,
            max_epochs=epochs,
            early_stopping=True,
            patience=6,
            random_state=seed,
        ),
        "HistGradientBoosting": make_pipeline(
            make_tabular_encoder(**columns, poster_column=None),
            HistGradientBoostingRegressor(random_state=seed),
        ),
    }


def ablation_models(columns: dict, seed: int, epochs: int) -> dict:
    """The poster-rows ablation: each model sees the table, the poster, or both."""
    common = {"max_epochs": epochs, "early_stopping": True, "patience": 6}
    common["random_state"] = seed
    no_table = dict.fromkeys(columns, None)
    return {
        "HGB, table": make_pipeline(
            make_tabular_encoder(**columns, poster_column=None),
            HistGradientBoostingRegressor(random_state=seed),
        ),
        "net, table only": HybridAnimeRegressor(
            **columns, poster_column=None, **common
        ),
        "net, poster only (pretr.)": HybridAnimeRegressor(
            **no_table, backbone="efficientnet_lite0", **common
        ),
        "hybrid, scratch CNN": HybridAnimeRegressor(
            **columns, backbone="simple_cnn", **common
        ),
        "hybrid, pretrained frozen": HybridAnimeRegressor(
            **columns, backbone="efficientnet_lite0", **common
        ),
    }


def cross_validate(models: dict, frame, y, folds) -> dict:
    """Out-of-fold predictions of every model (and the mean), with their time."""
    results = {}
    for name, model in [*models.items(), ("mean predictor", None)]:
        preds = np.empty(len(frame))
        start = time.perf_counter()
        for train, test in folds:
            if model is None:
                preds[test] = y[train].mean()
                continue
            fitted = model.fit(frame.iloc[train], y[train])
            preds[test] = fitted.predict(frame.iloc[test])
        results[name] = (preds, time.perf_counter() - start)
    return results


def run_ablation(frame, args) -> None:
    """Each seed gives other folds and other initial weights; the table shows the
    mean over seeds and, for MAE, the spread between seeds."""
    rows = frame[frame["poster"].notna()].reset_index(drop=True)
    y = rows["Score"].to_numpy()
    print(
        f"\nAblation on the {len(rows)} rows with a poster ({args.folds}-fold CV, "
        f"seeds {args.ablation_seeds}; pretrained = efficientnet_lite0, frozen)"
    )
    for set_name in args.columns:
        columns = COLUMN_SETS[set_name]
        metrics: dict[str, list[dict]] = {}
        seconds: dict[str, float] = {}
        for seed in args.ablation_seeds:
            folds = list(KFold(args.folds, shuffle=True, random_state=seed).split(rows))
            results = cross_validate(
                ablation_models(columns, seed, args.epochs), rows, y, folds
            )
            for name, (preds, secs) in results.items():
                metrics.setdefault(name, []).append(regression_metrics(y, preds))
                seconds[name] = seconds.get(name, 0.0) + secs
        print(f"\ncolumns: {set_name}")
        print(f"{'model':<28}{'MAE':>8}{'+-sd':>7}{'MSE':>8}{'MAPE %':>8}{'time s':>8}")
        for name, runs in metrics.items():
            mae = np.array([m["mae"] for m in runs])
            mse = np.mean([m["mse"] for m in runs])
            mape = np.mean([m["mape"] for m in runs])
            print(
                f"{name:<28}{mae.mean():>8.3f}{mae.std():>7.3f}{mse:>8.3f}"
                f"{mape:>8.2f}{seconds[name] / len(runs):>8.1f}"
            )


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--columns", nargs="+", choices=sorted(COLUMN_SETS), default=sorted(COLUMN_SETS)
    )
    parser.add_argument("--part", choices=["all", "main", "ablation"], default="all")
    parser.add_argument(
        "--ablation-seeds",
        type=int,
        nargs="+",
        default=[0, 2, 3],
        help="seeds of the ablation's folds and weights (seed 1's folds were used "
        "to choose the image branch's defaults, so they are left out)",
    )
    args = parser.parse_args(argv)
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    y = frame["Score"].to_numpy()
    has_poster = frame["poster"].notna().to_numpy()
    print(
        f"{len(frame)} scored anime, {has_poster.sum()} with a poster; "
        f"{args.folds}-fold CV, seed {args.seed}. Members (popularity) is not used."
    )
    if args.part in ("all", "ablation"):
        if pretrained_available():
            run_ablation(frame, args)
        else:
            print('Ablation SKIPPED: needs pip install "skanime[pretrained]".')
    if args.part == "ablation":
        return 0
    folds = list(KFold(args.folds, shuffle=True, random_state=args.seed).split(frame))
    for set_name in args.columns:
        predictions = cross_validate(
            models(COLUMN_SETS[set_name], args.seed, args.epochs), frame, y, folds
        )
        results = {
            name: {
                "all": regression_metrics(y, preds),
                "poster": regression_metrics(y[has_poster], preds[has_poster]),
                "seconds": seconds,
            }
            for name, (preds, seconds) in predictions.items()
        }
        print(f"\ncolumns: {set_name} {COLUMN_SETS[set_name]}")
        print(f"{'model':<24}{'rows':>8}{'MAE':>8}{'MSE':>8}{'MAPE %':>8}{'time s':>8}")
        for name, r in results.items():
            for rows in ("all", "poster"):
                m = r[rows]
                label = "all" if rows == "all" else "poster"
                secs = f"{r['seconds']:>8.1f}" if rows == "all" else ""
                print(
                    f"{name:<24}{label:>8}{m['mae']:>8.3f}{m['mse']:>8.3f}"
                    f"{m['mape']:>8.2f}{secs}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
