"""The ``skanime`` command: train, evaluate, calibrate, predict, fetch posters,
and a self-contained demo.

Only the standard library is imported at start: torch, scikit-learn and the
estimator load when a command starts its work, so ``skanime --help`` answers at
once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ._atomic import is_special_file
from ._cli_explain import drivers
from ._cli_inputs import (
    SECURE_SUFFIX,
    _check_calibrate_on_latest,
    _check_folder,
    _check_model_out,
    _check_out_is_not_an_input,
    _check_posters_given,
    _check_score_scale,
    _check_writable,
    _data_words,
    _load_model,
    _model_and_scored_rows,
    _scored_rows_and_weights,
    _table_as_given,
    _unfetched_urls,
    _use_cache_dir,
)
from ._cli_options import (
    CALIBRATION_SIZE,
    MAX_EPOCHS,
    _add_cache_dir,
    _add_model_and_data,
    _add_optimizer_state,
    _add_report_options,
    _add_role_option,
    _add_scaled_intervals,
    _add_table_options,
    _add_training_options,
    _add_weight_column,
    _confidence_level,
    _HelpFormatter,
    _non_negative_float,
    _whole_number,
)
from ._cli_posters import add_posters_command
from ._cli_tables import _check_table_format, _write_table
from ._cli_unknown import commands_of, unknown_arguments_words
from ._closed_pipe import output_until_closed, reader_gone
from ._experiment import (
    _NO_NEW_ROWS,
    TEST_SIZE,
    _coverage_at_levels,
    _difficulty,
    _plots_written,
    _say,
    cross_validate_report,
    run_experiment,
    say_report_work,
    write_report,
)
from ._interrupts import (
    _INTERRUPTED,
    _WRITTEN,
    _check_interrupt,
    _on_signal,
    _Outputs,
    _publish,
    _signal_handler,
)
from ._roles_shown import roles_shown_once
from ._row_records import _point_model, _recorded_rows, _row_digests, _rows_record
from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from ._atomic import atomic_group
    from ._estimator import HybridAnimeRegressor

__all__ = ["main", "run_experiment", "write_report"]


def _column_sets() -> dict:
    from .datasets import PAPER_COLUMNS, PAPER_MODEL, PRERELEASE_COLUMNS

    # the paper had no title features: "paper" reproduces its setup
    paper = {**PAPER_COLUMNS, **PAPER_MODEL}
    return {"paper": paper, "prerelease": PRERELEASE_COLUMNS, "auto": {}}


def _check_model_options(args) -> None:
    """Refuse, before any data is read, a ``--device`` torch cannot use here
    and a ``--backbone`` no registry holds (``fit`` would, after the loading
    and the column roles)."""
    from ._validation import check_device
    from .backbones import get_backbone, list_backbones

    check_device(args.device)
    name = args.backbone
    if not args.no_posters and name != "auto" and name not in list_backbones():
        get_backbone(name)  # raises the registry's error, which lists its names


def _model_from_args(args, **extra) -> HybridAnimeRegressor:
    from ._estimator import HybridAnimeRegressor

    # the command line's options win over the column set's (PAPER_MODEL's
    # patience and booster); without --patience or --booster, the column set's
    # or the estimator's holds
    stopping = (
        {}
        if args.patience is None
        else {"early_stopping": args.patience > 0, "patience": max(args.patience, 1)}
    )
    booster = (
        {}
        if args.booster is None
        else {"booster": None if args.booster == "none" else args.booster}
    )
    return HybridAnimeRegressor(
        **{
            **_column_sets()[args.columns],
            "poster_column": None if args.no_posters else "poster",
            "mixed_precision": args.mixed_precision,
            "max_epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "image_size": args.image_size,
            "backbone": args.backbone,
            "cache_dir": args.cache_dir,
            **stopping,
            **booster,
            "num_workers": args.num_workers,
            "device": args.device,
            "random_state": args.seed,
            "verbose": 1,
            **extra,
        }
    )


def _save(model, args, outputs: atomic_group) -> None:
    """Save to ``args.out``: ``.skanime``, the secure format of :mod:`skanime.io`;
    else joblib. The networks' optimizer state only with
    ``--keep-optimizer-state``. The file is written when ``outputs`` ends."""
    import joblib

    from . import io as skanime_io
    from ._net import optimizer_state_saved

    path, keep = Path(args.out), args.keep_optimizer_state
    if path.suffix.lower() == SECURE_SUFFIX:
        skanime_io.save(model, outputs.path(path), optimizer_state=keep)
    else:
        with optimizer_state_saved(keep):
            joblib.dump(model, outputs.path(path))


def _reported(outputs: atomic_group) -> bool:
    """Whether ``outputs`` holds a report (``run_experiment`` keeps the model
    and writes none where its plots fail)."""
    return any(target.name == "report.html" for target in outputs.targets())


def cmd_demo(args) -> None:
    from .datasets import make_anime

    _check_folder(args.out_dir, "--out-dir")
    _check_model_out(args.out)
    _check_writable(args.out, "--out")
    _check_model_options(args)
    out_dir = Path(args.out_dir)
    _say(
        f"skanime demo: {args.n_samples} SYNTHETIC anime from make_anime "
        "(generated table and posters, not real data); posters in "
        f"{out_dir / 'posters'}."
    )
    frame = make_anime(
        args.n_samples,
        random_state=args.seed,
        poster_dir=out_dir / "posters",
        image_size=args.image_size or 64,
    )
    model = _model_from_args(args)
    with _Outputs() as outputs:
        model, _ = run_experiment(
            model,
            frame,
            frame["Score"],
            out_dir=out_dir,
            seed=args.seed,
            valid_size=args.valid_size,
            title="Synthetic demo data, test set (cf. the paper's Table 1)",
            outputs=outputs,
        )
        if args.out:
            _save(model, args, outputs)
        reported = _reported(outputs)
    said = ["Plots written."] if reported else []
    if args.out:
        said.append(f"Model saved to {args.out}.")
    _say(" ".join(said) or "Done.")


def _posters_words(frame) -> str:
    """ "N with a poster", or what a table without a poster column trains
    (and, without poster URLs to fetch, how to give posters)."""
    if "poster" not in frame:
        said = "no poster column: the model reads the table alone"
        if "image_url" in frame and frame["image_url"].notna().any():
            return said  # _unfetched_words says how to fetch them
        return (
            f"{said}; name a column of poster files 'poster', or give its name "
            "with --poster-column, to use them"
        )
    return f"{int(frame['poster'].notna().sum())} with a poster"


def _unfetched_words(frame) -> str:
    """ "; its N poster URLs are not fetched: ..." where the table's image URLs
    (Kaggle's ``Image URL``) stand for posters it has no file of."""
    unfetched = _unfetched_urls(frame)
    if not unfetched:
        return ""
    return (
        f"; its {unfetched} poster URL(s) are not fetched: skanime posters DATA "
        "--dest FOLDER --out TABLE fetches them and writes the table with their "
        "paths"
    )


def cmd_train(args) -> None:
    _check_out_is_not_an_input(args, "data")
    _check_model_out(args.out)
    _check_folder(args.report_dir, "--report-dir")
    _check_model_options(args)
    # --columns auto gives every column of the file a role, as
    # HybridAnimeRegressor() does: the file's own columns are kept, and those
    # it lacks are not made up as empty ones
    auto = args.columns == "auto"
    frame, weights = _scored_rows_and_weights(
        args, fill_absent=not auto, other_columns=auto
    )
    _check_score_scale(args, frame)
    _check_calibrate_on_latest(args, frame)
    weighted = "" if weights is None else f", weighted by {args.weight_column!r}"
    _say(
        f"Loaded {len(frame)} scored anime from {_data_words(args, quote=False)} "
        f"({_posters_words(frame)}{_unfetched_words(frame)}){weighted}."
    )
    # fit(verbose=1) prints the fitted model's column roles, once for the
    # CV's folds and the final fit where they agree
    # a file without a poster column (--columns auto) trains a model of the
    # table alone, as --no-posters does
    no_posters = {} if "poster" in frame else {"poster_column": None}
    model = _model_from_args(args, **no_posters)
    from ._cli_roles import identifier_like_words, role_params

    if args.role:  # the roles given by name, the others as the model gives them
        params, said = role_params(model, frame, frame["Score"], args.role)
        model.set_params(**params)
        _say(said)
    if hint := identifier_like_words(model, frame, frame["Score"]):
        _say(hint)  # the trade-off of the roles, and how to undo it
    with roles_shown_once():
        if args.cv:
            cross_validate_report(
                model,
                frame,
                frame["Score"],
                folds=args.cv,
                seed=args.seed,
                sample_weight=weights,
            )
        with _Outputs() as outputs:
            model, _ = run_experiment(
                model,
                frame,
                frame["Score"],
                out_dir=args.report_dir,
                seed=args.seed,
                valid_size=args.valid_size,
                outputs=outputs,
                calibration_size=args.calibration_size,
                scaled_intervals=args.scaled_intervals,
                importance_repeats=args.importance_repeats,
                source=_data_words(args, quote=False),
                sample_weight=weights,
                time_column=args.calibrate_on_latest,
                time_gap=args.calibration_gap,
            )
            n = len(frame)
            trained, held_out = (
                model.training_data_[k] for k in ("rows", "held_out_rows")
            )
            calibration = getattr(model, "calibration_data_", None)
            if args.calibrate_on_latest:  # _check_calibrate_on_latest: it calibrated
                calibrated = (
                    f"; the latest {len(model.calibration_residuals_)} of them by "
                    f"{args.calibrate_on_latest!r} calibrated its prediction "
                    "intervals, predicted by a model trained before them"
                )
            elif calibration:
                calibrated = (
                    f"; {calibration['rows']} more ({calibration['rows'] / n:.0%}) "
                    "calibrated its prediction intervals"
                )
            else:
                calibrated = ""
            _say(
                f"The saved model was trained on {trained} of the {n} rows "
                f"({trained / n:.0%}){calibrated}; the {held_out} test rows "
                f"({held_out / n:.0%}) above were held out. `skanime evaluate` on this "
                "table says which rows it saw."
            )
            _save(model, args, outputs)
            reported = _reported(outputs)
    _say(
        ("Plots and report written. " if reported else "")
        + f"Model saved to {args.out}."
    )


def cmd_evaluate(args) -> None:
    import numpy as np

    from .report import format_table, regression_metrics

    _check_folder(args.report_dir, "--report-dir")
    model, frame, _ = _model_and_scored_rows(args)
    y = frame["Score"].to_numpy()
    pred = model.predict(frame)
    train_mean = float(_point_model(model).net_.module_.target_mean)

    def metrics(rows) -> dict:
        return {
            "HybridAnimeRegressor": regression_metrics(y[rows], pred[rows]),
            "training mean (baseline)": regression_metrics(
                y[rows], np.full(int(rows.sum()), train_mean)
            ),
        }

    every = np.ones(len(frame), dtype=bool)
    digests = _row_digests(frame, model)
    seen, seen_info = _recorded_rows(model, "training_data_", digests)
    calibrating, calibration_info = _recorded_rows(model, "calibration_data_", digests)
    recorded = seen_info is not None or calibration_info is not None
    if calibration_info is not None:
        optimistic = (
            ": the intervals' coverage on them is optimistic"
            if calibrating.any()
            else ""
        )
        _say(
            f"{int(calibrating.sum())} of the {len(frame)} rows here calibrated the "
            f"model's prediction intervals (rows of {calibration_info['source']})"
            f"{optimistic}."
        )
    if seen_info is None:
        _say(
            "This model does not record its training rows (it was not trained by "
            "`skanime train`): if it saw rows of this table, their figures are "
            "in-sample and optimistic."
        )
        _say(
            format_table(
                metrics(every),
                f"{_data_words(args, quote=False)}: {len(frame)} scored anime",
            )
        )
    else:
        n_seen = int(seen.sum())
        # a row is known by its inputs: one with a training row's inputs counts
        # as seen, so there can be more of them than training rows
        alike = (
            f" (more than {seen_info['rows']}: rows with the same inputs as a "
            "training row count as seen)"
            if n_seen > seen_info["rows"]
            else ""
        )
        _say(
            f"The model was fitted on {seen_info['rows']} rows of "
            f"{seen_info['source']} (its training split; "
            f"{seen_info['held_out_rows']} test rows held out). {n_seen} "
            f"of the {len(frame)} rows here have the inputs of a training row"
            f"{alike}."
        )
        if seen.any():
            _say(
                format_table(
                    metrics(seen),
                    f"IN-SAMPLE (optimistic): the {n_seen} rows with the inputs "
                    "of a training row",
                )
            )
        if (~seen).any():
            _say(
                format_table(
                    metrics(~seen),
                    f"Out of sample: the {int((~seen).sum())} rows the model never saw",
                )
            )
    new = ~seen & ~calibrating  # neither trained nor calibrated the model
    covered = None  # the intervals' coverage on the new rows, computed once
    if hasattr(model, "interval_around"):
        if new.any():
            covered = _coverage_at_levels(model, frame[new], y[new], pred[new])
        later = getattr(model, "time_column", None)
        _say(_interval_words(covered, int(new.sum()), seen_info, later))
    if args.report_dir:
        known = new if recorded else None  # else every row, which new is then
        _evaluate_report(model, frame, y, pred, metrics(every), known, covered, args)


def _interval_words(covered, n_new: int, seen_info, time_column=None) -> str:
    """How often a model's intervals held the scores of its ``n_new`` new rows
    (those that neither trained nor calibrated it, as far as the model
    records): ``covered`` is :func:`_coverage_at_levels` on them, None without
    such rows; ``time_column``: the model's, where its intervals are for later
    anime."""
    if covered is None:
        return _NO_NEW_ROWS
    held = ", ".join(
        f"{level:.0%} intervals held {cover['coverage']:.1%} of the scores (mean "
        f"width {cover['mean_width']:.2f})"
        for level, (_, cover) in covered.items()
    )
    unknown = (
        ""
        if seen_info is not None
        else " (it does not record its training rows: optimistic where it trained "
        "on some of them)"
    )
    later = (
        ""
        if time_column is None
        else f" They are calibrated for anime later than its data (by "
        f"{time_column!r}): rows of its training years are held more often."
    )
    return (
        f"Prediction intervals, on the {n_new} rows that neither trained "
        f"nor calibrated the model{unknown}: {held}.{later}"
    )


def _evaluate_report(model, frame, y, y_pred, rows, new, covered, args) -> None:
    from .report import plot_history, plot_predictions

    out_dir = Path(args.report_dir)
    say_report_work(len(frame), args.importance_repeats)
    with tempfile.TemporaryDirectory(prefix="skanime-report-") as staging:
        staging = Path(staging)
        history = getattr(_point_model(model), "history_", None)
        if history is not None and len(history):
            plot_history(model, staging / "training_curves.png")  # names its loss
        plot_predictions(
            y, y_pred, staging / "predicted_vs_actual.png", title="Predicted vs actual"
        )
        write_report(
            model,
            frame,
            y,
            y_pred,
            rows,
            out_dir=staging,
            title=f"skanime report: {_data_words(args, quote=False)}",
            importance_repeats=args.importance_repeats,
            seed=0,
            held_out=False,
            interval_rows=new,
            coverage_at_levels=covered,
        )
        with _Outputs() as outputs:
            _publish(staging, out_dir, outputs)
        written = _plots_written(staging, out_dir)
    _say(written)


def _row_labels(model, frame) -> list[str]:
    """The columns ``predict`` writes beside each prediction to tell its row:
    ``anime_id`` and ``Title`` where the table has them, and the columns the
    model's roles ignored as identifiers (a table's own ``id``)."""
    roles = getattr(_point_model(model), "column_roles_", None)
    ids = roles.identifiers if roles is not None else []
    return [c for c in dict.fromkeys(["anime_id", "Title", *ids]) if c in frame]


def cmd_predict(args) -> None:
    import numpy as np

    from .exceptions import SkanimeError

    to_stdout = args.out == "-"
    if not to_stdout:
        _check_out_is_not_an_input(args, "model", "data")
        _check_table_format(Path(args.out))  # before the work of predicting
    model = _load_model(args.model)
    _use_cache_dir(model, args.cache_dir)
    frame = _table_as_given(args)
    _check_posters_given(model, frame, args)
    out = frame[_row_labels(model, frame)].copy()
    if args.interval is not None:
        _check_calibrated(model, args.model)  # before the work of predicting
    if args.explain and len(frame) < 2:
        raise SkanimeError(
            "--explain measures each anime against the others in the table, and "
            f"{_data_words(args)} holds one: give two or more."
        )
    predicted = model.predict(frame)
    out["predicted_score"] = np.round(predicted, 3)
    if args.interval is not None:
        bounds = model.interval_around(predicted, args.interval, frame)
        out["score_low"] = np.round(bounds[:, 0], 3)
        out["score_high"] = np.round(bounds[:, 1], 3)
    if args.explain:
        print(
            f"Explaining {len(frame)} predictions against the table's anime...",
            file=sys.stderr,
            flush=True,
        )
        out["drivers"] = drivers(model, frame)
    if to_stdout:  # for a pipe: the table alone on standard output
        out.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
        if not reader_gone():  # else the reader stopped early (`| head`): quietly
            print(f"Wrote {len(out)} predictions to standard output.", file=sys.stderr)
        return
    with _Outputs() as outputs:
        _write_table(out, outputs.path(args.out), Path(args.out))
    said = f"Wrote {len(out)} predictions to {args.out}."
    if is_special_file(args.out):  # /dev/stdout: not a line after the table
        print(said, file=sys.stderr)
    else:
        _say(said)


def cmd_calibrate(args) -> None:
    from sklearn.frozen import FrozenEstimator

    from .exceptions import SkanimeError
    from .intervals import ConformalRegressor

    # --out may be the model file: the calibrated model holds it, frozen
    _check_out_is_not_an_input(args, "data")
    _check_model_out(args.out)
    model, frame, weights = _model_and_scored_rows(args)
    digests = _row_digests(frame, model)
    seen, seen_info = _recorded_rows(model, "training_data_", digests)
    if seen_info is None:
        _say(
            "This model does not record its training rows (it was not trained by "
            "`skanime train`): calibrate it only on anime it was not trained on, "
            "or its intervals come out too narrow."
        )
    else:
        _say(
            f"{int(seen.sum())} of the {len(frame)} scored anime in "
            f"{_data_words(args, quote=False)} "
            "were in the model's training split and are left out."
        )
        if seen.all():
            raise SkanimeError(
                f"Every scored anime in {_data_words(args)} was in the model's "
                "training split; calibrate it on anime it was not trained on."
            )
    rows = frame[~seen]
    calibrated = ConformalRegressor(
        FrozenEstimator(_point_model(model)),
        difficulty=_difficulty(args.scaled_intervals),
        random_state=args.seed,
    ).fit(
        rows,
        rows["Score"],
        sample_weight=None if weights is None else weights[~seen],
    )
    if seen_info is not None:
        calibrated.training_data_ = seen_info
    calibrated.calibration_data_ = _rows_record(
        _data_words(args, quote=False), digests[~seen]
    )
    if args.scaled_intervals:
        widths = "each anime's width scaled by its predicted difficulty"
    else:
        widths = ", ".join(
            f"{level:.0%} within +-{calibrated.half_width(level):.2f}"
            for level in (0.8, 0.9)
        )
    _say(
        f"Calibrated on {len(rows)} anime the model was not trained on "
        f"({widths}); the network is unchanged. Coverage measured on these rows "
        "would be optimistic: evaluate on others."
    )
    with _Outputs() as outputs:
        _save(calibrated, args, outputs)
    _say(f"Model saved to {args.out}.")


def _check_calibrated(model, path) -> None:
    """A :class:`SkanimeError` unless ``model`` (from ``path``) can give
    split-conformal intervals."""
    from .exceptions import SkanimeError
    from .intervals import ConformalRegressor

    if not isinstance(model, ConformalRegressor):
        raise SkanimeError(
            f"--interval needs a model trained with calibration rows; {str(path)!r} "
            "has none. Train it with skanime train --calibration-size 0.1 (the "
            "default), or calibrate it: skanime calibrate MODEL DATA --out FILE."
        )


def build_parser() -> argparse.ArgumentParser:
    formatter = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="skanime",
        description="Predict MyAnimeList scores from metadata and posters.",
        formatter_class=formatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="train and report on synthetic data",
        description="Generate a synthetic anime table with posters (make_anime), "
        f"train on {1 - TEST_SIZE:.0%} (each network of the ensemble "
        "validating on its own fold; --valid-size holds out a share instead), "
        f"report on the {TEST_SIZE:.0%} test rows.",
        formatter_class=formatter,
    )
    demo.add_argument(
        "--n-samples",
        type=_whole_number(20),
        default=3000,
        help="synthetic anime to generate",
    )
    demo.add_argument(
        "--out-dir", default="skanime_demo", help="folder for the posters and plots"
    )
    demo.add_argument("--out", help="also save the fitted model here")
    _add_optimizer_state(demo)
    _add_training_options(demo, epochs=MAX_EPOCHS)
    demo.set_defaults(func=cmd_demo)

    train = commands.add_parser(
        "train",
        help="train on a MyAnimeList table (CSV, Parquet or JSON)",
        description=f"Hold out {TEST_SIZE:.0%} of the scored rows of a "
        f"MyAnimeList table as test rows and {CALIBRATION_SIZE:.0%} to "
        "calibrate prediction intervals (--calibration-size), train on the other "
        f"{1 - TEST_SIZE - CALIBRATION_SIZE:.0%} (each network of the "
        "ensemble validating on its own fold; --valid-size holds out a share "
        "instead), report on the test rows, and save the trained, calibrated "
        f"model (trained on {1 - TEST_SIZE:.0%} with --calibrate-on-latest, "
        "whose calibration rows also train it).",
        formatter_class=formatter,
    )
    train.add_argument(
        "data",
        help="CSV such as anime.csv, or a Parquet or JSON table with its columns "
        "(read by skanime.datasets.load_mal); '-' reads it from standard input",
    )
    train.add_argument(
        "--out",
        required=True,
        help="where to save the model: .skanime (secure, skanime.io) or .joblib",
    )
    _add_optimizer_state(train)
    train.add_argument(
        "--report-dir", default="skanime_report", help="folder for the plots"
    )
    train.add_argument(
        "--cv",
        type=_whole_number(2, or_zero=True),
        default=0,
        help="also run k-fold CV first (0: no)",
    )
    _add_weight_column(
        train,
        "the network's loss, the booster and the interval calibration count each "
        "row by it, as fit's sample_weight does; metrics stay unweighted",
    )
    _add_table_options(train, scores=True)
    _add_training_options(train, epochs=MAX_EPOCHS)
    _add_role_option(train)
    _add_report_options(train, calibration=True)
    train.add_argument(
        "--calibrate-on-latest",
        nargs="?",
        const="Year",
        default=None,
        metavar="COLUMN",
        help="intervals for anime later than the data: the calibration rows are "
        "the latest of the training rows by COLUMN (default Year), predicted by "
        "a model trained before them; the saved model is then trained on them "
        "too (two fits; ConformalRegressor(time_column=COLUMN)). One width: not "
        "with --scaled-intervals",
    )
    train.add_argument(
        "--calibration-gap",
        type=_non_negative_float,
        default=0.0,
        metavar="GAP",
        help="with --calibrate-on-latest: the model that predicts the "
        "calibration rows trains only on rows more than GAP (in COLUMN's units) "
        "before them, for intervals GAP further ahead: 1 for anime two years "
        "after the data, by Year (ConformalRegressor(time_gap=GAP))",
    )
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on a MyAnimeList table",
        description="Score a saved model on the scored rows of a table (CSV, "
        "Parquet or JSON); rows the "
        "model was trained on are reported apart (in-sample). For a model with "
        "prediction intervals, also how often they held the scores of the rows "
        "that neither trained nor calibrated it.",
        formatter_class=formatter,
    )
    _add_model_and_data(
        evaluate, "MyAnimeList CSV with scores: a Score column, or --score-column NAME"
    )
    _add_table_options(evaluate, scores=True)
    _add_cache_dir(evaluate)
    evaluate.add_argument(
        "--report-dir",
        default=None,
        help="also write report.html and its plots to this folder",
    )
    _add_report_options(evaluate, calibration=False)
    evaluate.set_defaults(func=cmd_evaluate)

    calibrate = commands.add_parser(
        "calibrate",
        help="give a saved model prediction intervals from scored anime",
        description="Calibrate the prediction intervals of a saved model on the "
        "scored rows of a table that it was not trained on (the rows of its "
        "training split are left out), without training it again; any earlier "
        "calibration is replaced. Intervals calibrated on the latest scored "
        "season hold more of the scores of anime not yet aired than those "
        "calibrated on the training years (docs/benchmarks.md).",
        formatter_class=formatter,
    )
    _add_model_and_data(
        calibrate, "MyAnimeList CSV with scores: a Score column, or --score-column NAME"
    )
    calibrate.add_argument(
        "--out",
        required=True,
        help="where to save the calibrated model: .skanime or .joblib",
    )
    _add_optimizer_state(calibrate)
    _add_scaled_intervals(calibrate)
    _add_weight_column(
        calibrate,
        "each calibration row's error counts as many times as its weight, a new "
        "anime's as once (weights that favour the latest anime follow a drift)",
    )
    calibrate.add_argument(
        "--seed",
        type=_whole_number(0),
        default=0,
        help="seed of the difficulty model's rows",
    )
    _add_table_options(calibrate, scores=True)
    _add_cache_dir(calibrate)
    calibrate.set_defaults(func=cmd_calibrate)

    predict = commands.add_parser(
        "predict",
        help="write predictions for a MyAnimeList table",
        description="Write anime_id, Title and predicted_score for every row "
        "(and the table's other identifier columns, such as an id of its own).",
        formatter_class=formatter,
    )
    _add_model_and_data(predict, "MyAnimeList CSV (Score not needed)")
    predict.add_argument(
        "--out",
        required=True,
        help="file to write: CSV (.csv, also .csv.gz, .zip, .bz2, .xz), .tsv, or "
        "Parquet (.parquet), JSON records (.json) or JSON Lines (.jsonl); '-' "
        "writes CSV to standard output (and its closing line to standard error)",
    )
    _add_table_options(predict, scores=False)
    predict.add_argument(
        "--interval",
        type=_confidence_level,
        default=None,
        metavar="LEVEL",
        help="also write score_low and score_high, an interval holding the score "
        "with this probability, e.g. 0.8 (needs a model trained with "
        "--calibration-size or calibrated with skanime calibrate)",
    )
    predict.add_argument(
        "--explain",
        action="store_true",
        help="also write drivers: the three columns whose values moved each "
        'prediction most, with how much ("Title +0.62; poster +0.26; Themes '
        "-0.20\"), each measured against up to 50 of the table's anime "
        "(skanime.inspection.column_effects: up to 50 predictions a row and column)",
    )
    _add_cache_dir(predict)
    predict.set_defaults(func=cmd_predict)
    add_posters_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``skanime`` command; returns the exit status.

    0 on success; 2 with one line on stderr for an error in the input (a file,
    a column, a value, a model file); 130 (128 + the signal's number) when
    interrupted by Ctrl-C or SIGTERM, in which case no output file was written or
    changed.
    """
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # `skanime` alone: its commands
        parser.print_help(sys.stderr)
        return 2
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse's message, with the option each may mean
        command = commands_of(parser)[args.command]
        command.error(unknown_arguments_words(parser, args.command, unknown))
    from .exceptions import SkanimeError

    _INTERRUPTED.clear()
    _WRITTEN.clear()
    # a reader that stops early (`| head`) ends the output, not the work
    with _signal_handler(_on_signal), output_until_closed():
        try:
            args.func(args)
            _check_interrupt()
        except Exception as exc:
            if not _INTERRUPTED:  # else: a failure the signal caused (a worker's)
                if isinstance(exc, SkanimeError | ValueError | TypeError | OSError):
                    print(f"skanime: error: {exc}", file=sys.stderr)
                    return 2
                raise
        except KeyboardInterrupt:
            pass
        else:
            return 0
    signum = _INTERRUPTED[0] if _INTERRUPTED else signal.SIGINT
    done = (
        " after its output files were written"
        if _WRITTEN
        else "; no output file was written or changed"
    )
    print(f"skanime: interrupted{done}.", file=sys.stderr, flush=True)
    return 128 + int(signum)


def _warning_line(message, category, filename, lineno, file=None, line=None):
    """A warning as the command's other messages are: one line on stderr, without
    the file and line of the code that raised it."""
    print(f"skanime: warning: {message}", file=file or sys.stderr, flush=True)


def console() -> int:
    """The installed ``skanime`` command: :func:`main`, with its warnings shown as
    ``skanime: warning: ...`` lines (``main`` called from Python leaves the
    caller's warning display as it is)."""
    warnings.showwarning = _warning_line
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())
