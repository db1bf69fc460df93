"""Train on a GPU, serve on a CPU: the default model fitted on CUDA and on the CPU.

On one 85/15 split of MyAnimeList (``PRERELEASE_COLUMNS``), the default
``HybridAnimeRegressor`` is fitted with ``device="cuda"`` and with
``device="cpu"`` on the same machine, and the script prints each fit's time,
epochs and test MAE beside the mean predictor's. The GPU-trained model is then
saved with ``skanime.io`` and loaded in a fresh process that sees no GPU
(``CUDA_VISIBLE_DEVICES=""``), which embeds the test posters again and predicts
the test rows on the CPU; the script prints how far those predictions are from
the GPU's.

    python benchmarks/bench_gpu.py [../shared/data/mal] [--seed 0] [--out DIR]
        [--devices cuda cpu] [--precisions float32 bfloat16] [--threads N]

``--devices cpu`` gives the CPU's figure on a machine without a GPU.
``--precisions float32 bfloat16`` fits each device twice, the second time with
``mixed_precision="bfloat16"`` (``torch.autocast`` in training); each GPU
model is served on the CPU. Skips (exit
0) with a message when the data folder is absent, or when ``cuda`` is asked for
and torch sees no GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import benchmark_parser, load_real_data
from sklearn.model_selection import train_test_split

import skanime.io as skio
from skanime import HybridAnimeRegressor, clear_memory_cache
from skanime.datasets import PRERELEASE_COLUMNS

_SERVE_ON_CPU = """
import sys, time
import numpy as np, pandas as pd, torch
import skanime.io as skio
assert not torch.cuda.is_available()
model = skio.load(sys.argv[1])
rows = pd.read_pickle(sys.argv[2])
start = time.perf_counter()
np.save(sys.argv[3], model.predict(rows))
print(f"{time.perf_counter() - start:.1f}")
"""


#: ``--precisions`` -> the estimator's ``mixed_precision``.
PRECISIONS = {"float32": None, "bfloat16": "bfloat16"}


def fit_on(device, X, y, seed, precision="float32"):
    """The default model fitted on ``device`` in ``precision`` (a key of
    :data:`PRECISIONS`), and the fit's seconds; the posters are embedded afresh
    on that device (the in-memory cache emptied)."""
    clear_memory_cache()
    model = HybridAnimeRegressor(
        **PRERELEASE_COLUMNS,
        device=device,
        mixed_precision=PRECISIONS[precision],
        random_state=seed,
    )
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start


def serve_without_gpu(model, X_test, folder) -> tuple[np.ndarray, str]:
    """``model`` saved with ``skanime.io`` into ``folder`` and loaded by a fresh
    process that sees no GPU: its predictions of ``X_test`` and its seconds."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    skio.save(model, folder / "gpu_model.skanime")
    X_test.to_pickle(folder / "test_rows.pkl")
    served = subprocess.run(
        [sys.executable, "-c", _SERVE_ON_CPU, folder / "gpu_model.skanime"]
        + [folder / "test_rows.pkl", folder / "served.npy"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    return np.load(folder / "served.npy"), served.stdout.strip()


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--seed", type=int, default=0, help="the split's seed")
    parser.add_argument(
        "--devices",
        nargs="+",
        choices=["cuda", "cpu"],
        default=["cuda", "cpu"],
        help="fit on each of these (default: cuda cpu)",
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        choices=list(PRECISIONS),
        default=["float32"],
        help="fit each device in each of these (default: float32)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--out", default=None, help="keep the GPU models here")
    args = parser.parse_args(argv)
    if "cuda" in args.devices and not torch.cuda.is_available():
        print("SKIPPED: torch sees no GPU here.")
        return 0
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    X, y = frame.drop(columns="Score"), frame["Score"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.15, random_state=args.seed
    )
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    print(
        f"{gpu}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
        f"{len(X_train)} training rows, {len(X_test)} test rows, seed {args.seed}"
    )
    mean_mae = np.abs(y_test - y_train.mean()).mean()
    print(f"{'mean predictor':<14} test MAE {mean_mae:.4f}")
    models, predictions = {}, {}
    for device in args.devices:
        for precision in args.precisions:
            name = device if precision == "float32" else f"{device} {precision}"
            models[name], seconds = fit_on(
                device, X_train, y_train, args.seed, precision
            )
            start = time.perf_counter()
            predictions[name] = models[name].predict(X_test)
            predict_s = time.perf_counter() - start
            mae = np.abs(predictions[name] - y_test).mean()
            print(
                f"{name:<14} fit {seconds:6.1f} s, {len(models[name].history_)} "
                f"epochs, predict {predict_s:.1f} s, test MAE {mae:.4f}",
                flush=True,
            )
    for name in [name for name in models if name.startswith("cuda")]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(args.out or tmp) / name.replace(" ", "_")
            on_cpu, seconds = serve_without_gpu(models[name], X_test, folder)
        gap = np.abs(on_cpu - predictions[name])
        print(
            f"{name} model served on the CPU (fresh process, no GPU): predict "
            f"{seconds} s, test MAE {np.abs(on_cpu - y_test).mean():.4f}; "
            f"|CPU - GPU prediction| max {gap.max():.2e}, mean {gap.mean():.2e}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
