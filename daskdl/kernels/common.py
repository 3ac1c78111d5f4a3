"""What the training kernels share: argument bundles, the compile-time configuration, and the
per-weight arithmetic (H2O's update rules, written once).

Argument bundles (Numba named tuples, free to pass):

``Rows``      the encoded rows: ``xnum`` (n, p) float32, ``xcat`` (n, c) int32 (global one-hot
              input positions, -1 = none), ``y`` float32, ``offs`` float32 (offset column).
``Geometry``  the layer layout: ``units``, ``woff``, ``boff``, ``aoff`` (int64), ``hdrop``
              (float32 hidden dropout ratios), ``numoff`` (width of the one-hot block).
``State``     weights and optimizer state, updated in place: ``W B`` (weights, biases),
              ``Aw Bw Ab Bb`` (ADADELTA E[dx^2], E[g^2] of weights and biases), ``Vw Vb``
              (momentum), ``Ra`` (sparse autoencoder: running mean activations), ``Ew Eb`` (the
              elastic-averaging consensus; ``W``, ``B`` themselves without one).
``Hyper``     the hyper-parameters, float64 (``codes.HP_*`` order).

``Spec`` holds the choices that shape the hot loops (activation, distribution, loss, adaptive
or manual rate, momentum, Nesterov, dropout, L1, L2, max_w2, fast_mode, one-hot inputs,
autoencoder, sparse autoencoder, elastic averaging). Each kernel module builds, per Spec
actually used, one set of jitted kernels in which the Spec is a compile-time constant (a
closure variable: LLVM sees constants and removes every branch on them), cached on disk like
any ``cache=True`` function (Numba keys the cache of a closure on its variables).
"""
from __future__ import annotations

import hashlib
from collections import namedtuple
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import njit, typeof, types
from numba.extending import intrinsic
from numba.core.compiler_lock import global_compiler_lock

from .codes import (
    GAUSSIAN, LAPLACE, QUANTILE, HUBER, POISSON, GAMMA, TWEEDIE, CROSS_ENTROPY, HP_EA_LAMBDA, HP_INPUT_DROPOUT,
    HP_L1, HP_L2, IP_ACT, IP_ADAPTIVE, IP_AUTOENCODER, IP_DIST, IP_DROPOUT, IP_FAST_MODE, IP_HAS_MAXW2, IP_LOSS,
    IP_MOMENTUM, IP_NESTEROV, IP_NUM_OFFSET, IP_SPARSE,
)

#: options of every kernel: cached, no GIL, no zero-division checks (they block vectorization),
#: and the float reassociation that lets dot products and sums vectorize
OPTS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract", "nsz", "arcp"})

F0 = np.float32(0.0)
F1 = np.float32(1.0)
TINY = np.float32(1e-30)  # optimizer state below this is flushed to 0 (avoids subnormal slow paths)
EXP_CAP = 1e19

Rows = namedtuple("Rows", "xnum xcat y offs")
Geometry = namedtuple("Geometry", "units woff boff aoff hdrop numoff")
State = namedtuple("State", "W B Aw Bw Ab Bb Vw Vb Ra Ew Eb")
Hyper = namedtuple("Hyper", "rho eps rate rate_annealing rate_decay mom_start mom_ramp mom_stable l1 l2 max_w2 "
                            "input_dropout quantile_alpha tweedie_power samples huber_delta sparsity_beta "
                            "avg_activation ea_lambda")
Spec = namedtuple("Spec", "act dist ce adaptive momentum nesterov fast hdrop in_drop l1 l2 maxw2 cat ae sparse ea")


def _source_key() -> str:
    """A digest of the kernel sources: a closure variable of every specialized kernel, so that a
    change to any kernel module (not only the one defining the kernel, which is all Numba checks)
    compiles afresh instead of loading stale code from the cache."""
    h = hashlib.sha256()
    for name in ("codes.py", "common.py", "rowsgd.py", "minibatch.py"):
        h.update((Path(__file__).parent / name).read_bytes())
    return int(h.hexdigest()[:15], 16)


SOURCE_KEY = _source_key()


#: Dask config ``daskdl.kernels``: ``specialized`` (the default) compiles one kernel per
#: configuration in use, the Spec a compile-time constant; ``generic`` one kernel per module for
#: every configuration, the Spec a run-time argument (compiled once: for test suites that try
#: hundreds of configurations; its loops are slower). Dask hands the setting to the workers
#: that a cluster starts after it is set.
KERNEL_MODES = ("specialized", "generic")


def generic_kernels() -> bool:
    import dask

    mode = dask.config.get("daskdl.kernels", "specialized")
    if mode not in KERNEL_MODES:
        raise ValueError(f"dask config daskdl.kernels must be one of {', '.join(KERNEL_MODES)}; got {mode!r}")
    return mode == "generic"


class OncePerMachine:
    """A jitted kernel whose first compilation for a signature happens under a machine-wide file
    lock: when several worker processes of one machine need the same kernel at once (16 workers
    starting to train), one compiles it into Numba's on-disk cache and the others wait, then load
    it from there, instead of each compiling the same code at the same time. A signature already
    in the cache loads without the lock. Calls pass straight through once the signature is
    compiled in this process."""

    def __init__(self, dispatcher, name: str):
        self.dispatcher = dispatcher
        self.name = name

    def __call__(self, *args):
        sig = tuple(typeof(a) for a in args)
        if sig not in self.dispatcher.overloads and not self._load_cached(sig):
            with _machine_lock(f"{self.name}:{sig}"):
                self.dispatcher.compile(sig)  # loads the cache entry another process wrote, if any
        return self.dispatcher(*args)

    def _load_cached(self, sig) -> bool:
        """Load ``sig`` from Numba's on-disk cache without the machine lock (the first step of
        ``Dispatcher.compile``), so that processes finding the kernel cached load it side by side
        instead of one after another; False when it is not cached, or when Numba's internals differ
        from these (the locked compile then does the same)."""
        d = self.dispatcher
        try:
            with global_compiler_lock:
                cres = d._cache.load_overload(sig, d.targetctx)
                if cres is None:
                    return False
                d._cache_hits[sig] += 1
                if not cres.objectmode:
                    d.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
                d.add_overload(cres)
                return True
        except Exception:  # noqa: BLE001 - other Numba internals: compile under the lock instead
            return False


class _machine_lock:
    """An exclusive lock shared by the processes of this machine (``fcntl.flock`` on a file in the
    temporary directory; released by the OS if a process dies). A no-op where ``fcntl`` is absent."""

    def __init__(self, key: str):
        import tempfile

        digest = hashlib.sha256(f"{SOURCE_KEY}:{key}".encode()).hexdigest()[:24]
        self.path = Path(tempfile.gettempdir()) / f"daskdl-compile-{digest}.lock"
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        try:
            self.fd = open(self.path, "a")
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError:  # an unwritable temporary directory: compile without the lock
            if self.fd is not None:
                self.fd.close()
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.fd.close()
        return False


def hyper(hp: np.ndarray) -> Hyper:
    return Hyper(*(float(v) for v in hp))


def spec(ip: np.ndarray, hp: np.ndarray, hdrop: np.ndarray, n_cat: int) -> Spec:
    """The compile-time configuration of a training call (flags that change nothing are 0, so
    that equivalent configurations share their kernels)."""
    adaptive = int(ip[IP_ADAPTIVE] != 0)
    momentum = int(ip[IP_MOMENTUM] != 0 and not adaptive)
    return Spec(act=int(ip[IP_ACT]), dist=int(ip[IP_DIST]), ce=int(ip[IP_LOSS] == CROSS_ENTROPY),
                adaptive=adaptive, momentum=momentum, nesterov=int(ip[IP_NESTEROV] != 0 and momentum),
                fast=int(ip[IP_FAST_MODE] != 0),
                hdrop=int(ip[IP_DROPOUT] != 0 and bool((np.asarray(hdrop) > 0).any())),
                in_drop=int(np.float32(hp[HP_INPUT_DROPOUT]) > 0), l1=int(np.float32(hp[HP_L1]) != 0),
                l2=int(np.float32(hp[HP_L2]) != 0), maxw2=int(ip[IP_HAS_MAXW2] != 0),
                cat=int(n_cat > 0 or int(ip[IP_NUM_OFFSET]) > 0), ae=int(ip[IP_AUTOENCODER] != 0),
                sparse=int(ip[IP_SPARSE] != 0), ea=int(np.float32(hp[HP_EA_LAMBDA]) != 0))


# ---------------------------------------------------------------- bit-level helpers
@intrinsic
def sel(typingctx, m, a, b):
    """``a if m else b`` as one LLVM select (a blend in vector code, where a branch would stop
    the loop's vectorization). A select between a new value and the value loaded from the
    address it is stored to may still be compiled as a masked store (vmaskmovps), which is
    slow on AMD CPUs: the update rules instead select factors that give back the old value
    exactly (``ada_step``), so that every store is a plain one."""
    if not isinstance(m, types.Boolean) or a != b or not isinstance(a, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])
    return a(types.boolean, a, a), codegen


@intrinsic
def _f32_bits(typingctx, x):
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, i):
    if i != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _f64_bits(typingctx, x):
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_f64(typingctx, i):
    if i != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(inline="always", **OPTS)
def approx_sqrt(x):
    """H2O's ``MathUtils.approxSqrt(float)``: the bit-level estimate H2O uses for ADADELTA's
    weight rates and the max_w2 rescale (within a few percent of sqrt; used for parity)."""
    return _bits_f32(np.int32(np.int32(532483686) + (_f32_bits(np.float32(x)) >> np.int32(1))))


@njit(inline="always", **OPTS)
def approx_sqrt64(x):
    """H2O's ``MathUtils.approxSqrt(double)`` (ADADELTA's bias rates)."""
    return _bits_f64(((_f64_bits(np.float64(x)) >> np.int64(32)) + np.int64(1072632448)) << np.int64(31))


@njit(inline="always", **OPTS)
def l1_term(l1, w):
    """``l1 * sign(w)`` for float32 ``l1 >= 0``, exactly: ``l1`` with the sign bit of ``w`` (two
    bit operations), 0 where ``w`` is 0 (one select), instead of two compares, two masks, a
    subtraction and a multiplication."""
    return sel(w != F0, _bits_f32(np.int32((_f32_bits(w) & np.int32(-2147483648)) | _f32_bits(l1))), F0)


@njit(inline="always", **OPTS)
def rand01(state):
    """xorshift64* step; returns a float32 uniform in [0, 1)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return np.float32((x * np.uint64(2685821657736338717)) >> np.uint64(40)) * np.float32(5.9604645e-08)


@njit(inline="always", **OPTS)
def mix_seed(a, b, c):
    """splitmix64 of three integers -> a non-zero uint64 RNG state."""
    z = np.uint64(a) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b) * np.uint64(0xBF58476D1CE4E5B9) \
        + np.uint64(c) * np.uint64(0x94D049BB133111EB) + np.uint64(0x2545F4914F6CDD1D)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    if z == np.uint64(0):
        z = np.uint64(88172645463325252)
    return z


# ---------------------------------------------------------------- output layer
@njit(inline="always", **OPTS)
def exp_capped(u):
    v = np.exp(u)
    return v if v < EXP_CAP else EXP_CAP


@njit(**OPTS)
def output_delta(dist, t, f, alpha, power, delta_h):
    """dE/df for one regression / autoencoder output (H2O: -2 * negative half gradient)."""
    if dist == GAUSSIAN:
        return 2.0 * (f - t)
    elif dist == LAPLACE:
        return -1.0 if f <= t else 1.0
    elif dist == QUANTILE:
        return -alpha if t > f else 1.0 - alpha
    elif dist == HUBER:
        r = t - f
        if abs(r) <= delta_h:
            return -2.0 * r
        return -2.0 * delta_h if f < t else 2.0 * delta_h
    elif dist == POISSON:
        return 2.0 * (exp_capped(f) - t)
    elif dist == GAMMA:
        return 2.0 * (1.0 - t * exp_capped(-f))
    elif dist == TWEEDIE:
        return 2.0 * (exp_capped(f * (2.0 - power)) - t * exp_capped(f * (1.0 - power)))
    return 2.0 * (f - t)


@njit(**OPTS)
def output_loss(dist, t, f, alpha, power, delta_h):
    """Per-row training loss in link space (for the progress report only)."""
    r = t - f
    if dist == LAPLACE:
        return abs(r)
    elif dist == QUANTILE:
        return alpha * r if r > 0 else (alpha - 1.0) * r
    elif dist == HUBER:
        return r * r if abs(r) <= delta_h else delta_h * (2.0 * abs(r) - delta_h)
    elif dist == POISSON:
        return exp_capped(f) - t * f
    elif dist == GAMMA:
        return t * exp_capped(-f) + f
    elif dist == TWEEDIE:
        return -t * exp_capped(f * (1.0 - power)) / (1.0 - power) + exp_capped(f * (2.0 - power)) / (2.0 - power)
    return r * r


# ---------------------------------------------------------------- update rules (spec 4)
@njit(inline="always", **OPTS)
def reg_grad(g0, w, erow, i, S, l1, l2, lea):
    """The gradient of weight ``w`` (``erow[i]``: its consensus value) with data gradient ``g0``:
    ``g0 + l1 sign(w) + l2 w + lea (w - e)``, with the terms the Spec turns off left out."""
    g = g0
    if S.l1:
        g += l1_term(l1, w)
    if S.l2:
        g += l2 * w
    if S.ea:
        g += lea * (w - erow[i])
    return g


@njit(inline="always", **OPTS)
def ada_step(wrow, arow, brow, i, w, g, m, rho, omr, eps):
    """One ADADELTA update of weight ``i`` with gradient ``g``, applied only where ``m``;
    returns g**2 where ``m``. Where not ``m`` the factors (1, 0) give back the old values
    exactly (``1 * x + 0 * y == x`` for finite ``y``), and every store is a plain vector store
    (see ``sel``); where ``m`` the arithmetic is the update rule's, operation for operation
    (H2O's float division: on the AMD CPU measured, faster in this loop than a reciprocal
    estimate refined by a Newton step, whose longer chain of dependent operations held the loop
    back)."""
    g2 = g * g
    bo = brow[i]
    ao = arow[i]
    keep = sel(m, rho, F1)
    take = sel(m, omr, F0)
    bn = keep * bo + take * g2
    eta = approx_sqrt((ao + eps) / (bn + eps))
    brow[i] = bn
    arow[i] = keep * ao + take * eta * eta * g2
    wrow[i] = w - sel(m, eta, F0) * g
    return sel(m, g2, F0)


@njit(inline="always", **OPTS)
def manual_step(wrow, vrow, i, w, g, m, r, mu, momentum, nesterov):
    """One manual-rate update of weight ``i`` (plain, classical momentum or H2O's Nesterov
    form, spec 4.3), applied only where ``m``: elsewhere the factors give back the old values
    exactly (see ``ada_step``)."""
    if momentum:
        v = vrow[i]
        if nesterov:
            vn = sel(m, mu, F1) * v - sel(m, g, F0)
            vrow[i] = vn
            wrow[i] = w + sel(m, r, F0) * vn
        else:
            vn = sel(m, -r, F0) * g
            wrow[i] = w + vn + sel(m, mu, F0) * v
            vrow[i] = vn + sel(m, F0, F1) * v
    else:
        wrow[i] = w - sel(m, r, F0) * g


@njit(inline="always", **OPTS)
def _update_weight(wrow, arow, brow, vrow, erow, i, w, a, g0, S, l1, l2, lea, rho, omr, eps, r, mu):
    g = reg_grad(g0, w, erow, i, S, l1, l2, lea)
    m = (a != F0) if S.fast else True
    if S.adaptive:
        return ada_step(wrow, arow, brow, i, w, g, m, rho, omr, eps)
    manual_step(wrow, vrow, i, w, g, m, r, mu, S.momentum, S.nesterov)
    return F0


@njit(inline="always", **OPTS)
def update_row(wrow, arow, brow, vrow, erow, src, d, grad_of, eprev, need_e, S, l1, l2, lea, rho, eps, r, mu):
    """Update the weights ``wrow`` of one unit; the data gradient of weight ``i`` is
    ``d * src[i]`` (per-row kernel, ``grad_of`` true: ``src`` = the inputs, ``d`` = the unit's
    error) or ``src[i]`` (mini-batch kernel: ``src`` = the mean gradient row). Under fast_mode
    a weight whose ``src[i]`` is zero is left untouched (a select, no branch). With ``need_e``,
    first accumulates ``eprev += d * w`` with the pre-update weights. Returns the sum of squared
    gradients of the weights updated (ADADELTA; 0 with a manual rate).

    Loops run from 0 over (sliced) rows: a variable start index would make every access carry a
    negative-index check that blocks vectorization."""
    n = wrow.shape[0]
    omr = F1 - rho
    g2sum = F0
    if need_e:
        for i in range(n):
            w = wrow[i]
            a = src[i]
            eprev[i] += d * w
            g2sum += _update_weight(wrow, arow, brow, vrow, erow, i, w, a, d * a if grad_of else a, S, l1, l2, lea,
                                    rho, omr, eps, r, mu)
    else:
        for i in range(n):
            w = wrow[i]
            a = src[i]
            g2sum += _update_weight(wrow, arow, brow, vrow, erow, i, w, a, d * a if grad_of else a, S, l1, l2, lea,
                                    rho, omr, eps, r, mu)
    return g2sum


@njit(inline="always", **OPTS)
def update_bias(bl, abl, bbl, vbl, ebl, rj, d, gm, S, l1, l2, lea, rho, eps, rate, mu):
    """Update bias ``rj`` with error ``d``; ADADELTA state driven by ``gm``, the unit's mean squared
    weight gradient (H2O's bias rule, spec Q7). Returns the step size used (ADADELTA's eta or the
    manual rate)."""
    b = bl[rj]
    gb = reg_grad(d, b, ebl, rj, S, l1, l2, lea)
    if S.adaptive:
        bn = rho * bbl[rj] + (F1 - rho) * gm
        bn = bn if bn > TINY else F0
        eta = np.float32(approx_sqrt64((np.float64(abl[rj]) + eps) / (np.float64(bn) + eps)))
        an = rho * abl[rj] + (F1 - rho) * eta * eta * gm
        bbl[rj] = bn
        abl[rj] = an if an > TINY else F0
        bl[rj] = b - eta * gb
        return eta
    manual_step(bl, vbl, rj, b, gb, True, rate, mu, S.momentum, S.nesterov)
    return rate


@njit(inline="always", **OPTS)
def max_w2_rescale(wrow, max_w2):
    """Rescale a unit's incoming weights so that their squared norm is at most max_w2 (spec 4.4)."""
    n = wrow.shape[0]
    s = F0
    for i in range(n):
        s += wrow[i] * wrow[i]
    if s > max_w2:
        scale = approx_sqrt(max_w2 / s)
        for i in range(n):
            wrow[i] *= scale


@njit(inline="always", **OPTS)
def momentum_now(hp, samples, S):
    """The momentum of the current step (ramped from momentum_start to momentum_stable)."""
    mu = F0
    if S.momentum:
        ramp = hp.mom_ramp
        frac = min(samples, ramp) / ramp if ramp > 0 else 0.0
        mu = np.float32(hp.mom_start + (hp.mom_stable - hp.mom_start) * frac)
    return mu


@njit(inline="always", **OPTS)
def rate_now(hp, samples, l, mu, S):
    """The manual learning rate of layer ``l`` (annealed, decayed, scaled by 1 - momentum)."""
    if S.adaptive:
        return F0
    return np.float32(hp.rate * hp.rate_decay ** (l - 1) / (1.0 + hp.rate_annealing * samples) * (1.0 - mu))
