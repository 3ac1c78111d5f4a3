"""Multi-threaded drivers of the per-row kernel: private copies combined by block momentum, shared HOGWILD!."""
import numpy as np

from daskdl.kernels import codes, rowsgd
from daskdl.model.network import Layout, Network


def _setup(n=64, p=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    xnum = rng.standard_normal((n, p)).astype(np.float32)
    xcat = np.zeros((n, 0), np.int32)
    y = rng.integers(0, k, n).astype(np.float32)
    offs = np.zeros(n, np.float32)
    lay = Layout(np.array([p, 8, 6, k]), codes.RECTIFIER, codes.SOFTMAX, False)
    hp = np.zeros(codes.HP_SIZE)
    hp[codes.HP_RHO], hp[codes.HP_EPS], hp[codes.HP_L1], hp[codes.HP_MAX_W2] = 0.99, 1e-8, 1e-5, 3.4e38
    ip = np.zeros(codes.IP_SIZE, np.int64)
    ip[codes.IP_ACT], ip[codes.IP_DIST], ip[codes.IP_ADAPTIVE], ip[codes.IP_FAST_MODE] = (
        codes.RECTIFIER, codes.SOFTMAX, 1, 1)
    return xnum, xcat, y, offs, lay, hp, ip


def _net(lay):
    net = Network(lay)
    net.initialize("uniform_adaptive", 1.0, 3, True)
    return net


def test_copies_are_combined_by_block_momentum():
    """One round of two copies: the average with eta=0, zeta=1; with the default coefficients for
    two threads (eta 1/3, zeta 4/3) the consensus moves 4/3 of the average's change; the
    optimizer state is the copies' average either way."""
    xnum, xcat, y, offs, lay, hp, ip = _setup()
    hd = np.zeros(2, np.float32)
    base = _net(lay)
    parts = []
    for rows in (np.arange(0, 5), np.arange(5, 10)):
        n = base.copy()
        h = hp.copy()
        h[codes.HP_SAMPLES] = rows[0]
        rowsgd.train_serial(rows.astype(np.int64), xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hd,
                            *n.arrays(), h, ip, 1, 0)
        parts.append(n)
    avg_w = (parts[0].W + parts[1].W) / 2
    avg_b = (parts[0].B + parts[1].B) / 2
    for (eta, zeta), scale in (((0.0, 1.0), 1.0), ((-1.0, -1.0), 4.0 / 3.0)):
        got = base.copy()
        rowsgd.train_copies(np.arange(10, dtype=np.int64), xnum, xcat, y, offs, lay.units, lay.woff, lay.boff,
                            lay.aoff, hd, *got.arrays(), hp, ip, 1, 0, 2, 5, eta, zeta)
        assert np.allclose(got.W, base.W + scale * (avg_w - base.W), atol=1e-6)
        assert np.allclose(got.B, base.B + scale * (avg_b - base.B), atol=1e-6)
        assert np.allclose(got.Aw, (parts[0].Aw + parts[1].Aw) / 2, atol=1e-9)
        assert np.allclose(got.Bb, (parts[0].Bb + parts[1].Bb) / 2, atol=1e-9)


def test_copies_are_deterministic_and_hogwild_learns():
    xnum, xcat, y, offs, lay, hp, ip = _setup(n=400)
    hd = np.full(2, 0.5, np.float32)
    ip = ip.copy()
    ip[codes.IP_DROPOUT] = 1
    order = np.arange(400, dtype=np.int64)
    a, b = _net(lay), _net(lay)
    for n in (a, b):
        rowsgd.train_copies(order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hd,
                            *n.arrays(), hp, ip, 5, 0, 2, 50)
    assert np.array_equal(a.W, b.W)
    h = _net(lay)
    loss0 = rowsgd.train_hogwild(order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hd,
                                 *h.arrays(), hp, ip, 5, 0, 2)
    for _ in range(5):
        loss = rowsgd.train_hogwild(order, xnum, xcat, y, offs, lay.units, lay.woff, lay.boff, lay.aoff, hd,
                                    *h.arrays(), hp, ip, 5, 1, 2)
    assert np.isfinite(h.W).all() and loss < loss0
