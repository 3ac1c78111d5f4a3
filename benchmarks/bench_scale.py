"""Scale-out benchmarks for daskdl.

    python benchmarks/bench_scale.py workers   [--epochs 2] [--repeats 3]
    python benchmarks/bench_scale.py flights   [--epochs 1]
    python benchmarks/bench_scale.py outofcore [--copies 8] [--memory-limit 1GB]
    python benchmarks/bench_scale.py scaling   [--cores 1,2,4,8,16] [--target 0.04]
    python benchmarks/bench_scale.py converge  [--configs 1x1,2x1,4x1,8x1,16x1,32x1,1x16] [--epochs 10]

workers:   the booklet MNIST net on 1 worker x 1 thread, 1 worker x 2 threads and 2 workers x 1
           thread: training samples/s and test error after --epochs epochs (medians of --repeats).
flights:   flights_3m.parquet end to end (predict delay > 15 from distance, origin, destination and
           date parts): wall time, samples/s, AUC, peak RSS of the workers.
outofcore: the flights rows replicated --copies times to Parquet (>= 4x the workers' total memory
           limit), trained in local-only mode on workers with --memory-limit each; worker RSS is
           sampled over time.
scaling:   time to --target MNIST test error for each core count (one worker per core).
converge:  accuracy per epoch across worker counts: the booklet MNIST net on each WORKERSxTHREADS
           LocalCluster of --configs (oversubscribing the machine's cores is fine: accuracy per epoch
           does not depend on real cores), validation error after each whole epoch, epochs (and
           seconds) to reach 4 % and 3.5 %, rows per iteration chosen by train_samples_per_iteration
           (--tspi, default -2) and the share of iteration time spent outside the workers' passes.
Results are printed as JSON lines and markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("DASKDL_DATA", HERE.parent.parent / "shared" / "data"))


def _rss_sampler(client, stop, out, every=0.25):
    import psutil

    pids = client.run(os.getpid)
    procs = [psutil.Process(p) for p in pids.values()]
    t0 = time.time()
    while not stop.is_set():
        try:
            out.append((time.time() - t0, [p.memory_info().rss for p in procs]))
        except Exception:
            pass
        time.sleep(every)


def booklet_model(**kw):
    import daskdl

    params = dict(distribution="multinomial", activation="RectifierWithDropout", hidden=[200, 200, 200],
                  input_dropout_ratio=0.2, l1=1e-5, seed=1, quiet_mode=True)
    params.update(kw)
    return daskdl.DeepLearningEstimator(**params)


def run_workers(a):
    from daskdl.datasets import mnist
    from distributed import Client, LocalCluster

    x = [f"C{i + 1}" for i in range(784)]
    rows = []
    for n_workers, threads in ((1, 1), (1, 2), (2, 1)):
        for rep in range(a.repeats):
            with LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                              dashboard_address=":0") as cluster, Client(cluster) as client:
                train = mnist("train", npartitions=8).persist()
                test = mnist("test", npartitions=2).persist()
                m = booklet_model(epochs=a.epochs, score_interval=1e9, stopping_rounds=0,
                                  replicate_training_data=not a.no_replicate)
                t0 = time.time()
                m.train(x=x, y="C785", training_frame=train)
                wall = time.time() - t0
                hist = m.scoring_history()
                speed = float(str(hist["training_speed"].iloc[-1]).split()[0])
                err = m.model_performance(test_data=test).classification_error()
                row = {"bench": "workers", "workers": n_workers, "threads": threads, "repeat": rep,
                       "replicate_training_data": not a.no_replicate,
                       "epochs": m.fit_state.epochs, "train_s": wall, "samples_per_s": speed,
                       "test_error": err}
                print(json.dumps(row), flush=True)
                rows.append(row)
    print("\n| workers x threads | samples/s (median) | test error after %g epochs | train s |" % a.epochs)
    print("|---|---|---|---|")
    for n_workers, threads in ((1, 1), (1, 2), (2, 1)):
        rs = [r for r in rows if r["workers"] == n_workers and r["threads"] == threads]
        print(f"| {n_workers} x {threads} | {statistics.median(r['samples_per_s'] for r in rs):,.0f} | "
              f"{100 * statistics.median(r['test_error'] for r in rs):.2f} % | "
              f"{statistics.median(r['train_s'] for r in rs):.1f} |")


def flights_frame(path):
    import dask.dataframe as dd

    df = dd.read_parquet(str(path))
    date = dd.to_datetime(df["date"])
    df = df.assign(late=(df["delay"] > 15).map({True: "late", False: "on_time"}, meta=("late", "object")),
                   month=date.dt.month, dayofweek=date.dt.dayofweek, hour=date.dt.hour)
    df["late"] = df["late"].astype("category")
    return df[["distance", "origin", "destination", "month", "dayofweek", "hour", "late"]]


def run_flights(a):
    import daskdl
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        frame = flights_frame(DATA / "flights_3m.parquet").repartition(npartitions=24)
        train, test = daskdl.split_frame(frame, [0.9], seed=1)
        stop, rss = threading.Event(), []
        th = threading.Thread(target=_rss_sampler, args=(client, stop, rss), daemon=True)
        th.start()
        m = daskdl.DeepLearningEstimator(hidden=[64, 64], epochs=a.epochs, seed=1, quiet_mode=True,
                                         mini_batch_size=a.mini_batch_size)
        t0 = time.time()
        m.train(y="late", training_frame=train)
        wall = time.time() - t0
        t1 = time.time()
        auc = m.model_performance(test_data=test).auc()
        t_score = time.time() - t1
        stop.set()
        th.join()
        res = m.fit_state
        row = {"bench": "flights", "rows": res.n_rows, "epochs": res.epochs, "train_wall_s": wall,
               "samples_per_s_end_to_end": res.samples / wall, "test_auc": auc, "score_test_s": t_score,
               "peak_worker_rss_mb": max(sum(r) for _, r in rss) / 2 ** 20 if rss else None}
        print(json.dumps(row), flush=True)


def run_outofcore(a):
    import dask
    import dask.dataframe as dd
    import daskdl
    from distributed import Client, LocalCluster

    from dask.utils import parse_bytes

    limit = parse_bytes(a.memory_limit)
    tmp = Path(tempfile.mkdtemp(prefix="daskdl-ooc-"))
    src = flights_frame(DATA / "flights_3m.parquet")
    parts = [src.assign(copy=np.float32(k)) for k in range(a.copies)]
    big = dd.concat(parts).repartition(npartitions=12 * a.copies)
    with dask.config.set(scheduler="threads"):
        big.to_parquet(tmp / "big.parquet")
    size = sum(f.stat().st_size for f in (tmp / "big.parquet").rglob("*.parquet"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        frame = daskdl.import_file(str(tmp / "big.parquet"))
        frame["late"] = frame["late"].astype("category")
        n_rows = int(frame.shape[0].compute())
        in_memory = int(frame.memory_usage(deep=True, index=True).sum().compute())  # the data as pandas
        stop, rss = threading.Event(), []
        th = threading.Thread(target=_rss_sampler, args=(client, stop, rss), daemon=True)
        th.start()
        m = daskdl.DeepLearningEstimator(hidden=[32], epochs=a.epochs, seed=1, quiet_mode=True,
                                         score_training_samples=5000, mini_batch_size=a.mini_batch_size,
                                         stopping_rounds=0)
        t0 = time.time()
        m.train(y="late", training_frame=frame, out_of_core=True)
        wall = time.time() - t0
        stop.set()
        th.join()
        peak = max(max(r) for _, r in rss) if rss else 0
        row = {"bench": "outofcore", "rows": n_rows, "parquet_bytes": size,
               "pandas_bytes_estimate": in_memory, "workers": 2, "memory_limit_per_worker": limit,
               "data_over_total_limit": in_memory / (2 * limit), "epochs": m.fit_state.epochs,
               "train_wall_s": wall, "peak_worker_rss_mb": peak / 2 ** 20,
               "peak_rss_over_limit": peak / limit, "train_auc": m.auc(),
               "rss_timeline_mb": [(round(t, 1), [round(x / 2 ** 20) for x in r]) for t, r in rss[::8]]}
        print(json.dumps(row), flush=True)


def run_scaling(a):
    """Time to --target test error per worker count: wall time (scoring included) and training time
    (samples / training speed at that scoring: the scoring every iteration left out)."""
    from daskdl.datasets import mnist
    from distributed import Client, LocalCluster

    x = [f"C{i + 1}" for i in range(784)]
    print("| workers x 1 thread | time to %.1f %% (training s) | wall s | epochs | samples/s |" % (100 * a.target))
    print("|---|---|---|---|---|")
    for cores in [int(c) for c in a.cores.split(",")]:
        if cores > (os.cpu_count() or 1) and not a.oversubscribe:
            print(f"| {cores} | skipped: this machine has {os.cpu_count()} cores | | | |")
            continue
        with LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
                Client(cl) as client:
            client.run(lambda: __import__("daskdl._client", fromlist=["warm_up"]).warm_up())
            train = mnist("train", npartitions=max(8, cores)).persist()
            test = mnist("test", npartitions=2).persist()
            m = booklet_model(epochs=a.max_epochs, score_interval=0, score_duty_cycle=1.0, stopping_rounds=0,
                              score_training_samples=1000, train_samples_per_iteration=a.tspi)
            m.train(x=x, y="C785", training_frame=train, validation_frame=test)
        hist = m.scoring_history()
        ok = hist[hist["validation_classification_error"] <= a.target]
        speed = [float(str(v).split()[0]) for v in hist["training_speed"].iloc[1:]]
        row = {"bench": "scaling", "workers": cores, "target": a.target, "reached": bool(len(ok)),
               "samples_per_s": statistics.median(speed) if speed else None}
        if len(ok):
            i = ok.index[0]
            row.update(epochs=float(hist.loc[i, "epochs"]),
                       wall_s=float(str(hist.loc[i, "duration"]).split()[0]),
                       train_s=float(hist.loc[i, "samples"]) / float(str(hist.loc[i, "training_speed"]).split()[0]))
        print(json.dumps(row), flush=True)
        print(f"| {cores} | {row.get('train_s', float('nan')):.1f} | {row.get('wall_s', float('nan')):.1f} | "
              f"{row.get('epochs', float('nan')):.2f} | {row['samples_per_s'] or float('nan'):,.0f} |", flush=True)


def run_converge(a):
    import dask
    from daskdl.datasets import mnist
    from distributed import Client, LocalCluster

    x = [f"C{i + 1}" for i in range(784)]
    rows = []
    for spec in a.configs.split(","):
        n_workers, threads = (int(v) for v in spec.lower().split("x"))
        mem = {} if a.worker_memory is None else {"memory_limit": a.worker_memory}
        # many worker processes on few cores: generous comm timeouts, so that a loaded machine
        # slows the run down instead of dropping the client's or a worker's connection
        with dask.config.set({"distributed.comm.timeouts.connect": "300s",
                              "distributed.comm.timeouts.tcp": "600s"}), \
                LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                          dashboard_address=":0", **mem) as cl, Client(cl) as client:
            client.run(lambda: __import__("daskdl._client", fromlist=["warm_up"]).warm_up())
            train = mnist("train", npartitions=max(8, n_workers)).persist()
            test = mnist("test", npartitions=2).persist()
            extra = {"model_averaging": a.averaging} if a.averaging else {}
            if a.elastic:
                extra["elastic_averaging"] = True
            m = booklet_model(epochs=a.epochs, score_interval=0, score_duty_cycle=1.0, stopping_rounds=0,
                              score_training_samples=1000, train_samples_per_iteration=a.tspi, **extra)
            t0 = time.time()
            m.train(x=x, y="C785", training_frame=train, validation_frame=test, out_of_core=a.out_of_core or None)
            wall = time.time() - t0
        h = m.scoring_history()
        ep = h["epochs"].to_numpy(float)
        err = h["validation_classification_error"].to_numpy(float)
        dur = np.array([float(str(d).split()[0]) for d in h["duration"]])
        samples = h["samples"].to_numpy(float)
        by_epoch = {}
        for e in range(1, int(a.epochs) + 1):
            i = int(np.searchsorted(ep, e - 1e-9))
            if i < len(ep):
                by_epoch[e] = round(100 * float(err[i]), 2)

        def first(target):
            ok = np.nonzero(err <= target)[0]
            return (round(float(ep[ok[0]]), 2), round(float(dur[ok[0]]), 1)) if len(ok) else (None, None)

        its = h["iterations"].to_numpy(int)
        row = {"bench": "converge", "workers": n_workers, "threads": threads, "tspi": a.tspi,
               "averaging": a.averaging or "default", "elastic": a.elastic, "out_of_core": a.out_of_core, "epochs": round(float(ep[-1]), 2), "iterations": int(its[-1]),
               "rows_per_iteration": int(round(float(samples[-1]) / max(1, int(its[-1])))),
               "error_by_epoch_pct": by_epoch, "epochs_to_4pct": first(0.04)[0],
               "seconds_to_4pct": first(0.04)[1], "epochs_to_3.5pct": first(0.035)[0],
               "final_error_pct": round(100 * float(err[-1]), 2), "train_s": round(wall, 1),
               "samples_per_s": h["training_speed"].iloc[-1]}
        print(json.dumps(row), flush=True)
        rows.append(row)
    cols = sorted({e for r in rows for e in r["error_by_epoch_pct"]})
    print("\n| workers x threads | rows/iteration | " + " | ".join(f"ep {e}" for e in cols) +
          " | epochs to 4 % | epochs to 3.5 % |")
    print("|---|---|" + "---|" * len(cols) + "---|---|")
    for r in rows:
        print(f"| {r['workers']} x {r['threads']} | {r['rows_per_iteration']:,} | " +
              " | ".join(f"{r['error_by_epoch_pct'].get(e, float('nan')):.2f}" for e in cols) +
              f" | {r['epochs_to_4pct']} | {r['epochs_to_3.5pct']} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["workers", "flights", "outofcore", "scaling", "converge"])
    ap.add_argument("--configs", default="1x1,2x1,4x1,8x1,16x1,32x1,1x16",
                    help="converge: WORKERSxTHREADS LocalClusters, comma separated")
    ap.add_argument("--tspi", type=int, default=-2, help="converge: train_samples_per_iteration")
    ap.add_argument("--averaging", default=None, help="converge: model_averaging (default: the estimator's)")
    ap.add_argument("--elastic", action="store_true", help="converge: elastic_averaging=True")
    ap.add_argument("--out-of-core", action="store_true", help="converge: train in local-only mode")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--worker-memory", default=None,
                    help="converge: memory_limit per worker (default: LocalCluster's share of the machine's "
                         "memory; 32 workers on a 23 GiB machine get 0.72 GiB each, below a replicated "
                         "MNIST worker's footprint, and Dask pauses them)")
    ap.add_argument("--mini-batch-size", type=int, default=1)
    ap.add_argument("--cores", default="1,2,4,8,16")
    ap.add_argument("--target", type=float, default=0.04)
    ap.add_argument("--max-epochs", type=float, default=20.0)
    ap.add_argument("--oversubscribe", action="store_true", help="scaling: run worker counts above the core count")
    ap.add_argument("--no-replicate", action="store_true",
                    help="workers: replicate_training_data=False (each worker trains on its own rows only)")
    a = ap.parse_args()
    {"workers": run_workers, "flights": run_flights, "outofcore": run_outofcore, "scaling": run_scaling,
     "converge": run_converge}[a.what](a)


if __name__ == "__main__":
    sys.exit(main())
