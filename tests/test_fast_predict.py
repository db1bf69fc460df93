"""The fast predict path gives the pipeline's predictions, and leaves torch's
thread setting as it was."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import OneHotEncoder
from skorch import NeuralNetRegressor

from skanime import MultiLabelEncoder, make_hybrid_pipeline
from skanime._fast_predict import _one_hot, encode_for_net
from skanime._tabular import clean_categories
from skanime._threads import SMALL_BATCH_ROWS
from skanime._utils import split_labels
from skanime.datasets import make_anime

from .conftest import fast_model

KINDS = {
    "table-only": {"poster_column": None},
    "frozen embedding": {"freeze_backbone": True, "engine": "torch"},
    "trained backbone": {"freeze_backbone": False},
    "last blocks, augmented, auxiliary loss": {
        "freeze_backbone": 2,
        "augment": True,
        "backbone_lr": 1e-4,
        "poster_aux_weight": 0.5,
    },
    "frozen embedding, auxiliary loss": {
        "freeze_backbone": True,
        "engine": "torch",
        "poster_aux_weight": 0.5,
    },
    "poster only": {
        "freeze_backbone": True,
        "engine": "torch",
        "numeric_columns": None,
        "categorical_columns": None,
        "list_columns": None,
    },
}


def _pipeline_path(model, X) -> np.ndarray:
    """predict as the Pipeline makes it: pandas frames and skorch's DataLoader."""
    with torch.random.fork_rng(devices=[]):
        packed = model.pipeline_[:-1].transform(X)
        return NeuralNetRegressor.predict(model.net_, packed).reshape(-1)


@pytest.fixture(scope="module", params=list(KINDS))
def kind_model(request, anime):
    # the network's path (test_booster checks the average with the trees)
    model = fast_model(booster=None, **KINDS[request.param])
    model.fit(anime, anime["Score"])
    return request.param, model


def test_predictions_equal_the_pipeline_path(kind_model, anime):
    # the same float32 operations on the same rows: equal to the bit
    _, model = kind_model
    expected = _pipeline_path(model, anime).astype(np.float64)
    np.testing.assert_array_equal(model.predict(anime), expected)
    for i in (0, 7, 39):
        row = anime.iloc[[i]]
        np.testing.assert_array_equal(
            model.predict(row), _pipeline_path(model, row).astype(np.float64)
        )


def test_the_arrays_equal_those_of_the_pipeline_steps(kind_model, anime):
    _, model = kind_model
    fast = encode_for_net(model.pipeline_, anime)
    slow = model.pipeline_[:-1].transform(anime)
    assert fast is not None and sorted(fast) == sorted(slow)
    for key in slow:
        assert fast[key].dtype == slow[key].dtype, key
        if fast[key].dtype == object:  # poster paths, NaN where missing
            assert pd.Series(fast[key]).equals(pd.Series(slow[key]))
        else:
            np.testing.assert_array_equal(fast[key], slow[key])


def test_extra_branches_pack_as_in_the_pipeline(anime):
    pipe = make_hybrid_pipeline(
        poster_column=None,
        min_frequency=1,
        max_epochs=1,
        extra_branches=[("raw", "passthrough", ["Year"])],
    ).fit(anime, anime["Score"])
    fast = encode_for_net(pipe, anime)["tabular"]
    np.testing.assert_array_equal(fast, pipe[:-1].transform(anime)["tabular"])


def test_a_refitted_pipeline_packs_its_new_columns(anime):
    """The packing layout is remembered per fitted PackInputs; refitting the
    same pipeline (here without one branch, and on fewer rows: fewer labels,
    so fewer columns) must not reuse the old one."""
    pipe = make_hybrid_pipeline(
        poster_column=None, min_frequency=1, max_epochs=1, random_state=0
    )
    widths = []
    for rows in (slice(None), slice(0, 12)):
        X, y = anime.iloc[rows], anime["Score"].iloc[rows]
        pipe.fit(X, y)
        pipe.set_params(features__title_neighbors="drop")  # for the next fit
        fast = encode_for_net(pipe, anime)
        slow = pipe[:-1].transform(anime)
        np.testing.assert_array_equal(fast["tabular"], slow["tabular"])
        widths.append(fast["tabular"].shape[1])
    assert widths[1] < widths[0]


def test_a_layout_it_does_not_know_is_left_to_the_pipeline(anime):
    year = list(anime.columns).index("Year")
    pipe = make_hybrid_pipeline(
        poster_column=None,
        min_frequency=1,
        max_epochs=1,
        extra_branches=[("raw", "passthrough", [year])],  # by position
    ).fit(anime, anime["Score"])
    assert encode_for_net(pipe, anime) is None
    assert pipe.predict(anime).shape == (len(anime),)


def test_many_rows_run_in_chunks_with_the_same_result(anime, monkeypatch):
    model = fast_model(poster_column=None).fit(anime, anime["Score"])
    whole = model.predict(anime)
    monkeypatch.setattr("skanime._net.INFERENCE_ROWS", 7)
    np.testing.assert_array_equal(model.predict(anime), whole)


def _threads_in_forward(model) -> list:
    seen = []
    model.net_.module_.register_forward_hook(
        lambda *_: seen.append(torch.get_num_threads())
    )
    return seen


def test_small_inputs_run_on_one_thread_and_the_setting_comes_back(anime):
    model = fast_model(poster_column=None).fit(anime, anime["Score"])
    seen = _threads_in_forward(model)
    many = anime.sample(SMALL_BATCH_ROWS + 1, replace=True, random_state=0)
    torch.set_num_threads(2)  # conftest sets 1 back after the test
    model.predict(anime.iloc[[0]])
    assert torch.get_num_threads() == 2
    model.predict(many)
    assert torch.get_num_threads() == 2
    assert seen == [1, 2]


def test_concurrent_predicts_leave_every_thread_setting_as_it_was(anime):
    model = fast_model(poster_column=None).fit(anime, anime["Score"])
    expected = model.predict(anime)
    torch.set_num_threads(2)

    def predict_rows(i):
        torch.set_num_threads(2)  # OpenMP keeps the setting per thread
        before = torch.get_num_threads()
        results = [model.predict(anime.iloc[[j]]) for j in range(i, i + 5)]
        return before, torch.get_num_threads(), np.concatenate(results)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(predict_rows, range(0, 35, 5)))
    for i, (before, after, scores) in zip(range(0, 35, 5), results, strict=True):
        assert before == after == 2
        np.testing.assert_array_equal(scores, expected[i : i + 5])
    assert torch.get_num_threads() == 2


def test_text_cells_encode_once_per_value_as_cell_by_cell():
    # a text column (encoded once per distinct value) and a mixed one (cell by
    # cell) holding the same cells give the same encoding
    cells = ["Action, Drama", None, " action ", "", "Unknown", np.nan, "Drama"] * 3
    text = pd.DataFrame({"Genres": pd.array(cells, dtype="string")})
    mixed = pd.DataFrame({"Genres": pd.Series(cells + [3], dtype=object)})
    encoder = MultiLabelEncoder().fit(mixed)
    expected = np.zeros((len(cells), len(encoder.categories_[0])), np.float32)
    for i, cell in enumerate(cells):
        for label in split_labels(cell):
            expected[i, encoder.categories_[0].index(label)] = 1
    np.testing.assert_array_equal(encoder.transform(text), expected)
    np.testing.assert_array_equal(encoder.transform(mixed)[:-1], expected)
    np.testing.assert_array_equal(
        clean_categories(text).to_numpy(), clean_categories(mixed).to_numpy()[:-1]
    )
    assert clean_categories(mixed).iloc[-1, 0] == "3"


def test_the_fast_path_warns_about_bad_values_as_the_pipeline_does():
    frame = make_anime(30, random_state=1)
    model = fast_model(poster_column=None).fit(frame, frame["Score"])
    bad = frame.iloc[:2].copy()
    bad["Episodes"] = [-5.0, 3.0]
    with pytest.warns(UserWarning, match="Episodes"):
        model.predict(bad)


@pytest.mark.parametrize(
    "params",
    [
        {"handle_unknown": "infrequent_if_exist", "min_frequency": 3},
        {"handle_unknown": "infrequent_if_exist"},
        {"handle_unknown": "ignore", "min_frequency": 3},
        {"handle_unknown": "ignore", "max_categories": 2},
    ],
)
def test_one_hot_encodes_as_scikit_learn(params):
    rng = np.random.default_rng(0)
    fit = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z", "rare"], 60, p=[0.4, 0.3, 0.27, 0.03]),
            "b": rng.choice(["p", "q"], 60),
        }
    ).astype(object)
    encoder = OneHotEncoder(sparse_output=False, **params).fit(fit)
    new = pd.DataFrame({"a": ["x", "rare", "new", "z"], "b": ["q", "p", "q", "?"]})
    new = new.astype(object)
    for frame in (fit, new):
        fast = _one_hot(encoder, frame)
        assert fast is not None and fast.dtype == np.float64
        np.testing.assert_array_equal(fast, encoder.transform(frame))


def test_table_cleaner_cleans_text_once_per_value_as_cell_by_cell():
    from skanime._roles import _clean_texts, _text_or_nan

    cells = [" Action  Drama", None, "Unknown", "", np.nan, "x", " x "] * 2
    expected = pd.Series([_text_or_nan(c) for c in cells], dtype=object)
    for column in (pd.Series(cells, dtype="string"), pd.Series(cells, dtype=object)):
        assert pd.Series(_clean_texts(column), dtype=object).equals(expected)


def test_predict_puts_a_module_left_in_training_mode_in_eval_mode(anime):
    """predict skips the walk over the layers when they are all in eval mode,
    but never predicts with a layer in training mode (dropout on)."""
    model = fast_model(poster_column=None, module__dropout=0.5)
    model.fit(anime, anime["Score"])
    expected = model.predict(anime)
    model.net_.module_.members[0].train()  # one branch left in training mode
    np.testing.assert_array_equal(model.predict(anime), expected)
    assert not any(layer.training for layer in model.net_.module_.modules())
