"""HybridAnimeRegressor(booster=...): boosted trees on the network's own inputs,
averaged with the network."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils._param_validation import InvalidParameterError

import skanime.io as skanime_io
from skanime import BOOSTERS
from skanime._booster import booster_inputs

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


def test_the_booster_leaves_the_network_as_it_was(anime):
    """The network of a model with a booster is the one fitted without it."""
    alone = fast_model().fit(anime, anime["Score"])
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
