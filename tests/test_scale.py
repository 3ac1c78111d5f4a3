"""Training across Dask worker processes: placement, averaging, reproducibility,
local-only (streaming) mode and surviving a killed worker."""
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl import DeepLearningEstimator

from conftest import data_path


def _digits():
    df = pd.read_csv(data_path("sklearn_digits.csv.gz"))
    df["target"] = df["target"].astype("category")
    return df


def _split(df, frac=0.8, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.random(len(df)) < frac
    return df[m].reset_index(drop=True), df[~m].reset_index(drop=True)


def _parquet_frame(df, tmp_path, name, nparts):
    import dask.dataframe as dd

    path = tmp_path / name
    dd.from_pandas(df, npartitions=nparts).to_parquet(path)
    return daskdl.import_file(str(path))


def _train_on(client, train, valid, **kw):
    from distributed import get_task_stream

    params = {**dict(hidden=[32], epochs=4, seed=1), **kw}
    m = DeepLearningEstimator(**params)
    with get_task_stream(client) as ts:
        m.train(y="target", training_frame=train, validation_frame=valid)
    workers = {t["worker"] for t in ts.data if str(t["key"]).startswith("daskdl-train")}
    return m, workers


def test_two_workers_train_and_average(client, tmp_path):
    df = _digits()
    tr, va = _split(df)
    train = _parquet_frame(tr, tmp_path, "train", 6)
    valid = _parquet_frame(va, tmp_path, "valid", 2)
    m, workers = _train_on(client, train, valid)
    assert len(workers) == 2, "every worker holding rows must train"
    err2 = m.model_performance(valid=True).classification_error()
    # the same data trained on a single worker of the cluster
    train1 = _parquet_frame(tr, tmp_path, "train1", 1)
    m1, workers1 = _train_on(client, train1, valid, single_node_mode=True)
    assert len(workers1) == 1
    err1 = m1.model_performance(valid=True).classification_error()
    assert err2 < 0.12 and err1 < 0.12
    assert abs(err2 - err1) < 0.06


def test_reproducible_across_two_workers(client, tmp_path):
    df = _digits()
    train = _parquet_frame(df, tmp_path, "train", 4)
    kw = dict(hidden=[16], epochs=2, seed=7, reproducible=True, activation="RectifierWithDropout")
    a = DeepLearningEstimator(**kw).train(y="target", training_frame=train)
    b = DeepLearningEstimator(**kw).train(y="target", training_frame=train)
    assert np.array_equal(a.fit_state.net.W, b.fit_state.net.W)
    assert np.array_equal(a.fit_state.net.B, b.fit_state.net.B)


def test_next_iteration_submitted_ahead_trains_the_same_model(client, tmp_path, monkeypatch):
    """The next iteration's passes go to the workers before the client has the previous
    iteration's summary; the model is the one the step-by-step loop trains, to the bit."""
    from daskdl.train import driver

    df = _digits()
    train = _parquet_frame(df, tmp_path, "train", 4)
    kw = dict(hidden=[16], epochs=3, seed=7, train_samples_per_iteration=300,  # 1 thread per worker: exact
              adaptive_rate=False, rate=0.01, rate_annealing=1e-4, momentum_start=0.5, momentum_ramp=3000,
              quiet_mode=True)  # the rate and momentum depend on the rows trained before each iteration
    taken = []
    take = driver.Trainer._take_pending

    def counted(self, model, it):
        out = take(self, model, it)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(driver.Trainer, "_take_pending", counted)
    ahead = DeepLearningEstimator(**kw).train(y="target", training_frame=train)
    # not after the first iteration or one followed by a scoring (training waits while H2O scores)
    assert sum(taken) >= len(taken) // 2 and not taken[0] and not taken[1], taken
    monkeypatch.setattr(driver.Trainer, "_pipelined", lambda self: False)
    taken.clear()
    step = DeepLearningEstimator(**kw).train(y="target", training_frame=train)
    assert not any(taken)
    assert ahead.fit_state.iterations == step.fit_state.iterations
    assert np.array_equal(ahead.fit_state.net.W, step.fit_state.net.W)
    assert np.array_equal(ahead.fit_state.net.B, step.fit_state.net.B)


def test_local_only_streaming_mode(client, tmp_path):
    df = _digits()
    tr, va = _split(df)
    train = _parquet_frame(tr, tmp_path, "train", 8)
    m = DeepLearningEstimator(hidden=[32], epochs=4, seed=1)
    m.train(y="target", training_frame=train, validation_frame=va, out_of_core=True)
    assert m.fit_state.epochs >= 4
    assert m.model_performance(test_data=va).classification_error() < 0.15
    # no encoded or joined training block was ever persisted on the workers
    from distributed import get_task_stream

    with get_task_stream(client) as ts:
        DeepLearningEstimator(hidden=[8], epochs=1, seed=1).train(y="target", training_frame=train,
                                                                  out_of_core=True)
    keys = [str(t["key"]) for t in ts.data]
    assert any("daskdl-train-stream" in k for k in keys)
    assert not any("concat_blocks" in k for k in keys)


def test_local_only_mode_on_frames_held_in_memory(client, tmp_path):
    """Out of core on a persisted frame, a frame derived from one and a pandas frame: each
    partition is read where it is held (a persisted frame's partitions are not on disk)."""
    from distributed import get_task_stream

    df = _digits()
    tr, va = _split(df)
    held = _parquet_frame(tr, tmp_path, "train", 8).persist()
    derived = held.assign(pixel_0_2=held["pixel_0_2"] * 1.0)
    errs = []
    for frame in (held, derived, tr):
        m = DeepLearningEstimator(hidden=[32], epochs=3, seed=1, quiet_mode=True)
        with get_task_stream(client) as ts:
            m.train(y="target", training_frame=frame, out_of_core=True)
        trained = {t["worker"] for t in ts.data if str(t["key"]).startswith("daskdl-train-stream")}
        assert len(trained) == 2, "both workers train on their share"
        assert m.fit_state.epochs >= 3
        errs.append(m.model_performance(test_data=va).classification_error())
    assert max(errs) < 0.15, errs


def test_killed_worker_does_not_fail_the_fit(tmp_path):
    """SIGKILL one of two worker processes while a fit is running: the fit completes."""
    from distributed import Client, LocalCluster

    df = _digits()
    big = pd.concat([df] * 6, ignore_index=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        train = _parquet_frame(big, tmp_path, "train", 6)
        pids = c.run(os.getpid)
        victim = sorted(pids)[0]
        killed = threading.Event()

        def kill_later():
            # once the training iterations run (not during the schema pass, whose tasks the session's
            # allowed-failures=0 would fail at once)
            t0 = time.time()
            while time.time() - t0 < 300:
                keys = [str(k) for ks in c.processing().values() for k in ks]
                if any("daskdl-train" in k for k in keys):
                    break
                time.sleep(0.05)
            time.sleep(0.5)
            try:
                os.kill(pids[victim], signal.SIGKILL)
                killed.set()
            except ProcessLookupError:
                pass

        threading.Thread(target=kill_later, daemon=True).start()
        m = DeepLearningEstimator(hidden=[128, 128], epochs=8, seed=1, train_samples_per_iteration=4000,
                                  score_interval=0.5, stopping_rounds=0, classification_stop=-1)
        m.train(y="target", training_frame=train)
        assert killed.is_set(), "the worker was not killed during the fit; make the fit longer"
        assert m.fit_state.epochs >= 8
        assert m.model_performance(test_data=df).classification_error() < 0.1


def _iterations(m):
    h = m.scoring_history()
    return int(h["iterations"].iloc[-1]), float(h["epochs"].iloc[-1])


def test_replicated_data_every_worker_passes_over_all_rows(client, tmp_path):
    """replicate_training_data (H2O default True): with tspi=-1 each of the 2 workers makes a pass
    over all rows per iteration, so one iteration is 2 epochs; without replication, 1 epoch."""
    df = _digits()
    train = _parquet_frame(df, tmp_path, "train", 4)
    kw = dict(hidden=[16], epochs=2, seed=3, train_samples_per_iteration=-1, quiet_mode=True)
    m_rep, workers = _train_on(client, train, None, **kw)
    assert len(workers) == 2
    assert _iterations(m_rep) == (1, pytest.approx(2.0))
    m_own, _ = _train_on(client, train, None, replicate_training_data=False, **kw)
    assert _iterations(m_own) == (2, pytest.approx(2.0))
    # tspi = 0: about one epoch per iteration either way (each replicated worker keeps each of its
    # rows with probability 1/2, so an iteration may fall a few rows short and a third one follow)
    m0, _ = _train_on(client, train, None, **{**kw, "train_samples_per_iteration": 0})
    it, ep = _iterations(m0)
    assert 2 <= it <= 3 and 2.0 <= ep <= 3.1
    assert m_rep.model_performance(train=True).classification_error() < 0.2


def test_force_load_balance_gives_every_worker_rows(client, tmp_path):
    df = _digits()
    one = _parquet_frame(df, tmp_path, "one", 1)
    kw = dict(hidden=[16], epochs=1, seed=3, quiet_mode=True, replicate_training_data=False)
    _, workers = _train_on(client, one, None, **kw)
    assert len(workers) == 2  # the single partition was split, 4 per worker
    _, workers = _train_on(client, one, None, force_load_balance=False, **kw)
    assert len(workers) == 1  # left as it is: one partition lives on one worker


def test_auto_tuned_rows_per_iteration(client, tmp_path):
    """train_samples_per_iteration=-2 on several workers re-tunes the rows per iteration from the
    measured communication / computation times and still trains to the requested epochs."""
    df = _digits()
    train = _parquet_frame(df, tmp_path, "train", 4)
    m, workers = _train_on(client, train, None, hidden=[16], epochs=3, seed=3, quiet_mode=True,
                           replicate_training_data=False, score_each_iteration=True)
    h = m.scoring_history()
    assert len(workers) == 2 and float(h["epochs"].iloc[-1]) >= 3.0
    per_it = np.diff(h["samples"].to_numpy()[1:])
    assert len(per_it) >= 2 and (per_it > 0).all()


def test_retune_rows_rule():
    from daskdl.train.driver import retune_rows

    # communication is 50 % of the iteration, target 5 %: sync half as often (rows x 2)
    assert retune_rows(1000, 1.0, 0.5, 0.05, 10**9) == 2000
    # communication is 1 % (> 10 ms), target 5 %: sync twice as often (rows / 2)
    assert retune_rows(1000, 2.0, 1.98, 0.05, 10**9) == 500
    # on target (within 20 %), or communication under 10 ms: unchanged
    assert retune_rows(1000, 1.0, 0.95, 0.05, 10**9) == 1000
    assert retune_rows(1000, 0.1, 0.095, 0.05, 10**9) == 1000
    # bounded
    assert retune_rows(1000, 1.0, 0.0, 0.05, 1500) == 1500


def test_rows_per_iteration_replicated():
    from daskdl.params import default_parameters, validate
    from daskdl.train.driver import rows_per_iteration

    base = default_parameters()
    r = validate({**base, "train_samples_per_iteration": -1}, response_kind="categorical", n_classes=2)
    assert rows_per_iteration(r, 100, 3, 0.0, replicated=True) == 300
    assert rows_per_iteration(r, 100, 3, 0.0, replicated=False) == 100
    r0 = validate({**base, "train_samples_per_iteration": 0}, response_kind="categorical", n_classes=2)
    assert rows_per_iteration(r0, 100, 3, 0.0, replicated=True) == 100


def test_elastic_averaging_on_two_workers(client, tmp_path):
    """elastic_averaging (spec 5.5): every worker keeps its own model, pulled toward the consensus,
    which is scored and returned."""
    df = _digits()
    tr, va = _split(df)
    train = _parquet_frame(tr, tmp_path, "train", 4)
    valid = _parquet_frame(va, tmp_path, "valid", 2)
    kw = dict(hidden=[32], epochs=6, seed=1, quiet_mode=True, replicate_training_data=False,
              train_samples_per_iteration=200)
    m, workers = _train_on(client, train, valid, elastic_averaging=True, elastic_averaging_regularization=0.01,
                           **kw)
    assert len(workers) == 2
    assert m.model_performance(valid=True).classification_error() < 0.15
    plain, _ = _train_on(client, train, valid, **kw)
    assert not np.array_equal(m.fit_state.net.W, plain.fit_state.net.W)


def test_predict_on_a_persisted_frame_uses_the_held_partitions(client, tmp_path):
    from distributed import get_task_stream

    from daskdl.frame.io import persisted_partitions

    df = _digits()
    train = _parquet_frame(df, tmp_path, "train", 3)
    m = DeepLearningEstimator(hidden=[8], epochs=1, seed=1, quiet_mode=True)
    m.train(y="target", training_frame=train)
    lazy = m.predict(train).compute()
    held = train.persist()
    assert persisted_partitions(train) is None
    assert len(persisted_partitions(held)) == held.npartitions
    with get_task_stream(client) as ts:
        got = m.predict(held).compute()
    pd.testing.assert_frame_equal(got, lazy)
    # the scoring tasks read the held partitions directly: no task re-ran for the frame's own keys
    own = {k[0] if isinstance(k, tuple) else k for k in held.__dask_keys__()}
    ran = {t["key"][0] if isinstance(t["key"], tuple) else t["key"] for t in ts.data}
    assert not (own & ran)
    assert m.model_performance(test_data=held).logloss() == pytest.approx(
        m.model_performance(test_data=train).logloss(), rel=1e-12)
