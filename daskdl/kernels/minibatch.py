"""Mini-batch training kernel (dense batches, BLAS matrix products).

H2O's per-row rules (``rowsgd``) generalised to a batch of ``m`` rows:

* per-row dropout masks (input dropout per element, hidden dropout per unit,
  non-inverted), drawn from the thread's RNG;
* forward pass as matrix products ``Z = A W^T`` (sgemm through SciPy's BLAS);
* output error as in ``rowsgd`` (softmax cross-entropy / quadratic, the
  regression distributions through ``rowsgd.output_delta``, autoencoder target =
  the un-dropped input, no output-activation derivative);
* the gradient is the MEAN over the batch; the error is propagated with the
  pre-update weights; dropped units get a zero delta;
* then one update of every weight: L1/L2 added to the mean gradient, ADADELTA
  (bias state driven by the mean squared weight gradient of the unit) or manual
  rate with momentum / Nesterov, and the ``max_w2`` rescale of each unit row;
* ``fast_mode``: a weight whose mean gradient (before regularisation) is exactly
  0 is left untouched, and a unit whose delta is 0 for every row of the batch is
  skipped completely (the batch analogue of the per-row rules);
* Maxout: two channel rows per unit (row ``2 r + q``), winner per row, gradient
  to the winner only; a channel row that wins no row of the batch is not updated.

With ``batch_size=1`` and no dropout the result equals ``rowsgd.train_serial``
up to float rounding.

Dropout masks use 16-bit uniforms (three per xorshift64* step): an element is
dropped with probability ``round(p * 65536) / 65536``.

Drivers: ``n_threads=1`` trains the batches in sequence (bit-reproducible for a
given seed and stream); ``n_threads>1`` gives each thread its own contiguous
share of the batches on the shared arrays (HOGWILD! at batch level).  BLAS runs
single-threaded in both cases: the products are small, and BLAS worker threads
that spin while the cores are shared cost far more than they gain.  Measured on
a 2-core machine (MNIST 717-200-200-200-10, RectifierWithDropout, input dropout
0.2, hidden 0.5, ADADELTA), two HOGWILD threads cost the same CPU time per row as
one thread (about 45k rows per CPU-second at batch size 16, 58k at 32, 70k at
64), so ``n_threads=2`` is the setting for two cores.  ``DEFAULT_BATCH_SIZE`` is
16, the largest of 16/32/64/128 that reaches 3.5 % MNIST test error in 10 epochs
(32: about 3.6 %, 64: 3.7 %, 128: 4.2 %).

The weight gradient of each layer is computed in blocks of unit rows
(``CHUNK_FLOATS`` elements) that are applied while they are still in cache.

As in ``rowsgd``, the kernel is specialized per configuration (``common.Spec``) and its
threads are Python threads running the GIL-free kernel.
"""
from functools import lru_cache

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (the BLAS that compiled np.dot calls; loaded before limiting it)
from numba import njit
from threadpoolctl import threadpool_limits

from .codes import TANH, MAXOUT, SOFTMAX, IP_NUM_OFFSET, IP_SPARSE
from .common import (
    OncePerMachine,
    F0, F1, OPTS, SOURCE_KEY, generic_kernels, max_w2_rescale, mix_seed, momentum_now, output_delta, output_loss, rate_now,
    sel,
    update_bias, update_row,
)
from .rowsgd import bundles, run_threads

#: batch size used when none is given (see the module docs)
DEFAULT_BATCH_SIZE = 16
#: float32 elements of one block of gradient rows computed and applied together
CHUNK_FLOATS = 8192


@njit(inline="always", **OPTS)
def _fill_u16(buf, n, x):
    """Fill ``buf[:n]`` (padded by 3) with 16-bit uniforms, three per xorshift64* step of state
    ``x``; returns the new state.  Dropout keeps an element when its number is >= round(p * 65536)."""
    for k in range(0, n, 3):
        x ^= x >> np.uint64(12)
        x ^= x << np.uint64(25)
        x ^= x >> np.uint64(27)
        z = x * np.uint64(2685821657736338717)
        buf[k] = np.uint16((z >> np.uint64(16)) & np.uint64(0xFFFF))
        buf[k + 1] = np.uint16((z >> np.uint64(32)) & np.uint64(0xFFFF))
        buf[k + 2] = np.uint16(z >> np.uint64(48))
    return x


@njit(**OPTS)
def _max_units(units, maxout):
    """(largest weight-matrix row count, largest layer width, largest matrix size)."""
    L = units.shape[0] - 1
    mr = 1
    mu = 1
    mw = 1
    for l in range(L + 1):
        mu = max(mu, units[l])
    for l in range(1, L + 1):
        rows = units[l] * 2 if (maxout and l < L) else units[l]
        mr = max(mr, rows)
        mw = max(mw, rows * units[l - 1])
    return mr, mu, mw


@njit(inline="always", **OPTS)
def _train_batches(order, lo, hi, rows, geo, st, hp, S, seed, stream, batch_size, samples0):
    """Train on ``order[lo:hi]`` in batches of ``batch_size`` rows; returns the loss sum.
    ``S`` (a Spec) is a compile-time constant: its branches cost nothing."""
    xnum, xcat, y, offs = rows.xnum, rows.xcat, rows.y, rows.offs
    units, woff, boff, aoff, hdrop, numoff = geo.units, geo.woff, geo.boff, geo.aoff, geo.hdrop, geo.numoff
    W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb = st
    L = units.shape[0] - 1
    actc = S.act
    dist = S.dist
    adaptive = S.adaptive
    momentum = S.momentum
    use_drop = S.hdrop
    ae = S.ae
    ce = S.ce
    rho = np.float32(hp.rho)
    eps = np.float32(hp.eps)
    l1 = np.float32(hp.l1)
    l2 = np.float32(hp.l2)
    max_w2 = np.float32(hp.max_w2)
    p_in = np.float32(hp.input_dropout)
    sparse = S.sparse
    beta = np.float32(hp.sparsity_beta)
    avg_act = np.float32(hp.avg_activation)
    lea = np.float32(hp.ea_lambda)  # 0 without elastic averaging (then Ew, Eb are W, B)
    alpha = hp.quantile_alpha
    power = hp.tweedie_power
    delta_h = hp.huber_delta
    n_in = units[0]
    n_num = xnum.shape[1]
    n_cat = xcat.shape[1]
    is_max = actc == MAXOUT
    shortcut = S.fast or ((not adaptive) and (not momentum) and (not S.l1) and (not S.l2))

    m = max(batch_size, 1)
    mr, mu_, mw = _max_units(units, is_max)
    tot = aoff[aoff.shape[0] - 1]
    act = np.zeros(m * tot, dtype=np.float32)
    keep = np.ones(m * tot, dtype=np.uint8)
    win = np.zeros(m * tot, dtype=np.uint8)
    zbuf = np.zeros(m * mr, dtype=np.float32)
    dbuf = np.zeros(m * mr, dtype=np.float32)
    ebuf = np.zeros(m * mu_, dtype=np.float32)
    gbuf = np.zeros(mw, dtype=np.float32)
    dtbuf = np.zeros(m * mr, dtype=np.float32)
    gb = np.zeros(mr, dtype=np.float32)
    touched = np.zeros(mr, dtype=np.uint8)
    clean = np.zeros(m * n_in if ae else 1, dtype=np.float32)
    rbuf = np.zeros(m * max(mu_, n_num + n_cat) + 3, dtype=np.uint16)
    hmax = 1  # widest hidden layer: a row's hidden dropout draws, shared by its hidden layers (as H2O)
    for l in range(1, L):
        hmax = max(hmax, units[l])
    thr_in = np.int64(np.floor(np.float64(p_in) * 65536.0 + 0.5))

    rng = np.empty(1, dtype=np.uint64)
    rng[0] = mix_seed(seed, stream, lo)
    loss = 0.0

    for s0 in range(lo, hi, m):
        mb = min(m, hi - s0)
        rows_idx = order[s0:s0 + mb]
        samples = samples0  # as H2O: the count from before the chunk (see rowsgd._train_range)
        invm = F1 / np.float32(mb)

        # ---- dense input batch ----
        A0 = act[0:mb * n_in].reshape((mb, n_in))
        for r in range(mb):
            i = rows_idx[r]
            row = A0[r]
            rc = row[0:numoff]
            for k in range(numoff):
                rc[k] = F0
            for c in range(n_cat):
                k = xcat[i, c]
                if k >= 0:
                    row[k] += F1
            rn = row[numoff:n_in]
            xr = xnum[i]
            for k in range(n_num):
                rn[k] = xr[k]
            if ae:
                cl = clean[r * n_in:(r + 1) * n_in]
                for k in range(n_in):
                    cl[k] = row[k]
        if S.in_drop:
            nd = n_num + n_cat
            rng[0] = _fill_u16(rbuf, mb * nd, rng[0])
            for r in range(mb):
                i = rows_idx[r]
                row = A0[r]
                rb = rbuf[r * nd:(r + 1) * nd]
                for c in range(n_cat):
                    k = xcat[i, c]
                    if k >= 0 and np.int64(rb[c]) < thr_in:
                        row[k] = F0
                rn = row[numoff:n_in]
                rbn = rb[n_cat:nd]
                for k in range(n_num):
                    rn[k] = rn[k] * sel(np.int64(rbn[k]) >= thr_in, F1, F0)

        # ---- forward ----
        drawn = False
        for l in range(1, L + 1):
            n_prev = units[l - 1]
            n_l = units[l]
            is_out = l == L
            maxout = is_max and not is_out
            nrows = n_l * 2 if maxout else n_l
            Wl = W[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
            bl = B[boff[l - 1]:boff[l - 1] + nrows]
            prev = act[mb * aoff[l - 1]:mb * aoff[l - 1] + mb * n_prev].reshape((mb, n_prev))
            cur = act[mb * aoff[l]:mb * aoff[l] + mb * n_l].reshape((mb, n_l))
            pdrop = hdrop[l - 1] if (use_drop and not is_out) else F0
            if maxout:
                Z = zbuf[0:mb * nrows].reshape((mb, nrows))
                np.dot(prev, Wl.T, Z)
                for r in range(mb):
                    zr = Z[r]
                    cr = cur[r]
                    wr = win[mb * aoff[l] + r * n_l:mb * aoff[l] + (r + 1) * n_l]
                    for j in range(n_l):
                        z0 = zr[2 * j] + bl[2 * j]
                        z1 = zr[2 * j + 1] + bl[2 * j + 1]
                        w1 = z1 > z0
                        cr[j] = z1 if w1 else z0
                        wr[j] = np.uint8(w1)
            else:
                np.dot(prev, Wl.T, cur)
                for r in range(mb):
                    cr = cur[r]
                    if is_out and not ae:
                        for j in range(n_l):
                            cr[j] = cr[j] + bl[j]
                    elif actc == TANH:
                        for j in range(n_l):
                            z = cr[j] + bl[j]
                            cr[j] = F1 - np.float32(2.0) / (F1 + np.exp(np.float32(2.0) * z))
                    else:
                        for j in range(n_l):
                            z = cr[j] + bl[j]
                            cr[j] = z if z > F0 else F0
            if pdrop > F0:
                thr = np.int64(np.floor(np.float64(pdrop) * 65536.0 + 0.5))
                if not drawn:
                    rng[0] = _fill_u16(rbuf, mb * hmax, rng[0])
                    drawn = True
                for r in range(mb):
                    cr = cur[r]
                    kr = keep[mb * aoff[l] + r * n_l:mb * aoff[l] + (r + 1) * n_l]
                    rb = rbuf[r * hmax:r * hmax + n_l]
                    for j in range(n_l):
                        kp = np.int64(rb[j]) >= thr
                        kr[j] = np.uint8(kp)
                        cr[j] = cr[j] * sel(kp, F1, F0)
            if sparse and not is_out:  # running mean activation, row by row (spec 4.5)
                ra = Ra[aoff[l]:aoff[l] + n_l]
                for r in range(mb):
                    cr = cur[r]
                    for j in range(n_l):
                        ra[j] = np.float32(0.999) * ra[j] + np.float32(0.001) * cr[j]

        # ---- output error (mean over the batch) ----
        n_out = units[L]
        out = act[mb * aoff[L]:mb * aoff[L] + mb * n_out].reshape((mb, n_out))
        D = dbuf[0:mb * n_out].reshape((mb, n_out))
        for r in range(mb):
            i = rows_idx[r]
            o = out[r]
            d = D[r]
            if ae:
                cl = clean[r * n_in:(r + 1) * n_in]
                lr = 0.0
                for k in range(n_out):
                    t = cl[k]
                    d[k] = np.float32(output_delta(dist, t, o[k], alpha, power, delta_h)) * invm
                    lr += (t - o[k]) * (t - o[k])
                loss += lr / n_out
            elif dist == SOFTMAX:
                mx = o[0]
                for k in range(1, n_out):
                    mx = o[k] if o[k] > mx else mx
                ssum = F0
                for k in range(n_out):
                    o[k] = np.exp(o[k] - mx)
                    ssum += o[k]
                for k in range(n_out):
                    o[k] /= ssum
                yk = int(y[i])
                for k in range(n_out):
                    t = F1 if k == yk else F0
                    if ce:
                        d[k] = (o[k] - t) * invm
                    else:
                        d[k] = (o[k] - t) * o[k] * (F1 - o[k]) * invm
                loss += -np.log(max(o[yk], np.float32(1e-15)))
            else:
                f = o[0] + offs[i]
                o[0] = f
                d[0] = np.float32(output_delta(dist, y[i], f, alpha, power, delta_h)) * invm
                loss += output_loss(dist, y[i], f, alpha, power, delta_h)

        # ---- back-propagation and one update per weight ----
        mu = momentum_now(hp, samples, S)
        for l in range(L, 0, -1):
            n_prev = units[l - 1]
            n_l = units[l]
            is_out = l == L
            maxout = is_max and not is_out
            nrows = n_l * 2 if maxout else n_l
            Wl = W[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
            Al = Aw[woff[l - 1]:woff[l]].reshape((nrows, n_prev)) if adaptive else Wl
            Bl = Bw[woff[l - 1]:woff[l]].reshape((nrows, n_prev)) if adaptive else Wl
            Vl = Vw[woff[l - 1]:woff[l]].reshape((nrows, n_prev)) if momentum else Wl
            bl = B[boff[l - 1]:boff[l - 1] + nrows]
            abl = Ab[boff[l - 1]:boff[l - 1] + nrows] if adaptive else bl
            bbl = Bb[boff[l - 1]:boff[l - 1] + nrows] if adaptive else bl
            vbl = Vb[boff[l - 1]:boff[l - 1] + nrows] if momentum else bl
            El = Ew[woff[l - 1]:woff[l]].reshape((nrows, n_prev)) if S.ea else Wl
            ebl = Eb[boff[l - 1]:boff[l - 1] + nrows] if S.ea else bl
            prev = act[mb * aoff[l - 1]:mb * aoff[l - 1] + mb * n_prev].reshape((mb, n_prev))
            D = dbuf[0:mb * nrows].reshape((mb, nrows))
            E = ebuf[0:mb * n_prev].reshape((mb, n_prev))
            if l > 1:
                np.dot(D, Wl, E)  # pre-update weights
            DT = dtbuf[0:nrows * mb].reshape((nrows, mb))
            for r in range(mb):
                dr = D[r]
                for j in range(nrows):
                    DT[j, r] = dr[j]
            # bias gradients and the units to update
            for j in range(nrows):
                gb[j] = F0
                touched[j] = 0
            for r in range(mb):
                dr = D[r]
                for j in range(nrows):
                    gb[j] += dr[j]
                    touched[j] |= np.uint8(dr[j] != F0)
            if not shortcut:
                if maxout:
                    # a channel row is updated when it wins a (kept) row of the batch
                    for r in range(mb):
                        wr = win[mb * aoff[l] + r * n_l:mb * aoff[l] + (r + 1) * n_l]
                        kr = keep[mb * aoff[l] + r * n_l:mb * aoff[l] + (r + 1) * n_l]
                        pd = use_drop and hdrop[l - 1] > F0
                        for j in range(n_l):
                            if (not pd) or kr[j] != 0:
                                touched[2 * j + wr[j]] = 1
                else:
                    for j in range(nrows):
                        touched[j] = 1
            rate = rate_now(hp, samples, l, mu, S)
            inv_fanin = F1 / np.float32(n_prev)
            # gradient rows in chunks that stay in cache while they are applied
            ch = max(1, CHUNK_FLOATS // n_prev)
            for c0 in range(0, nrows, ch):
                c1 = min(nrows, c0 + ch)
                anyt = False
                for rj in range(c0, c1):
                    anyt |= touched[rj] != 0
                if not anyt:
                    continue
                G = gbuf[0:(c1 - c0) * n_prev].reshape((c1 - c0, n_prev))
                np.dot(DT[c0:c1], prev, G)
                for rj in range(c0, c1):
                    if touched[rj] == 0:
                        continue
                    wrow = Wl[rj]
                    grow = G[rj - c0]
                    g2sum = update_row(wrow, Al[rj], Bl[rj], Vl[rj], El[rj], grow, F1, False, grow, False, S, l1, l2,
                                       lea, rho, eps, rate, mu)
                    if S.maxw2:
                        max_w2_rescale(wrow, max_w2)
                    step = update_bias(bl, abl, bbl, vbl, ebl, rj, gb[rj], g2sum * inv_fanin, S, l1, l2, lea, rho,
                                       eps, rate, mu)
                    if sparse and not is_out:
                        bl[rj] -= step * beta * (Ra[aoff[l] + (rj // 2 if maxout else rj)] - avg_act)
            # delta of layer l-1 (rows of its weight matrix)
            if l > 1:
                lp = l - 1
                n_p = units[lp]
                pmax = is_max
                pdrop = use_drop and hdrop[lp - 1] > F0
                cp = act[mb * aoff[lp]:mb * aoff[lp] + mb * n_p].reshape((mb, n_p))
                if pmax:
                    Dn = dbuf[0:mb * 2 * n_p].reshape((mb, 2 * n_p))
                    for r in range(mb):
                        er = E[r]
                        dn = Dn[r]
                        wr = win[mb * aoff[lp] + r * n_p:mb * aoff[lp] + (r + 1) * n_p]
                        kr = keep[mb * aoff[lp] + r * n_p:mb * aoff[lp] + (r + 1) * n_p]
                        for j in range(n_p):
                            e = er[j] if ((not pdrop) or kr[j] != 0) else F0
                            w1 = wr[j] != 0
                            dn[2 * j] = F0 if w1 else e
                            dn[2 * j + 1] = e if w1 else F0
                else:
                    Dn = dbuf[0:mb * n_p].reshape((mb, n_p))
                    for r in range(mb):
                        er = E[r]
                        dn = Dn[r]
                        ar = cp[r]
                        kr = keep[mb * aoff[lp] + r * n_p:mb * aoff[lp] + (r + 1) * n_p]
                        if actc == TANH:
                            if pdrop:
                                for j in range(n_p):
                                    v = er[j] * (F1 - ar[j] * ar[j])
                                    dn[j] = v if kr[j] != 0 else F0
                            else:
                                for j in range(n_p):
                                    dn[j] = er[j] * (F1 - ar[j] * ar[j])
                        else:
                            for j in range(n_p):
                                dn[j] = er[j] if ar[j] > F0 else F0
    return loss


def _generic():
    """The generic kernel (the Spec a run-time argument), compiled once for every configuration."""
    key = SOURCE_KEY

    @njit(**OPTS)
    def run(order, lo, hi, rows, geo, st, hp, S, seed, stream, batch_size, samples0):
        if key < 0:  # never: the source digest is a closure variable, so that it keys the cache
            return 0.0
        return _train_batches(order, lo, hi, rows, geo, st, hp, S, seed, stream, batch_size, samples0)

    return run


_batches_generic = OncePerMachine(_generic(), "minibatch.generic")


def kernels(S):
    """The kernel for Spec ``S``: ``run(order, lo, hi, rows, geo, st, hp, seed, stream, batch_size,
    samples0)`` trains on ``order[lo:hi]`` in batches (one thread, no GIL) and returns the loss
    sum. Specialized (``S`` a compile-time constant), or with the Dask config ``daskdl.kernels``
    set to ``generic`` the generic kernel (``S`` a run-time argument) behind the same signature."""
    if generic_kernels():
        return lambda order, lo, hi, rows, geo, st, hp, seed, stream, batch_size, samples0: _batches_generic(
            order, lo, hi, rows, geo, st, hp, S, seed, stream, batch_size, samples0)
    return specialized(S)


@lru_cache(maxsize=None)
def specialized(S):
    """The jitted kernel of one Spec ``S`` (compiled on first use, or loaded from the cache)."""
    key = SOURCE_KEY

    @njit(**OPTS)
    def run(order, lo, hi, rows, geo, st, hp, seed, stream, batch_size, samples0):
        if key < 0:  # never: the source digest is a closure variable, so that it keys the cache
            return 0.0
        return _train_batches(order, lo, hi, rows, geo, st, hp, S, seed, stream, batch_size, samples0)

    return OncePerMachine(run, f"minibatch.specialized:{S}")


def _check(name, a, dtype, ndim=None):
    if not isinstance(a, np.ndarray) or a.dtype != dtype or (ndim is not None and a.ndim != ndim) \
            or not a.flags.c_contiguous:
        got = f"{type(a).__name__} {getattr(a, 'dtype', '')} ndim={getattr(a, 'ndim', '')}"
        raise TypeError(f"train_minibatch: {name} must be a C-contiguous {np.dtype(dtype).name} array"
                        f"{'' if ndim is None else f' with {ndim} dimensions'}; got {got}")


def train_minibatch(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                    W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream, batch_size, n_threads=1):
    """Train on rows ``order`` in mini-batches of ``batch_size`` rows.

    Same arrays as ``rowsgd.train_serial`` (updated in place). ``n_threads=1``:
    batches in sequence, deterministic for a given ``seed``/``stream``.
    ``n_threads>1``: each thread trains its share of the batches on the shared
    arrays (HOGWILD!), BLAS limited to one thread. Returns the loss sum.
    """
    batch_size = int(batch_size)
    n_threads = int(n_threads)
    if batch_size < 1:
        raise ValueError(f"train_minibatch: batch_size must be an integer >= 1; got {batch_size}")
    if n_threads < 1:
        raise ValueError(f"train_minibatch: n_threads must be an integer >= 1; got {n_threads}")
    _check("order", order, np.int64, 1)
    _check("xnum", xnum, np.float32, 2)
    _check("xcat", xcat, np.int32, 2)
    for name, a in (("y", y), ("offs", offs), ("hdrop", hdrop), ("W", W), ("B", B), ("Aw", Aw),
                    ("Bw", Bw), ("Ab", Ab), ("Bb", Bb), ("Vw", Vw), ("Vb", Vb), ("Ra", Ra), ("Ew", Ew),
                    ("Eb", Eb)):
        _check(name, a, np.float32, 1)
    for name, a in (("units", units), ("woff", woff), ("boff", boff), ("aoff", aoff), ("ip", ip)):
        _check(name, a, np.int64, 1)
    _check("hp", hp, np.float64, 1)
    if xnum.shape[0] != xcat.shape[0] or xnum.shape[0] != y.shape[0] or xnum.shape[0] != offs.shape[0]:
        raise ValueError(f"train_minibatch: xnum, xcat, y and offs must have the same number of rows; got "
                         f"{xnum.shape[0]}, {xcat.shape[0]}, {y.shape[0]}, {offs.shape[0]}")
    if int(ip[IP_NUM_OFFSET]) + xnum.shape[1] != int(units[0]):
        raise ValueError(f"train_minibatch: num_offset + numeric columns must equal the input width "
                         f"{int(units[0])}; got {int(ip[IP_NUM_OFFSET])} + {xnum.shape[1]}")
    if ip[IP_SPARSE] != 0 and Ra.shape[0] != int(aoff[-1]):
        raise ValueError(f"train_minibatch: a sparse autoencoder needs Ra with one entry per unit "
                         f"({int(aoff[-1])}); got {Ra.shape[0]}")
    n_threads = min(n_threads, max(1, (order.shape[0] + batch_size - 1) // batch_size))
    S, rows, geo, st, h = bundles(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                                  W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip)
    run = kernels(S)
    n, m = order.shape[0], batch_size
    nb = (n + m - 1) // m
    # one BLAS thread per call: the matrices are small, and BLAS worker threads that spin while the
    # cores are shared (other processes, or the other kernel threads) slow the products down badly
    with threadpool_limits(limits=1, user_api="blas"):
        if n_threads == 1:
            return float(run(order, 0, n, rows, geo, st, h, seed, stream, batch_size, h.samples))

        def job(t):  # thread t: its contiguous share of the batches, on the shared arrays
            lo, hi = min(n, (nb * t // n_threads) * m), min(n, (nb * (t + 1) // n_threads) * m)
            return lambda: run(order, lo, hi, rows, geo, st, h, seed, stream * 1024 + t, batch_size,
                               h.samples + lo) if hi > lo else 0.0
        return float(sum(run_threads([job(t) for t in range(n_threads)])))
