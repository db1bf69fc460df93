"""FastDropout and PartlySparseLinear: torch's layers, computed faster on the CPU."""

import numpy as np
import pytest
import torch
from torch import nn

from skanime import HybridModule, HybridNet
from skanime._layers import FastDropout, PartlySparseLinear
from skanime.tabular_branches import MLPBranch


def test_fast_dropout_keeps_the_expected_share_and_scales_it():
    torch.manual_seed(0)
    layer = FastDropout(0.3)
    x = torch.ones(200, 500)
    out = layer(x)
    assert abs(float((out == 0).float().mean()) - 0.3) < 0.01
    # p is rounded to a multiple of 1/65536: the scale is 1 / 0.7 within 1e-4
    np.testing.assert_allclose(out[out != 0].unique().numpy(), [1 / 0.7], rtol=1e-4)
    assert abs(float(out.mean()) - 1.0) < 0.02  # unbiased, as nn.Dropout


def test_fast_dropout_passes_the_gradient_of_the_kept_entries_only():
    torch.manual_seed(1)
    x = torch.randn(50, 40, requires_grad=True)
    out = FastDropout(0.5)(x)
    out.sum().backward()
    kept = out != 0
    np.testing.assert_allclose(x.grad[kept].numpy(), 2.0)
    np.testing.assert_allclose(x.grad[~kept].numpy(), 0.0)


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_fast_dropout_edge_rates_and_eval_mode(p):
    x = torch.randn(10, 7)
    layer = FastDropout(p)
    if p == 0:
        assert torch.equal(layer(x), x)
    if p == 1:
        assert torch.equal(layer(x), torch.zeros_like(x))
    assert torch.equal(layer.eval()(x), x)
    assert isinstance(layer, nn.Dropout)


def _sparse_input(n=64, n_dense=5, n_sparse=30, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, n_dense))
    sparse = (rng.random((n, n_sparse)) < 0.1) * rng.choice(
        [1.0, 0.5, -2.0], (n, n_sparse)
    )
    sparse[3] = 0  # a row without any non-zero indicator
    return torch.tensor(np.hstack([dense, sparse]), dtype=torch.float32)


def _linear_like(layer):
    dense = nn.Linear(layer.in_features, layer.out_features)
    with torch.no_grad():
        dense.weight.copy_(layer.weight)
        dense.bias.copy_(layer.bias)
    return dense


def test_partly_sparse_linear_matches_linear_in_output_and_gradients():
    torch.manual_seed(0)
    x = _sparse_input()
    layer = PartlySparseLinear(35, 8, n_dense=5)
    dense = _linear_like(layer)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    out1, out2 = layer(x1), dense(x2)
    torch.testing.assert_close(out1, out2, rtol=1e-5, atol=1e-5)
    weights = torch.randn_like(out1)
    (out1 * weights).sum().backward()
    (out2 * weights).sum().backward()
    grad = dense.weight.grad
    torch.testing.assert_close(
        layer.dense_weight.grad, grad[:, :5], rtol=1e-5, atol=1e-5
    )
    # the indicators' weights are stored one row per column
    torch.testing.assert_close(
        layer.sparse_weight.grad, grad[:, 5:].T, rtol=1e-5, atol=1e-5
    )
    torch.testing.assert_close(layer.bias.grad, dense.bias.grad)
    # the dense columns get their gradient; the sparse ones (data) none
    torch.testing.assert_close(x1.grad[:, :5], x2.grad[:, :5], rtol=1e-5, atol=1e-5)
    assert torch.count_nonzero(x1.grad[:, 5:]) == 0


def test_partly_sparse_linear_same_initial_weights_as_linear():
    torch.manual_seed(3)
    a = PartlySparseLinear(12, 4, n_dense=2)
    torch.manual_seed(3)
    b = nn.Linear(12, 4)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert a.sparse_weight.shape == (10, 4) and a.sparse_weight.is_contiguous()
    assert "n_dense=2" in repr(a)
    # every parameter is the layer's own: the optimiser sees three
    assert [name for name, _ in a.named_parameters()] == [
        "dense_weight",
        "sparse_weight",
        "bias",
    ]


@pytest.mark.parametrize("n_dense", [0, 35])
def test_partly_sparse_linear_all_sparse_or_all_dense(n_dense):
    x = _sparse_input()
    layer = PartlySparseLinear(35, 3, n_dense=n_dense)
    torch.testing.assert_close(
        layer(x),
        nn.functional.linear(x, layer.weight, layer.bias),
        rtol=1e-5,
        atol=1e-5,
    )
    assert layer(x[:0]).shape == (0, 3)


def test_partly_sparse_linear_rejects_a_bad_n_dense():
    with pytest.raises(ValueError, match="n_dense must be between 0 and in_features=4"):
        PartlySparseLinear(4, 2, n_dense=5)


def test_the_mlp_branch_uses_it_only_when_told_where_the_indicators_start():
    assert type(MLPBranch(10, hidden_units=4)[0]) is nn.Linear
    branch = MLPBranch(10, hidden_units=4, n_dense=3)
    assert isinstance(branch[0], PartlySparseLinear) and branch[0].n_dense == 3
    assert type(branch[3]) is nn.Linear  # the later layers are dense


def test_the_module_sends_the_indicators_after_the_embedding_to_it():
    module = HybridModule(
        6,
        with_image=False,
        numeric_embedding=4,
        continuous_columns=[0, 2],
        hidden_units=8,
    )
    first = module.members[0].tabular[0]
    assert isinstance(first, PartlySparseLinear)
    assert first.n_dense == module.members[0].embed.periodic.out_features == 8
    assert first.in_features == 8 + 4
    # TabM keeps its own layers
    tabm = HybridModule(
        6,
        with_image=False,
        numeric_embedding=4,
        continuous_columns=[0, 2],
        tabular_branch="tabm",
    )
    assert not any(isinstance(m, PartlySparseLinear) for m in tabm.modules())


def test_the_net_uses_torchs_fused_adam_unless_told_otherwise():
    rng = np.random.default_rng(0)
    X = {"tabular": rng.normal(size=(30, 3)).astype(np.float32)}
    y = rng.normal(7, 1, size=30)
    net = HybridNet(max_epochs=1, train_split=None, verbose=0).fit(X, y)
    assert net.optimizer_.defaults["fused"] is True
    net = HybridNet(max_epochs=1, train_split=None, verbose=0, optimizer__foreach=True)
    assert not net.fit(X, y).optimizer_.defaults["fused"]
    net = HybridNet(
        max_epochs=1, train_split=None, verbose=0, optimizer=torch.optim.SGD
    )
    assert not net.fit(X, y).optimizer_.defaults.get("fused")
