"""HybridAnimeRegressor(booster=...): boosted trees on the network's own inputs,
averaged with the network."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils._param_validation import InvalidParameterError

import skanime.io as skanime_io
from skanime import BOOSTERS, HybridAnimeRegressor
from skanime._booster import booster_inputs
from skanime._net import HybridNet
from skanime.exceptions import ColumnError

from .conftest import fast_model

SMALL_TREES = HistGradientBoostingRegressor(max_iter=15, max_leaf_nodes=7)


def _network_and_trees(model, X):
    packed = model.pipeline_[:-1].transform(X)
    return model.net_.predict(packed), model.booster_.predict(booster_inputs(packed))


@pytest.mark.parametrize("freeze", [False, True], ids=["poster paths", "embeddings"])
def test_the_booster_reads_the_networks_inputs_and_a_poster_flag(anime, freeze):
    """Its features are the network's tabular block plus one has-poster column,
    whether the network reads poster paths (a backbone it trains) or embeddings."""
    model = fast_model(booster=SMALL_TREES, freeze_backbone=freeze)
    model.fit(anime, anime["Score"])
    packed = model.pipeline_[:-1].transform(anime)
    inputs = booster_inputs(packed)
    assert model.booster_.n_features_in_ == packed["tabular"].shape[1] + 1
    assert (inputs[:, -1] == anime["poster"].notna().to_numpy()).all()
    assert 0 < inputs[:, -1].sum() < len(anime)  # some posters are missing


def test_prediction_is_the_weighted_average(anime, monkeypatch):
    """(1 - w) * network + w * booster, with w read at predict time; at w = 0
    the trees are not evaluated."""
    model = fast_model(booster=SMALL_TREES).fit(anime, anime["Score"])
    network, trees = _network_and_trees(model, anime)
    assert np.abs(network - trees).max() > 1e-3  # two different models
    np.testing.assert_allclose(model.predict(anime), 0.7 * network + 0.3 * trees)
    model.set_params(booster_weight=0.25)
    np.testing.assert_allclose(model.predict(anime), 0.75 * network + 0.25 * trees)
    model.set_params(booster_weight=0.0)

    def unused(X):
        raise AssertionError("the trees were evaluated")

    monkeypatch.setattr(model.booster_, "predict", unused)
    np.testing.assert_allclose(model.predict(anime), network, rtol=0, atol=1e-6)


def _later_rows(anime):
    """Six rows of ``anime``: three later than every one of its years, two
    within them and one without a year; and which are later."""
    rows = anime.iloc[:6].copy()
    first, last = anime["Year"].min(), anime["Year"].max()
    rows["Year"] = [last + 1, last + 30, last, first, np.nan, last + 1]
    return rows, np.array([True, True, False, False, False, True])


def test_anime_later_than_the_training_years_get_the_network_alone(anime):
    """booster_time_column="auto" reads Year: a row later than every training
    row is predicted by the network alone; one within the years, or without a
    year, by the average."""
    model = fast_model(booster=SMALL_TREES).fit(anime, anime["Score"])
    assert model.booster_time_feature_ == "numeric__Year"
    rows, later = _later_rows(anime)
    network, trees = _network_and_trees(model, rows)
    assert np.abs(network - trees).min() > 1e-3
    expected = np.where(later, network, 0.7 * network + 0.3 * trees)
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-6)


def test_without_a_time_column_every_row_gets_the_average(anime):
    model = fast_model(booster=SMALL_TREES, booster_time_column=None)
    model.fit(anime, anime["Score"])
    assert model.booster_time_feature_ is None and model.booster_latest_ is None
    rows, _ = _later_rows(anime)
    network, trees = _network_and_trees(model, rows)
    np.testing.assert_allclose(model.predict(rows), 0.7 * network + 0.3 * trees)


@pytest.mark.parametrize("column", ["auto", "Aired"])
def test_a_date_column_gates_through_its_year(anime, column):
    """A date column (Aired) becomes the year the gate reads."""
    dated = anime.drop(columns=["Year", "Season"]).assign(
        Aired=[f"Apr 5, {int(y)}" for y in anime["Year"].fillna(2000)]
    )
    model = fast_model(booster=SMALL_TREES, booster_time_column=column)
    model.fit(dated, dated["Score"])
    assert model.booster_time_feature_ == "numeric__Year"
    later = dated.iloc[:2].assign(Aired=f"Jan 1, {int(anime['Year'].max()) + 2}")
    network, _ = _network_and_trees(model, later)
    np.testing.assert_allclose(model.predict(later), network, rtol=1e-6)


def test_a_bad_time_column_is_refused_by_name_before_training(anime, monkeypatch):
    def trained(*args, **kwargs):
        raise AssertionError("the network trained")

    monkeypatch.setattr(HybridNet, "fit", trained)
    model = fast_model(booster=SMALL_TREES, booster_time_column="Title")
    with pytest.raises(ColumnError, match="booster_time_column='Title'.*'Year'"):
        model.fit(anime, anime["Score"])
    assert not hasattr(model, "pipeline_")


def test_a_model_saved_before_the_time_gate_predicts_as_it_did(anime):
    """Its state lacks the parameter and the learned gate: every row gets the
    average, as it did when it was saved."""
    model = fast_model(booster=SMALL_TREES).fit(anime, anime["Score"])
    state = model.__getstate__()
    for key in ("booster_time_column", "booster_time_feature_", "booster_latest_"):
        del state[key]
    old = HybridAnimeRegressor.__new__(HybridAnimeRegressor)
    old.__setstate__(state)
    assert old.get_params()["booster_time_column"] is None
    rows, _ = _later_rows(anime)
    network, trees = _network_and_trees(old, rows)
    np.testing.assert_allclose(old.predict(rows), 0.7 * network + 0.3 * trees)


def test_the_trees_read_a_large_batch_in_blocks_with_the_same_result(
    anime, monkeypatch
):
    """predict builds the trees' float64 inputs a block of rows at a time;
    blocks that split the rows (and the later ones) change nothing."""
    import skanime._estimator as estimator

    model = fast_model(booster=SMALL_TREES).fit(anime, anime["Score"])
    rows, _ = _later_rows(anime)
    X = pd.concat([anime, rows], ignore_index=True)
    whole = model.predict(X)
    monkeypatch.setattr(estimator, "_BOOSTER_ROWS", 7)
    np.testing.assert_array_equal(model.predict(X), whole)


def test_the_booster_leaves_the_network_as_it_was(anime):
    """The network of a model with a booster is the one fitted without it."""
    alone = fast_model(booster=None).fit(anime, anime["Score"])
    assert alone.booster_ is None
    paired = fast_model(booster="hist").fit(anime, anime["Score"])
    np.testing.assert_array_equal(
        paired.set_params(booster_weight=0.0).predict(anime), alone.predict(anime)
    )


def test_hist_is_histgb_with_the_chosen_settings_seeded_by_random_state(anime):
    model = fast_model(booster="hist", random_state=3).fit(anime, anime["Score"])
    assert isinstance(model.booster_, HistGradientBoostingRegressor)
    params = model.booster_.get_params()
    assert {k: params[k] for k in BOOSTERS["hist"]} == BOOSTERS["hist"]
    assert isinstance(params["random_state"], int)
    again = fast_model(booster="hist", random_state=3).fit(anime, anime["Score"])
    np.testing.assert_array_equal(again.predict(anime), model.predict(anime))


def test_a_given_booster_is_cloned_and_keeps_its_own_random_state(anime):
    trees = HistGradientBoostingRegressor(max_iter=5, random_state=7)
    model = fast_model(booster=trees).fit(anime, anime["Score"])
    assert model.booster_ is not trees and model.booster is trees
    assert model.booster_.random_state == 7
    assert not hasattr(trees, "n_iter_")  # the given one is not fitted


def test_booster_parameters_are_nested_and_grid_searchable():
    model = fast_model(booster=HistGradientBoostingRegressor())
    assert model.get_params()["booster__max_iter"] == 100
    model.set_params(booster__max_iter=7)
    assert clone(model).get_params()["booster__max_iter"] == 7


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"booster": "lightgbm"}, "booster"),
        ({"booster": object()}, "booster"),
        ({"booster_weight": 1.5}, "booster_weight"),
    ],
)
def test_bad_booster_parameters_are_refused_by_name(anime, params, named):
    with pytest.raises(InvalidParameterError, match=f"'{named}' parameter"):
        fast_model(**params).fit(anime, anime["Score"])


class _FailingTrees(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        raise ValueError("trees failed")

    def predict(self, X):  # pragma: no cover - never fitted
        return np.zeros(len(X))


def test_a_failing_booster_leaves_the_fitted_model_as_it_was(anime):
    model = fast_model(booster=SMALL_TREES).fit(anime, anime["Score"])
    before = model.predict(anime)
    booster_before = model.booster_
    model.set_params(booster=_FailingTrees())
    with pytest.raises(ValueError, match="trees failed"):
        model.fit(anime, anime["Score"])
    assert model.booster_ is booster_before
    model.set_params(booster=SMALL_TREES)
    np.testing.assert_array_equal(model.predict(anime), before)


def test_a_model_with_hist_saves_and_loads_securely(anime, tmp_path):
    """skanime.io trusts HistGB's tree predictor: nothing to pass to trusted=."""
    model = fast_model(booster="hist").fit(anime, anime["Score"])
    path = tmp_path / "model.skanime"
    skanime_io.save(model, path)
    assert skanime_io.get_untrusted_types(path) == []
    loaded = skanime_io.load(path)
    np.testing.assert_array_equal(loaded.predict(anime), model.predict(anime))
