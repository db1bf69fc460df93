"""``mixed_precision="bfloat16"``: training forward passes under
``torch.autocast``; the loss, validation and ``predict`` in float32."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

import skanime.io as skio
from skanime import HybridNet
from skanime._module import _Member

from .conftest import fast_model


def _autocast_state(member, *args, **kwargs):
    """``(training, autocast dtype or None)`` of a member's forward pass."""
    on = torch.is_autocast_enabled("cpu")
    return member.training, torch.get_autocast_dtype("cpu") if on else None


def _prediction_dtype(net, y_pred, *args, **kwargs):
    return (y_pred[0] if isinstance(y_pred, tuple) else y_pred).dtype


@pytest.fixture
def forward_calls(record_calls):
    """``(training, autocast dtype or None)`` of every member's forward pass."""
    return record_calls(_Member, "forward", _autocast_state)


@pytest.fixture
def loss_inputs(record_calls):
    """The dtype of every prediction ``HybridNet.get_loss`` receives."""
    return record_calls(HybridNet, "get_loss", _prediction_dtype)


@pytest.mark.parametrize(
    "params",
    [
        {},
        # a backbone trained in the net, augmented, with the poster-only head
        {"freeze_backbone": False, "augment": True, "poster_aux_weight": 0.5},
        # one network, a held-out share for validation
        {"n_members": 1, "validation_fraction": 0.2},
    ],
    ids=["default", "fine-tuned", "held-out"],
)
def test_training_runs_under_bfloat16_autocast_and_nothing_else_does(
    anime, forward_calls, loss_inputs, params
):
    model = fast_model(mixed_precision="bfloat16", **params)
    model.fit(anime, anime["Score"])
    training = {dtype for is_training, dtype in forward_calls if is_training}
    assert training == {torch.bfloat16}
    # validation ran, in float32
    assert {dtype for is_training, dtype in forward_calls if not is_training} == {None}
    # the loss compares float32 predictions with the float32 target
    assert set(loss_inputs) == {torch.float32}
    forward_calls.clear()
    predictions = model.predict(anime)
    assert forward_calls and {dtype for _, dtype in forward_calls} == {None}
    assert np.isfinite(predictions).all()
    assert np.isfinite(model.history_[:, "train_loss"]).all()


def test_without_mixed_precision_nothing_runs_under_autocast(anime, forward_calls):
    fast_model().fit(anime, anime["Score"])
    assert forward_calls and {dtype for _, dtype in forward_calls} == {None}


def test_bfloat16_training_gives_another_but_close_model(anime):
    y = anime["Score"]
    full = fast_model(max_epochs=4).fit(anime, y).predict(anime)
    mixed = fast_model(max_epochs=4, mixed_precision="bfloat16").fit(anime, y)
    mixed = mixed.predict(anime)
    assert not np.array_equal(full, mixed)
    # bfloat16 keeps about 3 significant digits: the same model, rounded
    assert np.abs(full - mixed).max() < 0.1


@pytest.mark.parametrize("value", ["float16", "bf16", True, ["bfloat16"]])
def test_an_unknown_mixed_precision_is_refused_by_name(anime, value):
    with pytest.raises(InvalidParameterError, match="mixed_precision"):
        fast_model(mixed_precision=value).fit(anime, anime["Score"])
    with pytest.raises(ValueError, match="mixed_precision"):
        HybridNet(mixed_precision=value).initialize()


def test_an_unknown_mixed_precision_set_after_fit_is_refused_before_training(anime):
    model = fast_model(max_epochs=1).fit(anime, anime["Score"])
    packed = model.pipeline_[:-1].transform(anime)
    net = model.net_.set_params(mixed_precision="float16")
    n_epochs = len(net.history_)
    with pytest.raises(ValueError, match="mixed_precision='float16'"):
        net.partial_fit(packed, anime["Score"].to_numpy())
    assert len(net.history_) == n_epochs  # no epoch ran


def test_a_mixed_precision_model_saves_and_loads(anime, tmp_path):
    model = fast_model(mixed_precision="bfloat16").fit(anime, anime["Score"])
    skio.save(model, tmp_path / "model.skanime")
    loaded = skio.load(tmp_path / "model.skanime")
    assert loaded.get_params()["mixed_precision"] == "bfloat16"
    assert loaded.net_.mixed_precision == "bfloat16"
    np.testing.assert_array_equal(loaded.predict(anime), model.predict(anime))
