"""The README's Python blocks run as written, one after the other."""

import re
from pathlib import Path

import numpy as np

from skanime import HybridAnimeRegressor

README = Path(__file__).parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_python_blocks_run_in_order(
    tmp_path, monkeypatch, capsys, empty_embedding_cache
):
    """Usage (fit, roles, predict, score, cross_val_score, history), then saving
    and loading: each block runs in the namespace the one before left, and the
    loaded model predicts what the fitted one did."""
    blocks = _python_blocks()
    assert len(blocks) == 2, "the README's Python blocks changed: update this test"
    usage, saving = blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(usage, "README.md (usage)", "exec"), namespace)
    fitted = namespace["model"]
    said = capsys.readouterr().out
    assert "Title" in said and "text" in said  # the column roles were printed
    assert re.search(r"\[[-\d. e]+\]", said)  # cross_val_score's three scores
    before = fitted.predict(namespace["df"].head())
    exec(compile(saving, "README.md (saving)", "exec"), namespace)
    loaded = namespace["model"]
    assert loaded is not fitted and isinstance(loaded, HybridAnimeRegressor)
    assert (tmp_path / "model.skanime").is_file()
    np.testing.assert_allclose(loaded.predict(namespace["df"].head()), before)
