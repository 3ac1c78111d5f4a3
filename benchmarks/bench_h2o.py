"""One benchmark run: one library (H2O-3 or daskdl) on one case, in this process.

Shared pieces used by ``run_side_by_side.py``:

* ``CASES`` / ``load_case(name)``: the data (pandas frames, identical for both libraries), the
  predictors, the response, the factor columns and the Deep Learning parameters of each case.
* ``PeakRSS``: a thread that samples, every 0.2 s, the resident set size of this Python process
  and of its child processes (the H2O JVM, or the Dask worker processes) and keeps the peaks.
* ``run_h2o(case)`` / ``run_daskdl(case)``: train, score and time; return a flat ``dict``.

Command line (one run, result as JSON on stdout, or in ``--json FILE``)::

    python benchmarks/bench_h2o.py --case mnist --lib h2o [--json out.json]
    python benchmarks/bench_h2o.py --case prostate --lib daskdl

Both libraries get exactly the same rows: the 80/20 splits are drawn here, in pandas
(``numpy.random.RandomState(1)``), not by each library's own ``split_frame``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import pandas as pd

DATA_DIR = os.environ.get("DASKDL_DATA", "/work/shared/data")
H2O_MAX_MEM = os.environ.get("DASKDL_BENCH_H2O_MEM", "4G")
NTHREADS = int(os.environ.get("DASKDL_BENCH_THREADS", "2"))
LIBS = ("h2o", "daskdl")


# --------------------------------------------------------------------------------------------- #
# Cases
# --------------------------------------------------------------------------------------------- #
CASES = {
    # H2O booklet (Deep Learning with H2O, section "MNIST"): the trial run, shortened to 10 epochs.
    "mnist": dict(
        file=("mnist_train.npz", "mnist_test.npz"),
        y="C785",
        factors=["C785"],
        params=dict(distribution="multinomial", activation="RectifierWithDropout",
                    hidden=[200, 200, 200], input_dropout_ratio=0.2, l1=1e-5, epochs=10),
        description="train 60,000 / test 10,000 rows; 784 numeric pixels C1..C784, label C785 (factor, 10 levels)",
    ),
    # The same trial run with mini-batches (H2O resets mini_batch_size to 1, so its run is the same
    # as "mnist"; compare daskdl's mini-batch run with H2O's "mnist" run).
    "mnist_minibatch": dict(
        file=("mnist_train.npz", "mnist_test.npz"),
        y="C785",
        factors=["C785"],
        params=dict(distribution="multinomial", activation="RectifierWithDropout",
                    hidden=[200, 200, 200], input_dropout_ratio=0.2, l1=1e-5, epochs=10,
                    mini_batch_size=int(os.environ.get("DASKDL_BENCH_MINI_BATCH", "24"))),
        description="as mnist, with mini_batch_size=24 (DASKDL_BENCH_MINI_BATCH; daskdl only: H2O trains per row)",
    ),
    # H2O's standard small binomial set. RACE, DPROS, DCAPS, GLEASON kept numeric as loaded.
    "prostate": dict(
        file=("prostate.csv",),
        y="CAPSULE",
        factors=["CAPSULE"],
        params=dict(distribution="bernoulli", activation="Rectifier", hidden=[50, 50], epochs=50, seed=1),
        description="380 rows, 80/20 split (RandomState(1)); CAPSULE factor, ID dropped, "
                    "AGE RACE DPROS DCAPS PSA VOL GLEASON numeric",
    ),
    # H2O's classic airlines demo.
    "airlines": dict(
        file=("airlines_allyears2k_headers.csv.gz",),
        y="IsDepDelayed",
        x=["Year", "Month", "DayofMonth", "DayOfWeek", "CRSDepTime", "CRSArrTime", "UniqueCarrier",
           "FlightNum", "Origin", "Dest", "Distance"],
        factors=["IsDepDelayed", "UniqueCarrier", "Origin", "Dest"],
        params=dict(distribution="bernoulli", activation="Rectifier", hidden=[200, 200], epochs=5, seed=1),
        description="43,978 rows, 80/20 split (RandomState(1)); 11 predictors, UniqueCarrier/Origin/Dest "
                    "categorical, the rest numeric; response IsDepDelayed (YES/NO)",
    ),
    # UCI adult: train = adult.data (rows 16281..), test = adult.test (rows 0..16280).
    "adult": dict(
        file=("adult.csv.gz",),
        y="income",
        factors=["income", "workclass", "education", "marital_status", "occupation", "relationship",
                 "race", "sex", "native_country"],
        params=dict(distribution="bernoulli", activation="Rectifier", hidden=[200, 200], epochs=5, seed=1),
        description="train 32,561 (UCI adult.data) / test 16,281 (adult.test); 14 predictors, 8 categorical, "
                    "'?' = missing; response income",
    ),
}


def _path(name: str) -> str:
    p = os.path.join(DATA_DIR, name)
    if not os.path.exists(p):
        raise FileNotFoundError(f"data file {p!r} not found (set DASKDL_DATA to the data directory)")
    return p


def _split(pdf: pd.DataFrame, ratio: float = 0.8, seed: int = 1):
    r = np.random.RandomState(seed).random_sample(len(pdf))
    return pdf[r < ratio].reset_index(drop=True), pdf[r >= ratio].reset_index(drop=True)


# The trial run's network trained for 1 epoch: a shorter run for the prediction speed, which does
# not depend on the number of epochs (same layers, same test frame).
CASES["mnist_predict"] = dict(
    CASES["mnist"], params={**CASES["mnist"]["params"], "epochs": 1},
    description="as mnist, 1 epoch: predict + fetch of the 10,000-row test frame (median of 5 calls)")


def load_case(name: str) -> dict:
    """Return ``dict(train, test, x, y, factors, params, n_train, n_test)`` with pandas frames.

    Factor columns are returned as strings (labels) or numbers as stored; each library then declares
    the columns in ``factors`` as categorical in its own way.
    """
    if name not in CASES:
        raise ValueError(f"case must be one of {sorted(CASES)}; got {name!r}")
    c = CASES[name]
    if name in ("mnist", "mnist_minibatch", "mnist_predict"):
        frames = []
        for f in c["file"]:
            d = np.load(_path(f))
            X, y = d["X"], d["y"]
            pdf = pd.DataFrame(X.astype(np.float32), columns=[f"C{i}" for i in range(1, 785)])
            pdf["C785"] = y.astype(np.int64)
            frames.append(pdf)
        train, test = frames
    elif name == "prostate":
        pdf = pd.read_csv(_path(c["file"][0])).drop(columns=["ID"])
        train, test = _split(pdf)
    elif name == "airlines":
        pdf = pd.read_csv(_path(c["file"][0]), encoding="latin-1", na_values=["NA"],
                          usecols=c["x"] + [c["y"]])
        train, test = _split(pdf[c["x"] + [c["y"]]])
    elif name == "adult":
        pdf = pd.read_csv(_path(c["file"][0]), na_values=["?"], skipinitialspace=True)
        train = pdf.iloc[16281:].reset_index(drop=True)
        test = pdf.iloc[:16281].reset_index(drop=True)
    y = c["y"]
    x = c.get("x") or [col for col in train.columns if col != y]
    return dict(train=train, test=test, x=list(x), y=y, factors=list(c["factors"]),
                params=dict(c["params"]), n_train=len(train), n_test=len(test),
                description=c["description"])


# --------------------------------------------------------------------------------------------- #
# Memory sampling
# --------------------------------------------------------------------------------------------- #
class PeakRSS:
    """Sample RSS of this process and of all its descendants every ``interval`` seconds.

    ``peak_self``: this Python process; ``peak_children``: the largest sum over descendant processes
    seen in one sample (the H2O JVM, or the Dask worker/nanny processes); ``peak_java``: the largest
    RSS of a descendant whose name contains "java".
    """

    def __init__(self, interval: float = 0.2):
        import psutil
        self._psutil = psutil
        self.proc = psutil.Process()
        self.interval = interval
        self.peak_self = 0
        self.peak_children = 0
        self.peak_java = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self):
        ps = self._psutil
        try:
            self.peak_self = max(self.peak_self, self.proc.memory_info().rss)
        except ps.Error:
            pass
        total = 0
        for ch in self.proc.children(recursive=True):
            try:
                rss = ch.memory_info().rss
                total += rss
                if "java" in ch.name().lower():
                    self.peak_java = max(self.peak_java, rss)
            except ps.Error:
                continue
        self.peak_children = max(self.peak_children, total)

    def _loop(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
        return False

    def result(self) -> dict:
        mib = 1024 * 1024
        # ru_maxrss is KiB on Linux
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return dict(peak_rss_python_mib=round(max(self.peak_self, maxrss) / mib, 1),
                    peak_rss_children_mib=round(self.peak_children / mib, 1),
                    peak_rss_java_mib=round(self.peak_java / mib, 1))


# --------------------------------------------------------------------------------------------- #
# Metrics computed here, identically for both libraries
# --------------------------------------------------------------------------------------------- #
def _labels(s: pd.Series) -> np.ndarray:
    """Labels as strings; integral numbers written without a decimal point (5.0 -> "5")."""
    out = []
    for v in s.tolist():
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        out.append(str(v))
    return np.asarray(out, dtype=object)


def test_error(pred: pd.Series, actual: pd.Series) -> float:
    return float(np.mean(_labels(pred) != _labels(actual)))


def _speed_of(s) -> float | None:
    """Parse H2O's ``training_speed`` string ("12345 obs/sec", "1,234 rows/sec")."""
    if s is None:
        return None
    try:
        return float(str(s).strip().split()[0].replace(",", ""))
    except (ValueError, IndexError):
        return None


def _history_fields(model, speed_key: str) -> dict:
    """Epochs, samples and training speed from the last row of ``model.scoring_history()``."""
    out = {}
    try:
        sh = model.scoring_history()
    except Exception:  # noqa: BLE001 - the history is optional information
        return out
    if sh is None or not len(sh):
        return out
    last = sh.iloc[-1]
    for col, key in (("epochs", "epochs_done"), ("samples", "samples_done")):
        if col in sh.columns:
            try:
                out[key] = float(last[col])
            except (TypeError, ValueError):
                pass
    if "training_speed" in sh.columns:
        out[speed_key] = _speed_of(last["training_speed"])
    # the learning curve, to compare the libraries epoch by epoch
    cols = [c for c in ("epochs", "iterations", "validation_classification_error", "validation_logloss",
                        "validation_auc", "validation_rmse") if c in sh.columns]
    try:
        out["history"] = {c: [None if v != v else float(v) for v in pd.to_numeric(sh[c], errors="coerce")]
                          for c in cols}
    except Exception:  # noqa: BLE001 - optional information
        pass
    return out


# --------------------------------------------------------------------------------------------- #
# H2O side
# --------------------------------------------------------------------------------------------- #
def _write_csv(pdf: pd.DataFrame, path: str):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    table = pa.Table.from_pandas(pdf, preserve_index=False)
    pacsv.write_csv(table, path)


def _h2o_frame(h2o, pdf: pd.DataFrame, factors: list[str], tmpdir: str, name: str):
    path = os.path.join(tmpdir, f"{name}.csv")
    _write_csv(pdf, path)
    types = ["enum" if c in factors else "numeric" for c in pdf.columns]
    return h2o.import_file(path, header=1, col_types=types, destination_frame=name, na_strings=[""] * len(types))


def _free_port_pair() -> int:
    """A port p with p and p+1 both free (H2O listens on both), so each run gets its own JVM."""
    import random
    import socket
    rng = random.Random(os.getpid() ^ time.time_ns())
    for _ in range(200):
        p = rng.randrange(40000, 60000, 2)
        ok = True
        for q in (p, p + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
                    break
        if ok:
            return p
    raise RuntimeError("no free port pair found for the H2O server")


def run_h2o(case: str) -> dict:
    import h2o
    from h2o.estimators.deeplearning import H2ODeepLearningEstimator

    d = load_case(case)
    x, y, params = d["x"], d["y"], d["params"]
    res = dict(lib="h2o", case=case, params=params, n_train=d["n_train"], n_test=d["n_test"])
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        port = _free_port_pair()
        h2o.init(nthreads=NTHREADS, max_mem_size=H2O_MAX_MEM, port=port, name=f"bench_{os.getpid()}_{port}",
                 verbose=False)
        h2o.no_progress()
        res["startup_s"] = round(time.perf_counter() - t0, 3)
        res["h2o_version"] = h2o.__version__
        try:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                train = _h2o_frame(h2o, d["train"], d["factors"], tmp, f"{case}_train")
                test = _h2o_frame(h2o, d["test"], d["factors"], tmp, f"{case}_test")
                res["load_s"] = round(time.perf_counter() - t0, 3)
            del d["train"]
            gc.collect()

            m = H2ODeepLearningEstimator(**params)
            t0 = time.perf_counter()
            m.train(x=x, y=y, training_frame=train, validation_frame=test)
            res["train_s"] = round(time.perf_counter() - t0, 3)
            res["h2o_run_time_s"] = m._model_json["output"].get("run_time", 0) / 1000.0
            res.update(_history_fields(m, "h2o_reported_speed"))
            epochs_done = res.get("epochs_done") or params["epochs"]
            res["samples_per_s"] = round(epochs_done * d["n_train"] / res["train_s"], 1)
            res["samples_per_s_nominal"] = round(params["epochs"] * d["n_train"] / res["train_s"], 1)

            t0 = time.perf_counter()
            pred = m.predict(test)
            res["predict_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            pdf_pred = pred.as_data_frame(use_pandas=True)
            res["fetch_s"] = round(time.perf_counter() - t0, 3)
            res["predict_first_rows_per_s"] = round(d["n_test"] / (res["predict_s"] + res["fetch_s"]), 1)

            def _again():
                p = m.predict(test)
                p.as_data_frame(use_pandas=True)
                return p

            res.update(_predict_repeats(_again, d["n_test"], cleanup=h2o.remove))

            res["test_error"] = test_error(pdf_pred["predict"], d["test"][y])
            perf = m.model_performance(test_data=test)
            res["logloss"] = float(perf.logloss())
            res["mse"] = float(perf.mse())
            if params["distribution"] == "bernoulli":
                res["auc"] = float(perf.auc())
        finally:
            h2o.cluster().shutdown()
            time.sleep(1.0)
    res.update(mem.result())
    res["peak_rss_engine_mib"] = res["peak_rss_java_mib"]
    return res


# --------------------------------------------------------------------------------------------- #
# daskdl side
# --------------------------------------------------------------------------------------------- #
PREDICT_REPEATS = int(os.environ.get("DASKDL_BENCH_PREDICT_REPEATS", "5"))


def _predict_repeats(call, n_rows: int, cleanup=None) -> dict:
    """Time ``call`` (predict and fetch the whole test frame) PREDICT_REPEATS more times after the
    first; the median is the reported rate. A pause between calls lets each library release the
    previous result, so that no call reuses it."""
    times = []
    for _ in range(PREDICT_REPEATS):
        time.sleep(0.5)
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
        if cleanup is not None:
            cleanup(out)
        del out
    if not times:
        return {}
    med = statistics.median(times)
    return {"predict_times_s": [round(t, 4) for t in times], "predict_fetch_rows_per_s": round(n_rows / med, 1),
            "predict_rows_per_s": round(n_rows / med, 1)}


def _nparts(pdf) -> int:
    """Partitions as Dask's guidance sizes them (~100 MB each; at most one per thread)."""
    return int(max(1, min(NTHREADS, -(-pdf.memory_usage(deep=True).sum() // 100_000_000))))


def run_daskdl(case: str) -> dict:
    import dask.dataframe as dd
    import daskdl

    d = load_case(case)
    x, y, params = d["x"], d["y"], d["params"]
    res = dict(lib="daskdl", case=case, params=params, n_train=d["n_train"], n_test=d["n_test"],
               daskdl_version=getattr(daskdl, "__version__", "?"))
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        client = daskdl.init(n_workers=1, threads_per_worker=NTHREADS)
        res["startup_s"] = round(time.perf_counter() - t0, 3)
        try:
            t0 = time.perf_counter()
            facs = [f for f in d["factors"] if f in d["train"].columns]
            # factors are declared on the local frames (daskdl.asfactor), then the frames are loaded
            # into cluster memory before training, as H2O's import parses them into its cluster
            train = dd.from_pandas(daskdl.asfactor(d["train"], facs), npartitions=_nparts(d["train"])).persist()
            test = dd.from_pandas(daskdl.asfactor(d["test"], facs), npartitions=_nparts(d["test"])).persist()
            from distributed import wait

            wait([train, test])
            res["load_s"] = round(time.perf_counter() - t0, 3)

            m = daskdl.DeepLearningEstimator(**params)
            t0 = time.perf_counter()
            m.train(x=x, y=y, training_frame=train, validation_frame=test)
            res["train_s"] = round(time.perf_counter() - t0, 3)
            res.update(_history_fields(m, "daskdl_reported_speed"))
            epochs_done = res.get("epochs_done") or params["epochs"]
            res["samples_per_s"] = round(epochs_done * d["n_train"] / res["train_s"], 1)
            res["samples_per_s_nominal"] = round(params["epochs"] * d["n_train"] / res["train_s"], 1)

            t0 = time.perf_counter()
            pred = m.predict(test)
            res["predict_s"] = round(time.perf_counter() - t0, 3)  # graph construction (lazy)
            t0 = time.perf_counter()
            pdf_pred = pred.compute()
            res["fetch_s"] = round(time.perf_counter() - t0, 3)  # actual scoring + transfer
            res["predict_first_rows_per_s"] = round(d["n_test"] / (res["predict_s"] + res["fetch_s"]), 1)
            res.update(_predict_repeats(lambda: m.predict(test).compute(), d["n_test"]))

            res["test_error"] = test_error(pdf_pred["predict"].reset_index(drop=True), d["test"][y])
            perf = m.model_performance(test_data=test)
            res["logloss"] = float(perf.logloss())
            res["mse"] = float(perf.mse())
            if params["distribution"] == "bernoulli":
                res["auc"] = float(perf.auc())
        finally:
            try:
                cluster = getattr(client, "cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
            except Exception:  # noqa: BLE001 - shutdown errors must not hide the results
                pass
    res.update(mem.result())
    res["peak_rss_engine_mib"] = res["peak_rss_children_mib"]
    return res


RUNNERS = {"h2o": run_h2o, "daskdl": run_daskdl}


def run_one(lib: str, case: str) -> dict:
    if lib not in RUNNERS:
        raise ValueError(f"lib must be one of {sorted(RUNNERS)}; got {lib!r}")
    t0 = time.perf_counter()
    res = RUNNERS[lib](case)
    res["total_s"] = round(time.perf_counter() - t0, 3)
    res["host"] = dict(machine=platform.machine(), python=platform.python_version(), cpus=os.cpu_count(),
                       threads=NTHREADS)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--lib", required=True, choices=LIBS)
    ap.add_argument("--json", help="write the result to this file instead of stdout")
    a = ap.parse_args(argv)
    res = run_one(a.lib, a.case)
    text = json.dumps(res, indent=1, default=float)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
