"""EmbeddingReducer and PosterPrior: the steps after a PosterEmbedder."""

import warnings

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skanime import (
    EmbeddingReducer,
    HybridNet,
    PackInputs,
    PosterEmbedder,
    PosterPrior,
    make_tabular_encoder,
)


def _block(n=60, d=12, missing=10, seed=0):
    """An embedder's output: has_image, then d features (zeros when missing)."""
    rng = np.random.default_rng(seed)
    block = np.hstack([np.ones((n, 1)), rng.normal(3.0, 1.0, size=(n, d))])
    block[:missing] = 0.0
    return block.astype(np.float32)


def test_reducer_is_fitted_on_the_posters_only_and_keeps_the_flag():
    block = _block()
    reduced = EmbeddingReducer(n_components=4).fit_transform(block)
    assert reduced.shape == (60, 5) and reduced.dtype == np.float32
    np.testing.assert_array_equal(reduced[:, 0], block[:, 0])
    assert (reduced[:10] == 0).all()  # no poster: no components
    posters = reduced[10:, 1:]
    # centred and whitened over the posters (the zeros would shift a fit on all)
    np.testing.assert_allclose(posters.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(posters.std(axis=0, ddof=1), 1.0, rtol=1e-4)


def test_reducer_caps_its_components_and_names_them_for_the_net():
    reducer = EmbeddingReducer(n_components=50).fit(_block(n=20, d=6, missing=5))
    assert reducer.n_components_ == 6
    names = reducer.get_feature_names_out()
    assert list(names) == ["has_image"] + [f"emb_{j}" for j in range(6)]


def test_reducer_on_identical_posters_gives_finite_zeros():
    """The constant-image control: every poster has the same embedding."""
    block = _block()
    block[10:, 1:] = block[10, 1:]
    reduced = EmbeddingReducer(n_components=4).fit_transform(block)
    assert np.isfinite(reduced).all()
    assert (reduced[:, 1:] == 0).all()


def test_prior_is_cross_fitted_on_the_training_rows():
    """On a target the embedding cannot predict, the in-sample ridge memorises
    it; the cross-fitted prior that fit_transform returns does not."""
    rng = np.random.default_rng(0)
    block = _block(n=80, d=120, missing=0)
    y = rng.normal(7.0, 1.0, size=80)
    prior = PosterPrior(alpha=1e-3, random_state=0)
    crossfitted = prior.fit_transform(block, y)[:, 0]
    in_sample = prior.transform(block)[:, 0]
    assert np.corrcoef(in_sample, y)[0, 1] > 0.9
    assert abs(np.corrcoef(crossfitted, y)[0, 1]) < 0.5


def test_prior_is_zero_without_a_poster_and_needs_y():
    block = _block()
    y = 7 + block[:, 1]
    prior = PosterPrior(alpha=1.0, random_state=0)
    out = prior.fit_transform(block, y)
    assert out.shape == (60, 1) and (out[:10] == 0).all()
    assert np.corrcoef(out[10:, 0], y[10:])[0, 1] > 0.9
    assert (prior.transform(block)[:10] == 0).all()
    with pytest.raises(ValueError, match="requires y to be passed"):
        PosterPrior().fit(block)


def test_reducer_slots_between_the_embedder_and_the_net(anime):
    """The network reads the reduced block as an embedding of n_components."""
    posters = make_pipeline(
        PosterEmbedder("simple_cnn", image_size=16, engine="torch", random_state=0),
        EmbeddingReducer(n_components=3),
    )
    encoder = make_tabular_encoder(min_frequency=1, poster_transformer=posters)
    X = encoder.fit_transform(anime, anime["Score"])
    assert [c for c in X.columns if c.startswith("poster__")] == [
        "poster__has_image",
        "poster__emb_0",
        "poster__emb_1",
        "poster__emb_2",
    ]
    net = HybridNet(
        max_epochs=1, train_split=None, module__hidden_units=8, module__head_units=8
    )
    packed = PackInputs().fit_transform(X)
    assert packed["embedding"].shape == (len(anime), 3)
    net.fit(packed, anime["Score"].to_numpy())
    assert net.module__embedding_dim == 3
    assert net.predict(packed).shape == (len(anime),)


def test_prior_of_identical_posters_is_zero():
    """The constant-image control: no poster information, so no feature (and no
    rounding noise blown up by standardising)."""
    block = _block()
    block[10:, 1:] = block[10, 1:]
    y = np.random.default_rng(0).normal(7.0, 1.0, size=60)
    prior = PosterPrior(random_state=0)
    assert (prior.fit_transform(block, y) == 0).all()
    assert (prior.transform(block) == 0).all()


def test_a_model_with_a_poster_prior_saves_and_loads_securely(anime, tmp_path):
    from skanime import io

    from .conftest import fast_model

    model = fast_model(backbone="simple_cnn", freeze_backbone=True)
    model.fit(anime, anime["Score"])
    path = tmp_path / "model.skanime"
    io.save(model, path)
    assert io.get_untrusted_types(path) == []
    np.testing.assert_array_equal(io.load(path).predict(anime), model.predict(anime))


def test_prior_stays_within_the_training_scores_for_an_unusual_poster():
    """A poster unlike every other (a feature nearly constant elsewhere) made a
    fold's ridge predict hundreds of points; the prior is bounded by the scores."""
    rng = np.random.default_rng(0)
    y = rng.normal(7.0, 0.8, size=60)
    block = _block(n=60, d=4, missing=0)
    block[:, 1] = 1e-6 * (y - y.mean())  # tiny spread, tied to the score
    block[5, 1] = 1.0  # one poster far outside it
    prior = PosterPrior(alpha=1.0, random_state=0)
    out = prior.fit_transform(block, y)
    low, high = (np.array([y.min(), y.max()]) - prior.center_) / prior.scale_
    assert out.min() >= low - 1e-5 and out.max() <= high + 1e-5
    assert np.isfinite(prior.transform(block)).all()


@pytest.mark.parametrize("step", [PosterPrior(random_state=0), EmbeddingReducer(2)])
def test_a_frame_of_the_fitted_columns_is_read_as_validation_would(step):
    """At predict, a DataFrame with the fitted columns skips the per-column
    checks (float_columns): the same output as an array, and a missing value,
    a text column or columns out of order are still refused."""
    import pandas as pd

    block = _block(n=40, d=5, missing=8)
    names = ["has_image"] + [f"emb_{j}" for j in range(5)]
    frame = pd.DataFrame(block, columns=names)
    y = 7 + block[:, 1]
    step.fit(frame, y)
    with warnings.catch_warnings():  # an array has no names to check
        warnings.simplefilter("ignore", UserWarning)
        expected = step.transform(block)
    np.testing.assert_array_equal(step.transform(frame), expected)
    with_nan = frame.copy()
    with_nan.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        step.transform(with_nan)
    with pytest.raises(ValueError, match="could not convert"):
        step.transform(frame.astype({"emb_0": object}).assign(emb_0="x"))
    with pytest.raises(ValueError, match="feature names"):
        step.transform(frame[names[::-1]])
