"""Tabular branches of HybridModule: the paper's MLP and TabM-mini."""

import numpy as np
import pytest
import torch

from skanime import HybridModule, HybridNet
from skanime._branches import TABULAR_BRANCHES, TabMBranch, make_tabular_branch


@pytest.mark.parametrize("name", sorted(TABULAR_BRANCHES))
@pytest.mark.parametrize("options", [{}, {"d_embedding": 3, "n_frequencies": 2}])
def test_branch_contract(name, options):
    if name == "mlp" and options:
        pytest.skip("the MLP has no embedding options")
    branch = make_tabular_branch(
        name, 5, hidden_units=7, n_layers=2, dropout=0.0, **options
    )
    x = torch.randn(4, 5)
    out = branch(x)
    assert out.shape == (4, branch.out_features) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in branch.parameters() if p.requires_grad)


def test_tabm_members_differ_and_are_averaged():
    branch = TabMBranch(6, hidden_units=5, n_layers=1, dropout=0.0, k=3).eval()
    x = torch.randn(2, 6)
    members = [branch.mlp(x * branch.adapters[i]) for i in range(3)]
    assert not torch.allclose(members[0], members[1])
    assert torch.allclose(branch(x), torch.stack(members).mean(0), atol=1e-6)


def test_unknown_branch():
    with pytest.raises(ValueError, match="tabular_branch='forest'.*mlp"):
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
