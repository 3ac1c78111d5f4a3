"""Fitting into the Python data ecosystem: fsspec paths, labels in the response's dtype,
the "daskdl" logger, scripts without a __main__ guard, named tasks."""
import functools
import http.server
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import dask.dataframe as dd
import fsspec
import numpy as np
import pandas as pd
import pytest

import daskdl

ROOT = Path(__file__).resolve().parents[1]


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "c": rng.choice(["u", "v", "w"], size=n)})
    df["y"] = ((df["a"] + 0.5 * df["b"] + (df["c"] == "u")) > 0.3).astype(np.int64)
    return df


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server over tmp_path (no byte-range support, like many simple servers)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_import_file_over_http(http_dir):
    d, url = http_dir
    df = _frame()
    df.to_csv(d / "train.csv", index=False)
    df.to_csv(d / "train.csv.gz", index=False, compression="gzip")
    for name in ("train.csv", "train.csv.gz"):
        f = daskdl.import_file(f"{url}/{name}")
        got = f.compute()
        assert list(got.columns) == ["a", "b", "c", "y"] and len(got) == len(df)
        np.testing.assert_allclose(got["a"].to_numpy(), df["a"].to_numpy())
        assert got["y"].dtype == np.float64  # H2O keeps numbers as doubles
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        daskdl.import_file(f"{url}/missing.csv")
    # a model trains from the URL's frame
    train = daskdl.asfactor(daskdl.import_file(f"{url}/train.csv"), "y")
    m = daskdl.DeepLearningEstimator(hidden=[5], epochs=2, seed=1, reproducible=True)
    m.train(y="y", training_frame=train)
    assert m.logloss() is not None


def test_import_file_memory_filesystem_globs_directories_and_compression(tmp_path):
    import dask

    df = _frame(90)
    mem = fsspec.filesystem("memory")
    mem.pipe("/daskdl-test/parts/p1.csv", df.iloc[:40].to_csv(index=False).encode())
    mem.pipe("/daskdl-test/parts/p2.csv", df.iloc[40:].to_csv(index=False).encode())
    mem.pipe("/daskdl-test/one.csv.gz", __import__("gzip").compress(df.to_csv(index=False).encode()))
    # the memory filesystem lives in this process: compute here, not on a cluster's workers
    with dask.config.set(scheduler="sync"):
        _memory_checks(mem, df)
    # a local directory of CSV files
    (tmp_path / "dir").mkdir()
    df.iloc[:50].to_csv(tmp_path / "dir" / "a.csv", index=False)
    df.iloc[50:].to_csv(tmp_path / "dir" / "b.csv", index=False)
    assert len(daskdl.import_file(str(tmp_path / "dir")).compute()) == 90


def _memory_checks(mem, df):
    try:
        for path in ("memory://daskdl-test/parts", "memory://daskdl-test/parts/*.csv",
                     "memory://daskdl-test/one.csv.gz"):
            got = daskdl.import_file(path).compute()
            assert len(got) == 90 and sorted(got["a"].round(9)) == sorted(df["a"].round(9)), path
        parts = daskdl.import_file("memory://daskdl-test/parts")
        assert parts.npartitions == 2
        with pytest.raises(FileNotFoundError, match="nothing"):
            daskdl.import_file("memory://daskdl-test/nothing/*.csv")
    finally:
        mem.rm("/daskdl-test", recursive=True)


def test_predicted_labels_are_levels_of_a_numeric_factor(tmp_path):
    """import_file + asfactor of a 0/1 column give levels 0.0 / 1.0: predictions are those numbers."""
    df = _frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    train = daskdl.asfactor(daskdl.import_file(str(tmp_path / "d.csv")), "y")
    m = daskdl.DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True).train(y="y",
                                                                                            training_frame=train)
    pred = m.predict(train)
    assert isinstance(pred, dd.DataFrame) and isinstance(pred._meta["predict"].dtype, pd.CategoricalDtype)
    p = pred["predict"].compute()
    truth = train["y"].compute()
    assert p.cat.categories.dtype == np.float64 and sorted(p.cat.categories) == [0.0, 1.0]
    assert set(p.unique()) <= {0.0, 1.0}
    acc = (p.astype(float).to_numpy() == truth.astype(float).to_numpy()).mean()
    assert acc > 0.8  # '0' / '1' strings would compare unequal on every row
    # pandas: the response's own categorical dtype, so == works directly
    pdf = daskdl.asfactor(df, "y")
    m2 = daskdl.DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True).train(y="y",
                                                                                             training_frame=pdf)
    p2 = m2.predict(pdf)["predict"]
    assert p2.dtype == pdf["y"].dtype
    assert (p2 == pdf["y"]).mean() > 0.8
    # a saved and loaded model predicts the same labels, in the same dtype
    loaded = daskdl.load_model(m2.save(str(tmp_path)))
    pd.testing.assert_series_equal(loaded.predict(pdf)["predict"], p2)
    # the standalone export gives the same numbers
    path = m2.export_python(tmp_path / "scorer")
    import importlib.util

    spec = importlib.util.spec_from_file_location("daskdl_scorer_test", path)
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    out = scorer.predict(pdf)
    labels = np.asarray(out["predict"])
    assert labels.dtype == pdf["y"].cat.categories.dtype and set(labels) <= {0, 1}
    # float64 scorer vs float32 network: rows on the threshold may differ
    assert (labels == p2.astype(float).to_numpy()).mean() > 0.99


def test_predicted_labels_are_levels_of_a_text_factor():
    df = _frame()
    df["label"] = np.where(df["y"] == 1, "yes", "no")
    for frame in (df, dd.from_pandas(df, npartitions=2)):
        m = daskdl.DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True)
        m.train(x=["a", "b", "c"], y="label", training_frame=frame)
        p = m.predict(frame)["predict"]
        p = p.compute() if hasattr(p, "compute") else p
        assert p.dtype == frame["label"].dtype
        assert set(p) <= {"yes", "no"} and (p.to_numpy() == df["label"].to_numpy()).mean() > 0.8
    cat = daskdl.asfactor(df, "label")
    m = daskdl.DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True)
    p = m.train(x=["a", "b", "c"], y="label", training_frame=cat).predict(cat)["predict"]
    assert p.dtype == cat["label"].dtype and (p == cat["label"]).mean() > 0.8


def test_training_speaks_through_the_daskdl_logger(caplog):
    df = _frame(200)
    with caplog.at_level(logging.DEBUG, logger="daskdl"):
        m = daskdl.DeepLearningEstimator(hidden=[4], epochs=2, seed=1, reproducible=True)
        m.train(y="y", training_frame=df, verbose=True)
    recs = [r for r in caplog.records if r.name == "daskdl"]
    scoring = [r for r in recs if r.getMessage().startswith("epochs=")]
    assert len(scoring) >= 2 and all(r.levelno == logging.INFO for r in scoring)
    assert any("trained" in r.getMessage() and m.model_id in r.getMessage() for r in recs)
    # progress when stderr is not a terminal (pytest captures it): plain lines, no carriage returns
    prog = [r.getMessage() for r in recs if r.getMessage().startswith("deeplearning:")]
    assert prog and all("\r" not in p for p in prog) and "100%" in prog[-1]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="daskdl"):
        daskdl.DeepLearningEstimator(hidden=[4], epochs=2, seed=1, reproducible=True).train(y="y", training_frame=df)
    assert not [r for r in caplog.records if r.getMessage().startswith("epochs=")]  # not verbose: DEBUG only


def test_split_frame_tasks_are_named():
    f = dd.from_pandas(_frame(100), npartitions=2)
    parts = daskdl.split_frame(f, [0.5], seed=3)
    names = {k[0] if isinstance(k, tuple) else k for k in dict(parts[0].__dask_graph__())}
    assert any(str(n).startswith("daskdl-split") for n in names), names


def _run_script(tmp_path, body):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


SCRIPT = """
import numpy as np, pandas as pd
import daskdl

client = daskdl.init(n_workers=1, threads_per_worker=1)
df = pd.DataFrame({"a": np.arange(200.0), "b": np.arange(200.0) % 7})
df["y"] = df["a"] * 2 + 1
m = daskdl.DeepLearningEstimator(hidden=[5], epochs=2, seed=1).train(y="y", training_frame=df)
print("TRAINED", client.cluster.processes, np.isfinite(m.mse()))
client.close()
client.cluster.close()
"""


@pytest.mark.timeout(300)
def test_script_without_main_guard_runs(tmp_path):
    r = _run_script(tmp_path, SCRIPT)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "TRAINED False True" in r.stdout  # worker threads in this process
    assert "without an `if __name__" in r.stderr
    assert "bootstrapping" not in r.stderr and "Nanny failed" not in r.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_script_with_main_guard_gets_worker_processes(tmp_path):
    body = "if __name__ == '__main__':\n" + textwrap.indent(textwrap.dedent(SCRIPT), "    ")
    r = _run_script(tmp_path, body)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "TRAINED True True" in r.stdout


def test_init_takes_a_cluster_or_client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        client = daskdl.init(cluster)
        try:
            assert client.scheduler.address == cluster.scheduler_address
            assert daskdl.init(client) is client
            with pytest.raises(ValueError, match="either"):
                daskdl.init("tcp://127.0.0.1:1", scheduler_file="x.json")
        finally:
            client.close()
    assert isinstance(client, Client)


def test_h2o_plots_headless(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    df = daskdl.asfactor(_frame(), "y")
    train, valid = df.iloc[:300], df.iloc[300:]
    m = daskdl.DeepLearningEstimator(hidden=[6], epochs=6, seed=1, reproducible=True)
    m.train(y="y", training_frame=train, validation_frame=valid)
    try:
        fig = m.plot()
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert ax.get_ylabel() == "logloss" and ax.get_xlabel() == "epochs"
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        hist = m.scoring_history()
        np.testing.assert_allclose(lines["training"].get_ydata(), hist["training_logloss"])
        np.testing.assert_allclose(lines["validation"].get_ydata(), hist["validation_logloss"])
        assert m.plot(metric="classification_error").axes[0].get_ylabel() == "classification_error"
        with pytest.raises(ValueError, match="metric"):
            m.plot(metric="nonsense")

        fig = m.varimp_plot(num_of_features=3, save_plot_path=tmp_path / "vi.png")
        bars = fig.axes[0].patches
        vi = m.varimp(use_pandas=True)
        assert len(bars) == 3 and (tmp_path / "vi.png").stat().st_size > 1000
        assert max(b.get_width() for b in bars) == pytest.approx(vi["scaled_importance"].iloc[0])

        perf = m.model_performance(valid=True)
        fig = perf.plot(type="roc")
        curve = fig.axes[0].get_lines()[0]
        x, y = curve.get_xdata(), curve.get_ydata()
        assert x[0] == 0 and y[-1] == 1 and np.all(np.diff(x) >= 0)
        assert np.trapezoid(y, x) == pytest.approx(perf.auc(), abs=1e-6)
        assert "AUC" in curve.get_label()
        assert perf.plot(type="pr").axes[0].get_xlabel() == "Recall"

        fig = m.learning_curve_plot()
        labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
        assert "Training" in labels and "Validation" in labels
        cvm = daskdl.DeepLearningEstimator(hidden=[4], epochs=3, nfolds=2, seed=1, reproducible=True)
        cvm.train(y="y", training_frame=train)
        fig = cvm.learning_curve_plot()
        assert "Cross-validation" in [ln.get_label() for ln in fig.axes[0].get_lines()]
        assert fig.axes[0].collections  # the +-1 sd ribbon
    finally:
        plt.close("all")


def test_train_takes_a_client_and_the_dashboard_serves(client):
    import urllib.request

    before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    df = _frame(300)
    m = daskdl.DeepLearningEstimator(hidden=[4], epochs=2, seed=1)
    m.train(y="y", training_frame=dd.from_pandas(df, npartitions=2), client=client)
    after = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
    assert after > before  # trained on the cluster
    with urllib.request.urlopen(client.dashboard_link, timeout=30) as r:  # bokeh is installed
        assert r.status == 200 and b"Dask" in r.read()


@pytest.mark.slow
def test_init_refuses_clearly_in_a_process_that_reimports_the_script(tmp_path):
    """A spawned process re-imports the main script; init() there says why instead of
    multiprocessing's bootstrapping trace."""
    body = """
    import multiprocessing as mp
    import daskdl

    if mp.current_process().name != "MainProcess":  # the top level, as a spawned process re-runs it
        try:
            daskdl.init(processes=True)
            print("STARTED", flush=True)
        except RuntimeError as e:
            print("REFUSED", str(e).splitlines()[0][:60], flush=True)

    def noop():
        pass

    if __name__ == "__main__":
        p = mp.get_context("spawn").Process(target=noop)
        p.start()
        p.join()
    """
    r = _run_script(tmp_path, body)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "REFUSED daskdl.init() was called while a new process re-imports" in r.stdout
    assert "STARTED" not in r.stdout
