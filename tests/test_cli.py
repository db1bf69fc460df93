"""The skanime command: demo, train, evaluate, predict, and its errors."""

import html
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skanime import HybridAnimeRegressor, clear_memory_cache, cli
from skanime._cli_options import BATCH_SIZE, MAX_EPOCHS
from skanime._experiment import _kept_epoch
from skanime.cli import _posters_words, main
from skanime.datasets import PAPER_MODEL, PRERELEASE_COLUMNS, load_mal, make_anime
from skanime.exceptions import ColumnError, DataWarning
from skanime.intervals import interval_coverage

from .conftest import fast_model

FAST = ["--epochs", "2", "--image-size", "16", "--batch-size", "16"]


@pytest.fixture(scope="module")
def anime_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    frame = make_anime(60, random_state=1, poster_dir=folder / "posters", image_size=16)
    path = folder / "anime.csv"
    frame.to_csv(path, index=False)
    return path


def _png(path):
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100


def test_the_command_alone_lists_its_commands(capsys, monkeypatch):
    """``skanime`` with no argument said only "the following arguments are
    required: command"; it shows the commands with what each does."""
    monkeypatch.setattr(sys, "argv", ["skanime"])
    for argv in ([], None):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "train and report on synthetic data" in err  # demo's help
        assert "write predictions for a MyAnimeList table" in err  # predict's


def test_demo_prints_the_table_and_writes_plots(tmp_path, capsys):
    code = main(
        [
            "demo",
            "--n-samples",
            "60",
            "--out-dir",
            str(tmp_path / "demo"),
            "--out",
            str(tmp_path / "demo.joblib"),
            "--keep-optimizer-state",
            *FAST,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "SYNTHETIC" in out
    assert re.search(r"model +MSE +MAE +MAPE % +R²", out)  # the paper's Table 1
    assert "mean predictor (baseline)" in out
    assert "epoch" in out and "valid_mae" in out  # per-epoch progress
    assert "keeping the weights of epoch" in out  # early stopping by default
    _png(tmp_path / "demo" / "training_curves.png")
    _png(tmp_path / "demo" / "predicted_vs_actual.png")
    _png(tmp_path / "demo" / "largest_errors.png")  # the test anime missed most
    # the closing line names every plot written (the report embeds them all)
    plots = sorted((tmp_path / "demo").glob("*.png"))
    assert len(plots) >= 4  # curves, predictions, residuals, importance
    closing = out[out.index("\nPlots: ") :]
    assert all(str(plot) in closing for plot in plots)
    assert str(tmp_path / "demo" / "report.html") in closing
    # the saved demo model records the rows it trained on, as `train`'s does
    seen = joblib.load(tmp_path / "demo.joblib").training_data_
    assert (seen["source"], seen["rows"], seen["held_out_rows"]) == (None, 51, 9)
    assert len(np.unique(seen["row_digests"])) == 51
    # --keep-optimizer-state: Adam's moments are saved, to train it further
    assert joblib.load(tmp_path / "demo.joblib").net_.optimizer_.state_dict()["state"]


@pytest.mark.parametrize("suffix", [".joblib", ".skanime"])
def test_train_evaluate_predict_round_trip(suffix, anime_csv, tmp_path, capsys):
    model = tmp_path / f"model{suffix}"
    assert (
        main(
            [
                "train",
                str(anime_csv),
                "--out",
                str(model),
                "--columns",
                "paper",
                "--report-dir",
                str(tmp_path / "report"),
                *FAST,
            ]
        )
        == 0
    )
    assert model.is_file()
    # a model to predict with: the networks' optimizer state is left out
    network = cli._load_model(model).estimator_.net_  # the calibrated model's
    assert network.optimizer_.state_dict()["state"] == {}
    if suffix == ".skanime":  # the secure format, which skanime.io reads
        import skanime.io

        assert skanime.io.get_untrusted_types(model) == []
    _png(tmp_path / "report" / "training_curves.png")
    out = capsys.readouterr().out
    # 10% of the rows (the default) calibrate the intervals, apart from training
    assert "trained on 45 of the 60 rows (75%); 6 more (10%) calibrated" in out
    assert "the 9 test rows (15%) above were held out" in out
    # the fitted model's roles: --columns paper leaves Rating out, with a reason
    assert "Column roles:" in out and "Rating     ignored" in out
    cache = tmp_path / "cache"
    clear_memory_cache()  # as in a new process: nothing embedded yet
    evaluate = ["evaluate", str(model), str(anime_csv), "--cache-dir", str(cache)]
    assert main(evaluate) == 0
    out = capsys.readouterr().out
    assert "training mean (baseline)" in out
    # the figures say which rows the model saw: 75% in-sample; the 10% that
    # calibrated its intervals and the 15% test rows it never saw
    assert "6 of the 60 rows here calibrated the model's prediction intervals" in out
    assert "45 of the 60 rows here have the inputs of a training row." in out
    assert "IN-SAMPLE (optimistic): the 45 rows" in out
    assert "Out of sample: the 15 rows the model never saw" in out
    if suffix == ".joblib":
        # every row twice: a copy of a training row's inputs counts as seen
        twice = anime_csv.with_name(f"twice_{tmp_path.name}.csv")
        pd.concat([pd.read_csv(anime_csv)] * 2).to_csv(twice, index=False)
        assert main(["evaluate", str(model), str(twice)]) == 0
        out = capsys.readouterr().out
        assert "90 of the 120 rows here have the inputs of a training row " in out
        assert "(more than 45: rows with the same inputs" in out
        assert "Out of sample: the 30 rows the model never saw" in out
    assert any(cache.rglob("*"))  # the posters' embeddings were cached
    preds = tmp_path / "preds.csv"
    predict = ["predict", str(model), str(anime_csv), "--out", str(preds)]
    assert main([*predict, "--cache-dir", str(cache)]) == 0
    table = pd.read_csv(preds)
    assert list(table.columns) == ["anime_id", "Title", "predicted_score"]
    assert len(table) == 60 and table["predicted_score"].notna().all()


def test_train_with_kfold_reports_each_fold(anime_csv, tmp_path, capsys):
    assert (
        main(
            [
                "train",
                str(anime_csv),
                "--out",
                str(tmp_path / "m.joblib"),
                "--cv",
                "2",
                "--no-posters",
                "--report-dir",
                str(tmp_path),
                *FAST,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "fold 1/2" in out and "fold 2/2" in out and "2-fold cross-validation" in out
    assert "fold 1/2: training on 30 rows, testing on 30." in out
    # the roles table once: the second fold and the final fit have the same roles
    assert out.count("Column roles:\n") == 1
    assert out.count("Column roles: as above.") == 2


def test_errors_are_one_line_and_leave_nothing_behind(anime_csv, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(anime_csv, dtype=str)
    frame.loc[3, "Score"] = "excellent"
    frame.to_csv(bad, index=False)
    out = tmp_path / "out"
    out.mkdir()
    code = main(
        [
            "train",
            str(bad),
            "--out",
            str(out / "m.joblib"),
            "--report-dir",
            str(out),
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("skanime: error:") and "'excellent'" in err and "row 5" in err
    assert list(out.iterdir()) == []
    assert main(["evaluate", str(tmp_path / "none.joblib"), str(anime_csv)]) == 2
    assert "none.joblib" in capsys.readouterr().err
    missing_column = tmp_path / "no_genres.csv"
    frame.drop(columns=["Genres"]).to_csv(missing_column, index=False)
    assert (
        main(["train", str(missing_column), "--out", str(out / "m.joblib"), *FAST]) == 2
    )
    assert "Genres" in capsys.readouterr().err
    assert list(out.iterdir()) == []


# -- interrupts, model files, missing input (issue 10) --------------------------------


def test_ctrl_c_during_train_exits_130_and_leaves_every_output_untouched(
    anime_csv, tmp_path
):
    """A real signal to a child process in the middle of training."""
    good = tmp_path / "good.skanime"
    good.write_bytes(b"a good model")
    report = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "skanime.cli",
        "train",
        str(anime_csv),
        "--out",
        str(good),
        "--report-dir",
        str(report),
        "--no-posters",
        "--columns",
        "paper",
        "--epochs",
        "100000",
        "--batch-size",
        "8",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        for line in child.stdout:  # skorch prints a row once an epoch is done
            if line.split()[:1] == ["1"]:
                break
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130
    assert err.strip().splitlines() == [
        "skanime: interrupted; no output file was written or changed."
    ]
    assert good.read_bytes() == b"a good model"
    assert not report.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["good.skanime"]


@pytest.mark.parametrize("swallowed", [False, True, "raise_another"])
@pytest.mark.parametrize(("signum", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_gives_its_exit_status_even_when_a_library_swallows_it(
    signum, code, swallowed, anime_csv, tmp_path, monkeypatch, capsys
):
    """skorch ends training early on a KeyboardInterrupt and returns normally."""
    out = tmp_path / "preds.csv"

    def interrupted_predict(args):
        try:
            os.kill(os.getpid(), getattr(signal, signum))
            time.sleep(10)  # the handler raises KeyboardInterrupt in here
        except KeyboardInterrupt:
            if swallowed == "raise_another":  # as a DataLoader whose worker died
                raise RuntimeError("DataLoader worker exited unexpectedly") from None
            if not swallowed:
                raise

    def outside_main(signum, frame):  # a failure, not the end of the test run
        raise RuntimeError("the command did not handle the signal")

    monkeypatch.setattr(cli, "cmd_predict", interrupted_predict)
    before = {
        s: signal.signal(s, outside_main) for s in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        args = ["predict", "m.joblib", str(anime_csv), "--out", str(out)]
        assert main(args) == code
        assert capsys.readouterr().err.startswith("skanime: interrupted;")
        for s in before:  # main restores the handlers it found
            assert signal.getsignal(s) is outside_main
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def test_outputs_are_written_all_or_none_when_a_signal_was_swallowed(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    cli._INTERRUPTED[:] = [signal.SIGINT]
    try:
        with pytest.raises(KeyboardInterrupt), cli._Outputs() as outputs:
            outputs.path(tmp_path / "a.txt").write_text("new")
            outputs.path(tmp_path / "b.txt").write_text("new")
    finally:
        cli._INTERRUPTED.clear()
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"


@pytest.fixture(scope="module")
def model_file(anime_csv, tmp_path_factory):
    """A model trained on every pre-release column (Rating, Duration, ...)."""
    frame = load_mal(anime_csv, dropna=True)
    model = fast_model(**PRERELEASE_COLUMNS).fit(frame, frame["Score"])
    path = tmp_path_factory.mktemp("model") / "m.joblib"
    joblib.dump(model, path)
    return path


def test_the_command_shows_a_warning_as_one_line(model_file, anime_csv, tmp_path):
    """The installed command (cli.console) prints "skanime: warning: ..." where
    Python printed the file and line that warned, and its own source line."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="skanime")
    assert script.value == "skanime.cli:console"
    moved = tmp_path / "elsewhere.csv"
    frame = pd.read_csv(anime_csv).assign(poster="posters/none.jpg")
    frame.to_csv(moved, index=False)  # its posters lead nowhere
    # python -m skanime is the command too (it was "No module named
    # skanime.__main__"), warnings and all
    command = [sys.executable, "-m", "skanime", "predict", str(model_file)]
    command += [str(moved), "--out", str(tmp_path / "p.csv")]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    warned = [line for line in done.stderr.splitlines() if "poster path" in line]
    assert len(warned) == 1 and warned[0].startswith("skanime: warning: ")
    assert "DataWarning" not in done.stderr and "warn_user(" not in done.stderr
    asked = subprocess.run(
        [sys.executable, "-m", "skanime", "predict"], capture_output=True, text=True
    )
    assert asked.returncode == 2 and asked.stderr.startswith("usage: skanime predict")


def test_predict_writes_the_format_its_out_names(model_file, anime_csv, tmp_path):
    """--out preds.parquet wrote CSV text under that name, and preds.csv.gz an
    uncompressed CSV (the file is written under a temporary name first)."""
    readers = {
        "p.csv": pd.read_csv,
        "p.parquet": pd.read_parquet,
        "p.json": lambda path: pd.read_json(path, precise_float=True),
        "p.jsonl": lambda path: pd.read_json(path, lines=True, precise_float=True),
        "p.csv.gz": lambda path: pd.read_csv(path, compression="gzip"),
        "p.csv.zip": lambda path: pd.read_csv(path, compression="zip"),
        "p.tsv": lambda path: pd.read_csv(path, sep="\t"),
        "p.tsv.gz": lambda path: pd.read_csv(path, sep="\t", compression="gzip"),
    }
    tables = {}
    for name, read in readers.items():
        out = tmp_path / name
        assert (
            main(["predict", str(model_file), str(anime_csv), "--out", str(out)]) == 0
        )
        tables[name] = read(out)
    assert tables["p.csv"].columns.tolist() == ["anime_id", "Title", "predicted_score"]
    for name, table in tables.items():
        # Parquet keeps anime_id's nullable Int64; the values are the same
        pd.testing.assert_frame_equal(
            table, tables["p.csv"], obj=name, check_dtype=name != "p.parquet"
        )


def test_a_parquet_out_without_an_engine_is_refused_before_predicting(
    model_file, anime_csv, tmp_path, capsys, monkeypatch
):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            None if name in ("pyarrow", "fastparquet") else find_spec(name, *a)
        ),
    )
    out = tmp_path / "p.parquet"
    assert main(["predict", str(model_file), str(anime_csv), "--out", str(out)]) == 2
    assert "writing Parquet needs pyarrow" in capsys.readouterr().err
    assert not out.exists()


def test_an_out_named_as_a_format_not_written_is_refused_before_predicting(
    model_file, anime_csv, tmp_path, capsys
):
    """``--out preds.xlsx`` wrote CSV text under that name, which Excel refuses
    to open."""
    for name in ("p.xlsx", "p.feather"):
        out = tmp_path / name
        argv = ["predict", str(model_file), str(anime_csv), "--out", str(out)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "which skanime does not write: name a .csv file" in err
        assert not out.exists()


def test_a_backbone_or_device_it_cannot_use_is_refused_before_the_data_is_read(
    anime_csv, tmp_path, capsys
):
    """They were refused by fit, after the table was read and its column roles
    printed."""
    out = str(tmp_path / "m.skanime")
    cases = [
        (["train", str(anime_csv), "--backbone", "nope"], "Unknown backbone 'nope'"),
        (["train", str(anime_csv), "--device", "tpu"], "is not a torch device"),
        (["demo", "--backbone", "nope", "--out-dir", str(tmp_path / "d")], "nope"),
    ]
    for argv, message in cases:
        assert main([*argv, "--out", out]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and captured.err.count("\n") == 1, argv
        assert captured.out == "", argv  # neither "Loaded ..." nor the roles
    assert not (tmp_path / "d").exists() and not (tmp_path / "m.skanime").exists()
    # a backbone name is not checked where no poster is read
    argv = ["train", str(anime_csv), "--no-posters", "--backbone", "nope"]
    assert main([*argv, "--epochs", "1", "--calibration-size", "0", "--out", out]) == 0


def test_swapped_or_folder_arguments_say_what_was_given(
    model_file, anime_csv, tmp_path, capsys
):
    import skanime.io

    secure = tmp_path / "m.skanime"
    skanime.io.save(joblib.load(model_file), secure)
    out, model_out = str(tmp_path / "p.csv"), str(tmp_path / "m.joblib")
    cases = [
        (["train", str(tmp_path), "--out", model_out], "is a folder; name the table"),
        (["train", str(secure), "--out", model_out], "is a skanime model file, not a"),
        (["predict", str(anime_csv), str(secure), "--out", out], "looks like a table"),
        (
            ["predict", str(tmp_path), str(anime_csv), "--out", out],
            f"name the model file in it. It holds one: pass {str(secure)!r}.",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        assert message in capsys.readouterr().err, argv


def test_predict_without_a_trained_column_is_a_column_error(
    model_file, anime_csv, tmp_path, capsys
):
    no_rating = tmp_path / "no_rating.csv"
    pd.read_csv(anime_csv).drop(columns=["Rating"]).to_csv(no_rating, index=False)
    out = tmp_path / "preds.csv"
    for command in (["predict", "--out", str(out)], ["evaluate"]):
        code = main([command[0], str(model_file), str(no_rating), *command[1:]])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1 and "'Rating'" in err and "ColumnError" not in err
    assert not out.exists()
    # the API gives the same verdict on the same file
    model = joblib.load(model_file)
    with pytest.raises(ColumnError, match="'Rating'"):
        model.predict(load_mal(no_rating, fill_absent=False))


def test_predict_reads_the_file_a_model_was_trained_on_without_its_columns(
    anime_csv, tmp_path, capsys
):
    """train fills the optional columns a file lacks (Themes, poster) as empty;
    predict on the same file then needs no column the model learned nothing
    from. It refused with "Column(s) missing from X: 'poster', 'Themes'"."""
    lacking = tmp_path / "lacking.csv"
    pd.read_csv(anime_csv).drop(columns=["Themes", "poster"]).to_csv(
        lacking, index=False
    )
    model = tmp_path / "m.joblib"
    assert main(["train", str(lacking), "--out", str(model), *FAST]) == 0
    assert joblib.load(model).estimator_.empty_columns_ == ["Themes", "poster"]
    out = tmp_path / "preds.csv"
    capsys.readouterr()
    assert main(["predict", str(model), str(lacking), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 60
    # evaluate and calibrate find the training rows again (a KeyError before)
    assert main(["evaluate", str(model), str(lacking)]) == 0
    assert "45 of the 60 rows here have the inputs of a training row" in (
        capsys.readouterr().out
    )
    again = tmp_path / "m2.joblib"
    assert main(["calibrate", str(model), str(lacking), "--out", str(again)]) == 0
    assert "Calibrated on 15 anime the model was not trained on" in (
        capsys.readouterr().out
    )


def test_poster_paths_that_do_not_resolve_are_counted_naming_poster_root(
    model_file, anime_csv, tmp_path, capsys
):
    relative = pd.read_csv(anime_csv)
    relative["poster"] = relative["poster"].map(
        lambda p: p if pd.isna(p) else os.path.relpath(p, anime_csv.parent)
    )
    here = anime_csv.parent / "relative.csv"  # beside the posters folder
    relative.to_csv(here, index=False)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    relative.to_csv(moved / "anime.csv", index=False)  # its paths lead nowhere
    n_posters = int(pd.read_csv(anime_csv)["poster"].notna().sum())
    with pytest.warns(DataWarning, match=rf"{n_posters} poster path\(s\).*poster_root"):
        code = main(
            [
                "predict",
                str(model_file),
                str(moved / "anime.csv"),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
    assert code == 0
    # --poster-root finds them again, without a warning
    expected, found = tmp_path / "a.csv", tmp_path / "b.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert (
            main(["predict", str(model_file), str(anime_csv), "--out", str(expected)])
            == 0
        )
        args = ["--poster-root", str(anime_csv.parent), "--out", str(found)]
        assert main(["predict", str(model_file), str(moved / "anime.csv"), *args]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(expected), pd.read_csv(found))


def _zip_bomb(path, megabytes=64):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("skanime.json", "{}")
        archive.writestr("model.skops", bytes(megabytes * 1024**2))


@pytest.mark.parametrize("kind", ["text", "garbage", "zip_bomb", "empty", "wrong_zip"])
@pytest.mark.parametrize("name", ["m.joblib", "m.skanime"])
def test_an_unreadable_model_file_is_one_line_and_exit_2(
    kind, name, anime_csv, tmp_path, capsys
):
    path = tmp_path / name
    if kind == "text":
        path.write_text("this is not a model\n")
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "zip_bomb":
        _zip_bomb(path)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "hello")
    out = tmp_path / "preds.csv"
    code = main(["predict", str(path), str(anime_csv), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("skanime: error:") and err.count("\n") == 1
    assert name in err
    assert not out.exists()


def test_predict_writes_csv_to_standard_output_for_a_pipe(
    model_file, anime_csv, tmp_path, capsys, monkeypatch
):
    """``--out -``: the table alone on standard output, its closing line on
    standard error; a reader that stops early (``| head``) ends it quietly."""
    import io

    monkeypatch.chdir(tmp_path)  # where a file named "-" would be written
    argv = ["predict", str(model_file), str(anime_csv), "--out"]
    assert main([*argv, "-"]) == 0
    out, err = capsys.readouterr()
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["anime_id", "Title", "predicted_score"]
    assert len(table) == 60 and table["predicted_score"].notna().all()
    assert err == "Wrote 60 predictions to standard output.\n"
    assert main([*argv, str(tmp_path / "p.csv")]) == 0  # the same table in a file
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), table)
    capsys.readouterr()
    read, write = os.pipe()
    os.close(read)  # the reader is gone: writing raises BrokenPipeError
    captured = sys.stdout
    with open(write, "w") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        assert main([*argv, "-"]) == 0
        monkeypatch.setattr(sys, "stdout", captured)
    assert capsys.readouterr().err == ""
    assert not (tmp_path / "-").exists()


def test_a_plot_that_fails_after_training_keeps_the_model(
    anime_csv, tmp_path, capsys, monkeypatch
):
    """A plot that raised after training (a font, a full temporary folder, a
    bug) failed the command and lost the trained model with the report."""
    import skanime.io
    import skanime.report

    def failing(*args, **kwargs):
        raise RuntimeError("no font")

    monkeypatch.setattr(skanime.report, "plot_residuals", failing)
    model, report = tmp_path / "m.skanime", tmp_path / "report"
    argv = ["train", str(anime_csv), "--out", str(model), "--no-posters", *FAST]
    with pytest.warns(UserWarning, match=r"could not be made \(RuntimeError: no fo"):
        assert main([*argv, "--report-dir", str(report)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"Model saved to {model}.")
    assert "Plots and report written" not in out and "Plots: " not in out
    assert not report.exists()  # no plot of the failed report
    assert len(load_mal(anime_csv)) == len(
        skanime.io.load(model).predict(load_mal(anime_csv))
    )


@pytest.mark.skipif(os.name != "posix", reason="named pipes")
def test_predict_writes_into_a_named_pipe_or_device_in_place(
    model_file, anime_csv, tmp_path, capsys
):
    """``--out /dev/stdout`` (or ``/dev/null``, a named pipe) was replaced by a
    regular file holding the table (as root, the machine's /dev/stdout):
    nothing reached the reader, and later programs wrote into that file."""
    import io
    import threading

    fifo = tmp_path / "predictions.csv"
    os.mkfifo(fifo)
    read = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_text()), daemon=True)
    reader.start()
    assert main(["predict", str(model_file), str(anime_csv), "--out", str(fifo)]) == 0
    reader.join(30)
    table = pd.read_csv(io.StringIO(read[0]))  # the table alone
    assert list(table.columns) == ["anime_id", "Title", "predicted_score"]
    assert len(table) == 60 and stat.S_ISFIFO(os.stat(fifo).st_mode)
    out, err = capsys.readouterr()
    assert out == "" and err == f"Wrote 60 predictions to {fifo}.\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


@pytest.mark.parametrize("streams", [("stdout",), ("stdout", "stderr")])
def test_a_reader_that_stops_early_ends_the_output_not_the_training(
    streams, anime_csv, tmp_path, capsys, monkeypatch
):
    """``skanime train ... | head -1`` ended the training with "[Errno 32]
    Broken pipe" at the second line printed, and saved no model; with ``2>&1 |
    head -1`` the first warning ended it without a word."""
    monkeypatch.chdir(tmp_path)
    read, write = os.pipe()
    os.close(read)  # the reader is gone: writing raises BrokenPipeError
    argv = ["train", str(anime_csv), "--out", "m.joblib", "--no-posters"]
    # each stream its own descriptor of the pipe, as a shell's 2>&1 gives them
    pipes = [open(os.dup(write), "w") for _ in streams]
    os.close(write)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = cli._warning_line  # as the installed command
        for stream, pipe in zip(streams, pipes, strict=True):
            monkeypatch.setattr(sys, stream, pipe)
        code = main([*argv, "--report-dir", "report", *FAST])
        monkeypatch.undo()
    for pipe in pipes:
        pipe.close()
    assert code == 0, capsys.readouterr().err
    assert "Broken pipe" not in capsys.readouterr().err
    model = joblib.load(tmp_path / "m.joblib")
    assert model.predict(load_mal(anime_csv)).shape == (60,)
    assert (tmp_path / "report" / "report.html").is_file()


def test_predict_explain_names_the_columns_that_moved_each_prediction(
    model_file, anime_csv, tmp_path, capsys
):
    """``--explain`` adds ``drivers``: each row's three largest column effects,
    measured against the table's other anime, as column_effects gives them."""
    from skanime.inspection import column_effects

    small = tmp_path / "small.csv"
    pd.read_csv(anime_csv).head(12).to_csv(small, index=False)
    out = tmp_path / "p.csv"
    argv = ["predict", str(model_file), str(small), "--out", str(out), "--explain"]
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert "Explaining 12 predictions" in said
    assert "column effects" in said  # the progress bar of the long part
    table = pd.read_csv(out)
    assert list(table.columns) == ["anime_id", "Title", "predicted_score", "drivers"]
    model, frame = joblib.load(model_file), load_mal(small, fill_absent=False)
    effects = column_effects(model, frame, frame, random_state=0)
    for (_, row), words in zip(effects.iterrows(), table["drivers"], strict=True):
        named = [part.rsplit(" ", 1) for part in words.split("; ")]
        assert [name for name, _ in named] == list(
            row.abs().sort_values(ascending=False).index[:3]
        )
        for name, value in named:
            assert float(value) == pytest.approx(row[name], abs=0.006)
    one = tmp_path / "one.csv"
    pd.read_csv(anime_csv).head(1).to_csv(one, index=False)
    argv = ["predict", str(model_file), str(one), "--out", str(tmp_path / "o.csv")]
    assert main([*argv, "--explain"]) == 2
    assert "measures each anime against the others" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_a_table_without_the_poster_column_is_told_how_to_give_posters(
    model_file, anime_csv, tmp_path, capsys
):
    """A Jikan answer (``curl .../seasons/now | skanime predict MODEL -``, as
    the README showed) has poster URLs and no poster files: the model said
    only that its poster column was missing. The command says how to give
    them (``skanime posters``, ``--poster-column``) or go without."""
    assert joblib.load(model_file).column_roles_["poster"] == ["poster"]
    frame = pd.read_csv(anime_csv).drop(columns="poster")
    frame["image_url"] = "https://cdn.myanimelist.net/images/anime/1/1.jpg"
    data, out = tmp_path / "urls.csv", tmp_path / "o.csv"
    frame.to_csv(data, index=False)
    argv = ["predict", str(model_file), str(data), "--out", str(out)]
    assert main(argv) == 2
    said = capsys.readouterr().err
    assert f"'{data}' has no column 'poster', and the model reads posters" in said
    assert "skanime posters DATA --dest FOLDER --out TABLE` fetches its 60 " in said
    assert "an empty 'poster' column predicts without posters" in said
    assert not out.exists()
    frame.drop(columns="image_url").to_csv(data, index=False)
    assert main(["evaluate", str(model_file), str(data)]) == 2
    said = capsys.readouterr().err
    assert "skanime posters" not in said  # no URL to fetch
    assert "--poster-column NAME reads a column of poster files" in said
    assert "an empty 'poster' column evaluates without posters" in said
    frame.assign(poster="").to_csv(data, index=False)  # as it says
    assert main(argv) == 0 and len(pd.read_csv(out)) == 60


def test_data_dash_reads_the_table_from_standard_input(
    model_file, anime_csv, tmp_path, capsys, monkeypatch
):
    """``DATA`` ``-``: a table piped in (``curl ... | skanime predict MODEL -
    --out -``) had to be saved to a file first. Messages name it standard
    input; a terminal is refused rather than waited on."""
    import io

    def pipe(data: bytes) -> None:
        stdin = io.TextIOWrapper(io.BytesIO(data))
        stdin.buffer.name = "<stdin>"  # as sys.stdin.buffer is named
        monkeypatch.setattr(sys, "stdin", stdin)

    monkeypatch.chdir(tmp_path)  # where a file named "-" would be read
    argv = ["predict", str(model_file)]
    assert main([*argv, str(anime_csv), "--out", "from_file.csv"]) == 0
    pipe(anime_csv.read_bytes())
    assert main([*argv, "-", "--out", "piped.csv"]) == 0
    piped = pd.read_csv("piped.csv")
    assert len(piped) == 60
    pd.testing.assert_frame_equal(piped, pd.read_csv("from_file.csv"))
    pipe(anime_csv.read_bytes())
    assert main(["evaluate", str(model_file), "-"]) == 0
    assert "standard input: 60 scored anime" in capsys.readouterr().out
    pipe(b"")
    assert main([*argv, "-", "--out", "-"]) == 2
    assert "standard input is empty" in capsys.readouterr().err
    pipe(b"Title,Type\nA,TV\n")
    assert main([*argv, "-", "--out", "-"]) == 2
    said = capsys.readouterr().err  # the model names the columns it needs
    assert "Column(s) missing from X" in said and "'Studios'" in said

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    assert main([*argv, "-", "--out", "-"]) == 2
    assert "nothing is piped in" in capsys.readouterr().err


def test_an_output_that_cannot_be_written_is_one_line_and_leaves_no_temporary(
    model_file, anime_csv, tmp_path, capsys
):
    folder = tmp_path / "preds.csv"
    folder.mkdir()  # the output path is a directory
    code = main(["predict", str(model_file), str(anime_csv), "--out", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "preds.csv" in err
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"]
    assert list(folder.iterdir()) == []


def test_a_model_out_named_as_a_table_is_refused_and_the_suffix_is_read_in_any_case(
    model_file, anime_csv, tmp_path, capsys
):
    """``skanime train anime.csv --out predictions.csv`` saved the model as a
    pickle under a table's name; ``--out m.SKANIME`` saved a pickle, not the
    secure format its name asks for."""
    for argv in (
        ["train", str(anime_csv), "--out", str(tmp_path / "p.csv"), *FAST]
        + ["--report-dir", str(tmp_path / "report")],
        [
            "calibrate",
            str(model_file),
            str(anime_csv),
            "--out",
            str(tmp_path / "p.parquet"),
        ],
        ["demo", "--out", str(tmp_path / "p.json"), "--out-dir", str(tmp_path), *FAST],
    ):
        assert main(argv) == 2
        assert (
            "names a table, and this command saves a model" in capsys.readouterr().err
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    upper = tmp_path / "m.SKANIME"
    assert (
        main(["calibrate", str(model_file), str(anime_csv), "--out", str(upper)]) == 0
    )
    assert zipfile.is_zipfile(upper)  # skanime.io's format, not a pickle


def test_an_output_that_is_an_input_is_refused_and_both_stay_as_they_were(
    model_file, anime_csv, tmp_path, capsys
):
    """``--out`` naming the model or the CSV a command reads (under another
    spelling of the path too) used to replace that file with the output; a
    report folder naming a file failed with a bare "[Errno 17] File exists"."""
    data, model = tmp_path / "anime.csv", tmp_path / "m.joblib"
    shutil.copy(anime_csv, data)
    shutil.copy(model_file, model)
    before = {path: path.read_bytes() for path in (data, model)}
    read = [str(model), str(data)]
    replace, folder = "would replace that file", "is a file; it needs a folder"
    for argv, said in (
        (["predict", *read, "--out", str(model)], replace),
        (["predict", *read, "--out", str(tmp_path / "." / "anime.csv")], replace),
        (["calibrate", *read, "--out", str(data)], replace),
        (["train", str(data), "--out", str(data), "--epochs", "1"], replace),
        (["train", str(data), "--out", "x.skanime", "--report-dir", str(data)], folder),
        (["evaluate", *read, "--report-dir", str(data)], folder),
        (["demo", "--out-dir", str(data)], folder),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err, argv
    assert {path: path.read_bytes() for path in (data, model)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anime.csv", "m.joblib"]


def test_an_output_that_cannot_be_written_is_refused_before_training(
    model_file, anime_csv, tmp_path, capsys, monkeypatch
):
    """An output that cannot be written used to be found when it was written,
    after training (the training lost, and an error naming a temporary file):
    every command now tries each output's place first."""
    import tempfile

    locked = tmp_path / "locked"  # where no file can be created (as read-only)
    locked.mkdir()
    create = tempfile.mkstemp

    def refusing(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return create(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refusing)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    train = ["train", str(anime_csv), *FAST]
    fine = str(tmp_path / "m.skanime")
    for argv, said in (
        ([*train, "--out", str(locked / "m.skanime")], "in '.*locked' \\(Permission"),
        ([*train, "--out", str(locked / "new" / "m.skanime")], "created in '.*locked'"),
        ([*train, "--out", fine, "--report-dir", str(locked)], "--report-dir '"),
        ([*train, "--out", str(a_file / "m.skanime")], "'.*a_file' is a file, not"),
        ([*train, "--out", str(tmp_path)], "is a folder; name a file to write"),
        (["demo", *FAST, "--out", str(locked / "m.joblib")], "--out '.*locked"),
        (["demo", *FAST, "--out-dir", str(locked / "demo")], "--out-dir '.*locked"),
        (
            ["evaluate", str(model_file), str(anime_csv), "--report-dir", str(locked)],
            "--report-dir",
        ),
        (
            [
                "predict",
                str(model_file),
                str(anime_csv),
                "--out",
                str(locked / "p.csv"),
            ],
            "cannot be written",
        ),
        (
            ["calibrate", str(model_file), str(anime_csv), "--out", str(locked / "m")],
            "cannot be written",
        ),
        (
            ["posters", str(anime_csv), "--dest", str(locked / "p"), "--out", fine],
            "--dest '.*locked",
        ),
    ):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert re.search(said, err) and err.count("\n") == 1, (argv, err)
        assert "epoch" not in out and "Loaded" not in out, argv  # nothing was done
    assert list(locked.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "locked"]


def test_train_report_and_predict_with_intervals(anime_csv, tmp_path, capsys):
    from .test_report import parse_page

    model, report = tmp_path / "model.skanime", tmp_path / "report"
    args = ["--columns", "paper", "--report-dir", str(report), *FAST]
    assert main(["train", str(anime_csv), "--out", str(model), *args]) == 0
    # the report's longest step is announced, not 25 silent seconds on real data
    said = capsys.readouterr().out
    measuring = "Measuring each column's importance on the 9 test rows (3 shuffles"
    assert said.index("Test set") < said.index(measuring) < said.index("Plots:")
    page = parse_page(report / "report.html")
    assert page.sections == [
        "data",
        "roles",
        "metrics",
        "curves",
        "predictions",
        "residuals",
        "importance",
        "misses",
        "intervals",
    ]
    assert len(page.images) == 6  # every section with a plot has it
    text = (report / "report.html").read_text()
    assert "mean predictor (baseline)" in text and "nominal level" in text
    assert "The 3 rows the model missed most (of the 9 test rows" in text
    for name in ("residuals_by_group", "column_importance", "largest_errors"):
        _png(report / f"{name}.png")
    for name in ("intervals",):
        _png(report / f"{name}.png")
    preds = tmp_path / "preds.csv"
    argv = ["predict", str(model), str(anime_csv), "--out", str(preds)]
    assert main([*argv, "--interval", "0.8"]) == 0
    table = pd.read_csv(preds)
    assert list(table.columns)[-2:] == ["score_low", "score_high"]
    assert (table["score_low"] <= table["predicted_score"]).all()
    assert (table["predicted_score"] <= table["score_high"]).all()
    assert main([*argv, "--interval", "0.9"]) == 0
    wider = pd.read_csv(preds)
    assert (wider["score_high"] - wider["score_low"]).mean() >= (
        table["score_high"] - table["score_low"]
    ).mean()
    capsys.readouterr()
    evaluated = tmp_path / "evaluated"
    assert (
        main(["evaluate", str(model), str(anime_csv), "--report-dir", str(evaluated)])
        == 0
    )
    out = capsys.readouterr().out
    # every plot the report embeds is named, the intervals' too
    for name in ("predicted_vs_actual", "residuals_by_group", "intervals"):
        assert str(evaluated / f"{name}.png") in out
    assert f"report, with all of them: {evaluated / 'report.html'}" in out
    assert parse_page(evaluated / "report.html").sections[-1] == "intervals"


def test_intervals_come_from_the_one_prediction_of_each_row(
    anime_csv, tmp_path, record_calls
):
    """The report's coverage and interval plot, and ``predict --interval``, take
    their intervals around the predictions already made: each command predicts
    its rows once (it used to predict the test rows four times)."""
    from skanime.intervals import ConformalRegressor

    predicted = record_calls(ConformalRegressor, "predict", lambda self, X: len(X))
    model = tmp_path / "model.skanime"
    argv = ["train", str(anime_csv), "--out", str(model), "--no-posters"]
    argv += ["--importance-repeats", "0", "--report-dir", str(tmp_path / "r"), *FAST]
    assert main(argv) == 0
    assert len(predicted) == 1  # the test rows
    assert "nominal level" in (tmp_path / "r" / "report.html").read_text()
    predicted.clear()
    preds = tmp_path / "preds.csv"
    argv = ["predict", str(model), str(anime_csv), "--out", str(preds)]
    assert main([*argv, "--interval", "0.8"]) == 0
    assert predicted == [60]
    table = pd.read_csv(preds)
    loaded = cli._load_model(model)
    expected = loaded.predict_interval(load_mal(anime_csv), 0.8)
    np.testing.assert_allclose(table["score_low"], expected[:, 0], atol=5e-4)
    np.testing.assert_allclose(table["score_high"], expected[:, 1], atol=5e-4)


def test_a_model_with_a_difficulty_model_gives_each_row_its_width(
    anime_csv, tmp_path, capsys
):
    """``skanime predict --interval`` and ``evaluate`` on a ConformalRegressor
    fitted in Python with ``difficulty``: the widths of ``predict_interval``."""
    import skanime.io as skio
    from skanime.intervals import ConformalRegressor

    frame = load_mal(anime_csv, dropna=True)
    network = fast_model(**PRERELEASE_COLUMNS, poster_column=None)
    conformal = ConformalRegressor(
        network, calibration_size=0.5, difficulty="auto", random_state=0
    ).fit(frame, frame["Score"])
    model = tmp_path / "model.skanime"
    skio.save(conformal, model)
    preds = tmp_path / "preds.csv"
    argv = ["predict", str(model), str(anime_csv), "--out", str(preds)]
    assert main([*argv, "--interval", "0.8"]) == 0
    table = pd.read_csv(preds)
    expected = conformal.predict_interval(load_mal(anime_csv), 0.8)
    np.testing.assert_allclose(table["score_low"], expected[:, 0], atol=5e-4)
    np.testing.assert_allclose(table["score_high"], expected[:, 1], atol=5e-4)
    report = tmp_path / "report"
    argv = ["evaluate", str(model), str(anime_csv), "--report-dir", str(report)]
    assert main(argv) == 0
    page = html.unescape((report / "report.html").read_text())
    assert "nominal level" in page
    assert "scaled by a model of its row's difficulty, calibrated on 15 rows" in page


def test_calibrate_gives_a_saved_model_intervals_from_rows_it_never_saw(
    anime_csv, tmp_path, capsys, record_calls
):
    """``skanime calibrate``: the network is kept as it was, only the rows outside
    its training split calibrate it, and ``predict --interval`` then works."""
    from sklearn.model_selection import train_test_split

    trained, calibrated = tmp_path / "trained.skanime", tmp_path / "calibrated.skanime"
    argv = ["train", str(anime_csv), "--out", str(trained), "--no-posters"]
    argv += ["--calibration-size", "0", "--importance-repeats", "0", *FAST]
    assert main([*argv, "--report-dir", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    argv = ["calibrate", str(trained), str(anime_csv), "--out", str(calibrated)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "51 of the 60 scored anime" in out and "Calibrated on 9 anime" in out
    network, model = cli._load_model(trained), cli._load_model(calibrated)
    frame = load_mal(anime_csv, dropna=True)
    _, test_rows = train_test_split(frame.index, test_size=0.15, random_state=0)
    unseen = frame.loc[test_rows]
    np.testing.assert_array_equal(model.predict(frame), network.predict(frame))
    np.testing.assert_allclose(
        model.calibration_residuals_,
        np.sort(np.abs(unseen["Score"] - network.predict(unseen))),
    )
    assert model.training_data_["rows"] == 51
    preds = tmp_path / "preds.csv"
    argv = ["predict", str(calibrated), str(anime_csv), "--out", str(preds)]
    assert main([*argv, "--interval", "0.8"]) == 0
    assert {"score_low", "score_high"} <= set(pd.read_csv(preds).columns)
    capsys.readouterr()
    argv = ["evaluate", str(calibrated), str(anime_csv), "--importance-repeats", "0"]
    assert main([*argv, "--report-dir", str(tmp_path / "all_known")]) == 0
    out = capsys.readouterr().out
    assert "9 of the 60 rows here calibrated" in out
    assert "importance" not in out  # none measured, none announced
    assert "Every row here trained or calibrated the model" in out
    page = html.unescape((tmp_path / "all_known" / "report.html").read_text())
    assert "Every row here trained or calibrated the model" in page
    # newer anime, scaled widths: every row calibrates, half fit the difficulty
    newer = tmp_path / "newer.csv"
    make_anime(60, random_state=2).drop(columns="poster").to_csv(newer, index=False)
    argv = ["calibrate", str(calibrated), str(newer), "--out", str(calibrated)]
    assert main([*argv, "--scaled-intervals"]) == 0
    assert "0 of the 60 scored anime" in capsys.readouterr().out
    rescaled = cli._load_model(calibrated)
    assert rescaled.difficulty_ is not None
    assert len(rescaled.calibration_residuals_) == 30
    # evaluate measures the intervals on the rows that did neither: the 9 test rows
    report = tmp_path / "evaluated"
    argv = ["evaluate", str(calibrated), str(anime_csv), "--report-dir", str(report)]
    around = record_calls(
        type(rescaled), "interval_around", lambda self, y_pred, *a: len(y_pred)
    )
    assert main([*argv, "--importance-repeats", "0"]) == 0
    assert around == [9]  # both levels, for the console and the report, at once
    out = capsys.readouterr().out
    page = html.unescape((report / "report.html").read_text())
    assert "on the 9 rows that neither trained nor calibrated the model" in page
    held = [
        interval_coverage(unseen["Score"], rescaled.predict_interval(unseen, level))[
            "coverage"
        ]
        for level in (0.8, 0.9)
    ]
    assert (
        f"0 of the 60 rows here calibrated the model's prediction intervals "
        f"(rows of {newer})." in out
    )
    assert "on the 9 rows that neither trained nor calibrated the model: " in out
    assert f"80% intervals held {held[0]:.1%} of the scores" in out
    assert f"90% intervals held {held[1]:.1%} of the scores" in out
    # only rows it was trained on: refused, nothing written
    seen = tmp_path / "seen.csv"
    pd.read_csv(anime_csv).drop(index=test_rows).to_csv(seen, index=False)
    out = tmp_path / "never.skanime"
    assert main(["calibrate", str(trained), str(seen), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was in the model's training split" in err and not out.exists()


def test_train_with_scaled_intervals(anime_csv, tmp_path, capsys):
    model = tmp_path / "model.skanime"
    argv = ["train", str(anime_csv), "--out", str(model), "--no-posters"]
    argv += ["--calibration-size", "0.3", "--scaled-intervals"]
    argv += ["--importance-repeats", "0", "--report-dir", str(tmp_path / "r"), *FAST]
    assert main(argv) == 0
    assert cli._load_model(model).difficulty == "auto"
    page = html.unescape((tmp_path / "r" / "report.html").read_text())
    assert "scaled by a model of its row's difficulty" in page
    assert "for anime later than those, they are too narrow" in page


def test_too_few_calibration_rows_are_refused_before_training(
    anime_csv, tmp_path, capsys
):
    model = tmp_path / "m.joblib"
    argv = ["train", str(anime_csv), "--out", str(model), "--no-posters"]
    argv += ["--calibration-size", "0.01", "--scaled-intervals"]
    assert main([*argv, "--report-dir", str(tmp_path / "r"), *FAST]) == 2
    captured = capsys.readouterr()
    assert "leaves 1 calibration rows and 50 training rows; need at least 4" in (
        captured.err
    )
    assert "epoch" not in captured.out and not model.exists()


def test_interval_needs_a_calibrated_model(anime_csv, tmp_path, capsys):
    model = tmp_path / "m.joblib"
    argv = ["train", str(anime_csv), "--out", str(model), "--no-posters"]
    argv += ["--calibration-size", "0", "--importance-repeats", "0"]
    assert main([*argv, "--report-dir", str(tmp_path), *FAST]) == 0
    assert "without calibration rows" in (tmp_path / "report.html").read_text()
    capsys.readouterr()
    out = tmp_path / "p.csv"
    argv = ["predict", str(model), str(anime_csv), "--out", str(out)]
    assert main([*argv, "--interval", "0.8"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skanime: error:") and "--calibration-size" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    with pytest.raises(SystemExit):
        main([*argv, "--interval", "1.5"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_help_starts_without_torch():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['skanime', 'train', '--help']\n"
        "try:\n"
        "    runpy.run_module('skanime.cli', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in ('torch', 'sklearn', 'skorch') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "--patience" in done.stdout


def test_help_shows_defaults_and_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--epochs EPOCHS most epochs to train" in out and "(default: 150)" in out
    assert "default: the model's, 4 (12 with --columns paper)" in out  # patience
    # the help writes the model's defaults out (no torch before --help answers):
    # they are the estimator's and PAPER_MODEL's own
    model = HybridAnimeRegressor()
    assert (MAX_EPOCHS, BATCH_SIZE) == (model.max_epochs, model.batch_size)
    paper = PAPER_MODEL["patience"]
    default = f"default: the model's, {model.patience} ({paper} with --columns paper)"
    assert default in out
    assert "(default: None)" not in out  # a None default's help says what it means
    assert "data CSV such as anime.csv" in out  # positional arguments described
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "--cache-dir" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("skanime 0.")


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--epochs", "0", "at least 1"),  # was refused by the model, after loading
        ("--batch-size", "1.5", "at least 1"),
        ("--patience", "-2", "at least 0"),
        ("--importance-repeats", "-1", "at least 0"),  # was taken as "skip"
        ("--cv", "1", "at least 2 (or 0)"),  # was scikit-learn's KFold error
        ("--seed", "-1", "at least 0"),  # was train_test_split's random_state error
    ],
)
def test_count_options_are_refused_by_the_parser_naming_the_option(
    option, value, said, anime_csv, tmp_path, capsys
):
    argv = ["train", str(anime_csv), "--out", str(tmp_path / "m.skanime")]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"argument {option}: expected a whole" in err
    assert said in err and f"got {value!r}" in err
    with pytest.raises(SystemExit):
        main(["demo", "--n-samples", "19", "--out-dir", str(tmp_path / "demo")])
    assert "at least 20" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("command", "given", "said"),
    [
        ("train", ["--max-epochs", "3"], "--max-epochs: did you mean --epochs?"),
        ("train", ["--max_epochs=3"], "--max_epochs=3: did you mean --epochs?"),
        ("train", ["--batch_size", "8"], "--batch_size: did you mean --batch-size?"),
        ("train", ["--Patience", "2"], "--Patience: did you mean --patience?"),
        (
            "predict",
            ["--cv", "3"],
            "--cv is an option of skanime train, not of skanime predict",
        ),
        ("predict", ["--patience=2"], "skanime demo, skanime train, not of"),
        ("train", ["extra.csv"], "unrecognized arguments: extra.csv (skanime"),
    ],
)
def test_an_unknown_option_is_refused_with_the_option_it_may_mean(
    command, given, said, anime_csv, tmp_path, capsys
):
    """argparse said only "unrecognized arguments: --max-epochs 3"."""
    out = tmp_path / "out"
    argv = {
        "train": ["train", str(anime_csv), "--out", str(out)],
        "predict": ["predict", str(tmp_path / "m.skanime"), str(anime_csv)],
    }[command]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, *given, "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(f"usage: skanime {command} ")
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"skanime {command}: error: unrecognized arguments: ")
    assert said in line and f"skanime {command} --help lists its options)" in line
    assert list(tmp_path.iterdir()) == []  # refused before any work


@pytest.mark.parametrize("value", ["0", "-0.1", "nan", "inf", "fast"])
def test_a_learning_rate_not_above_zero_is_refused_by_the_parser(
    value, anime_csv, tmp_path, capsys
):
    """``--lr 0`` was refused by the model, naming its ``lr`` parameter."""
    argv = ["train", str(anime_csv), "--out", str(tmp_path / "m.skanime")]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--lr", value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --lr: expected a number above 0" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("test_size, calibration_size", [(0.15, 0.1), (0.2, 0.05)])
def test_train_and_demo_help_give_the_shares_they_split(
    capsys, monkeypatch, test_size, calibration_size
):
    """The descriptions' percentages follow run_experiment's test share and
    --calibration-size's default, whatever they are."""
    monkeypatch.setattr(cli, "TEST_SIZE", test_size)
    monkeypatch.setattr(cli, "CALIBRATION_SIZE", calibration_size)
    test, calibration = f"{test_size:.0%}", f"{calibration_size:.0%}"
    trained = f"{1 - test_size - calibration_size:.0%}"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"Hold out {test} of the scored rows" in out
    assert f"{calibration} to calibrate prediction intervals" in out
    assert f"train on the other {trained} (" in out
    assert f"trained on {1 - test_size:.0%} with --calibrate-on-latest" in out
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"train on {1 - test_size:.0%} (" in out and f"the {test} test rows" in out


def test_train_with_auto_columns_prints_the_inferred_roles(anime_csv, tmp_path, capsys):
    model = tmp_path / "auto.joblib"
    args = ["train", str(anime_csv), "--out", str(model), "--columns", "auto"]
    assert main([*args, "--no-posters", "--report-dir", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "Producers  list" in out and "Title      text" in out
    saved = joblib.load(model)  # a ConformalRegressor around the estimator
    assert saved.estimator_.column_roles_["poster"] == []


def test_train_with_auto_columns_reads_every_column_the_file_has(
    anime_csv, tmp_path, capsys
):
    """--columns auto said "every column gets an inferred role", but load_mal
    dropped the file's own columns (they were neither used nor listed), and a
    file without Studios or Source was refused. Now the file's columns are the
    model's: its own too, none made up, a weight column never an input; and
    predict reads them."""
    frame = pd.read_csv(anime_csv).drop(columns=["Studios", "Source", "poster"])
    frame["Hype"] = (frame["Score"] * 100).round().astype(int).map("{:,}".format)
    frame["w"] = 1.0
    frame["id"] = np.arange(len(frame)) + 1000  # ignored as an identifier
    data, model = tmp_path / "own.csv", tmp_path / "own.joblib"
    frame.to_csv(data, index=False)
    args = ["train", str(data), "--out", str(model), "--columns", "auto"]
    args += ["--weight-column", "w", "--importance-repeats", "0", *FAST]
    assert main([*args, "--report-dir", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "(no poster column: the model reads the table alone; name a" in out
    # with poster URLs, the closing words say how to fetch them instead
    urls = pd.DataFrame({"image_url": ["https://cdn.myanimelist.net/1.jpg"]})
    assert _posters_words(urls) == "no poster column: the model reads the table alone"
    assert re.search(r"\nHype +numeric", out)
    roles = joblib.load(model).estimator_.column_roles_
    assert "Hype" in roles["numeric"] and "w" not in roles.reasons
    assert not {"Studios", "Source", "poster"} & set(roles.reasons)
    predicted = tmp_path / "predicted.csv"
    frame.drop(columns="Score").to_csv(data, index=False)
    assert main(["predict", str(model), str(data), "--out", str(predicted)]) == 0
    written = pd.read_csv(predicted, dtype=str)  # each row told by its own id
    assert written.columns.tolist() == ["anime_id", "Title", "id", "predicted_score"]
    assert written["id"].tolist() == frame["id"].astype(str).tolist()
    frame.drop(columns=["Score", "Hype"]).to_csv(data, index=False)
    assert main(["predict", str(model), str(data), "--out", str(predicted)]) == 2
    assert "Column(s) missing from X: trained on: 'Hype'" in capsys.readouterr().err


def test_train_role_gives_a_column_the_role_named_and_keeps_the_others(
    anime_csv, tmp_path, capsys
):
    """A count of the file's own with a distinct value in every row is
    ignored as identifier-like, and the command line could not say otherwise
    (in Python, numeric_columns=[...] could). --role NAME=ROLE does, and the
    other columns keep the roles they had."""
    frame = pd.read_csv(anime_csv)
    frame["Hype"] = np.random.default_rng(0).permutation(len(frame)) * 7 + 3
    frame["Start"] = [f"2005-04-{day % 28 + 1:02d}" for day in range(len(frame))]
    # half of it still airing: read as a category
    frame["Ended"] = [
        f"2006-0{d % 9 + 1}-01" if d % 2 else "ongoing" for d in range(60)
    ]
    data, model = tmp_path / "own.csv", tmp_path / "own.joblib"
    frame.to_csv(data, index=False)
    args = ["train", str(data), "--out", str(model), "--columns", "auto"]
    args += ["--no-posters", "--importance-repeats", "0", "--calibration-size", "0"]
    args += [*FAST, "--report-dir", str(tmp_path / "report")]
    assert main(args) == 0
    before = joblib.load(model).column_roles_
    assert before.role_of("Hype") == "ignored"  # the trade-off --role undoes
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "Hype is ignored as identifier-like (a distinct integer in every row): "
        "--role Hype=numeric uses it." in out
    )
    # "hype" names Hype as load_mal's names are matched, in any case
    assert main([*args, "--role", "hype=numeric", "--role", "Producers=ignored"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "Roles given by --role: Hype numeric, not ignored (identifier-like: a "
        "distinct integer in every row); Producers ignored, not list." in out
    )
    assert "identifier-like" not in out.replace("not ignored (identifier-like", "")
    after = joblib.load(model).column_roles_
    assert after.role_of("Hype") == "numeric"
    assert after.role_of("Producers") == "ignored"
    moved = {"Hype", "Producers"}
    # Start stays a date, though the numeric columns are now a list (which
    # turns the "auto" dates off)
    assert before.role_of("Start") == "date"
    assert {c: after.role_of(c) for c in after.reasons if c not in moved} == {
        c: before.role_of(c) for c in before.reasons if c not in moved
    }
    # a date column given another role, and a column given the date role
    assert before.role_of("Ended") == "categorical"
    assert main([*args, "--role", "Start=ignored", "--role", "Ended=date"]) == 0
    roles = joblib.load(model).column_roles_
    assert roles["date"] == ["Ended"] and roles.role_of("Start") == "ignored"
    # the column set's lists take --role as well: a column of the set left out
    prerelease = [a for a in args if a not in ("--columns", "auto")]
    assert main([*prerelease, "--role", "Themes=ignored"]) == 0
    roles = joblib.load(model).column_roles_
    assert roles.role_of("Themes") == "ignored"
    assert roles["list"] == ["Genres", "Studios", "Producers"]


@pytest.mark.parametrize(
    "roles, columns, said",
    [
        (["Hype=numeric"], "prerelease", "--role 'Hype': the table as read has no"),
        (["Hype=numeric"], "prerelease", "read with --columns auto"),
        (["Hypes=numeric"], "auto", "(did you mean 'Hype'?)"),
        (["Score=numeric"], "auto", "'Score' holds the scores to predict"),
        (["Hype=text", "HYPE=list"], "auto", "'Hype' is given two roles, text"),
        (["poster=ignored"], "auto", "'poster' is the poster column, which --role"),
    ],
)
def test_train_role_refusals_come_before_training(
    roles, columns, said, anime_csv, tmp_path, capsys
):
    frame = pd.read_csv(anime_csv).assign(Hype=np.arange(60) * 7 + 3)
    data = tmp_path / "own.csv"
    frame.to_csv(data, index=False)
    args = ["train", str(data), "--out", str(tmp_path / "m.joblib")]
    args += ["--columns", columns, *FAST, "--report-dir", str(tmp_path / "r")]
    args += ["--poster-root", str(anime_csv.parent)]
    assert main([*args, *(f"--role={r}" for r in roles)]) == 2
    captured = capsys.readouterr()
    assert said in " ".join(captured.err.split())
    assert "epoch" not in captured.out and not (tmp_path / "m.joblib").exists()


def test_train_role_uses_a_table_whose_one_input_every_role_ignored(
    anime_csv, tmp_path, capsys
):
    """A table whose one input is a count of its own: every column is
    ignored, and --role, which would use it, was refused with the same "No
    column of X can be used" as training without it, which named Python's
    numeric_columns=[...]. Now training says which --role uses it, and
    --role does."""
    frame = pd.read_csv(anime_csv)[["anime_id", "Score"]]
    frame["Hype"] = np.random.default_rng(0).permutation(len(frame)) * 7 + 3
    data, model = tmp_path / "only.csv", tmp_path / "only.joblib"
    frame.to_csv(data, index=False)
    args = ["train", str(data), "--out", str(model), "--columns", "auto"]
    args += ["--importance-repeats", "0", "--calibration-size", "0", *FAST]
    args += ["--report-dir", str(tmp_path / "report")]
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "No column of the table can be used: every column is ignored" in err
    assert err.endswith("--role Hype=numeric uses it.")
    assert not model.exists()
    assert main([*args, "--role", "Hype=numeric"]) == 0
    assert joblib.load(model).column_roles_["numeric"] == ["Hype"]
    frame.drop(columns="Hype").assign(Note="x").to_csv(data, index=False)
    assert main(args) == 2  # nothing identifier-like: --role in general
    err = " ".join(capsys.readouterr().err.split())
    assert err.endswith("--role NAME=ROLE gives a column a role.")


def test_train_suggests_a_role_for_each_kind_of_identifier_like_column():
    from skanime._cli_roles import identifier_like_words

    X = pd.DataFrame(
        {
            "Type": ["TV", "Movie"] * 15,
            "Hype": range(30),  # a count
            "studio_id": [1, 2, 3] * 10,  # a code
            "slug": [f"anime-{i}" for i in range(30)],  # one word, each its own
            "Score": [7.0, 8.0] * 15,
        }
    )
    words = identifier_like_words(HybridAnimeRegressor(), X, X["Score"])
    assert re.findall(r"--role (\S+) uses it\.", words) == [
        "Hype=numeric",
        "studio_id=categorical",
        "slug=text",
    ]
    named = HybridAnimeRegressor(numeric_columns=["Hype"], text_columns=["slug"])
    assert identifier_like_words(named, X, X["Score"]).startswith("studio_id is")


@pytest.mark.parametrize("given", ["Hype", "Hype=number", "=numeric", "Hype="])
def test_train_role_refuses_what_is_not_name_equals_role(given, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["train", "a.csv", "--out", "m.joblib", "--role", given])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --role: expected NAME=ROLE, ROLE one of numeric" in err


def test_role_names_are_the_roles_the_estimator_has_parameters_for():
    """Written out so that --help answers without pandas; kept in step with
    the estimator's column parameters, as BOOSTER_NAMES is with BOOSTERS."""
    from skanime._cli_options import ROLE_NAMES
    from skanime._cli_roles import _PARAMS

    assert set(ROLE_NAMES) == {*_PARAMS, "ignored"}
    assert _PARAMS["date"] == "date_columns" and "poster" not in _PARAMS


def test_train_help_shows_no_default_for_role(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    role = out[out.index("--role NAME=ROLE give") : out.index("CALIBRATION_SIZE share")]
    assert "read with --columns auto" in role and "default" not in role


def test_score_and_poster_columns_of_other_names_are_read_where_given(
    anime_csv, tmp_path, capsys
):
    """A table whose scores are ``rating`` and whose poster files are
    ``cover`` had to be renamed: train said it had no Score column, and a
    poster column of another name was ignored. --score-column and
    --poster-column name them, for train, evaluate and predict."""
    frame = pd.read_csv(anime_csv).rename(
        columns={"Score": "rating", "poster": "cover"}
    )
    frame["w"] = 1.0  # the rows of a weighted table are read with the names too
    data, model = tmp_path / "own.csv", tmp_path / "own.joblib"
    frame.to_csv(data, index=False)
    base = ["train", str(data), "--out", str(model), "--importance-repeats", "0"]
    base += ["--report-dir", str(tmp_path / "report"), "--calibration-size", "0"]
    base += ["--poster-root", str(anime_csv.parent), *FAST]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "has no Score column" in err and "--score-column" in err
    names = ["--score-column", "rating", "--poster-column", "cover"]
    assert main([*base, *names, "--weight-column", "w"]) == 0
    out = capsys.readouterr().out
    with_poster = int(frame["cover"].notna().sum())
    assert f"scored anime from {data} ({with_poster} with a poster)" in out
    assert joblib.load(model).column_roles_["poster"] == ["poster"]
    root = ["--poster-root", str(anime_csv.parent)]
    assert main(["evaluate", str(model), str(data), *names, *root]) == 0
    assert re.search(r"MAE", capsys.readouterr().out)
    predicted = tmp_path / "predicted.csv"
    args = ["predict", str(model), str(data), "--out", str(predicted), *root]
    assert main([*args, "--poster-column", "cover"]) == 0
    with_posters = pd.read_csv(predicted)["predicted_score"]
    # the same file with the posters' column unnamed: the model refuses it
    assert main(args) == 2
    assert "poster" in capsys.readouterr().err
    frame.drop(columns="cover").assign(poster=np.nan).to_csv(data, index=False)
    assert main([*args, "--out", str(tmp_path / "blank.csv")]) == 0
    blank = pd.read_csv(tmp_path / "blank.csv")["predicted_score"]
    assert not np.allclose(with_posters, blank)  # the pixels were read
    # a column the table lacks, or one given for both, is named
    assert main([*base, "--score-column", "Rating_avg"]) == 2
    assert "'Rating_avg' given for 'Score'" in capsys.readouterr().err
    assert main([*base, "--score-column", "cover", "--poster-column", "cover"]) == 2
    assert "both name 'cover'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "columns, patience", [("prerelease", 4), ("auto", 4), ("paper", 12)]
)
def test_without_patience_the_model_keeps_its_own(columns, patience, tmp_path):
    """No --patience: the estimator's default (4), or PAPER_MODEL's (12)."""
    from skanime.cli import _model_from_args, build_parser

    args = build_parser().parse_args(
        ["train", "a.csv", "--out", str(tmp_path / "m.joblib"), "--columns", columns]
    )
    model = _model_from_args(args)
    assert model.patience == patience and model.early_stopping


def test_training_validates_on_member_folds_unless_a_valid_size_is_given(
    anime_csv, tmp_path, capsys
):
    """By default each network of the ensemble validates on its own fold of
    the 85% training rows; --valid-size holds a share of all rows out instead
    (as the paper did); a share that leaves nothing to train on is refused."""
    base = ["train", str(anime_csv), "--no-posters", "--importance-repeats", "0"]
    base += ["--report-dir", str(tmp_path), "--calibration-size", "0", *FAST]
    out = tmp_path / "m.joblib"
    assert main([*base, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "each of the 5 networks is validated on the fold" in said
    assert joblib.load(out).validation_fraction == "folds"
    assert main([*base, "--out", str(out), "--valid-size", "0.15"]) == 0
    assert "of which 15% of all rows validate each epoch" in capsys.readouterr().out
    assert joblib.load(out).validation_fraction == pytest.approx(0.15 / 0.85)
    assert (
        main([*base, "--out", str(tmp_path / "x.joblib"), "--valid-size", "0.9"]) == 2
    )
    err = capsys.readouterr().err
    assert "valid_size (--valid-size) must be above 0 and below 0.85" in err
    assert not (tmp_path / "x.joblib").exists()


@pytest.mark.parametrize(
    ("flag", "booster"),
    [([], "hist"), (["--booster", "hist"], "hist"), (["--booster", "none"], None)],
)
def test_train_with_a_booster_saves_the_averaged_model(
    flag, booster, anime_csv, tmp_path, capsys
):
    """The model's booster ("hist") unless --booster none: the saved model
    averages the network with HistGB for anime up to its latest Year; the
    command's choices are skanime.BOOSTERS' names (written out for --help)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from skanime import BOOSTERS
    from skanime._cli_options import BOOSTER_NAMES

    assert BOOSTER_NAMES == tuple(BOOSTERS)
    out = tmp_path / "m.joblib"
    args = ["train", str(anime_csv), "--no-posters", "--importance-repeats", "0"]
    args += ["--report-dir", str(tmp_path), "--calibration-size", "0", *FAST]
    assert main([*args, "--out", str(out), *flag]) == 0
    said = " ".join(capsys.readouterr().out.split())
    saved = joblib.load(out)
    assert saved.booster == booster
    if booster is None:
        assert saved.booster_ is None and "Predictions average" not in said
        return
    assert "average the networks with a HistGradientBoostingRegressor" in said
    assert (
        "(0.3 of the weight on it) for anime up to the training rows' latest 'Year'"
        in said
    )
    assert isinstance(saved.booster_, HistGradientBoostingRegressor)


def test_the_paper_column_set_has_no_booster_unless_asked():
    from skanime.cli import _model_from_args, build_parser

    def model(*flags):
        args = build_parser().parse_args(["train", "x.csv", "--out", "m", *flags])
        return _model_from_args(args)

    assert model("--columns", "paper").booster is None
    assert model("--columns", "paper", "--booster", "hist").booster == "hist"
    assert model().booster == "hist"


@pytest.mark.parametrize("flag", [[], ["--mixed-precision", "bfloat16"]])
def test_mixed_precision_reaches_the_model(flag, tmp_path):
    """--mixed-precision sets the estimator's mixed_precision (None without it);
    its choices are the keys the estimator accepts (written out for --help)."""
    from skanime._cli_options import MIXED_PRECISION_NAMES
    from skanime._precision import MIXED_PRECISION_DTYPES
    from skanime.cli import _model_from_args, build_parser

    assert MIXED_PRECISION_NAMES == tuple(MIXED_PRECISION_DTYPES)
    args = ["train", str(tmp_path / "a.csv"), "--out", str(tmp_path / "m.joblib")]
    model = _model_from_args(build_parser().parse_args([*args, *flag]))
    assert model.mixed_precision == (flag[1] if flag else None)


@pytest.mark.parametrize("patience", ["3", "12"])
def test_the_command_lines_patience_wins_over_the_paper_sets(patience, tmp_path):
    from skanime.cli import _model_from_args, build_parser

    args = build_parser().parse_args(
        [
            "train",
            str(tmp_path / "a.csv"),
            "--out",
            str(tmp_path / "m.joblib"),
            "--columns",
            "paper",
            "--patience",
            patience,
        ]
    )
    model = _model_from_args(args)
    assert model.patience == int(patience)
    assert model.n_members == 1  # the rest of PAPER_MODEL still applies


def test_the_training_curves_name_the_loss_of_a_calibrated_model(
    anime_csv, tmp_path, monkeypatch
):
    """`skanime train` saves a ConformalRegressor (10% calibration rows by
    default); its curves are labelled with the wrapped model's criterion, which
    plot_history reads from the model it is given."""
    import skanime.report

    loss_label = skanime.report.loss_label
    labels = []

    def recording(model):
        labels.append(loss_label(model))
        return labels[-1]

    monkeypatch.setattr(skanime.report, "loss_label", recording)
    model, report = tmp_path / "model.skanime", tmp_path / "report"
    argv = ["train", str(anime_csv), "--out", str(model), *FAST]
    assert main([*argv, "--report-dir", str(report), "--importance-repeats", "0"]) == 0
    assert (
        main(["evaluate", str(model), str(anime_csv), "--report-dir", str(report)]) == 0
    )
    assert labels == ["Huber, delta 0.5", "Huber, delta 0.5"]


@pytest.mark.parametrize(
    "params, valid_size, words",
    [
        ({}, None, "each of the 5 networks is validated on the fold"),
        ({"n_members": 3}, None, "each of the 3 networks is validated on the fold"),
        ({"n_members": 1}, None, "of which 20% validate each epoch"),
        ({"validation_fraction": 0.1}, None, "of which 10% validate each epoch"),
        ({}, 0.15, "of which 15% of all rows validate each epoch"),
        ({"validation_fraction": 0}, None, "no validation"),
        ({"early_stopping": False}, None, "does not train on; no early stopping"),
    ],
)
def test_the_training_message_says_how_the_model_validates(params, valid_size, words):
    from skanime._experiment import _validation_words

    said = _validation_words(HybridAnimeRegressor(**params), valid_size)
    assert words in said
    assert ("no early stopping" in said) == (params == {"early_stopping": False})


def test_train_says_which_poster_urls_it_does_not_fetch(
    anime_csv, tmp_path, monkeypatch, capsys
):
    """A table with image URLs (Kaggle's "Image URL") for rows without a poster
    file says that they are not fetched and how to fetch them."""
    frame = pd.read_csv(anime_csv)
    frame["Image URL"] = [f"https://example.invalid/{i}.jpg" for i in frame.index]
    path = tmp_path / "urls.csv"
    frame.to_csv(path, index=False)

    class Stop(Exception):
        pass

    def stop(args, **extra):
        raise Stop

    monkeypatch.setattr(cli, "_model_from_args", stop)
    with pytest.raises(Stop):
        main(["train", str(path), "--out", str(tmp_path / "m.skanime")])
    without = int(frame["poster"].isna().sum())
    assert 0 < without < len(frame)  # rows with a file are not counted
    assert f"; its {without} poster URL(s) are not fetched: " in (
        capsys.readouterr().out
    )
    with pytest.raises(Stop):  # no URLs: nothing said
        main(["train", str(anime_csv), "--out", str(tmp_path / "m.skanime")])
    assert "not fetched" not in capsys.readouterr().out


def test_train_refuses_scores_on_another_scale_before_training(
    anime_csv, tmp_path, capsys
):
    """Scores out of 100 stopped after "Training on ..." with the model's
    "set target_range=None", a parameter the command has no option for."""
    frame = pd.read_csv(anime_csv)
    frame["Score"] = (frame["Score"] * 10).round()
    path = tmp_path / "hundred.csv"
    frame.to_csv(path, index=False)
    assert main(["train", str(path), "--out", str(tmp_path / "m.joblib")]) == 2
    captured = capsys.readouterr()
    assert "Training on" not in captured.out
    assert "60 Score(s) are outside MyAnimeList's 1 to 10 (first: " in captured.err
    assert "divided by 10" in captured.err and "target_range" not in captured.err
    assert not (tmp_path / "m.joblib").exists()
    # scores under a name of their own are named by it
    frame.rename(columns={"Score": "rating"}).to_csv(path, index=False)
    argv = ["train", str(path), "--out", str(tmp_path / "m.joblib")]
    assert main([*argv, "--score-column", "rating"]) == 2
    assert "60 score(s) of 'rating' are outside" in capsys.readouterr().err


def test_the_kept_epoch_is_the_one_early_stopping_restored():
    """A later epoch can have a lower validation loss by less than early
    stopping's threshold; its weights are not the ones kept, nor named."""
    frame = make_anime(120, random_state=0)
    model = fast_model(
        poster_column=None,
        early_stopping=True,
        patience=2,
        callbacks__early_stopping__threshold=0.5,  # only the first epoch beats inf
    ).fit(frame, frame["Score"])
    losses = list(model.history_[:, "valid_loss"])
    assert min(range(len(losses)), key=losses.__getitem__) > 0  # a lower loss later
    assert _kept_epoch(model) == (
        ", keeping the weights of epoch 1 (best validation loss)"
    )
    # without load_best the last epoch's weights stay: no epoch is said kept
    model.set_params(callbacks__early_stopping__load_best=False)
    assert _kept_epoch(model.fit(frame, frame["Score"])) == ""


def test_train_weighs_rows_by_a_column_of_the_csv(
    anime_csv, tmp_path, monkeypatch, capsys
):
    """--weight-column: the training rows' weights reach the network's fit and
    the calibration rows' the ConformalRegressor's, each row with its own; the
    column is never an input."""
    from skanime.intervals import ConformalRegressor

    frame = pd.read_csv(anime_csv)
    weight = np.array([1.0, 2.0, 3.0, 1000.0])[np.arange(len(frame)) % 4]
    frame["w"] = [f"{w:,.0f}" for w in weight]  # "1,000": read as load_mal reads
    csv = tmp_path / "weighted.csv"
    frame.to_csv(csv, index=False)
    weight_of = dict(zip(frame["Title"], weight, strict=True))
    seen = {}

    def recording(owner, name):
        original = getattr(owner, name)

        def fit(self, X, y, sample_weight=None):
            seen.setdefault(owner.__name__, []).append(
                (list(X["Title"]), sample_weight)
            )
            return original(self, X, y, sample_weight=sample_weight)

        monkeypatch.setattr(owner, name, fit)

    recording(HybridAnimeRegressor, "fit")
    recording(ConformalRegressor, "fit")
    reads, read_csv = [], pd.read_csv

    def counting_read_csv(path, *args, **kwargs):
        if kwargs.get("nrows") is None:  # not the header's separator sniff
            reads.append(Path(path))
        return read_csv(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", counting_read_csv)
    model_path = tmp_path / "m.skanime"
    argv = ["train", str(csv), "--out", str(model_path), "--no-posters"]
    argv += ["--weight-column", "w", "--importance-repeats", "0", "--cv", "2"]
    assert main([*argv, "--report-dir", str(tmp_path / "r"), *FAST]) == 0
    assert "weighted by 'w'" in capsys.readouterr().out
    assert reads == [csv]  # once, the weights with the rest
    fits = seen["HybridAnimeRegressor"]  # two CV folds, then the saved model
    assert len(fits) == 3 and len(fits[0][0]) == 30
    for fit_titles, fit_weights in fits:
        np.testing.assert_array_equal(fit_weights, [weight_of[t] for t in fit_titles])
    titles = fits[-1][0]
    ((cal_titles, cal_weights),) = seen["ConformalRegressor"]
    np.testing.assert_array_equal(cal_weights, [weight_of[t] for t in cal_titles])
    assert len(titles) + len(cal_titles) == 51  # the 9 test rows are neither
    model = cli._load_model(model_path)
    assert "w" not in model.estimator_.required_columns_
    assert sorted(model.calibration_weights_) == sorted(cal_weights)


@pytest.mark.parametrize(
    "cell, message",
    [
        (None, "--weight-column 'w': "),
        ("-1", "row 5 (line in the file) has '-1', not a number >= 0"),
        ("heavy", "row 5 (line in the file) has 'heavy', not a number >= 0"),
    ],
)
def test_a_bad_weight_column_is_refused_before_training(
    anime_csv, tmp_path, capsys, cell, message
):
    frame = pd.read_csv(anime_csv)
    if cell is not None:
        frame["w"] = "1"
        frame.loc[3, "w"] = cell
    csv = tmp_path / "weighted.csv"
    frame.to_csv(csv, index=False)
    model = tmp_path / "m.skanime"
    argv = ["train", str(csv), "--out", str(model), "--no-posters"]
    argv += ["--weight-column", "w", "--report-dir", str(tmp_path / "r"), *FAST]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    if cell is None:
        assert "has no such column" in captured.err
    assert "epoch" not in captured.out and not model.exists()


def test_calibrate_weighs_the_calibration_rows_by_a_column(anime_csv, tmp_path):
    """calibrate --weight-column: each unseen row's residual keeps its own
    weight (rows of the training split are left out with theirs)."""
    from sklearn.model_selection import train_test_split

    trained, calibrated = tmp_path / "trained.skanime", tmp_path / "cal.skanime"
    argv = ["train", str(anime_csv), "--out", str(trained), "--no-posters"]
    argv += ["--calibration-size", "0", "--importance-repeats", "0", *FAST]
    assert main([*argv, "--report-dir", str(tmp_path / "r")]) == 0
    frame = pd.read_csv(anime_csv)
    frame["w"] = 1.0 + np.arange(len(frame))  # every row its own weight
    csv = tmp_path / "weighted.csv"
    frame.to_csv(csv, index=False)
    argv = ["calibrate", str(trained), str(csv), "--out", str(calibrated)]
    assert main([*argv, "--weight-column", "w"]) == 0
    network, model = cli._load_model(trained), cli._load_model(calibrated)
    scored = load_mal(csv, dropna=True)
    _, test_rows = train_test_split(scored.index, test_size=0.15, random_state=0)
    unseen = scored.loc[test_rows]
    residuals = np.abs(unseen["Score"] - network.predict(unseen)).to_numpy()
    weight_of_title = dict(zip(frame["Title"], frame["w"], strict=True))
    weights = unseen["Title"].map(weight_of_title).to_numpy()
    order = np.argsort(residuals, kind="stable")
    np.testing.assert_allclose(model.calibration_residuals_, residuals[order])
    np.testing.assert_array_equal(model.calibration_weights_, weights[order])
    assert main([*argv, "--weight-column", "missing"]) == 2


def _record_fit_years(monkeypatch) -> list:
    """The Year column of every HybridAnimeRegressor fit, in order."""
    fits = []
    original = HybridAnimeRegressor.fit

    def recording(self, X, y, sample_weight=None):
        fits.append(X["Year"].to_numpy())
        return original(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(HybridAnimeRegressor, "fit", recording)
    return fits


def test_train_calibrate_on_latest_calibrates_for_later_anime(
    anime_csv, tmp_path, monkeypatch, capsys
):
    """--calibrate-on-latest: a first fit on all but the latest training rows by
    Year, whose errors on those calibrate; the saved model is the second fit, on
    every training row, and its report says what the intervals are for."""
    fits = _record_fit_years(monkeypatch)
    model_path, report = tmp_path / "m.skanime", tmp_path / "r"
    argv = ["train", str(anime_csv), "--out", str(model_path), "--no-posters"]
    argv += ["--calibrate-on-latest", "--importance-repeats", "0"]
    assert main([*argv, "--report-dir", str(report), *FAST]) == 0
    out = capsys.readouterr().out
    assert "first on all but the latest 6 by 'Year'" in out
    assert "the latest 6 of them by 'Year' calibrated" in out
    first, kept = fits  # 51 training rows: 45, then all 51
    assert len(first) == 45 and len(kept) == 51
    later = np.sort(kept)[-6:]
    assert first.max() <= later.min()
    np.testing.assert_array_equal(np.sort(np.r_[first, later]), np.sort(kept))
    model = cli._load_model(model_path)
    assert model.time_column == "Year" and len(model.calibration_residuals_) == 6
    assert model.training_data_["rows"] == 51
    # the calibration rows are recorded by their inputs: the 6 latest trained
    frame = cli._scored_rows_and_weights(cli.build_parser().parse_args(argv))[0]
    digests = cli._row_digests(frame, model)
    latest = np.isin(digests, model.calibration_data_["row_digests"])
    assert model.calibration_data_["rows"] == 6 == latest.sum()
    np.testing.assert_array_equal(np.sort(frame["Year"][latest]), later)
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "for anime later than the data" in page
    assert main(["evaluate", str(model_path), str(anime_csv)]) == 0
    said = capsys.readouterr().out
    assert "6 of the 60 rows here calibrated the model's prediction intervals" in said
    assert "Prediction intervals, on the 9 rows that neither" in said
    assert "calibrated for anime later than its data (by 'Year')" in said


def test_train_calibration_gap_leaves_the_years_before_the_latest_out_of_the_first_fit(
    anime_csv, tmp_path, monkeypatch, capsys
):
    """--calibration-gap 1: the first fit ends more than a year before the
    latest training rows, which calibrate; the model kept trains on all."""
    fits = _record_fit_years(monkeypatch)
    model_path = tmp_path / "m.skanime"
    argv = ["train", str(anime_csv), "--out", str(model_path), "--no-posters"]
    argv += ["--calibrate-on-latest", "--calibration-gap", "1"]
    argv += ["--importance-repeats", "0", "--report-dir", str(tmp_path / "r")]
    assert main([*argv, *FAST]) == 0
    assert "first on the rows more than 1 before the latest 6 by 'Year'" in (
        capsys.readouterr().out
    )
    first, kept = fits
    later = np.sort(kept)[-6:]
    assert len(kept) == 51 and first.max() < later.min() - 1
    np.testing.assert_array_equal(np.sort(first), np.sort(kept[kept < later.min() - 1]))
    assert cli._load_model(model_path).time_gap == 1


def test_train_calibration_gap_needs_calibrate_on_latest(anime_csv, tmp_path, capsys):
    model = tmp_path / "m.skanime"
    argv = ["train", str(anime_csv), "--out", str(model), "--calibration-gap", "1"]
    assert main(argv) == 2
    assert "--calibration-gap needs --calibrate-on-latest" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main([*argv[:-1], "-1", "--calibrate-on-latest"])
    assert exited.value.code == 2
    assert "expected a number of 0 or more" in capsys.readouterr().err
    assert not model.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--scaled-intervals"], "leave out --scaled-intervals"),
        (["--calibration-size", "0"], "needs calibration rows"),
        (["--calibrate-on-latest", "Aired"], "'Aired': the data has no such column"),
        (
            ["Title", "--calibration-gap", "1"],
            "--calibrate-on-latest 'Title' holds values that are neither numbers",
        ),
    ],
)
def test_train_calibrate_on_latest_refusals_come_before_training(
    anime_csv, tmp_path, capsys, extra, message
):
    model = tmp_path / "m.skanime"
    argv = ["train", str(anime_csv), "--out", str(model), "--no-posters"]
    argv += ["--calibrate-on-latest", *extra, "--report-dir", str(tmp_path / "r")]
    assert main([*argv, *FAST]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "epoch" not in captured.out and not model.exists()
