"""Fine-tuning a backbone inside the network: its last blocks only
(``freeze_backbone=N``), training-time augmentation, a learning rate of its own,
and an auxiliary poster-only loss."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from skanime import HybridModule, HybridNet
from skanime import io as skio
from skanime._augment import AugmentedPosters
from skanime.backbones import backbone_blocks, child_blocks

from .conftest import fast_model


def _module(**params) -> HybridModule:
    defaults = {"backbone": "simple_cnn", "image_size": 16}
    return HybridModule(3, hidden_units=4, head_units=4, **{**defaults, **params})


def _inputs(n=6):
    return {
        "tabular": torch.randn(n, 3),
        "image": torch.randn(n, 3, 16, 16),
        "has_image": torch.tensor([[1.0], [0.0]] * (n // 2)),
    }


def _trained_names(module) -> set[str]:
    return {name for name, p in module.named_parameters() if p.grad is not None}


# -- freeze_backbone=N -----------------------------------------------------------------
def test_only_the_last_n_blocks_of_the_backbone_get_gradients():
    module = _module(freeze_backbone=1).train()
    module(**_inputs()).sum().backward()
    trained = _trained_names(module)
    backbone = {n for n, _ in module.named_parameters() if n.startswith("backbone.")}
    # simple_cnn's blocks: features.0-3, 4-7, 8-11; the last conv is features.8
    assert {n for n in backbone if n in trained} == {
        "backbone.features.8.weight",
        "backbone.features.8.bias",
        "backbone.features.9.weight",
        "backbone.features.9.bias",
    }
    assert {"members.0.head.0.weight", "members.0.image_projection.1.weight"} <= trained
    two = _module(freeze_backbone=2).train()
    two(**_inputs()).sum().backward()
    assert "backbone.features.4.weight" in _trained_names(two)
    assert "backbone.features.0.weight" not in _trained_names(two)


def test_frozen_blocks_keep_their_batch_norm_statistics():
    module = _module(freeze_backbone=1).train()
    first_bn, last_bn = module.backbone.features[1], module.backbone.features[9]
    assert not first_bn.training and last_bn.training
    before_first = first_bn.running_mean.clone()
    before_last = last_bn.running_mean.clone()
    module(**_inputs())
    torch.testing.assert_close(first_bn.running_mean, before_first)
    assert not torch.equal(last_bn.running_mean, before_last)


def test_freeze_batch_norm_keeps_the_statistics_of_trained_blocks_too():
    module = _module(freeze_backbone=1, freeze_batch_norm=True).train()
    last_bn = module.backbone.features[9]
    assert not last_bn.training and module.head.training
    before = last_bn.running_mean.clone()
    module(**_inputs()).sum().backward()
    torch.testing.assert_close(last_bn.running_mean, before)
    assert last_bn.weight.grad is not None  # its affine weights still train
    assert module.backbone.features[8].weight.grad is not None


def test_a_plugin_backbone_without_blocks_falls_back_to_its_children():
    class Plugin(nn.Module):  # not a skanime Backbone: no blocks() method
        out_features = 8

        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(
                nn.Conv2d(3, 4, 3),
                nn.ReLU(),
                nn.Conv2d(4, 8, 3),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )

        def forward(self, image):
            return self.layers(image)

    plugin = Plugin()
    assert backbone_blocks(plugin) == child_blocks(plugin)
    assert [b.out_channels for b in backbone_blocks(plugin)] == [4, 8]
    module = _module(freeze_backbone=1, backbone=plugin).train()
    module(**_inputs()).sum().backward()
    trained = {n for n in _trained_names(module) if n.startswith("backbone.")}
    assert trained == {"backbone.layers.2.weight", "backbone.layers.2.bias"}


@pytest.mark.parametrize("bad", [0, 4, -1, 1.5])
def test_a_bad_number_of_blocks_is_an_error_naming_freeze_backbone(bad):
    with pytest.raises(ValueError, match=rf"freeze_backbone={bad!r}.*1 to 3"):
        _module(freeze_backbone=bad)


def test_the_estimator_trains_the_last_blocks_and_records_n(anime):
    # no early stopping: it could restore the first epoch's weights in both
    model = fast_model(freeze_backbone=1, early_stopping=False)
    model.fit(anime, anime["Score"])
    assert model.freeze_backbone_ == 1
    assert model.net_.module_.freeze_backbone == 1
    # the same initial weights, one epoch less: frozen blocks equal, the last not
    shorter = fast_model(freeze_backbone=1, max_epochs=1, early_stopping=False)
    shorter.fit(anime, anime["Score"])
    trained, fewer = model.net_.module_.backbone, shorter.net_.module_.backbone
    torch.testing.assert_close(trained.features[0].weight, fewer.features[0].weight)
    torch.testing.assert_close(trained.features[4].weight, fewer.features[4].weight)
    assert not torch.equal(trained.features[8].weight, fewer.features[8].weight)


@pytest.mark.parametrize("bad", [0, -2, 2.0])
def test_the_estimator_refuses_a_bad_freeze_backbone(anime, bad):
    with pytest.raises(InvalidParameterError, match="freeze_backbone"):
        fast_model(freeze_backbone=bad).fit(anime, anime["Score"])


def test_more_blocks_than_the_backbone_has_is_an_error(anime):
    with pytest.raises(ValueError, match=r"freeze_backbone=7.*from 1 to 3"):
        fast_model(freeze_backbone=7).fit(anime, anime["Score"])


# -- augmentation ----------------------------------------------------------------------
def _net_on_posters(anime, **params):
    """A model with a trained backbone, fitted on ``anime``."""
    return fast_model(freeze_backbone=False, **params).fit(anime, anime["Score"])


def test_fine_tuning_decodes_each_poster_once_a_fit(
    anime, monkeypatch, decoded_posters
):
    """A fit decodes each poster once, before its first epoch, not once an
    epoch; the model is the one decoding per row would give (over the memory
    limit) and predict decodes each row's poster as it reads it."""
    import skanime._dataset as dataset_module

    decoded = decoded_posters
    params = {"max_epochs": 3, "early_stopping": False, "augment": True}
    model = _net_on_posters(anime, **params)
    n_posters = int(anime["poster"].notna().sum())
    assert len(decoded) == n_posters
    decoded.clear()
    predictions = model.predict(anime)
    assert len(decoded) == len(anime)  # each row as it is read
    decoded.clear()
    monkeypatch.setattr(dataset_module, "PRELOAD_MAX_BYTES", 0)
    per_row = _net_on_posters(anime, **params)
    assert len(decoded) >= 3 * len(anime)  # every row, every epoch
    np.testing.assert_array_equal(per_row.predict(anime), predictions)


@pytest.mark.parametrize("workers", [0, 1])
def test_workers_get_the_preloaded_pixels_in_shared_memory(anime, workers):
    model = _net_on_posters(anime, max_epochs=1, num_workers=workers)
    net = model.net_
    packed = model.pipeline_[:-1].transform(anime)
    dataset = net.get_dataset(packed, anime["Score"].to_numpy())
    net.get_iterator(dataset, training=True)
    assert isinstance(dataset.pixels, torch.Tensor) is bool(workers)
    assert not workers or dataset.pixels.is_shared()


def test_augmentation_changes_training_batches_but_not_validation_ones(anime):
    model = _net_on_posters(anime, augment=True)
    net = model.net_
    packed = model.pipeline_[:-1].transform(anime)
    dataset = net.get_dataset(packed, anime["Score"].to_numpy())
    train = net.get_iterator(dataset, training=True)
    assert isinstance(train.dataset, AugmentedPosters)
    x, _ = next(iter(train))
    present = x["has_image"].reshape(-1) > 0
    originals = [dataset[i][0]["image"] for i in range(len(dataset))]
    # each augmented poster differs from every original one
    for image in x["image"][present]:
        assert not any(torch.allclose(image, o) for o in originals)
    # missing posters stay all zeros
    assert (x["image"][~present] == 0).all()
    valid = net.get_iterator(dataset, training=False)
    x, _ = next(iter(valid))
    torch.testing.assert_close(x["image"], torch.stack(originals[: len(x["image"])]))


def test_augmentation_never_reaches_predict_and_is_reproducible(anime):
    model = _net_on_posters(anime, augment=True)
    predictions = model.predict(anime)
    np.testing.assert_array_equal(model.predict(anime), predictions)
    model.net_.set_params(augment=False)
    np.testing.assert_array_equal(model.predict(anime), predictions)
    again = _net_on_posters(anime, augment=True)
    np.testing.assert_array_equal(again.predict(anime), predictions)
    plain = _net_on_posters(anime, augment=False)
    assert not np.array_equal(plain.predict(anime), predictions)


@pytest.mark.parametrize("param", [{"augment": True}, {"backbone_lr": 1e-4}])
def test_trained_backbone_options_refuse_a_frozen_backbone(anime, param):
    (name,) = param
    with pytest.raises(ValueError, match=rf"{name}=.*frozen backbone"):
        fast_model(freeze_backbone=True, engine="torch", **param).fit(
            anime, anime["Score"]
        )


def test_a_net_given_embeddings_refuses_augment():
    X = {
        "tabular": np.zeros((8, 2), np.float32),
        "embedding": np.ones((8, 4), np.float32),
    }
    net = HybridNet(max_epochs=1, train_split=None, augment=True)
    with pytest.raises(ValueError, match="augment=True needs posters decoded"):
        net.fit(X, np.linspace(5, 8, 8))


# -- a learning rate for the backbone --------------------------------------------------
def _lrs(model) -> dict:
    """The learning rate of every parameter name in the fitted optimizer."""
    module = model.net_.module_
    by_id = {id(p): name for name, p in module.named_parameters()}
    return {
        by_id[id(p)]: group["lr"]
        for group in model.net_.optimizer_.param_groups
        for p in group["params"]
    }


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer__param_groups": [("backbone.*", {"lr": 1e-4})]},
        {"backbone_lr": 1e-4},
    ],
)
def test_the_backbone_gets_its_own_learning_rate(anime, params):
    model = fast_model(freeze_backbone=False, lr=0.01, **params)
    lrs = _lrs(model.fit(anime, anime["Score"]))
    assert len(lrs) == len(list(model.net_.module_.parameters()))
    assert {lr for name, lr in lrs.items() if name.startswith("backbone.")} == {1e-4}
    assert {lr for name, lr in lrs.items() if not name.startswith("backbone.")} == {
        0.01
    }


def test_backbone_lr_comes_after_the_users_own_groups(anime):
    model = fast_model(
        freeze_backbone=False,
        backbone_lr=1e-4,
        optimizer__param_groups=[("backbone.features.8.*", {"lr": 0.5})],
    )
    lrs = _lrs(model.fit(anime, anime["Score"]))
    assert lrs["backbone.features.8.weight"] == 0.5
    assert lrs["backbone.features.0.weight"] == 1e-4
    assert model.get_params()["optimizer__param_groups"] == [
        ("backbone.features.8.*", {"lr": 0.5})
    ]


# -- the auxiliary poster-only output -------------------------------------------------
def test_the_poster_head_gives_a_second_output_in_training_only():
    module = _module(poster_head=True).train()
    score, members, poster_score, has_image = module(**_inputs())
    assert score.shape == poster_score.shape == has_image.shape == (6, 1)
    torch.testing.assert_close(members, score)  # one member
    assert module.eval()(**_inputs()).shape == (6, 1)


def test_the_auxiliary_loss_adds_the_weighted_poster_rows_mse():
    net = HybridNet(poster_aux_weight=0.5).initialize()
    net._initialize_criterion()
    y = torch.tensor([[6.0], [7.0], [8.0], [9.0]])
    score = torch.tensor([[6.5], [7.0], [8.0], [9.0]])
    poster_score = torch.tensor([[7.0], [100.0], [8.0], [8.0]])
    has_image = torch.tensor([[1.0], [0.0], [1.0], [1.0]])
    loss = net.get_loss((score, score, poster_score, has_image), y, training=True)
    main = net.get_loss(score, y, training=True)
    torch.testing.assert_close(main, torch.tensor(0.25 / 4))
    torch.testing.assert_close(loss, main + 0.5 * torch.tensor(2.0 / 3))
    net.set_params(poster_aux_weight=0.0)
    torch.testing.assert_close(
        net.get_loss((score, score, poster_score, has_image), y, training=True), main
    )


@pytest.mark.parametrize(
    "params",
    [{"freeze_backbone": False}, {"freeze_backbone": True, "engine": "torch"}],
    ids=["trained backbone", "frozen embeddings"],
)
def test_poster_aux_weight_trains_differently_and_predicts_the_main_score(
    anime, params
):
    # no booster: the pipeline's own path below is the network's
    model = fast_model(poster_aux_weight=1.0, booster=None, **params)
    model.fit(anime, anime["Score"])
    plain = fast_model(booster=None, **params).fit(anime, anime["Score"])
    assert isinstance(model.net_.module_.poster_head, nn.Linear)
    assert plain.net_.module_.poster_head is None
    assert model.history_[-1, "train_loss"] != plain.history_[-1, "train_loss"]
    predictions = model.predict(anime)
    assert predictions.shape == (len(anime),)
    # the pipeline's own path agrees with the fast predict path
    slow = model.pipeline_.predict(anime)
    np.testing.assert_allclose(slow, predictions, rtol=1e-5)
    loaded = pickle.loads(pickle.dumps(model))
    assert isinstance(loaded.net_.module_.poster_head, nn.Linear)
    np.testing.assert_array_equal(loaded.predict(anime), predictions)


def test_a_partly_fine_tuned_model_saves_and_loads_securely(anime, tmp_path):
    model = fast_model(
        freeze_backbone=2, augment=True, backbone_lr=1e-4, poster_aux_weight=0.5
    ).fit(anime, anime["Score"])
    skio.save(model, tmp_path / "model.skanime")
    assert skio.get_untrusted_types(tmp_path / "model.skanime") == []
    loaded = skio.load(tmp_path / "model.skanime")
    np.testing.assert_array_equal(loaded.predict(anime), model.predict(anime))
    assert loaded.freeze_backbone_ == 2
    assert [g["lr"] for g in loaded.net_.optimizer_.param_groups] == [1e-4, 1e-3]
