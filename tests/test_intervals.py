"""Prediction intervals: the split-conformal wrapper, and MAPIE on the estimator."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import check_estimator

from skanime.exceptions import DataError, DataWarning, NotFittedError
from skanime.intervals import ConformalRegressor, conformal_quantile, interval_coverage

from .conftest import fast_model


def test_conformal_quantile_is_the_finite_sample_rank():
    residuals = np.arange(1, 11) / 10  # 0.1 .. 1.0
    # ceil(11 * 0.8) = 9th smallest
    assert conformal_quantile(residuals, 0.8) == pytest.approx(0.9)
    assert conformal_quantile(-residuals, 0.5) == pytest.approx(0.6)  # |.| taken
    assert conformal_quantile(residuals, 0.95) == np.inf
    with pytest.raises(ValueError, match="confidence_level=1.5"):
        conformal_quantile(residuals, 1.5)


def test_interval_coverage_checks_the_shape():
    figures = interval_coverage([1.0, 2.0, 3.0], [[0, 2], [2.5, 3], [3, 3]])
    assert figures == {
        "coverage": pytest.approx(2 / 3),
        "mean_width": pytest.approx(2.5 / 3),
    }
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\) = \(3, 2\)"):
        interval_coverage([1.0, 2.0, 3.0], [[0, 2]])


def test_calibration_rows_never_train_the_estimator():
    """The wrapped model sees only the training rows; the residuals are its errors
    on the others, which a constant model makes visible."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = np.arange(50, dtype=float)
    model = ConformalRegressor(DummyRegressor(), calibration_size=0.2, random_state=0)
    model.fit(X, y)
    mean = model.estimator_.constant_.item()
    assert len(model.calibration_residuals_) == 10
    calibration = mean + np.array([-1, 1])[:, None] * model.calibration_residuals_
    # each residual belongs to a held-out y value, none of which moved the mean
    held_out = {round(v, 6) for v in calibration.ravel()} & set(y)
    assert len(held_out) == 10
    training = sorted(set(y) - held_out)
    assert mean == pytest.approx(np.mean(training))
    assert np.all(np.diff(model.calibration_residuals_) >= 0)
    # y is each row's position: calibration_rows_ names the held-out rows
    np.testing.assert_array_equal(model.calibration_rows_, sorted(held_out))


def test_intervals_cover_new_rows_at_about_the_nominal_level():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 1))
    y = 5 + X[:, 0] + rng.normal(size=4000)
    model = ConformalRegressor(
        HistGradientBoostingRegressor(max_iter=30), random_state=0
    ).fit(X[:2000], y[:2000])
    for level in (0.8, 0.9):
        bounds = model.predict_interval(X[2000:], confidence_level=level)
        assert interval_coverage(y[2000:], bounds)["coverage"] == pytest.approx(
            level, abs=0.03
        )
    assert model.half_width(0.9) > model.half_width(0.8)


def test_several_levels_at_once_stack_on_a_last_axis():
    X, y = np.zeros((50, 1)), np.arange(50.0)
    model = ConformalRegressor(DummyRegressor(), random_state=0).fit(X, y)
    levels = [0.5, 0.8, 0.9]
    bounds = model.predict_interval(X[:3], levels)
    assert bounds.shape == (3, 2, 3)
    for i, level in enumerate(levels):
        np.testing.assert_array_equal(
            bounds[..., i], model.predict_interval(X[:3], level)
        )
    np.testing.assert_array_equal(
        model.interval_around(model.predict(X[:3]), levels), bounds
    )
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        model.predict_interval(X, [0.8, 1.5])
    with pytest.raises(ValueError, match="1-D sequence"):
        model.predict_interval(X, [[0.8]])


def test_intervals_are_clipped_to_the_target_range(anime):
    model = ConformalRegressor(
        fast_model(poster_column=None, validation_fraction=0), random_state=0
    ).fit(anime, anime["Score"])
    n = len(model.calibration_residuals_)
    assert n == 8  # too few for 90 %: infinite bounds, clipped, and a warning
    with pytest.warns(
        DataWarning, match="8 calibration row.*too few for a 90% interval.*at least 9"
    ):
        bounds = model.predict_interval(anime, 0.9)
    assert bounds.shape == (len(anime), 2)
    assert np.all(bounds == [1, 10])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # enough rows: no warning
        bounds = model.predict_interval(anime, 0.8)
        width = model.half_width(0.8)
    pred = model.predict(anime)
    assert np.isfinite(width) and np.all((bounds >= 1) & (bounds <= 10))
    np.testing.assert_allclose(bounds[:, 0], np.maximum(pred - width, 1))
    np.testing.assert_allclose(bounds[:, 1], np.minimum(pred + width, 10))
    np.testing.assert_array_equal(model.interval_around(pred, 0.8), bounds)
    assert model.history_ is model.estimator_.history_
    assert list(model.feature_names_in_) == list(anime.columns)


def test_errors_name_the_problem():
    with pytest.raises(NotFittedError, match="ConformalRegressor is not fitted"):
        ConformalRegressor(DummyRegressor()).predict_interval(np.zeros((2, 1)))
    with pytest.raises(DataError, match="calibration_size=0.1 of 5 samples"):
        ConformalRegressor(DummyRegressor(), calibration_size=0.1).fit(
            np.zeros((5, 1)), np.zeros(5)
        )
    with pytest.raises(ValueError, match="calibration_size"):
        ConformalRegressor(DummyRegressor(), calibration_size=1.0).fit(
            np.zeros((5, 1)), np.zeros(5)
        )


#: The one check ConformalRegressor is expected to fail, with the reason.
_WEIGHT_IS_NOT_COPIES = dict.fromkeys(
    [
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    ],
    "fit draws calibration rows at random, so k copies of a row fall on both "
    "sides of the split where a weight of k stays on one; "
    "test_weighted_calibration_counts_a_weight_as_copies checks the quantile",
)


def test_is_a_scikit_learn_estimator():
    check_estimator(
        ConformalRegressor(Ridge(), random_state=0),
        expected_failed_checks=_WEIGHT_IS_NOT_COPIES,
    )


def test_a_frozen_model_is_calibrated_on_every_row_and_never_refitted():
    """``FrozenEstimator``: the fitted model is kept as it is (not cloned, not
    trained again) and every row given to fit calibrates it."""
    from sklearn.frozen import FrozenEstimator

    X, y = np.zeros((40, 1)), np.arange(40.0)
    fitted = DummyRegressor().fit(X[:10], y[:10])  # predicts 4.5
    model = ConformalRegressor(FrozenEstimator(fitted), calibration_size=0.9)
    model.fit(X[10:], y[10:])
    assert model.estimator_ is fitted and fitted.constant_.item() == 4.5
    np.testing.assert_allclose(model.calibration_residuals_, y[10:] - 4.5)
    np.testing.assert_array_equal(model.calibration_rows_, np.arange(30))
    scaled = ConformalRegressor(
        FrozenEstimator(fitted), difficulty="auto", random_state=0
    ).fit(X[10:], y[10:])
    assert len(scaled.calibration_residuals_) == 15  # half of the 30 rows
    with pytest.raises(DataError, match=r"got 3, need at least 4 \(with difficulty\)"):
        ConformalRegressor(FrozenEstimator(fitted), difficulty="auto").fit(X[:3], y[:3])
    with pytest.raises(NotFittedError, match="FrozenEstimator's DummyRegressor is"):
        ConformalRegressor(FrozenEstimator(DummyRegressor())).fit(X, y)


def test_a_frozen_network_is_saved_once(anime, tmp_path):
    from sklearn.frozen import FrozenEstimator

    import skanime.io as skio

    network = fast_model(poster_column=None, validation_fraction=0)
    network.fit(anime.iloc[:28], anime["Score"].iloc[:28])
    model = ConformalRegressor(FrozenEstimator(network), random_state=0)
    model.fit(anime.iloc[28:], anime["Score"].iloc[28:])
    assert model.estimator_ is network
    skio.save(network, tmp_path / "network.skanime")
    skio.save(model, tmp_path / "model.skanime")
    # the network inside the parameter and as estimator_ is written once
    size = (tmp_path / "model.skanime").stat().st_size
    assert size < 1.5 * (tmp_path / "network.skanime").stat().st_size
    loaded = skio.load(tmp_path / "model.skanime")
    assert loaded.estimator_ is loaded.estimator.estimator
    np.testing.assert_array_equal(
        loaded.predict_interval(anime, 0.8), model.predict_interval(anime, 0.8)
    )
    assert model.estimator_ is network  # saving left the model as it was


# -- widths scaled by a difficulty model ------------------------------------------


def _two_noise_levels(n, seed):
    """``y = 5 + x0 + noise``: noise sd 0.2 where ``x1 < 0``, 2.0 where not."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    noisy = X[:, 1] >= 0
    return X, 5 + X[:, 0] + rng.normal(size=n) * np.where(noisy, 2.0, 0.2), noisy


def test_a_difficulty_model_brings_each_groups_coverage_to_the_level():
    X, y, noisy = _two_noise_levels(6000, 0)
    train, test = slice(0, 4000), slice(4000, None)
    regressor = HistGradientBoostingRegressor(max_iter=30, random_state=0)
    coverage = {}
    for difficulty in (None, "auto"):
        model = ConformalRegressor(
            regressor, calibration_size=0.5, difficulty=difficulty, random_state=0
        ).fit(X[train], y[train])
        bounds = model.predict_interval(X[test], 0.8)
        inside = (bounds[:, 0] <= y[test]) & (y[test] <= bounds[:, 1])
        coverage[difficulty] = [inside.mean()] + [
            inside[noisy[test] == k].mean() for k in (False, True)
        ]
        widths = bounds[:, 1] - bounds[:, 0]
    # one width: every quiet row is covered, too few noisy ones
    overall, quiet, loud = coverage[None]
    assert overall == pytest.approx(0.8, abs=0.03) and quiet > 0.97 and loud < 0.7
    # scaled: both groups near the level, the noisy rows' intervals far wider
    assert coverage["auto"] == pytest.approx([0.8, 0.8, 0.8], abs=0.05)
    assert widths[noisy[test]].mean() > 5 * widths[~noisy[test]].mean()
    assert isinstance(model.difficulty_, HistGradientBoostingRegressor)
    assert model.difficulty_floor_ > 0 and len(model.calibration_residuals_) == 1000


def test_a_given_difficulty_model_is_cloned_and_one_width_asks_for_rows():
    X, y, _ = _two_noise_levels(400, 1)
    given = DummyRegressor()
    model = ConformalRegressor(Ridge(), difficulty=given, random_state=0).fit(X, y)
    assert model.difficulty_ is not given and not hasattr(given, "constant_")
    # a constant difficulty: one width again, from the half that calibrates
    widths = np.diff(model.predict_interval(X, 0.8), axis=1).ravel()
    np.testing.assert_allclose(widths, widths[0])
    with pytest.raises(ValueError, match="each row's interval has its own width"):
        model.half_width(0.8)
    with pytest.raises(ValueError, match="pass the rows y_pred was predicted for"):
        model.interval_around(model.predict(X), 0.8)
    with pytest.raises(DataError, match="need at least 4 and 2 \\(with difficulty"):
        ConformalRegressor(Ridge(), difficulty="auto").fit(X[:10], y[:10])


def test_the_difficulty_model_reads_the_networks_encoded_rows_once(
    anime, record_calls, tmp_path
):
    import skanime.io as skio
    from skanime import HybridAnimeRegressor
    from skanime._booster import booster_inputs

    network = fast_model(poster_column=None, validation_fraction=0)
    model = ConformalRegressor(
        network, calibration_size=0.5, difficulty="auto", random_state=0
    ).fit(anime, anime["Score"])
    packed = model.estimator_.pipeline_[:-1].transform(anime)
    assert model.difficulty_.n_features_in_ == booster_inputs(packed).shape[1]
    encoded = record_calls(HybridAnimeRegressor, "_packed_inputs", lambda *a: 1)
    bounds = model.predict_interval(anime, 0.8)
    assert len(encoded) == 1  # one encoding for the scores and the widths
    both = model.predict_interval(anime, [0.8, 0.9])
    assert len(encoded) == 2  # and one for every level at once
    np.testing.assert_array_equal(both[..., 0], bounds)
    np.testing.assert_array_equal(both[..., 1], model.predict_interval(anime, 0.9))
    pred = model.predict(anime)
    del encoded[:]
    np.testing.assert_array_equal(model.interval_around(pred, [0.8, 0.9], anime), both)
    assert len(encoded) == 1
    # around predictions already made, the rows give the widths, as they did
    np.testing.assert_array_equal(
        model.interval_around(model.predict(anime), 0.8, anime), bounds
    )
    np.testing.assert_allclose(bounds.mean(axis=1), model.predict(anime), atol=1e-9)
    skio.save(model, tmp_path / "model.skanime")
    loaded = skio.load(tmp_path / "model.skanime")
    np.testing.assert_array_equal(loaded.predict_interval(anime, 0.8), bounds)


def test_a_model_saved_before_difficulty_existed_keeps_one_width():
    X, y = np.zeros((50, 1)), np.arange(50.0)
    model = ConformalRegressor(DummyRegressor(), random_state=0).fit(X, y)
    state = model.__getstate__()
    for key in ("difficulty", "difficulty_", "difficulty_floor_"):
        del state[key]
    del state["time_column"], state["time_gap"]
    old = ConformalRegressor.__new__(ConformalRegressor)
    old.__setstate__(state)
    assert old.get_params()["difficulty"] is None and "ConformalRegressor(" in repr(old)
    assert old.get_params()["time_column"] is None
    assert old.get_params()["time_gap"] == 0
    np.testing.assert_array_equal(
        old.predict_interval(X, 0.8), model.predict_interval(X, 0.8)
    )


def test_is_a_scikit_learn_estimator_with_difficulty():
    check_estimator(
        ConformalRegressor(
            Ridge(), calibration_size=0.5, difficulty=Ridge(), random_state=0
        ),
        expected_failed_checks=_WEIGHT_IS_NOT_COPIES,
    )


# -- MAPIE ----------------------------------------------------------------------------


@pytest.fixture
def split(anime):
    X, y = anime, anime["Score"].to_numpy()
    return X.iloc[:20], y[:20], X.iloc[20:30], y[20:30], X.iloc[30:], y[30:]


def test_mapie_split_conformal_end_to_end(split):
    mapie = pytest.importorskip("mapie.regression")
    X_train, y_train, X_cal, y_cal, X_test, _ = split
    regressor = mapie.SplitConformalRegressor(
        fast_model(), confidence_level=[0.8, 0.9], prefit=False
    )
    regressor.fit(X_train, y_train).conformalize(X_cal, y_cal)
    predicted, bounds = regressor.predict_interval(X_test, allow_infinite_bounds=True)
    assert predicted.shape == (len(X_test),) and bounds.shape == (len(X_test), 2, 2)
    assert np.all(bounds[:, 0, :] <= predicted[:, None])
    assert np.all(bounds[:, 1, :] >= predicted[:, None])
    # the wider level gives the wider interval
    widths = bounds[:, 1, :] - bounds[:, 0, :]
    assert np.all(widths[:, 1] >= widths[:, 0])


def test_mapie_cross_conformal_end_to_end(anime):
    mapie = pytest.importorskip("mapie.regression")
    regressor = mapie.CrossConformalRegressor(
        fast_model(poster_column=None, validation_fraction=0),
        confidence_level=0.8,
        cv=3,
        random_state=0,
    )
    regressor.fit_conformalize(anime.iloc[:30], anime["Score"].iloc[:30])
    predicted, bounds = regressor.predict_interval(anime.iloc[30:])
    assert predicted.shape == (10,) and bounds.shape == (10, 2, 1)
    assert np.all(bounds[:, 0, 0] <= bounds[:, 1, 0])
    assert np.isfinite(bounds).all()


def test_a_bad_level_is_refused_before_predicting(monkeypatch):
    X, y = np.zeros((50, 1)), np.arange(50.0)
    model = ConformalRegressor(DummyRegressor(), random_state=0).fit(X, y)
    monkeypatch.setattr(model, "predict", lambda X: pytest.fail("predicted"))
    with pytest.raises(ValueError, match="confidence_level"):
        model.predict_interval(X, 1.5)
    for level in (None, "high"):  # the value given, not numpy's nan, is named
        with pytest.raises(ValueError, match=f"confidence_level={level!r}, expected"):
            model.predict_interval(X, level)


# -- sample_weight ----------------------------------------------------------------


class _WeightRecorder(DummyRegressor):
    """A constant model that keeps the rows and weights its fit was given."""

    def fit(self, X, y, sample_weight=None):
        self.rows_, self.weights_ = np.asarray(X)[:, 0].copy(), sample_weight
        return super().fit(X, y, sample_weight=sample_weight)


def test_weighted_calibration_counts_a_weight_as_copies():
    """A frozen model calibrated with weight k on a row gives the intervals of
    that row k times; weight 0 of no row; weights of 1 of no weights."""
    from sklearn.frozen import FrozenEstimator

    rng = np.random.default_rng(0)
    X, y = np.zeros((40, 1)), rng.normal(5, 1, size=40)
    fitted = FrozenEstimator(
        DummyRegressor(constant=5.0, strategy="constant").fit(X, y)
    )
    weight = rng.integers(0, 4, size=40)  # zeros included
    levels = [0.5, 0.8, 0.9, 0.95]
    weighted = ConformalRegressor(fitted).fit(X, y, sample_weight=weight)
    copies = np.repeat(np.arange(40), weight)
    repeated = ConformalRegressor(fitted).fit(X[copies], y[copies])
    np.testing.assert_array_equal(
        weighted.predict_interval(X[:3], levels),
        repeated.predict_interval(X[:3], levels),
    )
    ones = ConformalRegressor(fitted).fit(X, y, sample_weight=np.ones(40))
    plain = ConformalRegressor(fitted).fit(X, y)
    assert plain.calibration_weights_ is None
    np.testing.assert_array_equal(
        ones.predict_interval(X[:3], levels), plain.predict_interval(X[:3], levels)
    )
    # the weights stay with their residuals when these are sorted
    np.testing.assert_array_equal(
        weighted.calibration_weights_, weight[np.argsort(np.abs(y - 5), kind="stable")]
    )


def test_a_level_the_calibration_cannot_give_warns_with_what_it_needs():
    """Infinite bounds come with a DataWarning: rows for plain calibration, the
    total weight for weighted calibration (weights summing to 2 are two rows)."""
    from sklearn.frozen import FrozenEstimator

    X, y = np.zeros((10, 1)), np.linspace(4, 6, 10)
    constant = DummyRegressor(constant=5.0, strategy="constant").fit(X, y)
    fitted = FrozenEstimator(constant)
    plain = ConformalRegressor(fitted).fit(X, y)
    with pytest.warns(DataWarning, match=r"10 calibration row.*95% .*at least 19"):
        assert np.isinf(plain.predict_interval(X[:1], 0.95)).all()  # unbounded
    with pytest.warns(DataWarning, match=r"for a 99.5% interval.*at least 199"):
        plain.predict_interval(X[:1], 0.995)  # not "a 100% interval"
    light = ConformalRegressor(fitted).fit(X, y, sample_weight=np.full(10, 0.2))
    with pytest.warns(
        DataWarning,
        match=r"weigh 2 in all, too little for an 80% interval.*weight of at least 4",
    ):
        light.predict_interval(X[:1], 0.8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert np.isfinite(plain.predict_interval(X[:1], [0.5, 0.9])).all()


def test_training_weights_reach_the_estimator_and_calibration_weights_the_quantile():
    X = np.arange(50, dtype=float).reshape(-1, 1)  # a row's value is its index
    y = np.arange(50, dtype=float)
    weight = 1.0 + np.arange(50) % 3
    model = ConformalRegressor(_WeightRecorder(), random_state=0)
    model.fit(X, y, sample_weight=weight)
    trained = model.estimator_
    np.testing.assert_array_equal(trained.weights_, weight[trained.rows_.astype(int)])
    assert trained.constant_.item() == pytest.approx(
        np.average(y[trained.rows_.astype(int)], weights=trained.weights_)
    )
    held_out = np.setdiff1d(np.arange(50), trained.rows_.astype(int))
    order = np.argsort(np.abs(y[held_out] - trained.constant_.item()), kind="stable")
    np.testing.assert_array_equal(model.calibration_weights_, weight[held_out][order])
    # the same rows as unweighted: the split does not depend on the weights
    unweighted = ConformalRegressor(_WeightRecorder(), random_state=0).fit(X, y)
    assert set(unweighted.estimator_.rows_) == set(trained.rows_)


def test_weighting_later_rows_makes_intervals_follow_them():
    """Errors grow with time: one width from every calibration row is too
    narrow for the latest rows; weights that favour later rows cover them."""
    from sklearn.frozen import FrozenEstimator

    rng = np.random.default_rng(3)
    year = np.repeat(np.arange(2000, 2020), 100)
    noise = 0.2 + 0.1 * (year - 2000)  # later rows are harder to predict
    X = year.reshape(-1, 1).astype(float)
    y = 5 + rng.normal(size=len(year)) * noise
    fitted = FrozenEstimator(
        DummyRegressor(strategy="constant", constant=5.0).fit(X, y)
    )
    recency = np.exp((year - 2019) / 2.0)
    new_X = np.full((4000, 1), 2019.0)
    new_y = 5 + rng.normal(size=4000) * noise[-1]
    found = {}
    for name, weight in (("plain", None), ("recent", recency)):
        model = ConformalRegressor(fitted).fit(X, y, sample_weight=weight)
        found[name] = interval_coverage(new_y, model.predict_interval(new_X, 0.8))
    assert found["plain"]["coverage"] < 0.65
    assert 0.75 < found["recent"]["coverage"] < 0.9


def test_weights_with_a_difficulty_model_fit_both_halves():
    X = np.arange(60, dtype=float).reshape(-1, 1)
    y = np.sin(np.arange(60.0))
    weight = 1.0 + np.arange(60) % 2
    model = ConformalRegressor(
        DummyRegressor(), difficulty=_WeightRecorder(), random_state=0
    ).fit(X, y, sample_weight=weight)
    learned_on = model.difficulty_.rows_.astype(int)
    np.testing.assert_array_equal(model.difficulty_.weights_, weight[learned_on])
    assert len(model.calibration_weights_) == len(model.calibration_residuals_) == 6


def test_weights_are_refused_where_a_model_cannot_take_them():
    from sklearn.frozen import FrozenEstimator
    from sklearn.neighbors import KNeighborsRegressor

    X, y, weight = np.zeros((30, 1)), np.arange(30.0), np.ones(30)
    with pytest.raises(ValueError, match=r"the estimator \(KNeighborsRegressor\)"):
        ConformalRegressor(KNeighborsRegressor()).fit(X, y, sample_weight=weight)
    with pytest.raises(ValueError, match=r"the difficulty \(KNeighborsRegressor\)"):
        ConformalRegressor(DummyRegressor(), difficulty=KNeighborsRegressor()).fit(
            X, y, sample_weight=weight
        )
    with pytest.raises(ValueError, match="Negative values in data passed to `sample"):
        ConformalRegressor(DummyRegressor()).fit(X, y, sample_weight=-weight)
    # a frozen model only calibrates: it needs no sample_weight of its own
    knn = FrozenEstimator(KNeighborsRegressor(n_neighbors=2).fit(X, y))
    model = ConformalRegressor(knn).fit(X, y, sample_weight=weight)
    assert len(model.calibration_weights_) == 30


def test_weights_train_the_wrapped_network_as_they_would_alone(anime):
    """The default kind of estimator: the training rows' weights reach
    HybridAnimeRegressor.fit, so the network equals one fitted on those rows
    with those weights, and differs from the unweighted one."""
    from sklearn.model_selection import train_test_split

    y = anime["Score"].to_numpy()
    weight = np.where(np.arange(len(y)) % 2 == 0, 3.0, 0.5)
    network = fast_model(poster_column=None, validation_fraction=0)
    model = ConformalRegressor(network, random_state=0).fit(
        anime, y, sample_weight=weight
    )
    # the split ConformalRegressor draws: its first random integer seeds it
    split_seed = np.random.RandomState(0).randint(2**31 - 1)
    X_fit, _, y_fit, _, w_fit, _ = train_test_split(
        anime, y, weight, test_size=8, random_state=split_seed
    )
    alone = fast_model(poster_column=None, validation_fraction=0)
    alone.fit(X_fit, y_fit, sample_weight=w_fit)
    np.testing.assert_array_equal(model.predict(anime), alone.predict(anime))
    unweighted = fast_model(poster_column=None, validation_fraction=0)
    unweighted.fit(X_fit, y_fit)
    assert not np.allclose(unweighted.predict(anime), alone.predict(anime))


# -- calibrating for later rows (time_column) -----------------------------------------


def test_time_column_calibrates_on_the_latest_rows_then_trains_on_every_row():
    """The latest rows calibrate a clone trained on the others (rows without a
    time among them); the model kept is then trained on every row. A constant
    model makes each fit's rows visible through its mean."""
    year = np.random.default_rng(0).permutation(np.arange(50.0))
    X = pd.DataFrame({"Year": np.r_[year, np.nan, np.nan], "other": 0.0})
    y = np.r_[year, 100.0, 100.0]  # the two rows without a year score 100
    model = ConformalRegressor(
        DummyRegressor(), calibration_size=0.2, time_column="Year", random_state=0
    ).fit(X, y)
    # round(52 * 0.2) = 10 calibration rows: the years 40 to 49
    first_mean = (np.arange(40.0).sum() + 200) / 42
    np.testing.assert_allclose(
        model.calibration_residuals_, np.arange(40.0, 50.0) - first_mean
    )
    assert model.estimator_.constant_.item() == pytest.approx(y.mean())
    assert model.predict(X.head(1)).item() == pytest.approx(y.mean())


def test_time_column_breaks_ties_at_random_and_keeps_the_rows_order():
    """At the boundary, rows of the same time are drawn by random_state; the
    training rows reach the clone in their own order."""
    seen = []

    class Recording(DummyRegressor):
        def fit(self, X, y, sample_weight=None):
            seen.append(np.asarray(X)[:, 1].copy())
            return super().fit(X, y, sample_weight)

    X = np.column_stack([np.repeat([0.0, 1.0], 10), np.arange(20.0)])
    y = X[:, 0].copy()
    draws = set()
    for seed in range(6):
        seen.clear()
        model = ConformalRegressor(
            Recording(), calibration_size=0.25, time_column=0, random_state=seed
        ).fit(X, y)
        first, final = seen
        assert len(first) == 15 and np.all(np.diff(first) > 0)
        assert set(range(10)) <= set(first)  # every row of time 0 trains
        np.testing.assert_array_equal(final, np.arange(20.0))
        # 5 of the 10 rows of time 1 calibrate: error 1 - 5 / 15 each
        np.testing.assert_allclose(model.calibration_residuals_, [2 / 3] * 5)
        drawn = sorted(set(range(10, 20)) - set(first))
        np.testing.assert_array_equal(model.calibration_rows_, drawn)
        draws.add(tuple(drawn))
    assert len(draws) > 1


def test_time_column_intervals_cover_rows_later_than_the_data():
    """A model that cannot extrapolate (neighbours in time) errs more the
    further ahead a row is: random calibration rows give far too narrow
    intervals for later rows, the latest rows nearly the nominal level."""
    from sklearn.neighbors import KNeighborsRegressor

    rng = np.random.default_rng(0)
    t = rng.uniform(0, 100, 1000)
    X, y = pd.DataFrame({"t": t}), 0.1 * t + rng.normal(0, 0.2, 1000)
    later_t = rng.uniform(100, 110, 500)
    later_X, later_y = pd.DataFrame({"t": later_t}), 0.1 * later_t
    later_y = later_y + rng.normal(0, 0.2, 500)
    found = {}
    for time_column in (None, "t"):
        model = ConformalRegressor(
            KNeighborsRegressor(20),
            calibration_size=0.1,
            time_column=time_column,
            random_state=0,
        ).fit(X, y)
        bounds = model.predict_interval(later_X, 0.8)
        found[time_column] = interval_coverage(later_y, bounds)["coverage"]
    assert found[None] < 0.4
    assert 0.72 < found["t"] < 0.92


def test_time_gap_leaves_the_rows_just_before_the_calibration_rows_out_of_the_clone():
    """With time_gap, the clone trains only on rows more than the gap before the
    earliest calibration row (and rows without a time); the model kept still
    trains on every row. A constant model shows each fit's rows by its mean."""
    seen = []

    class Recording(DummyRegressor):
        def fit(self, X, y, sample_weight=None):
            seen.append(np.sort(np.asarray(X["Year"])))  # NaN last
            return super().fit(X, y, sample_weight)

    year = np.repeat(np.arange(2000.0, 2010.0), 3)  # 30 rows, 3 a year
    X = pd.DataFrame({"Year": np.r_[year, np.nan]})
    y = np.r_[year, 0.0]
    for gap, last in [(0, 2008.0), (1, 2007.0), (2.5, 2006.0)]:
        seen.clear()
        model = ConformalRegressor(
            Recording(), calibration_size=3 / 31, time_column="Year", time_gap=gap
        ).fit(X, y)
        clone, kept = seen
        assert np.isnan(clone[-1]) and clone[-2] == last  # the row without a year
        assert len(clone) == 1 + 3 * (last - 1999)
        assert len(kept) == 31
        np.testing.assert_array_equal(model.calibration_rows_, [27, 28, 29])
        mean = np.mean(np.r_[np.repeat(np.arange(2000.0, last + 1), 3), 0.0])
        np.testing.assert_allclose(model.calibration_residuals_, [2009 - mean] * 3)


class _Talking(DummyRegressor):
    """A constant model that says how many rows it fits on when verbose."""

    def __init__(self, verbose=0):
        super().__init__()
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        if self.verbose:
            print(f"fitting on {len(y)} rows")
        return super().fit(X, y, sample_weight)


@pytest.mark.parametrize("verbose", [0, 1])
@pytest.mark.parametrize(
    "gap, first",
    [(0, "the 40 rows before"), (5, "the 35 rows more than 5 before")],
)
def test_time_column_names_each_fit_where_the_estimator_is_verbose(
    capsys, verbose, gap, first
):
    """Each of the two fits prints its own progress (a HybridAnimeRegressor: its
    roles and epochs); a verbose estimator's output says which fit is which."""
    X = pd.DataFrame({"Year": np.arange(50.0)})
    ConformalRegressor(
        _Talking(verbose), calibration_size=0.2, time_column="Year", time_gap=gap
    ).fit(X, np.arange(50.0))
    out = capsys.readouterr().out.splitlines()
    expected = [
        f"ConformalRegressor: fit 1 of 2, on {first} the latest 10 by 'Year' "
        "(its errors on those 10 calibrate the intervals).",
        f"fitting on {50 - 10 - gap} rows",
        "ConformalRegressor: fit 2 of 2, the model kept, on all 50 rows.",
        "fitting on 50 rows",
    ]
    assert out == (expected if verbose else [])


def test_time_column_passes_each_fit_its_rows_weights():
    X = pd.DataFrame({"Year": np.arange(20.0)})
    y = np.arange(20.0)
    w = np.r_[np.ones(15), np.arange(1.0, 6.0)]
    model = ConformalRegressor(
        DummyRegressor(), calibration_size=0.25, time_column="Year", random_state=0
    ).fit(X, y, sample_weight=w)
    first_mean = np.arange(15.0).mean()  # the first 15 rows weigh 1 each
    residuals = np.arange(15.0, 20.0) - first_mean
    np.testing.assert_allclose(model.calibration_residuals_, residuals)
    np.testing.assert_array_equal(model.calibration_weights_, np.arange(1.0, 6.0))
    expected = np.average(y, weights=w)
    assert model.estimator_.constant_.item() == pytest.approx(expected)


def test_time_column_refusals_name_the_problem():
    from sklearn.frozen import FrozenEstimator

    from skanime.exceptions import ColumnError

    X = pd.DataFrame({"Year": [2000.0, np.nan, np.nan, np.nan, 2001.0]})
    y = np.arange(5.0)
    fitted = FrozenEstimator(DummyRegressor().fit(X, y))
    cases = [
        (ConformalRegressor(fitted, time_column="Year"), ValueError, "FrozenEst"),
        (
            ConformalRegressor(DummyRegressor(), difficulty="auto", time_column=0),
            ValueError,
            "does not take a difficulty",
        ),
        (
            ConformalRegressor(DummyRegressor(), time_column="Aired"),
            ColumnError,
            r"time_column='Aired': X has no such column; it has \['Year'\]",
        ),
        (
            ConformalRegressor(
                DummyRegressor(), calibration_size=0.6, time_column="Year"
            ),
            DataError,
            "gives a time to 2 of 5 rows; calibration_size=0.6 needs the 3 latest",
        ),
        (
            ConformalRegressor(DummyRegressor(), time_gap=1),
            ValueError,
            "time_gap=1 needs a time_column",
        ),
    ]
    for model, error, message in cases:
        with pytest.raises(error, match=message):
            model.fit(X, y)
    years = pd.DataFrame({"Year": [2000.0, 2000.0, 2001.0]})
    with pytest.raises(DataError, match=r"leaves 0 rows before 2000 \(by 'Year'\)"):
        ConformalRegressor(
            DummyRegressor(), calibration_size=1 / 3, time_column="Year", time_gap=1
        ).fit(years, y[:3])
    dates = pd.DataFrame({"Aired": pd.date_range("2000-01-01", periods=5)})
    with pytest.raises(DataError, match="'Aired' holds datetime64"):
        ConformalRegressor(
            DummyRegressor(), calibration_size=0.2, time_column="Aired", time_gap=1
        ).fit(dates, y)
    # text that is not dates would order rows by the alphabet: refused
    titles = pd.DataFrame({"Title": ["Naruto", "Bleach", "Apr 5, 2009", "K", None]})
    with pytest.raises(ColumnError, match=r"neither numbers nor dates \(such as 'Nar"):
        ConformalRegressor(DummyRegressor(), time_column="Title").fit(titles, y)


def test_time_column_reads_dates_written_as_text_in_years():
    aired = pd.Series(
        [
            "Jan 1, 2001",
            "Apr 5, 2009 to Jul 4, 2010",  # 2009.25: later than 2001 and 2005
            "Not available",  # no date: no time, silently
            "2005 to ?",
            "Oct 2, 2009",  # 2009.75: the latest
            None,
        ]
    )
    X, y = pd.DataFrame({"Aired": aired}), np.arange(6.0)
    model = ConformalRegressor(
        _WeightRecorder(), calibration_size=2 / 6, time_column="Aired"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Not available" and None warn nothing
        model.fit(X, y)
    np.testing.assert_array_equal(model.calibration_rows_, [1, 4])
    # the clone, a mean, trained on rows 0, 2, 3 and 5 (mean 2.5)
    np.testing.assert_allclose(model.calibration_residuals_, [1.5, 1.5])
    # in years: a gap of 5 before 2009.25 leaves out 2005 (row 3), not 2001
    gapped = ConformalRegressor(
        _WeightRecorder(), calibration_size=2 / 6, time_column="Aired", time_gap=5
    ).fit(X, y)
    np.testing.assert_array_equal(gapped.calibration_rows_, [1, 4])
    np.testing.assert_allclose(gapped.calibration_residuals_, [4 / 3, 5 / 3])
    # a number among date text is read as a number: 2002.75 after 2002.5 (as a
    # date, "2002.75" would be the start of 2002)
    mixed = pd.DataFrame({"t": ["2000", None, "Mar 2003", "2002.75", "2002.5"]})
    ranked = ConformalRegressor(
        _WeightRecorder(), calibration_size=0.4, time_column="t"
    ).fit(mixed, np.arange(5.0))
    np.testing.assert_array_equal(ranked.calibration_rows_, [2, 3])
    # a cell that holds text but no date gets no time, with a warning naming it
    X.loc[0, "Aired"] = "sometime"
    with pytest.warns(DataWarning, match=r"1 value\(s\) .* \(e.g. 'sometime'\)"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.calibration_rows_, [1, 4])


@pytest.mark.parametrize(
    "times",
    [
        pd.Series([2000, None, 2003, 2001, 2002], dtype="Int64"),  # with pd.NA
        pd.Series(["2000", None, "2003", "2001", "2002"]),  # numbers as text
        pd.Series(["2000", None, "Mar 2003", "Unknown", "2002.5"]),  # and dates
        pd.to_datetime(
            pd.Series(["2000", None, "2003", "2001", "2002"])
        ).dt.tz_localize("UTC"),
        # objects: datetime.date (.dt.date) and Timestamps (mixed zones)
        pd.to_datetime(pd.Series(["2000", None, "2003", "2001", "2002"])).dt.date,
        pd.to_datetime(pd.Series(["2000", None, "2003", "2001", "2002"])).astype(
            object
        ),
    ],
    ids=[
        "Int64",
        "text of numbers",
        "text of numbers and dates",
        "dates with a zone",
        "date objects",
        "Timestamp objects",
    ],
)
def test_time_column_reads_numbers_and_dates_in_any_dtype(times):
    X, y = pd.DataFrame({"t": times}), np.arange(5.0)
    model = ConformalRegressor(_WeightRecorder(), calibration_size=0.4, time_column="t")
    model.fit(X, y)
    np.testing.assert_array_equal(model.calibration_rows_, [2, 4])  # 2003, 2002


def test_is_a_scikit_learn_estimator_with_a_time_column():
    check_estimator(
        ConformalRegressor(Ridge(), time_column=0, random_state=0),
        expected_failed_checks={
            **_WEIGHT_IS_NOT_COPIES,
            "check_estimators_empty_data_messages": "the time column is looked "
            "up before the estimator reads X, so an X without columns is "
            "refused with a ColumnError naming time_column, not the estimator's "
            "'0 feature(s)' message",
        },
    )


def test_interval_around_refuses_predictions_that_are_not_one_a_row():
    """A (2, 2) y_pred was raveled into four intervals for two rows, and a NaN
    prediction gave a NaN interval, both without a word."""
    X, y = np.zeros((40, 1)), np.arange(40.0)
    model = ConformalRegressor(DummyRegressor(), random_state=0).fit(X, y)
    column = model.predict(X[:3]).reshape(-1, 1)  # a network's (n, 1) is one a row
    np.testing.assert_array_equal(
        model.interval_around(column, 0.8), model.predict_interval(X[:3], 0.8)
    )
    cases = [
        (np.ones((2, 2)), None, r"one score a row; got shape \(2, 2\)"),
        ([7.0, np.nan], None, r"1 missing or infinite value\(s\) \(the first at pos"),
        (["high"], None, "interval_around: y_pred must hold numbers"),
        ([7.0, 8.0], X[:3], "y_pred has 2 predictions but X has 3 rows"),
    ]
    for y_pred, rows, message in cases:
        with pytest.raises(ValueError, match=message):
            model.interval_around(y_pred, 0.8, rows)


def test_score_names_a_bad_target_as_fit_does():
    from skanime.exceptions import TargetError

    X, y = np.arange(40.0).reshape(-1, 1), np.arange(40.0)
    model = ConformalRegressor(Ridge(), random_state=0).fit(X, y)
    with pytest.raises(TargetError, match=r"y holds 1 NaN .* position 3"):
        model.score(X, np.where(np.arange(40) == 3, np.nan, y))
    with pytest.raises(DataError, match="X has 40 rows but y has 39"):
        model.score(X, y[1:])
    assert model.score(X, y) == pytest.approx(Ridge().fit(X, y).score(X, y), abs=0.01)
