"""Peak memory as the number of rows with posters grows (generated data).

Each fit runs in a fresh process on ``make_anime`` rows with generated posters, and
reports its peak resident memory (VmHWM). Posters are streamed from disk per batch
(a trained CNN) or embedded in batches and cached (a frozen backbone), so memory
should grow with the table, not with the number of images.

    python benchmarks/bench_memory.py [--rows 2000 8000] [--out-dir DIR]

Needs no real data. The frozen case uses efficientnet_lite0 when
``skanime[pretrained]`` is installed and a frozen simple_cnn otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import report, run_fresh

MODES = {
    "trained simple_cnn, 64 px, streamed": {
        "backbone": "simple_cnn",
        "freeze_backbone": False,
        "image_size": 64,
    },
    "frozen backbone, embedded + cached": {"freeze_backbone": True},
}


def child(mode: str, rows: int, folder: str, epochs: int) -> None:
    """Fit once in this fresh process and print the peak memory and time."""
    import warnings

    from skanime import HybridAnimeRegressor
    from skanime.backbones import pretrained_available
    from skanime.datasets import make_anime

    warnings.simplefilter("ignore")
    frame = make_anime(rows, random_state=0, poster_dir=folder, image_size=96)
    params = dict(MODES[mode])
    if params.get("freeze_backbone") and "backbone" not in params:
        params["backbone"] = (
            "efficientnet_lite0" if pretrained_available() else "simple_cnn"
        )
    start = time.perf_counter()
    HybridAnimeRegressor(**params, max_epochs=epochs, random_state=0).fit(
        frame, frame["Score"]
    )
    report(seconds=time.perf_counter() - start, backbone=params)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[2000, 8000])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out-dir", default=None, help="where posters are written")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out_dir or scratch
        if args.child:
            child(args.child[0], int(args.child[1]), folder, args.epochs)
            return 0
        print(
            f"Peak memory of one fit in a fresh process, {args.epochs} epochs, "
            "generated anime with 96 px posters"
        )
        print(f"{'mode':<40}{'rows':>7}{'peak MB':>9}{'fit s':>7}")
        for mode in MODES:
            peaks = []
            for rows in args.rows:
                result = run_fresh(
                    __file__,
                    "--epochs",
                    args.epochs,
                    "--out-dir",
                    Path(folder) / str(rows),
                    "--child",
                    mode,
                    rows,
                )
                peaks.append(result["peak_mb"])
                print(
                    f"{mode:<40}{rows:>7}{result['peak_mb']:>9.0f}"
                    f"{result['seconds']:>7.1f}"
                )
            print(
                f"{'':<40}{'ratio':>7}{peaks[1] / peaks[0]:>9.2f}x for "
                f"{args.rows[1] / args.rows[0]:.0f}x the rows"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
