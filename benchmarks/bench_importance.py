"""Column importance of the shipped model on real MyAnimeList data.

``HybridAnimeRegressor()`` with its defaults (column roles inferred, title
branches, frozen poster backbone and poster prior) is trained on 80 % of the scored
anime; :func:`skanime.inspection.column_importance` then permutes each input
column as a whole (the poster as one unit) on the held-out 20 % and reports the
rise in MAE, mean and standard deviation over the repeats. The control beside it:
a column of pure noise added to the table, named explicitly so the model reads it;
its importance is what "nothing" looks like.

    python benchmarks/bench_importance.py [../shared/data/mal] [--repeats 5]

Skips (exit 0) with a message when the data folder is absent.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from _common import benchmark_parser, load_real_data
from sklearn.model_selection import train_test_split

from skanime import HybridAnimeRegressor, infer_column_roles
from skanime.inspection import column_importance


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None, help="poster embedding cache")
    args = parser.parse_args(argv)
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    frame = frame.assign(noise=rng.normal(size=len(frame)))
    y = frame.pop("Score").to_numpy()
    train, test = train_test_split(
        np.arange(len(frame)), test_size=0.2, random_state=args.seed
    )
    # every other column's role is inferred; the noise control is named
    numeric = [*infer_column_roles(frame.iloc[train])["numeric"], "noise"]
    model = HybridAnimeRegressor(
        numeric_columns=list(dict.fromkeys(numeric)),
        poster_root=args.data,
        cache_dir=args.cache_dir,
        random_state=args.seed,
    )
    start = time.perf_counter()
    model.fit(frame.iloc[train], y[train])
    fitted = time.perf_counter() - start
    start = time.perf_counter()
    table = column_importance(
        model,
        frame.iloc[test],
        y[test],
        n_repeats=args.repeats,
        random_state=args.seed,
    )
    print(
        f"{len(train)} training rows, {len(test)} held out (seed {args.seed}); "
        f"fit {fitted:.0f} s, importance {time.perf_counter() - start:.0f} s; "
        f"held-out MAE {table.attrs['baseline_mae']:.3f}.\n"
    )
    print(f"{'column':<14}{'MAE rise':>10}{'sd':>8}")
    for column, row in table.iterrows():
        print(
            f"{column:<14}{row['importance_mean']:>10.4f}{row['importance_std']:>8.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
