"""The backbone registry and the contract every registered backbone keeps."""

import pytest
import torch

from skanime.backbones import (
    Backbone,
    UnknownBackboneError,
    get_backbone,
    list_backbones,
    register_backbone,
)


def test_builtins_are_listed_and_filterable():
    assert {"simple_cnn", "resnet18", "mobilenet_v3_small"} <= set(list_backbones())
    assert list_backbones("res*") == ["resnet18"]
    assert list_backbones() == sorted(list_backbones())


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("simple_cnn")(lambda: None)


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(
        UnknownBackboneError, match=r"Unknown backbone 'cnn'.*simple_cnn"
    ):
        get_backbone("cnn")


@pytest.mark.parametrize("name", list_backbones())
def test_backbone_contract(name):
    """Output shape, finite values and gradients, on random weights."""
    backbone = get_backbone(name)
    assert isinstance(backbone, Backbone)
    size = 32
    image = torch.randn(2, 3, size, size, requires_grad=True)
    features = backbone.train()(image)
    assert features.shape == (2, backbone.out_features)
    assert torch.isfinite(features).all()
    features.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
