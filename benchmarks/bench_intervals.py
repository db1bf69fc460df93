"""Coverage of skanime's prediction intervals on real MyAnimeList data.

5-fold cross-validation; in each fold a :class:`skanime.intervals.ConformalRegressor`
trains the network on 80 % of the training folds, calibrates on the other 20 %, and
gives 80 % and 90 % intervals for the held-out fold. Reported: the share of
held-out scores inside their interval (target: within 0.03 of the nominal level)
and the mean width, next to a control: the same network trained on all training
rows, with the interval taken from its errors on its own training rows (what one
gets without held-out calibration rows).

Two models: the network on the table alone (all scored rows, pre-release columns),
and the hybrid with frozen pretrained poster embeddings (the rows with a poster).

    python benchmarks/bench_intervals.py [../shared/data/mal] [--seeds 0 2 3]

Skips (exit 0) with a message when the data folder is absent.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from _common import benchmark_parser, load_real_data
from sklearn.base import clone
from sklearn.model_selection import KFold

from skanime import HybridAnimeRegressor
from skanime.backbones import pretrained_available
from skanime.datasets import PRERELEASE_COLUMNS
from skanime.intervals import ConformalRegressor, conformal_quantile, interval_coverage

LEVELS = (0.8, 0.9)


def models(epochs: int, seed: int) -> dict:
    common = {
        **PRERELEASE_COLUMNS,
        "max_epochs": epochs,
        "early_stopping": True,
        "patience": 4,
        "random_state": seed,
    }
    found = {"table only, all rows": HybridAnimeRegressor(poster_column=None, **common)}
    if pretrained_available():
        found["hybrid, frozen EfficientNet-Lite0, poster rows"] = HybridAnimeRegressor(
            backbone="efficientnet_lite0", freeze_backbone=True, **common
        )
    return found


def run(frame, model, seeds, folds, calibration_size) -> dict:
    """Per level: coverage and width of each fold, conformal and control."""
    y = frame["Score"].to_numpy()
    out = {
        kind: {level: {"coverage": [], "mean_width": []} for level in LEVELS}
        for kind in ("conformal", "control")
    }
    for seed in seeds:
        model = clone(model).set_params(random_state=seed)
        splits = KFold(folds, shuffle=True, random_state=seed).split(frame)
        for train, test in splits:
            X_train, X_test = frame.iloc[train], frame.iloc[test]
            conformal = ConformalRegressor(
                model, calibration_size=calibration_size, random_state=seed
            ).fit(X_train, y[train])
            control = clone(model).fit(X_train, y[train])
            in_sample = np.abs(y[train] - control.predict(X_train))
            control_pred = control.predict(X_test)
            for level in LEVELS:
                figures = interval_coverage(
                    y[test], conformal.predict_interval(X_test, level)
                )
                width = conformal_quantile(in_sample, level)
                naive = np.column_stack([control_pred - width, control_pred + width])
                naive = np.clip(naive, 1, 10)
                for kind, f in (
                    ("conformal", figures),
                    ("control", interval_coverage(y[test], naive)),
                ):
                    for key in f:
                        out[kind][level][key].append(f[key])
            print(".", end="", flush=True, file=sys.stderr)
    return out


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--calibration-size", type=float, default=0.2)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 2, 3],
        help="seeds of the folds, the calibration split and the weights",
    )
    args = parser.parse_args(argv)
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    torch.set_num_threads(1)
    print(
        f"{len(frame)} scored anime, {int(frame['poster'].notna().sum())} with a "
        f"poster; {args.folds}-fold CV, seeds {args.seeds}, calibration "
        f"{args.calibration_size:.0%} of the training folds, at most {args.epochs} "
        "epochs (early stopping, patience 4)."
    )
    header = (
        f"{'model':<56}{'interval':<26}{'nominal':>8}{'coverage':>10}{'+-sd':>7}"
        f"{'width':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, model in models(args.epochs, args.seeds[0]).items():
        rows = frame if "all rows" in name else frame[frame["poster"].notna()]
        rows = rows.reset_index(drop=True)
        start = time.perf_counter()
        result = run(rows, model, args.seeds, args.folds, args.calibration_size)
        seconds = time.perf_counter() - start
        for kind, label in (
            ("conformal", "split conformal"),
            ("control", "control: training errors"),
        ):
            for level in LEVELS:
                cov = np.array(result[kind][level]["coverage"])
                width = np.mean(result[kind][level]["mean_width"])
                print(
                    f"{name + f' ({len(rows)})':<56}{label:<26}{level:>8.2f}"
                    f"{cov.mean():>10.3f}{cov.std():>7.3f}{width:>8.3f}"
                )
        print(f"  ({seconds:.0f} s for {len(args.seeds) * args.folds} folds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
