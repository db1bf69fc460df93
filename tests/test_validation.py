"""Input checks of HybridAnimeRegressor: parameters, frames, columns, targets."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from skanime import HybridAnimeRegressor, _posters
from skanime._version import PERSISTENCE_FORMAT
from skanime.backbones import UnknownBackboneError
from skanime.exceptions import (
    ColumnError,
    DataError,
    DataWarning,
    DeviceError,
    IncompatibleModelError,
    TargetError,
)

from .conftest import fast_model


@pytest.mark.parametrize(
    ("params", "hint"),
    [
        ({"max_epoch": 1}, "max_epochs"),
        ({"learning_rate": 5.0}, "lr"),
        ({"on_error": "raise"}, "poster_errors"),
        ({"root": "x"}, "poster_root"),
    ],
)
def test_misspelled_parameters_are_type_errors_with_a_hint(params, hint):
    (name,) = params
    with pytest.raises(TypeError, match=rf"'{name}' \(did you mean '{hint}'\?\)"):
        HybridAnimeRegressor(**params)


def test_prefixed_parameters_pass_through():
    model = HybridAnimeRegressor(module__hidden_units=4, optimizer__weight_decay=0.1)
    assert model.get_params()["module__hidden_units"] == 4


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"module__hiden_units": 4}, "HybridModule takes no 'hiden_units' (did you "),
        ({"optimizer__weight_dekay": 1}, "Adam takes no 'weight_dekay' (did you mean"),
        ({"criterion__delt": 2}, "HuberLoss takes no 'delt' (did you mean 'delta'"),
        (
            {"loss": "squared_error", "criterion__delta": 1.0},
            "MSELoss takes no 'delta'",
        ),
        ({"iterator_train__shufle": False}, "DataLoader takes no 'shufle'"),
        ({"callbacks__print_log__fmt": "x"}, "callback 'print_log' takes no 'fmt'"),
        # skorch ignores a callback it does not have, without a word
        ({"callbacks__print_lg__floatfmt": "x"}, "no callback 'print_lg' (did you "),
        (
            {"validation_fraction": 0, "callbacks__early_stopping__patience": 3},
            "no callback 'early_stopping'; it has 'input_shapes', 'epoch_timer'",
        ),
    ],
)
def test_network_parameters_it_cannot_use_are_named_before_training(
    anime, params, message, record_calls
):
    from sklearn.utils._param_validation import InvalidParameterError

    from skanime._pipeline import PackInputs

    packs = record_calls(PackInputs, "fit", lambda *a, **k: None)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        fast_model(**params).fit(anime, anime["Score"])
    assert packs == []  # nothing was encoded, no poster read


def test_without_skorchs_callback_naming_the_rest_is_still_checked(monkeypatch):
    """skorch names callbacks only in a private method: a release without it
    leaves callback parameters to skorch, and the other checks still run."""
    import skorch
    import torch
    from sklearn.utils._param_validation import InvalidParameterError

    from skanime._validation import check_net_params

    net = skorch.NeuralNetRegressor(torch.nn.Linear)
    given = ["callbacks__print_lg__floatfmt", "module__in_featres"]
    with pytest.raises(InvalidParameterError, match="no callback 'print_lg'"):
        check_net_params("Model", net, given)
    monkeypatch.delattr(skorch.NeuralNet, "_uniquely_named_callbacks")
    with pytest.raises(InvalidParameterError) as raised:
        check_net_params("Model", net, given)
    assert "Linear takes no 'in_featres' (did you mean 'in_features'" in str(
        raised.value
    )
    assert "print_lg" not in str(raised.value)
    check_net_params("Model", net, given[:1])  # nothing else to refuse


def test_fewer_rows_than_the_priors_folds_are_named(anime):
    few, y = anime.head(4), anime["Score"].head(4)
    with pytest.raises(
        DataError,
        match=r"cross-fits its priors \(franchise_prior, title_neighbors, "
        r"label_priors\) on 5 folds, but there are 4 samples; .* turn them off "
        r"\(franchise_prior=False, title_neighbors=False, label_priors=False\)",
    ):  # was scikit-learn's "Cannot have number of splits n_splits=5 ..."
        fast_model(validation_fraction=0).fit(few, y)
    off = {"franchise_prior": False, "title_neighbors": False, "label_priors": False}
    fast_model(validation_fraction=0, **off).fit(few, y)  # nothing cross-fitted
    fast_model(validation_fraction=0).fit(anime.head(5), anime["Score"].head(5))


def test_network_parameters_it_can_use_pass(anime, record_calls):
    from skanime._pipeline import PackInputs

    packs = record_calls(PackInputs, "fit", lambda *a, **k: None)
    for params in (
        {"callbacks__print_log": None},  # skorch's way to switch one off
        {"optimizer__param_groups": [("module.members*", {"lr": 0.01})]},
        {"optimizer__betas": (0.8, 0.99), "iterator_train__drop_last": True},
    ):
        fast_model(max_epochs=1, **params).fit(anime, anime["Score"])
    assert len(packs) == 3  # what the test above counts, once a fit


def test_unknown_backbone_suggests_the_closest_name(anime):
    with pytest.raises(UnknownBackboneError, match="Did you mean 'resnet18'"):
        fast_model(backbone="resnet_18").fit(anime, anime["Score"])


def test_a_target_outside_the_range_is_printed_as_a_number(anime):
    y = anime["Score"].to_numpy().copy()
    y[3] = 91.4
    with pytest.raises(TargetError, match=r"position 3: 91\.4\)"):
        fast_model().fit(anime, y)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        # each used to fail inside numpy, torch or scikit-learn, or read the
        # range backwards ("outside [10, 1]")
        ({"target_range": (10, 1)}, ValueError, r"low < high.*got \(10, 1\)"),
        ({"target_range": (1, 5, 10)}, ValueError, r"two numbers \(low, high\)"),
        ({"target_range": ("a", "b")}, ValueError, r"two numbers \(low, high\)"),
        ({"device": "tpu"}, DeviceError, "device='tpu' is not a torch device"),
        ({"validation_fraction": 0.999}, DataError, "leaves no training row"),
    ],
)
def test_impossible_settings_are_named_before_training(anime, params, error, message):
    with pytest.raises(error, match=message):
        fast_model(poster_column=None, **params).fit(anime, anime["Score"])


def test_a_target_range_with_an_open_end_is_accepted(anime):
    model = fast_model(poster_column=None, target_range=(0, np.inf))
    assert model.fit(anime, anime["Score"]).predict(anime).shape == (len(anime),)


def test_duplicate_column_names_are_a_column_error(anime):
    frame = pd.concat([anime, anime[["Type"]]], axis=1)
    with pytest.raises(ColumnError, match=r"duplicate column names \['Type'\]"):
        fast_model().fit(frame, anime["Score"])


def test_integer_column_names_work_as_an_array_and_mixed_names_are_refused():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(30, 2)))  # columns 0 and 1
    y = 6 + X[0].to_numpy()
    model = fast_model(
        numeric_columns=["0", "1"],
        categorical_columns=None,
        list_columns=None,
        poster_column=None,
    )
    assert model.fit(X, y).predict(X).shape == (30,)
    mixed = X.rename(columns={1: "b"})
    with pytest.raises(ColumnError, match="mixes text and other column names"):
        model.fit(mixed, y)


def test_a_multiindex_of_columns_is_refused_with_how_to_flatten_it(anime):
    """Tuple names were read as an array's columns: the roles found none of
    the schema's columns, and the model fitted on little, without a word."""
    frame = anime.drop(columns=["poster"])
    nested = frame.set_axis(
        pd.MultiIndex.from_product([["mal"], frame.columns]), axis=1
    )
    model = fast_model(poster_column=None)
    with pytest.raises(ColumnError, match=r"2 levels of column names.*droplevel"):
        model.fit(nested, frame["Score"])
    model.fit(frame, frame["Score"])
    with pytest.raises(
        ColumnError, match="a MultiIndex, such as \\('mal', 'anime_id'\\)"
    ):
        model.predict(nested)
    flat = nested.set_axis(nested.columns.droplevel(0), axis=1)
    np.testing.assert_array_equal(model.predict(flat), model.predict(frame))


def test_a_polars_frame_gives_the_pandas_predictions(anime):
    pl = pytest.importorskip("polars")
    frame = anime.drop(columns=["poster"])
    model = fast_model(poster_column=None)
    expected = model.fit(frame, frame["Score"]).predict(frame)
    polars_frame = pl.from_pandas(frame)
    got = model.fit(polars_frame, polars_frame["Score"]).predict(polars_frame)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_a_lazy_frame_is_refused_saying_how_to_compute_it(fitted_model, anime):
    pl = pytest.importorskip("polars")
    lazy = pl.from_pandas(anime.drop(columns="poster")).lazy()
    with pytest.raises(DataError, match=r"lazy LazyFrame, .* X\.collect\(\)"):
        fitted_model.predict(lazy)
    # an Arrow table is eager: read as its pandas frame
    pa = pytest.importorskip("pyarrow")
    np.testing.assert_array_equal(
        fitted_model.predict(pa.Table.from_pandas(anime)), fitted_model.predict(anime)
    )


def test_records_predict_as_their_frame_and_a_dict_is_named(fitted_model, anime):
    """A list of {column: value} dicts (a JSON payload) is a table; a dict,
    which could be one row or columns, is refused with both readings."""
    records = anime.head(3).to_dict("records")
    np.testing.assert_array_equal(
        fitted_model.predict(records), fitted_model.predict(anime.head(3))
    )
    with pytest.raises(DataError, match=r"X is a dict, not a table; .*\[X\]"):
        fitted_model.predict(records[0])


@pytest.mark.parametrize(
    "config",
    [
        {"transform_output": "pandas"},
        {"transform_output": "polars"},
        {"enable_metadata_routing": True},
    ],
    ids=["pandas output", "polars output", "metadata routing"],
)
def test_global_scikit_learn_settings_leave_fit_and_predict_unchanged(anime, config):
    """``sklearn.set_config(transform_output="pandas")``, common in notebooks,
    made every fit fail: the franchise prior's encoder, the poster embedder's
    loader and the packing step followed it and returned DataFrames (polars
    also reached the column cleaner). With metadata routing on, the franchise
    prior's TargetEncoder failed (a KeyError on 'groups'). Every step, priors,
    poster prior, weights and trees included, now gives the same predictions
    under each."""
    import sklearn

    if config.get("transform_output") == "polars":
        pytest.importorskip("polars")
    model = fast_model(backbone="simple_cnn", freeze_backbone=True)
    weight = np.linspace(0.5, 2.0, len(anime))
    expected = model.fit(anime, anime["Score"], sample_weight=weight).predict(anime)
    with sklearn.config_context(**config):
        got = model.fit(anime, anime["Score"], sample_weight=weight).predict(anime)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(anime), expected, rtol=1e-6)


def test_y_with_another_index_is_used_by_position_with_a_warning(anime):
    frame = anime.drop(columns=["poster"])
    model = fast_model(poster_column=None)
    expected = model.fit(frame, frame["Score"]).predict(frame)
    shifted = frame["Score"].set_axis(frame.index + 1000)
    with pytest.warns(DataWarning, match="used by position"):
        got = model.fit(frame, shifted).predict(frame)
    np.testing.assert_array_equal(got, expected)


def test_a_trained_column_absent_at_predict_is_named(anime):
    from sklearn.compose import make_column_selector

    frame = anime.drop(columns=["poster"])
    model = fast_model(
        numeric_columns=make_column_selector(dtype_include="number"),
        poster_column=None,
    ).fit(frame, frame["Score"])
    assert "Year" in model.required_columns_
    with pytest.raises(ColumnError, match=r"trained on: 'Year'"):
        model.predict(frame.drop(columns=["Year"]))


def test_an_array_of_the_training_width_is_mapped_by_position(fitted_model, anime):
    expected = fitted_model.predict(anime)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        got = fitted_model.predict(anime.to_numpy())
    np.testing.assert_array_equal(got, expected)


def test_zeros_of_the_training_width_predict_with_a_counted_poster_warning(
    fitted_model,
):
    """MAPIE's fitted check predicts np.zeros((1, n_features_in_))."""
    zeros = np.zeros((1, fitted_model.n_features_in_))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = fitted_model.predict(zeros)
    assert prediction.shape == (1,) and np.isfinite(prediction).all()
    poster = [w for w in caught if issubclass(w.category, DataWarning)]
    assert any("1 poster(s)" in str(w.message) for w in poster)
    assert any("poster_errors='raise'" in str(w.message) for w in poster)


def test_cache_dir_of_a_fitted_model_can_be_changed_or_switched_off(anime, tmp_path):
    model = fast_model(freeze_backbone=True, cache_dir=tmp_path / "a")
    model.fit(anime, anime["Score"])
    embedder = model.pipeline_["features"].named_transformers_["poster"]
    model.set_params(cache_dir=None)
    assert embedder.cache_dir is None
    model.set_params(cache_dir=tmp_path / "b")
    assert embedder.cache_dir == tmp_path / "b"


def test_verbose_of_a_fitted_model_reaches_its_poster_progress_bar(
    anime, capsys, monkeypatch
):
    """A model fitted with verbose=1 (as ``skanime train`` fits) shows a bar while
    checking a large frame's posters at predict; set_params(verbose=0) quiets it."""
    monkeypatch.setattr(_posters, "_PROGRESS_DELAY_S", 0.0)
    model = fast_model(verbose=1).fit(anime, anime["Score"])
    large = pd.concat([anime] * 30, ignore_index=True)  # 1,200 rows
    capsys.readouterr()
    model.predict(large)
    assert "checking posters" in capsys.readouterr().err
    model.set_params(verbose=0)
    model.predict(large)
    assert "checking posters" not in capsys.readouterr().err
    model.set_params(verbose=1)
    model.predict(large)
    assert "checking posters" in capsys.readouterr().err


def test_a_model_of_the_previous_persistence_format_is_refused(fitted_model):
    state = fitted_model.__getstate__()
    state["_skanime_format"] = PERSISTENCE_FORMAT - 1
    fresh = HybridAnimeRegressor.__new__(HybridAnimeRegressor)
    with pytest.raises(IncompatibleModelError, match="persistence format"):
        fresh.__setstate__(state)


def test_a_failed_fit_leaves_a_fitted_model_as_it_was(anime):
    model = fast_model(poster_column=None).fit(anime, anime["Score"])
    pipeline = model.pipeline_
    with pytest.raises(TargetError):
        model.fit(anime.iloc[:10], np.full(10, 99.0))
    assert model.pipeline_ is pipeline and model.n_features_in_ == anime.shape[1]


@pytest.mark.parametrize("freeze", [False, True])
def test_the_backbone_is_built_once_per_fit(anime, monkeypatch, freeze):
    import skanime.backbones._resolve as resolve

    built = []
    original = resolve.get_backbone

    def counting(name, **config):
        built.append(name)
        return original(name, **config)

    monkeypatch.setattr(resolve, "get_backbone", counting)
    # the poster prior's second embedder would build a frozen *random* backbone
    # again (pretrained ones are shared per process): left out here
    fast_model(freeze_backbone=freeze, poster_prior=None).fit(anime, anime["Score"])
    assert built == ["simple_cnn"]


def test_the_leaf_module_imports_nothing_of_the_package():
    import ast
    from pathlib import Path

    import skanime._utils

    tree = ast.parse(Path(skanime._utils.__file__).read_text())
    imported = [
        node.module or "" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    relative = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not relative
    assert not [name for name in imported if name.startswith("skanime")]


def test_a_missing_column_is_matched_to_one_written_alike_only():
    """A missing "Themes" beside "Members" got "did you mean 'Members'?", and
    a missing "Rating" beside "Duration" "did you mean 'Duration'?"; a
    column written in another case still gets its hint."""
    from skanime._validation import check_columns

    specs = {"list_columns": ["Themes"], "categorical_columns": ["Rating"]}
    with pytest.raises(ColumnError) as error:
        check_columns(pd.DataFrame(columns=["Members", "Genres", "Duration"]), specs)
    assert "did you mean" not in str(error.value)
    with pytest.raises(ColumnError, match=r"'Themes' \(did you mean 'themes'\?\)"):
        check_columns(pd.DataFrame(columns=["themes", "Members", "Rating"]), specs)
