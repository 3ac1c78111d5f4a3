"""Out-of-core training on workers with little memory: the schema pass and local-only training must
stay under each worker's memory limit.

Builds an MNIST Parquet data set of ``--copies`` copies of the 60,000 training rows (18 copies =
1.08M rows x 785 columns, ``--rows-per-part`` rows per file; 6,000 gives 180 partitions) under a
temporary directory, starts ``--workers`` worker processes with ``--memory-limit`` each, trains in
local-only mode (``out_of_core=True``) and prints one JSON line: rows, partitions, wall time, the
peak RSS of each worker (sampled every 0.1 s), the number of workers that died and the training
error. Nothing is written inside the repository.

    python benchmarks/bench_small_workers.py --copies 18 --memory-limit 450MB
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path


def build_parquet(dest: Path, copies: int, rows_per_part: int, dtype: str) -> int:
    """Write ``copies`` x MNIST train as Parquet files of ``rows_per_part`` rows; returns the file count."""
    import numpy as np
    import pandas as pd

    from daskdl.datasets import _load

    X, y = _load("train")
    n = X.shape[0]
    cols = [f"C{i + 1}" for i in range(784)]
    dest.mkdir(parents=True, exist_ok=True)
    k = 0
    for c in range(copies):
        for a in range(0, n, rows_per_part):
            b = min(a + rows_per_part, n)
            df = pd.DataFrame(X[a:b].astype(dtype), columns=cols)
            df["C785"] = y[a:b].astype(np.int64)
            df.index = pd.RangeIndex(c * n + a, c * n + b)
            df.to_parquet(dest / f"part.{k:05d}.parquet")
            k += 1
    return k


def _running(client) -> str:
    """The task prefixes each worker is processing (for the progress lines)."""
    from dask.utils import key_split

    try:
        proc = client.processing()
    except Exception:  # the cluster is going away
        return ""
    return " ".join(sorted({key_split(k) for ks in proc.values() for k in ks}))


def _sampler(pids, stop, peaks, client=None, every=0.1, report=15.0):
    import psutil

    procs = {p: psutil.Process(p) for p in pids}
    t0 = last = time.time()
    while not stop.is_set():
        now = {}
        for p, proc in procs.items():
            try:
                now[p] = proc.memory_info().rss
                peaks[p] = max(peaks.get(p, 0), now[p])
            except psutil.Error:
                pass
        if time.time() - last >= report:
            last = time.time()
            print(f"{last - t0:6.0f} s  worker RSS MB now {[round(v / 2 ** 20) for v in now.values()]} "
                  f"peak {[round(v / 2 ** 20) for v in peaks.values()]}"
                  f"{'  running: ' + _running(client) if client is not None else ''}", file=sys.stderr, flush=True)
        time.sleep(every)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=18)
    ap.add_argument("--rows-per-part", type=int, default=6000)
    ap.add_argument("--dtype", default="float64", help="dtype of the pixel columns in the Parquet files")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="450MB")
    ap.add_argument("--epochs", type=float, default=0.2)
    ap.add_argument("--hidden", default="32")
    ap.add_argument("--pause", default=None,
                    help="distributed.worker.memory.pause (fraction of the limit, or 'false'); dask's default 0.8")
    ap.add_argument("--arrow-pool", default=None,
                    help="ARROW_DEFAULT_MEMORY_POOL for the workers (system, jemalloc, mimalloc); default Arrow's")
    ap.add_argument("--no-profile", action="store_true",
                    help="switch off the workers' statistical profiler (distributed.worker.profile.enabled)")
    ap.add_argument("--keep", default=None, help="build (or reuse) the data set in this directory and keep it")
    a = ap.parse_args()

    import dask
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    import daskdl

    limit = parse_bytes(a.memory_limit)
    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="daskdl-small-workers-"))
    data = root / "mnist.parquet"
    try:
        if not data.exists():
            t0 = time.time()
            nfiles = build_parquet(data, a.copies, a.rows_per_part, a.dtype)
            print(f"built {nfiles} Parquet files in {time.time() - t0:.0f} s under {data}", file=sys.stderr)
        conf = {"distributed.scheduler.allowed-failures": 0}
        if a.pause is not None:
            conf["distributed.worker.memory.pause"] = False if a.pause == "false" else float(a.pause)
        if a.no_profile:
            conf["distributed.worker.profile.enabled"] = False
        if a.arrow_pool:
            conf["distributed.nanny.pre-spawn-environ.ARROW_DEFAULT_MEMORY_POOL"] = a.arrow_pool
        with dask.config.set(conf), \
                LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, memory_limit=limit,
                             dashboard_address=":0") as cluster, Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
            idle = {p: 0 for p in pids}
            import psutil

            for p in pids:
                idle[p] = psutil.Process(p).memory_info().rss
            frame = daskdl.asfactor(daskdl.import_file(str(data)), "C785")
            stop, peaks = threading.Event(), {}
            th = threading.Thread(target=_sampler, args=(pids, stop, peaks, client), daemon=True)
            th.start()
            m = daskdl.DeepLearningEstimator(hidden=[int(h) for h in a.hidden.split(",")], epochs=a.epochs,
                                             seed=1, quiet_mode=True, score_training_samples=2000,
                                             stopping_rounds=0)
            t0 = time.time()
            err = None
            try:
                m.train(y="C785", training_frame=frame, out_of_core=True)
            except Exception as e:  # reported in the JSON line
                err = f"{type(e).__name__}: {e}"
            wall = time.time() - t0
            stop.set()
            th.join()
            alive = sum(1 for p in pids if psutil.pid_exists(p))
            row = {"bench": "small_workers", "rows": a.copies * 60000, "pause": a.pause, "arrow_pool": a.arrow_pool,
                   "profiler": not a.no_profile, "partitions": frame.npartitions,
                   "pixel_dtype": a.dtype, "workers": a.workers, "memory_limit_mb": limit / 2 ** 20,
                   "idle_worker_rss_mb": [round(v / 2 ** 20, 1) for v in idle.values()],
                   "peak_worker_rss_mb": [round(peaks.get(p, 0) / 2 ** 20, 1) for p in pids],
                   "peak_over_limit": max(peaks.values(), default=0) / limit,
                   "workers_lost": a.workers - alive,
                   "epochs": None if err else m.fit_state.epochs, "train_wall_s": round(wall, 1),
                   "train_classification_error": None if err else m.model_performance().classification_error(),
                   "error": err}
            print(json.dumps(row), flush=True)
            return 0 if err is None and row["peak_over_limit"] < 1 else 1
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
