"""Per-core speed of daskdl's kernels beside the reference kernel of ../shared/calibration.

    python benchmarks/bench_kernels.py [--targets native,haswell,generic] [--runs 3] [--n 60000]
                                       [--modes serial,copies_t2,hogwild_t2,mb1,mb24,mb256,predict]
                                       [--data synthetic|mnist]

For each Numba target (``native``: the CPU this runs on; otherwise the value of
``NUMBA_CPU_NAME``, e.g. ``haswell`` = AVX2 code on any x86 machine, ``generic`` = baseline
x86-64) one fresh process, with an empty Numba cache of its own, compiles both sides for that
target and runs them **paired and interleaved**: in every repeat, each mode runs the reference
and then daskdl on the same data, so that a load change on the machine hits both sides of a
ratio alike. Ratios are medians of the per-repeat ratios; speeds are medians of the repeats.

- reference (``numba_proto`` of the calibration folder, imported as is): one epoch of its serial
  kernel (``serial``) and of two private copies on two threads merged every 3,000 rows per
  thread (``private_t2_sync3000``), as ``bench_numba.py tput --configs h2o`` runs them;
- daskdl on the same rows (the reference's MNIST-shaped synthetic data, standardized per column
  as H2O does; ``--data mnist``: the real MNIST training rows, standardized the same way, for both
  sides) and the same net (booklet: 784-200-200-200-10 RectifierWithDropout, input dropout
  0.2, hidden 0.5, l1 1e-5, ADADELTA, fast_mode), through ``daskdl.train.task.run_kernel``:
  ``serial`` (one thread, ``reproducible=True``), ``copies_t2`` (the default 2-thread mode:
  private copies combined by block momentum), ``hogwild_t2`` (shared weights, 2 threads);
  ``mbM``: the mini-batch kernel with batch size M on one thread; ``predict``: the batched
  forward pass (``daskdl.model.network.forward``) over 10,000 rows on one thread.

Every training run is one epoch from the same freshly initialized model (as the reference does:
later epochs run faster as fast_mode skips more). The first call of each side and mode compiles
it (the cache starts empty); its time is reported separately (``first call``), with the
reference's (daskdl's 2-thread mode: on 8,192 rows, the shortest pass it trains as private copies;
the other modes on 64 rows). Prints one JSON line per target, then the markdown table of RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CALIBRATION = HERE.parent.parent / "shared" / "calibration"
MODES = ("serial", "copies_t2", "hogwild_t2", "mb1", "mb24", "mb256", "predict")
REFERENCE_OF = {"serial": "serial", "copies_t2": "private_t2_sync3000"}
PREDICT_ROWS = 10_000


def _med(xs):
    return statistics.median(xs) if xs else float("nan")


class Reference:
    """The calibration kernel's two variants, run as its bench_numba.py runs them."""

    STATE_KEYS = ("W", "B", "Eg", "Ed", "bEg", "bEd")

    def __init__(self, X, y):
        sys.path.insert(0, str(CALIBRATION))
        import numba_proto  # noqa: E402  (measurement only, not library code)
        from common import LAYERS

        self.P, self.layers, self.X, self.y = numba_proto, LAYERS, X, y.astype("int64")

    def _cargs(self, st):
        return (st["sizes"], st["woff"], st["boff"], st["aoff"], st["W"], st["B"], st["Eg"], st["Ed"], st["bEg"],
                st["bEd"])

    @staticmethod
    def _hargs(seed):
        import numpy as np

        return (np.float32(0.2), np.float32(0.5), np.float32(0.99), np.float32(1e-8), np.float32(1e-5), True, True,
                np.float32(0.0), seed)

    def run(self, variant, order, seed):
        """One epoch over ``order`` from a fresh model; returns seconds."""
        import numpy as np
        from concurrent.futures import ThreadPoolExecutor

        P = self.P
        st = P.make_model(self.layers, seed=seed)
        if variant == "serial":
            t0 = time.perf_counter()
            P.epoch_serial(self.X, self.y, order, *self._cargs(st), *self._hargs(seed * 1000 + 1))
            return time.perf_counter() - t0
        sync = 3000
        copies = [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in st.items()} for _ in range(2)]
        half = (len(order) + 1) // 2
        parts = [order[:half], order[half:]]
        sd = seed * 1000 + 1
        with ThreadPoolExecutor(2) as pool:
            t0 = time.perf_counter()
            pos, rnd = 0, 0
            while pos < half:
                rnd += 1
                futs = [pool.submit(P.epoch_serial, self.X, self.y, parts[t][pos:pos + sync], *self._cargs(copies[t]),
                                    *self._hargs(sd * 7919 + rnd * 2 + t)) for t in range(2)]
                for f in futs:
                    f.result()
                for k in self.STATE_KEYS:
                    a, b = copies[0][k], copies[1][k]
                    a += b
                    a *= np.float32(0.5)
                    b[:] = a
                pos += sync
            dt = time.perf_counter() - t0
        return dt


class Daskdl:
    """daskdl's kernels on the booklet net, through the library's own entry points."""

    def __init__(self, X, y):
        import types

        import numpy as np

        from daskdl.frame.encode import Block
        from daskdl.model.network import Network
        from daskdl.params import default_parameters, validate
        from daskdl.train.driver import kernel_config, make_layout

        n = len(y)
        self.block = Block(X, np.zeros((n, 0), np.int32), y.astype(np.float32), np.ones(n, np.float32),
                           np.zeros(n, np.float32), np.arange(n, dtype=np.int64))
        params = dict(default_parameters(), activation="rectifier_with_dropout", hidden=[200, 200, 200],
                      input_dropout_ratio=0.2, l1=1e-5, seed=1)
        res = validate(params, response_kind="categorical", n_classes=10)
        schema = types.SimpleNamespace(n_in=784, num_offset=0)
        layout = make_layout(res, schema)
        self.cfg = kernel_config(res, schema, layout)
        self.net = Network(layout)
        self.net.initialize("uniform_adaptive", 1.0, 1, True)

    def _cfg(self, **kw):
        return type(self.cfg)(**{**self.cfg.__dict__, **kw})

    def run(self, mode, order, seed):
        """One epoch over ``order`` (or, for ``predict``, one scoring call); returns seconds."""
        import numba

        from daskdl.model.network import forward
        from daskdl.train.task import run_kernel

        if mode == "predict":
            xs = self.block.xnum[:PREDICT_ROWS]
            t0 = time.perf_counter()
            forward(self.net, xs, self.block.xcat[:PREDICT_ROWS], 0, self.cfg.hdrop, threads=1)
            return time.perf_counter() - t0
        fresh = self.net.copy()
        if mode.startswith("mb"):
            cfg, threads = self._cfg(mini_batch_size=int(mode[2:])), 1
        else:
            threads = 1 if mode == "serial" else 2
            cfg = self._cfg(sync_rows=0 if mode == "hogwild_t2" else -1)
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        t0 = time.perf_counter()
        if mode == "mb1":  # run_kernel sends batch size 1 to the per-row kernels: call the mini-batch one
            from daskdl.kernels import minibatch

            lay = cfg.layout
            minibatch.train_minibatch(order, self.block.xnum, self.block.xcat, self.block.y, self.block.offset,
                                      lay.units, lay.woff, lay.boff, lay.aoff, cfg.hdrop, *fresh.arrays(), cfg.hp,
                                      cfg.ip, cfg.seed, seed, 1, 1)
        else:
            run_kernel(fresh, self.block, order, cfg, 0.0, seed, threads)
        return time.perf_counter() - t0


def synthetic(n: int):
    """The reference's data (calibration/common.synthetic_mnist), standardized per column as H2O does."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.random((n, 784), dtype=np.float32)
    X *= rng.random((n, 784), dtype=np.float32) < 0.19
    y = rng.integers(0, 10, n).astype(np.int64)
    return standardized(X), y


def standardized(X):
    """``X`` standardized per column as H2O does (constant columns 0), float32, C-contiguous."""
    import numpy as np

    mu, sd = X.mean(0), X.std(0)
    const = sd == 0
    sd[const] = 1
    Xs = np.ascontiguousarray(((X - mu) / sd).astype(np.float32))
    Xs[:, const] = 0
    return Xs


def mnist_rows(n: int):
    """The first ``n`` MNIST training rows (daskdl's bundled copy), standardized per column as H2O
    does (constant columns 0)."""
    import numpy as np

    from daskdl.datasets import _load

    X, y = _load("train")
    X, y = X[:n].astype(np.float32), y[:n].astype(np.int64)
    return standardized(X), y


def run_worker(a):
    """One target, in this process: prints one JSON line."""
    import numba
    import numpy as np

    X, y = mnist_rows(a.n) if a.data == "mnist" else synthetic(a.n)
    n = len(y)
    modes = a.modes.split(",")
    ref, mine = Reference(X, y), Daskdl(X, y)
    first = {}
    for mode in modes:  # first calls: compilation into the (empty) cache
        if mode in REFERENCE_OF and ("ref", mode) not in first:
            t0 = time.perf_counter()
            ref.run(REFERENCE_OF[mode], np.arange(64, dtype=np.int64), 0)
            first["ref", mode] = time.perf_counter() - t0
        t0 = time.perf_counter()
        # the 2-thread mode trains private copies only on passes long enough for several rounds
        mine.run(mode, np.arange(8192 if mode == "copies_t2" else 64, dtype=np.int64), 0)
        first["daskdl", mode] = time.perf_counter() - t0
    speeds = {m: [] for m in modes}
    rspeeds = {m: [] for m in modes if m in REFERENCE_OF}
    ratios = {m: [] for m in rspeeds}
    for r in range(a.runs):
        order = np.random.default_rng(100 + r).permutation(n).astype(np.int64)
        for mode in modes:
            if mode in REFERENCE_OF:
                rs = n / ref.run(REFERENCE_OF[mode], order, r + 1)
                rspeeds[mode].append(rs)
            if mode == "predict":
                ds = PREDICT_ROWS / min(mine.run(mode, order, r + 1) for _ in range(5))
            else:
                ds = n / mine.run(mode, order, r + 1)
            speeds[mode].append(ds)
            if mode in REFERENCE_OF:
                ratios[mode].append(ds / rs)
            print(f"  run {r + 1} {mode}: daskdl {ds:,.0f}" + (f" reference {rs:,.0f} ratio {ds / rs:.2f}"
                                                               if mode in REFERENCE_OF else ""),
                  file=sys.stderr, flush=True)
    rec = {"target": a.target, "cpu": numba.config.CPU_NAME or "native", "n": n, "data": a.data, "runs": a.runs,
           "daskdl": {m: {"per_s": round(_med(v)), "runs": [round(s) for s in v],
                          "first_call_s": round(first["daskdl", m], 2)} for m, v in speeds.items()},
           "reference": {m: {"per_s": round(_med(v)), "runs": [round(s) for s in v],
                             "first_call_s": round(first["ref", m], 2)} for m, v in rspeeds.items()},
           "ratio": {m: round(_med(v), 3) for m, v in ratios.items()},
           "ratio_runs": {m: [round(x, 3) for x in v] for m, v in ratios.items()}}
    print(json.dumps(rec), flush=True)


def table(recs, modes):
    def cell(d, m, key="per_s"):
        v = d.get(m, {}).get(key)
        return "" if v is None else f"{v:,.0f}" if key == "per_s" else f"{v:.1f}"

    def ratio(r, m):
        v = r["ratio"].get(m)
        return "" if v is None else f"{v:.2f}"

    lines = ["| target | reference serial | daskdl serial | ratio | reference private_t2 | daskdl 2 threads (copies) "
             "| ratio | daskdl HOGWILD! t2 | mini-batch 1 | mini-batch 24 | mini-batch 256 | predict (rows/s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        d, ref = r["daskdl"], r["reference"]
        lines.append(f"| {r['target']} | {cell(ref, 'serial')} | {cell(d, 'serial')} | {ratio(r, 'serial')} | "
                     f"{cell(ref, 'copies_t2')} | {cell(d, 'copies_t2')} | {ratio(r, 'copies_t2')} | "
                     f"{cell(d, 'hogwild_t2')} | {cell(d, 'mb1')} | {cell(d, 'mb24')} | {cell(d, 'mb256')} | "
                     f"{cell(d, 'predict')} |")
    lines += ["", "First call (compilation into an empty cache, seconds):", "",
              "| target | reference serial | reference private_t2 | " + " | ".join(f"daskdl {m}" for m in modes) + " |",
              "|---|---:|---:|" + "---:|" * len(modes)]
    for r in recs:
        d, ref = r["daskdl"], r["reference"]
        lines.append(f"| {r['target']} | {cell(ref, 'serial', 'first_call_s')} | "
                     f"{cell(ref, 'copies_t2', 'first_call_s')} | "
                     + " | ".join(cell(d, m, "first_call_s") for m in modes) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="native,haswell,generic")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--data", default="synthetic", choices=["synthetic", "mnist"],
                    help="the reference's synthetic MNIST-shaped rows, or the real MNIST training rows")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--keep-cache", action="store_true",
                    help="use the usual Numba cache instead of an empty one (first calls then load it)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--target", default="native", help=argparse.SUPPRESS)
    a = ap.parse_args()
    bad = set(a.modes.split(",")) - set(MODES)
    if bad:
        ap.error(f"--modes: unknown {sorted(bad)}; allowed: {','.join(MODES)}")
    if a.worker:
        return run_worker(a)
    recs = []
    for target in a.targets.split(","):
        env = dict(os.environ)
        env.pop("NUMBA_CPU_NAME", None)
        if target != "native":
            env["NUMBA_CPU_NAME"] = target
        env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
        with tempfile.TemporaryDirectory(prefix="bench-kernels-cache-") as cache:
            if not a.keep_cache:
                env["NUMBA_CACHE_DIR"] = cache
            out = subprocess.run([sys.executable, __file__, "--worker", "--target", target, "--runs", str(a.runs),
                                  "--n", str(a.n), "--data", a.data, "--modes", a.modes], env=env, stdout=subprocess.PIPE, text=True,
                                 check=True).stdout
        rec = [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]
        print(json.dumps(rec), flush=True)
        recs.append(rec)
    print()
    print(table(recs, a.modes.split(",")))


if __name__ == "__main__":
    sys.exit(main())
