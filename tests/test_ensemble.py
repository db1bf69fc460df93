"""HybridModule's ensemble: members with their own weights and losses, one mean."""

import numpy as np
import pytest
import torch

from skanime import HybridModule, HybridNet

from .conftest import fast_model


def _module(n_members, **params):
    torch.manual_seed(0)
    return HybridModule(
        6,
        with_image=False,
        hidden_units=8,
        head_units=4,
        n_members=n_members,
        **params,
    )


def test_members_start_from_their_own_weights():
    module = _module(3)
    first, second = (next(m.parameters()) for m in module.members[:2])
    assert first.shape == second.shape and not torch.equal(first, second)


def test_forward_is_the_members_mean_and_their_scores_in_training():
    module = _module(3, dropout=0.0)
    x = torch.randn(5, 6)
    mean, members, poster, flags = module.train()(x)
    assert poster.numel() == 0 and flags.numel() == 0  # no poster branch
    assert mean.shape == (5, 1) and members.shape == (5, 3)
    torch.testing.assert_close(mean, members.mean(dim=1, keepdim=True))
    evaluated = module.eval()(x)
    assert evaluated.shape == (5, 1)
    torch.testing.assert_close(evaluated, mean)  # no dropout: the same members


def test_one_member_returns_one_tensor_in_training():
    out = _module(1).train()(torch.randn(4, 6))
    assert torch.is_tensor(out) and out.shape == (4, 1)


def test_loss_is_the_mean_of_the_members_losses():
    rng = np.random.default_rng(0)
    X = {"tabular": rng.normal(size=(20, 6)).astype(np.float32)}
    y = rng.normal(7, 1, size=20)
    net = HybridNet(
        module__n_members=3, module__dropout=0.0, max_epochs=1, train_split=None
    ).fit(X, y)
    module = net.module_.train()
    module.zero_grad()
    output = module(torch.from_numpy(X["tabular"]))
    mean, members = output[:2]
    target = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    loss = net.get_loss(output, target, training=True)
    expected = ((members - target) ** 2).mean()
    torch.testing.assert_close(loss, expected)
    # not the loss of the mean, which would train the members as one network
    assert not torch.isclose(loss, ((mean - target) ** 2).mean())
    # each member gets the gradient of its own loss, as if it were alone
    loss.backward()
    first = next(module.members[0].parameters())
    together = first.grad.clone()
    module.zero_grad()
    members = module(torch.from_numpy(X["tabular"]))[1]
    ((members[:, :1] - target) ** 2).mean().backward()
    torch.testing.assert_close(together, first.grad)


@pytest.mark.parametrize("n_members", [0, -1, 1.5, True])
def test_bad_n_members(n_members):
    with pytest.raises(ValueError, match="n_members"):
        _module(n_members)


def test_estimator_ensemble_fits_predicts_and_is_the_mean(anime):
    X = anime.drop(columns="Score")
    # the network's prediction: no booster averaged in
    model = fast_model(poster_column=None, n_members=3, booster=None)
    model.fit(X, anime["Score"])
    module = model.net_.module_
    assert len(module.members) == 3
    pred = model.predict(X)
    assert pred.shape == (len(X),)
    # the members disagree: an ensemble, not three copies
    packed = model.pipeline_[:-1].transform(X)
    # the members read the title's word columns behind the tabular ones
    tabular = np.hstack([packed["tabular"], packed["words"]])
    module.eval()
    with torch.no_grad():
        scores = torch.cat(
            [
                m(
                    torch.as_tensor(tabular, dtype=torch.float32),
                    None,
                    None,
                    None,
                )[0]
                for m in module.members
            ],
            dim=1,
        )
    assert scores.std(dim=1).mean() > 0
    mean = (scores * module.target_std + module.target_mean).mean(dim=1)
    np.testing.assert_allclose(pred, mean.numpy(), rtol=1e-5, atol=1e-5)


def test_n_members_is_validated_by_the_estimator(anime):
    with pytest.raises(ValueError, match="n_members"):
        fast_model(n_members=0).fit(anime, anime["Score"])


def test_members_with_poster_embeddings_run_under_bfloat16_autocast():
    """The image projection's bfloat16 output joins the float32 features of the
    rows without a poster (an index_put of mismatched dtypes fails)."""
    torch.manual_seed(0)
    module = HybridModule(
        6, embedding_dim=5, hidden_units=8, head_units=4, image_units=3, n_members=2
    )
    has_image = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    inputs = {
        "tabular": torch.randn(4, 6),
        "has_image": has_image,
        "embedding": torch.randn(4, 5) * has_image,
    }
    module.eval()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(**inputs)
    assert out.shape == (4, 1) and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), module(**inputs), atol=0.05, rtol=0.05)
