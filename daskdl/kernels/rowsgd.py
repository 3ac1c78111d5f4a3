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
"""
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .codes import (
    TANH, RECTIFIER, MAXOUT, SOFTMAX, GAUSSIAN, LAPLACE, QUANTILE, HUBER, POISSON, GAMMA, TWEEDIE,
    CROSS_ENTROPY, HP_RHO, HP_EPS, HP_RATE, HP_RATE_ANNEALING, HP_RATE_DECAY, HP_MOM_START,
    HP_MOM_RAMP, HP_MOM_STABLE, HP_L1, HP_L2, HP_MAX_W2, HP_INPUT_DROPOUT, HP_QUANTILE_ALPHA,
    HP_TWEEDIE_POWER, HP_SAMPLES, HP_HUBER_DELTA, IP_ACT, IP_DIST, IP_LOSS, IP_ADAPTIVE,
    IP_NESTEROV, IP_FAST_MODE, IP_DROPOUT, IP_AUTOENCODER, IP_NUM_OFFSET, IP_MOMENTUM, IP_HAS_MAXW2,
    IP_SPARSE, HP_SPARSITY_BETA, HP_AVG_ACTIVATION, HP_EA_LAMBDA,
)

_OPTS = dict(cache=True, nogil=True, error_model="numpy",
             fastmath={"reassoc", "contract", "nsz", "arcp"})

F0 = np.float32(0.0)
F1 = np.float32(1.0)
TINY = np.float32(1e-30)  # optimizer state below this is flushed to 0 (avoids subnormal slow paths)
EXP_CAP = 1e19


@njit(inline="always", **_OPTS)
def rand01(state):
    """xorshift64* step; returns a float32 uniform in [0, 1)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return np.float32((x * np.uint64(2685821657736338717)) >> np.uint64(40)) * np.float32(5.9604645e-08)


@njit(inline="always", **_OPTS)
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


@intrinsic
def fast_div(typingctx, a, b):
    """``a / b`` (float32) that LLVM may compute as a reciprocal estimate refined by one Newton
    step (vrcpps + 2 FMAs instead of vdivps: about 22 correct bits, several times the throughput)."""
    if a != types.float32 or b != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.fdiv(args[0], args[1], flags=("arcp", "ninf", "nnan", "nsz", "afn", "contract", "reassoc"))
    return types.float32(types.float32, types.float32), codegen


@intrinsic
def sel(typingctx, m, a, b):
    """``a if m else b`` as one LLVM select (no branch): a masked update then stores a blend of
    new and old values with a plain vector store, where a branch becomes a masked store
    (vmaskmovps), which is slow on AMD CPUs."""
    if not isinstance(m, types.Boolean) or a != b or not isinstance(a, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])
    return a(types.boolean, a, a), codegen


@njit(inline="always", **_OPTS)
def approx_sqrt(x):
    """H2O's ``MathUtils.approxSqrt(float)``: the bit-level estimate H2O uses for ADADELTA's
    weight rates and the max_w2 rescale (within a few percent of sqrt; used for parity)."""
    return _bits_f32(np.int32(np.int32(532483686) + (_f32_bits(np.float32(x)) >> np.int32(1))))


@njit(inline="always", **_OPTS)
def approx_sqrt64(x):
    """H2O's ``MathUtils.approxSqrt(double)`` (ADADELTA's bias rates)."""
    return _bits_f64(((_f64_bits(np.float64(x)) >> np.int64(32)) + np.int64(1072632448)) << np.int64(31))


@njit(inline="always", **_OPTS)
def exp_capped(u):
    v = np.exp(u)
    return v if v < EXP_CAP else EXP_CAP


@njit(**_OPTS)
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


@njit(**_OPTS)
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


@njit(inline="always", **_OPTS)
def _sign(w):
    return np.float32(w > 0) - np.float32(w < 0)


@njit(inline="always", **_OPTS)
def ada_step(wrow, arow, brow, i, w, g, m, rho, omr, eps):
    """One ADADELTA update of weight ``i`` with gradient ``g``, stored only where ``m`` (a
    select, not a branch, so that loops calling it vectorize); returns g**2 where ``m``."""
    g2 = g * g
    bo = brow[i]
    ao = arow[i]
    bn = rho * bo + omr * g2
    eta = approx_sqrt(fast_div(ao + eps, bn + eps))
    an = rho * ao + omr * eta * eta * g2
    brow[i] = sel(m, bn, bo)
    arow[i] = sel(m, an, ao)
    wrow[i] = sel(m, w - eta * g, w)
    return sel(m, g2, F0)


@njit(inline="always", **_OPTS)
def manual_step(wrow, vrow, i, w, g, m, r, mu, momentum, nesterov):
    """One manual-rate update of weight ``i`` (plain, classical momentum or H2O's Nesterov
    form, spec 4.3), stored only where ``m``."""
    if momentum:
        v = vrow[i]
        if nesterov:
            vn = mu * v - g
            wn = w + r * vn
        else:
            vn = -r * g
            wn = w + vn + mu * v
        vrow[i] = sel(m, vn, v)
        wrow[i] = sel(m, wn, w)
    else:
        wrow[i] = sel(m, w - r * g, w)


@njit(inline="always", **_OPTS)
def _ada_loop(wrow, arow, brow, erow, lea, prev, d, eprev, need_e, fast, l1, l2, rho, eps):
    """ADADELTA update of all of wrow; branch-free body so that it vectorizes.

    Loops run from 0 over (sliced) rows: a variable start index would make
    every access carry a negative-index check that blocks vectorization.
    The elastic-averaging term ``lea * (w - erow[i])`` has loops of its own, so
    that the common case (no elastic averaging) keeps its vectorized form."""
    n = wrow.shape[0]
    omr = F1 - rho
    g2sum = F0
    allw = not fast
    if lea != F0:
        for i in range(n):
            w = wrow[i]
            a = prev[i]
            if need_e:
                eprev[i] += d * w
            g = d * a + l1 * _sign(w) + l2 * w + lea * (w - erow[i])
            m = (a != F0) | allw
            g2sum += ada_step(wrow, arow, brow, i, w, g, m, rho, omr, eps)
    elif need_e:
        for i in range(n):
            w = wrow[i]
            a = prev[i]
            eprev[i] += d * w
            g = d * a + l1 * _sign(w) + l2 * w
            m = (a != F0) | allw
            g2sum += ada_step(wrow, arow, brow, i, w, g, m, rho, omr, eps)
    else:
        for i in range(n):
            w = wrow[i]
            a = prev[i]
            g = d * a + l1 * _sign(w) + l2 * w
            m = (a != F0) | allw
            g2sum += ada_step(wrow, arow, brow, i, w, g, m, rho, omr, eps)
    return g2sum


@njit(inline="always", **_OPTS)
def _update_row(wrow, arow, brow, vrow, erow, lea, prev, d, eprev, need_e, fast,
                l1, l2, rho, eps, adaptive, r, mu, momentum, nesterov):
    """Update the weights ``wrow`` of one unit with error d and inputs ``prev``.

    Accumulates ``eprev += d * w`` (pre-update weights) when ``need_e``.
    Returns the sum of squared weight gradients of the weights actually updated.
    """
    n = wrow.shape[0]
    if adaptive:
        return _ada_loop(wrow, arow, brow, erow, lea, prev, d, eprev, need_e, fast, l1, l2, rho, eps)
    if need_e:
        for i in range(n):
            eprev[i] += d * wrow[i]
    allw = not fast
    if lea != F0:
        for i in range(n):
            w = wrow[i]
            a = prev[i]
            manual_step(wrow, vrow, i, w, d * a + l1 * _sign(w) + l2 * w + lea * (w - erow[i]), (a != F0) | allw, r,
                        mu, momentum, nesterov)
    else:
        for i in range(n):
            w = wrow[i]
            a = prev[i]
            manual_step(wrow, vrow, i, w, d * a + l1 * _sign(w) + l2 * w, (a != F0) | allw, r, mu, momentum,
                        nesterov)
    return F0


@njit(inline="always", **_OPTS)
def _update_row_list(wrow, arow, brow, vrow, erow, lea, prev, idx, nidx, d, fast,
                     l1, l2, rho, eps, adaptive, r, mu, momentum, nesterov):
    """Same as _update_row for the scattered one-hot inputs listed in idx[:nidx]."""
    one_m_rho = F1 - rho
    g2sum = F0
    for k in range(nidx):
        i = idx[k]
        w = wrow[i]
        a = prev[i]
        if fast and a == F0:
            continue
        g = d * a + l1 * _sign(w) + l2 * w + lea * (w - erow[i])
        if adaptive:
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
            manual_step(wrow, vrow, i, w, g, True, r, mu, momentum, nesterov)
    return g2sum


@njit(inline="always", **_OPTS)
def update_bias(bl, abl, bbl, vbl, ebl, lea, rj, d, gm, l1, l2, rho, eps, adaptive, momentum, nesterov, rate, mu):
    """Update bias ``rj`` with error ``d``; ADADELTA state driven by ``gm``, the unit's mean squared
    weight gradient (H2O's bias rule, spec Q7). Returns the step size used (ADADELTA's eta or the
    manual rate)."""
    b = bl[rj]
    gb = d + l1 * _sign(b) + l2 * b + lea * (b - ebl[rj])
    if adaptive:
        bn = rho * bbl[rj] + (F1 - rho) * gm
        bn = bn if bn > TINY else F0
        eta = np.float32(approx_sqrt64((np.float64(abl[rj]) + eps) / (np.float64(bn) + eps)))
        an = rho * abl[rj] + (F1 - rho) * eta * eta * gm
        bbl[rj] = bn
        abl[rj] = an if an > TINY else F0
        bl[rj] = b - eta * gb
        return eta
    manual_step(bl, vbl, rj, b, gb, True, rate, mu, momentum, nesterov)
    return rate


@njit(inline="always", **_OPTS)
def _dot(a, b):
    s = F0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@njit(inline="always", **_OPTS)
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


@njit(**_OPTS)
def train_row(r, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
              W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip,
              act, err, win, dropped, a0clean, cidx, rng, samples):
    """Train on row ``r``; returns the row's training loss.

    ``act``/``err`` hold activations and errors of every layer (offsets ``aoff``),
    ``win`` the maxout winner per hidden unit, ``dropped`` the dropout mask,
    ``cidx`` scratch for the row's active one-hot inputs, ``rng`` the thread's
    RNG state and ``samples`` the number of samples seen (rate schedules).
    """
    L = units.shape[0] - 1
    actc = ip[IP_ACT]
    dist = ip[IP_DIST]
    fast = ip[IP_FAST_MODE] != 0
    adaptive = ip[IP_ADAPTIVE] != 0
    momentum = ip[IP_MOMENTUM] != 0
    nesterov = ip[IP_NESTEROV] != 0
    use_drop = ip[IP_DROPOUT] != 0
    ae = ip[IP_AUTOENCODER] != 0
    has_maxw2 = ip[IP_HAS_MAXW2] != 0
    numoff = ip[IP_NUM_OFFSET]
    rho = np.float32(hp[HP_RHO])
    eps = np.float32(hp[HP_EPS])
    l1 = np.float32(hp[HP_L1])
    l2 = np.float32(hp[HP_L2])
    max_w2 = np.float32(hp[HP_MAX_W2])
    p_in = np.float32(hp[HP_INPUT_DROPOUT])
    sparse = ip[IP_SPARSE] != 0
    beta = np.float32(hp[HP_SPARSITY_BETA])
    avg_act = np.float32(hp[HP_AVG_ACTIVATION])
    lea = np.float32(hp[HP_EA_LAMBDA])  # 0 without elastic averaging (then Ew, Eb are W, B)
    n_in = units[0]
    n_num = xnum.shape[1]
    n_cat = xcat.shape[1]

    # ---- input layer (dense vector, one-hot slots set sparsely) ----
    a0 = act[0:n_in]
    ncidx = 0
    for c in range(n_cat):
        k = xcat[r, c]
        if k >= 0:
            if a0[k] == F0:
                cidx[ncidx] = k
                ncidx += 1
            a0[k] += F1
    a0[numoff:n_in] = xnum[r]
    if ae:
        a0clean[numoff:n_in] = a0[numoff:n_in]
        for k in range(ncidx):
            a0clean[cidx[k]] = a0[cidx[k]]
    if p_in > F0:
        for k in range(ncidx):
            if rand01(rng) < p_in:
                a0[cidx[k]] = F0
        a0n = a0[numoff:n_in]
        for i in range(n_num):
            if rand01(rng) < p_in:
                a0n[i] = F0

    # ---- hidden layers ----
    for l in range(1, L + 1):
        n_prev = units[l - 1]
        n_l = units[l]
        prev = act[aoff[l - 1]:aoff[l - 1] + n_prev]
        cur = act[aoff[l]:aoff[l] + n_l]
        is_out = l == L
        maxout = (actc == MAXOUT) and not is_out
        nrows = n_l * 2 if maxout else n_l
        Wl = W[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
        bl = B[boff[l - 1]:boff[l - 1] + nrows]
        pdrop = hdrop[l - 1] if (use_drop and not is_out) else F0
        for j in range(n_l):
            if pdrop > F0:
                if rand01(rng) < pdrop:
                    cur[j] = F0
                    dropped[aoff[l] + j] = 1
                    win[aoff[l] + j] = 0
                    continue
                dropped[aoff[l] + j] = 0
            if maxout:
                w0 = Wl[2 * j]
                w1 = Wl[2 * j + 1]
                z0 = bl[2 * j]
                z1 = bl[2 * j + 1]
                if l == 1:
                    for k in range(ncidx):
                        z0 += w0[cidx[k]] * a0[cidx[k]]
                        z1 += w1[cidx[k]] * a0[cidx[k]]
                    s0 = _dot(w0[numoff:n_in], prev[numoff:n_in])
                    s1 = _dot(w1[numoff:n_in], prev[numoff:n_in])
                    z0 += s0
                    z1 += s1
                else:
                    s0 = _dot(w0, prev)
                    s1 = _dot(w1, prev)
                    z0 += s0
                    z1 += s1
                if z1 > z0:
                    win[aoff[l] + j] = 1
                    cur[j] = z1
                else:
                    win[aoff[l] + j] = 0
                    cur[j] = z0
            else:
                wr = Wl[j]
                z = bl[j]
                s = F0
                if l == 1:
                    for k in range(ncidx):
                        z += wr[cidx[k]] * a0[cidx[k]]
                    s = _dot(wr[numoff:n_in], prev[numoff:n_in])
                else:
                    s = _dot(wr, prev)
                z += s
                if is_out and not ae:
                    cur[j] = z
                elif actc == TANH:
                    cur[j] = F1 - np.float32(2.0) / (F1 + np.exp(np.float32(2.0) * z))
                else:
                    cur[j] = z if z > F0 else F0
        if sparse and not is_out:  # running mean activation (training passes only: FIX of Q10)
            ra = Ra[aoff[l]:aoff[l] + n_l]
            for j in range(n_l):
                ra[j] = np.float32(0.999) * ra[j] + np.float32(0.001) * cur[j]

    # ---- output error ----
    n_out = units[L]
    out = act[aoff[L]:aoff[L] + n_out]
    dout = err[aoff[L]:aoff[L] + n_out]
    loss = 0.0
    alpha = hp[HP_QUANTILE_ALPHA]
    power = hp[HP_TWEEDIE_POWER]
    delta_h = hp[HP_HUBER_DELTA]
    if ae:
        for s in range(n_out):
            t = a0clean[s]
            dout[s] = np.float32(output_delta(dist, t, out[s], alpha, power, delta_h))
            loss += (t - out[s]) * (t - out[s])
        loss /= n_out
    elif dist == SOFTMAX:
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
            if ip[IP_LOSS] == CROSS_ENTROPY:
                dout[k] = out[k] - t
            else:
                dout[k] = (out[k] - t) * out[k] * (F1 - out[k])
        loss = -np.log(max(out[yk], np.float32(1e-15)))
    else:
        f = out[0] + offs[r]
        out[0] = f
        dout[0] = np.float32(output_delta(dist, y[r], f, alpha, power, delta_h))
        loss = output_loss(dist, y[r], f, alpha, power, delta_h)

    # ---- back-propagation and updates ----
    mu = F0
    if momentum:
        ramp = hp[HP_MOM_RAMP]
        if ramp > 0:
            frac = min(samples, ramp) / ramp
        else:
            frac = 0.0
        mu = np.float32(hp[HP_MOM_START] + (hp[HP_MOM_STABLE] - hp[HP_MOM_START]) * frac)
    shortcut = fast or ((not adaptive) and (not momentum) and l1 == F0 and l2 == F0)
    for l in range(L, 0, -1):
        n_prev = units[l - 1]
        n_l = units[l]
        is_out = l == L
        maxout = (actc == MAXOUT) and not is_out
        nrows = n_l * 2 if maxout else n_l
        Wl = W[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
        Al = Aw[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
        Bl = Bw[woff[l - 1]:woff[l]].reshape((nrows, n_prev))
        Vl = Vw[woff[l - 1]:woff[l]].reshape((nrows, n_prev)) if momentum else Wl
        bl = B[boff[l - 1]:boff[l - 1] + nrows]
        abl = Ab[boff[l - 1]:boff[l - 1] + nrows]
        bbl = Bb[boff[l - 1]:boff[l - 1] + nrows]
        vbl = Vb[boff[l - 1]:boff[l - 1] + nrows] if momentum else bl
        El = Ew[woff[l - 1]:woff[l]].reshape((nrows, n_prev)) if lea != F0 else Wl
        ebl = Eb[boff[l - 1]:boff[l - 1] + nrows] if lea != F0 else bl
        prev = act[aoff[l - 1]:aoff[l - 1] + n_prev]
        cur = act[aoff[l]:aoff[l] + n_l]
        dl = err[aoff[l]:aoff[l] + n_l]
        eprev = err[aoff[l - 1]:aoff[l - 1] + n_prev]
        need_e = l > 1
        if need_e:
            for i in range(n_prev):
                eprev[i] = F0
        if not is_out:
            pdrop = hdrop[l - 1] if use_drop else F0
            for j in range(n_l):
                if pdrop > F0 and dropped[aoff[l] + j] != 0:
                    dl[j] = F0
                elif actc == TANH:
                    dl[j] = dl[j] * (F1 - cur[j] * cur[j])
                elif actc == RECTIFIER:
                    dl[j] = dl[j] if cur[j] > F0 else F0
                # maxout: derivative 1 on the winning channel
        rate = F0
        if not adaptive:
            rate = np.float32(hp[HP_RATE] * hp[HP_RATE_DECAY] ** (l - 1)
                              / (1.0 + hp[HP_RATE_ANNEALING] * samples) * (1.0 - mu))
        inv_fanin = F1 / np.float32(n_prev)
        for j in range(n_l):
            d = dl[j]
            if d == F0 and shortcut:
                continue
            rj = 2 * j + win[aoff[l] + j] if maxout else j
            wrow = Wl[rj]
            arow = Al[rj]
            brow = Bl[rj]
            vrow = Vl[rj]
            erow = El[rj]
            if l == 1 and fast:
                g2sum = _update_row(wrow[numoff:n_in], arow[numoff:n_in], brow[numoff:n_in],
                                    vrow[numoff:n_in] if momentum else vrow, erow[numoff:n_in], lea,
                                    prev[numoff:n_in], d, eprev,
                                    False, fast, l1, l2, rho, eps, adaptive, rate, mu, momentum, nesterov)
                g2sum += _update_row_list(wrow, arow, brow, vrow, erow, lea, prev, cidx, ncidx, d, fast,
                                          l1, l2, rho, eps, adaptive, rate, mu, momentum, nesterov)
            else:
                g2sum = _update_row(wrow, arow, brow, vrow, erow, lea, prev, d, eprev, need_e, fast,
                                    l1, l2, rho, eps, adaptive, rate, mu, momentum, nesterov)
            if has_maxw2:
                max_w2_rescale(wrow, max_w2)
            step = update_bias(bl, abl, bbl, vbl, ebl, lea, rj, d, g2sum * inv_fanin, l1, l2, rho, eps, adaptive,
                               momentum, nesterov, rate, mu)
            if sparse and not is_out:  # sparse autoencoder: pull the mean activation to the target
                bl[rj] -= step * beta * (Ra[aoff[l] + j] - avg_act)

    # reset the sparse one-hot positions of the input vector for the next row
    for k in range(ncidx):
        a0[cidx[k]] = F0
        if ae:
            a0clean[cidx[k]] = F0
    return loss


@njit(**_OPTS)
def _scratch(units, aoff, n_cat):
    tot = aoff[-1]
    act = np.zeros(tot, dtype=np.float32)
    err = np.zeros(tot, dtype=np.float32)
    win = np.zeros(tot, dtype=np.int64)
    dropped = np.zeros(tot, dtype=np.uint8)
    a0clean = np.zeros(units[0], dtype=np.float32)
    cidx = np.zeros(max(n_cat, 1), dtype=np.int64)
    return act, err, win, dropped, a0clean, cidx


@njit(**_OPTS)
def _train_range(order, lo, hi, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                 W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream, samples0):
    act, err, win, dropped, a0clean, cidx = _scratch(units, aoff, xcat.shape[1])
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = mix_seed(seed, stream, lo)
    loss = 0.0
    # H2O counts processed rows per chunk (DeepLearningTask.chunkDone): the learning-rate
    # annealing and momentum of every row of a chunk use the count from before the chunk
    for k in range(lo, hi):
        loss += train_row(order[k], xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                          W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip,
                          act, err, win, dropped, a0clean, cidx, rng, samples0)
    return loss


@njit(**_OPTS)
def train_serial(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                 W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream):
    """Train on rows ``order`` in sequence (one thread, reproducible). Returns the loss sum."""
    return _train_range(order, 0, order.shape[0], xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                        W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream, hp[HP_SAMPLES])


@njit(parallel=True, **_OPTS)
def train_hogwild(order, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                  W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream, n_threads):
    """Lock-free HOGWILD!: ``n_threads`` threads update the same arrays. Returns the loss sum."""
    n = order.shape[0]
    losses = np.zeros(n_threads)
    for t in prange(n_threads):
        lo = n * t // n_threads
        hi = n * (t + 1) // n_threads
        losses[t] = _train_range(order, lo, hi, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                                 W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb, hp, ip, seed, stream * 1024 + t,
                                 hp[HP_SAMPLES] + lo)
    return losses.sum()


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


@njit(parallel=True, **_OPTS)
def _round(order, base, sync_rows, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
           cW, cB, cAw, cBw, cAb, cBb, cVw, cVb, cRa, W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb,
           hp, ip, seed, stream, n_threads, losses, counts):
    n = order.shape[0]
    momentum = ip[IP_MOMENTUM] != 0
    sparse = ip[IP_SPARSE] != 0
    for t in prange(n_threads):
        lo = min(n, base + t * sync_rows)
        hi = min(n, lo + sync_rows)
        counts[t] = hi - lo
        cW[t, :] = W
        cB[t, :] = B
        cAw[t, :] = Aw
        cBw[t, :] = Bw
        cAb[t, :] = Ab
        cBb[t, :] = Bb
        if momentum:
            cVw[t, :] = Vw
            cVb[t, :] = Vb
        if sparse:
            cRa[t, :] = Ra
        if hi > lo:
            losses[t] += _train_range(order, lo, hi, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
                                      cW[t], cB[t], cAw[t], cBw[t], cAb[t], cBb[t], cVw[t], cVb[t], cRa[t],
                                      Ew, Eb, hp, ip, seed, stream * 1048576 + base // max(sync_rows, 1) + t,
                                      hp[HP_SAMPLES] + lo)


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
    cW = np.empty((T, W.shape[0]), np.float32)
    cB = np.empty((T, B.shape[0]), np.float32)
    cAw = np.empty((T, Aw.shape[0]), np.float32)
    cBw = np.empty((T, Bw.shape[0]), np.float32)
    cAb = np.empty((T, Ab.shape[0]), np.float32)
    cBb = np.empty((T, Bb.shape[0]), np.float32)
    cVw = np.empty((T, Vw.shape[0]), np.float32)
    cVb = np.empty((T, Vb.shape[0]), np.float32)
    cRa = np.empty((T, Ra.shape[0]), np.float32)
    consW, consB = W.copy(), B.copy()
    gW, gB = np.zeros_like(W), np.zeros_like(B)
    sparse = ip[IP_SPARSE] != 0
    losses = np.zeros(T)
    counts = np.zeros(T, np.int64)
    momentum = ip[IP_MOMENTUM] != 0
    hp = hp.copy()
    n = order.shape[0]
    base = 0
    while base < n:
        _round(order, base, sync_rows, xnum, xcat, y, offs, units, woff, boff, aoff, hdrop,
               cW, cB, cAw, cBw, cAb, cBb, cVw, cVb, cRa, W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra, Ew, Eb,
               hp, ip, seed, stream, T, losses, counts)
        a = int((counts > 0).sum())  # copies that trained (all but in the last round)
        _merge_momentum(W, consW, gW, cW[:a], a, eta, zeta)
        _merge_momentum(B, consB, gB, cB[:a], a, eta, zeta)
        _merge(Aw, cAw[:a], a)
        _merge(Bw, cBw[:a], a)
        _merge(Ab, cAb[:a], a)
        _merge(Bb, cBb[:a], a)
        if momentum:
            _merge(Vw, cVw[:a], a)
            _merge(Vb, cVb[:a], a)
        if sparse:
            _merge(Ra, cRa[:a], a)
        hp[HP_SAMPLES] += int(counts.sum())
        base += T * sync_rows
    W[:] = consW
    B[:] = consB
    return float(losses.sum())
