"""HybridModule and HybridNet: shapes, the loss, the history."""

import sys

import numpy as np
import pytest
import torch

from skanime import HybridModule, HybridNet
from skanime._net import mean_absolute_error, mean_absolute_percentage_error
from skanime.exceptions import ShapeMismatchError


def test_module_output_shape_and_missing_poster_flag():
    module = HybridModule(5, hidden_units=4, head_units=4, target_mean=7.0).eval()
    tabular, image = torch.randn(3, 5), torch.randn(3, 3, 16, 16)
    assert module(tabular, image, torch.ones(3, 1)).shape == (3, 1)
    # a missing poster: the image cannot change the output
    missing = torch.zeros(3, 1)
    a = module(tabular, image, missing)
    b = module(tabular, torch.randn(3, 3, 16, 16), missing)
    torch.testing.assert_close(a, b)


def test_tabular_only_module_refuses_nothing_and_image_module_needs_image():
    assert HybridModule(4, with_image=False)(torch.randn(2, 4)).shape == (2, 1)
    with pytest.raises(ValueError, match="no image"):
        HybridModule(4)(torch.randn(2, 4))


def test_backbone_class_instead_of_instance_is_a_clear_error():
    from skanime.backbones import SimpleCNN

    with pytest.raises(TypeError, match=r"is a class; pass an instance"):
        HybridModule(4, backbone=SimpleCNN)


def test_loss_sees_matched_shapes_for_1d_y():
    """A 1-D y must reach MSELoss as (n, 1) like the output, never broadcast."""
    seen = []

    class RecordingMSE(torch.nn.MSELoss):
        def forward(self, y_pred, y_true):
            seen.append((tuple(y_pred.shape), tuple(y_true.shape)))
            return super().forward(y_pred, y_true)

    X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = X.sum(axis=1)  # 1-D
    net = HybridNet(
        criterion=RecordingMSE, max_epochs=1, batch_size=8, train_split=None, verbose=0
    )
    net.fit(X, y)
    assert seen and all(p == t and len(p) == 2 and p[1] == 1 for p, t in seen)
    assert net.predict(X).shape == (20,)


def test_get_loss_refuses_mismatched_shapes():
    net = HybridNet(verbose=0)
    with pytest.raises(ShapeMismatchError, match=r"\(4, 1\).*\(4,\)"):
        net.get_loss(torch.zeros(4, 1), torch.zeros(4))


def test_history_has_paper_metrics_per_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = 6 + X[:, 0]
    net = HybridNet(max_epochs=3, batch_size=8, verbose=0).fit(X, y)
    history = net.history
    assert len(history) == 3
    for key in [
        "train_loss",
        "valid_loss",
        "train_mae",
        "valid_mae",
        "train_mape",
        "valid_mape",
    ]:
        assert all(np.isfinite(history[:, key]))
    # the scoring functions behind the columns compute MAE and MAPE (percent)
    error = np.abs(net.predict(X) - y)
    assert mean_absolute_error(net, X, y) == pytest.approx(error.mean(), rel=1e-5)
    assert mean_absolute_percentage_error(net, X, y) == pytest.approx(
        100 * np.mean(error / y), rel=1e-5
    )


def test_the_first_build_for_the_data_prints_no_reinitializing(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    net = HybridNet(max_epochs=2, batch_size=8, verbose=1).fit(X, 6 + X[:, 0])
    out = capsys.readouterr().out
    assert "valid_mae" in out  # the epoch table, as verbose asks
    assert "Re-initializing" not in out  # the placeholder's replacement is no news
    assert net.verbose == 1
    # a change the user makes is still announced, as skorch does
    net.set_params(module__hidden_units=8)
    assert "Re-initializing module" in capsys.readouterr().out


def test_the_epoch_early_stopping_ends_is_printed_before_it_stops(capsys):
    from skorch.callbacks import EarlyStopping

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    stop = EarlyStopping(patience=2)
    net = HybridNet(max_epochs=20, lr=0.0, batch_size=8, callbacks=[stop], verbose=1)
    net.fit(X, 6 + X[:, 0])  # lr 0: no epoch after the first improves
    assert len(net.history) == 3
    rows = [
        line.split()[0]
        for line in capsys.readouterr().out.splitlines()
        if (line.split() and line.split()[0].isdigit()) or "Stopping" in line
    ]
    # skorch keeps PrintLog last, after the stopper that raises: here the log
    # comes first, so the third epoch's row shows, then the reason to stop
    assert rows == ["1", "2", "3", "Stopping"]
    assert [name for name, _ in net.callbacks_][-2:] == ["print_log", "EarlyStopping"]


def test_target_scale_is_discovered():
    X = np.zeros((10, 2), dtype=np.float32)
    y = np.linspace(5, 9, 10)
    net = HybridNet(max_epochs=1, verbose=0, train_split=None).fit(X, y)
    assert net.module__target_mean == pytest.approx(7.0)
    assert net.module__n_tabular == 2 and net.module__with_image is False


def test_module_on_embeddings_has_no_backbone_and_respects_the_flag():
    module = HybridModule(3, embedding_dim=6, hidden_units=4, head_units=4).eval()
    assert module.backbone is None
    tabular, embedding = torch.randn(2, 3), torch.randn(2, 6)
    missing = torch.zeros(2, 1)
    torch.testing.assert_close(
        module(tabular, has_image=missing, embedding=embedding),
        module(tabular, has_image=missing, embedding=torch.randn(2, 6)),
    )
    with pytest.raises(ValueError, match="no embedding"):
        module(tabular)


def test_a_frozen_backbone_keeps_its_batch_norm_statistics_in_training():
    module = HybridModule(2, hidden_units=4, head_units=4, freeze_backbone=True)
    module.train()
    assert module.training and not module.backbone.training
    stats = module.backbone.features[1].running_mean.clone()
    module(torch.randn(4, 2), torch.randn(4, 3, 16, 16) * 5 + 3, torch.ones(4, 1))
    torch.testing.assert_close(module.backbone.features[1].running_mean, stats)
    assert not any(p.requires_grad for p in module.backbone.parameters())


def test_net_takes_embeddings_as_a_dict_and_discovers_their_width():
    rng = np.random.default_rng(0)
    X = {
        "tabular": rng.normal(size=(20, 3)).astype(np.float32),
        "has_image": np.ones((20, 1), np.float32),
        "embedding": rng.normal(size=(20, 6)).astype(np.float32),
    }
    y = rng.normal(7, 1, size=20)
    net = HybridNet(max_epochs=2, batch_size=8, train_split=None, verbose=0)
    net.fit(X, y)
    assert net.module__embedding_dim == 6 and net.module_.backbone is None
    assert net.n_features_in_ == 3 + 7
    assert net.predict(X).shape == (20,)


def test_net_counts_a_dicts_words_behind_the_table():
    rng = np.random.default_rng(0)
    # word counts rather than 0/1 flags: columns that would pass for continuous
    words = rng.integers(0, 4, size=(24, 4)).astype(np.float32)
    X = {"tabular": rng.normal(size=(24, 3)).astype(np.float32), "words": words}
    y = rng.normal(7, 1, size=24)
    net = HybridNet(max_epochs=1, batch_size=8, train_split=None, verbose=0)
    net.fit(X, y)
    assert net.module__n_words == 4
    assert net.module__n_tabular == net.n_features_in_ == 3 + 4
    # only the table's columns get the continuous columns' embeddings
    assert net.module__continuous_columns == [0, 1, 2]
    assert net.predict(X).shape == (24,)
    with pytest.raises(ValueError, match="X has 6 features"):
        net.predict({**X, "words": words[:, :3]})
    with pytest.raises(ValueError, match=r"X\['words'\] must be 2-D"):
        HybridNet(max_epochs=1, verbose=0).fit({**X, "words": words[:, 0]}, y)
    # words alone leave the network no table and no poster
    alone = {"tabular": np.zeros((24, 0), np.float32), "words": words}
    with pytest.raises(ValueError, match="leave a tabular column or a poster"):
        HybridNet(max_epochs=1, train_split=None, verbose=0).fit(alone, y)


def test_predict_runs_without_autograd():
    seen = []

    class Spy(HybridModule):
        def forward(self, *args, **kwargs):
            seen.append(torch.is_inference_mode_enabled())
            return super().forward(*args, **kwargs)

    X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    net = HybridNet(Spy, max_epochs=1, train_split=None, verbose=0)
    net.fit(X, np.arange(10.0))
    seen.clear()
    net.predict(X)
    assert seen and all(seen)


def test_poster_only_module_has_no_tabular_branch():
    module = HybridModule(0, hidden_units=4, head_units=4, image_units=3).eval()
    assert module.tabular is None
    assert module.image_projection[1].out_features == 3
    tabular = torch.zeros(2, 0)
    image = torch.randn(2, 3, 16, 16)
    out = module(tabular, image, torch.ones(2, 1))
    assert out.shape == (2, 1)
    assert not torch.allclose(out[0], out[1])  # the posters make the difference
    with pytest.raises(ValueError, match="tabular inputs, a poster, or both"):
        HybridModule(0, with_image=False)


def test_image_dropout_acts_in_training_only():
    module = HybridModule(
        2, embedding_dim=50, image_dropout=0.9, dropout=0.0, hidden_units=4
    )
    tabular, embedding, flag = torch.randn(8, 2), torch.randn(8, 50), torch.ones(8, 1)
    module.eval()
    torch.testing.assert_close(
        module(tabular, has_image=flag, embedding=embedding),
        module(tabular, has_image=flag, embedding=embedding),
    )
    module.train()
    torch.manual_seed(0)
    a = module(tabular, has_image=flag, embedding=embedding)
    b = module(tabular, has_image=flag, embedding=embedding)
    assert not torch.allclose(a, b)


class _RowByRow(torch.utils.data.DataLoader):
    """A DataLoader subclass: HybridNet then keeps skorch's row-by-row loading."""


def test_batched_loading_gives_the_same_model_as_row_by_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    y = X[:, 0] * 2 + 6
    predictions = []
    for loader in (torch.utils.data.DataLoader, _RowByRow):
        torch.manual_seed(0)
        np.random.seed(0)  # skorch's validation split
        net = HybridNet(
            max_epochs=3,
            batch_size=8,
            verbose=0,
            iterator_train=loader,
            iterator_valid=loader,
            iterator_train__shuffle=True,
        )
        net.fit(X, y)
        batches = net.get_iterator(net.get_dataset(X), training=True)
        assert (batches.batch_size is None) == (loader is not _RowByRow)
        predictions.append(net.predict(X))
    np.testing.assert_array_equal(*predictions)


def test_validation_reads_large_batches_unless_told_otherwise():
    """Without a gradient to keep, validation over an in-memory dataset reads
    INFERENCE_ROWS rows a batch; training keeps batch_size, and an explicit
    iterator_valid__batch_size wins. The validation loss is the same."""
    from skanime._net import INFERENCE_ROWS

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = X[:, 0] * 2 + 6
    losses, sizes = [], []
    for given in ({}, {"iterator_valid__batch_size": 8}):
        torch.manual_seed(0)
        np.random.seed(0)  # skorch's validation split
        net = HybridNet(max_epochs=2, batch_size=8, verbose=0, **given).fit(X, y)
        dataset = net.get_dataset(X)
        valid = net.get_iterator(dataset, training=False)
        sizes.append(valid.sampler.batch_size)
        assert net.get_iterator(dataset, training=True).sampler.batch_size == 8
        losses.append(net.history_[:, "valid_loss"])
    assert sizes == [INFERENCE_ROWS, 8]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    # a batch_size above it is kept
    big = HybridNet(batch_size=INFERENCE_ROWS + 1, max_epochs=1, verbose=0)
    big.fit(X, y)
    valid = big.get_iterator(big.get_dataset(X), training=False)
    assert valid.sampler.batch_size == INFERENCE_ROWS + 1


def test_a_poster_dataset_is_read_row_by_row():
    from skanime import HybridDataset, PosterLoader

    data = HybridDataset(
        np.zeros((3, 2)), paths=np.array([None] * 3), loader=PosterLoader()
    )
    assert not data.batchable
    with pytest.raises(TypeError, match="one row at a time"):
        data[[0, 1]]


def _poster_files(folder, n=3, size=20):
    """``n`` small distinct JPEG posters in ``folder``; their paths."""
    from PIL import Image

    paths = []
    for i in range(n):
        path = folder / f"p{i}.jpg"
        Image.new("RGB", (size, size + 5 * i), (40 * i, 90, 200 - 30 * i)).save(path)
        paths.append(str(path))
    return paths


def _items(data) -> list:
    return [data[i] for i in range(len(data))]


def test_preloading_decodes_each_poster_once_and_gives_the_same_items(
    tmp_path, decoded_posters
):
    """preload decodes each distinct poster once, when the dataset is made; its
    items are those of decoding each row's poster as it is read, a missing or
    unreadable poster included."""
    from skanime import HybridDataset, PosterLoader

    a, b, c = _poster_files(tmp_path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    paths = np.array([a, b, None, a, str(broken), c, a], dtype=object)
    decoded = decoded_posters
    loader = PosterLoader(image_size=12)
    tabular = np.arange(14.0).reshape(7, 2)
    per_item = HybridDataset(tabular, paths, np.arange(7.0), loader=loader)
    assert decoded == [] and per_item.slots is None
    expected = _items(per_item)
    assert len(decoded) == 7  # each row's poster, as the row is read
    decoded.clear()
    once = HybridDataset(tabular, paths, np.arange(7.0), loader=loader, preload=True)
    assert sorted(decoded) == sorted([a, b, str(broken), c])
    np.testing.assert_array_equal(once.slots[[2, 4]], [-1, -1])
    decoded.clear()
    for (x, y), (x_expected, y_expected) in zip(_items(once), expected, strict=True):
        assert x.keys() == x_expected.keys()
        for key in x:
            torch.testing.assert_close(x[key], x_expected[key], rtol=0, atol=0)
        torch.testing.assert_close(y, y_expected)
    assert decoded == []  # reading the items decodes nothing


def test_preloading_stops_at_the_memory_limit_and_raises_where_asked(
    tmp_path, monkeypatch
):
    import skanime._dataset as dataset_module
    from skanime import HybridDataset, PosterLoader
    from skanime.exceptions import PosterError

    paths = np.array(_poster_files(tmp_path, n=2), dtype=object)
    loader = PosterLoader(image_size=10)
    monkeypatch.setattr(dataset_module, "PRELOAD_MAX_BYTES", 2 * 10 * 10 * 3)
    fits = HybridDataset(np.zeros((2, 1)), paths, loader=loader, preload=True)
    assert fits.pixels.shape == (2, 10, 10, 3) and fits.pixels.dtype == np.uint8
    monkeypatch.setattr(dataset_module, "PRELOAD_MAX_BYTES", 2 * 10 * 10 * 3 - 1)
    beyond = HybridDataset(np.zeros((2, 1)), paths, loader=loader, preload=True)
    assert beyond.pixels is None and beyond.slots is None
    torch.testing.assert_close(beyond[1][0]["image"], fits[1][0]["image"])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    strict = PosterLoader(image_size=10, poster_errors="raise")
    with pytest.raises(PosterError, match="broken.jpg"):
        HybridDataset(
            np.zeros((1, 1)), np.array([str(broken)]), loader=strict, preload=True
        )


def test_shared_preloaded_pixels_reach_workers_as_a_handle(tmp_path):
    """share_memory_ moves the pixels to shared memory: pickled for a spawned
    worker, the dataset no longer carries them; its items do not change."""
    from multiprocessing.reduction import ForkingPickler

    from skanime import HybridDataset, PosterLoader

    paths = np.array(_poster_files(tmp_path, n=2), dtype=object)
    data = HybridDataset(
        np.zeros((2, 1)), paths, loader=PosterLoader(image_size=64), preload=True
    )
    before = _items(data)
    copied = len(ForkingPickler.dumps(data))
    assert copied > data.pixels.nbytes
    assert data.share_memory_() is data and data.pixels.is_shared()
    assert len(ForkingPickler.dumps(data)) < data.pixels.nbytes / 4
    for (x, _), (x_before, _) in zip(_items(data), before, strict=True):
        torch.testing.assert_close(x["image"], x_before["image"], rtol=0, atol=0)


@pytest.mark.parametrize("progress", [True, False])
def test_preloading_shows_progress_where_asked(tmp_path, monkeypatch, capsys, progress):
    import skanime._dataset as dataset_module
    from skanime import HybridDataset, PosterLoader

    monkeypatch.setattr(dataset_module, "_PROGRESS_DELAY_S", 0)
    paths = np.array(_poster_files(tmp_path, n=2), dtype=object)
    loader = PosterLoader(image_size=10)
    HybridDataset(
        np.zeros((2, 1)), paths, loader=loader, preload=True, progress=progress
    )
    assert ("decoding posters" in capsys.readouterr().err) is progress


def test_shapes_are_found_once_and_partial_fit_keeps_training():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3)).astype(np.float32)
    y = rng.normal(7, 1, size=24)
    net = HybridNet(max_epochs=1, batch_size=8, train_split=None, verbose=0)
    net.partial_fit(X, y)
    assert net.module__n_tabular == 3 and net.module__target_mean == pytest.approx(
        float(y.astype(np.float32).mean()), rel=1e-6
    )
    module = net.module_
    weights = [p.detach().clone() for p in module.parameters()]
    net.partial_fit(X, y + 100)  # no rediscovery: the same module trains on
    assert net.module_ is module
    assert net.module__target_mean < 8
    assert any(
        not torch.equal(a, b) for a, b in zip(weights, module.parameters(), strict=True)
    )


def test_a_loaded_net_builds_its_optimizer_when_training_resumes():
    """Loading skips the optimizer (building the first one of a process
    imports torch._dynamo, 1.7 s) until it is needed: a loaded net predicts
    without one, is saved again with the optimizer's state, and resumes
    training from that state, as the net it was saved from does."""
    import pickle

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3)).astype(np.float32)
    y = rng.normal(7, 1, size=24)
    net = HybridNet(max_epochs=2, batch_size=8, train_split=None, verbose=0)
    net.partial_fit(X, y)
    loaded = pickle.loads(pickle.dumps(net))
    assert "optimizer_" not in vars(loaded)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert "optimizer_" not in vars(loaded)
    again = pickle.loads(pickle.dumps(loaded))  # saved before it was built
    for resumed in (loaded, again):
        steps = resumed.optimizer_.state_dict()["state"][0]["step"]
        assert steps == net.optimizer_.state_dict()["state"][0]["step"] == 6
    torch.manual_seed(1)
    net.partial_fit(X, y)
    torch.manual_seed(1)
    again.partial_fit(X, y)
    np.testing.assert_allclose(again.predict(X), net.predict(X), rtol=1e-6)
    with pytest.raises(AttributeError, match="no attribute 'optimiser_'"):
        loaded.optimiser_  # noqa: B018
    refit = pickle.loads(pickle.dumps(net))
    refit.initialize()  # a fresh optimizer: the saved state is not kept
    assert "_skanime_unbuilt_optimizer" not in vars(refit)
    assert refit.optimizer_.state_dict()["state"] == {}


def test_a_seed_gives_the_weights_of_a_single_build():
    """The placeholder module built before the shapes are known draws nothing
    from torch's generator: the first weights are those of one build."""
    X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    torch.manual_seed(0)
    net = HybridNet(max_epochs=1, train_split=None, verbose=0, lr=0.0)
    net.fit(X, np.full(10, 7.0))
    torch.manual_seed(0)
    direct = HybridModule(3, with_image=False, target_mean=7.0)
    for a, b in zip(net.module_.parameters(), direct.parameters(), strict=True):
        torch.testing.assert_close(a, b)


_INTERRUPTED_CHILD = """
import os, signal, sys
# as in an interactive shell, whatever this test runs under (a background job
# inherits SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
import torch
torch.set_num_threads(1)
from skanime import HybridAnimeRegressor, HybridNet
from skanime.datasets import make_anime

def on_epoch_end(self, net, **kwargs):
    if len(net.history) == 2:
        os.kill(os.getpid(), signal.SIGINT)  # a real SIGINT, as from Ctrl-C

HybridNet.on_epoch_end = on_epoch_end
df = make_anime(40, random_state=0)
model = HybridAnimeRegressor(
    poster_column=None, max_epochs=10_000, min_frequency=1, random_state=0,
    module__hidden_units=8,
)
try:
    model.fit(df, df["Score"])
except KeyboardInterrupt:
    print("interrupted", hasattr(model, "pipeline_"), hasattr(model, "n_features_in_"))
    sys.exit(0)
print("returned normally after", len(model.history_), "epochs")
sys.exit(1)
"""


@pytest.mark.slow
def test_ctrl_c_during_fit_raises_keyboard_interrupt(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "child.py"
    script.write_text(_INTERRUPTED_CHILD)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "interrupted False False"


def _fit_with_epoch_log() -> None:
    X = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    HybridNet(max_epochs=2, batch_size=16, verbose=1).fit(X, 6 + X[:, 0])


def _epoch_log(capsys) -> str:
    _fit_with_epoch_log()
    return capsys.readouterr().out


def test_epoch_log_written_to_a_file_has_no_colour_codes(capsys):
    """Captured output is not a terminal: the best values are marked with '*'."""
    out = _epoch_log(capsys)
    assert "\x1b[" not in out
    first = next(line for line in out.splitlines() if line.split()[:1] == ["1"])
    # every score of the first epoch is the best so far
    assert first.count("*") >= 4, first


def test_epoch_log_on_a_terminal_keeps_skorch_colours(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    out = _epoch_log(capsys)
    assert "\x1b[" in out and "*" not in out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in _epoch_log(capsys)


def test_epoch_log_in_a_jupyter_kernel_keeps_skorch_colours(capsys, monkeypatch):
    """A kernel's stream is no terminal, but the notebook renders the colours."""

    class OutStream:  # how ipykernel's stream looks to the check
        __module__ = "ipykernel.iostream"

        def __init__(self):
            self.parts = []

        def write(self, text):
            self.parts.append(text)

        def flush(self):
            pass

    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = OutStream()
    monkeypatch.setattr(sys, "stdout", stream)
    _fit_with_epoch_log()
    assert "\x1b[" in "".join(stream.parts)
