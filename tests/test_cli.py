"""The skanime command: demo, train, evaluate, predict, and its errors."""

import subprocess
import sys

import pandas as pd
import pytest
from PIL import Image

from skanime import clear_memory_cache
from skanime.cli import main
from skanime.datasets import make_anime

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
            *FAST,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "SYNTHETIC" in out
    assert "loss (MSE)" in out and "mean predictor (baseline)" in out
    assert "epoch" in out and "valid_mae" in out  # per-epoch progress
    assert "keeping the weights of epoch" in out  # early stopping by default
    _png(tmp_path / "demo" / "training_curves.png")
    _png(tmp_path / "demo" / "predicted_vs_actual.png")
    assert (tmp_path / "demo.joblib").stat().st_size > 0


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
    if suffix == ".skanime":  # the secure format, which skanime.io reads
        import skanime.io

        assert skanime.io.get_untrusted_types(model) == []
    _png(tmp_path / "report" / "training_curves.png")
    assert "fitted on the training split: 51 of the 60 rows" in capsys.readouterr().out
    cache = tmp_path / "cache"
    clear_memory_cache()  # as in a new process: nothing embedded yet
    evaluate = ["evaluate", str(model), str(anime_csv), "--cache-dir", str(cache)]
    assert main(evaluate) == 0
    out = capsys.readouterr().out
    assert "training mean (baseline)" in out
    # the figures say which rows the model saw: 85% in-sample, 15% held out
    assert "51 of the 60 rows here are among them" in out
    assert "IN-SAMPLE (optimistic): the 51 rows" in out
    assert "Out of sample: the 9 rows the model never saw" in out
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
    assert "--epochs EPOCHS most epochs to train" in out and "(default: 60)" in out
    assert "(default: 5)" in out  # patience
    assert "data CSV such as anime.csv" in out  # positional arguments described
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "--cache-dir" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("skanime 0.")
