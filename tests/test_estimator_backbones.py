"""The estimator's choice of backbone: frozen and cached, or trained; grid search."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skanime import PosterEmbedder, PosterLoader, PosterPrior
from skanime.backbones import default_backbone, get_backbone, pretrained_available

from .conftest import fast_model


@pytest.fixture(autouse=True)
def _empty_cache(empty_embedding_cache):
    """Every test starts and ends with an empty in-memory embedding cache."""


def _poster_step(model):
    return model.pipeline_["features"].named_transformers_["poster"]


def test_a_frozen_backbone_is_embedded_once_and_not_in_the_module(anime, computed):
    model = fast_model(freeze_backbone=True, engine="torch").fit(anime, anime["Score"])
    assert isinstance(_poster_step(model), PosterEmbedder)
    assert model.freeze_backbone_ is True and model.backbone_ == "simple_cnn"
    module = model.net_.module_
    assert module.backbone is None and module.with_image
    n_present = int(anime["poster"].notna().sum())
    assert computed == [n_present]
    predictions = model.predict(anime)
    assert computed == [n_present]  # predict reads the cache
    again = fast_model(freeze_backbone=True, engine="torch").fit(anime, anime["Score"])
    assert computed == [n_present]  # a second fit too
    np.testing.assert_array_equal(again.predict(anime), predictions)


def test_cross_validation_and_grid_search_reuse_the_embeddings(anime, computed):
    model = fast_model(freeze_backbone=True, engine="torch")
    cross_val_score(model, anime, anime["Score"], cv=KFold(3))
    # each fold sees a subset, but no poster is ever embedded twice
    n_present = int(anime["poster"].notna().sum())
    assert sum(computed) == n_present
    search = GridSearchCV(model, {"lr": [1e-3, 1e-2]}, cv=KFold(2))
    search.fit(anime, anime["Score"])
    assert sum(computed) == n_present


def test_grid_search_over_backbone_names_and_freezing(anime):
    search = GridSearchCV(
        fast_model(engine="torch"),
        {
            "backbone": ["simple_cnn", "mobilenet_v3_small"],
            "freeze_backbone": [True, False],
        },
        cv=KFold(2),
        scoring="neg_mean_absolute_error",
    )
    search.fit(anime, anime["Score"])
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert best.backbone_ == search.best_params_["backbone"]
    frozen = search.best_params_["freeze_backbone"]
    step = _poster_step(best)
    assert isinstance(step, PosterEmbedder if frozen else PosterLoader)


def test_a_trained_backbone_learns_and_the_callers_module_is_untouched(anime):
    mine = get_backbone("simple_cnn", input_size=16)
    before = {k: v.clone() for k, v in mine.state_dict().items()}
    model = fast_model(backbone=mine, freeze_backbone=False).fit(anime, anime["Score"])
    trained = model.net_.module_.backbone
    assert trained is not mine and model.freeze_backbone_ is False
    assert any(not torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    for key, value in mine.state_dict().items():
        assert torch.equal(value, before[key])


def test_auto_freezes_a_pretrained_backbone_and_trains_others(anime):
    model = fast_model(backbone="simple_cnn").fit(anime, anime["Score"])
    assert model.freeze_backbone_ is False
    assert isinstance(_poster_step(model), PosterLoader)


@pytest.mark.skipif(not pretrained_available(), reason="needs skanime[pretrained]")
def test_default_backbone_is_the_pretrained_one_frozen(anime):
    model = fast_model(backbone="auto", image_size=32)
    model.fit(anime, anime["Score"])
    assert model.backbone_ == default_backbone() and model.freeze_backbone_
    step = _poster_step(model)
    assert step.embedding_dim_ == 1280 and step.poster_loader_.image_size == 32
    assert np.isfinite(model.predict(anime)).all()


def test_tabular_only_model_has_no_backbone(anime):
    model = fast_model(poster_column=None).fit(anime, anime["Score"])
    assert model.backbone_ is None and model.freeze_backbone_ is None


@pytest.mark.skipif(not pretrained_available(), reason="needs skanime[pretrained]")
def test_a_trained_pretrained_backbone_gets_the_frozen_weights_poster_prior(anime):
    """Fine-tuning a pretrained backbone keeps the poster prior: it reads the
    pretrained weights, frozen (the same column as the frozen model's), while
    the module's copy trains."""
    params = {"backbone": "efficientnet_lite0", "image_size": 32, "engine": "torch"}
    trained = fast_model(**params, freeze_backbone=1).fit(anime, anime["Score"])
    frozen = fast_model(**params, freeze_backbone=True).fit(anime, anime["Score"])
    branch = trained.pipeline_["features"].named_transformers_["poster_prior"]
    assert isinstance(branch["embedder"], PosterEmbedder)
    assert branch["embedder"].backbone == "efficientnet_lite0"
    assert isinstance(_poster_step(trained), PosterLoader)
    assert trained.net_.module_.backbone is not None  # the copy that trains

    def prior_column(model):
        block = model.pipeline_["features"].transform(anime)
        return np.asarray(block["poster_prior__prior"], dtype=float)

    np.testing.assert_allclose(prior_column(trained), prior_column(frozen))
    assert np.ptp(prior_column(trained)) > 0
    assert np.isfinite(trained.predict(anime)).all()
    off = fast_model(**params, freeze_backbone=1, poster_prior=None)
    off.fit(anime, anime["Score"])
    assert "poster_prior__prior" not in off.get_feature_names_out()


@pytest.mark.skipif(not pretrained_available(), reason="needs skanime[pretrained]")
def test_a_seed_gives_the_same_model_whether_the_backbone_was_built_or_shared(
    anime, monkeypatch
):
    import skanime._embedding as embedding

    monkeypatch.setattr(embedding, "_SHARED", {})  # as in a fresh process
    params = {"backbone": "efficientnet_lite0", "image_size": 32, "engine": "torch"}
    first = fast_model(**params).fit(anime, anime["Score"]).predict(anime)
    second = fast_model(**params).fit(anime, anime["Score"]).predict(anime)
    np.testing.assert_array_equal(first, second)


def test_a_frozen_backbone_feeds_a_cross_fitted_poster_prior_to_the_table(anime):
    """poster_prior adds one tabular column (not a poster__ one) after the frozen
    embedding; None, or a trained backbone without pretrained weights, adds
    none."""
    frozen = {"backbone": "simple_cnn", "freeze_backbone": True}
    model = fast_model(**frozen).fit(anime, anime["Score"])
    names = list(model.get_feature_names_out())
    assert "poster_prior__prior" in names and "poster__has_image" in names
    prior = model.pipeline_["features"].named_transformers_["poster_prior"][-1]
    assert isinstance(prior, PosterPrior) and prior.alpha == 3000.0
    n_embedding = model.net_.module__embedding_dim
    assert model.net_.module__n_tabular == len(names) - n_embedding - 1
    assert np.isfinite(model.predict(anime)).all()
    off = fast_model(**frozen, poster_prior=None).fit(anime, anime["Score"])
    assert "poster_prior__prior" not in off.get_feature_names_out()
    trained = fast_model().fit(anime, anime["Score"])
    assert "poster_prior__prior" not in trained.get_feature_names_out()
