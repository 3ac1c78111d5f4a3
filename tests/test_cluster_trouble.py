"""Cluster trouble is told clearly: a client closed during train(), frames whose persisted data a
restart dropped, and a clean shutdown that logs no lost-data error."""
import logging
import threading
import time

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import daskdl
from daskdl.train.driver import TrainingError

from conftest import data_path


def _digits(n_copies=1):
    df = pd.read_csv(data_path("sklearn_digits.csv.gz"))
    df["target"] = df["target"].astype("category")
    return pd.concat([df] * n_copies, ignore_index=True)


def _frame(df, nparts=4):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=nparts)


def test_client_closed_during_train_is_a_clear_error():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        client = Client(cluster)
        train = _frame(_digits(4)).persist()
        m = daskdl.DeepLearningEstimator(hidden=[64], epochs=200, seed=1, quiet_mode=True, stopping_rounds=0,
                                         train_samples_per_iteration=500)

        def close_later():
            time.sleep(4)
            client.close()

        threading.Thread(target=close_later, daemon=True).start()
        with pytest.raises((TrainingError, ValueError)) as exc:
            m.train(y="target", training_frame=train)
        msg = str(exc.value)
        assert "client" in msg and ("closed" in msg or "cluster" in msg), msg
        assert "KeyError" not in msg


def test_frames_lost_by_a_restart_are_refused_with_their_name():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        df = _digits()
        held = _frame(df).persist()
        m = daskdl.DeepLearningEstimator(hidden=[8], epochs=1, seed=1, quiet_mode=True).train(
            y="target", training_frame=held)
        client.restart()
        with pytest.raises(ValueError, match="training_frame.*no longer on the cluster"):
            daskdl.DeepLearningEstimator(hidden=[8], epochs=1, seed=1).train(y="target", training_frame=held)
        with pytest.raises(ValueError, match="frame.*no longer on the cluster"):
            m.predict(held)
        # the same data read again works
        fresh = _frame(df).persist()
        assert len(m.predict(fresh).compute()) == len(df)


def test_clean_shutdown_logs_no_lost_data_error(caplog):
    df = _digits()
    with caplog.at_level(logging.ERROR, logger="distributed.scheduler"):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        m = daskdl.DeepLearningEstimator(hidden=[16], epochs=2, seed=1, quiet_mode=True)
        m.train(y="target", training_frame=_frame(df), validation_frame=_frame(df, 2))
        pred = m.predict(_frame(df)).compute()
        assert np.isfinite(m.model_performance(test_data=_frame(df)).logloss()) and len(pred) == len(df)
        cluster.close()  # the cluster first, the client after: as a `with` block over both does
        client.close()
    lost = [r for r in caplog.records if "lose" in r.getMessage() or "lost" in r.getMessage()]
    assert not lost, [r.getMessage() for r in lost]
