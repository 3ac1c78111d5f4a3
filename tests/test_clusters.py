"""The same training code on clusters started other ways: the `dask scheduler` / `dask worker`
command-line tools, and dask-jobqueue (its LocalCluster runs the job scripts as local processes)."""
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from daskdl import DeepLearningEstimator

from conftest import data_path


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _digits():
    df = pd.read_csv(data_path("sklearn_digits.csv.gz"))
    df["target"] = df["target"].astype("category")
    return df


def _train_and_check(client):
    import dask.dataframe as dd

    df = _digits()
    frame = dd.from_pandas(df, npartitions=4).persist()
    m = DeepLearningEstimator(hidden=[32], epochs=3, seed=1, quiet_mode=True)
    m.train(y="target", training_frame=frame)
    err = m.model_performance(test_data=frame).classification_error()
    assert err < 0.1
    out = m.predict(frame).compute()
    assert len(out) == len(df)


def test_command_line_scheduler_and_workers(tmp_path):
    from distributed import Client

    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    bindir = os.path.dirname(sys.executable)
    dask_cli = os.path.join(bindir, "dask")
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(subprocess.Popen([dask_cli, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                                           "--dashboard-address", ":0", "--local-directory", str(tmp_path)],
                                          env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        with Client(f"tcp://127.0.0.1:{port}", timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            _train_and_check(client)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_dask_jobqueue_cluster(tmp_path):
    jq = pytest.importorskip("dask_jobqueue.local", reason="dask-jobqueue is not installed")
    from distributed import Client

    with jq.LocalCluster(cores=1, processes=1, memory="2GB", local_directory=str(tmp_path),
                         log_directory=str(tmp_path), scheduler_options={"dashboard_address": ":0"}) as cluster:
        cluster.scale(jobs=2)
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            _train_and_check(client)
