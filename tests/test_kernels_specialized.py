"""Specialized kernels (one per configuration, the configuration a compile-time constant) against
the generic ones (the configuration a run-time argument) that the rest of the suite runs."""
import dask
import numpy as np
import pytest

from daskdl.kernels import codes, common, minibatch, rowsgd
from daskdl.model.network import Layout, Network


def _case(act, n=96, p=10, k=3, n_cat=0, seed=0, **opts):
    """Rows, layout and the (hp, ip) of one configuration; ``opts`` sets hp/ip entries by name."""
    rng = np.random.default_rng(seed)
    xnum = rng.standard_normal((n, p)).astype(np.float32)
    numoff = 4 * n_cat
    xcat = (rng.integers(0, 4, (n, n_cat)) + 4 * np.arange(n_cat)).astype(np.int32)
    if n_cat:
        xcat[::5, 0] = -1  # a missing level
    y = rng.integers(0, k, n).astype(np.float32)
    offs = np.zeros(n, np.float32)
    lay = Layout(np.array([numoff + p, 8, 6, k]), act, codes.SOFTMAX, False)
    hp = np.zeros(codes.HP_SIZE)
    hp[codes.HP_RHO], hp[codes.HP_EPS], hp[codes.HP_MAX_W2] = 0.99, 1e-8, 3.4e38
    hp[codes.HP_RATE], hp[codes.HP_RATE_DECAY] = 0.01, 1.0
    ip = np.zeros(codes.IP_SIZE, np.int64)
    ip[codes.IP_ACT], ip[codes.IP_DIST], ip[codes.IP_NUM_OFFSET] = act, codes.SOFTMAX, numoff
    hdrop = np.zeros(2, np.float32)
    for name, v in opts.items():
        if name == "hdrop":
            hdrop[:] = v
        elif name.startswith("HP_"):
            hp[getattr(codes, name)] = v
        else:
            ip[getattr(codes, name)] = v
    net = Network(lay, momentum=bool(ip[codes.IP_MOMENTUM]))
    net.initialize("uniform_adaptive", 1.0, 3, True)
    return (xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop), net, hp, ip


CASES = {
    # the booklet's configuration: ReLU with dropout, input dropout, l1, ADADELTA, fast_mode
    "rectifier_dropout_l1_adadelta_fast": (codes.RECTIFIER, dict(
        IP_ADAPTIVE=1, IP_FAST_MODE=1, IP_DROPOUT=1, hdrop=0.5, HP_INPUT_DROPOUT=0.2, HP_L1=1e-5)),
    # manual rate with Nesterov momentum, l2, max_w2, one-hot inputs, every weight updated
    "tanh_nesterov_l2_maxw2_categorical": (codes.TANH, dict(
        IP_MOMENTUM=1, IP_NESTEROV=1, HP_MOM_START=0.5, HP_MOM_STABLE=0.9, HP_MOM_RAMP=50, HP_L2=1e-3,
        IP_HAS_MAXW2=1, HP_MAX_W2=0.5, n_cat=2)),
    # maxout, one-hot inputs under fast_mode (the sparse list update), l1 + l2
    "maxout_categorical_fast_l1_l2": (codes.MAXOUT, dict(
        IP_ADAPTIVE=1, IP_FAST_MODE=1, HP_L1=1e-4, HP_L2=1e-4, n_cat=2)),
}


def _run(monkeypatch, mode, fn, case, *extra):
    monkeypatch.setitem(dask.config.config, "daskdl", {"kernels": mode})
    act, opts = CASES[case]
    opts = dict(opts)
    n_cat = opts.pop("n_cat", 0)
    data, net, hp, ip = _case(act, n_cat=n_cat, **opts)
    w0 = net.W.copy()
    loss = fn(np.arange(len(data[0]), dtype=np.int64), *data, *net.arrays(), hp, ip, 7, 1, *extra)
    assert np.abs(net.W - w0).max() > 1e-4  # it trained
    return loss, net


def _same(a, b):
    la, na = a
    lb, nb = b
    assert np.isfinite(la) and abs(la - lb) <= 1e-5 * max(1.0, abs(lb)), (la, lb)
    for name in ("W", "B", "Aw", "Bw", "Ab", "Bb", "Vw", "Vb"):
        x, y = getattr(na, name), getattr(nb, name)
        assert np.allclose(x, y, rtol=1e-4, atol=1e-6), (name, float(np.abs(x - y).max()))


# each case compiles a kernel of its own (about a minute on 2 cores): the booklet's configuration
# runs by default, the others with -m slow (CI runs them too)
@pytest.mark.parametrize("case", [c if c == "rectifier_dropout_l1_adadelta_fast" else
                                  pytest.param(c, marks=pytest.mark.slow) for c in CASES])
def test_serial_specialized_matches_generic(monkeypatch, case):
    _same(_run(monkeypatch, "specialized", rowsgd.train_serial, case),
          _run(monkeypatch, "generic", rowsgd.train_serial, case))


def test_copies_and_minibatch_specialized_match_generic(monkeypatch):
    case = "rectifier_dropout_l1_adadelta_fast"
    _same(_run(monkeypatch, "specialized", rowsgd.train_copies, case, 2, 16),
          _run(monkeypatch, "generic", rowsgd.train_copies, case, 2, 16))
    _same(_run(monkeypatch, "specialized", minibatch.train_minibatch, case, 8, 1),
          _run(monkeypatch, "generic", minibatch.train_minibatch, case, 8, 1))


def test_spec_and_kernel_cache(monkeypatch):
    monkeypatch.setitem(dask.config.config, "daskdl", {"kernels": "specialized"})
    act, opts = CASES["rectifier_dropout_l1_adadelta_fast"]
    data, net, hp, ip = _case(act, **opts)
    S = common.spec(ip, hp, data[-1], 0)
    assert (S.act, S.adaptive, S.fast, S.hdrop, S.in_drop, S.l1, S.l2, S.cat, S.momentum) == (
        codes.RECTIFIER, 1, 1, 1, 1, 1, 0, 0, 0)
    ip2 = ip.copy()
    ip2[codes.IP_NESTEROV] = 1  # no effect under ADADELTA: the same kernels
    assert common.spec(ip2, hp, data[-1], 0) == S
    assert rowsgd.kernels(S) is rowsgd.kernels(common.spec(ip2, hp, data[-1], 0))
    hp2 = hp.copy()
    hp2[codes.HP_L1] = 0.0
    assert common.spec(ip, hp2, data[-1], 0).l1 == 0


def test_kernel_mode_is_checked(monkeypatch):
    with pytest.raises(ValueError, match="daskdl.kernels must be one of specialized, generic; got 'fast'"):
        _run(monkeypatch, "fast", rowsgd.train_serial, "rectifier_dropout_l1_adadelta_fast")


def test_first_compile_once_per_machine(tmp_path):
    """While one process compiles a kernel (holding the machine-wide lock of its signature), another
    process that needs the same kernel waits, then loads it from the on-disk cache instead of
    compiling it a second time (16 workers of one machine starting to train compile it once)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import numba

    mod = tmp_path / "once_mod.py"
    mod.write_text("from numba import njit\n"
                   "from daskdl.kernels.common import OncePerMachine\n\n"
                   "@njit(cache=True)\n"
                   "def f(x):\n"
                   "    return x * 2 + 1\n\n"
                   "F = OncePerMachine(f, 'test-once')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parents[1])]))
    code = ("import once_mod\n"
            "print(once_mod.F(20), sum(once_mod.f.stats.cache_hits.values()), "
            "sum(once_mod.f.stats.cache_misses.values()))\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import once_mod

        with common._machine_lock(f"test-once:{(numba.typeof(20),)}"):
            other = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
            time.sleep(3.0)
            assert other.poll() is None, "the other process did not wait for the lock"
            once_mod.f.compile((numba.typeof(20),))  # this process compiles and writes the cache
            assert sum(once_mod.f.stats.cache_misses.values()) == 1
        out, _ = other.communicate(timeout=120)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("once_mod", None)
    value, hits, misses = out.split()
    assert (int(value), int(hits), int(misses)) == (41, 1, 0)  # loaded from the cache, not compiled


def test_a_cached_kernel_loads_without_the_machine_lock(tmp_path):
    """Processes that find a kernel in the cache load it side by side: a process whose kernel is
    cached loads it while another process holds that kernel's lock (it would wait otherwise)."""
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    import numba

    src = tmp_path / "cached_mod.py"
    src.write_text(textwrap.dedent('''
        from numba import njit
        from daskdl.kernels.common import OncePerMachine

        @njit(cache=True)
        def f(x):
            return x * 3 + 1

        F = OncePerMachine(f, "daskdl-test-cached-lock")
    '''))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parents[1])]),
           "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    run = ("import cached_mod; print(cached_mod.F(2), sum(cached_mod.f.stats.cache_hits.values()), "
           "sum(cached_mod.f.stats.cache_misses.values()))")
    first = subprocess.run([sys.executable, "-c", run], env=env, capture_output=True, text=True, timeout=120)
    assert first.stdout.split() == ["7", "0", "1"], first.stderr  # compiled and cached
    with common._machine_lock(f"daskdl-test-cached-lock:{(numba.typeof(2),)}"):  # held all the second run
        second = subprocess.run([sys.executable, "-c", run], env=env, capture_output=True, text=True, timeout=60)
    assert second.stdout.split() == ["7", "1", "0"], second.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", ["rectifier_dropout_l1_adadelta_fast", "tanh_nesterov_l2_maxw2_categorical"])
def test_row_kernel_updates_store_without_masked_stores(tmp_path, case):
    """The per-row kernel's weight updates compile to plain vector stores on AVX2: no masked store
    (vmaskmovps, microcoded and several times slower than a store on AMD CPUs). Compiled afresh
    for ``NUMBA_CPU_NAME=haswell`` (AVX2 code on any x86-64 machine) in a process of its own,
    since Numba shows no assembly for a kernel loaded from its cache."""
    import os
    import platform
    import subprocess
    import sys
    from pathlib import Path

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("reason: the test reads x86 AVX2 machine code (vmaskmovps), which Numba generates on x86-64 "
                    "only; on another architecture (ARM) NUMBA_CPU_NAME=haswell does not apply")
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
            "import numpy as np, dask\n"
            "import test_kernels_specialized as t\n"
            "from daskdl.kernels import rowsgd\n"
            "dask.config.set({'daskdl': {'kernels': 'specialized'}})\n"
            f"act, opts = t.CASES[{case!r}]\n"
            "opts = dict(opts); n_cat = opts.pop('n_cat', 0)\n"
            "data, net, hp, ip = t._case(act, n_cat=n_cat, **opts)\n"
            "rowsgd.train_serial(np.arange(len(data[0]), dtype=np.int64), *data, *net.arrays(), hp, ip, 7, 1)\n"
            "S = rowsgd.bundles(np.arange(1), *data, *net.arrays(), hp, ip)[0]\n"
            "d = rowsgd.specialized(S).dispatcher\n"
            "asm = d.inspect_asm(list(d.overloads)[0])\n"
            "print(asm.count('vfmadd'), asm.count('vmaskmov'))\n")
    env = {**os.environ, "NUMBA_CPU_NAME": "haswell", "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    fma, masked = (int(v) for v in out.stdout.split())
    assert fma > 0  # AVX2 code with FMA was generated and inspected
    assert masked == 0, f"{masked} masked stores in the compiled per-row kernel"
