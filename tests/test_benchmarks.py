"""The benchmarks skip cleanly where the real data is absent."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, RegressorMixin

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    # the scripts import their shared helpers (benchmarks/_common.py) by name,
    # as they do when run from the command line
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_accuracy_skips_without_data(tmp_path, capsys):
    assert _load("bench_accuracy").main([str(tmp_path / "nowhere")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SKIPPED: no MyAnimeList data at") and "nowhere" in out


def test_bench_poster_ablation_skips_without_data(tmp_path, capsys):
    assert _load("bench_poster_ablation").main([str(tmp_path / "nowhere")]) == 0
    assert capsys.readouterr().out.startswith("SKIPPED: no MyAnimeList data at")


def test_bench_speed_skips_without_data(tmp_path, capsys):
    assert _load("bench_speed").main([str(tmp_path / "nowhere"), "--no-predict"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SKIPPED: no MyAnimeList data at") and "nowhere" in out


def test_bench_speed_predict_section_runs_on_generated_data(tmp_path, capsys):
    """Section 0 needs no real data; a tiny run prints both models' tables."""
    sizes = ["--train-rows", "60", "--batch-rows", "300", "--single-repeats", "3"]
    module = _load("bench_speed")
    assert module.main([str(tmp_path / "nowhere"), *sizes, "--batch-repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SKIPPED: no MyAnimeList data at")
    assert out.count("predictions identical to the pipeline path: True") == 2
    assert out.count("HistGB pipeline, same encoder") == 4


def test_bench_memory_runs_on_generated_data(tmp_path, capsys):
    """The memory benchmark needs no real data; a tiny run prints both modes."""
    module = _load("bench_memory")
    assert module.main(["--rows", "12", "24", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("x for 2x the rows") == 2
    assert "streamed" in out and "cached" in out


@pytest.mark.parametrize("name", ["bench_intervals", "bench_importance"])
def test_bench_intervals_and_importance_skip_without_data(name, tmp_path, capsys):
    assert _load(name).main([str(tmp_path / "nowhere")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SKIPPED: no MyAnimeList data at") and "nowhere" in out


def test_bench_posters_skips_without_data(tmp_path, capsys):
    assert _load("bench_posters").main([str(tmp_path / "nowhere")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SKIPPED: no MyAnimeList data at") and "nowhere" in out


def test_bench_roles_and_epochs_skip_without_data(tmp_path, capsys):
    for name in ("bench_roles", "bench_epochs"):
        assert _load(name).main([str(tmp_path / "nowhere")]) == 0
        out = capsys.readouterr().out
        assert out.startswith("SKIPPED: no MyAnimeList data at") and "nowhere" in out


def test_bench_posters_refuses_fold_ids_outside_its_folds(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _load("bench_posters").main([str(tmp_path), "--folds", "3", "--fold-ids", "3"])
    assert "--fold-ids must lie in 0 to 2" in capsys.readouterr().err


def _saved_posters_runs(folder, runs: list[dict]) -> list[str]:
    """``bench_posters --save`` files, one per ``{model: per-fold MAE}`` of
    ``runs`` (the poster setting)."""
    import json

    files = []
    for seed, errors in enumerate(runs):
        path = folder / f"seed{seed}.json"
        saved = {
            "setting": "posters",
            "errors": {"poster": errors},
            "seconds": dict.fromkeys(errors, 1.0),
        }
        path.write_text(json.dumps(saved))
        files.append(str(path))
    return files


def test_bench_posters_pairs_folds_with_the_control(tmp_path, capsys):
    """--combine pools the per-fold MAE of runs over other seeds and prints each
    model's paired difference to the constant-image control."""
    long = "hybrid lite2_full_last2_prior"  # longer than the old 24 columns
    runs = [
        {
            "constant image": [control] * 5,
            "hybrid": [control - 0.03] * 5,
            long: [control - 0.02] * 5,
        }
        for control in (0.50, 0.52)
    ]
    files = _saved_posters_runs(tmp_path, runs)
    assert _load("bench_posters").main(["--combine", *files]) == 0
    lines = capsys.readouterr().out.splitlines()
    (hybrid,) = [r for r in lines if r.startswith("hybrid ") and long not in r]
    assert hybrid.split()[1:4] == ["0.4800", "0.0100", "-0.0300"]
    assert "[-0.0300, -0.0300]" in hybrid
    # the columns line up under the header, whatever a name's length
    (header,) = [r for r in lines if r.startswith("model")]
    end = header.index("MAE") + len("MAE")
    for row in [r for r in lines if r.startswith(("hybrid", "constant"))]:
        assert row[end - 6 : end] in {"0.4800", "0.5100", "0.4900"}, row


def test_bench_posters_combines_runs_of_some_folds(tmp_path, capsys):
    """Runs of three folds each (--fold-ids) combine as one seed per run."""
    runs = [
        {"constant image": [control] * 3, "hybrid": [control - 0.03] * 3}
        for control in (0.50, 0.54)
    ]
    files = _saved_posters_runs(tmp_path, runs)
    module = _load("bench_posters")
    assert module.main(["--combine", *files, "--fold-ids", "0", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "(2 seeds)" in out and "6 paired folds" in out
    (hybrid,) = [r for r in out.splitlines() if r.startswith("hybrid")]
    assert hybrid.split()[1:4] == ["0.4900", "0.0200", "-0.0300"]  # sd of seeds


def test_bench_posters_gives_decoding_workers_to_trained_backbones_only():
    """--device reaches every model; --num-workers only the fine-tuned ones, whose
    posters are decoded per batch (the frozen ones read cached embeddings)."""
    import argparse

    module = _load("bench_posters")
    args = argparse.Namespace(
        epochs=3, data="DATA", cache_dir=None, device="cuda", num_workers=6,
        variants=["lite2", "lite2_full_last2", "lite2_full_last2_prior"], skip=[],
    )  # fmt: skip
    models = module.make_models(args, 1, constant_frame=None)
    assert {m.device for m, _ in models.values()} == {"cuda"}
    workers = {name: m.num_workers for name, (m, _) in models.items()}
    assert workers.pop("hybrid lite2_full_last2") == 6
    assert workers.pop("hybrid lite2_full_last2_prior") == 6
    assert set(workers.values()) == {0}
    priors = {name: m.poster_prior for name, (m, _) in models.items()}
    assert priors["hybrid lite2_full_last2"] is None
    assert priors["hybrid lite2_full_last2_prior"] == 3000.0
    tuned = models["hybrid lite2_full_last2"][0]
    assert (tuned.backbone, tuned.freeze_backbone, tuned.image_size) == (
        "efficientnet_lite2",
        2,
        None,
    )


def test_bench_accuracy_parts_add_one_part_at_a_time(tmp_path):
    """Issue 13's ablation (--parts): below "poster" the poster paths become a
    0/1 has_poster column, which boosting's inputs then carry; "text" adds the
    title features to the table; "poster" is the model as shipped."""
    import argparse

    from skanime.datasets import make_anime

    module = _load("bench_accuracy")
    frame = make_anime(80, random_state=0, poster_dir=tmp_path).drop(columns="Score")
    frame.loc[::3, "poster"] = None
    flag = frame["poster"].notna().to_numpy(float)

    table = module._part_frame(frame, "table")
    assert "poster" not in table and (table["has_poster"].to_numpy() == flag).all()
    assert module._part_frame(frame, "poster") is frame
    assert module.SHIPPED_PARTS["poster"] == {}
    assert module.SHIPPED_PARTS["prior"] == {"poster_column": None}

    args = argparse.Namespace(data=str(tmp_path), cache_dir=None, licensors=False)
    y = np.linspace(5, 9, len(frame))
    inputs = {
        part: module.HybridInputs(0, args, part=part) for part in ("table", "text")
    }
    blocks = {
        part: inputs[part].fit_transform(module._part_frame(frame, part), y)
        for part in ("table", "text")
    }
    # the title features (SVD components and a sequel flag) and the title's word
    # columns (the network's "words" input, last) join the table
    features = {part: inputs[part].steps_["features"] for part in inputs}
    assert "title_words" not in features["table"].named_transformers_
    words = features["text"].named_transformers_["title_words"]
    n_words = len(words.get_feature_names_out())
    assert n_words > 0
    assert blocks["text"].shape[1] > blocks["table"].shape[1] + n_words
    packed = inputs["text"].steps_.transform(module._part_frame(frame, "text"))
    np.testing.assert_array_equal(blocks["text"][:, -n_words:], packed["words"])

    # the flag reaches boosting among the table's (scaled) columns
    def is_flag(column):
        return (
            all(len(np.unique(column[flag == v])) == 1 for v in (0, 1))
            and len(np.unique(column)) == 2
        )

    assert any(is_flag(column) for column in blocks["table"].T)

    runs = module._runs(
        argparse.Namespace(
            features=["text+prior"],
            models=["lgbm", "default"],
            parts=["table", "poster"],
        )
    )
    assert [(model, part, label) for _, model, part, label in runs] == [
        ("lgbm", "poster", "text+prior"),
        ("default", "table", "table+flag"),
        ("default", "poster", "shipped"),
    ]


def test_bench_accuracy_splits_cv_per_seed_then_temporal():
    """Each seed's 5-fold CV tests every row once; the temporal split trains on
    the years before 2016, tests the rest (rows without a year in neither) and
    uses the first seed."""
    import argparse

    import pandas as pd

    module = _load("bench_accuracy")
    year = np.array([1990, 2015, 2016, 2020, np.nan] * 4)
    frame = pd.DataFrame({"Year": year})
    args = argparse.Namespace(seeds=[3, 0], folds=5, cv=True, temporal=True)
    splits = list(module._splits(frame, args))
    assert [(name, seed) for name, _, seed, _ in splits] == [
        ("cv3", 3),
        ("cv0", 0),
        ("temporal", 3),
    ]
    for _, folds, _, tested in splits[:2]:
        assert tested is None
        assert sorted(np.concatenate([test for _, test in folds])) == list(range(20))
    ((train, test),) = splits[2][1]
    assert (year[train] < 2016).all() and (year[test] >= 2016).all()
    assert len(train) + len(test) == 16 and (splits[2][3] == test).all()
    args.cv = False
    assert [name for name, *_ in module._splits(frame, args)] == ["temporal"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
def test_bench_gpu_skips_without_a_gpu(tmp_path, capsys):
    assert _load("bench_gpu").main([str(tmp_path / "nowhere")]) == 0
    assert capsys.readouterr().out.startswith("SKIPPED: torch sees no GPU here.")


def test_bench_gpu_on_the_cpu_alone_skips_without_data(tmp_path, capsys):
    module = _load("bench_gpu")
    assert module.main([str(tmp_path / "nowhere"), "--devices", "cpu"]) == 0
    assert capsys.readouterr().out.startswith("SKIPPED: no MyAnimeList data at")


def test_bench_gpu_fits_in_the_precision_asked_for(monkeypatch):
    """``--precisions bfloat16`` reaches the estimator as ``mixed_precision``;
    float32 as None (the estimator's default)."""
    module = _load("bench_gpu")
    made = []

    class Recorder:
        def __init__(self, **params):
            made.append(params)

        def fit(self, X, y):
            return self

    monkeypatch.setattr(module, "HybridAnimeRegressor", Recorder)
    for precision in ["float32", "bfloat16"]:
        module.fit_on("cpu", None, None, 0, precision)
    assert [params["mixed_precision"] for params in made] == [None, "bfloat16"]
    assert {params["device"] for params in made} == {"cpu"}


class _YearRecorder(RegressorMixin, BaseEstimator):
    """A constant regressor that keeps the years of the rows it trained on."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        self.years_, self.mean_ = X["Year"].to_numpy(), float(np.mean(y))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)

    # the rows a difficulty model reads, as HybridAnimeRegressor offers them
    def _encoded_rows(self, X):
        return X[["Year"]].fillna(2000).to_numpy()

    def _predict_and_encode(self, X):
        return self.predict(X), self._encoded_rows(X)


def _recording_conformal(module, monkeypatch):
    """Record the years and weights of every calibration of ``module``."""
    calibrations = []
    base = module.ConformalRegressor

    class Recording(base):
        def fit(self, X, y, sample_weight=None):
            calibrations.append((X["Year"].to_numpy(), sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    monkeypatch.setattr(module, "ConformalRegressor", Recording)
    return calibrations


def test_bench_intervals_rolling_calibrates_on_the_latest_year(monkeypatch, capsys):
    """--rolling: trained before Y less a random tenth, calibrated on that
    tenth and on the anime of Y, tested on Y + 1."""
    from skanime.datasets import make_anime

    module = _load("bench_intervals")
    calibrations = _recording_conformal(module, monkeypatch)
    frame = make_anime(400, random_state=0)
    years = frame["Year"].to_numpy()
    module.rolling(frame, _YearRecorder(), seeds=[0], years=[2010])
    # two calibrations (one width, scaled) for each set of rows, then
    # time_column's on every anime up to 2010
    tenth, _, latest, _, upto = [c[0] for c in calibrations]
    assert (tenth < 2010).all() and len(tenth) == (years < 2010).sum() // 10
    np.testing.assert_array_equal(latest, years[years == 2010])
    np.testing.assert_array_equal(upto, years[years <= 2010])
    out = capsys.readouterr().out
    assert f"the {(years == 2010).sum()} anime of 2010" in out
    assert "the latest year split conformal" in " ".join(out.split())
    assert "time_column, to 2010" in out and "  time_column  " in out


def test_bench_intervals_rolling_ahead_adds_a_time_gap(monkeypatch, capsys):
    """--rolling --ahead 2: tested on Y + 2, with time_column's calibration at
    gap 0 and at gap 1 (whose clone trains before Y - 1)."""
    from skanime.datasets import make_anime

    module = _load("bench_intervals")
    gaps, clones = [], []
    base = module.ConformalRegressor

    class Recording(base):
        def fit(self, X, y, sample_weight=None):
            gaps.append(self.time_gap)
            return super().fit(X, y, sample_weight=sample_weight)

        def _make_estimator(self):
            made = super()._make_estimator()
            clones.append(made)
            return made

    monkeypatch.setattr(module, "ConformalRegressor", Recording)
    frame = make_anime(400, random_state=0)
    module.rolling(frame, _YearRecorder(), seeds=[0], years=[2010], ahead=2)
    assert gaps == [0, 0, 0, 0, 0, 1]  # a tenth and 2010 (one width, scaled)
    first_fits = [c.years_ for c in clones if hasattr(c, "years_")][::2]
    assert first_fits[0].max() == 2009 and first_fits[1].max() == 2008
    out = capsys.readouterr().out
    assert "2 year(s) ahead" in out and "tested on the anime of Y + 2" in out
    assert "time_column, gap 1, to 2010" in out


def test_bench_intervals_recency_weights_favour_the_latest_calibration_year(
    monkeypatch, capsys
):
    from skanime.datasets import make_anime

    module = _load("bench_intervals")
    calibrations = _recording_conformal(module, monkeypatch)
    frame = make_anime(400, random_state=0)
    module.recalibrated(frame, _YearRecorder(), seeds=[0], taus=[2.0])
    weighted = [(year, w) for year, w in calibrations if w is not None]
    assert len(weighted) == 4  # two calibration sets, one width and scaled
    for year, weight in weighted:
        np.testing.assert_allclose(weight, np.exp((year - year.max()) / 2.0))
    assert ", tau 2" in capsys.readouterr().out
