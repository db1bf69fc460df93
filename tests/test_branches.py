"""Tabular branches of HybridModule: the registry, its contract, MLP and TabM-mini."""

import math

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from torch import nn

from skanime import HybridModule, HybridNet
from skanime.datasets import make_anime
from skanime.tabular_branches import (
    TABULAR_BRANCHES,
    MLPBranch,
    TabMBranch,
    UnknownTabularBranchError,
    get_tabular_branch,
    list_tabular_branches,
    register_tabular_branch,
)

from .conftest import fast_model


def test_builtins_are_listed_and_filterable():
    assert list_tabular_branches() == ["mlp", "tabm"]
    assert list_tabular_branches("tab*") == ["tabm"]


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_tabular_branch("mlp")(MLPBranch)


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(UnknownTabularBranchError, match=r"'tabn'.*Did you mean 'tabm'"):
        get_tabular_branch("tabn", 3)


#: Every registered branch, with options that exercise its optional parts.
_CASES = [(name, {}) for name in list_tabular_branches()] + [
    ("tabm", {"k": 3, "d_embedding": 3, "n_frequencies": 2})
]


@pytest.mark.parametrize(("name", "options"), _CASES)
def test_branch_contract(name, options):
    """Every registered branch: (b, out_features) output, finite, gradients reach
    every parameter, and a batch of one works."""
    branch = get_tabular_branch(
        name, 5, hidden_units=7, n_layers=2, dropout=0.0, **options
    )
    assert isinstance(branch, nn.Module) and branch.out_features > 0
    x = torch.randn(4, 5)
    out = branch(x)
    assert out.shape == (4, branch.out_features) and torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in branch.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert branch.eval()(torch.randn(1, 5)).shape == (1, branch.out_features)


def test_a_registered_branch_is_selectable_by_name():
    @register_tabular_branch("test_linear")
    def linear(n_in, *, hidden_units, n_layers, dropout):
        layer = nn.Linear(n_in, hidden_units)
        layer.out_features = hidden_units
        return layer

    try:
        module = HybridModule(4, with_image=False, tabular_branch="test_linear")
        assert isinstance(module.tabular, nn.Linear)
        assert module(torch.randn(2, 4)).shape == (2, 1)
    finally:
        TABULAR_BRANCHES._builders.pop("test_linear")


def test_tabm_members_differ_and_are_averaged():
    branch = TabMBranch(6, hidden_units=5, n_layers=1, dropout=0.0, k=3).eval()
    x = torch.randn(2, 6)
    members = [branch.mlp(x * branch.adapters[i]) for i in range(3)]
    assert not torch.allclose(members[0], members[1])
    assert torch.allclose(branch(x), torch.stack(members).mean(0), atol=1e-6)


def test_unknown_branch():
    with pytest.raises(UnknownTabularBranchError, match="'forest'.*mlp, tabm"):
        HybridModule(4, with_image=False, tabular_branch="forest")


def test_hybrid_net_trains_a_tabm_branch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = (X[:, 0] * 2 + 5).astype(np.float32)
    net = HybridNet(
        max_epochs=2,
        batch_size=16,
        train_split=None,
        verbose=0,
        module__hidden_units=8,
        module__tabular_branch="tabm",
        module__tabular_options={"k": 2, "d_embedding": 2, "n_frequencies": 2},
    ).fit(X, y)
    assert isinstance(net.module_.tabular, TabMBranch)
    assert net.predict(X).shape == (64,)


def test_grid_search_over_the_tabular_branch():
    """module__tabular_branch is a grid-searchable parameter of the estimator."""
    df = make_anime(48, random_state=0)
    params = {"poster_column": None, "max_epochs": 1, "validation_fraction": 0}
    search = GridSearchCV(
        fast_model(**params),
        {"module__tabular_branch": ["mlp", "tabm"]},
        cv=2,
        scoring="neg_mean_absolute_error",
        error_score="raise",
    ).fit(df, df["Score"])
    assert len(search.cv_results_["params"]) == 2
    best = search.best_estimator_.net_.module_.tabular
    kind = {"mlp": MLPBranch, "tabm": TabMBranch}
    assert type(best) is kind[search.best_params_["module__tabular_branch"]]
    tabm = fast_model(**params, module__tabular_branch="tabm").fit(df, df["Score"])
    assert isinstance(tabm.net_.module_.tabular, TabMBranch)


# -- periodic embeddings of the continuous columns ------------------------------------
def test_continuous_embedding_embeds_only_the_continuous_columns():
    from skanime._branches import ContinuousEmbedding

    torch.manual_seed(0)
    embed = ContinuousEmbedding(5, [1, 3], d_embedding=4)
    x = torch.randn(6, 5)
    out = embed(x)
    assert out.shape == (6, 2 * 4 + 3) == (6, embed.out_features)
    # the 0/1 columns come last, as they were
    torch.testing.assert_close(out[:, 8:], x[:, [0, 2, 4]])
    out.sum().backward()
    assert embed.periodic.frequencies.grad.abs().sum() > 0


@pytest.mark.parametrize("lite", [False, True])
def test_periodic_embeddings_give_each_feature_its_own_linear_layer(lite):
    """PLR: feature j's block reads only x_j, through W_j (unless lite, where
    every feature shares one W)."""
    from skanime._branches import PeriodicEmbeddings

    torch.manual_seed(0)
    embed = PeriodicEmbeddings(3, n_frequencies=4, d_embedding=2, lite=lite)
    x = torch.randn(5, 3)
    out = embed(x)
    assert out.shape == (5, 6) == (5, embed.out_features)
    moved = x.clone()
    moved[:, 1] += 1.0
    changed = (embed(moved) - out).abs().sum(0).reshape(3, 2).sum(1) > 0
    assert changed.tolist() == [False, True, False]
    # one feature's output through its own layer, written out
    angles = 2 * math.pi * embed.frequencies[2] * x[:, 2:3]
    v = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if lite:
        expected = torch.relu(embed.linear(v))
    else:
        expected = torch.relu(v @ embed.weight[2] + embed.bias[2])
    torch.testing.assert_close(out[:, 4:], expected)
    out.sum().backward()
    grads = [p.grad for p in embed.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    if not lite:
        # a change to feature 0's layer leaves the other blocks as they were
        with torch.no_grad():
            embed.weight[0] += 1.0
            after = embed(x)
        assert not torch.allclose(after[:, :2], out[:, :2])
        torch.testing.assert_close(after[:, 2:], out[:, 2:])


def test_the_net_finds_the_continuous_columns_and_embeds_them():
    rng = np.random.default_rng(0)
    tabular = np.c_[
        rng.normal(size=40),
        rng.integers(0, 2, 40),
        rng.normal(size=40),
        rng.integers(0, 2, 40),
    ].astype(np.float32)
    y = rng.normal(7, 1, 40)
    net = HybridNet(
        module__numeric_embedding=4, max_epochs=1, train_split=None, verbose=0
    ).fit({"tabular": tabular}, y)
    assert net.module__continuous_columns == [0, 2]
    embed = net.module_.members[0].embed
    assert embed.continuous.tolist() == [0, 2] and embed.others.tolist() == [1, 3]
    plain = HybridNet(max_epochs=1, train_split=None, verbose=0)
    assert plain.fit({"tabular": tabular}, y).module_.members[0].embed is None


def test_numeric_embedding_zero_feeds_the_columns_as_they_are(anime):
    model = fast_model(numeric_embedding=0, n_members=1).fit(anime, anime["Score"])
    assert model.net_.module_.members[0].embed is None
    embedded = fast_model(n_members=1).fit(anime, anime["Score"])
    assert embedded.net_.module_.members[0].embed is not None
