"""Metrics, the table, and atomic writes."""

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_percentage_error, r2_score

from skanime.report import atomic_path, format_table, regression_metrics


def test_regression_metrics_match_scikit_learn():
    y = np.array([6.0, 7.5, 8.0, 5.5])
    pred = np.array([6.5, 7.0, 8.2, 6.0])
    m = regression_metrics(y, pred)
    assert m["mse"] == pytest.approx(np.mean((y - pred) ** 2))
    assert m["mae"] == pytest.approx(np.mean(np.abs(y - pred)))
    assert m["mape"] == pytest.approx(100 * mean_absolute_percentage_error(y, pred))
    assert m["r2"] == pytest.approx(r2_score(y, pred))


def test_format_table_has_a_row_per_model():
    m = regression_metrics([6, 7], [6.5, 7.5])
    table = format_table({"hybrid": m, "baseline": m}, title="Test set")
    lines = table.splitlines()
    assert lines[0] == "Test set" and "MAPE" in lines[1]
    assert lines[3].startswith("hybrid") and "0.500" in lines[3]
    assert lines[4].startswith("baseline")


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "model.bin"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
