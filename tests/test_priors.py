"""TitleNeighborPrior and LabelTargetEncoder: cross-fitted, no row's own score in
its features at fit, every training row at transform."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skanime import LabelTargetEncoder, TitleNeighborPrior
from skanime import _neighbors as neighbors_module


def _titles():
    titles = [f"Alone Show {chr(65 + i % 26)}{chr(65 + i // 26)}" for i in range(30)]
    titles += [f"Gintama Part {i}" for i in range(10)]
    return pd.DataFrame({"Title": titles})


def _studios():
    studios = ["Bones"] * 10 + ["Sunrise"] * 10 + ["Bones, Sunrise"] * 5
    studios += [f"Tiny {i}" for i in range(5)] + [None] * 2
    return pd.DataFrame({"Studios": studios, "Producers": ["Aniplex"] * 32})


@pytest.mark.parametrize(
    "make, X",
    [
        (lambda: TitleNeighborPrior(n_neighbors=3, random_state=0), _titles()),
        (lambda: LabelTargetEncoder(smooth=1.0, random_state=0), _studios()),
    ],
    ids=["neighbors", "labels"],
)
def test_a_rows_own_score_never_reaches_its_features_at_fit(make, X):
    """Changing one row's score leaves that row's cross-fitted features as they
    were (they come from the other folds) but changes what transform sees."""
    rng = np.random.default_rng(0)
    y = rng.normal(7, 1, len(X))
    changed = y.copy()
    changed[3] += 50.0
    before = make().fit_transform(X, y)
    after_encoder = make()
    after = after_encoder.fit_transform(X, changed)
    np.testing.assert_array_equal(after[3], before[3])
    assert not np.array_equal(after, before)  # other folds' rows do see it
    # transform (new rows) uses every training row, this one included
    refit = make().fit(X, y).transform(X)
    assert not np.array_equal(after_encoder.transform(X), refit)


def test_neighbor_prior_finds_the_related_titles():
    X = _titles()
    y = np.r_[np.full(30, 6.0), np.full(10, 9.0)]
    prior = TitleNeighborPrior(n_neighbors=3, random_state=0)
    out = prior.fit_transform(X, y)
    names = prior.get_feature_names_out().tolist()
    assert names == [
        "neighbor_mean",
        "neighbor_nearest",
        "neighbor_max_sim",
        "neighbor_sim",
    ]
    # Gintama rows' neighbours are other Gintama rows (above the mean), the
    # others' are other "Alone Show" rows (below it)
    assert np.all(out[30:, 0] > 0) and np.all(out[:30, 0] < 0)
    new = prior.transform(pd.DataFrame({"Title": ["Gintama Part 99", None]}))
    assert new.shape == (2, 4)
    assert new[0, 1] == pytest.approx(9.0 - y.mean())
    assert new[1, 2] == 0  # a missing title is similar to nothing


def test_neighbor_prior_titles_tied_as_nearest_share_it():
    """Two training titles equally similar to a new one: the nearest score is
    their mean, whichever the search returns first."""
    X = pd.DataFrame({"Title": ["Mushishi", "Mushishi", "Monster", "Berserk"]})
    y = np.array([8.0, 9.0, 6.0, 7.0])
    prior = TitleNeighborPrior(n_neighbors=2, cv=2, random_state=0).fit(X, y)
    out = prior.transform(pd.DataFrame({"Title": ["Mushishi"]}))
    assert out[0, 1] == pytest.approx(8.5 - y.mean())
    assert out[0, 0] == pytest.approx(8.5 - y.mean())  # equal weights
    assert out[0, 2] == pytest.approx(1.0)


def test_neighbor_prior_title_sharing_nothing_has_no_neighbour():
    """A title with no n-gram in common with any training title gets the mean
    (0) for the neighbour scores, not the scores of arbitrary titles."""
    X = pd.DataFrame({"Title": ["Gintama", "Gintama'", "Monster"]})
    y = np.array([9.0, 9.1, 3.0])
    prior = TitleNeighborPrior(n_neighbors=2, cv=2, random_state=0).fit(X, y)
    out = prior.transform(pd.DataFrame({"Title": ["Zzzz"]}))
    np.testing.assert_array_equal(out, np.zeros((1, 4)))


def test_neighbor_prior_transform_in_chunks(monkeypatch):
    X = _titles()
    y = np.linspace(5, 9, len(X))
    prior = TitleNeighborPrior(random_state=0).fit(X, y)
    whole = prior.transform(X)
    monkeypatch.setattr(neighbors_module, "_CHUNK_ROWS", 7)
    np.testing.assert_allclose(prior.transform(X), whole)


def test_neighbor_prior_few_rows_give_what_many_rows_give(monkeypatch):
    """A few titles are compared as ``(train @ X.T).T``, many as
    ``X @ train.T``: the same similarities, so the same features."""
    X = _titles()
    y = np.linspace(5, 9, len(X))
    prior = TitleNeighborPrior(n_neighbors=4, random_state=0).fit(X, y)
    monkeypatch.setattr(neighbors_module, "_FEW_ROWS", 0)
    many = prior.transform(X)
    monkeypatch.setattr(neighbors_module, "_FEW_ROWS", len(X) + 1)
    few = prior.transform(X)
    np.testing.assert_allclose(few, many, rtol=0, atol=1e-12)
    assert np.abs(many[:, 0]).max() > 0.1  # the features are not all zero


def test_neighbor_prior_with_fewer_training_rows_than_neighbors():
    X = pd.DataFrame({"Title": ["A show", "B show", "C film"]})
    out = TitleNeighborPrior(n_neighbors=10, cv=2, random_state=0).fit_transform(
        X, [5.0, 6.0, 7.0]
    )
    assert out.shape == (3, 4) and np.isfinite(out).all()


def test_label_encoder_values():
    X = _studios()
    y = np.r_[np.full(10, 8.0), np.full(10, 6.0), np.full(5, 7.0), np.full(7, 7.0)]
    encoder = LabelTargetEncoder(smooth=0.0, random_state=0).fit(X, y)
    out = encoder.transform(
        pd.DataFrame(
            {
                "Studios": ["Bones", "Bones, Sunrise", "Unknown Co", None],
                "Producers": ["Aniplex", None, None, None],
            }
        )
    )
    mean = y.mean()
    bones = (10 * 8.0 + 5 * 7.0) / 15 - mean
    sunrise = (10 * 6.0 + 5 * 7.0) / 15 - mean
    assert out[0, 0] == pytest.approx(bones)
    assert out[1, 0] == pytest.approx((bones + sunrise) / 2)
    assert out[1, 1] == pytest.approx(max(bones, sunrise, key=abs))
    assert np.all(out[2:, :2] == 0)  # unseen and missing labels
    assert encoder.get_feature_names_out().tolist() == [
        "Studios_mean",
        "Studios_extreme",
        "Producers_mean",
        "Producers_extreme",
    ]


def test_label_encoder_smoothing_shrinks_rare_labels():
    X = _studios()
    y = np.r_[np.full(25, 7.0), np.full(5, 9.0), np.full(2, 7.0)]
    raw = LabelTargetEncoder(smooth=0.0).fit(X, y).transform(X)
    shrunk = LabelTargetEncoder(smooth=20.0).fit(X, y).transform(X)
    # the "Tiny" studios (one row each) are pulled hard towards 0
    assert np.all(np.abs(shrunk[25:30, 0]) < np.abs(raw[25:30, 0]) / 5)


@pytest.mark.parametrize("Encoder", [TitleNeighborPrior, LabelTargetEncoder])
def test_priors_need_y_and_matching_rows(Encoder):
    X = _titles() if Encoder is TitleNeighborPrior else _studios()
    with pytest.raises(ValueError, match="needs y"):
        Encoder().fit_transform(X)
    with pytest.raises(ValueError, match="rows but y has"):
        clone(Encoder()).fit(X, np.ones(len(X) - 1))


def test_neighbor_prior_without_any_title_gives_zeros():
    X = pd.DataFrame({"Title": [None, None, None, None]})
    prior = TitleNeighborPrior(cv=2, random_state=0)
    out = prior.fit_transform(X, [5.0, 6.0, 7.0, 8.0])
    assert prior.vectorizer_ is None and np.all(out == 0)
    assert np.all(prior.transform(pd.DataFrame({"Title": ["Monster"]})) == 0)
