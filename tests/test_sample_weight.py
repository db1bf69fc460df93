"""sample_weight: the loss is the weighted mean of the rows' losses, in training
and validation, and HybridAnimeRegressor hands the weights to the network and
the booster."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsRegressor

from skanime import HybridAnimeRegressor, HybridNet, MemberFolds
from skanime._validation import check_sample_weight
from skanime.datasets import make_anime


def _net(**params) -> HybridNet:
    return HybridNet(
        criterion=torch.nn.MSELoss,
        module__hidden_units=8,
        verbose=0,
        **params,
    )


def test_weights_are_checked_scaled_to_mean_one_and_dropped_when_equal():
    np.testing.assert_allclose(check_sample_weight([1, 3], 2), [0.5, 1.5])
    assert check_sample_weight(None, 3) is None
    assert check_sample_weight(np.full(3, 2.5), 3) is None  # trains as unweighted
    with pytest.raises(ValueError, match="Negative values.*sample_weight"):
        check_sample_weight([1, -1], 2)
    with pytest.raises(ValueError, match="non-zero"):
        check_sample_weight([0, 0], 2)
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\)"):
        check_sample_weight([1, 2, 3], 2)


def test_training_loss_is_the_weighted_mean_member_by_member():
    net = _net().initialize()
    pred, y = torch.tensor([[1.0], [2.0], [4.0]]), torch.tensor([[0.0], [0.0], [0.0]])
    weight = torch.tensor([0.5, 2.0, 0.5])
    loss = net.get_loss(pred, y, X={"sample_weight": weight})
    expected = (0.5 * 1 + 2.0 * 4 + 0.5 * 16) / 3
    assert float(loss) == pytest.approx(expected)
    # two members, each scored on the rows outside its own fold
    members = torch.tensor([[1.0, 3.0], [2.0, 1.0], [4.0, 2.0]])
    fold = torch.tensor([0, 1, 1])
    mean = members.mean(dim=1, keepdim=True)
    loss = net.get_loss(
        (mean, members, None, None),
        y,
        X={"fold": fold, "sample_weight": weight},
        training=True,
    )
    member_0 = (2.0 * 4 + 0.5 * 16) / 2  # rows 1 and 2
    member_1 = (0.5 * 9) / 1  # row 0
    assert float(loss) == pytest.approx((member_0 + member_1) / 2)


def test_validation_loss_weighs_each_held_out_row():
    rng = np.random.default_rng(0)
    tabular = rng.normal(size=(30, 3)).astype(np.float32)
    y = rng.normal(7, 1, size=30).astype(np.float32)
    net = _net(
        module__n_members=3, train_split=MemberFolds(3, random_state=0), max_epochs=1
    ).fit({"tabular": tabular}, y)
    fold = torch.as_tensor(MemberFolds(3, random_state=0).folds(30))
    weight = torch.as_tensor(rng.uniform(0, 2, size=30).astype(np.float32))
    batch = (
        {"tabular": torch.as_tensor(tabular), "fold": fold, "sample_weight": weight},
        torch.as_tensor(y).reshape(-1, 1),
    )
    step = net.validation_step(batch)
    held_out = net.module_.held_out_scores(fold, tabular=torch.as_tensor(tabular))
    errors = (held_out.detach().reshape(-1) - torch.as_tensor(y)) ** 2
    assert float(step["loss"]) == pytest.approx(float((weight * errors).mean()))


def test_rows_of_weight_zero_do_not_train_the_network():
    """The targets of rows weighted 0 are 9; the others' 3, whatever X."""
    rng = np.random.default_rng(0)
    X = {"tabular": rng.normal(size=(200, 3)).astype(np.float32)}
    y = np.where(np.arange(200) < 100, 3.0, 9.0)
    weight = (np.arange(200) < 100).astype(float)
    params = {"train_split": None, "max_epochs": 40, "lr": 0.02, "batch_size": 50}
    torch.manual_seed(0)
    plain = _net(**params).fit(X, y).predict(X).mean()
    torch.manual_seed(0)
    weighted = _net(**params).fit({**X, "sample_weight": weight}, y).predict(X).mean()
    assert abs(weighted - 3.0) < 0.5
    assert abs(plain - 6.0) < 0.5


@pytest.fixture(scope="module")
def anime():
    X = make_anime(160, random_state=0)
    y = X.pop("Score").to_numpy()
    return X, y


def _model(**params) -> HybridAnimeRegressor:
    defaults = {"booster": "hist", "max_epochs": 12, "lr": 0.01, "random_state": 0}
    return HybridAnimeRegressor(poster_column=None, **{**defaults, **params})


def test_regressor_weights_reach_the_network_and_the_booster(anime):
    """A third of the training scores corrupted to 1: weighted 0, neither the
    network nor the trees learn them; unweighted, both predict new anime too
    low."""
    X, y = anime
    train, test = slice(0, 120), slice(120, None)
    corrupted = np.arange(120) % 3 == 0
    y_bad = np.where(corrupted, 1.0, y[train])
    params = {"early_stopping": False, "validation_fraction": 0, "max_epochs": 30}
    plain = _model(**params).fit(X[train], y_bad)
    weighted = _model(**params).fit(
        X[train], y_bad, sample_weight=(~corrupted).astype(float)
    )
    for part in (0.0, 1.0):  # the network alone, the trees alone
        plain.set_params(booster_weight=part)
        weighted.set_params(booster_weight=part)
        bias_plain = np.mean(plain.predict(X[test]) - y[test])
        bias_weighted = np.mean(weighted.predict(X[test]) - y[test])
        assert bias_plain < -1.0, part
        assert abs(bias_weighted) < 0.4 * abs(bias_plain), part


def test_equal_weights_train_exactly_as_none(anime):
    X, y = anime
    expected = _model(max_epochs=2).fit(X, y).predict(X)
    got = _model(max_epochs=2).fit(X, y, sample_weight=np.full(len(y), 2.5))
    np.testing.assert_array_equal(got.predict(X), expected)


def test_a_booster_without_sample_weight_is_refused_before_training(anime):
    X, y = anime
    model = _model(booster=KNeighborsRegressor())
    with pytest.raises(ValueError, match=r"booster \(KNeighborsRegressor\) takes no"):
        model.fit(X, y, sample_weight=np.arange(len(y)) + 1.0)
    assert not hasattr(model, "pipeline_")
