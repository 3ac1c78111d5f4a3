"""Per-core speed of daskdl's per-row kernels beside the reference kernel of ../shared/calibration.

    python benchmarks/bench_kernels.py [--targets native,haswell,generic] [--runs 3] [--n 60000]

For each Numba target (``native``: the CPU this runs on; otherwise the value of
``NUMBA_CPU_NAME``, e.g. ``haswell`` = AVX2 code on any x86 machine) both sides run in fresh
processes compiled for that target:

- the reference: ``bench_numba.py tput --runs R --data synthetic --configs h2o --variants
  serial,private_t2_sync3000 --epochs 1`` (one thread; two private copies merged every 3,000 rows);
- daskdl on the same data (MNIST-shaped synthetic rows, standardized per column as H2O does) and the
  same net (booklet: 784-200-200-200-10 RectifierWithDropout, input dropout 0.2, hidden 0.5,
  l1 1e-5, ADADELTA, fast_mode): one epoch of the serial kernel (``reproducible=True``), of the
  default 2-thread mode (private copies combined by block momentum) and of shared-weight HOGWILD!
  on 2 threads.

Samples/s are medians of --runs epochs, each from the same freshly initialized model (as the
reference does: later epochs run faster as fast_mode skips more), after a first, compiling call
whose time is reported separately. Prints JSON lines and a markdown table with the ratios daskdl / reference.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CALIBRATION = HERE.parent.parent / "shared" / "calibration" / "bench_numba.py"


def synthetic(n: int):
    """The reference's data: MNIST-shaped, ~19 % non-zero, 10 random labels, standardized per column."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((n, 784), dtype=np.float32)
    X *= rng.random((n, 784), dtype=np.float32) < 0.19
    y = rng.integers(0, 10, n).astype(np.float32)
    mu, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1
    return np.ascontiguousarray(((X - mu) / sd).astype(np.float32)), y


def run_daskdl(a):
    """One target, in this process: prints one JSON line per mode."""
    import types

    import numba
    import numpy as np

    from daskdl.frame.encode import Block
    from daskdl.model.network import Network
    from daskdl.params import default_parameters, validate
    from daskdl.train.driver import kernel_config, make_layout
    from daskdl.train.task import run_kernel

    xnum, y = synthetic(a.n)
    n = len(y)
    block = Block(xnum, np.zeros((n, 0), np.int32), y, np.ones(n, np.float32), np.zeros(n, np.float32),
                  np.arange(n, dtype=np.int64))
    params = dict(default_parameters(), activation="rectifier_with_dropout", hidden=[200, 200, 200],
                  input_dropout_ratio=0.2, l1=1e-5, seed=1)
    res = validate(params, response_kind="categorical", n_classes=10)
    schema = types.SimpleNamespace(n_in=784, num_offset=0)
    layout = make_layout(res, schema)
    order = np.arange(n, dtype=np.int64)
    for mode, threads, sync in (("serial", 1, -1), ("copies_t2", 2, -1), ("hogwild_t2", 2, 0)):
        cfg = kernel_config(res, schema, layout)
        cfg = type(cfg)(**{**cfg.__dict__, "sync_rows": sync})
        net = Network(layout)
        net.initialize("uniform_adaptive", 1.0, 1, True)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        t0 = time.perf_counter()
        run_kernel(net.copy(), block, order[:64], cfg, 0.0, 0, threads)  # compiles (or loads the cache)
        first = time.perf_counter() - t0
        speeds = []
        for r in range(a.runs):  # each run one epoch from the same fresh model, as the reference
            fresh = net.copy()
            t0 = time.perf_counter()
            run_kernel(fresh, block, order, cfg, 0.0, r + 1, threads)
            speeds.append(n / (time.perf_counter() - t0))
        print(json.dumps({"side": "daskdl", "mode": mode, "threads": threads, "first_call_s": round(first, 2),
                          "samples_per_s": round(statistics.median(speeds)), "runs": [round(s) for s in speeds],
                          "finite": bool(np.isfinite(fresh.W).all())}), flush=True)


def run_reference(a, env):
    out = subprocess.run([sys.executable, str(CALIBRATION), "tput", "--runs", str(a.runs), "--data", "synthetic",
                          "--configs", "h2o", "--variants", "serial,private_t2_sync3000", "--epochs", "1",
                          "--n", str(a.n)], env=env, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s*h2o (serial|private_t2_sync3000)\b.*?([\d,.]+)\s*(?:samples/s|sps)", line)
        if m:
            rows[m.group(1)] = float(m.group(2).replace(",", ""))
    if len(rows) < 2:  # print the reference's own output if its format changed
        print(out, file=sys.stderr)
    return rows, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="native,haswell")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return run_daskdl(a)
    table = []
    for target in a.targets.split(","):
        env = dict(os.environ)
        env.pop("NUMBA_CPU_NAME", None)
        if target != "native":
            env["NUMBA_CPU_NAME"] = target
        env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
        ref, _ = run_reference(a, env)
        mine = subprocess.run([sys.executable, __file__, "--worker", "--runs", str(a.runs), "--n", str(a.n)],
                              env=env, capture_output=True, text=True, check=True).stdout
        rows = {r["mode"]: r for r in map(json.loads, (l for l in mine.splitlines() if l.startswith("{")))}
        rec = {"target": target, "reference": ref, "daskdl": rows}
        print(json.dumps(rec), flush=True)
        table.append(rec)
    print("\n| target | reference serial | daskdl serial | ratio | reference private_t2 | daskdl 2 threads (copies) "
          "| ratio | daskdl HOGWILD! t2 | daskdl first call (s, serial) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        ref, d = r["reference"], r["daskdl"]
        rs, rp = ref.get("serial", float("nan")), ref.get("private_t2_sync3000", float("nan"))
        ds, dc, dh = (d[m]["samples_per_s"] for m in ("serial", "copies_t2", "hogwild_t2"))
        print(f"| {r['target']} | {rs:,.0f} | {ds:,.0f} | {ds / rs:.2f} | {rp:,.0f} | {dc:,.0f} | {dc / rp:.2f} | "
              f"{dh:,.0f} | {d['serial']['first_call_s']:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
