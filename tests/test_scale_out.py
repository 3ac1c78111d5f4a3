"""Accuracy per epoch does not depend on the worker or thread count: 8 worker processes x 1 thread
and 1 worker x 16 threads against 1 worker x 1 thread, on real data (12,000 MNIST training rows,
2,000 test rows, from Parquet files). The machine's cores are oversubscribed on purpose: accuracy
per epoch needs no real cores."""
import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

import daskdl
from daskdl.datasets import mnist

# validation error after 3 epochs: at most 2 points above the 1-worker run (measured: 1 worker 11.55-12.2 %;
# 8 workers 12.85 % with block momentum, 14.95 % with H2O's plain average; 1 x 16 threads 12.15 %)
MARGIN = 0.02
PARAMS = dict(hidden=[64], activation="Rectifier", l1=1e-5, epochs=3, seed=1, quiet_mode=True, stopping_rounds=0,
              score_training_samples=500)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import dask.dataframe as dd

    d = tmp_path_factory.mktemp("mnist")
    train = mnist("train", as_pandas=True).iloc[:12000].reset_index(drop=True)
    valid = mnist("test", as_pandas=True).iloc[:2000].reset_index(drop=True)
    dd.from_pandas(train, npartitions=8).to_parquet(d / "train")
    dd.from_pandas(valid, npartitions=2).to_parquet(d / "valid")
    return str(d / "train"), str(d / "valid")


def _cluster(n_workers, threads):
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True, dashboard_address=":0")


def _train(files, **kw):
    train = daskdl.asfactor(daskdl.import_file(files[0]), "C785")
    valid = daskdl.asfactor(daskdl.import_file(files[1]), "C785")
    m = daskdl.DeepLearningEstimator(**{**PARAMS, **kw})
    m.train(y="C785", training_frame=train, validation_frame=valid)
    return float(m.model_performance(valid=True).classification_error()), m.scoring_history()


def _error_on(n_workers, threads, files, **kw):
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), _cluster(n_workers, threads) as cluster, \
            Client(cluster):
        return _train(files, **kw)


@pytest.fixture(scope="module")
def eight_workers():
    """8 worker processes x 1 thread, started once for the module's two 8-worker tests (the start
    of 8 processes on 2 cores takes ~14 s); each test trains its own model on them."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), _cluster(8, 1) as cluster, \
            Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def one_worker(files):
    return _error_on(1, 1, files)[0]


def test_sixteen_threads_match_one_thread_per_epoch(files, one_worker):
    err16, _ = _error_on(1, 16, files)
    print(f"1 worker x 16 threads: {err16:.4f}, 1 worker: {one_worker:.4f}")
    assert err16 <= one_worker + MARGIN, (err16, one_worker)


def test_eight_workers_match_one_worker_per_epoch(files, one_worker, eight_workers):
    assert len(eight_workers.nthreads()) == 8
    err8, h = _train(files)
    print(f"8 workers: {err8:.4f}, 1 worker: {one_worker:.4f}")
    assert float(h["epochs"].iloc[-1]) >= 3.0
    assert one_worker < 0.15, "the 1-worker reference did not learn"
    assert err8 <= one_worker + MARGIN, (err8, one_worker)


def test_plain_average_is_available_and_stable(files, one_worker, eight_workers):
    """model_averaging='average' (H2O's plain average) on 8 workers learns, more slowly per epoch
    (it falls outside MARGIN: measured +3.4 points)."""
    err, _ = _train(files, model_averaging="average")
    print(f"8 workers, plain average: {err:.4f}, 1 worker: {one_worker:.4f}")
    assert np.isfinite(err) and err < 0.25


def test_worker_room_counts_the_pause_threshold_and_the_memory_in_use():
    """Replication needs room below Dask's pause threshold on top of the worker's own footprint:
    a copy that fits in half the limit but not above a 300 MiB process at 80 % is not replicated."""
    import dask

    from daskdl.train.driver import _worker_room

    mib = 2.0 ** 20
    info = {"memory_limit": 790e6, "metrics": {"memory": 300 * mib}}
    assert _worker_room(info) == pytest.approx(0.8 * 790e6 - 300 * mib)
    assert _worker_room(info) < 0.5 * 790e6
    assert _worker_room({"memory_limit": 16e9, "metrics": {"memory": 300 * mib}}) == pytest.approx(8e9)
    assert _worker_room({"memory_limit": 0}) == float("inf")
    with dask.config.set({"distributed.worker.memory.pause": 0.9}):
        assert _worker_room(info) == pytest.approx(min(0.5 * 790e6, 0.9 * 790e6 - 300 * mib))
