"""Column importance by permutation, each column's effect on a row's prediction,
"what if no poster", and the plots."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from skanime.exceptions import ColumnError, NotFittedError
from skanime.inspection import (
    column_effects,
    column_importance,
    model_columns,
    plot_column_effects,
    plot_column_importance,
    poster_effect,
)

from .conftest import fast_model


def test_model_columns_are_the_ones_the_model_reads(fitted_model):
    # every column of make_anime's frame with a role ("auto"), Title included:
    # not anime_id (an identifier) nor Score (the target)
    assert set(model_columns(fitted_model)) == {
        "Title",
        "Episodes",
        "Duration",
        "Year",
        "Season",
        "Type",
        "Source",
        "Rating",
        "Genres",
        "Themes",
        "Studios",
        "Producers",
        "poster",
    }


def test_importance_finds_the_informative_column():
    """Any regressor fitted on a DataFrame: the column y depends on matters most,
    a column the model ignores gets exactly zero."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=300),
            "noise": rng.normal(size=300),
            "unused": rng.normal(size=300),
        }
    )
    y = 3 * X["signal"] + 0.1 * rng.normal(size=300)
    model = make_pipeline(
        make_column_transformer(("passthrough", ["signal", "noise"])),
        LinearRegression(),
    ).fit(X, y)
    table = column_importance(model, X, y, n_repeats=3, random_state=0)
    assert list(table.index) == ["signal", "noise", "unused"]
    assert table.loc["signal", "importance_mean"] > 1.0
    assert table.loc["unused", "importance_mean"] == 0.0
    assert table.loc["unused", "importance_std"] == 0.0
    assert table.attrs["baseline_mae"] == pytest.approx(
        np.mean(np.abs(y - model.predict(X)))
    )


def test_each_column_is_permuted_as_a_whole(fitted_model, anime):
    """The poster paths move as one unit between rows: the frames the model
    predicts on hold the same multiset of paths, on other rows."""
    seen = []

    class Spy:
        def fit(self, X, y):  # pragma: no cover - never called
            return self

        def predict(self, X):
            seen.append(X.copy())
            return fitted_model.predict(X)

        # what model_columns reads
        pipeline_ = fitted_model.pipeline_

    table = column_importance(
        Spy(), anime, anime["Score"], columns=["poster"], n_repeats=2, random_state=0
    )
    assert list(table.index) == ["poster"]
    original = anime["poster"].fillna("-").tolist()
    permuted = [
        frame for frame in seen if frame["poster"].fillna("-").tolist() != original
    ]
    assert len(permuted) == 2
    for frame in permuted:
        assert sorted(frame["poster"].fillna("-")) == sorted(original)
        pd.testing.assert_frame_equal(
            frame.drop(columns="poster"),
            anime.reset_index(drop=True).drop(columns="poster"),
        )


def test_importance_errors_name_the_column(fitted_model, anime):
    with pytest.raises(ColumnError, match="'Nope'"):
        column_importance(fitted_model, anime, anime["Score"], columns=["Nope"])
    with pytest.raises(TypeError, match="X must be a DataFrame"):
        column_importance(fitted_model, anime.to_numpy(), anime["Score"])
    with pytest.raises(ColumnError, match="feature_names_in_"):
        model_columns(LinearRegression().fit(np.zeros((3, 1)), np.zeros(3)))


def test_poster_effect_is_zero_free_only_where_there_is_a_poster(fitted_model, anime):
    effect = poster_effect(fitted_model, anime)
    has_poster = anime["poster"].notna()
    assert effect.index.equals(anime.index)
    assert effect[~has_poster].isna().all() and effect[has_poster].notna().all()
    without = anime.assign(poster=None)
    expected = fitted_model.predict(anime) - fitted_model.predict(without)
    np.testing.assert_allclose(effect[has_poster], expected[has_poster.to_numpy()])
    with pytest.raises(ColumnError, match="X lacks the poster column 'poster'"):
        poster_effect(fitted_model, anime.drop(columns="poster"))


def test_polars_frames_and_records_are_read_as_predict_reads_them(fitted_model, anime):
    pl = pytest.importorskip("polars")
    rows = anime.head(12).reset_index(drop=True)
    expected = column_importance(fitted_model, rows, rows["Score"], random_state=0)
    effect = poster_effect(fitted_model, rows)
    for other in (pl.from_pandas(rows), rows.to_dict("records")):
        got = column_importance(fitted_model, other, rows["Score"], random_state=0)
        pd.testing.assert_frame_equal(got, expected)
        pd.testing.assert_series_equal(poster_effect(fitted_model, other), effect)


def test_a_bad_target_is_named_as_fit_names_it(fitted_model, anime):
    """It used to fail inside scikit-learn ("Input contains NaN")."""
    from skanime.exceptions import DataError, TargetError

    y = anime["Score"]
    cases = [
        (y.where(y > 7), TargetError, "NaN or infinite.*dropna=True"),
        (y.astype(str).str.replace("7", "x"), TargetError, "must be numeric"),
        (y[:10], DataError, f"X has {len(anime)} rows but y has 10"),
    ]
    for target, error, message in cases:
        with pytest.raises(error, match=message):
            column_importance(fitted_model, anime, target, n_repeats=1)


def test_an_unfitted_or_posterless_model_is_named_for_what_it_is(anime):
    for call in (
        lambda model: column_importance(model, anime, anime["Score"]),
        lambda model: poster_effect(model, anime),
    ):
        with pytest.raises(NotFittedError, match="HybridAnimeRegressor is not fitted"):
            call(fast_model())
    tabular = fast_model(poster_column=None).fit(anime, anime["Score"])
    with pytest.raises(ColumnError, match="reads no poster"):
        poster_effect(tabular, anime)


def test_plot_has_a_bar_per_column():
    table = pd.DataFrame(
        {"importance_mean": [0.3, 0.1], "importance_std": [0.01, 0.02]},
        index=["Genres", "poster"],
    )
    ax = plot_column_importance(table)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["poster", "Genres"]  # largest on top
    assert len(ax.patches) == 2


def test_plot_refuses_what_column_importance_does_not_return():
    """A Series, a table without the importance columns or a bad ``top`` is
    named, before anything is drawn (no figure is left open)."""
    import matplotlib.pyplot as plt

    table = pd.DataFrame(
        {"importance_mean": [0.3, 0.1], "importance_std": [0.01, 0.02]},
        index=["Genres", "poster"],
    )
    open_before = plt.get_fignums()
    with pytest.raises(TypeError, match="takes the DataFrame that column_importance"):
        plot_column_importance(table["importance_mean"])
    with pytest.raises(ColumnError, match=r"lacks \['importance_std'\]"):
        plot_column_importance(table.drop(columns="importance_std"))
    for top in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="top must be a whole number"):
            plot_column_importance(table, top=top)
    assert plt.get_fignums() == open_before


def test_column_effects_of_a_linear_model_are_its_weights_times_the_distance():
    """For f(x) = w.x + c, a column's effect on a row is w_c times the row's
    distance from the background's mean value; a column the model ignores has
    none."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=60),
            "noise": rng.normal(size=60),
            "unused": rng.normal(size=60),
        }
    )
    y = 3 * X["signal"] - 0.5 * X["noise"] + 0.1 * rng.normal(size=60)
    model = make_pipeline(
        make_column_transformer(("passthrough", ["signal", "noise"])),
        LinearRegression(),
    ).fit(X, y)
    rows = X.head(4).set_axis(["a", "b", "c", "d"])
    effects = column_effects(model, rows, X, n_background=60)
    weights = model[-1].coef_
    for weight, column in zip(weights, ["signal", "noise"], strict=True):
        expected = weight * (rows[column] - X[column].mean())
        np.testing.assert_allclose(effects[column], expected, atol=1e-12)
    np.testing.assert_allclose(effects["unused"], 0.0, atol=1e-12)
    assert list(effects.columns) == ["signal", "noise", "unused"]  # by mean |effect|
    assert list(effects.index) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(effects.attrs["predicted"], model.predict(rows))
    assert effects.attrs["background_mean"] == pytest.approx(model.predict(X).mean())
    drawn = column_effects(model, rows, X, n_background=10, random_state=0)
    again = column_effects(model, rows, X, n_background=10, random_state=0)
    pd.testing.assert_frame_equal(drawn, again)  # the same rows drawn
    assert not np.allclose(drawn["signal"], effects["signal"])  # but fewer


def test_column_effects_of_the_hybrid_measure_each_column_against_the_background(
    fitted_model, anime
):
    """A row against itself has no effect anywhere; against anime without a
    poster, its poster's effect is poster_effect's."""
    rows = anime.head(3).set_axis([10, 20, 30])
    effects = column_effects(fitted_model, rows, anime, n_background=8, random_state=0)
    assert set(effects.columns) == set(model_columns(fitted_model))
    assert list(effects.index) == [10, 20, 30] and effects.notna().all().all()
    itself = column_effects(fitted_model, rows.head(1), rows.head(1))
    np.testing.assert_allclose(itself.to_numpy(), 0.0, atol=1e-5)
    posterless = anime.assign(poster=None)
    against = column_effects(fitted_model, rows, posterless, columns=["poster"])
    with_poster = rows["poster"].notna()
    np.testing.assert_allclose(
        against["poster"][with_poster],
        poster_effect(fitted_model, rows)[with_poster],
        atol=1e-5,
    )


class _CountingRegression(LinearRegression):
    """A linear regression that records how many rows each predict got."""

    def predict(self, X):
        self.sizes_.append(len(X))
        return super().predict(X)


def test_column_effects_predict_a_chunk_at_a_time_with_progress(monkeypatch, capsys):
    """Memory is bounded by a chunk of rows, not by len(X) * n_background
    (3,000 anime against 50 took 1.2 GB in one pass, 16 minutes without a
    word), the effects are those of one pass, and verbose shows a bar."""
    import skanime.inspection

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    model = _CountingRegression().fit(X, 2 * X["a"] - X["b"])
    model.sizes_ = []
    whole = column_effects(model, X, X, n_background=10, random_state=0)
    assert max(model.sizes_) == 400  # every row against every background row
    monkeypatch.setattr(skanime.inspection, "_CHUNK_ROWS", 64)
    model.sizes_.clear()
    chunked = column_effects(model, X, X, n_background=10, random_state=0)
    assert max(model.sizes_) == 60  # 6 anime a chunk, each against 10 rows
    pd.testing.assert_frame_equal(chunked, whole, check_exact=False, atol=1e-12)
    assert capsys.readouterr().err == ""
    column_effects(model, X, X, n_background=10, random_state=0, verbose=1)
    bar = capsys.readouterr().err
    assert "column effects" in bar and "800/800" in bar  # 40 x 10 x 2 columns


def _tag_count(frame):
    return frame[["tags"]].map(len).to_numpy()


def test_column_effects_predict_a_shared_background_value_once(monkeypatch):
    """Background rows that share a column's value are one prediction a row of
    X, counted as often (50 real anime hold 6 types); list cells, which cannot
    be compared, are each predicted. The effects are those of every row."""
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        {
            "kind": rng.choice(["TV", "Movie", "OVA"], size=30),
            "year": rng.integers(1990, 2020, size=30).astype(float),
            "tags": [["a"] * int(k) for k in rng.integers(0, 4, size=30)],
        }
    )
    X.loc[[3, 7], "kind"] = None
    y = rng.normal(size=30) + X["year"] / 10
    model = _CountingRegression()
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["kind"]),
            ("passthrough", ["year"]),
            (FunctionTransformer(_tag_count), ["tags"]),
        ),
        model,
    ).fit(X, y)
    counting = model[-1]
    counting.sizes_ = []
    rows, background = X.head(5), X.iloc[5:17]  # 12 rows
    effects = column_effects(model, rows, background, n_background=12)
    for column in ["kind", "year", "tags"]:  # every background row, one by one
        taken = []
        for i in range(len(background)):
            swapped = rows.copy()
            swapped[column] = background[column].iloc[[i] * len(rows)].to_numpy()
            taken.append(model.predict(swapped))
        expected = model.predict(rows) - np.mean(taken, axis=0)
        np.testing.assert_allclose(effects[column], expected, atol=1e-12)
    kinds = background["kind"].nunique(dropna=False)
    years = background["year"].nunique()
    assert kinds < 12 and years < 12  # shared values, so fewer predictions
    assert sorted(counting.sizes_[1:4]) == sorted([5 * kinds, 5 * years, 5 * 12])


def test_column_effects_refuse_what_they_cannot_measure(fitted_model, anime):
    with pytest.raises(ColumnError, match=r"\['Nope'\] are not in X"):
        column_effects(fitted_model, anime, anime, columns=["Nope"])
    for columns in (["Studios"], None):  # None: every column the model reads
        with pytest.raises(ColumnError, match=r"\['Studios'\] are not in backgro"):
            column_effects(
                fitted_model, anime, anime.drop(columns="Studios"), columns=columns
            )
    for n in (0, 2.5, True):
        with pytest.raises(ValueError, match="n_background must be a whole number"):
            column_effects(fitted_model, anime, anime, n_background=n)
    with pytest.raises(ValueError, match="background has no rows"):
        column_effects(fitted_model, anime, anime.head(0))
    with pytest.raises(NotFittedError, match="HybridAnimeRegressor is not fitted"):
        column_effects(fast_model(), anime, anime)


def test_effects_plot_draws_one_row_largest_on_top_and_names_a_bad_row():
    import matplotlib.pyplot as plt

    effects = pd.DataFrame(
        {"Studios": [0.4, 0.0], "Type": [-0.6, 0.1], "Year": [0.05, 0.2]},
        index=["Bebop", "Other"],
    )
    effects.attrs["predicted"] = pd.Series([8.1, 6.0], index=effects.index)
    effects.attrs["background_mean"] = 6.5
    ax = plot_column_effects(effects, "Bebop", top=2)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Studios", "Type"]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == [0.4, -0.6]
    assert ax.get_title() == "Bebop: predicted 8.10 (typical anime 6.50)"
    plt.close(ax.figure)
    open_before = plt.get_fignums()
    with pytest.raises(ValueError, match="effects has 2 rows: name the one"):
        plot_column_effects(effects)
    with pytest.raises(KeyError, match="No row 'Nope'"):
        plot_column_effects(effects, "Nope")
    with pytest.raises(ValueError, match="top must be a whole number"):
        plot_column_effects(effects, "Bebop", top=0)
    with pytest.raises(ValueError, match="'Bebop' is in effects more than once"):
        plot_column_effects(effects.set_axis(["Bebop", "Bebop"]), "Bebop")
    assert plt.get_fignums() == open_before


def test_scikit_learns_partial_dependence_reads_the_model_as_any_regressor(
    fitted_model, anime
):
    """partial_dependence sets one column of the frame to each grid value and
    averages the model's predictions: for a number, a category and a list
    column, each point is the model's own mean prediction of those rows, and
    PartialDependenceDisplay draws one panel a column."""
    import matplotlib

    matplotlib.use("Agg")
    from sklearn.inspection import PartialDependenceDisplay, partial_dependence

    X = anime.drop(columns="Score")
    for column, kind in [("Episodes", None), ("Type", "cat"), ("Genres", "cat")]:
        categorical = [column] if kind else None
        result = partial_dependence(
            fitted_model, X, [column], categorical_features=categorical
        )
        grid, average = result["grid_values"][0], result["average"][0]
        assert len(grid) >= 3 and np.ptp(average) > 0  # the column moves it
        for value, mean in zip(grid, average, strict=True):
            rows = X.assign(**{column: value})
            assert mean == pytest.approx(fitted_model.predict(rows).mean(), abs=1e-4)
    display = PartialDependenceDisplay.from_estimator(
        fitted_model, X, ["Year", "Type"], categorical_features=["Type"]
    )
    assert display.axes_.size == 2 and len(display.pd_results) == 2
    matplotlib.pyplot.close(display.figure_)
