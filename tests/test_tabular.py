"""The tabular encoder: numeric, categorical and list columns."""

import numpy as np
import pandas as pd
import pytest

from skanime import MultiLabelEncoder, NumericEncoder, make_tabular_encoder
from skanime.exceptions import DataWarning


def test_multilabel_encoder_splits_trims_and_drops_placeholders():
    X = pd.DataFrame(
        {
            "Genres": [
                "Action, Drama",
                " drama ,Action",
                "add some",
                None,
                "Comedy;Action",
                "Drama|Comedy",
            ]
        }
    )
    enc = MultiLabelEncoder().fit(X)
    # "drama" differs in case from "Drama": labels are case-sensitive on purpose
    assert enc.categories_ == [["Action", "Comedy", "Drama", "drama"]]
    out = enc.transform(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(
        out,
        [
            [1, 0, 1, 0],
            [1, 0, 0, 1],
            [0, 0, 0, 0],
            [0, 0, 0, 0],
            [1, 1, 0, 0],
            [0, 1, 1, 0],
        ],
    )
    assert list(enc.get_feature_names_out()) == [
        "Genres_Action",
        "Genres_Comedy",
        "Genres_Drama",
        "Genres_drama",
    ]


def test_multilabel_encoder_min_frequency_and_unknown_labels():
    X = pd.DataFrame({"Studios": ["Bones", "Bones", "Madhouse", "Bones, Madhouse"]})
    enc = MultiLabelEncoder(min_frequency=3).fit(X)
    assert enc.categories_ == [["Bones"]]
    out = enc.transform(pd.DataFrame({"Studios": ["Shaft", "Bones, Shaft"]}))
    np.testing.assert_array_equal(out, [[0], [1]])


def test_multilabel_encoder_reads_cells_already_split_as_their_text():
    text = pd.DataFrame({"Genres": ["Action, Drama", "Drama", "add some", None]})
    split = pd.DataFrame(
        {"Genres": [("Action", " Drama "), np.array(["Drama"]), ["Unknown"], []]}
    )
    enc = MultiLabelEncoder().fit(split)
    assert enc.categories_ == [["Action", "Drama"]]
    np.testing.assert_array_equal(
        enc.transform(split), MultiLabelEncoder().fit(text).transform(text)
    )
    # a set, and an item that holds a separator, read as their text does
    more = enc.fit(pd.DataFrame({"Genres": [{"Drama", "Action"}, ["Boys/Girls"]]}))
    assert more.categories_ == [["Action", "Boys", "Drama", "Girls"]]


def test_numeric_encoder_unknown_text_becomes_missing_with_a_warning():
    X = pd.DataFrame({"Episodes": ["12", "12 eps", "24", None, "1", "Unknown", ""]})
    with pytest.warns(DataWarning, match=r"'Episodes': 1 value\(s\) are not numbers"):
        enc = NumericEncoder().fit(X)
    with pytest.warns(DataWarning, match="'12 eps'"):
        out = enc.transform(X)
    assert list(enc.get_feature_names_out()) == ["Episodes", "Episodes_missing"]
    np.testing.assert_array_equal(out[:, 1], [0, 1, 0, 1, 0, 1, 1])
    # the missing rows get the median of the known values (12)
    assert out[1, 0] == pytest.approx(out[0, 0])
    assert np.isfinite(out).all()


def test_numeric_encoder_log_scales_only_skewed_columns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"skewed": rng.lognormal(0, 2, 500), "normal": rng.normal(0, 1, 500)}
    )
    enc = NumericEncoder().fit(X)
    np.testing.assert_array_equal(enc.log_scaled_, [True, False])
    out = enc.transform(X)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-9)


def test_make_tabular_encoder_defaults_follow_anime_csv(anime):
    enc = make_tabular_encoder(poster_column=None, min_frequency=1)
    out = enc.fit_transform(anime)
    names = list(enc.get_feature_names_out())
    assert names == list(out.columns)
    assert "numeric__Episodes" in names
    assert any(n.startswith("categorical__Type_") for n in names)
    assert any(n.startswith("lists__Genres_") for n in names)
    assert any(n.startswith("lists__Themes_") for n in names)
    assert any(n.startswith("lists__Studios_") for n in names)
    assert np.isfinite(out.to_numpy(dtype=float)).all()


def test_make_tabular_encoder_ignores_unknown_categories(anime):
    enc = make_tabular_encoder(poster_column=None, min_frequency=1).fit(anime)
    new = anime.head(2).copy()
    new["Type"] = "Never seen"
    new["Genres"] = "Never seen either"
    out = enc.transform(new)
    type_cols = [c for c in out.columns if c.startswith("categorical__Type_")]
    assert (out[type_cols].to_numpy() == 0).all()


def test_make_tabular_encoder_poster_column_passes_paths(anime):
    enc = make_tabular_encoder(min_frequency=1).fit(anime)
    out = enc.transform(anime)
    assert enc.get_feature_names_out()[-1] == "poster__path"
    has = anime["poster"].notna().to_numpy()
    assert out["poster__path"].notna().to_numpy().tolist() == has.tolist()


@pytest.mark.parametrize("huge", [1e308, -1e308, 1e30])
def test_numeric_encoder_one_huge_value_does_not_blank_a_column(huge):
    rng = np.random.default_rng(0)
    members = rng.lognormal(8, 1.5, 50)
    X = pd.DataFrame({"Episodes": rng.integers(1, 30, 50), "Members": members})
    X.loc[7, "Members"] = huge
    enc = NumericEncoder().fit(X)
    out = enc.transform(X)
    assert np.isfinite(out).all() and np.isfinite(enc.scale_).all()
    others = np.delete(out[:, 1], 7)
    # the other rows keep their order and spread, as without the huge value
    clean = NumericEncoder().fit(X.drop(index=7)).transform(X.drop(index=7))
    np.testing.assert_array_equal(np.argsort(others), np.argsort(clean[:, 1]))
    assert 0.3 < others.std() < 2
    assert abs(out[7, 1]) < 100  # the huge value itself is clipped, not passed on


def test_numeric_encoder_warns_about_infinite_values_like_out_of_range_ones():
    X = pd.DataFrame(
        {"Members": [1.0, 2.0, np.inf, 4.0, -np.inf], "Episodes": [1, 2, 3, 1e308, 5]}
    )
    with pytest.warns(DataWarning) as record:
        enc = NumericEncoder().fit(X)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert "'Episodes': 1 value(s) are outside [0, 10000]" in messages[0]
    assert "'Members': 2 value(s) are infinite" in messages[1]
    out = enc.transform(X.iloc[:2])  # clean rows: no warning
    assert np.isfinite(out).all()
    with pytest.warns(DataWarning, match="'Members': 1 value"):
        enc.transform(pd.DataFrame({"Members": ["inf"], "Episodes": [3]}))


def test_numeric_encoder_is_unchanged_on_clean_data():
    """Clipping touches extremes only: clean columns are standardised exactly."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(5, 2, 300), "b": rng.uniform(0, 1, 300)})
    out = NumericEncoder().fit_transform(X)
    expected = (X - X.mean()) / X.std(ddof=0)
    np.testing.assert_allclose(out, expected.to_numpy(), atol=1e-12)
