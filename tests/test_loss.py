"""The ``loss`` parameter: Huber (the default) or the paper's squared error."""

import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from skanime import make_hybrid_pipeline
from skanime.datasets import PAPER_MODEL

from .conftest import fast_model


def _criterion(model):
    return model.net_.criterion_


def test_the_default_loss_is_huber_with_delta_one_half(anime):
    model = fast_model().fit(anime, anime["Score"])
    criterion = _criterion(model)
    assert isinstance(criterion, torch.nn.HuberLoss)
    assert criterion.delta == 0.5
    # the loss the net trains on is that Huber loss, not MSE
    y_pred = torch.tensor([[7.0], [5.0], [8.0]])
    y_true = torch.tensor([[7.2], [6.5], [8.0]])
    expected = torch.nn.functional.huber_loss(y_pred, y_true, delta=0.5)
    torch.testing.assert_close(model.net_.get_loss(y_pred, y_true), expected)
    assert expected != torch.nn.functional.mse_loss(y_pred, y_true)


def test_squared_error_and_the_delta_reach_the_criterion(anime):
    mse = fast_model(loss="squared_error").fit(anime, anime["Score"])
    assert type(_criterion(mse)) is torch.nn.MSELoss
    narrow = fast_model(huber_delta=0.2).fit(anime, anime["Score"])
    assert _criterion(narrow).delta == 0.2
    # a skorch criterion__delta is the more specific setting, and wins
    explicit = fast_model(huber_delta=0.2, criterion__delta=0.7)
    assert _criterion(explicit.fit(anime, anime["Score"])).delta == 0.7


def test_the_paper_model_keeps_the_papers_mse():
    assert PAPER_MODEL["loss"] == "squared_error"
    pipe = make_hybrid_pipeline(poster_column=None, loss="squared_error")
    assert pipe["net"].criterion is torch.nn.MSELoss
    assert make_hybrid_pipeline(poster_column=None)["net"].criterion__delta == 0.5


@pytest.mark.parametrize(
    "params, name",
    [({"loss": "absolute"}, "loss"), ({"huber_delta": 0.0}, "huber_delta")],
)
def test_a_bad_loss_is_refused_by_name(anime, params, name):
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        fast_model(**params).fit(anime, anime["Score"])


def test_make_hybrid_pipeline_refuses_an_unknown_loss():
    with pytest.raises(ValueError, match="loss must be"):
        make_hybrid_pipeline(poster_column=None, loss="l1")


def test_loss_label_names_the_criterion_that_was_used(anime):
    from skanime.intervals import ConformalRegressor
    from skanime.report import loss_label

    model = fast_model(huber_delta=0.2, criterion__delta=0.7, poster_column=None)
    model.fit(anime, anime["Score"])
    assert loss_label(model) == loss_label(model.net_) == "Huber, delta 0.7"
    mse = fast_model(loss="squared_error", poster_column=None)
    assert loss_label(mse.fit(anime, anime["Score"])) == "MSE"
    # an unfitted model, or a wrapper without a net of its own, has no criterion
    assert loss_label(fast_model()) == loss_label(ConformalRegressor(mse)) == "loss"
