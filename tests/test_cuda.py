"""The CUDA paths, run where torch sees a GPU: training on it, fine-tuning a
backbone on it, mixed precision, and a model trained on it predicting on a
machine without one.
Skipped elsewhere (CI has no GPU); the CPU-only side of loading is simulated in
``test_persistence.py``."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import skanime.io as skio
from skanime import HybridAnimeRegressor, HybridModule, PosterEmbedder
from skanime.backbones import default_backbone
from skanime.datasets import make_anime

from .conftest import fast_model

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a GPU that torch can see"
)


def _devices(module) -> set[str]:
    return {p.device.type for p in module.parameters()}


def test_a_model_trains_on_cuda(anime):
    model = fast_model(device="cuda", max_epochs=8).fit(anime, anime["Score"])
    assert _devices(model.net_.module_) == {"cuda"}
    losses = model.history_[:, "train_loss"]
    assert losses[-1] < losses[0]
    predictions = model.predict(anime)
    assert predictions.shape == (len(anime),) and np.isfinite(predictions).all()


def test_device_auto_takes_the_gpu(anime):
    model = fast_model(device="auto").fit(anime, anime["Score"])
    assert model.device_ == "cuda" and _devices(model.net_.module_) == {"cuda"}
    assert model.get_params()["device"] == "auto"


def test_the_ensemble_validates_each_member_on_its_own_fold_on_cuda(anime):
    """The default validation (each member scored on the fold it did not train
    on) moves its fold indices to the GPU."""
    model = fast_model(device="cuda", n_members=3, validation_fraction="folds")
    model.fit(anime, anime["Score"])
    assert np.isfinite(model.history_[:, "valid_loss"]).all()


def test_fine_tuning_on_cuda_trains_only_the_unfrozen_block():
    torch.manual_seed(0)
    module = HybridModule(
        3,
        hidden_units=4,
        head_units=4,
        backbone="simple_cnn",
        image_size=16,
        freeze_backbone=1,
    ).cuda()
    before = {k: v.clone() for k, v in module.backbone.state_dict().items()}
    optimizer = torch.optim.Adam(module.parameters(), lr=0.1)
    inputs = {
        "tabular": torch.randn(8, 3, device="cuda"),
        "image": torch.randn(8, 3, 16, 16, device="cuda"),
        "has_image": torch.ones(8, 1, device="cuda"),
    }
    module.train()
    module(**inputs).square().mean().backward()
    optimizer.step()
    after = module.backbone.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # simple_cnn's last block is features.8-11: its conv (8) and batch norm (9)
    assert {"features.8.weight", "features.9.weight"} <= changed
    assert not any(k.startswith(("features.0.", "features.4.")) for k in changed)


def _mixed_inputs(kind: str) -> dict:
    has_image = torch.tensor([[1.0], [0.0]] * 4, device="cuda")
    inputs = {"tabular": torch.randn(8, 6, device="cuda"), "has_image": has_image}
    if kind == "embedding":
        inputs["embedding"] = torch.randn(8, 5, device="cuda") * has_image
    else:
        inputs["image"] = torch.randn(8, 3, 16, 16, device="cuda")
    return inputs


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("kind", ["embedding", "image"])
def test_the_module_runs_and_trains_under_cuda_autocast(kind, dtype):
    """Mixed precision (``torch.autocast``): the ensemble, with cached poster
    embeddings or a backbone fine-tuned in the network, gives the float32
    predictions to within the half type's precision, and finite gradients."""
    torch.manual_seed(0)
    params = (
        {"embedding_dim": 5}
        if kind == "embedding"
        else {"backbone": "simple_cnn", "image_size": 16, "freeze_backbone": 1}
    )
    module = HybridModule(
        6, hidden_units=8, head_units=4, image_units=3, n_members=2, **params
    ).cuda()
    inputs = _mixed_inputs(kind)
    module.eval()
    with torch.autocast("cuda", dtype=dtype):
        half = module(**inputs)
    assert half.shape == (8, 1)
    torch.testing.assert_close(half.float(), module(**inputs), atol=0.05, rtol=0.05)
    module.train()
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    with torch.autocast("cuda", dtype=dtype):
        members = module(**inputs)[1]  # in training: (mean, each member's, ...)
        loss = members.float().square().mean()
    scaler.scale(loss).backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_fine_tuning_with_augmentation_runs_on_cuda(anime):
    model = fast_model(
        device="cuda",
        freeze_backbone=1,
        augment=True,
        poster_aux_weight=0.5,
        backbone_lr=1e-4,
    ).fit(anime, anime["Score"])
    assert _devices(model.net_.module_) == {"cuda"}
    assert np.isfinite(model.predict(anime)).all()


def test_the_pretrained_embedder_gives_the_cpu_embeddings_on_cuda(anime):
    backbone = default_backbone()
    if backbone == "simple_cnn":
        pytest.skip("needs a pretrained backbone (skanime[pretrained])")
    paths = anime[["poster"]]
    on_cpu = PosterEmbedder(backbone=backbone).fit(paths)
    on_gpu = PosterEmbedder(backbone=backbone, device="cuda").fit(paths)
    cpu, gpu = on_cpu.transform(paths), on_gpu.transform(paths)
    np.testing.assert_array_equal(gpu[:, 0], cpu[:, 0])  # has_image
    # cuDNN may use TF32 for convolutions: close, not equal
    np.testing.assert_allclose(gpu, cpu, atol=2e-2, rtol=2e-2)


def test_embedding_on_cuda_again_reuses_the_backbones_gpu_copy(anime):
    from skanime import _inference, clear_memory_cache

    paths = anime[["poster"]]
    embedder = PosterEmbedder(backbone="simple_cnn", image_size=16, device="cuda")
    first = embedder.fit_transform(paths)
    copies = dict(_inference._DEVICE_COPIES)
    clear_memory_cache()
    np.testing.assert_array_equal(embedder.transform(paths), first)
    assert _inference._DEVICE_COPIES == copies and copies


_PREDICT_WITHOUT_A_GPU = """
    import sys, warnings
    import numpy as np, pandas as pd, torch
    import skanime.io as skio
    from skorch.exceptions import DeviceWarning
    assert not torch.cuda.is_available()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = skio.load(sys.argv[1])
    assert any(issubclass(w.category, DeviceWarning) for w in caught), caught
    np.save(sys.argv[3], model.predict(pd.read_pickle(sys.argv[2])))
"""


def test_a_model_trained_on_cuda_predicts_new_posters_without_a_gpu(anime, tmp_path):
    """Trained on the GPU, saved, loaded in a process that sees no GPU: its
    predictions for anime whose posters it has never embedded match the GPU's."""
    model = HybridAnimeRegressor(
        max_epochs=3,
        batch_size=16,
        min_frequency=1,
        backbone=default_backbone(),
        freeze_backbone=True,
        engine="torch",
        device="cuda",
        random_state=0,
    ).fit(anime, anime["Score"])
    new = make_anime(12, random_state=7, poster_dir=tmp_path / "new", image_size=16)
    skio.save(model, tmp_path / "model.skanime")
    new.to_pickle(tmp_path / "new.pkl")
    script = textwrap.dedent(_PREDICT_WITHOUT_A_GPU)
    subprocess.run(
        [sys.executable, "-c", script, tmp_path / "model.skanime"]
        + [tmp_path / "new.pkl", tmp_path / "cpu.npy"],
        check=True,
        timeout=300,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    on_cpu = np.load(tmp_path / "cpu.npy")
    np.testing.assert_allclose(on_cpu, model.predict(new), atol=2e-2)


def test_bfloat16_mixed_precision_trains_on_cuda(anime, record_calls):
    """``mixed_precision="bfloat16"`` on a GPU: the training forward passes run
    under autocast for ``"cuda"``; the weights stay float32."""
    from skanime._module import _Member

    def autocast_state(member, *args, **kwargs):
        on = torch.is_autocast_enabled("cuda")
        return member.training, torch.get_autocast_dtype("cuda") if on else None

    seen = record_calls(_Member, "forward", autocast_state)
    model = fast_model(device="cuda", mixed_precision="bfloat16", max_epochs=4)
    model.fit(anime, anime["Score"])
    assert {dtype for training, dtype in seen if training} == {torch.bfloat16}
    assert {p.dtype for p in model.net_.module_.parameters()} == {torch.float32}
    assert np.isfinite(model.history_[:, "train_loss"]).all()
    assert np.isfinite(model.predict(anime)).all()
