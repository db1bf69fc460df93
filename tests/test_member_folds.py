"""MemberFolds: each ensemble member holds out its own fold, and early stopping
watches every row's out-of-fold score."""

import numpy as np
import pytest
import torch
from skorch.dataset import ValidSplit

import skanime.io as skio
from skanime import HybridDataset, HybridModule, HybridNet, MemberFolds
from skanime.exceptions import DataError

from .conftest import fast_model


def _data(n=40, k=6, seed=0):
    rng = np.random.default_rng(seed)
    X = {"tabular": rng.normal(size=(n, k)).astype(np.float32)}
    return X, rng.normal(7, 1, size=n)


def test_rows_are_dealt_evenly_at_random_and_reproducibly():
    split = MemberFolds(3, random_state=0)
    fold = split.folds(20)
    assert np.bincount(fold).tolist() == [7, 7, 6]
    np.testing.assert_array_equal(fold, MemberFolds(3, random_state=0).folds(20))
    assert not np.array_equal(fold, MemberFolds(3, random_state=1).folds(20))
    assert not np.array_equal(fold, np.arange(20) % 3)  # shuffled


def test_both_datasets_are_every_row_with_its_fold():
    data = HybridDataset(np.arange(20.0).reshape(10, 2), y=np.arange(10.0))
    train, valid = MemberFolds(2, random_state=0)(data)
    assert len(train) == len(valid) == 10
    x, _ = train[np.arange(10)]
    np.testing.assert_array_equal(x["fold"].numpy(), MemberFolds(2, 0).folds(10))
    assert train.tabular is data.tabular  # the same arrays, not a copy
    assert data.fold is None  # the dataset given is left as it was


def test_a_single_member_is_skorchs_20_percent_hold_out():
    data = HybridDataset(np.zeros((10, 2)), y=np.arange(10.0))
    train, valid = MemberFolds(1, random_state=0)(data)
    expected_train, expected_valid = ValidSplit(0.2, random_state=0)(data)
    np.testing.assert_array_equal(train.indices, expected_train.indices)
    np.testing.assert_array_equal(valid.indices, expected_valid.indices)


def test_bad_splits():
    with pytest.raises(TypeError, match="HybridDataset"):
        MemberFolds(2)(torch.utils.data.TensorDataset(torch.zeros(4, 1)))
    with pytest.raises(ValueError, match="at least as many rows"):
        MemberFolds(5)(HybridDataset(np.zeros((3, 2))))
    with pytest.raises(ValueError, match="n_members"):
        MemberFolds(0)(HybridDataset(np.zeros((3, 2))))


def test_a_member_is_not_scored_on_its_own_fold():
    """Changing member j's scores on the rows of fold j leaves the loss as it
    was; changing them on another fold does not."""
    X, y = _data(12, seed=1)
    net = HybridNet(module__n_members=3, max_epochs=1, train_split=None).fit(X, y)
    fold = torch.as_tensor(np.arange(12) % 3)
    scores = torch.randn(12, 3)
    target = torch.randn(12, 1)

    def loss(s):
        output = (s.mean(1, keepdim=True), s, s.new_zeros(0), s.new_zeros(0))
        return net.get_loss(output, target, X={"fold": fold}, training=True)

    own = scores.clone()
    own[fold == 1, 1] += 100.0
    torch.testing.assert_close(loss(own), loss(scores))
    other = scores.clone()
    other[fold == 2, 1] += 100.0
    assert loss(other) > loss(scores) + 1
    # the value is the mean of the members' losses on the rows they train on
    expected = torch.stack(
        [((scores[fold != j, j] - target[fold != j, 0]) ** 2).mean() for j in range(3)]
    ).mean()
    torch.testing.assert_close(loss(scores), expected)


def test_validation_scores_each_row_by_the_member_that_did_not_train_on_it():
    X, y = _data(40)
    split = MemberFolds(3, random_state=0)
    net = HybridNet(
        module__n_members=3, module__dropout=0.0, max_epochs=2, train_split=split
    ).fit(X, y)
    module = net.module_.eval()
    with torch.no_grad():
        scores = module.member_scores(tabular=torch.from_numpy(X["tabular"])).numpy()
    oof = scores[np.arange(40), split.folds(40)]
    assert net.history[-1, "valid_loss"] == pytest.approx(np.mean((oof - y) ** 2))
    assert net.history[-1, "valid_mae"] == pytest.approx(np.mean(np.abs(oof - y)))
    # not the ensemble's mean, which every row trained
    assert net.history[-1, "valid_mae"] != pytest.approx(
        np.mean(np.abs(net.predict(X) - y))
    )


def test_the_estimator_deals_folds_by_default(anime):
    model = fast_model(poster_column=None, n_members=3, max_epochs=3)
    assert model.validation_fraction == "folds"
    model.fit(anime, anime["Score"])
    split = model.net_.train_split
    assert isinstance(split, MemberFolds) and split.n_members == 3
    assert np.isfinite(model.history_[:, "valid_loss"]).all()
    assert np.isfinite(model.predict(anime)).all()


def test_one_member_with_folds_is_the_20_percent_hold_out(anime):
    params = {"poster_column": None, "n_members": 1, "max_epochs": 3}
    folds = fast_model(**params).fit(anime, anime["Score"])
    hold_out = fast_model(**params, validation_fraction=0.2)
    hold_out.fit(anime, anime["Score"])
    np.testing.assert_array_equal(folds.predict(anime), hold_out.predict(anime))


def test_too_few_rows_for_the_folds_is_a_data_error(anime):
    with pytest.raises(DataError, match="validation_fraction='folds'"):
        fast_model(poster_column=None, n_members=5).fit(
            anime.head(4), anime["Score"].head(4)
        )


def test_plateau_schedule_lowers_the_learning_rate_and_lets_go_of_torch(
    anime, tmp_path
):
    """lr_schedule="plateau" cuts the rate when the validation loss stalls; the
    fitted model keeps no torch scheduler (it holds the optimizer), and saves
    and loads."""
    noise = np.random.default_rng(0).permutation(anime["Score"].to_numpy())
    model = fast_model(poster_column=None, early_stopping=False, max_epochs=14)
    model.set_params(lr=0.05).fit(anime, noise)
    rates = model.history_[:, "event_lr"]
    assert rates[0] == pytest.approx(0.05) and min(rates) < 0.05
    schedule = dict(model.net_.callbacks_)["lr_schedule"]
    assert schedule.lr_scheduler_ is None
    skio.save(model, tmp_path / "model.skanime")  # only trusted types inside
    loaded = skio.load(tmp_path / "model.skanime")
    np.testing.assert_array_equal(loaded.predict(anime), model.predict(anime))


def test_no_schedule_keeps_the_learning_rate(anime):
    model = fast_model(poster_column=None, lr_schedule=None, max_epochs=3)
    model.fit(anime, anime["Score"])
    assert "lr_schedule" not in dict(model.net_.callbacks_)
    assert "event_lr" not in model.history_[-1]


def test_folds_for_another_number_of_members_is_a_clear_error():
    X, y = _data(20)
    net = HybridNet(module__n_members=2, max_epochs=1, train_split=MemberFolds(3))
    with pytest.raises(ValueError, match="give MemberFolds the module's n_members"):
        net.fit(X, y)


def _module_and_inputs(n=30, seed=0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    module = HybridModule(
        4, embedding_dim=6, n_members=3, hidden_units=8, dropout=0.0, image_dropout=0.0
    )
    has_image = (rng.random(n) < 0.5).astype(np.float32)
    inputs = {
        "tabular": torch.tensor(rng.normal(size=(n, 4)), dtype=torch.float32),
        "has_image": torch.tensor(has_image),
        "embedding": torch.tensor(rng.normal(size=(n, 6)), dtype=torch.float32),
    }
    fold = torch.tensor(MemberFolds(3, random_state=seed).folds(n))
    return module, inputs, fold


def test_held_out_scores_are_each_rows_own_members_score():
    module, inputs, fold = _module_and_inputs()
    module.eval()
    with torch.no_grad():
        every = module.member_scores(**inputs)
        held_out = module.held_out_scores(fold, **inputs)
    torch.testing.assert_close(held_out, every.gather(1, fold.reshape(-1, 1)))


def test_in_training_a_member_runs_only_on_the_rows_it_learns_from():
    module, inputs, fold = _module_and_inputs(seed=1)
    module.train()  # dropout 0: training mode computes the same scores
    every = module.member_scores(**inputs)
    _, scores, _, _ = module(**inputs, fold=fold)
    for j in range(3):
        own = fold == j
        assert torch.count_nonzero(scores[own, j]) == 0
        torch.testing.assert_close(scores[~own, j], every[~own, j])
    # no gradient reaches a member from the rows of its own fold
    scores[fold == 0, 0].sum().backward()
    grads = [p.grad for p in module.members[0].parameters() if p.grad is not None]
    assert all(torch.count_nonzero(g) == 0 for g in grads)


def test_the_schedules_patience_is_routed_and_the_default_cuts_sooner(anime):
    """The plateau schedule's patience (the default 2 since 2026-11-27; the
    slower setting of the docs routes 4 through
    ``callbacks__lr_schedule__patience``): the estimator hands the routed value
    to the fitted schedule and keeps it in ``get_params``, and the default cuts
    the rate sooner than 4 (early stopping is off here, so ``patience`` would
    not act)."""
    noise = np.random.default_rng(0).permutation(anime["Score"].to_numpy())

    def first_cut(**params):
        model = fast_model(poster_column=None, early_stopping=False, max_epochs=12)
        model.set_params(lr=0.05, **params).fit(anime, noise)
        cuts = np.flatnonzero(np.asarray(model.history_[:, "event_lr"]) < 0.05)
        return model, cuts[0] if len(cuts) else np.inf  # the first cut epoch

    model, later = first_cut(callbacks__lr_schedule__patience=4)
    callbacks = dict(model.net_.callbacks_)
    assert callbacks["lr_schedule"].kwargs["patience"] == 4
    assert model.get_params()["callbacks__lr_schedule__patience"] == 4
    model, default = first_cut()
    assert dict(model.net_.callbacks_)["lr_schedule"].kwargs["patience"] == 2
    assert default < later
