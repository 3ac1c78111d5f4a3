"""Correctness of the per-row kernel ``daskdl.kernels.rowsgd`` against the float64
reference in ``tests/reference.py`` (spec sections 2-4, quirk Q5)."""
import math
import os
import sys
import zlib

import numpy as np
import pytest
from conftest import data_path

from daskdl.kernels import rowsgd
from daskdl.kernels.codes import (
    ACTIVATIONS, CROSS_ENTROPY, DISTRIBUTIONS, QUADRATIC, HP_EPS, HP_HUBER_DELTA, HP_INPUT_DROPOUT,
    HP_L1, HP_L2, HP_MAX_W2, HP_MOM_RAMP, HP_MOM_STABLE, HP_MOM_START, HP_QUANTILE_ALPHA, HP_RATE,
    HP_RATE_ANNEALING, HP_RATE_DECAY, HP_RHO, HP_SAMPLES, HP_SIZE, HP_TWEEDIE_POWER, IP_ACT,
    IP_ADAPTIVE, IP_AUTOENCODER, IP_DIST, IP_DROPOUT, IP_FAST_MODE, IP_HAS_MAXW2, IP_LOSS,
    IP_MOMENTUM, IP_NESTEROV, IP_NUM_OFFSET, IP_SIZE, HP_SPARSITY_BETA, HP_AVG_ACTIVATION, IP_SPARSE,
    HP_EA_LAMBDA,
)
from daskdl.model.network import Layout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Config, Net, expand_input, frozen_error_loss, output_error, forward, row_loss
import reference as ref


N_NUM = 5
CAT_LEVELS = (3, 4)
NUMOFF = sum(CAT_LEVELS)  # one-hot block first, then the numerics
N_IN = NUMOFF + N_NUM
HIDDEN = (4, 3)
N_CLASSES = 3
ARRAYS = ("W", "B", "Aw", "Bw", "Ab", "Bb", "Vw", "Vb", "Ra")

SUPERVISED = [("multinomial", "cross_entropy"), ("multinomial", "quadratic"), ("bernoulli", "cross_entropy"),
              ("gaussian", None), ("laplace", None), ("quantile", None), ("huber", None),
              ("poisson", None), ("gamma", None), ("tweedie", None)]
EXACT_GRADIENT = [("multinomial", "cross_entropy"), ("gaussian", None), ("laplace", None),
                  ("quantile", None), ("huber", None), ("poisson", None), ("gamma", None), ("tweedie", None)]

OPTIMIZERS = {
    # H2O defaults: ADADELTA, fast_mode
    "adadelta_fast": dict(adaptive=True, fast_mode=True),
    # ADADELTA without fast_mode, with regularization and a binding max_w2
    "adadelta_reg_maxw2": dict(adaptive=True, rho=0.95, epsilon=1e-6, fast_mode=False, l1=1e-3, l2=1e-2,
                               max_w2=0.8),
    # manual rate, Nesterov momentum ramping up, annealing and decay, fast_mode
    "nesterov": dict(adaptive=False, rate=0.05, rate_annealing=0.01, rate_decay=0.7, momentum_start=0.2,
                     momentum_ramp=4.0, momentum_stable=0.8, nesterov=True, l1=1e-3, l2=1e-2),
    # manual rate, plain momentum, no fast_mode, binding max_w2
    "momentum": dict(adaptive=False, rate=0.05, momentum_start=0.5, momentum_stable=0.5, nesterov=False,
                     fast_mode=False, l2=1e-2, max_w2=0.8),
    # manual rate without momentum or regularization (zero-error units skipped even without fast_mode)
    "plain": dict(adaptive=False, rate=0.02, rate_annealing=0.1, fast_mode=False),
    # manual rate with L1 only, fast_mode
    "l1_fast": dict(adaptive=False, rate=0.02, l1=1e-2),
}


# ---------------------------------------------------------------- helpers

def make_config(act, dist, loss=None, autoencoder=False, **opt):
    return Config(activation=act, distribution=dist, loss=loss or "cross_entropy", autoencoder=autoencoder,
                  quantile_alpha=0.3, tweedie_power=1.5, huber_delta=1.0, **opt)


def n_outputs(cfg):
    if cfg.autoencoder:
        return N_IN
    if cfg.softmax:
        return 2 if cfg.distribution == "bernoulli" else N_CLASSES
    return 1


def make_layout(cfg):
    units = np.array([N_IN, *HIDDEN, n_outputs(cfg)], np.int64)
    dist = "gaussian" if cfg.autoencoder else cfg.distribution
    return Layout(units, ACTIVATIONS[cfg.activation], DISTRIBUTIONS[dist], cfg.autoencoder)


def make_state(lay, cfg, seed, fresh=False):
    """Random weights/biases and (unless ``fresh``) random non-zero optimizer state, float32."""
    rng = np.random.default_rng(seed)
    nw, nb = lay.n_weights, lay.n_biases
    s = {}
    s["W"] = np.empty(nw, np.float32)
    for l in range(1, lay.n_layers + 1):
        r = math.sqrt(6.0 / (lay.units[l - 1] + lay.units[l])) * 1.5
        s["W"][lay.woff[l - 1]:lay.woff[l]] = rng.uniform(-r, r, lay.woff[l] - lay.woff[l - 1])
    s["B"] = rng.uniform(-0.3, 0.3, nb).astype(np.float32)
    zw, zb = np.zeros(nw, np.float32), np.zeros(nb, np.float32)
    s["Aw"] = zw.copy() if fresh else rng.uniform(0, 1e-4, nw).astype(np.float32)
    s["Bw"] = zw.copy() if fresh else rng.uniform(0, 1e-2, nw).astype(np.float32)
    s["Ab"] = zb.copy() if fresh else rng.uniform(0, 1e-4, nb).astype(np.float32)
    s["Bb"] = zb.copy() if fresh else rng.uniform(0, 1e-2, nb).astype(np.float32)
    if cfg.has_momentum:
        s["Vw"] = zw.copy() if fresh else rng.uniform(-0.05, 0.05, nw).astype(np.float32)
        s["Vb"] = zb.copy() if fresh else rng.uniform(-0.05, 0.05, nb).astype(np.float32)
    else:
        s["Vw"] = np.zeros(1, np.float32)
        s["Vb"] = np.zeros(1, np.float32)
    s["Ra"] = (rng.uniform(0, 0.5, int(lay.aoff[-1])).astype(np.float32) if cfg.sparse
               else np.zeros(1, np.float32))
    return s


def make_rows(cfg, n, seed):
    """Encoded rows: 5 numerics, 2 categoricals as global one-hot positions (-1 = none)."""
    rng = np.random.default_rng(seed + 1000)
    xnum = np.ascontiguousarray(rng.normal(0, 1, (n, N_NUM)).astype(np.float32))
    c1 = rng.integers(0, CAT_LEVELS[0], n)
    c2 = CAT_LEVELS[0] + rng.integers(0, CAT_LEVELS[1], n)
    c1[rng.random(n) < 0.3] = -1
    c2[rng.random(n) < 0.3] = -1
    c1[0], c2[-1] = -1, -1  # make sure both columns see a missing entry
    xcat = np.ascontiguousarray(np.stack([c1, c2], 1).astype(np.int32))
    d = cfg.distribution
    if cfg.softmax:
        y = rng.integers(0, n_outputs(cfg), n).astype(np.float32)
    elif d == "poisson":
        y = rng.poisson(1.5, n).astype(np.float32)
    elif d in ("gamma", "tweedie"):
        y = rng.gamma(2.0, 0.7, n).astype(np.float32)
    else:
        y = rng.normal(0, 1.5, n).astype(np.float32)
    if cfg.softmax or cfg.autoencoder:
        offs = np.zeros(n, np.float32)
    else:
        offs = rng.uniform(-0.4, 0.4, n).astype(np.float32)  # negative offsets are added too (Q3 fixed)
    return xnum, xcat, y, offs


def kernel_vectors(cfg, samples=0.0, input_dropout=0.0, dropout=False):
    hp = np.zeros(HP_SIZE, np.float64)
    hp[HP_RHO], hp[HP_EPS] = cfg.rho, cfg.epsilon
    hp[HP_RATE], hp[HP_RATE_ANNEALING], hp[HP_RATE_DECAY] = cfg.rate, cfg.rate_annealing, cfg.rate_decay
    hp[HP_MOM_START], hp[HP_MOM_RAMP], hp[HP_MOM_STABLE] = cfg.momentum_start, cfg.momentum_ramp, cfg.momentum_stable
    hp[HP_L1], hp[HP_L2] = cfg.l1, cfg.l2
    hp[HP_MAX_W2] = cfg.max_w2 if math.isfinite(cfg.max_w2) else 3.4028235e38
    hp[HP_INPUT_DROPOUT] = input_dropout
    hp[HP_QUANTILE_ALPHA], hp[HP_TWEEDIE_POWER], hp[HP_HUBER_DELTA] = (cfg.quantile_alpha, cfg.tweedie_power,
                                                                         cfg.huber_delta)
    hp[HP_SAMPLES] = samples
    ip = np.zeros(IP_SIZE, np.int64)
    ip[IP_ACT] = ACTIVATIONS[cfg.activation]
    ip[IP_DIST] = DISTRIBUTIONS["gaussian" if cfg.autoencoder else cfg.distribution]
    ip[IP_LOSS] = QUADRATIC if cfg.loss == "quadratic" else CROSS_ENTROPY
    ip[IP_ADAPTIVE] = int(cfg.adaptive)
    ip[IP_NESTEROV] = int(cfg.nesterov)
    ip[IP_FAST_MODE] = int(cfg.fast_mode)
    ip[IP_DROPOUT] = int(dropout)
    ip[IP_AUTOENCODER] = int(cfg.autoencoder)
    ip[IP_NUM_OFFSET] = NUMOFF
    ip[IP_MOMENTUM] = int(cfg.has_momentum)
    ip[IP_HAS_MAXW2] = int(math.isfinite(cfg.max_w2))
    hp[HP_SPARSITY_BETA], hp[HP_AVG_ACTIVATION] = cfg.sparsity_beta, cfg.average_activation
    hp[HP_EA_LAMBDA] = cfg.elastic_lambda
    ip[IP_SPARSE] = int(cfg.sparse)
    return hp, ip


def run_kernel(lay, cfg, state, rows, data, samples=0.0, hdrop=None, input_dropout=0.0, seed=7, stream=0):
    """train_serial on ``rows`` from a copy of ``state``; returns (new state, loss sum)."""
    xnum, xcat, y, offs = data
    s = {k: v.copy() for k, v in state.items()}
    dropout = hdrop is not None
    hdrop = np.asarray(hdrop if dropout else np.zeros(len(HIDDEN)), np.float32)
    hp, ip = kernel_vectors(cfg, samples, input_dropout, dropout)
    order = np.asarray(rows, np.int64)
    ew, eb = s.get("Ew", s["W"]), s.get("Eb", s["B"])  # elastic-averaging consensus (none: W, B)
    loss = rowsgd.train_serial(order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop,
                               *(s[a] for a in ARRAYS), ew, eb, hp, ip, seed, stream)
    return s, loss


def ref_net(lay, cfg, state):
    return Net.from_flat(lay.units, cfg.activation, cfg.autoencoder, *(state[a] for a in ARRAYS))


def row_input(data, r):
    xnum, xcat, y, offs = data
    return expand_input(xnum[r], xcat[r], N_IN, NUMOFF), float(y[r]), float(offs[r])


def run_reference(lay, cfg, state, rows, data, samples=0.0, hidden_keeps=None, input_keeps=None):
    net = ref_net(lay, cfg, state)
    loss = 0.0
    for k, r in enumerate(rows):
        x, t, o = row_input(data, r)
        loss += ref.train_row(net, cfg, x, t, o, samples,  # H2O: the count before the chunk
                              None if hidden_keeps is None else hidden_keeps[k],
                              None if input_keeps is None else input_keeps[k])
    return net, loss


def assert_state_close(lay, cfg, kstate, net, rtol=1e-5, what=""):
    names = list(ARRAYS[:8] if cfg.has_momentum else ARRAYS[:6]) + (["Ra"] if cfg.sparse else [])
    for name in names:
        k = kstate[name].astype(np.float64)
        r = net.flat(name)
        scale = max(float(np.abs(r).max()), 1e-30)
        # parameters: absolute slack 1e-6 of the array's scale; optimizer state (gradient-like
        # quantities that can come out of cancellations in float32): 1e-5 of the scale
        slack = 0.1 if name in ("W", "B") else 1.0
        np.testing.assert_allclose(k, r, rtol=rtol, atol=rtol * slack * scale, err_msg=f"{what} array {name}")


# ---------------------------------------------------------------- kernel vs reference

CASES = ([(act, dist, loss, False) for act in ("tanh", "rectifier", "maxout") for dist, loss in SUPERVISED]
         + [("tanh", "gaussian", None, True), ("rectifier", "gaussian", None, True)])


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("act,dist,loss,ae", CASES,
                         ids=[f"{'ae-' if c[3] else ''}{c[0]}-{c[1]}{'-' + c[2] if c[2] else ''}" for c in CASES])
def test_kernel_matches_reference(act, dist, loss, ae, opt):
    cfg = make_config(act, dist, loss, ae, **OPTIMIZERS[opt])
    lay = make_layout(cfg)
    seed = zlib.crc32(repr((act, dist, loss, ae, opt)).encode()) % 10_000
    state = make_state(lay, cfg, seed)
    data = make_rows(cfg, 6, seed)
    samples = 2.0  # inside the momentum ramp and with annealing active
    for rows in ([1], [2, 0, 5]):
        kstate, kloss = run_kernel(lay, cfg, state, rows, data, samples)
        net, rloss = run_reference(lay, cfg, state, rows, data, samples)
        assert_state_close(lay, cfg, kstate, net, what=f"rows {rows}")
        assert kloss == pytest.approx(rloss, rel=1e-4, abs=1e-6)
        # the step really moved the model
        assert not (np.array_equal(kstate["W"], state["W"]) and np.array_equal(kstate["B"], state["B"]))


def test_max_w2_binds_and_holds():
    cfg = make_config("tanh", "gaussian", **OPTIMIZERS["adadelta_reg_maxw2"])
    lay = make_layout(cfg)
    state = make_state(lay, cfg, 3)
    data = make_rows(cfg, 4, 3)
    kstate, _ = run_kernel(lay, cfg, state, [0], data)
    for l in range(1, lay.n_layers + 1):
        rows = lay.rows(l)
        w0 = state["W"][lay.woff[l - 1]:lay.woff[l]].reshape(rows, -1).astype(np.float64)
        w1 = kstate["W"][lay.woff[l - 1]:lay.woff[l]].reshape(rows, -1).astype(np.float64)
        assert ((w0 ** 2).sum(1) > cfg.max_w2).any()  # the constraint is binding for this state
        changed = (w0 != w1).any(1)
        assert changed.all()  # no fast_mode, L1/L2 on: every unit is updated
        # H2O rescales with its approximate square root (at most 4.5 % above the exact one)
        assert ((w1 ** 2).sum(1) <= cfg.max_w2 * 1.0444 ** 2 * (1 + 1e-5)).all()


def test_fast_mode_leaves_zero_input_weights_untouched():
    cfg = make_config("rectifier", "gaussian", adaptive=True, fast_mode=True, l2=1e-2)
    lay = make_layout(cfg)
    state = make_state(lay, cfg, 11)
    data = make_rows(cfg, 4, 11)
    data[1][0] = (-1, 4)  # one missing categorical, level 1 of the second one
    kstate, _ = run_kernel(lay, cfg, state, [0], data)
    w0 = state["W"][:lay.woff[1]].reshape(HIDDEN[0], N_IN)
    w1 = kstate["W"][:lay.woff[1]].reshape(HIDDEN[0], N_IN)
    ch = w0 != w1
    updated = ch.any(1)
    assert updated.any()
    # only the active one-hot slot and the numerics move, for updated units
    assert not ch[:, [k for k in range(NUMOFF) if k != 4]].any()
    assert ch[updated][:, [4, *range(NUMOFF, N_IN)]].all()
    # untouched weights keep their ADADELTA state as well
    a0, a1 = state["Bw"][:lay.woff[1]].reshape(HIDDEN[0], N_IN), kstate["Bw"][:lay.woff[1]].reshape(HIDDEN[0], N_IN)
    assert np.array_equal(a0[:, :4], a1[:, :4])
    # the same without fast_mode: with L2 every weight moves
    cfg2 = make_config("rectifier", "gaussian", adaptive=True, fast_mode=False, l2=1e-2)
    kstate2, _ = run_kernel(lay, cfg2, state, [0], data)
    assert (state["W"] != kstate2["W"]).all()


# ---------------------------------------------------------------- gradient checks

def _param_refs(net):
    for l in range(1, net.n_layers + 1):
        for arr in (net.W[l], net.b[l]):
            for idx in np.ndindex(arr.shape):
                yield arr, idx


def numerical_gradient(net, fun, h=1e-6):
    g = []
    for arr, idx in _param_refs(net):
        old = arr[idx]
        arr[idx] = old + h
        fp = fun(net)
        arr[idx] = old - h
        fm = fun(net)
        arr[idx] = old
        g.append((fp - fm) / (2 * h))
    return np.array(g)


def flat_params(net):
    return np.concatenate([np.concatenate([net.W[l].ravel(), net.b[l]]) for l in range(1, net.n_layers + 1)])


GRAD_CASES = ([(act, dist, loss, False) for act in ("tanh", "rectifier", "maxout") for dist, loss in SUPERVISED
               if (dist, loss) != ("bernoulli", "cross_entropy")]
              + [("tanh", "gaussian", None, True), ("rectifier", "gaussian", None, True)])


@pytest.mark.parametrize("fast_mode", [True, False])
@pytest.mark.parametrize("act,dist,loss,ae", GRAD_CASES,
                         ids=[f"{'ae-' if c[3] else ''}{c[0]}-{c[1]}{'-' + c[2] if c[2] else ''}" for c in GRAD_CASES])
def test_gradient_check(act, dist, loss, ae, fast_mode):
    """Manual rate, no momentum / regularization: the step is -r * gradient.

    Where H2O's output error is a true gradient (softmax cross-entropy, every regression
    distribution) the reference step is checked against central differences of the
    loss; for softmax quadratic (diagonal Jacobian) and the autoencoder (Q5: no output
    activation derivative) the back-propagation is checked against the loss
    ``sum_k error_k z_k`` with the output error frozen, and the error itself against
    its definition.  The kernel's step is then compared with the reference's.
    """
    r = 1e-3
    cfg = make_config(act, dist, loss, ae, adaptive=False, rate=r, fast_mode=fast_mode)
    lay = make_layout(cfg)
    seed = zlib.crc32(repr((act, dist, loss, ae)).encode()) % 10_000
    state = make_state(lay, cfg, seed, fresh=True)
    data = make_rows(cfg, 3, seed)
    x, t, o = row_input(data, 1)
    net0 = ref_net(lay, cfg, state)
    net1 = net0.copy()
    ref.train_row(net1, cfg, x, t, o)
    g_ref = (flat_params(net1) - flat_params(net0)) / -r
    assert np.abs(g_ref).max() > 1e-3

    acts, _ = forward(net0, x)
    err = output_error(cfg, acts[-1], x if ae else t, o)
    if (dist, loss) in EXACT_GRADIENT and not ae:
        g_num = numerical_gradient(net0.copy(), lambda n: row_loss(cfg, n, x, t, o))
        # the output error is the derivative of the loss in the link-space output
        f = acts[-1].copy()
        if not cfg.softmax:
            h = 1e-6
            d_num = (ref.regression_deviance(cfg, t, f[0] + o + h) - ref.regression_deviance(cfg, t, f[0] + o - h)) / (2 * h)
            assert err[0] == pytest.approx(d_num, rel=1e-6, abs=1e-8)
    else:
        g_num = numerical_gradient(net0.copy(), lambda n: frozen_error_loss(n, x, err))
        h = 1e-6
        for k in range(err.shape[0]):
            if ae:  # error = d deviance / d output activation (not d / d z)
                want = (ref.regression_deviance(cfg, x[k], acts[-1][k] + h)
                        - ref.regression_deviance(cfg, x[k], acts[-1][k] - h)) / (2 * h)
            else:  # (p_k - t_k) * d p_k / d z_k
                zp, zm = acts[-1].copy(), acts[-1].copy()
                zp[k] += h
                zm[k] -= h
                dp = (ref.softmax(zp)[k] - ref.softmax(zm)[k]) / (2 * h)
                want = (ref.softmax(acts[-1])[k] - (k == int(t))) * dp
            assert err[k] == pytest.approx(want, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(g_ref, g_num, rtol=1e-5, atol=1e-7)

    kstate, _ = run_kernel(lay, cfg, state, [1], data)
    knet = ref_net(lay, cfg, kstate)
    g_k = (flat_params(knet) - flat_params(net0)) / -r
    np.testing.assert_allclose(g_k, g_ref, rtol=1e-3, atol=2e-4 * max(1.0, np.abs(g_ref).max()))


# ---------------------------------------------------------------- dropout

def test_dropout_is_reproducible():
    cfg = make_config("maxout", "multinomial", adaptive=True, fast_mode=True)
    lay = make_layout(cfg)
    state = make_state(lay, cfg, 5)
    data = make_rows(cfg, 20, 5)
    rows = list(range(20))
    kw = dict(hdrop=[0.5, 0.5], input_dropout=0.2, seed=123, stream=4)
    s1, l1 = run_kernel(lay, cfg, state, rows, data, **kw)
    s2, l2 = run_kernel(lay, cfg, state, rows, data, **kw)
    for a in ARRAYS:
        assert np.array_equal(s1[a], s2[a])
    assert l1 == l2
    s3, _ = run_kernel(lay, cfg, state, rows, data, **dict(kw, seed=124))
    assert not np.array_equal(s1["W"], s3["W"])


def _unit_changed(lay, state, kstate, l):
    b0 = state["B"][lay.boff[l - 1]:lay.boff[l]]
    b1 = kstate["B"][lay.boff[l - 1]:lay.boff[l]]
    ch = b0 != b1
    if lay.is_maxout(l):
        ch = ch.reshape(-1, 2).any(1)
    return ch


@pytest.mark.parametrize("act,fast_mode", [("tanh", True), ("maxout", True), ("tanh", False)])
def test_hidden_dropout_semantics(act, fast_mode):
    """Hidden dropout 0.5: about half of the units are dropped (their bias untouched);
    with the masks read back from the kernel the reference reproduces the step, i.e. a
    dropped unit has no bias, activation 0, error 0 (Q6 fixed).  Without fast_mode a
    dropped unit still gets its zero-error ADADELTA step (state decay)."""
    cfg = make_config(act, "gaussian", adaptive=True, fast_mode=fast_mode)
    lay = make_layout(cfg)
    state = make_state(lay, cfg, 17)
    n = 300
    data = make_rows(cfg, n, 17)
    top = len(HIDDEN)
    dropped_top = 0
    for r in range(n):
        kstate, _ = run_kernel(lay, cfg, state, [r], data, hdrop=[0.5, 0.5], seed=99, stream=r)
        keeps = [_unit_changed(lay, state, kstate, l) for l in range(1, top + 1)]
        dropped_top += int((~keeps[-1]).sum())
        if r < 40:
            net, _ = run_reference(lay, cfg, state, [r], data, hidden_keeps=[keeps])
            assert_state_close(lay, cfg, kstate, net, what=f"row {r}")
    frac = dropped_top / (n * HIDDEN[-1])
    assert 0.44 < frac < 0.56, frac


def test_input_dropout_autoencoder_denoises():
    """Input dropout 0.5: about half of the inputs are dropped (first-layer weights of
    those inputs untouched in fast_mode); the reconstruction target is the clean input."""
    cfg = make_config("tanh", "gaussian", autoencoder=True, adaptive=True, fast_mode=True)
    lay = make_layout(cfg)
    state = make_state(lay, cfg, 23)
    n = 200
    data = make_rows(cfg, n, 23)
    dropped = 0
    for r in range(n):
        kstate, _ = run_kernel(lay, cfg, state, [r], data, input_dropout=0.5, seed=5, stream=r)
        w0 = state["W"][:lay.woff[1]].reshape(HIDDEN[0], N_IN)
        w1 = kstate["W"][:lay.woff[1]].reshape(HIDDEN[0], N_IN)
        keep_in = (w0 != w1).any(0)
        dropped += int((~keep_in[NUMOFF:]).sum())  # numerics are never 0; inactive one-hots always are
        if r < 30:
            net, _ = run_reference(lay, cfg, state, [r], data, input_keeps=[keep_in])
            assert_state_close(lay, cfg, kstate, net, what=f"row {r}")
    frac = dropped / (n * N_NUM)
    assert 0.43 < frac < 0.57, frac


# ---------------------------------------------------------------- real data

def test_iris_rows_match_reference():
    import pandas as pd
    df = pd.read_csv(data_path("iris.csv"))
    num = df.select_dtypes("number")
    X = ((num - num.mean()) / num.std()).to_numpy(np.float32)
    species = pd.factorize(df.iloc[:, -1])[0]
    assert X.shape[1] == 4 and species.max() == 2
    cfg = make_config("rectifier", "multinomial", adaptive=True, fast_mode=True)
    units = np.array([4, 5, 3], np.int64)
    lay = Layout(units, ACTIVATIONS["rectifier"], DISTRIBUTIONS["multinomial"], False)
    state = make_state(lay, cfg, 1, fresh=True)
    xcat = np.zeros((len(X), 0), np.int32)
    data = (np.ascontiguousarray(X), xcat, species.astype(np.float32), np.zeros(len(X), np.float32))
    rng = np.random.default_rng(0)
    rows = np.concatenate([rng.permutation(len(X)) for _ in range(5)])
    hp, ip = kernel_vectors(cfg)
    ip[IP_NUM_OFFSET] = 0
    s = {k: v.copy() for k, v in state.items()}
    rowsgd.train_serial(rows.astype(np.int64), *data, lay.units, lay.woff, lay.boff, lay.aoff,
                        np.zeros(1, np.float32), *(s[a] for a in ARRAYS), s["W"], s["B"], hp, ip, 1, 0)
    net = ref_net(lay, cfg, state)
    for k, r in enumerate(rows):
        ref.train_row(net, cfg, X[r].astype(np.float64), float(species[r]), samples=0)
    assert_state_close(lay, cfg, s, net, rtol=1e-4)
    # and the model learned something on these rows: training accuracy over all rows
    acts = [forward(net, X[i].astype(np.float64))[0][-1].argmax() for i in range(len(X))]
    assert (np.array(acts) == species).mean() > 0.7  # chance is 1/3


SPARSE_CASES = [(act, opt) for act in ("tanh", "rectifier") for opt in ("adadelta_fast", "nesterov", "plain")]


@pytest.mark.parametrize("act,opt", SPARSE_CASES, ids=[f"{a}-{o}" for a, o in SPARSE_CASES])
def test_sparse_autoencoder_matches_reference(act, opt):
    """Spec 4.5: running mean activations and the bias pull toward average_activation."""
    cfg = make_config(act, "gaussian", None, True, sparsity_beta=0.7, average_activation=0.1, **OPTIMIZERS[opt])
    lay = make_layout(cfg)
    seed = zlib.crc32(repr(("sparse", act, opt)).encode()) % 10_000
    state = make_state(lay, cfg, seed)
    data = make_rows(cfg, 6, seed)
    for rows in ([1], [2, 0, 5]):
        kstate, kloss = run_kernel(lay, cfg, state, rows, data, 2.0)
        net, rloss = run_reference(lay, cfg, state, rows, data, 2.0)
        assert_state_close(lay, cfg, kstate, net, what=f"rows {rows}")
        assert kloss == pytest.approx(rloss, rel=1e-4, abs=1e-6)
    # the sparsity term is what moved the hidden biases: without it they end elsewhere
    dense = make_config(act, "gaussian", None, True, **OPTIMIZERS[opt])
    dstate, _ = run_kernel(lay, dense, {**state, "Ra": np.zeros(1, np.float32)}, [2, 0, 5], data, 2.0)
    hb = slice(0, int(lay.boff[len(HIDDEN)]))
    assert not np.allclose(kstate["B"][hb], dstate["B"][hb])
    # running activations moved and only on hidden units
    moved = kstate["Ra"] != state["Ra"]
    assert moved[lay.aoff[1]:lay.aoff[len(HIDDEN) + 1]].any()
    assert not moved[:lay.aoff[1]].any() and not moved[lay.aoff[len(HIDDEN) + 1]:].any()


@pytest.mark.parametrize("opt", ["adadelta_fast", "nesterov", "adadelta_reg_maxw2"])
@pytest.mark.parametrize("act", ["tanh", "rectifier", "maxout"])
def test_elastic_averaging_term_matches_reference(act, opt):
    """Spec 5.5: every weight and bias gradient gets lambda * (w - consensus w)."""
    cfg = make_config(act, "multinomial", "cross_entropy", False, elastic_lambda=0.05, **OPTIMIZERS[opt])
    lay = make_layout(cfg)
    seed = zlib.crc32(repr(("ea", act, opt)).encode()) % 10_000
    state = make_state(lay, cfg, seed)
    rng = np.random.default_rng(seed + 7)
    state["Ew"] = (state["W"] + rng.normal(0, 0.2, state["W"].shape)).astype(np.float32)
    state["Eb"] = (state["B"] + rng.normal(0, 0.2, state["B"].shape)).astype(np.float32)
    data = make_rows(cfg, 6, seed)
    for rows in ([1], [2, 0, 5]):
        kstate, kloss = run_kernel(lay, cfg, state, rows, data, 2.0)
        net = ref_net(lay, cfg, state)
        cnet = Net.from_flat(lay.units, cfg.activation, cfg.autoencoder, state["Ew"], state["Eb"],
                             *(state[a] for a in ARRAYS[2:8]))
        net.consensus = (cnet.W, cnet.b)
        rloss = 0.0
        for k, r in enumerate(rows):
            x, t, o = row_input(data, r)
            rloss += ref.train_row(net, cfg, x, t, o, 2.0)  # H2O: the count before the chunk
        assert_state_close(lay, cfg, kstate, net, what=f"rows {rows}")
        assert kloss == pytest.approx(rloss, rel=1e-4, abs=1e-6)
    # the term matters: without it the weights end elsewhere
    plain = make_config(act, "multinomial", "cross_entropy", False, **OPTIMIZERS[opt])
    pstate, _ = run_kernel(lay, plain, {k: v for k, v in state.items() if k not in ("Ew", "Eb")}, [2, 0, 5], data, 2.0)
    assert not np.allclose(pstate["W"], kstate["W"])


def test_hidden_dropout_masks_shared_across_layers():
    """H2O seeds every hidden layer's dropout mask of a row with the same seed, so a row keeps or
    drops unit j in every hidden layer alike (the narrower layer's mask is the wider one's start,
    for equal ratios); with unequal ratios a unit dropped at the smaller ratio is dropped at the
    larger one too."""
    cfg = make_config("tanh", "gaussian", adaptive=True, fast_mode=True)  # every kept unit takes a step
    lay = make_layout(cfg)
    state = make_state(lay, cfg, 17)
    data = make_rows(cfg, 200, 17)
    n2 = HIDDEN[1]
    kept = 0
    for r in range(200):
        kstate, _ = run_kernel(lay, cfg, state, [r], data, hdrop=[0.5, 0.5], seed=99, stream=r)
        k1, k2 = (_unit_changed(lay, state, kstate, l) for l in (1, 2))
        assert np.array_equal(k1[:n2], k2), r
        kept += int(k1.sum())
        kstate, _ = run_kernel(lay, cfg, state, [r], data, hdrop=[0.2, 0.6], seed=99, stream=r)
        k1, k2 = (_unit_changed(lay, state, kstate, l) for l in (1, 2))
        assert not np.any(k2 & ~k1[:n2]), r  # dropped at 0.2 -> dropped at 0.6
    assert 0.35 < kept / (200 * HIDDEN[0]) < 0.65
