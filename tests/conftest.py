"""Shared fixtures: seeded RNGs, a tiny synthetic anime table with posters."""

import random

import numpy as np
import pytest
import torch

from skanime import HybridAnimeRegressor, PosterEmbedder, clear_memory_cache
from skanime.datasets import make_anime

#: Small, fast settings for every network the tests train.
FAST = {
    "max_epochs": 2,
    "batch_size": 16,
    "image_size": 16,
    "backbone": "simple_cnn",
    "min_frequency": 1,
    "module__hidden_units": 8,
    "module__head_units": 8,
}


def fast_model(**params) -> HybridAnimeRegressor:
    """A HybridAnimeRegressor small enough to train in well under a second."""
    return HybridAnimeRegressor(**{**FAST, "random_state": 0, **params})


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(1)  # the session's one thread, whatever a test set


@pytest.fixture
def empty_embedding_cache():
    """An empty in-memory embedding cache, emptied again afterwards."""
    clear_memory_cache()
    yield
    clear_memory_cache()


@pytest.fixture
def record_calls(monkeypatch):
    """``record(owner, name, describe)`` patches the method ``owner.name`` to
    append ``describe(self, *args, **kwargs)`` to the returned list on every
    call, then run the original method."""

    def record(owner, name, describe) -> list:
        calls = []
        original = getattr(owner, name)

        def recording(self, *args, **kwargs):
            calls.append(describe(self, *args, **kwargs))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(owner, name, recording)
        return calls

    return record


@pytest.fixture
def computed(record_calls, empty_embedding_cache):
    """Records how many posters each PosterEmbedder._compute call embeds."""
    return record_calls(PosterEmbedder, "_compute", lambda self, paths: len(paths))


@pytest.fixture
def clock_in_2026(monkeypatch):
    """The clock that made "26" this year for 1920s films: 27 November 2026
    (what :func:`skanime.datasets.parse_aired` reads a two-digit year by)."""
    import skanime._parsing as parsing

    class Clock(parsing.datetime):
        @classmethod
        def now(cls, tz=None):
            return parsing.datetime(2026, 11, 27)

    monkeypatch.setattr(parsing, "datetime", Clock)


@pytest.fixture
def decoded_posters(monkeypatch) -> list:
    """The paths :meth:`skanime.PosterLoader.decode` is called with, in order
    (a list that grows as posters are decoded)."""
    from skanime import PosterLoader

    decoded = []
    original = PosterLoader.decode

    def counting(self, path):
        decoded.append(path)
        return original(self, path)

    monkeypatch.setattr(PosterLoader, "decode", counting)
    return decoded


@pytest.fixture(scope="session")
def anime(tmp_path_factory):
    """40 synthetic anime with 16x16 JPEG posters (a few missing)."""
    folder = tmp_path_factory.mktemp("posters")
    return make_anime(40, random_state=0, poster_dir=folder, image_size=16)


@pytest.fixture(scope="session")
def fitted_model(anime):
    """A fitted hybrid model; tests must not modify it."""
    return fast_model().fit(anime, anime["Score"])


@pytest.fixture(scope="module")
def dask_client():
    """A client of a local Dask cluster: two worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("distributed", reason="needs dask[distributed]")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
