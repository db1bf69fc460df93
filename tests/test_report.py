"""Metrics, the table, atomic writes, and the HTML report."""

import base64
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.axes
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_percentage_error, r2_score

from skanime import HybridAnimeRegressor
from skanime.exceptions import NotFittedError
from skanime.report import (
    REPORT_SECTIONS,
    atomic_path,
    column_roles,
    data_summary,
    format_table,
    kept_epoch,
    loss_label,
    plot_history,
    plot_importance,
    plot_intervals,
    plot_largest_errors,
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


_Y, _PRED = [6.0, 7.5, 8.0], [6.5, 7.0, 8.2]


@pytest.mark.parametrize(
    "function",
    [
        regression_metrics,
        lambda y, p: plot_predictions(y, p, "never.png"),
        lambda y, p: plot_intervals(y, p, np.c_[p, p], "never.png"),
        lambda y, p: plot_residuals(pd.DataFrame({"Type": y}), y, p, "never.png"),
    ],
    ids=["regression_metrics", "plot_predictions", "plot_intervals", "residuals"],
)
@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([], [], "y_true and y_pred have no rows"),
        (_Y, _PRED[:2], r"the rows differ in number \(y_true 3, y_pred 2\)"),
        (_Y, [6.5, np.nan, np.inf], "y_pred holds 2 missing or infinite value"),
        (["a", "b", "c"], _PRED, "y_true must hold numbers"),
        (_Y, np.ones((3, 2)), r"y_pred must hold one score a row; got shape \(3, 2\)"),
    ],
    ids=["empty", "lengths", "nan", "text", "two-columns"],
)
def test_score_arrays_are_checked_naming_the_function_and_argument(
    function, y_true, y_pred, message, tmp_path, monkeypatch
):
    """Before, these failed inside numpy or matplotlib ("zero-size array to
    reduction operation", "x and y must be the same size", an IndexError), or
    drew an empty figure; nothing is written now."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        function(y_true, y_pred)
    assert list(tmp_path.iterdir()) == []


def test_a_one_column_prediction_counts_as_one_score_a_row():
    flat = regression_metrics(_Y, _PRED)
    assert regression_metrics(_Y, np.asarray(_PRED)[:, None]) == flat


def test_plot_intervals_checks_its_intervals_and_level(tmp_path):
    y, pred = np.asarray(_Y), np.asarray(_PRED)
    pairs = np.c_[pred - 0.5, pred + 0.5]
    with pytest.raises(ValueError, match=r"shape \(3, 2\); got shape \(2, 2\)"):
        plot_intervals(y, pred, pairs[:2], tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"shape \(3, 2\); got shape \(3,\)"):
        plot_intervals(y, pred, pred, tmp_path / "a.png")
    with pytest.raises(ValueError, match="level is a probability such as 0.8; got 80"):
        plot_intervals(y, pred, pairs, tmp_path / "a.png", level=80)
    assert list(tmp_path.iterdir()) == []
    # MAPIE's shape for one level, (n, 2, 1), is read as (n, 2)
    assert plot_intervals(y, pred, pairs[:, :, None], tmp_path / "b.png").exists()


def test_plot_residuals_checks_x_and_takes_one_column_name(tmp_path, monkeypatch):
    X = pd.DataFrame({"Type": ["TV", "TV", "TV", "Movie"], "Year": [1, 2, 3, 4]})
    y, pred = np.array([6.0, 7.0, 8.0, 5.0]), np.array([6.5, 7.0, 7.5, 5.0])
    with pytest.raises(TypeError, match="takes X as a DataFrame; got ndarray"):
        plot_residuals(X.to_numpy(), y, pred, tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"\(X 4, y_true and y_pred 3\)"):
        plot_residuals(X, y[:3], pred[:3], tmp_path / "a.png")
    drawn = []
    original = matplotlib.axes.Axes.set

    def record(self, **kwargs):
        drawn.append(kwargs.get("title"))
        return original(self, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "set", record)
    plot_residuals(X, y, pred, tmp_path / "b.png", by="Type")
    # one column, not one figure per letter of "Type"
    assert drawn == ["Residuals by Type"]


def test_the_report_groups_residuals_by_a_tables_own_categories(fitted_model, anime):
    """A table without Type and Year (skanime train --columns auto on one of
    its own) got an empty residuals plot; it is grouped by the first two
    categorical columns the model reads instead."""
    from skanime._experiment import _residual_groups

    assert _residual_groups(fitted_model, anime) == ("Type", "Year")
    own = [c for c in fitted_model.column_roles_["categorical"] if c != "Type"]
    X = anime.drop(columns=["Type", "Year"])
    assert len(own) >= 2 and _residual_groups(fitted_model, X) == tuple(own[:2])
    X = anime.drop(columns=["Year", *fitted_model.column_roles_["categorical"]])
    assert _residual_groups(fitted_model, X) == ("Type", "Year")  # none: it says so


def test_format_table_names_a_missing_metric():
    with pytest.raises(KeyError, match=r"the row 'm' lacks \['mape', 'r2'\]"):
        format_table({"m": {"mse": 1.0, "mae": 1.0}})


def test_plot_history_and_data_summary_refuse_what_they_cannot_read(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        plot_history(HybridAnimeRegressor(), tmp_path / "a.png")
    with pytest.raises(ValueError, match="the history has no epochs"):
        plot_history([], tmp_path / "a.png")
    with pytest.raises(TypeError, match="takes a DataFrame; got ndarray"):
        data_summary(np.zeros((2, 2)))
    assert list(tmp_path.iterdir()) == []


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


def test_column_roles_prefers_the_fitted_roles(fitted_model, tmp_path):
    roles = column_roles(fitted_model)
    assert roles["poster"] == ["poster"]
    assert roles["numeric"] == ["Episodes", "Duration", "Year"]
    # "column: reason", not "Score (the target (the score itself))"
    assert roles["ignored"] == [
        "anime_id: an identifier",
        "Score: the target (the score itself)",
    ]
    page = write_html_report(tmp_path / "r.html", title="t", roles=roles)
    text = page.read_text(encoding="utf-8")
    assert "<td>anime_id: an identifier<br>Score: the target" in text  # a line each
    assert "<td>Episodes, Duration, Year</td>" in text

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


def _kept_lines(fig) -> list[list[tuple[float, str]]]:
    """Each plot's vertical lines: (epoch, legend label)."""
    return [
        [
            (line.get_xdata()[0], line.get_label())
            for line in ax.get_lines()
            if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2
        ]
        for ax in fig.axes
    ]


def test_plot_history_marks_the_epoch_early_stopping_kept(anime, tmp_path, monkeypatch):
    """A later epoch with a lower loss by less than early stopping's threshold
    is not the one kept: the line marks the restored epoch, in every plot, and
    only where the weights were restored."""
    import skanime.report

    from .conftest import fast_model

    drawn = []
    save = skanime.report._save_figure
    monkeypatch.setattr(
        skanime.report,
        "_save_figure",
        lambda fig, path: drawn.append(_kept_lines(fig)) or save(fig, path),
    )
    params = {"poster_column": None, "max_epochs": 3, "patience": 3}
    model = fast_model(**params, callbacks__early_stopping__threshold=0.5).fit(
        anime, anime["Score"]
    )  # only the first epoch beats inf by half
    assert kept_epoch(model) == 1
    plot_history(model, tmp_path / "curves.png")
    assert drawn.pop() == [[(1, "kept (epoch 1)")]] * 3
    plot_history(model.history_, tmp_path / "curves.png")  # a bare history
    assert drawn.pop() == [[]] * 3
    for unrestored in (
        fast_model(**params, early_stopping=False),
        fast_model(**params, callbacks__early_stopping__load_best=False),
    ):
        unrestored.fit(anime, anime["Score"])
        assert kept_epoch(unrestored) is None
        plot_history(unrestored, tmp_path / "curves.png")
        assert drawn.pop() == [[]] * 3


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


def test_the_report_explains_the_rows_the_model_missed_most(
    fitted_model, anime, tmp_path, monkeypatch
):
    """The largest errors' panel takes the rows with the largest absolute
    errors, worst first, with their titles and scores; a frame whose index
    labels repeat (pd.concat's) is drawn too."""
    import skanime.report
    from skanime._experiment import N_MISSES, _plot_misses

    drawn = {}

    def recording(effects, y_true, path, *, names=None, top=8):
        predicted = list(effects.attrs["predicted"])
        drawn.update(predicted=predicted, y=list(y_true), names=names)
        return plot_largest_errors(effects, y_true, path, names=names, top=top)

    monkeypatch.setattr(skanime.report, "plot_largest_errors", recording)
    for labels in (range(100, 100 + len(anime)), [7] * len(anime)):
        rows = anime.set_axis(labels)
        y = rows["Score"].to_numpy()
        y_pred = y.copy()
        y_pred[[5, 17, 30]] += [3.0, -2.0, -4.0]  # rows 30, 5 and 17, in that order
        path = _plot_misses(fitted_model, rows, y, y_pred, tmp_path / "misses.png", 0)
        assert N_MISSES == 3 and drawn["y"] == list(y[[30, 5, 17]])
        assert drawn["names"] == rows["Title"].iloc[[30, 5, 17]].tolist()
        expected = fitted_model.predict(rows.iloc[[30, 5, 17]])
        np.testing.assert_allclose(drawn["predicted"], expected, rtol=1e-6)
        assert path.read_bytes()[:4] == b"\x89PNG"


def test_plot_largest_errors_draws_a_panel_a_row_and_checks_its_scores(tmp_path):
    effects = pd.DataFrame({"Studios": [0.4, -0.2], "Type": [-0.1, 0.3]})
    effects.attrs["predicted"] = pd.Series([7.9, 6.0])
    with pytest.raises(ValueError, match="effects has 2 rows but y_true has 3"):
        plot_largest_errors(effects, [6.1, 8.2, 7.0], tmp_path / "e.png")
    assert not (tmp_path / "e.png").exists()
    captured = {}
    import matplotlib.figure

    save = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        captured["titles"] = [ax.get_title() for ax in fig.axes]
        return save(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "savefig", keep)
        plot_largest_errors(effects, [6.1, 8.2], tmp_path / "e.png", names=["A", "B"])
    assert captured["titles"] == [
        "A\npredicted 7.90, scored 6.10",
        "B\npredicted 6.00, scored 8.20",
    ]


def test_plot_importance_shows_the_top_columns_in_a_figure_sized_to_them(tmp_path):
    """``top`` reaches the bars, the PNG's height follows their number, and a
    bad ``top`` is refused before any file is written."""
    from PIL import Image

    table = pd.DataFrame(
        {"importance_mean": np.linspace(0.3, 0.01, 30), "importance_std": 0.01},
        index=[f"column {i}" for i in range(30)],
    )
    heights = {}
    for top in (3, 20, 40):
        path = plot_importance(table, tmp_path / f"top{top}.png", top=top)
        with Image.open(path) as image:
            heights[top] = image.height
    assert heights[3] < heights[20] < heights[40]
    # 30 columns: top=40 shows the 30 there are, 10 bars (0.35 inch) more than 20
    assert heights[40] - heights[20] == pytest.approx(10 * 0.35 * 100, abs=3)
    with pytest.raises(ValueError, match="top must be a whole number"):
        plot_importance(table, tmp_path / "bad.png", top=0)
    assert not (tmp_path / "bad.png").exists()
