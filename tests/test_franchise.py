"""FranchisePrior: franchise keys, cross-fitting, no row's own score in its features."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline

from skanime import FranchisePrior, franchise_key


@pytest.mark.parametrize(
    "title, key",
    [
        ("Shingeki no Kyojin Season 3 Part 2", "shingeki no kyojin"),
        ("Shingeki no Kyojin: The Final Season", "shingeki no kyojin"),
        ("Gintama°", "gintama"),
        ("Gintama Movie 2: Kanketsu-hen", "gintama"),
        ("Code Geass: Hangyaku no Lelouch R2", "code geass"),
        ("Mobile Suit Gundam III", "mobile suit gundam"),
        ("Haikyuu!! 2nd Season", "haikyuu"),
        ("Noragami OVA", "noragami"),
        (
            "Re:Zero kara Hajimeru Isekai Seikatsu",
            "re zero kara hajimeru isekai seikatsu",
        ),
        ("Monster", "monster"),
        (None, ""),
    ],
)
def test_franchise_key(title, key):
    assert franchise_key(title) == key


def _titles(n_unique, n_family):
    titles = [
        f"Unique Show {chr(65 + i % 26)}{chr(65 + i // 26)}" for i in range(n_unique)
    ]
    titles += [f"Big Family Season {i + 1}" for i in range(n_family)]
    return pd.DataFrame({"Title": titles})


def test_fit_transform_never_uses_the_row_itself():
    """A title alone in its franchise gets the prior mean, not its own score."""
    X = _titles(40, 10)
    y = np.r_[np.linspace(1, 9, 40), np.full(10, 8.0)]
    y[0] = 100.0  # a score the row's features must not reveal
    out = FranchisePrior(cv=5, random_state=0).fit_transform(X, y)
    # the unique row: an encoding of the other folds' mean, nowhere near 100
    assert abs(out[0, 0] - np.delete(y, 0).mean()) < 10
    assert out[0, 1] == 0  # no other training anime in its franchise
    # the family rows: pulled towards their franchise's 8.0 by the other members
    assert np.all(np.abs(out[40:, 0] - 8.0) < abs(y.mean() - 8.0))
    assert np.allclose(out[40:, 1], np.log1p(9))


def test_transform_uses_every_training_row():
    X = _titles(40, 10)
    y = np.r_[np.linspace(1, 9, 40), np.full(10, 8.0)]
    prior = FranchisePrior(cv=5, random_state=0).fit(X, y)
    new = pd.DataFrame({"Title": ["Big Family Season 11", "Never Seen Before"]})
    out = prior.transform(new)
    assert abs(out[0, 0] - 8.0) < 0.5 and out[0, 1] == pytest.approx(np.log1p(10))
    assert out[1, 0] == pytest.approx(y.mean()) and out[1, 1] == 0


def test_no_leak_through_a_pipeline():
    """Scores that are pure noise per title: the prior must predict nothing."""
    rng = np.random.default_rng(0)
    X = _titles(300, 0)
    y = rng.normal(size=300)
    model = make_pipeline(FranchisePrior(random_state=0), LinearRegression())
    # a leaking encoder would hand each training row its own score: the
    # regression downstream would fit y almost perfectly in-sample
    features = FranchisePrior(random_state=0).fit_transform(X, y)
    assert np.corrcoef(features[:, 0], y)[0, 1] < 0.3
    pred = cross_val_predict(model, X, y, cv=5)
    assert np.corrcoef(pred, y)[0, 1] < 0.3


def test_count_false_and_names():
    X, y = _titles(10, 4), np.arange(14.0)
    prior = FranchisePrior(count=False, cv=2).fit(X, y)
    assert prior.transform(X).shape == (14, 1)
    assert prior.get_feature_names_out().tolist() == ["franchise_prior"]


def test_errors():
    with pytest.raises(ValueError, match="one title column"):
        FranchisePrior(cv=2).fit(
            pd.DataFrame({"a": ["x"] * 4, "b": ["y"] * 4}), [1, 2, 3, 4]
        )
    with pytest.raises(ValueError, match="needs y"):
        FranchisePrior().fit_transform(_titles(4, 0))


def test_transform_matches_the_encoder():
    """transform's look-up gives exactly the fitted TargetEncoder's encodings."""
    X = _titles(40, 10)
    y = np.r_[np.linspace(1, 9, 40), np.full(10, 8.0)]
    prior = FranchisePrior(cv=5, random_state=0).fit(X, y)
    new = pd.concat([X, pd.DataFrame({"Title": ["Never Seen", None]})])
    from skanime import franchise_key

    keys = np.array([[franchise_key(t)] for t in new["Title"]], dtype=object)
    expected = prior.encoder_.transform(keys)[:, 0]
    assert np.allclose(prior.transform(new)[:, 0], expected)
