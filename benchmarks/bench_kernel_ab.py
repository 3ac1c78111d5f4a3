"""Paired A/B of the per-row training kernels of two source trees, in one process.

    python benchmarks/bench_kernel_ab.py OLD_TREE [NEW_TREE] [--pairs 12] [--mode serial|copies]
                                         [--n 20000]

``OLD_TREE`` and ``NEW_TREE`` (default: this checkout) are daskdl checkouts, for example a
``git worktree add /tmp/old <commit>`` of an earlier commit. The ``daskdl/kernels`` package of
each is copied under its own name into a temporary folder and imported side by side (the kernels
import nothing else from daskdl), so both run in one process, on the same encoded rows (the first
``--n`` real MNIST training rows, standardized as ``bench_kernels.py --data mnist`` does) and
the same freshly initialized booklet net (784-200-200-200-10 RectifierWithDropout, input dropout
0.2, l1 1e-5, ADADELTA, fast_mode). Each pair trains one epoch with each tree, in alternating
order; the ratio of a pair (old time / new time) sees the same machine load on both sides, which
makes differences of a few percent measurable on a shared machine where separate runs vary by
10 %. Prints whether the two trees' weights agree after 3,000 rows, the median speed of each
tree and the median and per-pair ratios. ``--mode copies``: the default 2-thread mode (private
copies merged every 1,024 rows per thread).

Set ``NUMBA_CPU_NAME`` for a target (e.g. ``haswell``) and ``NUMBA_CACHE_DIR`` to keep the
compiled kernels between invocations.
"""
from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new", nargs="?", default=str(HERE.parent))
    ap.add_argument("--pairs", type=int, default=12)
    ap.add_argument("--mode", choices=["serial", "copies"], default="serial")
    ap.add_argument("--n", type=int, default=20000)
    a = ap.parse_args(argv)

    # a fixed folder (copies keep their files' times): a later run on unchanged trees loads the
    # kernels compiled by an earlier one from Numba's cache instead of compiling them again
    tmp = Path(tempfile.gettempdir()) / "daskdl-kernel-ab"
    names = {"old": "kernels_old", "new": "kernels_new"}
    for side, tree in (("old", a.old), ("new", a.new)):
        shutil.copytree(Path(tree) / "daskdl" / "kernels", tmp / names[side], dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(tmp))
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    import bench_kernels as bk

    X, y = bk.mnist_rows(a.n)
    d = bk.Daskdl(X, y)
    lay, cfg, b = d.cfg.layout, d.cfg, d.block
    mods = {side: importlib.import_module(f"{name}.rowsgd") for side, name in names.items()}
    order = np.random.default_rng(100).permutation(a.n).astype(np.int64)

    def run(side, o):
        arrs = d.net.copy().arrays()
        args = (o, b.xnum, b.xcat, b.y, b.offset, lay.units, lay.woff, lay.boff, lay.aoff, cfg.hdrop, *arrs,
                cfg.hp, cfg.ip, cfg.seed, 1)
        t0 = time.perf_counter()
        if a.mode == "serial":
            mods[side].train_serial(*args)
        else:
            mods[side].train_copies(*args, 2, 1024)
        return time.perf_counter() - t0, arrs

    for side in mods:  # compile (or load from the cache)
        run(side, order[:8192])
    _, wo = run("old", order[:3000])
    _, wn = run("new", order[:3000])
    same = all(np.array_equal(p, q) for p, q in zip(wo, wn))
    print(f"after 3,000 rows: {'identical arrays' if same else 'arrays differ'}, "
          f"max |W old - W new| {float(np.abs(wo[0] - wn[0]).max()):.3g}")
    ratios, speed = [], {"old": [], "new": []}
    for p in range(a.pairs):
        t = {}
        for side in (("old", "new") if p % 2 == 0 else ("new", "old")):
            t[side] = run(side, order)[0]
            speed[side].append(a.n / t[side])
        ratios.append(t["old"] / t["new"])
    print(f"{a.mode}: old {np.median(speed['old']):,.0f} rows/s, new {np.median(speed['new']):,.0f} rows/s, "
          f"new/old {np.median(ratios):.3f} (pairs: {', '.join(f'{r:.3f}' for r in ratios)})")


if __name__ == "__main__":
    main()
