"""Coverage of skanime's prediction intervals on real MyAnimeList data.

5-fold cross-validation; in each fold the network is trained on 80 % of the
training folds and, frozen (:class:`~sklearn.frozen.FrozenEstimator`), calibrated on
the other 20 % by a :class:`skanime.intervals.ConformalRegressor` (the rows and
draws its own split would take), which gives 80 % and 90 % intervals for the
held-out fold. Reported: the share of
held-out scores inside their interval (target: within 0.03 of the nominal level)
and the mean width, next to a control: the same network trained on all training
rows, with the interval taken from its errors on its own training rows (what one
gets without held-out calibration rows). Beside them, the same conformal intervals
with each row's width scaled by a difficulty model (``difficulty="auto"``), and the
80 % intervals' coverage by group: anime without related anime (no other row
shares their franchise key) and with, anime from 2018 on, music videos.

Two models: the network on the table alone (all scored rows, pre-release columns),
and the hybrid with frozen pretrained poster embeddings (the rows with a poster);
``--shipped``: ``HybridAnimeRegressor()`` as shipped, on all rows, instead.

    python benchmarks/bench_intervals.py [../shared/data/mal] [--seeds 0 2 3]
        [--shipped [--cache-dir DIR]] [--recalibrated [--recency-tau TAU ...]]
        [--rolling YEAR ... [--ahead N]]

``--recalibrated`` measures instead what ``skanime calibrate`` is for: a network
trained on anime before 2016, its intervals calibrated either on a random tenth of
those years or on as many anime of 2016-2017, tested on anime from 2018 on;
``--recency-tau`` adds the same calibration rows weighted by recency.
``--rolling YEAR ...`` measures a model retrained every year: trained before
``YEAR``, calibrated on a random tenth of those years or on the anime of
``YEAR``, tested on the anime of ``YEAR + 1``; beside them,
``ConformalRegressor(time_column="Year")`` on the anime up to ``YEAR``: a model
trained on all of them, with the widths of a clone trained before ``YEAR`` on
the anime of ``YEAR``. ``--ahead N`` tests on ``YEAR + N`` instead, and adds
``time_gap=N - 1`` (the clone trained before ``YEAR - N + 1``).

Skips (exit 0) with a message when the data folder is absent.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from _common import benchmark_parser, load_real_data
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold, train_test_split

from skanime import HybridAnimeRegressor, franchise_key
from skanime.backbones import pretrained_available
from skanime.datasets import PRERELEASE_COLUMNS
from skanime.intervals import ConformalRegressor, conformal_quantile, interval_coverage

LEVELS = (0.8, 0.9)
# the conformal kinds and their ConformalRegressor(difficulty=...)
DIFFICULTIES = {"conformal": None, "scaled": "auto"}
KINDS = {
    "conformal": "split conformal",
    "scaled": "split conformal, scaled",
    "control": "control: training errors",
}


def groups(frame) -> dict:
    """Masks of the rows whose coverage is reported apart."""
    keys = frame["Title"].map(franchise_key)
    related = keys.map(keys.value_counts()).to_numpy() > 1
    return {
        "no related anime": ~related,
        "with related anime": related,
        "Year >= 2018": (frame["Year"] >= 2018).to_numpy(),
        "Music": (frame["Type"] == "Music").to_numpy(),
    }


def models(epochs: int, seed: int, shipped: bool, cache_dir=None) -> dict:
    if shipped:
        name = "HybridAnimeRegressor() as shipped, all rows"
        return {name: HybridAnimeRegressor(cache_dir=cache_dir)}
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


def run(frame, model, seeds, folds, calibration_size, masks) -> dict:
    """Per kind and level: coverage and width of each fold, and the coverage of
    each group in ``masks``."""
    y = frame["Score"].to_numpy()
    out = {
        kind: {
            level: {"coverage": [], "mean_width": [], **{g: [] for g in masks}}
            for level in LEVELS
        }
        for kind in KINDS
    }
    for seed in seeds:
        model = clone(model).set_params(random_state=seed)
        splits = KFold(folds, shuffle=True, random_state=seed).split(frame)
        for train, test in splits:
            X_train, X_test = frame.iloc[train], frame.iloc[test]
            # the split ConformalRegressor(random_state=seed) would draw; one
            # network, frozen, serves both kinds of interval
            rng = np.random.RandomState(seed)
            X_fit, X_cal, y_fit, y_cal = train_test_split(
                X_train,
                y[train],
                test_size=round(len(train) * calibration_size),
                random_state=rng.randint(2**31 - 1),
            )
            network = FrozenEstimator(clone(model).fit(X_fit, y_fit))
            conformal = {
                # the same RandomState draws the difficulty's halves next, as an
                # unfrozen ConformalRegressor's would
                kind: ConformalRegressor(
                    network, difficulty=difficulty, random_state=rng
                ).fit(X_cal, y_cal)
                for kind, difficulty in DIFFICULTIES.items()
            }
            control = clone(model).fit(X_train, y[train])
            in_sample = np.abs(y[train] - control.predict(X_train))
            control_pred = control.predict(X_test)
            # every level's intervals from one prediction of the test rows
            intervals = {
                k: m.predict_interval(X_test, LEVELS) for k, m in conformal.items()
            }
            for i, level in enumerate(LEVELS):
                width = conformal_quantile(in_sample, level)
                naive = np.column_stack([control_pred - width, control_pred + width])
                bounds = {
                    **{k: b[..., i] for k, b in intervals.items()},
                    "control": np.clip(naive, 1, 10),
                }
                for kind, interval in bounds.items():
                    record = out[kind][level]
                    for key, value in interval_coverage(y[test], interval).items():
                        record[key].append(value)
                    inside = (interval[:, 0] <= y[test]) & (y[test] <= interval[:, 1])
                    for group, mask in masks.items():
                        record[group].append(inside[mask[test]].mean())
            print(".", end="", flush=True, file=sys.stderr)
    return out


def _held_out_fit(frame, y, model, era, seed, rng):
    """A random tenth of the ``era`` rows, drawn by ``rng``, held out (it
    calibrates as ``skanime train`` does) and the frozen network trained on the
    rest."""
    older = rng.choice(era, size=len(era) // 10, replace=False)
    train = np.setdiff1d(era, older)
    network = FrozenEstimator(
        clone(model).set_params(random_state=seed).fit(frame.iloc[train], y[train])
    )
    return older, network


def _calibrated(network, frame, y, rows, predicted, test, seed, weight=None):
    """``{kind: [interval_coverage of each level]}`` on the ``test`` rows of
    ``network``'s intervals calibrated on ``rows`` (with ``weight``)."""
    found = {}
    for kind, difficulty in DIFFICULTIES.items():
        conformal = ConformalRegressor(
            network, difficulty=difficulty, random_state=seed
        ).fit(frame.iloc[rows], y[rows], sample_weight=weight)
        bounds = conformal.interval_around(predicted, LEVELS, frame.iloc[test])
        found[kind] = _coverages(y[test], bounds)
    return found


def _coverages(y_true, bounds) -> list[dict]:
    """``interval_coverage`` of each level of ``bounds``, ``(n, 2, levels)``."""
    return [interval_coverage(y_true, bounds[..., i]) for i in range(bounds.shape[-1])]


def _figures(levels_found) -> str:
    """Coverage (width) of each level, right-aligned."""
    cells = [f"{g['coverage']:.3f} ({g['mean_width']:.2f})" for g in levels_found]
    return "".join(f"{cell:>14}" for cell in cells)


def recalibrated(frame, model, seeds, taus=()) -> None:
    """Intervals for later anime: a network trained on anime before 2016,
    calibrated on a random tenth of those years (the usual way) or, as
    ``skanime calibrate`` does, on as many anime of 2016-2017, and tested on
    anime from 2018 on. Each ``taus`` adds the same calibration rows weighted by
    recency, ``exp((year - latest year) / tau)`` (``sample_weight``)."""
    y = frame["Score"].to_numpy()
    year = frame["Year"].to_numpy()
    era = np.flatnonzero(year < 2016)
    newer = np.flatnonzero((year >= 2016) & (year < 2018))
    test = np.flatnonzero(year >= 2018)
    print(
        f"\nTrained before 2016, tested on {len(test)} anime from 2018 on; "
        "coverage (width) of the intervals, by where they were calibrated:"
    )
    header = f"{'calibrated on':<46}{'interval':<34}{'0.80':>14}{'0.90':>14}{'bias':>7}"
    print(header)
    print("-" * len(header))
    for seed in seeds:
        start = time.perf_counter()
        rng = np.random.RandomState(seed)
        older, network = _held_out_fit(frame, y, model, era, seed, rng)
        recent = rng.choice(newer, size=min(len(older), len(newer)), replace=False)
        predicted = network.predict(frame.iloc[test])
        for name, rows in (
            (f"{len(older)} random anime before 2016", older),
            (f"{len(recent)} anime of 2016-2017", recent),
        ):
            calibration_bias = np.mean(y[rows] - network.predict(frame.iloc[rows]))
            age = np.nanmax(year[rows]) - year[rows]
            weightings = {"": None} | {f", tau {t:g}": np.exp(-age / t) for t in taus}
            for weighted, weight in weightings.items():
                found = _calibrated(
                    network, frame, y, rows, predicted, test, seed, weight
                )
                for kind, levels_found in found.items():
                    print(
                        f"{name + f' (seed {seed})':<46}"
                        f"{KINDS[kind] + weighted:<34}"
                        + _figures(levels_found)
                        + f"{calibration_bias:>+7.2f}"
                    )
        print(
            f"  (bias: mean score minus prediction on the calibration rows; on the "
            f"test rows {np.mean(y[test] - predicted):+.2f}; "
            f"{time.perf_counter() - start:.0f} s)"
        )


def rolling(frame, model, seeds, years, ahead: int = 1) -> None:
    """Intervals ``ahead`` years ahead, as a model retrained every year is used:
    for each ``Y`` of ``years``, a network trained on anime before ``Y`` (less a
    random tenth, which calibrates as ``skanime train`` does), calibrated either
    on that tenth or on the anime of ``Y`` (``skanime calibrate``), and tested
    on the anime of ``Y + ahead``; and ``ConformalRegressor(time_column="Year")``
    fitted on the anime up to ``Y`` (the anime of ``Y`` calibrate a clone
    trained before them; the model kept is trained on all), tested on the same
    anime; beyond one year, also with ``time_gap=ahead - 1`` (the clone trained
    before ``Y - ahead + 1``)."""
    y = frame["Score"].to_numpy()
    year = frame["Year"].to_numpy()
    print(
        f"\n{ahead} year(s) ahead: trained before Y, tested on the anime of Y + "
        f"{ahead}; coverage (width) of the intervals, by where they were "
        "calibrated:"
    )
    header = (
        f"{'Y (seed)':<12}{'calibrated on':<30}{'interval':<26}{'0.80':>14}"
        f"{'0.90':>14}{'MAE':>7}"
    )
    print(header)
    print("-" * len(header))
    means: dict = {}

    def report(first, seed, where, name, kind, levels_found, mae) -> None:
        """Keep each level's coverage for the means; print the row."""
        for level, got in zip(LEVELS, levels_found, strict=True):
            means.setdefault((where, kind, level), []).append(got["coverage"])
        print(
            f"{f'{first} ({seed})':<12}{name:<30}{KINDS[kind]:<26}"
            + _figures(levels_found)
            + f"{mae:>7.3f}",
            flush=True,
        )

    for seed in seeds:
        for first in years:
            era = np.flatnonzero(year < first)
            rng = np.random.RandomState(seed)
            older, network = _held_out_fit(frame, y, model, era, seed, rng)
            latest = np.flatnonzero(year == first)
            test = np.flatnonzero(year == first + ahead)
            predicted = network.predict(frame.iloc[test])
            mae = np.mean(np.abs(predicted - y[test]))
            for where, name, rows in (
                ("a random tenth", f"a random tenth before {first}", older),
                ("the latest year", f"the {len(latest)} anime of {first}", latest),
            ):
                found = _calibrated(network, frame, y, rows, predicted, test, seed)
                for kind, levels_found in found.items():
                    report(first, seed, where, name, kind, levels_found, mae)
            upto = np.flatnonzero(year <= first)
            for gap in sorted({0, ahead - 1}):
                later = ConformalRegressor(
                    clone(model).set_params(random_state=seed),
                    calibration_size=len(latest) / len(upto),
                    time_column="Year",
                    time_gap=gap,
                    random_state=seed,
                ).fit(frame.iloc[upto], y[upto])
                refit = later.predict(frame.iloc[test])  # the same model each gap
                report(
                    first,
                    seed,
                    f"time_column, gap {gap}" if gap else "time_column",
                    f"time_column{f', gap {gap}' if gap else ''}, to {first}",
                    "conformal",
                    _coverages(y[test], later.interval_around(refit, LEVELS)),
                    np.mean(np.abs(refit - y[test])),
                )
    print("\nMean coverage over the years and seeds:")
    for (where, kind, level), values in means.items():
        print(f"  {where:<20}{KINDS[kind]:<26}{level:.2f}: {np.mean(values):.3f}")


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
    parser.add_argument(
        "--shipped",
        action="store_true",
        help="HybridAnimeRegressor() as shipped, on all rows, instead",
    )
    parser.add_argument(
        "--cache-dir", default=None, help="poster embedding cache (--shipped)"
    )
    parser.add_argument(
        "--recalibrated",
        action="store_true",
        help="only: trained before 2016, calibrated on older or on 2016-2017 "
        "anime, tested on anime from 2018 on (the first model; all rows)",
    )
    parser.add_argument(
        "--recency-tau",
        type=float,
        nargs="+",
        default=[],
        metavar="TAU",
        help="with --recalibrated: also weight the calibration rows by "
        "exp((year - latest year) / TAU)",
    )
    parser.add_argument(
        "--rolling",
        type=int,
        nargs="+",
        default=None,
        metavar="YEAR",
        help="only: for each YEAR, trained before it, calibrated on a random "
        "tenth or on YEAR, tested on YEAR + 1 (the first model; all rows)",
    )
    parser.add_argument(
        "--ahead",
        type=int,
        default=1,
        metavar="N",
        help="with --rolling: test on YEAR + N, and add time_column with "
        "time_gap N - 1",
    )
    args = parser.parse_args(argv)
    if args.ahead < 1:
        parser.error(f"--ahead must be 1 or more (years); got {args.ahead}")
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    torch.set_num_threads(1)
    if args.rolling or args.recalibrated:
        name, model = next(
            iter(
                models(args.epochs, args.seeds[0], args.shipped, args.cache_dir).items()
            )
        )
        print(f"{len(frame)} scored anime; {name}.")
        frame = frame.reset_index(drop=True)
        if args.rolling:
            rolling(frame, model, args.seeds, args.rolling, args.ahead)
        else:
            recalibrated(frame, model, args.seeds, args.recency_tau)
        return 0
    print(
        f"{len(frame)} scored anime, {int(frame['poster'].notna().sum())} with a "
        f"poster; {args.folds}-fold CV, seeds {args.seeds}, calibration "
        f"{args.calibration_size:.0%} of the training folds"
        + (
            "; the shipped default."
            if args.shipped
            else f", at most {args.epochs} epochs (early stopping, patience 4)."
        )
    )
    header = (
        f"{'model':<56}{'interval':<26}{'nominal':>8}{'coverage':>10}{'+-sd':>7}"
        f"{'width':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, model in models(
        args.epochs, args.seeds[0], args.shipped, args.cache_dir
    ).items():
        rows = frame if "all rows" in name else frame[frame["poster"].notna()]
        rows = rows.reset_index(drop=True)
        # a group of fewer than 20 rows has no coverage worth a figure
        masks = {g: m for g, m in groups(rows).items() if m.sum() >= 20}
        start = time.perf_counter()
        result = run(rows, model, args.seeds, args.folds, args.calibration_size, masks)
        seconds = time.perf_counter() - start
        for kind, label in KINDS.items():
            for level in LEVELS:
                cov = np.array(result[kind][level]["coverage"])
                width = np.mean(result[kind][level]["mean_width"])
                print(
                    f"{name + f' ({len(rows)})':<56}{label:<26}{level:>8.2f}"
                    f"{cov.mean():>10.3f}{cov.std():>7.3f}{width:>8.3f}"
                )
        print(f"  ({seconds:.0f} s for {len(args.seeds) * args.folds} folds)")
        print(f"  coverage of the {LEVELS[0]:.0%} intervals by group:")
        for group, mask in masks.items():
            figures = "  ".join(
                f"{label} {np.mean(result[kind][LEVELS[0]][group]):.3f}"
                for kind, label in KINDS.items()
            )
            print(f"    {group} ({int(mask.sum())}): {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
