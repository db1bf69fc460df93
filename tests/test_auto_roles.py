"""HybridAnimeRegressor's "auto" column roles on every table a user may have."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skanime.datasets import load_mal, make_anime
from skanime.exceptions import ColumnError
from skanime.io import get_untrusted_types, load, save

from .conftest import fast_model

PAPER = ["Title", "Type", "Source", "Episodes", "Genres", "Studios", "poster"]


def _as_text(values, template="{:d}", missing="Unknown"):
    """Numbers as scraped text: a placeholder where missing."""
    return [missing if pd.isna(v) else template.format(int(v)) for v in values]


@pytest.fixture(scope="module")
def raw_csv(tmp_path_factory):
    """make_anime's table written as MyAnimeList's raw anime.csv: text numbers
    with thousands separators and placeholders, air dates, durations as text,
    post-release columns, poster paths relative to the CSV's folder."""
    folder = tmp_path_factory.mktemp("raw")
    frame = make_anime(48, random_state=3, poster_dir=folder / "posters", image_size=16)
    months = {"Winter": "Jan", "Spring": "Apr", "Summer": "Jul", "Fall": "Oct"}
    raw = pd.DataFrame(
        {
            "anime_id": frame["anime_id"],
            "Title": frame["Title"],
            "Type": frame["Type"],
            "Japanese": "x",
            "Aired": [
                "Not available" if pd.isna(y) else f"{months[s]} 3, {int(y)} to ?"
                for s, y in zip(frame.Season, frame.Year, strict=True)
            ],
            "Episodes": _as_text(frame["Episodes"]),
            "Duration": _as_text(frame["Duration"], "{} min. per ep."),
            "Score": frame["Score"],
            "Source": frame["Source"],
            "Genres": frame["Genres"],
            "Themes": frame["Themes"],
            "Licensors": "Funimation",
            "Producers": frame["Producers"],
            "Rating": frame["Rating"],
            "Status": "Finished Airing",
            "Studios": frame["Studios"],
            "Members": [f"{1000 + 37 * i:,}" for i in range(len(frame))],
            "poster": [
                None if pd.isna(p) else f"posters/{p.rsplit('/', 1)[-1]}"
                for p in frame["poster"]
            ],
        }
    )
    raw.loc[:3, "Episodes"] = "Unknown"
    path = folder / "anime.csv"
    raw.to_csv(path, index=False)
    return path


def test_paper_columns_only(anime):
    frame = anime[PAPER]
    model = fast_model().fit(frame, anime["Score"])
    roles = model.column_roles_
    assert roles["numeric"] == ["Episodes"]
    assert roles["categorical"] == ["Type", "Source"]
    assert roles["list"] == ["Genres", "Studios"]
    assert roles["text"] == ["Title"] == model.text_columns_
    assert roles["poster"] == ["poster"] and model.backbone_ == "simple_cnn"
    assert model.predict(frame).shape == (len(frame),)


def test_raw_mal_csv_read_with_pandas(raw_csv):
    raw = pd.read_csv(raw_csv)
    # poster_errors="raise": a relative path not found under poster_root fails
    model = fast_model(poster_root=raw_csv.parent, poster_errors="raise")
    model.fit(raw, raw["Score"])
    roles = model.column_roles_
    assert roles["numeric"] == ["Episodes"]
    assert roles["date"] == ["Aired"] and roles["duration"] == ["Duration"]
    assert set(roles.ignored) == {"anime_id", "Score", "Licensors", "Status", "Members"}
    assert roles.ignored["Members"].startswith("known only after release")
    # the cleaner's outputs feed the encoders: Aired -> Year (numeric), Season
    assert model.numeric_columns_ == ["Episodes", "Duration", "Year"]
    assert "Season" in model.categorical_columns_
    encoded = model.pipeline_[:-2].transform(raw)
    assert encoded["numeric__Year"].std() > 0
    assert np.isfinite(model.predict(raw)).all()


def test_date_and_duration_columns_are_kept_beside_a_numeric_list(raw_csv):
    """A numeric list turns the "auto" date and duration roles off, and no
    parameter could turn them back on: naming the raw CSV's numeric columns
    lost its Aired and Duration. date_columns and duration_columns name them;
    a model saved before the two parameters existed reads them as "auto"."""
    raw = pd.read_csv(raw_csv)
    named = {"numeric_columns": ["Episodes", "Members"], "poster_column": None}
    alone = fast_model(**named).fit(raw, raw["Score"])
    assert alone.column_roles_["date"] == alone.column_roles_["duration"] == []
    model = fast_model(**named, date_columns=["Aired"], duration_columns=["Duration"])
    model.fit(raw, raw["Score"])
    roles = model.column_roles_
    assert roles["date"] == ["Aired"] and roles["duration"] == ["Duration"]
    assert model.numeric_columns_ == ["Episodes", "Members", "Duration", "Year"]
    assert "Season" in model.categorical_columns_
    assert model.pipeline_[:-2].transform(raw)["numeric__Year"].std() > 0
    # "auto" stays "auto" where the numeric columns are not named
    auto = fast_model(date_columns=None, poster_column=None).fit(raw, raw["Score"])
    assert auto.column_roles_["date"] == [] and "Duration" in auto.numeric_columns_
    with pytest.raises(ColumnError, match="date_columns: 'Premiered'"):
        fast_model(date_columns=["Premiered"]).fit(raw, raw["Score"])
    state = model.__getstate__()
    del state["date_columns"], state["duration_columns"]
    old = type(model).__new__(type(model))
    old.__setstate__(state)
    assert old.get_params()["date_columns"] == "auto"
    np.testing.assert_allclose(old.predict(raw), model.predict(raw))


def test_load_mal_output_uses_the_prerelease_columns(raw_csv):
    frame = load_mal(raw_csv, dropna=True)
    model = fast_model().fit(frame, frame["Score"])
    roles = model.column_roles_
    assert roles["numeric"] == ["Episodes", "Duration", "Year"]
    assert roles["categorical"] == ["Type", "Source", "Rating", "Season"]
    assert roles["list"] == ["Genres", "Themes", "Studios", "Producers"]
    assert roles["poster"] == ["poster"]
    assert {"Members", "Licensors", "Status"} <= set(roles.ignored)


def test_kaggle_2023_column_names(anime):
    kaggle = pd.DataFrame(
        {
            "anime_id": anime["anime_id"],
            "Name": anime["Title"],
            "English name": anime["Title"].str.upper(),
            "Score": anime["Score"].astype(str),
            "Genres": anime["Genres"],
            "Type": anime["Type"],
            "Episodes": _as_text(anime["Episodes"], missing="UNKNOWN"),
            "Aired": _as_text(
                anime["Year"], "Apr 3, {0} to Jun 1, {0}", "Not available"
            ),
            "Premiered": _as_text(anime["Year"], "spring {}", "UNKNOWN"),
            "Status": "Finished Airing",
            "Studios": anime["Studios"],
            "Source": anime["Source"],
            "Duration": _as_text(anime["Duration"], "{} min per ep", "UNKNOWN"),
            "Rating": anime["Rating"],
            "Rank": [f"{i}.0" for i in range(len(anime))],
            "Popularity": np.arange(len(anime)),
            "Favorites": np.arange(len(anime)) * 3,
            "Scored By": "1,234",
            "Members": np.arange(len(anime)) * 10,
            "Image URL": anime["poster"],
        }
    )
    kaggle.loc[:2, "Episodes"] = "UNKNOWN"
    model = fast_model().fit(kaggle, anime["Score"])
    roles = model.column_roles_
    assert roles["text"] == ["Name", "English name"]
    assert roles["poster"] == ["Image URL"] == [model.poster_column_]
    assert roles["date"] == ["Aired", "Premiered"]
    leaks = {"Rank", "Popularity", "Favorites", "Scored By", "Members"}
    assert leaks | {"anime_id", "Score", "Status"} == set(roles.ignored)
    assert np.isfinite(model.predict(kaggle)).all()


def test_polars_frame(anime):
    pl = pytest.importorskip("polars")
    frame = pl.from_pandas(anime)
    model = fast_model().fit(frame, anime["Score"])
    assert model.column_roles_ == fast_model().fit(anime, anime["Score"]).column_roles_
    assert model.predict(frame).shape == (len(anime),)


def test_explicit_columns_win_and_a_leak_named_is_used(anime):
    frame = anime.assign(Members=np.arange(len(anime)) * 100.0)
    model = fast_model(numeric_columns=["Episodes", "Members"]).fit(
        frame, frame["Score"]
    )
    roles = model.column_roles_
    assert roles["numeric"] == ["Episodes", "Members"]
    assert roles.reasons["Members"] == "named explicitly"
    # a numeric list is complete: the others with a numeric role are left out
    assert {"Duration", "Year"} <= set(roles.ignored)
    with pytest.raises(ColumnError, match="'Members'"):
        fast_model(numeric_columns=["Members"]).fit(anime, anime["Score"])


def test_auto_is_stored_verbatim_and_clones_and_grid_searches(anime):
    model = fast_model(max_epochs=1)
    grid = GridSearchCV(model, {"list_columns": ["auto", ["Genres"]]}, cv=2)
    grid.fit(anime, anime["Score"])
    assert grid.best_estimator_.get_params()["numeric_columns"] == "auto"
    assert clone(grid.best_estimator_).get_params()["text_columns"] == "auto"
    fitted = grid.cv_results_["param_list_columns"]
    assert list(fitted) == ["auto", ["Genres"]]


def test_fitted_columns_are_required_at_predict_time(fitted_model, anime):
    with pytest.raises(ColumnError, match="'Year'"):
        fitted_model.predict(anime.drop(columns="Year"))


def test_verbose_fit_prints_the_roles(anime, capsys):
    fast_model(verbose=1, max_epochs=1).fit(anime, anime["Score"])
    out = capsys.readouterr().out
    assert "Column roles:" in out
    assert "anime_id   ignored      an identifier" in out


def test_verbose_fits_print_the_same_roles_once_inside_roles_shown_once(anime, capsys):
    from skanime._roles_shown import roles_shown_once

    model = fast_model(verbose=1, max_epochs=1)
    with roles_shown_once():
        model.fit(anime, anime["Score"])
        model.fit(anime, anime["Score"])  # the same roles: not printed again
        model.fit(anime.drop(columns="Themes"), anime["Score"])  # other roles
    out = capsys.readouterr().out
    assert out.count("Column roles:\n") == 2
    assert out.count("Column roles: as above.") == 1
    assert out.index("as above") < out.rindex("Column roles:\n")
    model.fit(anime, anime["Score"])  # outside the block: printed every time
    assert "Column roles:\n" in capsys.readouterr().out


def test_roles_survive_a_secure_round_trip(fitted_model, anime, tmp_path):
    path = tmp_path / "model.skanime"
    save(fitted_model, path)
    assert get_untrusted_types(path) == []
    loaded = load(path)
    assert loaded.column_roles_ == fitted_model.column_roles_
    assert loaded.text_columns_ == ["Title"]
    np.testing.assert_allclose(loaded.predict(anime), fitted_model.predict(anime))


def test_relative_posters_not_found_warn_naming_poster_root(raw_csv, monkeypatch):
    from skanime.exceptions import DataWarning

    monkeypatch.chdir(raw_csv.parent.parent)  # not the CSV's folder
    raw = pd.read_csv(raw_csv)
    with pytest.warns(DataWarning, match=r"poster_root=None\).*set poster_root="):
        fast_model(max_epochs=1).fit(raw, raw["Score"])
