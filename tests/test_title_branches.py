"""The title and franchise-prior branches wired into the default model, and the
paper's mode without them."""

import numpy as np
import pandas as pd
import pytest

from skanime import FranchisePrior, TitleEncoder, TitleWords, make_hybrid_pipeline
from skanime.datasets import PAPER_COLUMNS, PAPER_MODEL, make_anime
from skanime.tabular_branches import MLPBranch

from .conftest import fast_model

_TABLE = {"poster_column": None, "validation_fraction": 0, "max_epochs": 1}


def _branches(model) -> dict:
    return {
        name: step
        for name, step, _ in model.pipeline_["features"].transformers_
        if name != "remainder"
    }


def _franchise_frame(n=48):
    """make_anime rows whose titles form franchises of four."""
    df = make_anime(n, random_state=0)
    df["Title"] = [
        f"Saga {i // 4}" + (f" Season {i % 4 + 1}" if i % 4 else "") for i in range(n)
    ]
    return df


def test_defaults_encode_the_title_and_its_franchise():
    df = _franchise_frame()
    model = fast_model(**_TABLE).fit(df, df["Score"])
    assert model.text_columns_ == ["Title"]
    assert "Title" in model.required_columns_
    branches = _branches(model)
    assert isinstance(branches["title"][0], TitleEncoder)
    assert isinstance(branches["franchise_prior"][0], FranchisePrior)
    names = list(model.get_feature_names_out())
    assert "title__title_sequel" in names
    assert {
        "franchise_prior__franchise_prior",
        "franchise_prior__franchise_count",
    } <= set(names)
    # they reach the network's tabular block (PackInputs routes them there)
    assert model.net_.module__n_tabular == len(names)
    with pytest.raises(Exception, match="Title"):
        model.predict(df.drop(columns="Title"))


def test_switched_off_titles_are_neither_read_nor_required():
    df = make_anime(32, random_state=0)
    model = fast_model(
        **_TABLE,
        title_features=False,
        franchise_prior=False,
        title_neighbors=False,
        title_words=False,
    )
    model.fit(df, df["Score"])
    assert not {"title", "franchise_prior", "title_neighbors", "title_words"} & set(
        _branches(model)
    )
    assert model.text_columns_ == [] and "Title" not in model.required_columns_
    assert "Title" in model.column_roles_.ignored
    assert model.predict(df.drop(columns="Title")).shape == (32,)
    only_title = fast_model(**_TABLE, franchise_prior=False).fit(df, df["Score"])
    assert set(_branches(only_title)) >= {"title"}
    assert "franchise_prior" not in _branches(only_title)


def _branch_at_fit(branch, target):
    """The unscaled output of ``branch`` for the training rows of the default
    pipeline's features step, fitted on ``_franchise_frame()`` and ``target``."""
    features = make_hybrid_pipeline(**_TABLE, min_frequency=1, random_state=0)[
        "features"
    ]
    out = np.asarray(features.fit_transform(_franchise_frame(), target))
    block = features.output_indices_[branch]
    scaler = features.named_transformers_[branch][-1]
    return scaler.inverse_transform(out[:, block])


@pytest.mark.parametrize(
    "branch", ["franchise_prior", "title_neighbors", "label_priors"]
)
def test_no_cross_fitted_branch_sees_a_rows_own_score_inside_the_model(branch):
    """Changing one training row's score changes other rows' features at fit,
    never its own (cross-fitting in the features step's fit_transform)."""
    y = _franchise_frame()["Score"].to_numpy(dtype=float)
    changed = y.copy()
    changed[5] = 10.0 if y[5] < 5.5 else 1.0
    before, after = _branch_at_fit(branch, y), _branch_at_fit(branch, changed)
    np.testing.assert_allclose(before[5], after[5])
    assert not np.allclose(before, after)  # other folds' rows do see it
    if branch == "franchise_prior":
        mates = [4, 6, 7]  # "Saga 1 ..." with row 5
        assert not np.allclose(before[mates, 0], after[mates, 0])


def test_several_text_columns_get_one_title_branch_each():
    df = make_anime(32, random_state=0)
    df["Synopsis"] = [f"story number {i % 5} of the saga" for i in range(32)]
    model = fast_model(**_TABLE, text_columns=["Title", "Synopsis"])
    model.fit(df, df["Score"])
    branches = _branches(model)
    assert {"title_Title", "title_Synopsis", "franchise_prior"} <= set(branches)
    assert model.pipeline_["features"].named_transformers_["franchise_prior"]
    cols = {n: c for n, _, c in model.pipeline_["features"].transformers_}
    assert cols["franchise_prior"] == ["Title"]


def test_paper_mode_reads_the_papers_columns_with_its_mlp():
    df = make_anime(32, random_state=0)
    model = fast_model(**PAPER_COLUMNS, **PAPER_MODEL, max_epochs=1)
    model.fit(df, df["Score"])
    assert sorted(model.required_columns_) == sorted(
        ["Episodes", "Type", "Source", "Genres", "Studios", "poster"]
    )
    assert set(_branches(model)) == {"numeric", "categorical", "lists", "poster"}
    assert isinstance(model.net_.module_.tabular, MLPBranch)
    assert len(model.net_.module_.members) == 1
    # one network, a 20% hold-out, a constant learning rate
    assert model.net_.train_split.n_members == 1  # MemberFolds' 20% hold-out
    assert "lr_schedule" not in dict(model.net_.callbacks_)


def test_tiny_and_constant_titles_fit():
    """Fewer titles than SVD components, one shared title, missing titles."""
    df = make_anime(8, random_state=0)
    df["Title"] = ["Same"] * 7 + [None]
    model = fast_model(**_TABLE, batch_size=4).fit(df, df["Score"])
    assert np.isfinite(model.predict(df)).all()
    assert np.isfinite(model.predict(pd.concat([df.iloc[:1]] * 2))).all()


def test_title_words_are_the_networks_words_input_not_the_boosters(tmp_path):
    from sklearn.ensemble import HistGradientBoostingRegressor

    import skanime.io as skio
    from skanime._booster import booster_inputs
    from skanime._fast_predict import encode_for_net

    df = _franchise_frame()
    trees = HistGradientBoostingRegressor(max_iter=5)
    model = fast_model(**_TABLE, booster=trees)
    model.fit(df, df["Score"])
    words = _branches(model)["title_words"]
    assert isinstance(words, TitleWords)
    n_words = len(words.get_feature_names_out())
    assert n_words >= 2  # "saga", "season", the two-digit numbers
    packed = model.pipeline_[:-1].transform(df)
    assert packed["words"].shape == (len(df), n_words)
    assert set(np.unique(packed["words"])) == {0.0, 1.0}
    # the network reads them behind its tabular columns, the trees do not
    net = model.net_
    assert net.module__n_words == n_words
    assert net.module__n_tabular == packed["tabular"].shape[1] + n_words
    assert all(m.words.n_words == n_words for m in net.module_.members)
    assert model.booster_.n_features_in_ == booster_inputs(packed).shape[1]
    assert booster_inputs(packed).shape[1] <= packed["tabular"].shape[1] + 1
    # the fast encoding path gives the same words
    fast = encode_for_net(model.pipeline_, df)
    np.testing.assert_array_equal(fast["words"], packed["words"])
    skio.save(model, tmp_path / "model.skanime")
    loaded = skio.load(tmp_path / "model.skanime")
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))


def test_title_words_on_by_default_in_a_bare_pipeline_and_off_when_asked():
    df = _franchise_frame()
    off = fast_model(**_TABLE, title_words=False).fit(df, df["Score"])
    assert "title_words" not in _branches(off)
    assert "words" not in off.pipeline_[:-1].transform(df)
    assert all(m.words is None for m in off.net_.module_.members)
    pipe = make_hybrid_pipeline(**_TABLE, min_frequency=1, random_state=0)
    pipe.fit(df, df["Score"])
    # no estimator in between: the net finds the words input itself
    assert pipe["net"].module__n_words == len(
        pipe["features"].named_transformers_["title_words"].get_feature_names_out()
    )
