"""Prediction intervals: the split-conformal wrapper, and MAPIE on the estimator."""

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import check_estimator

from skanime.exceptions import DataError, NotFittedError
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


def test_intervals_are_clipped_to_the_target_range(anime):
    model = ConformalRegressor(
        fast_model(poster_column=None, validation_fraction=0), random_state=0
    ).fit(anime, anime["Score"])
    bounds = model.predict_interval(anime, 0.9)
    width = model.half_width(0.9)
    pred = model.predict(anime)
    assert bounds.shape == (len(anime), 2)
    assert np.all((bounds >= 1) & (bounds <= 10))
    np.testing.assert_allclose(bounds[:, 0], np.maximum(pred - width, 1))
    np.testing.assert_array_equal(model.interval_around(pred, 0.9), bounds)
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


def test_is_a_scikit_learn_estimator():
    check_estimator(ConformalRegressor(Ridge(), random_state=0))


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
