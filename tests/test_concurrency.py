"""Determinism across processes, predict from several threads, and joblib workers."""

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import KFold, cross_val_predict, cross_val_score

from .conftest import FAST


@pytest.mark.slow
def test_same_seed_same_predictions_in_two_processes(tmp_path):
    script = textwrap.dedent(f"""
        import joblib
        from skanime import HybridAnimeRegressor
        from skanime.datasets import make_anime
        frame = make_anime(40, random_state=0, poster_dir="posters", image_size=16)
        model = HybridAnimeRegressor(**{FAST!r}, random_state=7)
        model.fit(frame, frame["Score"])
        import sys
        joblib.dump(model.predict(frame), sys.argv[1])
    """)
    for run in ("a", "b"):
        subprocess.run(
            [sys.executable, "-c", script, f"{run}.joblib"],
            check=True,
            cwd=tmp_path,
            timeout=120,
        )
    a, b = joblib.load(tmp_path / "a.joblib"), joblib.load(tmp_path / "b.joblib")
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("frozen", [False, True])
def test_predict_from_several_threads_matches_sequential(frozen, anime):
    from skanime import clear_memory_cache

    from .conftest import fast_model

    model = fast_model(freeze_backbone=frozen, engine="torch")
    model.fit(anime, anime["Score"])
    expected = model.predict(anime)
    clear_memory_cache()  # the threads race to embed the posters again
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: model.predict(anime), range(8)))
    for result in results:
        np.testing.assert_allclose(result, expected, rtol=1e-6)


def _threads_in_worker(estimator, X, y):
    """A 'score' that reports how many threads torch may use where it runs."""
    return float(torch.get_num_threads())


@pytest.mark.slow
def test_loky_workers_fit_with_limited_torch_threads(anime):
    from .conftest import fast_model

    model = fast_model()
    scores = cross_val_score(
        model, anime, anime["Score"], cv=KFold(2), n_jobs=2, scoring=_threads_in_worker
    )
    budget = max(1, (os.cpu_count() or 1) // 2)
    assert list(scores) == [budget, budget]
    # and the folds fit for real in the workers, with the results of a local run
    # that uses as many threads (float sums depend on the number of threads)
    remote = cross_val_predict(model, anime, anime["Score"], cv=KFold(2), n_jobs=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(budget)
    try:
        local = cross_val_predict(model, anime, anime["Score"], cv=KFold(2))
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(remote, local, rtol=1e-6)
