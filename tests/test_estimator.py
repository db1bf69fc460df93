"""HybridAnimeRegressor: the scikit-learn contract on a tiny anime table."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skanime import (
    HybridAnimeRegressor,
    HybridNet,
    PackInputs,
    make_tabular_encoder,
)
from skanime.exceptions import ColumnError, DataError, NotFittedError, TargetError

from .conftest import fast_model


def test_fit_predict_score(fitted_model, anime):
    pred = fitted_model.predict(anime)
    assert pred.shape == (len(anime),) and pred.dtype == np.float64
    assert np.isfinite(pred).all()
    assert isinstance(fitted_model.score(anime, anime["Score"]), float)
    assert fitted_model.n_features_in_ == anime.shape[1]
    assert list(fitted_model.feature_names_in_) == list(anime.columns)
    assert fitted_model.get_feature_names_out()[-1] == "poster__path"
    assert fitted_model.net_.module_.backbone is not None
    assert len(fitted_model.history_) == 2


def test_same_random_state_same_predictions_and_global_rng_untouched(anime):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = fast_model(random_state=7).fit(anime, anime["Score"]).predict(anime)
    assert torch.rand(1) == before  # the global torch RNG was left as it was
    b = fast_model(random_state=7).fit(anime, anime["Score"]).predict(anime)
    c = fast_model(random_state=8).fit(anime, anime["Score"]).predict(anime)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_predictions_do_not_depend_on_batch_composition(fitted_model, anime):
    full = fitted_model.predict(anime)
    np.testing.assert_allclose(
        fitted_model.predict(anime.iloc[:7]), full[:7], rtol=1e-5
    )
    order = np.random.default_rng(0).permutation(len(anime))
    np.testing.assert_allclose(
        fitted_model.predict(anime.iloc[order]), full[order], rtol=1e-5
    )


def test_tabular_only_model(anime):
    tabular = anime.drop(columns="poster")
    model = fast_model(poster_column=None).fit(tabular, tabular["Score"])
    assert model.net_.module_.backbone is None
    assert model.predict(tabular).shape == (len(tabular),)


def test_missing_poster_column_error_says_how_to_go_tabular_only(anime):
    with pytest.raises(
        ColumnError, match=r"poster_column: 'poster'.*poster_column=None"
    ):
        fast_model(poster_column="poster").fit(
            anime.drop(columns="poster"), anime["Score"]
        )


def test_auto_roles_without_a_poster_column_fit_a_tabular_only_model(anime):
    model = fast_model().fit(anime.drop(columns="poster"), anime["Score"])
    assert model.poster_column_ is None and model.backbone_ is None
    assert model.net_.module_.backbone is None


def test_predict_without_the_trained_poster_column_says_retrain(fitted_model, anime):
    with pytest.raises(ColumnError, match=r"trained with posters.*retrain"):
        fitted_model.predict(anime.drop(columns="poster"))


def test_missing_column_error_names_it_and_suggests(anime):
    frame = anime.rename(columns={"Genres": "Genre"})
    with pytest.raises(
        ColumnError, match=r"list_columns: 'Genres' \(did you mean 'Genre'"
    ):
        fast_model(list_columns=["Genres", "Themes"]).fit(frame, frame["Score"])


def test_all_posters_missing_still_fits(anime):
    frame = anime.assign(poster=None)
    pred = fast_model().fit(frame, frame["Score"]).predict(frame)
    assert np.isfinite(pred).all()


def test_posters_decoded_by_dataloader_workers_match_in_process(anime):
    a = fast_model(num_workers=0).fit(anime, anime["Score"]).predict(anime)
    # workers started afresh each epoch draw the random numbers that loading in
    # the process draws (a persistent worker's second epoch draws none)
    b = fast_model(
        num_workers=2,
        iterator_train__persistent_workers=False,
        iterator_valid__persistent_workers=False,
    )
    b = b.fit(anime, anime["Score"]).predict(anime)
    np.testing.assert_allclose(a, b, rtol=1e-5)


def _count_start(counter, worker_id):
    with counter.get_lock():
        counter.value += 1


def test_dataloader_workers_start_once_per_fit_not_once_per_epoch(anime):
    """Starting workers again every epoch cost about 0.35 s an epoch with two
    of them on this CPU (docs/scaling_out.md): they persist for the fit."""
    import functools
    import multiprocessing

    started = multiprocessing.get_context("fork").Value("i", 0)
    count = functools.partial(_count_start, started)
    model = fast_model(
        num_workers=2,
        max_epochs=3,
        iterator_train__worker_init_fn=count,
        iterator_valid__worker_init_fn=count,
    )
    model.fit(anime, anime["Score"])
    assert len(model.history_) == 3
    assert started.value == 4  # two for training, two for validation
    again = fast_model(num_workers=2, max_epochs=3).fit(anime, anime["Score"])
    np.testing.assert_array_equal(again.predict(anime), model.predict(anime))


def test_cross_val_score(anime):
    scores = cross_val_score(fast_model(), anime, anime["Score"], cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_grid_search_reaches_network_parameters(anime):
    grid = GridSearchCV(
        fast_model(),
        {"lr": [1e-3, 3e-3], "module__hidden_units": [4, 6]},
        cv=2,
    ).fit(anime, anime["Score"])
    assert len(grid.cv_results_["params"]) == 4
    best = grid.best_estimator_
    hidden = grid.best_params_["module__hidden_units"]
    assert best.net_.module_.tabular[0].out_features == hidden
    assert best.net_.lr == grid.best_params_["lr"]


def test_get_set_params_and_clone_keep_network_parameters():
    model = HybridAnimeRegressor(module__hidden_units=16, lr=0.01)
    assert model.get_params()["module__hidden_units"] == 16
    model.set_params(
        module__hidden_units=32, optimizer__weight_decay=1e-4, max_epochs=3
    )
    cloned = clone(model)
    params = cloned.get_params()
    assert params["module__hidden_units"] == 32
    assert params["optimizer__weight_decay"] == 1e-4
    assert params["max_epochs"] == 3


def test_misspelled_network_prefix_is_reported(anime):
    with pytest.raises(
        TypeError, match=r"'modul__hidden_units' \(did you mean 'module__"
    ):
        fast_model(modul__hidden_units=4)


def test_bad_module_parameter_names_it(anime):
    with pytest.raises(TypeError, match="hiden_units"):
        fast_model(module__hiden_units=4).fit(anime, anime["Score"])


def test_early_stopping_stops_after_patience_epochs_without_improvement(anime):
    model = fast_model(max_epochs=40, early_stopping=True, patience=2, lr=0.05)
    history = model.fit(anime, anime["Score"]).history_
    valid = history[:, "valid_loss"]
    best = int(np.argmin(valid))
    assert len(history) == 40 or len(history) - 1 - best == 2


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (lambda n: np.full(n, np.nan), "NaN or infinite"),
        (lambda n: np.r_[np.inf, np.ones(n - 1)], "NaN or infinite"),
        (lambda n: ["good"] * n, "must be numeric"),
        (lambda n: np.ones(n - 1), "inconsistent numbers"),
        (lambda n: None, "requires y"),
    ],
)
def test_bad_targets_are_named(anime, y, match):
    with pytest.raises((TargetError, ValueError), match=match):
        fast_model().fit(anime, y(len(anime)))


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (lambda y: y.where(y > 7), TargetError, "NaN or infinite.*dropna=True"),
        (lambda y: ["good"] * len(y), TargetError, "must be numeric"),
        (lambda y: y[:5], DataError, "X has 40 rows but y has 5"),
    ],
)
def test_score_names_a_bad_target_as_fit_does(fitted_model, anime, y, error, match):
    """It was scikit-learn's "Input contains NaN" from inside r2_score."""
    with pytest.raises(error, match=match):
        fitted_model.score(anime, y(anime["Score"]))
    records = anime.to_dict("records")  # as predict reads them
    assert fitted_model.score(records, anime["Score"]) == pytest.approx(
        fitted_model.score(anime, anime["Score"])
    )


def test_empty_and_single_row_frames(anime):
    with pytest.raises(ValueError, match="0 sample"):
        fast_model().fit(anime.iloc[:0], anime["Score"].iloc[:0])
    with pytest.raises(ValueError, match="at least 2 samples"):
        fast_model().fit(anime.iloc[:1], anime["Score"].iloc[:1])


def test_not_fitted_is_both_errors(anime):
    with pytest.raises(NotFittedError):
        HybridAnimeRegressor().predict(anime)
    assert issubclass(NotFittedError, SklearnNotFittedError)


def test_pipeline_assembled_by_hand(anime):
    pipe = Pipeline(
        [
            ("features", make_tabular_encoder(min_frequency=1)),
            ("pack", PackInputs()),
            (
                "net",
                HybridNet(
                    max_epochs=1,
                    batch_size=16,
                    verbose=0,
                    module__hidden_units=4,
                    module__image_size=16,
                ),
            ),
        ]
    )
    y = anime["Score"].to_numpy()
    pred = pipe.fit(anime, y).predict(anime)
    assert pred.shape == (len(anime),)
    assert pipe["net"].module_.backbone is not None
    assert pipe["net"].image_decoder_.image_size == 16


def test_no_step_refers_to_another(anime):
    """The net builds its own decoder: nothing of the ColumnTransformer in it."""
    model = fast_model().fit(anime, anime["Score"])
    net = model.net_
    loader = model.pipeline_["features"].named_transformers_["poster"]
    assert net.image_decoder_ is not loader
    assert not any(value is loader for value in vars(net).values())
    model.set_params(poster_root="elsewhere")
    assert list(model.pipeline_.named_steps) == ["clean", "features", "pack", "net"]


def test_numeric_arrays_with_column_selectors():
    from sklearn.compose import make_column_selector

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = 6 + X[:, 0]
    model = fast_model(
        numeric_columns=make_column_selector(dtype_include="number"),
        categorical_columns=None,
        list_columns=None,
        poster_column=None,
    ).fit(X, y)
    assert model.predict(pd.DataFrame(X).to_numpy()).shape == (30,)


def test_no_input_at_all_is_a_column_error(anime):
    from skanime.exceptions import ColumnError

    model = fast_model(
        numeric_columns=None,
        categorical_columns=None,
        list_columns=None,
        poster_column=None,
        text_columns=None,
    )
    with pytest.raises(ColumnError, match="No column of X can be used"):
        model.fit(anime, anime["Score"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
@pytest.mark.skipif(
    torch.accelerator.current_accelerator(check_available=True) is not None,
    reason="a machine without an accelerator",
)
@pytest.mark.parametrize("device", ["cuda", "cuda:1", "mps", "xpu"])
def test_an_accelerator_not_here_is_a_clear_error_before_any_work(anime, device):
    from skanime.exceptions import DeviceError

    # "mps" was torch's RuntimeError "PyTorch is not linked with support for mps
    # devices" from inside the first epoch
    kind = torch.device(device).type.upper()
    with pytest.raises(
        DeviceError, match=rf"device='{device}', but torch sees no {kind} device here"
    ):
        fast_model(device=device).fit(anime, anime["Score"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without a GPU")
def test_device_auto_trains_on_the_cpu_without_a_gpu(anime, tmp_path):
    import pickle
    import warnings

    model = fast_model(device="auto", engine="torch", freeze_backbone=True)
    model.fit(anime, anime["Score"])
    assert model.get_params()["device"] == "auto" and model.device_ == "cpu"
    assert model.net_.device == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeviceWarning: nothing to remap
        loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(anime), model.predict(anime))


@pytest.mark.parametrize(
    "device, gpu, expected",
    [("auto", True, "cuda"), ("auto", False, "cpu"), ("cuda:1", False, "cuda:1")],
)
def test_resolve_device(device, gpu, expected, monkeypatch):
    from skanime._validation import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert resolve_device(device) == expected


def test_make_hybrid_pipeline_has_the_estimators_defaults():
    """The estimator hands its parameters to make_hybrid_pipeline; a default
    changed in one signature and not the other (as patience once was in both)
    would make the two build different models. Only the column selections
    differ: "auto" needs the estimator's role inference."""
    import inspect

    from skanime import make_hybrid_pipeline

    def defaults(function):
        return {
            name: p.default
            for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty
        }

    estimator, pipeline = (
        defaults(HybridAnimeRegressor.__init__),
        defaults(make_hybrid_pipeline),
    )
    columns = {f"{kind}_columns" for kind in ("numeric", "categorical", "list")}
    columns |= {"text_columns", "poster_column"}
    shared = (set(estimator) & set(pipeline)) - columns
    assert len(shared) > 30
    assert {k: estimator[k] for k in shared} == {k: pipeline[k] for k in shared}
    assert all(estimator[k] == "auto" for k in columns)
    # the booster is fitted beside the pipeline, on its network's inputs; the
    # date and duration columns reach it through the roles (its cleaner's)
    assert set(estimator) - set(pipeline) == {
        "target_range",
        "booster",
        "booster_weight",
        "booster_time_column",
        "date_columns",
        "duration_columns",
    }
    assert estimator["date_columns"] == estimator["duration_columns"] == "auto"
