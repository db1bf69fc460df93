"""The scripts in ``examples/`` run as a user would run them, unchanged."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


def test_there_are_examples_to_run():
    assert EXAMPLES, "examples/ holds no script"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_and_writes_what_it_says(
    script, tmp_path, monkeypatch, capsys, empty_embedding_cache
):
    """Each example runs to its end in a fresh folder (and leaves no poster
    embeddings cached for other tests); the quick start prints its test-set
    table and writes the training curves it names."""
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    said = capsys.readouterr().out
    if script.name == "plot_quickstart.py":
        assert "Test set" in said
        assert "hybrid" in said and "tabular only" in said
        assert (tmp_path / "quickstart_curves.png").stat().st_size > 0
