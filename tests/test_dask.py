"""Hyper-parameter search on a real Dask cluster (worker processes on 127.0.0.1),
through joblib's Dask backend, with the same results as a local run."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from skanime import clear_memory_cache

from .conftest import fast_model

distributed = pytest.importorskip("distributed", reason="needs dask[distributed]")

pytestmark = pytest.mark.slow


def _embeddings_in_memory() -> int:
    from skanime._cache import memory_cache

    return len(memory_cache())


def _search(model):
    return GridSearchCV(
        model,
        {"lr": [1e-3, 1e-2], "module__hidden_units": [4, 8]},
        cv=KFold(2),
        scoring="neg_mean_absolute_error",
        n_jobs=-1,
    )


def test_grid_search_on_dask_equals_the_local_run(dask_client, anime):
    model = fast_model(freeze_backbone=True, engine="torch")
    with joblib.parallel_config("dask"):
        remote = _search(model).fit(anime, anime["Score"])
    # the workers did the fitting: they hold poster embeddings in their memory
    # caches, and torch there uses one thread each (no oversubscription)
    cached = dask_client.run(_embeddings_in_memory)
    assert len(cached) == 2 and all(n > 0 for n in cached.values())
    threads_there = dask_client.run(torch.get_num_threads)
    assert set(threads_there.values()) == {1}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a worker (float sums depend on threads)
    try:
        local = _search(model).set_params(n_jobs=1).fit(anime, anime["Score"])
    finally:
        torch.set_num_threads(threads)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-6,
    )
    np.testing.assert_allclose(remote.predict(anime), local.predict(anime), rtol=1e-6)


def test_workers_share_poster_embeddings_through_the_disk_cache(
    dask_client, anime, tmp_path
):
    dask_client.run(clear_memory_cache)  # embeddings must come from disk or be made
    model = fast_model(freeze_backbone=True, engine="torch", cache_dir=tmp_path)
    with joblib.parallel_config("dask"):
        _search(model).fit(anime, anime["Score"])
    (folder,) = tmp_path.iterdir()
    assert len(list(folder.glob("*.npy"))) == anime["poster"].notna().sum()
