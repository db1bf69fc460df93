"""scikit-learn's estimator checks over every estimator of the package."""

import pytest
from sklearn.compose import make_column_selector
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils.estimator_checks import (
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    parametrize_with_checks,
)

from skanime import (
    EmbeddingReducer,
    FranchisePrior,
    HybridAnimeRegressor,
    HybridNet,
    LabelTargetEncoder,
    MultiLabelEncoder,
    NumericEncoder,
    PosterEmbedder,
    PosterLoader,
    PosterPrior,
    TitleEncoder,
    TitleNeighborPrior,
    TitleWords,
)
from skanime._roles import TableCleaner


class EveryColumn(make_column_selector):
    """``make_column_selector()`` whose repr does not hold its address, so that
    the test ids are the same in every process (pytest-xdist's workers must
    collect the same ids)."""

    def __repr__(self) -> str:
        return "EveryColumn()"


ESTIMATORS = [
    NumericEncoder(),
    TitleEncoder(min_df=1, n_components=2, random_state=0),
    TitleWords(min_df=1),
    FranchisePrior(cv=2, random_state=0),
    TitleNeighborPrior(n_neighbors=2, cv=2, random_state=0),
    LabelTargetEncoder(cv=2, random_state=0),
    MultiLabelEncoder(),
    TableCleaner(),
    PosterLoader(),
    PosterEmbedder("simple_cnn", image_size=8, engine="torch"),
    EmbeddingReducer(n_components=2),
    PosterPrior(alpha=1.0, cv=2, random_state=0),
    HybridNet(
        max_epochs=3,
        batch_size=16,
        train_split=None,
        verbose=0,
        module__hidden_units=8,
        module__head_units=8,
        module__dropout=0.0,  # 3 epochs of a tiny net: no room for regularising
    ),
    HybridAnimeRegressor(
        # every column, whatever its dtype
        numeric_columns=EveryColumn(),
        categorical_columns=None,
        list_columns=None,
        poster_column=None,
        max_epochs=15,
        batch_size=32,
        lr=0.01,
        validation_fraction=0,
        random_state=0,
        target_range=None,  # the checks draw targets on any scale
    ),
    # averaged with boosted trees: a nested estimator among the parameters
    HybridAnimeRegressor(
        numeric_columns=EveryColumn(),
        categorical_columns=None,
        list_columns=None,
        poster_column=None,
        booster=HistGradientBoostingRegressor(max_iter=20),
        max_epochs=15,
        batch_size=32,
        lr=0.01,
        validation_fraction=0,
        random_state=0,
        target_range=None,
    ),
]

_ONE_PATH_COLUMN = (
    "PosterLoader takes exactly one column of poster paths; this check feeds it "
    "several numeric columns"
)
_POSTER_LOADER = dict.fromkeys(
    [
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_complex_data",
        "check_dtype_object",
        "check_estimators_empty_data_messages",
        "check_pipeline_consistency",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1sample",
        "check_dict_unchanged",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
    ],
    _ONE_PATH_COLUMN,
)
_POSTER_LOADER["check_fit1d"] = (
    "a 1-D array is accepted on purpose: it is the single column of poster paths"
)

_NO_SEED = (
    "skorch nets have no random_state, so two fits start from different weights "
    "(HybridAnimeRegressor has random_state and passes this check)"
)
_HYBRID_NET = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet stores prefixed parameters (module__*) and its "
        "history_/initialized_ state in __init__, by design"
    ),
    "check_dont_overwrite_parameters": (
        "the data-dependent module__n_tabular, module__with_image, "
        "module__target_mean and module__target_std are set at fit, as skorch's "
        "InputShapeSetter does"
    ),
    "check_set_params": "skorch's set_params validates callbacks and module params",
    "check_regressors_no_decision_function": (
        "skorch's NeuralNetRegressor exposes predict_proba (the raw network output)"
    ),
    "check_supervised_y_2d": (
        "a 2-D y of shape (n, 1) is skorch's native target shape; no warning"
    ),
    "check_regressor_data_not_an_array": _NO_SEED,
    "check_regressors_int": _NO_SEED,
    "check_fit_idempotent": _NO_SEED,
}
_HYBRID_REGRESSOR = {
    "check_do_not_raise_errors_in_init_or_set_params": (
        "the check passes the **net_params catch-all as a parameter literally named "
        "'net_params', which is not a network prefix"
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of k is not k copies of a row for a network trained in "
        "minibatches: copies change the batches and the number of steps; "
        "test_sample_weight.py checks that the loss is the weighted mean"
    ),
}

#: Exact-equality checks that float32 matrix products can fail in the last bit
#: when the batch composition changes; test_estimator.py checks the same
#: invariance with a tolerance.
_FLOAT32_EXACT = {
    "check_methods_subset_invariance",
    "check_methods_sample_order_invariance",
}


_ONE_TITLE_COLUMN = (
    "takes exactly one title column; this check feeds it several numeric columns"
)
_TITLE_ENCODER = dict.fromkeys(
    [
        "check_fit2d_predict1d",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_transformer_data_not_an_array",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_estimators_pickle",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_positive_only_tag_during_fit",
        "check_f_contiguous_array_estimator",
        "check_dict_unchanged",
        "check_pipeline_consistency",
        "check_fit_score_takes_y",
        "check_fit2d_1sample",
        "check_estimators_nan_inf",
        "check_get_feature_names_out_error",
        "check_requires_y_none",
    ],
    _ONE_TITLE_COLUMN,
)


_CROSS_FITTED = (
    "fit_transform cross-fits (a row's encoding comes from the other folds, so that "
    "no row sees its own score), so it differs from fit(X).transform(X) by design"
)
_LABEL_ENCODER = {
    "check_transformer_general": _CROSS_FITTED,
    "check_transformer_general(readonly_memmap=True)": _CROSS_FITTED,
    "check_transformer_data_not_an_array": _CROSS_FITTED,
    "check_dtype_object": "list columns hold text labels: object data is its input",
    "check_estimators_nan_inf": "a missing cell is a row without labels, by design",
}


def expected_failed_checks(estimator):
    if isinstance(estimator, LabelTargetEncoder):
        return _LABEL_ENCODER
    if isinstance(
        estimator, TitleEncoder | TitleWords | FranchisePrior | TitleNeighborPrior
    ):
        return _TITLE_ENCODER
    if isinstance(estimator, PosterLoader | PosterEmbedder):
        return _POSTER_LOADER
    if isinstance(estimator, HybridNet):
        return _HYBRID_NET
    if isinstance(estimator, HybridAnimeRegressor):
        return _HYBRID_REGRESSOR
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    name = getattr(check, "func", check).__name__
    if (
        isinstance(estimator, HybridNet | HybridAnimeRegressor)
        and name in _FLOAT32_EXACT
    ):
        pytest.skip(
            "float32 results differ in the last bit across batch sizes; "
            "checked with a tolerance in test_estimator.py"
        )
    check(estimator)


#: scikit-learn's set_output checks, which parametrize_with_checks does not
#: yield (scikit-learn runs them from its own test_common.py). They feed a
#: numeric block, so they run on the transformers that take one: the title and
#: poster steps are covered by test_validation.py's global-output test, and
#: TableCleaner refuses an array after a frame by design (it reads by name).
SET_OUTPUT_CHECKS = [
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_set_output_transform_polars,
    check_global_set_output_transform_polars,
]
NUMERIC_TRANSFORMERS = [
    NumericEncoder(),
    LabelTargetEncoder(cv=2, random_state=0),
    MultiLabelEncoder(),
    EmbeddingReducer(n_components=2),
    PosterPrior(alpha=1.0, cv=2, random_state=0),
]


# the checks fit on a frame and transform an array, and the other way round
@pytest.mark.filterwarnings("ignore:X (has|does not have valid) feature names")
@pytest.mark.parametrize("check", SET_OUTPUT_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "transformer", NUMERIC_TRANSFORMERS, ids=lambda t: type(t).__name__
)
def test_set_output(transformer, check):
    """EmbeddingReducer failed the global pandas check: its PCA followed the
    global configuration inside transform."""
    if "polars" in check.__name__:
        pytest.importorskip("polars")
    check(type(transformer).__name__, transformer)
