"""Per-row (H2O-style, mini-batch 1) training kernels.

One row at a time: forward pass with dropout, output error, back-propagation
from the output layer down, and an immediate update of each touched weight
(ADADELTA or manual rate with momentum), exactly in the order H2O applies them
(see ``docs``/the spec: pre-update weights propagate the error, fast_mode skips
weights whose input is zero and units whose error is zero, the bias ADADELTA
state is driven by the mean squared weight gradient of the unit).

Three drivers share the same row routine:

``train_serial``   one thread, fixed order: bit-reproducible.
``train_copies``   each thread trains a private copy of the model on ``sync_rows``
                   rows, then the copies are merged (block momentum over the
                   copies' average weights, optimizer state averaged) and the
                   next round starts from the merged model.  Deterministic for a
                   fixed thread count.
``train_hogwild``  all threads update one shared model without locks.

Inputs are the encoded blocks of ``daskdl.frame.encode``: ``xnum`` (n, p)
float32, ``xcat`` (n, c) int32 of global one-hot input positions (-1 = none).

All three run one compiled kernel, ``kernels(spec)``: ``train_range`` over a span of rows,
built per configuration with the configuration a compile-time constant (``common.Spec``), so
that the per-weight loops hold no branch on activation, optimizer, regularization, dropout
or fast_mode. The multi-threaded drivers run it on Python threads (it releases the GIL), so
that one compiled function serves every driver. Speed notes for the per-weight loops: masked
updates (fast_mode) are selects stored with plain vector stores (a branch there becomes a
masked store, slow on AMD); ADADELTA divides as H2O does; the forward pass sums four kept units
at a time; dropout, the activations' derivatives and fast_mode's unit skipping are selects and
lists of units instead of unpredictable branches; rows are addressed as slices from 0 (no
negative-index checks in the loops).
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from numba import njit, prange

from .codes import TANH, RECTIFIER, MAXOUT, SOFTMAX, IP_NUM_OFFSET
from .common import (
    OncePerMachine,
    F0, F1, OPTS, SOURCE_KEY, TINY, generic_kernels, Geometry, Rows, State, approx_sqrt, hyper, manual_step, max_w2_rescale,
    mix_seed, momentum_now, output_delta, output_loss, rand01, rate_now, reg_grad, sel, spec, update_bias, update_row,
)


@njit(inline="always", **OPTS)
def _dot(a, b):
    s = F0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@njit(inline="always", **OPTS)
def _dot4(w0, w1, w2, w3, x):
    """The dot products of four weight rows with ``x`` in one pass over ``x``."""
    s0 = F0
    s1 = F0
    s2 = F0
    s3 = F0
    for i in range(x.shape[0]):
        xi = x[i]
        s0 += w0[i] * xi
        s1 += w1[i] * xi
        s2 += w2[i] * xi
        s3 += w3[i] * xi
    return s0, s1, s2, s3


@njit(inline="always", **OPTS)
def _unit_in(bl, Wl, j, a0, cidx, ncidx, l, S):
    """Unit ``j``'s bias plus, in the first layer, its one-hot inputs (the dense part is added
    apart)."""
    z = bl[j]
    if l == 1 and S.cat:
        wr = Wl[j]
        for k in range(ncidx):
            z += wr[cidx[k]] * a0[cidx[k]]
    return z


@njit(inline="always", **OPTS)
def _activate(z, is_out, S):
    """A unit's activation from its input sum (the output layer's sums stay as they are: the
    loss turns them into predictions)."""
    if is_out and not S.ae:
        return z
    if S.act == TANH:
        return F1 - np.float32(2.0) / (F1 + np.exp(np.float32(2.0) * z))
    return z if z > F0 else F0


@njit(inline="always", **OPTS)
def _update_row_list(wrow, arow, brow, vrow, erow, prev, idx, nidx, d, S, l1, l2, lea, rho, eps, r, mu):
    """The update of the scattered one-hot inputs listed in idx[:nidx] (fast_mode, first layer)."""
    one_m_rho = F1 - rho
    g2sum = F0
    for k in range(nidx):
        i = idx[k]
        w = wrow[i]
        a = prev[i]
        if a == F0:
            continue
        g = reg_grad(d * a, w, erow, i, S, l1, l2, lea)
        if S.adaptive:
            g2 = g * g
            bn = rho * brow[i] + one_m_rho * g2
            bn = bn if bn > TINY else F0
            eta = approx_sqrt((arow[i] + eps) / (bn + eps))
            an = rho * arow[i] + one_m_rho * eta * eta * g2
            brow[i] = bn
            arow[i] = an if an > TINY else F0
            wrow[i] = w - eta * g
            g2sum += g2
        else:
            manual_step(wrow, vrow, i, w, g, True, r, mu, S.momentum, S.nesterov)
    return g2sum


@njit(inline="always", **OPTS)
def train_row(r, rows, geo, st, hp, S, act, err, win, dropped, kept, dk, a0clean, cidx, rng, samples):
    """Train on row ``r``; returns the row's training loss.

    ``act``/``err`` hold activations and errors of every layer (offsets ``aoff``),
    ``win`` the maxout winner per hidden unit, ``dropped`` the dropout mask, ``kept``, ``dk`` scratch
    for a layer's kept units and their errors,
    ``cidx`` scratch for the row's active one-hot inputs, ``rng`` the thread's
    RNG state and ``samples`` the number of samples seen (rate schedules).
    ``S`` (a Spec) is a compile-time constant: its branches cost nothing.
    """
    xnum, xcat, y, offs = rows.xnum, rows.xcat, rows.y, rows.offs
    units, woff, boff, aoff, hdrop, numoff = geo.units, geo.woff, geo.boff, geo.aoff, geo.hdrop, geo.numoff
    W, B = st.W, st.B
    L = units.shape[0] - 1
    rho = np.float32(hp.rho)
    eps = np.float32(hp.eps)
    l1 = np.float32(hp.l1)
    l2 = np.float32(hp.l2)
    lea = np.float32(hp.ea_lambda)
    n_in = units[0]
    n_num = xnum.shape[1]

    # ---- input layer (dense vector, one-hot slots set sparsely) ----
    a0 = act[0:n_in]
    ncidx = 0
    if S.cat:
        for c in range(xcat.shape[1]):
            k = xcat[r, c]
            if k >= 0:
                if a0[k] == F0:
                    cidx[ncidx] = k
                    ncidx += 1
                a0[k] += F1
    a0[numoff:n_in] = xnum[r]
    if S.ae:
        a0clean[numoff:n_in] = a0[numoff:n_in]
        for k in range(ncidx):
            a0clean[cidx[k]] = a0[cidx[k]]
    if S.in_drop:
        p_in = np.float32(hp.input_dropout)
        for k in range(ncidx):
            if rand01(rng) < p_in:
                a0[cidx[k]] = F0
        a0n = a0[numoff:n_in]
        for i in range(n_num):  # a select, not a branch: the draws are unpredictable
            v = a0n[i]
            a0n[i] = sel(rand01(rng) < p_in, F0, v)

    # ---- hidden layers ----
    # H2O seeds every hidden layer's dropout mask of a row with the same seed (Neurons.*Dropout
    # fprop): the layers replay one stream of uniforms, so unit j is kept or dropped alike in every
    # hidden layer; afterwards the stream continues past the widest layer's draws
    drop_shared = False
    drop_s0 = rng[0]
    drop_s1 = rng[0]
    drop_n = 0
    for l in range(1, L + 1):
        n_prev = units[l - 1]
        n_l = units[l]
        prev = act[aoff[l - 1]:aoff[l - 1] + n_prev]
        cur = act[aoff[l]:aoff[l] + n_l]
        is_out = l == L
        maxout = S.act == MAXOUT and not is_out
        nrows = n_l * 2 if maxout else n_l
        Wl = W[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
        bl = B[boff[l - 1]:boff[l - 1] + nrows]
        pdrop = hdrop[l - 1] if (S.hdrop and not is_out) else F0
        if pdrop > F0:
            if drop_shared:
                rng[0] = drop_s0
            else:
                drop_s0 = rng[0]
                drop_shared = True
        # the dropout draws first, in unit order (the stream H2O's masks follow), listing the kept
        # units; then the kept units' sums, four units at a time (one pass over the inputs for
        # four weight rows: more loads in flight, a quarter of the input loads)
        nk = 0
        for j in range(n_l):
            cur[j] = F0
            kept[nk] = j
            if S.hdrop and pdrop > F0:
                dr = rand01(rng) < pdrop
                if S.act != RECTIFIER:  # a dropped rectifier's activation 0 says it (back-propagation)
                    dropped[aoff[l] + j] = dr
                nk += 0 if dr else 1
            else:
                nk += 1
        lo = numoff if (l == 1 and S.cat) else 0  # the dense inputs (the one-hot ones: _unit_in)
        xs = prev[lo:n_prev]
        if maxout:
            for j in range(n_l):
                win[aoff[l] + j] = 0
            for k in range(nk):
                j = kept[k]
                z0 = _unit_in(bl, Wl, 2 * j, a0, cidx, ncidx, l, S) + _dot(Wl[2 * j][lo:n_prev], xs)
                z1 = _unit_in(bl, Wl, 2 * j + 1, a0, cidx, ncidx, l, S) + _dot(Wl[2 * j + 1][lo:n_prev], xs)
                if z1 > z0:
                    win[aoff[l] + j] = 1
                    cur[j] = z1
                else:
                    cur[j] = z0
        else:
            k = 0
            while k < nk:
                if k + 4 <= nk:
                    j0, j1, j2, j3 = kept[k], kept[k + 1], kept[k + 2], kept[k + 3]
                    d0, d1, d2, d3 = _dot4(Wl[j0][lo:n_prev], Wl[j1][lo:n_prev], Wl[j2][lo:n_prev],
                                           Wl[j3][lo:n_prev], xs)
                    cur[j0] = _activate(_unit_in(bl, Wl, j0, a0, cidx, ncidx, l, S) + d0, is_out, S)
                    cur[j1] = _activate(_unit_in(bl, Wl, j1, a0, cidx, ncidx, l, S) + d1, is_out, S)
                    cur[j2] = _activate(_unit_in(bl, Wl, j2, a0, cidx, ncidx, l, S) + d2, is_out, S)
                    cur[j3] = _activate(_unit_in(bl, Wl, j3, a0, cidx, ncidx, l, S) + d3, is_out, S)
                    k += 4
                else:
                    j = kept[k]
                    cur[j] = _activate(_unit_in(bl, Wl, j, a0, cidx, ncidx, l, S) + _dot(Wl[j][lo:n_prev], xs),
                                       is_out, S)
                    k += 1
        if pdrop > F0 and n_l > drop_n:
            drop_n = n_l
            drop_s1 = rng[0]
        if S.sparse and not is_out:  # running mean activation (training passes only: FIX of Q10)
            ra = st.Ra[aoff[l]:aoff[l] + n_l]
            for j in range(n_l):
                ra[j] = np.float32(0.999) * ra[j] + np.float32(0.001) * cur[j]

    if drop_shared:
        rng[0] = drop_s1

    # ---- output error ----
    n_out = units[L]
    out = act[aoff[L]:aoff[L] + n_out]
    dout = err[aoff[L]:aoff[L] + n_out]
    loss = 0.0
    alpha = hp.quantile_alpha
    power = hp.tweedie_power
    delta_h = hp.huber_delta
    if S.ae:
        for s in range(n_out):
            t = a0clean[s]
            dout[s] = np.float32(output_delta(S.dist, t, out[s], alpha, power, delta_h))
            loss += (t - out[s]) * (t - out[s])
        loss /= n_out
    elif S.dist == SOFTMAX:
        m = out[0]
        for k in range(1, n_out):
            if out[k] > m:
                m = out[k]
        ssum = F0
        for k in range(n_out):
            out[k] = np.exp(out[k] - m)
            ssum += out[k]
        for k in range(n_out):
            out[k] /= ssum
        yk = int(y[r])
        for k in range(n_out):
            t = F1 if k == yk else F0
            if S.ce:
                dout[k] = out[k] - t
            else:
                dout[k] = (out[k] - t) * out[k] * (F1 - out[k])
        loss = -np.log(max(out[yk], np.float32(1e-15)))
    else:
        f = out[0] + offs[r]
        out[0] = f
        dout[0] = np.float32(output_delta(S.dist, y[r], f, alpha, power, delta_h))
        loss = output_loss(S.dist, y[r], f, alpha, power, delta_h)

    # ---- back-propagation and updates ----
    mu = momentum_now(hp, samples, S)
    shortcut = S.fast or ((not S.adaptive) and (not S.momentum) and (not S.l1) and (not S.l2))
    for l in range(L, 0, -1):
        n_prev = units[l - 1]
        n_l = units[l]
        is_out = l == L
        maxout = S.act == MAXOUT and not is_out
        nrows = n_l * 2 if maxout else n_l
        w0, w1 = woff[l - 1], woff[l]
        b0, b1 = boff[l - 1], boff[l - 1] + nrows
        Wl = W[w0:w1].reshape((nrows, n_prev))
        Al = st.Aw[w0:w1].reshape((nrows, n_prev)) if S.adaptive else Wl
        Bl = st.Bw[w0:w1].reshape((nrows, n_prev)) if S.adaptive else Wl
        Vl = st.Vw[w0:w1].reshape((nrows, n_prev)) if S.momentum else Wl
        El = st.Ew[w0:w1].reshape((nrows, n_prev)) if S.ea else Wl
        bl = B[b0:b1]
        abl = st.Ab[b0:b1] if S.adaptive else bl
        bbl = st.Bb[b0:b1] if S.adaptive else bl
        vbl = st.Vb[b0:b1] if S.momentum else bl
        ebl = st.Eb[b0:b1] if S.ea else bl
        prev = act[aoff[l - 1]:aoff[l - 1] + n_prev]
        cur = act[aoff[l]:aoff[l] + n_l]
        dl = err[aoff[l]:aoff[l] + n_l]
        eprev = err[aoff[l - 1]:aoff[l - 1] + n_prev]
        need_e = l > 1
        if need_e:
            for i in range(n_prev):
                eprev[i] = F0
        pdrop = hdrop[l - 1] if (S.hdrop and not is_out) else F0
        rate = rate_now(hp, samples, l, mu, S)
        inv_fanin = F1 / np.float32(n_prev)
        # each unit's error times its activation's derivative, and the units to update (fast_mode:
        # those with a non-zero error), listed with selects instead of branches (dropout and the
        # rectifier's zeros are unpredictable); the errors go to a scratch array, since a select
        # stored back where it was read compiles to a masked store
        nk = 0
        for j in range(n_l):
            v = dl[j]
            if not is_out:
                if S.act == TANH:
                    v = v * (F1 - cur[j] * cur[j])
                elif S.act == RECTIFIER:  # a dropped unit's activation is 0: its error is 0 too
                    v = sel(cur[j] > F0, v, F0)
                # maxout: derivative 1 on the winning channel
                if S.hdrop and S.act != RECTIFIER and pdrop > F0:
                    v = sel(dropped[aoff[l] + j] != 0, F0, v)
            kept[nk] = j
            dk[nk] = v
            nk += 1 if not (shortcut and v == F0) else 0
        for k in range(nk):
            j = kept[k]
            d = dk[k]
            rj = 2 * j + win[aoff[l] + j] if maxout else j
            wrow = Wl[rj]
            arow = Al[rj]
            brow = Bl[rj]
            vrow = Vl[rj]
            erow = El[rj]
            if l == 1 and S.fast and S.cat:
                g2sum = update_row(wrow[numoff:n_in], arow[numoff:n_in], brow[numoff:n_in],
                                   vrow[numoff:n_in] if S.momentum else vrow, erow[numoff:n_in] if S.ea else erow,
                                   prev[numoff:n_in], d, True, eprev, False, S, l1, l2, lea, rho, eps, rate, mu)
                g2sum += _update_row_list(wrow, arow, brow, vrow, erow, prev, cidx, ncidx, d, S, l1, l2, lea, rho,
                                          eps, rate, mu)
            elif need_e:
                g2sum = update_row(wrow, arow, brow, vrow, erow, prev, d, True, eprev, True, S, l1, l2, lea, rho,
                                   eps, rate, mu)
            else:
                g2sum = update_row(wrow, arow, brow, vrow, erow, prev, d, True, eprev, False, S, l1, l2, lea, rho,
                                   eps, rate, mu)
            if S.maxw2:
                max_w2_rescale(wrow, np.float32(hp.max_w2))
            step = update_bias(bl, abl, bbl, vbl, ebl, rj, d, g2sum * inv_fanin, S, l1, l2, lea, rho, eps, rate, mu)
            if S.sparse and not is_out:  # sparse autoencoder: pull the mean activation to the target
                bl[rj] -= step * np.float32(hp.sparsity_beta) * (st.Ra[aoff[l] + j] - np.float32(hp.avg_activation))

    # reset the sparse one-hot positions of the input vector for the next row
    for k in range(ncidx):
        a0[cidx[k]] = F0
        if S.ae:
            a0clean[cidx[k]] = F0
    return loss


@njit(inline="always", **OPTS)
def train_range(order, lo, hi, rows, geo, st, hp, S, seed, stream, samples0):
    """Train on ``order[lo:hi]`` in sequence on the state ``st``; returns the loss sum."""
    units, aoff = geo.units, geo.aoff
    tot = aoff[-1]
    act = np.zeros(tot, dtype=np.float32)
    err = np.zeros(tot, dtype=np.float32)
    win = np.zeros(tot, dtype=np.int64)
    dropped = np.zeros(tot, dtype=np.uint8)
    kept = np.zeros(tot, dtype=np.int64)
    dk = np.zeros(tot, dtype=np.float32)
    a0clean = np.zeros(units[0] if S.ae else 1, dtype=np.float32)
    cidx = np.zeros(max(rows.xcat.shape[1], 1), dtype=np.int64)
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = mix_seed(seed, stream, lo)
    loss = 0.0
    # H2O counts processed rows per chunk (DeepLearningTask.chunkDone): the learning-rate
    # annealing and momentum of every row of a chunk use the count from before the chunk
    for k in range(lo, hi):
        loss += train_row(order[k], rows, geo, st, hp, S, act, err, win, dropped, kept, dk, a0clean, cidx, rng,
                          samples0)
    return loss


def _generic():
    """The generic kernel (the Spec a run-time argument), compiled once for every configuration."""
    key = SOURCE_KEY

    @njit(**OPTS)
    def run(order, lo, hi, rows, geo, st, hp, S, seed, stream, samples0):
        if key < 0:  # never: the source digest is a closure variable, so that it keys the cache
            return 0.0
        return train_range(order, lo, hi, rows, geo, st, hp, S, seed, stream, samples0)

    return run


_range_generic = OncePerMachine(_generic(), "rowsgd.generic")


def kernels(S):
    """The kernel for Spec ``S``: ``run(order, lo, hi, rows, geo, st, hp, seed, stream, samples0)``
    trains on ``order[lo:hi]`` in sequence on ``st`` (one thread, no GIL) and returns the loss
    sum; the multi-threaded drivers run it on several threads at once. Specialized (``S`` a
    compile-time constant), or with Dask config ``daskdl.kernels = "generic"`` the generic kernel (``S`` a
    run-time argument) behind the same signature."""
    if generic_kernels():
        return lambda order, lo, hi, rows, geo, st, hp, seed, stream, samples0: _range_generic(
            order, lo, hi, rows, geo, st, hp, S, seed, stream, samples0)
    return specialized(S)


@lru_cache(maxsize=None)
def specialized(S):
    """The jitted kernel of one Spec ``S`` (compiled on first use, or loaded from the cache)."""
    key = SOURCE_KEY

    @njit(**OPTS)
    def run(order, lo, hi, rows, geo, st, hp, seed, stream, samples0):
        if key < 0:  # never: the source digest is a closure variable, so that it keys the cache
            return 0.0
        return train_range(order, lo, hi, rows, geo, st, hp, S, seed, stream, samples0)

    return OncePerMachine(run, f"rowsgd.specialized:{S}")


_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def run_threads(jobs):
    """Run the callables ``jobs`` (which release the GIL) on the kernel threads; their results."""
    global _POOL, _POOL_SIZE
    if len(jobs) == 1:
        return [jobs[0]()]
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < len(jobs):
            _POOL_SIZE = max(len(jobs), os.cpu_count() or 1)
            _POOL = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="daskdl-kernel")
        pool = _POOL
    futures = [pool.submit(job) for job in jobs]
    return [f.result() for f in futures]


@njit(nogil=True, cache=True)
def _load_copy(mine, st, adaptive, momentum, sparse):
    """A private copy ``mine`` set to the state ``st``."""
    mine.W[:] = st.W
    mine.B[:] = st.B
    if adaptive:
        mine.Aw[:] = st.Aw
        mine.Bw[:] = st.Bw
        mine.Ab[:] = st.Ab
        mine.Bb[:] = st.Bb
    if momentum:
        mine.Vw[:] = st.Vw
        mine.Vb[:] = st.Vb
    if sparse:
        mine.Ra[:] = st.Ra


def bundles(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop, W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb,
            hp, ip):
    """The flat argument list of the drivers as (Spec, Rows, Geometry, State, Hyper)."""
    return (spec(ip, hp, hdrop, xcat.shape[1]), Rows(xnum, xcat, y, offs),
            Geometry(units, woff, boff, aoff, hdrop, int(ip[IP_NUM_OFFSET])),
            State(W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb), hyper(hp))


def train_serial(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                 W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream):
    """Train on rows ``order`` in sequence (one thread, reproducible). Returns the loss sum."""
    S, rows, geo, st, h = bundles(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                                  W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip)
    return float(kernels(S)(order, 0, order.shape[0], rows, geo, st, h, seed, stream, h.samples))


def train_hogwild(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                  W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream, n_threads):
    """Lock-free HOGWILD!: ``n_threads`` threads update the same arrays, thread ``t`` on the
    ``t``-th contiguous share of ``order``. Returns the loss sum."""
    S, rows, geo, st, h = bundles(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                                  W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip)
    run = kernels(S)
    n, T = order.shape[0], max(1, int(n_threads))

    def job(t):
        lo, hi = n * t // T, n * (t + 1) // T
        return lambda: run(order, lo, hi, rows, geo, st, h, seed, stream * 1024 + t, h.samples + lo)
    return float(sum(run_threads([job(t) for t in range(T)])))


@njit(parallel=True, cache=True, nogil=True)
def _merge(shared, copies, n_threads):
    """shared <- mean_t copy_t (the copies' optimizer state)"""
    n = shared.shape[0]
    nchunks = 64
    inv = np.float32(1.0) / np.float32(n_threads)
    for c in prange(nchunks):
        lo = n * c // nchunks
        hi = n * (c + 1) // nchunks
        for i in range(lo, hi):
            s = shared[i]
            acc = np.float32(0.0)
            for t in range(n_threads):
                acc += copies[t, i] - s
            shared[i] = s + acc * inv


def momentum_coefficients(k: int) -> tuple[float, float]:
    """Block momentum ``eta`` and block learning rate ``zeta`` for ``k`` combined models.

    The combined step is ``G <- eta G + zeta (mean_i w_i - w_start)``. A steady change ``d`` of
    the average per iteration is amplified to ``zeta d / (1 - eta) = k d`` (the progress of ``k``
    models' rows, as if trained in sequence); a change that flips sign every iteration (the
    oscillation that makes summed changes diverge) is scaled by ``zeta / (1 + eta) = 1`` (that of
    a plain average). Both hold for ``eta = (k - 1) / (k + 1)``, ``zeta = 2 k / (k + 1)``;
    ``k = 1`` gives ``eta = 0``, ``zeta = 1``: the model itself. Used across workers
    (``daskdl.train.task.block_momentum``) and across the private copies of one worker."""
    k = max(1, int(k))
    return (k - 1.0) / (k + 1.0), 2.0 * k / (k + 1.0)


@njit(parallel=True, cache=True, nogil=True)
def _merge_momentum(start, cons, G, copies, n_threads, eta, zeta):
    """Block momentum over the copies' average (see ``daskdl.train.task.block_momentum``):
    d = mean_t copy_t - start;  G <- eta G + zeta d;  cons <- cons + G;  start <- cons + eta G."""
    n = start.shape[0]
    nchunks = 64
    inv = np.float32(1.0) / np.float32(n_threads)
    e = np.float32(eta)
    z = np.float32(zeta)
    for c in prange(nchunks):
        lo = n * c // nchunks
        hi = n * (c + 1) // nchunks
        for i in range(lo, hi):
            acc = np.float32(0.0)
            for t in range(n_threads):
                acc += copies[t, i]
            g = e * G[i] + z * (acc * inv - start[i])
            G[i] = g
            cv = cons[i] + g
            cons[i] = cv
            start[i] = cv + e * g


def train_copies(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                 W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream, n_threads, sync_rows,
                 eta=-1.0, zeta=-1.0):
    """Private copy per thread, merged every ``sync_rows`` rows per thread.

    The copies' weights and biases are combined by block momentum over their average with
    ``eta``, ``zeta`` (negative: ``(T - 1) / (T + 1)`` and ``2 T / (T + 1)`` for ``T`` threads,
    which amplify a steady change T times and damp an oscillating one like a plain average;
    ``eta = 0, zeta = 1`` is the plain average); optimizer state (ADADELTA accumulators,
    momentum) is averaged. ``W``, ``B`` hold the consensus at the end. Deterministic for a fixed
    ``n_threads``. Returns the loss sum.
    """
    if n_threads <= 1:
        return train_serial(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                            W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream)
    T = n_threads
    if eta < 0 or zeta < 0:
        eta, zeta = momentum_coefficients(T)
    S, rows, geo, st, h = bundles(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                                  W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip)
    run = kernels(S)
    none = np.zeros((T, 1), np.float32)

    def rows_of(a, used):
        return np.empty((T, a.shape[0]), np.float32) if used else none

    copies = State(rows_of(W, True), rows_of(B, True), rows_of(Aw, S.adaptive), rows_of(Bw, S.adaptive),
                   rows_of(Ab, S.adaptive), rows_of(Bb, S.adaptive), rows_of(Vw, S.momentum),
                   rows_of(Vb, S.momentum), rows_of(Ra, S.sparse), none, none)
    mine = [State(*(c[t] for c in copies[:9]), Ew, Eb) for t in range(T)]
    consW, consB = W.copy(), B.copy()
    gW, gB = np.zeros_like(W), np.zeros_like(B)
    state_pairs = [(Aw, copies.Aw), (Bw, copies.Bw), (Ab, copies.Ab), (Bb, copies.Bb)] if S.adaptive else []
    if S.momentum:
        state_pairs += [(Vw, copies.Vw), (Vb, copies.Vb)]
    if S.sparse:
        state_pairs.append((Ra, copies.Ra))
    n = order.shape[0]
    loss = 0.0
    base = 0

    def job(t, lo, hi, sub, samples):
        def train():
            _load_copy(mine[t], st, S.adaptive, S.momentum, S.sparse)
            return run(order, lo, hi, rows, geo, mine[t], h, seed, sub, samples + lo)
        return train

    while base < n:
        spans = [(min(n, base + t * sync_rows), min(n, base + (t + 1) * sync_rows)) for t in range(T)]
        spans = [(lo, hi) for lo, hi in spans if hi > lo]  # all but in the last round
        a = len(spans)
        loss += sum(run_threads([job(t, lo, hi, stream * 1048576 + base // sync_rows + t, h.samples)
                                 for t, (lo, hi) in enumerate(spans)]))
        _merge_momentum(W, consW, gW, copies.W[:a], a, eta, zeta)
        _merge_momentum(B, consB, gB, copies.B[:a], a, eta, zeta)
        for shared, cs in state_pairs:
            _merge(shared, cs[:a], a)
        h = h._replace(samples=h.samples + sum(hi - lo for lo, hi in spans))
        base += T * sync_rows
    W[:] = consW
    B[:] = consB
    return float(loss)
