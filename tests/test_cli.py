"""The skanime command: demo, train, evaluate, predict, and its errors."""

import pandas as pd
import pytest
from PIL import Image

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
    capsys.readouterr()
    assert main(["evaluate", str(model), str(anime_csv)]) == 0
    assert "training mean (baseline)" in capsys.readouterr().out
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(model), str(anime_csv), "--out", str(preds)]) == 0
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


def test_train_report_and_predict_with_intervals(anime_csv, tmp_path, capsys):
    from .test_report import parse_page

    model, report = tmp_path / "model.skanime", tmp_path / "report"
    args = ["--columns", "paper", "--report-dir", str(report), *FAST]
    assert main(["train", str(anime_csv), "--out", str(model), *args]) == 0
    page = parse_page(report / "report.html")
    assert page.sections == [
        "data",
        "roles",
        "metrics",
        "curves",
        "predictions",
        "residuals",
        "importance",
        "intervals",
    ]
    assert len(page.images) == 5  # every section with a plot has it
    text = (report / "report.html").read_text()
    assert "mean predictor (baseline)" in text and "nominal level" in text
    for name in ("residuals_by_group", "column_importance", "intervals"):
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
    assert "Report written" in capsys.readouterr().out
    assert parse_page(evaluated / "report.html").sections[-1] == "intervals"


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
