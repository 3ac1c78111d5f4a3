"""Mini-batch kernel: equivalence with the per-row kernel at batch size 1, one batch
step against a float64 NumPy reference, learning on real data, determinism."""

import numpy as np
import pytest
from conftest import data_path
from reference import approx_sqrt, approx_sqrt64

from daskdl.kernels import minibatch, rowsgd
from daskdl.kernels.codes import (
    TANH, RECTIFIER, MAXOUT, SOFTMAX, GAUSSIAN, CROSS_ENTROPY, HP_SIZE, HP_RHO, HP_EPS, HP_RATE,
    HP_RATE_ANNEALING, HP_RATE_DECAY, HP_MOM_START, HP_MOM_RAMP, HP_MOM_STABLE, HP_L1, HP_L2,
    HP_MAX_W2, HP_INPUT_DROPOUT, HP_HUBER_DELTA, HP_QUANTILE_ALPHA, HP_TWEEDIE_POWER, HP_SAMPLES, IP_SIZE,
    IP_ACT, IP_DIST, IP_LOSS, IP_ADAPTIVE, IP_NESTEROV, IP_FAST_MODE, IP_DROPOUT, IP_NUM_OFFSET, IP_AUTOENCODER,
    IP_MOMENTUM, IP_HAS_MAXW2,
)
from daskdl.model.network import Layout, Network, forward



def _params(act, dist, adaptive=True, fast=True, l1=1e-4, l2=1e-4, momentum=False, nesterov=True,
            max_w2=3.4028235e38, numoff=0, input_dropout=0.0, dropout=False):
    hp = np.zeros(HP_SIZE)
    hp[HP_RHO] = 0.99
    hp[HP_EPS] = 1e-8
    hp[HP_RATE] = 0.01
    hp[HP_RATE_ANNEALING] = 1e-4
    hp[HP_RATE_DECAY] = 0.9
    hp[HP_MOM_START] = 0.5 if momentum else 0.0
    hp[HP_MOM_RAMP] = 100.0
    hp[HP_MOM_STABLE] = 0.9 if momentum else 0.0
    hp[HP_L1] = l1
    hp[HP_L2] = l2
    hp[HP_MAX_W2] = max_w2
    hp[HP_INPUT_DROPOUT] = input_dropout
    hp[HP_HUBER_DELTA] = 1.0
    hp[HP_QUANTILE_ALPHA] = 0.5
    hp[HP_TWEEDIE_POWER] = 1.5
    ip = np.zeros(IP_SIZE, np.int64)
    ip[IP_ACT] = act
    ip[IP_DIST] = dist
    ip[IP_LOSS] = CROSS_ENTROPY
    ip[IP_ADAPTIVE] = int(adaptive)
    ip[IP_NESTEROV] = int(nesterov)
    ip[IP_FAST_MODE] = int(fast)
    ip[IP_DROPOUT] = int(dropout)
    ip[IP_NUM_OFFSET] = numoff
    ip[IP_MOMENTUM] = int(momentum)
    ip[IP_HAS_MAXW2] = int(max_w2 < 1e38)
    return hp, ip


def _tiny_data(n=60, seed=0, classes=3):
    """Two categoricals (3 and 2 levels -> input positions 0..4) and 4 numerics (some exact zeros)."""
    rng = np.random.default_rng(seed)
    xnum = rng.standard_normal((n, 4)).astype(np.float32)
    xnum[rng.random((n, 4)) < 0.2] = 0.0
    c0 = rng.integers(0, 3, n)
    c1 = rng.integers(0, 2, n) + 3
    c1[rng.random(n) < 0.1] = -1  # missing level: no one-hot position
    xcat = np.ascontiguousarray(np.stack([c0, c1], 1).astype(np.int32))
    y = rng.integers(0, classes, n).astype(np.float32) if classes else \
        (xnum[:, 0] - 0.5 * xnum[:, 1] + 0.3 * (c0 == 1)).astype(np.float32)
    offs = (0.1 * rng.standard_normal(n)).astype(np.float32)
    return np.ascontiguousarray(xnum), xcat, y, offs


def _net(units, act, dist, momentum=False, seed=3):
    lay = Layout(np.asarray(units), act, dist, False)
    net = Network(lay, momentum=momentum)
    net.initialize("uniform_adaptive", 1.0, seed, dist == SOFTMAX)
    return lay, net


def _same_as_per_row(net, common, hp, ip):
    """Train copies of ``net`` with the per-row kernel and with batches of one; both must agree
    (loss and every state array). Returns the two trained copies."""
    a, b = net.copy(), net.copy()
    la = rowsgd.train_serial(*common, *a.arrays(), hp, ip, 5, 0)
    lb = minibatch.train_minibatch(*common, *b.arrays(), hp, ip, 5, 0, 1)
    assert lb == pytest.approx(la, rel=1e-4)
    for name in Network.ARRAYS:
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-4, atol=2e-5, err_msg=name)
    return a, b


@pytest.mark.parametrize("act", [TANH, RECTIFIER, MAXOUT])
@pytest.mark.parametrize("dist", [SOFTMAX, GAUSSIAN])
@pytest.mark.parametrize("fast", [True, False])
def test_batch_one_equals_per_row_kernel(act, dist, fast):
    xnum, xcat, y, offs = _tiny_data(classes=3 if dist == SOFTMAX else 0)
    n_out = 3 if dist == SOFTMAX else 1
    lay, net = _net([5 + 4, 7, 6, n_out], act, dist)
    hp, ip = _params(act, dist, fast=fast, numoff=5)
    hdrop = np.zeros(2, np.float32)
    order = np.random.default_rng(1).permutation(len(y)).astype(np.int64)
    common = (order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop)
    a, b = _same_as_per_row(net, common, hp, ip)
    # something was learned (the test would pass trivially if nothing moved)
    assert np.abs(b.W - net.W).max() > 1e-3


@pytest.mark.parametrize("nesterov", [True, False])
def test_batch_one_equals_per_row_kernel_manual_rate(nesterov):
    xnum, xcat, y, offs = _tiny_data(classes=0)
    lay, net = _net([9, 6, 1], TANH, GAUSSIAN, momentum=True)
    hp, ip = _params(TANH, GAUSSIAN, adaptive=False, fast=False, momentum=True, nesterov=nesterov,
                     max_w2=2.0, numoff=5)
    hdrop = np.zeros(1, np.float32)
    order = np.arange(len(y), dtype=np.int64)
    common = (order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop)
    a, b = _same_as_per_row(net, common, hp, ip)
    assert (b.weight(1).astype(np.float64) ** 2).sum(1).max() <= 2.0 * (1 + 1e-5)


def _reference_step(lay, net, x, y, hp, fast):
    """One mean-gradient ADADELTA step of a rectifier/softmax net in float64."""
    L = lay.n_layers
    W = [net.weight(l).astype(np.float64) for l in range(1, L + 1)]
    b = [net.bias(l).astype(np.float64) for l in range(1, L + 1)]
    Aw = [net.Aw[lay.woff[l - 1]:lay.woff[l]].reshape(W[l - 1].shape).astype(np.float64) for l in range(1, L + 1)]
    Bw = [net.Bw[lay.woff[l - 1]:lay.woff[l]].reshape(W[l - 1].shape).astype(np.float64) for l in range(1, L + 1)]
    Ab = [net.Ab[lay.boff[l - 1]:lay.boff[l]].astype(np.float64) for l in range(1, L + 1)]
    Bb = [net.Bb[lay.boff[l - 1]:lay.boff[l]].astype(np.float64) for l in range(1, L + 1)]
    rho, eps, l1, l2 = hp[HP_RHO], hp[HP_EPS], hp[HP_L1], hp[HP_L2]
    m = len(x)
    acts = [x.astype(np.float64)]
    for l in range(L):
        z = acts[-1] @ W[l].T + b[l]
        if l < L - 1:
            acts.append(np.maximum(z, 0))
        else:
            z = z - z.max(1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
            acts.append(p)
    t = np.eye(W[-1].shape[0])[y.astype(int)]
    loss = -np.log(acts[-1][np.arange(m), y.astype(int)]).sum()
    d = (acts[-1] - t) / m
    out = []
    for l in range(L - 1, -1, -1):
        g0 = d.T @ acts[l]
        gb0 = d.sum(0)
        e = d @ W[l]  # pre-update weights
        g = g0 + l1 * np.sign(W[l]) + l2 * W[l]
        upd = (g0 != 0) if fast else np.ones_like(g0, bool)
        unit = (d != 0).any(0) if fast else np.ones(len(gb0), bool)
        upd &= unit[:, None]
        Bn = rho * Bw[l] + (1 - rho) * g * g
        eta = approx_sqrt((Aw[l] + eps) / (Bn + eps))  # H2O's approximate root
        An = rho * Aw[l] + (1 - rho) * eta * eta * g * g
        Wn = np.where(upd, W[l] - eta * g, W[l])
        An, Bn = np.where(upd, An, Aw[l]), np.where(upd, Bn, Bw[l])
        gm = np.where(upd, g * g, 0).sum(1) / W[l].shape[1]
        gbr = gb0 + l1 * np.sign(b[l]) + l2 * b[l]
        Bbn = rho * Bb[l] + (1 - rho) * gm
        etab = approx_sqrt64((Ab[l] + eps) / (Bbn + eps))
        Abn = rho * Ab[l] + (1 - rho) * etab * etab * gm
        bn = b[l] - etab * gbr
        out.append((l + 1, np.where(unit[:, None], Wn, W[l]), np.where(unit, bn, b[l]),
                    An, Bn, np.where(unit, Abn, Ab[l]), np.where(unit, Bbn, Bb[l])))
        if l > 0:
            d = e * (acts[l] > 0)
    return loss, out


@pytest.mark.parametrize("fast", [True, False])
def test_one_batch_step_matches_float64_reference(fast):
    rng = np.random.default_rng(7)
    m, p = 12, 10
    x = rng.standard_normal((m, p)).astype(np.float32)
    x[:, 3] = 0.0  # a zero input column: its weights have a zero mean gradient
    x[rng.random((m, p)) < 0.1] = 0.0
    y = rng.integers(0, 4, m).astype(np.float32)
    lay, net = _net([p, 8, 6, 4], RECTIFIER, SOFTMAX)
    # non-trivial optimizer state
    net.Aw[:] = rng.random(net.Aw.shape).astype(np.float32) * 1e-4
    net.Bw[:] = rng.random(net.Bw.shape).astype(np.float32) * 1e-3
    net.Ab[:] = rng.random(net.Ab.shape).astype(np.float32) * 1e-4
    net.Bb[:] = rng.random(net.Bb.shape).astype(np.float32) * 1e-3
    hp, ip = _params(RECTIFIER, SOFTMAX, fast=fast, l1=1e-3, l2=1e-3)
    ref_loss, ref = _reference_step(lay, net, x, y, hp, fast)
    got = net.copy()
    loss = minibatch.train_minibatch(np.arange(m, dtype=np.int64), x, np.zeros((m, 0), np.int32), y,
                                     np.zeros(m, np.float32), lay.units, lay.woff, lay.boff, lay.aoff,
                                     np.zeros(2, np.float32), *got.arrays(), hp, ip, 1, 0, m)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for l, Wn, bn, An, Bn, Abn, Bbn in ref:
        sl = slice(lay.woff[l - 1], lay.woff[l])
        sb = slice(lay.boff[l - 1], lay.boff[l])
        np.testing.assert_allclose(got.weight(l), Wn, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.bias(l), bn, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.Aw[sl].reshape(Wn.shape), An, rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(got.Bw[sl].reshape(Wn.shape), Bn, rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(got.Ab[sb], Abn, rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(got.Bb[sb], Bbn, rtol=1e-4, atol=1e-9)
    w1 = got.weight(1)
    if fast:  # fast_mode: the weights of the all-zero input column are untouched
        assert np.array_equal(w1[:, 3], net.weight(1)[:, 3])
        assert np.array_equal(got.Bw[:w1.size].reshape(w1.shape)[:, 3], net.Bw[:w1.size].reshape(w1.shape)[:, 3])
    else:  # regularisation moves them
        assert not np.array_equal(w1[:, 3], net.weight(1)[:, 3])


def _digits():
    import pandas as pd
    df = pd.read_csv(data_path("sklearn_digits.csv.gz"))
    X = df.drop(columns="target").to_numpy(np.float64)
    y = df["target"].to_numpy()
    X = X[:, X.max(0) != X.min(0)]
    X = (X - X.mean(0)) / X.std(0, ddof=1)
    return np.ascontiguousarray(X.astype(np.float32)), y.astype(np.float32)


def _digits_setup(act=RECTIFIER):
    X, y = _digits()
    lay, net = _net([X.shape[1], 32, 32, 10], act, SOFTMAX, seed=11)
    hp, ip = _params(act, SOFTMAX, l1=1e-5, l2=0.0, input_dropout=0.1, dropout=True)
    hdrop = np.array([0.2, 0.2], np.float32)
    xcat = np.zeros((len(X), 0), np.int32)
    offs = np.zeros(len(X), np.float32)
    return X, y, xcat, offs, lay, net, hp, ip, hdrop


@pytest.mark.parametrize("act,n_threads", [(RECTIFIER, 1), (MAXOUT, 1), (TANH, 2)])
def test_learns_digits(act, n_threads):
    X, y, xcat, offs, lay, net, hp, ip, hdrop = _digits_setup(act)
    n = len(X)
    tr, te = np.arange(n) < 1400, np.arange(n) >= 1400
    rng = np.random.default_rng(0)
    losses = []
    for ep in range(12):
        order = rng.permutation(np.flatnonzero(tr)).astype(np.int64)
        loss = minibatch.train_minibatch(order, X, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff,
                                         hdrop, *net.arrays(), hp, ip, 3, ep, 8, n_threads)
        hp[HP_SAMPLES] += len(order)
        losses.append(loss / len(order))
    assert np.isfinite(net.W).all()
    assert losses[-1] < 0.5 * losses[0]
    p = forward(net, X[te], xcat[te], 0, hidden_dropout=hdrop)
    acc = (p.argmax(1) == y[te]).mean()
    assert acc > 0.85


def test_deterministic_with_one_thread():
    X, y, xcat, offs, lay, net, hp, ip, hdrop = _digits_setup()
    order = np.random.default_rng(2).permutation(len(X)).astype(np.int64)
    res = []
    for _ in range(2):
        c = net.copy()
        loss = minibatch.train_minibatch(order, X, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff,
                                         hdrop, *c.arrays(), hp, ip, 9, 1, 32, 1)
        res.append((loss, c))
    assert res[0][0] == res[1][0]
    for name in Network.ARRAYS:
        assert np.array_equal(getattr(res[0][1], name), getattr(res[1][1], name)), name
    # another seed draws other dropout masks
    c = net.copy()
    minibatch.train_minibatch(order, X, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff,
                              hdrop, *c.arrays(), hp, ip, 10, 1, 32, 1)
    assert not np.array_equal(c.W, res[0][1].W)


def test_input_dropout_rate():
    """About p_in of the inputs are dropped: with zero-initialised first-layer weights only the
    biases and the kept inputs move, so the fraction of untouched first-layer weights after one
    batch row (fast_mode) estimates p_in."""
    rng = np.random.default_rng(0)
    p = 400
    x = rng.standard_normal((1, p)).astype(np.float32) + 3.0
    lay, net = _net([p, 4, 2], RECTIFIER, SOFTMAX)
    hp, ip = _params(RECTIFIER, SOFTMAX, l1=0.0, l2=0.0, input_dropout=0.25)
    before = net.weight(1).copy()
    minibatch.train_minibatch(np.zeros(1, np.int64), x, np.zeros((1, 0), np.int32), np.zeros(1, np.float32),
                              np.zeros(1, np.float32), lay.units, lay.woff, lay.boff, lay.aoff,
                              np.zeros(1, np.float32), *net.arrays(), hp, ip, 4, 0, 1)
    moved = net.weight(1) != before
    units = moved.any(1)
    assert units.any()
    frac = 1.0 - moved[units].mean()
    assert 0.18 < frac < 0.32


def test_argument_errors():
    X, y, xcat, offs, lay, net, hp, ip, hdrop = _digits_setup()
    order = np.arange(10, dtype=np.int64)
    args = (order, X, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop, *net.arrays(), hp, ip, 1, 0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        minibatch.train_minibatch(*args, 0)
    with pytest.raises(ValueError, match="n_threads"):
        minibatch.train_minibatch(*args, 4, 0)
    bad = list(args)
    bad[1] = X.astype(np.float64)
    with pytest.raises(TypeError, match="xnum must be a C-contiguous float32"):
        minibatch.train_minibatch(*bad, 4)


@pytest.mark.parametrize("act", [TANH, RECTIFIER])
def test_batch_one_equals_per_row_kernel_autoencoder(act):
    xnum, xcat, y, offs = _tiny_data(classes=0)
    lay = Layout(np.asarray([9, 4, 9]), act, GAUSSIAN, True)
    net = Network(lay)
    net.initialize("uniform_adaptive", 1.0, 5, False)
    hp, ip = _params(act, GAUSSIAN, numoff=5)
    ip[IP_AUTOENCODER] = 1
    hdrop = np.zeros(1, np.float32)
    order = np.arange(len(y), dtype=np.int64)
    common = (order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop)
    a, b = _same_as_per_row(net, common, hp, ip)
    assert np.abs(b.W - net.W).max() > 1e-3


@pytest.mark.parametrize("act", [TANH, RECTIFIER])
@pytest.mark.parametrize("adaptive", [True, False])
def test_sparse_autoencoder_batch_one_equals_per_row_kernel(act, adaptive):
    from daskdl.kernels.codes import HP_AVG_ACTIVATION, HP_SPARSITY_BETA, IP_AUTOENCODER, IP_SPARSE

    xnum, xcat, y, offs = _tiny_data(classes=0)
    n_in = 5 + 4
    lay = Layout(np.asarray([n_in, 7, 6, n_in]), act, GAUSSIAN, True)
    net = Network(lay, sparse=True)
    net.initialize("uniform_adaptive", 1.0, 3, False)
    hp, ip = _params(act, GAUSSIAN, adaptive=adaptive, fast=True, numoff=5)
    ip[IP_AUTOENCODER] = 1
    ip[IP_SPARSE] = 1
    hp[HP_SPARSITY_BETA], hp[HP_AVG_ACTIVATION] = 0.5, 0.05
    hdrop = np.zeros(2, np.float32)
    order = np.arange(len(y), dtype=np.int64)
    common = (order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hdrop)
    a, b = _same_as_per_row(net, common, hp, ip)
    assert np.abs(a.Ra[lay.aoff[1]:lay.aoff[3]]).max() > 0  # running activations were tracked
    # a state array of the wrong size is refused instead of written out of bounds
    c = net.copy()
    c.Ra = np.zeros(1, np.float32)
    with pytest.raises(ValueError, match="Ra"):
        minibatch.train_minibatch(*common, *c.arrays(), hp, ip, 5, 0, 1)
