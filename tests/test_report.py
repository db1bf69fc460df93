"""Metrics, the table, atomic writes, and the HTML report."""

import base64
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_percentage_error, r2_score

from skanime.report import (
    REPORT_SECTIONS,
    atomic_path,
    column_roles,
    data_summary,
    format_table,
    loss_label,
    plot_history,
    plot_predictions,
    plot_residuals,
    regression_metrics,
    write_html_report,
)


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


# -- the HTML report ------------------------------------------------------------------
class _Page(HTMLParser):
    """Collects section ids, image sources and links; fails on unbalanced tags."""

    VOID = {"meta", "img", "br", "hr", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.sections, self.images, self.links = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag in ("a", "link", "script"):
            self.links.append(attrs.get("href") or attrs.get("src") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()


def parse_page(path) -> _Page:
    page = _Page()
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    page.feed(text)
    page.close()
    assert page.stack == []
    return page


def test_html_report_embeds_everything(tmp_path, anime):
    y = anime["Score"].to_numpy()
    pred = y + np.linspace(-0.5, 0.5, len(y))
    figures = {
        "predictions": plot_predictions(y, pred, tmp_path / "p.png"),
        "residuals": plot_residuals(anime, y, pred, tmp_path / "r.png"),
    }
    importance = pd.DataFrame(
        {"importance_mean": [0.2], "importance_std": [0.01]},
        index=pd.Index(["Genres"], name="column"),
    )
    coverage = pd.DataFrame(
        [{"nominal level": 0.8, "coverage": 0.81, "mean_width": 1.2}]
    )
    path = write_html_report(
        tmp_path / "report.html",
        title="Test <report>",
        data=anime,
        target=y,
        roles={"numeric_columns": ("Episodes",), "poster_column": "poster"},
        metrics={"hybrid": regression_metrics(y, pred)},
        figures=figures,
        importance=importance,
        coverage=coverage,
        notes={"intervals": "calibrated & honest"},
    )
    page = parse_page(path)
    assert page.sections == [key for key, _ in REPORT_SECTIONS]
    assert len(page.images) == 2
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert all(link.startswith("#") for link in page.links)  # no network needed
    text = path.read_text()
    assert "Test &lt;report&gt;" in text and "calibrated &amp; honest" in text
    assert "Genres" in text and "0.8100" not in text and "0.810" in text
    assert "Not available for this run" in text  # curves were not given


def test_column_roles_prefers_the_fitted_roles(fitted_model):
    roles = column_roles(fitted_model)
    assert roles["poster"] == ["poster"]
    assert roles["numeric"] == ["Episodes", "Duration", "Year"]
    assert roles["ignored"] == [
        "anime_id (an identifier)",
        "Score (the target (the score itself))",
    ]

    class WithRoles:
        column_roles_ = {"Episodes": "numeric"}

    assert column_roles(WithRoles()) == {"Episodes": "numeric"}


def test_data_summary_counts_missing_values(anime):
    table = data_summary(anime).set_index("column")
    assert table.loc["poster", "non-missing"] == anime["poster"].notna().sum()
    assert table.loc["Score", "missing %"] == 0.0


def test_plot_history_names_the_loss_of_the_model_it_is_given(
    fitted_model, tmp_path, monkeypatch
):
    """Given the model, the loss plot names its criterion (Huber by default);
    given a bare history, just "Loss" (it cannot know); an explicit name wins."""
    import skanime.report

    titles = []
    save = skanime.report._save_figure

    def recording(fig, path):
        titles.append(fig.axes[0].get_title())
        return save(fig, path)

    monkeypatch.setattr(skanime.report, "_save_figure", recording)
    path = tmp_path / "curves.png"
    assert plot_history(fitted_model, path) == path and path.stat().st_size > 0
    plot_history(fitted_model.history_, path)
    plot_history(fitted_model.history_, path, loss="MSE")
    huber = loss_label(fitted_model)
    assert huber.startswith("Huber")
    assert titles == [
        f"Training and validation Loss ({huber})",
        "Training and validation Loss",
        "Training and validation Loss (MSE)",
    ]


def test_plot_history_of_a_calibrated_model_names_its_point_models_loss(
    anime, tmp_path, monkeypatch
):
    import skanime.report
    from skanime.intervals import ConformalRegressor

    from .conftest import fast_model

    titles = []
    save = skanime.report._save_figure
    monkeypatch.setattr(
        skanime.report,
        "_save_figure",
        lambda fig, path: titles.append(fig.axes[0].get_title()) or save(fig, path),
    )
    model = ConformalRegressor(
        fast_model(loss="squared_error"), calibration_size=0.2, random_state=0
    ).fit(anime, anime["Score"])
    plot_history(model, tmp_path / "curves.png")
    assert titles == ["Training and validation Loss (MSE)"]


def test_plotting_keeps_the_callers_backend_and_open_figures(tmp_path):
    """The saved plots are drawn outside pyplot, and the one plot returned to
    the caller uses the caller's backend: a notebook's inline backend used to be
    switched to Agg by the first plot, after which no figure showed."""
    code = f"""
import matplotlib
matplotlib.use("svg")  # stands for a notebook's inline backend
import matplotlib.pyplot as plt
import numpy as np, pandas as pd
from skanime.inspection import plot_column_importance
from skanime.report import plot_importance, plot_predictions
table = pd.DataFrame({{"importance_mean": [0.2, 0.1], "importance_std": [0.0, 0.0]}},
                     index=["Genres", "poster"])
plot_predictions(np.arange(9.0), np.arange(9.0), {str(tmp_path / "p.png")!r})
plot_importance(table, {str(tmp_path / "i.png")!r})
print(matplotlib.get_backend(), plt.get_fignums())
plot_column_importance(table)
print(matplotlib.get_backend(), plt.get_fignums())
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:2] == ["svg []", "svg [1]"], done.stdout
    assert (tmp_path / "p.png").stat().st_size and (tmp_path / "i.png").stat().st_size
