"""PosterEmbedder: frozen-backbone embeddings, the cache, and the engines."""

import os
import pickle
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import skanime._inference as inference
from skanime import PosterEmbedder, PosterLoader, clear_memory_cache
from skanime._inference import onnx_available
from skanime.backbones import get_backbone
from skanime.exceptions import CacheWarning

from .conftest import fast_model

needs_onnx = pytest.mark.skipif(
    not onnx_available(), reason='needs the optional packages of "skanime[onnx]"'
)


@pytest.fixture(autouse=True)
def _empty_cache(empty_embedding_cache):
    """Every test starts and ends with an empty in-memory embedding cache."""


def _embedder(**params) -> PosterEmbedder:
    torch.manual_seed(0)  # the same random simple_cnn weights every time
    return PosterEmbedder(
        **{"backbone": "simple_cnn", "image_size": 16, "engine": "torch", **params}
    )


def test_output_has_a_flag_and_zeros_for_missing_posters(anime):
    posters = anime[["poster"]]
    embedder = _embedder().fit(posters)
    out = embedder.transform(posters)
    width = embedder.embedding_dim_
    assert out.shape == (len(anime), 1 + width) and out.dtype == np.float32
    names = embedder.get_feature_names_out()
    assert names[0] == "has_image" and names[-1] == f"emb_{width - 1}"
    present = anime["poster"].notna().to_numpy()
    assert not present.all()  # the fixture has missing posters
    np.testing.assert_array_equal(out[:, 0], present.astype(np.float32))
    assert np.all(out[~present, 1:] == 0)
    assert np.all(np.abs(out[present, 1:]).sum(axis=1) > 0)


def test_embeddings_are_the_backbone_features_of_the_decoded_poster(anime):
    posters = anime[["poster"]]
    embedder = _embedder().fit(posters)
    out = embedder.transform(posters)
    row = int(np.flatnonzero(anime["poster"].notna())[0])
    loader = embedder.poster_loader_
    image = torch.from_numpy(loader.load(anime["poster"].iloc[row]))[None]
    with torch.no_grad():
        expected = embedder.backbone_(image)[0].numpy()
    np.testing.assert_allclose(out[row, 1:], expected, rtol=1e-4, atol=1e-5)


def test_a_second_transform_and_a_refit_read_the_cache(anime, computed):
    posters = anime[["poster"]]
    n_present = int(anime["poster"].notna().sum())
    first = _embedder().fit_transform(posters)
    assert computed == [n_present]
    second = _embedder().fit(posters).transform(posters)  # another instance
    assert computed == [n_present]
    np.testing.assert_array_equal(first, second)


def test_the_cache_key_is_the_file_content_and_the_backbone(anime, tmp_path, computed):
    source = anime["poster"].dropna().iloc[0]
    copy = tmp_path / "renamed.jpg"
    shutil.copy(source, copy)
    embedder = _embedder().fit(pd.DataFrame({"poster": [source]}))
    original = embedder.transform(pd.DataFrame({"poster": [source]}))
    renamed = embedder.transform(pd.DataFrame({"poster": [str(copy)]}))
    assert computed == [1]  # same bytes, other name: a hit
    np.testing.assert_array_equal(original, renamed)

    Image.new("RGB", (16, 16), (250, 10, 10)).save(copy)  # new content, same name
    stat = os.stat(copy)
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    edited = embedder.transform(pd.DataFrame({"poster": [str(copy)]}))
    assert computed == [1, 1]
    assert not np.allclose(edited, original)

    torch.manual_seed(1)  # other random weights: another backbone
    other = PosterEmbedder("simple_cnn", image_size=16, engine="torch")
    other.fit(pd.DataFrame({"poster": [source]}))
    assert other.fingerprint_ != embedder.fingerprint_
    other.transform(pd.DataFrame({"poster": [source]}))
    assert computed == [1, 1, 1]


def test_device_auto_embeds_where_torch_has_a_device(anime, monkeypatch):
    """ "auto" reaches the engine as a torch device, never as the string."""
    from skanime import _embedding

    seen = []
    original = _embedding.make_engine

    def recording(*args, device, **kwargs):
        seen.append(device)
        return original(*args, device=device, **kwargs)

    monkeypatch.setattr(_embedding, "make_engine", recording)
    posters = anime[["poster"]]
    auto = _embedder(device="auto").fit(posters).transform(posters)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert seen == [expected]
    if expected == "cpu":
        clear_memory_cache()
        np.testing.assert_array_equal(auto, _embedder().fit(posters).transform(posters))


def test_an_embedder_on_device_auto_survives_a_pickle_round_trip(anime):
    posters = anime[["poster"]]
    embedder = _embedder(device="auto").fit(posters)
    first = embedder.transform(posters)
    loaded = pickle.loads(pickle.dumps(embedder))
    assert loaded.device == "auto"  # resolved where it is used, not on load
    clear_memory_cache()
    np.testing.assert_array_equal(loaded.transform(posters), first)


def test_the_disk_cache_outlives_the_memory_cache(anime, tmp_path, computed):
    posters = anime[["poster"]]
    n_present = int(anime["poster"].notna().sum())
    first = _embedder(cache_dir=tmp_path).fit_transform(posters)
    (folder,) = tmp_path.iterdir()
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == n_present and all(f.endswith(".npy") for f in files)
    clear_memory_cache()  # as a new process would start
    second = _embedder(cache_dir=tmp_path).fit_transform(posters)
    assert computed == [n_present]
    np.testing.assert_array_equal(first, second)


def test_a_corrupt_cache_file_is_recomputed(anime, tmp_path, computed):
    posters = anime[["poster"]].head(3).dropna()
    first = _embedder(cache_dir=tmp_path).fit_transform(posters)
    (folder,) = tmp_path.iterdir()
    for path in folder.iterdir():
        path.write_bytes(b"half-writ")
    clear_memory_cache()
    second = _embedder(cache_dir=tmp_path).fit_transform(posters)
    assert computed == [len(posters), len(posters)]
    np.testing.assert_array_equal(first, second)


def _bad_entry(kind: str, width: int):
    """What a damaged or foreign cache file may hold, as ``np.save`` input or bytes."""
    return {
        "empty": b"",
        "nan": np.full(width, np.nan, dtype=np.float32),
        "inf": np.full(width, np.inf, dtype=np.float32),
        "scalar": np.float32(0.5),
        "one_value": np.array([0.5], dtype=np.float32),
        "wrong_length": np.zeros(width + 3, dtype=np.float32),
        "two_d": np.zeros((1, width), dtype=np.float32),
        "float64": np.zeros(width, dtype=np.float64),
        "integers": np.zeros(width, dtype=np.int64),
        "huge": np.zeros(width * 1000, dtype=np.float32),
    }[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "nan",
        "inf",
        "scalar",
        "one_value",
        "wrong_length",
        "two_d",
        "float64",
        "integers",
        "huge",
    ],
)
def test_a_cache_entry_is_used_only_if_it_fits_the_backbone(
    kind, anime, tmp_path, computed
):
    posters = anime[["poster"]].dropna().head(3)
    first = _embedder(cache_dir=tmp_path).fit_transform(posters)
    (folder,) = tmp_path.iterdir()
    entries = sorted(folder.iterdir())
    bad = _bad_entry(kind, first.shape[1] - 1)
    for path in entries[:2]:
        if isinstance(bad, bytes):
            path.write_bytes(bad)
        else:
            np.save(path, bad)
    clear_memory_cache()
    with pytest.warns(CacheWarning, match="2 embedding cache entries could not"):
        second = _embedder(cache_dir=tmp_path).fit_transform(posters)
    assert computed == [3, 2]  # the two bad entries, and only them, recomputed
    np.testing.assert_array_equal(first, second)
    for path in entries:  # rewritten: a third run reads every entry quietly
        assert np.load(path).shape == (first.shape[1] - 1,)
    clear_memory_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        third = _embedder(cache_dir=tmp_path).fit_transform(posters)
    assert computed == [3, 2] and np.array_equal(first, third)


def _unwritable(kind: str, tmp_path):
    if kind == "a_file":
        folder = tmp_path / "cache"
        folder.write_text("not a folder")
    elif kind == "inside_a_file":
        (tmp_path / "file").write_text("not a folder")
        folder = tmp_path / "file" / "cache"
    else:  # read-only
        folder = tmp_path / "cache"
        folder.mkdir()
        folder.chmod(0o500)
    return folder


_UNWRITABLE = [
    "a_file",
    "inside_a_file",
    pytest.param(
        "read_only",
        marks=pytest.mark.skipif(
            hasattr(os, "geteuid") and os.geteuid() == 0,
            reason="root writes into read-only folders",
        ),
    ),
]


@pytest.mark.parametrize("kind", _UNWRITABLE)
def test_a_cache_dir_that_cannot_be_written_is_skipped_with_one_warning(
    kind, anime, tmp_path
):
    posters = anime[["poster"]]
    expected = _embedder().fit_transform(posters)
    clear_memory_cache()
    folder = _unwritable(kind, tmp_path)
    with pytest.warns(CacheWarning, match="cannot be written") as record:
        out = _embedder(cache_dir=folder).fit_transform(posters)
    assert len([w for w in record if w.category is CacheWarning]) == 1
    assert str(folder) in str(record[0].message)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("kind", _UNWRITABLE)
def test_fit_and_predict_with_an_unwritable_cache_dir(kind, anime, tmp_path):
    params = {"freeze_backbone": True, "engine": "torch"}
    expected = fast_model(**params).fit(anime, anime["Score"]).predict(anime)
    clear_memory_cache()
    folder = _unwritable(kind, tmp_path)
    model = fast_model(cache_dir=folder, **params)
    with pytest.warns(CacheWarning, match="cannot be written"):
        model.fit(anime, anime["Score"])
    clear_memory_cache()
    with pytest.warns(CacheWarning, match="cannot be written"):
        np.testing.assert_array_equal(model.predict(anime), expected)


def test_cache_false_recomputes(anime, computed):
    posters = anime[["poster"]].dropna().head(4)
    embedder = _embedder(cache=False).fit(posters)
    embedder.transform(posters)
    embedder.transform(posters)
    assert computed == [4, 4]


def test_batches_and_decoding_threads_do_not_change_the_result(anime):
    posters = anime[["poster"]]
    reference = _embedder(batch_size=64, decode_threads=0).fit_transform(posters)
    clear_memory_cache()
    threaded = _embedder(batch_size=3, decode_threads=2).fit_transform(posters)
    np.testing.assert_allclose(threaded, reference, rtol=1e-5, atol=1e-6)


def test_unreadable_posters_follow_the_error_policy(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    frame = pd.DataFrame({"poster": [str(bad)]})
    with pytest.warns(UserWarning, match="could not be read"):
        out = _embedder().fit_transform(frame)
    assert out[0, 0] == 0 and np.all(out[0, 1:] == 0)
    from skanime.exceptions import PosterError

    with pytest.raises(PosterError, match="bad.jpg"):
        _embedder(poster_errors="raise").fit_transform(frame)


def test_the_backbone_passed_is_copied_not_modified(anime):
    mine = get_backbone("simple_cnn")
    before = {k: v.clone() for k, v in mine.state_dict().items()}
    embedder = PosterEmbedder(mine, image_size=16, engine="torch").fit(
        anime[["poster"]]
    )
    embedder.transform(anime[["poster"]])
    assert embedder.backbone_ is not mine
    assert mine.training  # not switched to eval
    for key, value in mine.state_dict().items():
        assert torch.equal(value, before[key])


@needs_onnx
def test_onnx_engine_agrees_with_torch(anime):
    posters = anime[["poster"]]
    with_torch = _embedder(engine="torch").fit_transform(posters)
    clear_memory_cache()
    with_onnx = _embedder(engine="onnx").fit_transform(posters)
    np.testing.assert_allclose(with_onnx, with_torch, rtol=1e-4, atol=1e-5)


def test_onnx_engine_without_onnxruntime_says_what_to_install(anime, monkeypatch):
    monkeypatch.setattr(inference, "onnx_available", lambda: False)
    embedder = _embedder(engine="onnx").fit(anime[["poster"]])
    with pytest.raises(ImportError, match=r"skanime\[onnx\]"):
        embedder.transform(anime[["poster"]])
    # "auto" falls back to torch quietly
    out = _embedder(engine="auto").fit_transform(anime[["poster"]])
    assert np.isfinite(out).all()


def test_a_backbone_is_copied_to_an_accelerator_once(monkeypatch):
    """Off the CPU, the engines of one backbone share one copy on the device
    (``meta`` stands in for a GPU here), and the CPU's backbone stays put."""
    monkeypatch.setattr(inference, "_DEVICE_COPIES", {})
    torch.manual_seed(0)
    backbone = get_backbone("simple_cnn", input_size=16)
    norm = {"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}
    network = inference.NormalizedBackbone(backbone, **norm)
    first = inference._device_copy(network, "a", "meta")
    assert inference._device_copy(network, "a", "meta") is first
    assert next(first.parameters()).device.type == "meta"
    assert next(backbone.parameters()).device.type == "cpu"
    other_norm = inference.NormalizedBackbone(backbone, (0, 0, 0), (1, 1, 1))
    assert inference._device_copy(other_norm, "a", "meta") is not first
    for name in "bcde":  # at most four copies are kept: the oldest goes
        inference._device_copy(network, name, "meta")
    assert len(inference._DEVICE_COPIES) == 4
    assert inference._device_copy(network, "a", "meta") is not first


def test_device_copies_are_keyed_by_the_device_itself(monkeypatch):
    """The device "cuda" is the current CUDA device: it shares the copy of
    "cuda:<index>" (device 1 stands in here), not a second one on one GPU."""
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert inference._device_key("cuda") == inference._device_key("cuda:1")
    assert inference._device_key("cuda") != inference._device_key("cuda:0")
    assert inference._device_key(torch.device("cpu")) == "cpu"


def test_loader_normalize_matches_load(anime):
    loader = PosterLoader(image_size=16).fit(anime[["poster"]])
    path = anime["poster"].dropna().iloc[0]
    np.testing.assert_allclose(
        loader.normalize(loader.decode(path)), loader.load(path), rtol=1e-6
    )


def test_pretrained_backbones_are_shared_random_ones_are_not(anime):
    from skanime.backbones import pretrained_available

    posters = anime[["poster"]]
    a, b = _embedder().fit(posters), _embedder().fit(posters)
    assert a.backbone_ is not b.backbone_  # random weights: one per fit
    if not pretrained_available():
        pytest.skip('needs "skanime[pretrained]"')
    c = PosterEmbedder("efficientnet_lite0", image_size=32).fit(posters)
    d = PosterEmbedder("efficientnet_lite0", image_size=32).fit(posters)
    assert c.backbone_ is d.backbone_ and c.fingerprint_ == d.fingerprint_
    assert not any(p.requires_grad for p in c.backbone_.parameters())


def test_random_state_fixes_a_random_backbone_whatever_the_global_state(anime):
    posters = anime[["poster"]]
    fingerprints = set()
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        embedder = PosterEmbedder(
            "simple_cnn", image_size=16, engine="torch", random_state=5
        ).fit(posters)
        fingerprints.add(embedder.fingerprint_)
    assert len(fingerprints) == 1
    torch.manual_seed(1)
    unseeded = PosterEmbedder("simple_cnn", image_size=16).fit(posters)
    assert unseeded.fingerprint_ not in fingerprints
