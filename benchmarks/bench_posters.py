"""Do posters count? The hybrid against a constant-image control on MyAnimeList.

The control is the same model with every poster replaced by ONE constant image (a
mid-grey PNG written to a temporary folder): it keeps the ``has_image`` flag, which
leaks the selection of which anime have a poster, and nothing of the pixels. What
the hybrid gains over it is what the pixels add.

Two settings, 5-fold CV, same folds for every model of a seed:

* ``posters``: trained and tested on the rows that have a poster only;
* ``all``: trained on all rows; MAE on all test rows and on the poster test rows.

Models: the network on the table only, the constant-image control, the network on
the poster only, and the hybrid (frozen pretrained backbone, cached embeddings),
plus, with ``--variants``, the candidate ways of making the poster count. Each
model's MAE is paired per fold with the control's (``model - control``: negative
means the model is better); the table gives the mean over seeds x folds with a
bootstrap 95% interval of that mean.

    python benchmarks/bench_posters.py [../shared/data/mal] [--seeds 0 2 3]
        [--setting posters all] [--variants NAME ...] [--quick]

Seed 1 is kept for choosing settings (``--seeds 1 --variants ...``); the reported
table uses seeds 0, 2 and 3. Skips (exit 0) with a message when the data folder or
the pretrained backbone is absent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import load_real_data
from PIL import Image
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline

from skanime import EmbeddingReducer, HybridAnimeRegressor, PosterPrior
from skanime.backbones import FlipAverage, get_backbone, pretrained_available
from skanime.datasets import PRERELEASE_COLUMNS

BACKBONE = "efficientnet_lite0"


class Variant(HybridAnimeRegressor):
    """The hybrid with extra poster steps after its PosterEmbedder (benchmark only).

    ``reduce``: an :class:`EmbeddingReducer` with that many components between
    the embedder and the network; ``prior``: a cross-fitted :class:`PosterPrior`
    fed to the table branch as one more column.
    """

    def __init__(self, *, reduce=None, prior=False, **params):
        super().__init__(**params)
        self.reduce = reduce
        self.prior = prior

    def _poster_step(self, seed):
        step, module_params = super()._poster_step(seed)
        if self.reduce and step is not None:
            step = make_pipeline(step, EmbeddingReducer(self.reduce, random_state=seed))
        return step, module_params

    def _make_pipeline(self, seed):
        pipeline = super()._make_pipeline(seed)
        if self.prior and self.poster_column is not None:
            encoder = pipeline[0]
            posters = {n: t for n, t, _ in encoder.transformers}["poster"]
            embedder = posters.steps[0][1] if hasattr(posters, "steps") else posters
            prior = make_pipeline(
                embedder.__class__(**embedder.get_params()),
                PosterPrior(random_state=seed),
            )
            encoder.transformers.append(("poster_prior", prior, [self.poster_column]))
            encoder.set_output(transform="pandas")
        return pipeline


def grey_poster(folder: Path) -> str:
    """Write a 300x420 mid-grey PNG in ``folder``; its absolute path."""
    path = folder / "constant.png"
    Image.new("RGB", (300, 420), (128, 128, 128)).save(path)
    return str(path)


def base_params(args, seed: int) -> dict:
    return {
        "max_epochs": args.epochs,
        "early_stopping": True,
        "patience": 6,
        "random_state": seed,
        "poster_root": args.data,
        "cache_dir": args.cache_dir,
        "poster_errors": "raise",
    }


#: Candidates for making the poster count (chosen on seed 1).
VARIANTS = {
    "drop0.5": {"module__image_dropout": 0.5},
    "drop0.9": {"module__image_dropout": 0.9},
    "units4": {"module__image_units": 4},
    "units64": {"module__image_units": 64},
    "wd1e-3": {"optimizer__weight_decay": 1e-3},
    "pca30": {"reduce": 30, "module__image_dropout": 0.0},
    "pca30-d0.5": {"reduce": 30, "module__image_dropout": 0.5},
    "pca10-d0.5": {"reduce": 10, "module__image_dropout": 0.5},
    "pca30-u4-d0.5": {
        "reduce": 30,
        "module__image_dropout": 0.5,
        "module__image_units": 4,
    },
    "prior": {"prior": True},
    "prior-pca30-d0.5": {"prior": True, "reduce": 30, "module__image_dropout": 0.5},
    "lite1": {"backbone": "efficientnet_lite1"},
    "lite2": {"backbone": "efficientnet_lite2"},
    "flip": {"backbone": "flip"},
}


def make_models(args, seed: int, constant_frame) -> dict:
    """``{name: (estimator, frame_or_None)}``; None means the real frame."""
    common = base_params(args, seed)
    columns = dict(PRERELEASE_COLUMNS)
    no_table = dict.fromkeys(columns, None)
    models = {
        "table only": (Variant(**columns, poster_column=None, **common), None),
        "constant image": (
            Variant(**columns, backbone=BACKBONE, **common),
            constant_frame,
        ),
        "poster only": (Variant(**no_table, backbone=BACKBONE, **common), None),
        "hybrid": (Variant(**columns, backbone=BACKBONE, **common), None),
    }
    for name in args.variants:
        params = {"backbone": BACKBONE, **VARIANTS[name]}
        if params["backbone"] == "flip":
            params["backbone"] = FlipAverage(get_backbone(BACKBONE))
        models[f"hybrid {name}"] = (Variant(**columns, **common, **params), None)
    if args.quick:
        models = {k: v for k, v in models.items() if k != "poster only"}
    return models


def bootstrap_interval(values, n=10_000, seed=0) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values``."""
    values = np.asarray(values)
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(n, len(values))).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def run_setting(setting: str, frame, args) -> None:
    rows = frame if setting == "all" else frame[frame["poster"].notna()]
    rows = rows.reset_index(drop=True)
    y = rows["Score"].to_numpy()
    has_poster = rows["poster"].notna().to_numpy()
    const = rows.copy()
    const.loc[has_poster, "poster"] = args.grey  # same flag, one image
    scopes = {"all": np.ones(len(rows), bool), "poster": has_poster}
    if setting == "posters":
        scopes = {"poster": has_poster}
    # errors[scope][model] = list of per-fold MAE; seconds[model]
    errors: dict = {scope: {} for scope in scopes}
    seconds: dict = {}
    for seed in args.seeds:
        folds = list(KFold(args.folds, shuffle=True, random_state=seed).split(rows))
        if args.quick:
            folds = folds[:2]
        for name, (model, data) in make_models(args, seed, const).items():
            X = rows if data is None else data
            start = time.perf_counter()
            for train, test in folds:
                pred = model.fit(X.iloc[train], y[train]).predict(X.iloc[test])
                for scope, mask in scopes.items():
                    keep = mask[test]
                    mae = float(np.mean(np.abs(pred[keep] - y[test][keep])))
                    errors[scope].setdefault(name, []).append(mae)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            print(
                f"  [{setting} seed {seed}] {name}: "
                + ", ".join(
                    f"{s} {np.mean(errors[s][name][-len(folds) :]):.4f}" for s in scopes
                ),
                flush=True,
            )
    n_runs = len(args.seeds) * (2 if args.quick else args.folds)
    print(
        f"\nSetting '{setting}': {len(rows)} rows ({has_poster.sum()} with a poster), "
        f"{args.folds}-fold CV, seeds {args.seeds}; {n_runs} paired folds. "
        "diff = model MAE - control MAE (negative: better than the control)."
    )
    for scope in scopes:
        control = np.array(errors[scope]["constant image"])
        print(f"\nMAE on the {scope} test rows")
        print(
            f"{'model':<24}{'MAE':>8}{'sd seeds':>10}{'diff':>9}{'95% CI':>20}"
            f"{'time s':>9}"
        )
        for name, maes in errors[scope].items():
            maes = np.array(maes)
            per_seed = maes.reshape(len(args.seeds), -1).mean(axis=1)
            diff = maes - control
            low, high = bootstrap_interval(diff)
            interval = f"[{low:+.4f}, {high:+.4f}]"
            print(
                f"{name:<24}{maes.mean():>8.4f}{per_seed.std():>10.4f}"
                f"{diff.mean():>+9.4f}{interval:>20}"
                f"{seconds[name] / len(args.seeds):>9.1f}"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data",
        nargs="?",
        default="../shared/data/mal",
        help="folder with anime.csv and posters/",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 2, 3])
    parser.add_argument(
        "--setting", nargs="+", choices=["posters", "all"], default=["posters", "all"]
    )
    parser.add_argument(
        "--variants",
        nargs="*",
        choices=sorted(VARIANTS),
        default=[],
        help="candidate hybrids to compare too",
    )
    parser.add_argument(
        "--cache-dir",
        default=str(Path(tempfile.gettempdir()) / "skanime_emb_cache"),
        help="disk cache of the poster embeddings (reruns skip the backbone)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one seed's first 2 folds, 15 epochs, no poster-only model: a smoke run",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.quick:
        args.seeds, args.epochs = args.seeds[:1], 15
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    if not pretrained_available():
        print('SKIPPED: needs pip install "skanime[pretrained]".')
        return 0
    args.data = str(Path(args.data).resolve())
    with tempfile.TemporaryDirectory() as folder:
        args.grey = grey_poster(Path(folder))
        print(
            f"{len(frame)} scored anime, {frame['poster'].notna().sum()} with a "
            f"poster; pre-release columns, frozen {BACKBONE}; CPU, "
            f"{torch.get_num_threads()} torch thread."
        )
        for setting in args.setting:
            run_setting(setting, frame, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
