"""The recipe of docs/scaling_out.md: score a large table on a Dask cluster with
``dask.dataframe.map_partitions`` and a saved model, loaded once per worker."""

import functools

import numpy as np
import pandas as pd
import pytest

from skanime import io

from .conftest import fast_model

dd = pytest.importorskip("dask.dataframe", reason="needs dask[dataframe]")

pytestmark = pytest.mark.slow


@functools.cache
def load_model(path):
    """The saved model, loaded once per worker process (the recipe's cache)."""
    return io.load(path)


def predict_partition(part: pd.DataFrame, path) -> pd.Series:
    return pd.Series(load_model(path).predict(part), index=part.index, name="score")


@pytest.mark.parametrize(
    "params",
    [{"poster_column": None}, {"freeze_backbone": True, "engine": "torch"}],
    ids=["table-only", "frozen embedding"],
)
def test_scoring_a_table_on_a_local_cluster_equals_predict(
    params, anime, tmp_path, dask_client
):
    model = fast_model(**params).fit(anime, anime["Score"])
    path = tmp_path / "model.skops"
    io.save(model, path)
    table = pd.concat([anime] * 5, ignore_index=True)  # 200 rows, 4 partitions
    dask_client.run(load_model.cache_clear)  # as in fresh workers
    frame = dd.from_pandas(table, npartitions=4)
    scores = frame.map_partitions(
        predict_partition, str(path), meta=("score", "f8")
    ).compute()
    # the partitions were scored in the workers, each loading the file once
    loaded = dask_client.run(lambda: load_model.cache_info().currsize)
    assert sum(loaded.values()) >= 1
    assert scores.index.equals(table.index)
    # the workers run torch on one thread, as this test session does; a batch of
    # 50 rows may round differently in float32's last bit than one of 200
    np.testing.assert_allclose(scores.to_numpy(), model.predict(table), rtol=1e-6)
