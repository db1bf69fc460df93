"""FastDropout and PartlySparseLinear: torch's layers, computed faster on the CPU;
WordWeights, the members' weights of a title's words."""

import numpy as np
import pytest
import torch
from torch import nn

from skanime import HybridModule, HybridNet
from skanime._layers import FastDropout, PartlySparseLinear, WordWeights
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


def test_word_weights_sum_the_weights_of_a_rows_words_and_learn_only_those():
    words = WordWeights(5)
    assert words.weight.abs().sum() == 0  # the network starts without them
    with torch.no_grad():
        words.weight.copy_(torch.arange(1.0, 6.0).reshape(5, 1))
    x = torch.tensor([[1.0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0]])
    out = words(x)
    torch.testing.assert_close(out, torch.tensor([[5.0], [0.0], [2.0]]))
    # the same as a linear layer without bias
    torch.testing.assert_close(out, x @ words.weight)
    out.sum().backward()
    # words 2 and 4 are in no row: no gradient
    assert words.weight.grad.reshape(-1).tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]


def test_word_weights_reject_an_empty_vocabulary():
    with pytest.raises(ValueError, match="n_words >= 1"):
        WordWeights(0)


def test_each_member_adds_its_own_word_weights_to_its_score():
    # 6 tabular columns: 0 and 2 continuous, 3 indicators; then 3 words
    module = HybridModule(
        9,
        n_words=3,
        with_image=False,
        numeric_embedding=4,
        continuous_columns=[0, 2],
        hidden_units=8,
        n_members=2,
    )
    first, second = module.members
    assert first.words is not second.words and first.words.n_words == 3
    layer = first.tabular[0]
    # the tabular branch reads the 6 other columns: 2 numbers embedded 4 wide
    assert layer.n_dense == 8 and layer.in_features == 8 + 4
    x = torch.zeros(2, 9)
    x[:, [0, 2]] = 0.5
    x[0, 7] = 1.0  # row 0 holds word 1
    module.eval()
    before = module(x)
    # the weights start at zero (identical rows may differ in the last bit)
    torch.testing.assert_close(before[0], before[1])
    with torch.no_grad():
        for member in module.members:
            member.words.weight[1] = 0.25
    after = module(x)
    # the weights add to the standardised score, which target_std scales
    torch.testing.assert_close(after[0] - before[0], torch.tensor([0.25]))
    torch.testing.assert_close(after[1], before[1])


def test_a_member_learns_no_word_from_the_rows_it_validates_on():
    """With member folds, member j never trains on fold j: its word weights get
    no gradient from a word that only fold j's titles hold."""
    torch.manual_seed(0)
    module = HybridModule(4, n_words=2, with_image=False, n_members=2)
    module.train()
    x = torch.zeros(4, 4)
    x[:, 0] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    x[[0, 1], 2] = 1.0  # word 0: rows 0 and 1, fold 0
    x[[2, 3], 3] = 1.0  # word 1: rows 2 and 3, fold 1
    fold = torch.tensor([0, 0, 1, 1])
    _, scores, *_ = module(x, fold=fold)
    scores.sum().backward()
    for j, member in enumerate(module.members):
        grad = member.words.weight.grad.reshape(-1)
        assert grad[j] == 0  # its own fold's word
        assert grad[1 - j] != 0  # the other fold's word


def test_the_module_rejects_words_it_cannot_hold():
    with pytest.raises(ValueError, match="n_words must be between"):
        HybridModule(3, n_words=4, with_image=False)
    with pytest.raises(ValueError, match="leave a tabular column or a poster"):
        HybridModule(3, n_words=3, with_image=False)
    with pytest.raises(ValueError, match="must not hold word columns"):
        HybridModule(
            4, n_words=2, with_image=False, numeric_embedding=4, continuous_columns=[3]
        )
