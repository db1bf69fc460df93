"""Inferred column roles against the hand-picked column sets, on real data.

On ``load_mal``'s frame, 5-fold cross-validation (seed 1 by default: the
reported tables use seeds 0, 2 and 3) of table-only models -- the network
(``HybridAnimeRegressor``, no poster) and HistGradientBoosting on the same
encoded features -- fed with: the paper's columns, ``PRERELEASE_COLUMNS``, the
columns of :func:`skanime._roles.infer_column_roles`, and the inferred columns
plus each column the inference ignores as post-release (``Licensors``,
``Status``: the control that its choice costs nothing).

    python benchmarks/bench_roles.py [../shared/data/mal] [--sets NAME ...]

Skips (exit 0) with a message when the data folder is absent.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from _common import benchmark_parser, load_real_data
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from skanime import HybridAnimeRegressor, make_tabular_encoder
from skanime._roles import infer_column_roles
from skanime.datasets import PAPER_COLUMNS, PRERELEASE_COLUMNS


def column_sets(frame) -> dict:
    inferred = infer_column_roles(frame).encoder_columns()
    inferred = {k: v for k, v in inferred.items() if k.endswith("_columns")}
    inferred.pop("text_columns")
    with_licensors = {
        **inferred,
        "list_columns": (*inferred["list_columns"], "Licensors"),
    }
    with_status = {
        **inferred,
        "categorical_columns": (*inferred["categorical_columns"], "Status"),
    }
    return {
        "paper": PAPER_COLUMNS,
        "PRERELEASE_COLUMNS": PRERELEASE_COLUMNS,
        "inferred roles": inferred,
        "inferred + Licensors": with_licensors,
        "inferred + Status": with_status,
        DEFAULTS: None,
    }


DEFAULTS = "HybridAnimeRegressor() defaults (auto roles)"


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--sets", nargs="*", default=None, help="only these rows (names as printed)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    y = frame["Score"].to_numpy()
    folds = list(KFold(args.folds, shuffle=True, random_state=args.seed).split(frame))
    print(f"{len(frame)} scored anime, {args.folds}-fold CV seed {args.seed}")
    print(f"{'columns':<46}{'model':<10}{'MAE':>8}{'+-sd':>7}{'time s':>8}")
    for name, columns in column_sets(frame).items():
        if args.sets and name not in args.sets:
            continue
        if columns is None:  # every default of the estimator, poster aside
            models = {
                "net": lambda: HybridAnimeRegressor(
                    poster_column=None, random_state=args.seed
                )
            }
        else:
            models = {
                "net": lambda c=columns: HybridAnimeRegressor(
                    **c,
                    poster_column=None,
                    max_epochs=args.epochs,
                    early_stopping=True,
                    patience=5,
                    random_state=args.seed,
                ),
                "HGB": lambda c=columns: make_pipeline(
                    make_tabular_encoder(**c, poster_column=None),
                    HistGradientBoostingRegressor(random_state=args.seed),
                ),
            }
        for model_name, make in models.items():
            start, maes = time.perf_counter(), []
            for train, test in folds:
                fitted = make().fit(frame.iloc[train], y[train])
                maes.append(np.mean(np.abs(fitted.predict(frame.iloc[test]) - y[test])))
            print(
                f"{name:<46}{model_name:<10}{np.mean(maes):>8.4f}{np.std(maes):>7.4f}"
                f"{time.perf_counter() - start:>8.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
