"""The benchmarks skip cleanly where the real data is absent."""

import importlib.util
import sys
from pathlib import Path

import pytest

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


def test_bench_posters_pairs_folds_with_the_control(tmp_path, capsys):
    """--combine pools the per-fold MAE of runs over other seeds and prints each
    model's paired difference to the constant-image control."""
    import json

    files = []
    for seed, control in enumerate([0.50, 0.52]):
        errors = {"constant image": [control] * 5, "hybrid": [control - 0.03] * 5}
        path = tmp_path / f"seed{seed}.json"
        path.write_text(
            json.dumps(
                {
                    "setting": "posters",
                    "errors": {"poster": errors},
                    "seconds": {"constant image": 1.0, "hybrid": 1.0},
                }
            )
        )
        files.append(str(path))
    assert _load("bench_posters").main(["--combine", *files]) == 0
    (hybrid,) = [r for r in capsys.readouterr().out.splitlines() if "hybrid" in r]
    assert hybrid.split()[1:4] == ["0.4800", "0.0100", "-0.0300"]
    assert "[-0.0300, -0.0300]" in hybrid
