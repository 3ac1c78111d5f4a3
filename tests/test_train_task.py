"""daskdl.train.task: typed pass results, the tree reduction and the combination of worker models
(H2O's plain average and block momentum)."""
import numpy as np
import pytest

from daskdl.kernels import codes
from daskdl.model.network import Layout, Network
from daskdl.train.task import (Combined, KernelConfig, PartialSum, PassResult, average_models, block_momentum,
                               combine_models, consensus_model, momentum_coefficients, pass_shuffled, sample_order,
                               start_model)


def _net(seed, scale=1.0):
    lay = Layout(np.array([4, 3, 2]), codes.TANH, codes.SOFTMAX, False)
    net = Network(lay)
    rng = np.random.default_rng(seed)
    for a in Network.ARRAYS:
        arr = getattr(net, a)
        arr[...] = scale * rng.standard_normal(arr.shape).astype(np.float32)
    return net


def test_tree_reduction_is_an_associative_plain_average():
    nets = [_net(s) for s in range(5)]
    passes = [PassResult(n, 10 + i, float(i), 0.1 * i) for i, n in enumerate(nets)]
    passes.append(PassResult(None, 0, 0.0, 0.9))  # a worker without rows takes no part
    flat = combine_models(*passes)
    nested = combine_models(combine_models(*passes[:2]), combine_models(*passes[2:]))
    for part in (flat, nested):
        assert isinstance(part, PartialSum) and part.count == 5 and part.rows == 60
        assert part.seconds == pytest.approx(0.9)
        avg = average_models(part)
        assert isinstance(avg, Combined) and avg.start is avg.model
        for a in Network.ARRAYS:
            want = np.mean([getattr(n, a) for n in nets], axis=0)
            assert np.allclose(getattr(avg.model, a), want, atol=1e-6), a


def _cfg(reproducible, shuffle):
    lay = Layout(np.array([4, 3, 2]), codes.TANH, codes.SOFTMAX, False)
    return KernelConfig(lay, np.zeros(1, np.float32), np.zeros(1), np.zeros(1, np.int64), 1,
                        reproducible=reproducible, shuffle=shuffle)


def test_full_passes_visit_rows_in_random_order_except_h2os_ordered_case():
    """H2O trains rows in file order only with reproducible=True, shuffle_training_data=False and
    iterations of several whole passes; everywhere else a full pass is a fresh permutation."""
    n = 500
    arange = np.arange(n)
    for reproducible, shuffle, fraction, ordered in ((False, False, 1.0, False), (False, False, 2.0, False),
                                                      (True, False, 1.0, False), (True, True, 2.0, False),
                                                      (True, False, 2.0, True), (True, False, 3.0, True)):
        cfg = _cfg(reproducible, shuffle)
        rng = np.random.default_rng([1, 0, 0])
        order = sample_order(n, fraction, None, rng, pass_shuffled(cfg, fraction))
        passes = order.reshape(int(fraction), n)
        for p in passes:
            assert np.array_equal(np.sort(p), arange)  # every row once per pass
            assert np.array_equal(p, arange) == ordered, (reproducible, shuffle, fraction)
        if not ordered and fraction > 1:
            assert not np.array_equal(passes[0], passes[1])  # each pass its own permutation
    # fractional passes are sampled in a random order whatever the settings
    order = sample_order(n, 0.5, None, np.random.default_rng(0), pass_shuffled(_cfg(True, False), 0.5))
    assert 150 < len(order) < 350 and not np.all(np.diff(order) > 0)


def test_momentum_coefficients_amplify_steady_change_and_damp_oscillation():
    for k in (1, 2, 4, 16, 64):
        eta, zeta = momentum_coefficients(k)
        assert zeta / (1 - eta) == pytest.approx(k)  # a steady change: k times
        assert zeta / (1 + eta) == pytest.approx(1.0)  # a change that flips sign: as a plain average
    assert momentum_coefficients(1) == (0.0, 1.0)


def test_block_momentum_steady_change_reaches_k_times_the_average():
    """Workers whose average always moves the start by the same d: the consensus's step grows
    to k * d; with k = 1 the consensus is the trained model itself."""
    k = 8
    eta, zeta = momentum_coefficients(k)
    d = np.float32(0.01)
    prev = _net(0)
    steps = []
    for _ in range(60):
        start = start_model(prev)
        moved = start.copy()
        moved.W += d
        moved.B += d
        before = consensus_model(prev).W.copy()
        prev = block_momentum(combine_models(PassResult(moved, 1, 0.0, 0.0)), prev, eta, zeta)
        steps.append(float(np.mean(prev.model.W - before)))
    assert steps[0] == pytest.approx(zeta * d, rel=1e-4)
    assert steps[-1] == pytest.approx(k * d, rel=1e-3)
    # next passes start from the look-ahead: consensus + eta * G
    assert np.allclose(prev.start.W, prev.model.W + eta * prev.momentum[0], atol=1e-6)
    one = _net(1)
    moved = one.copy()
    moved.W += d
    same = block_momentum(combine_models(PassResult(moved, 1, 0.0, 0.0)), one, *momentum_coefficients(1))
    assert np.allclose(same.model.W, moved.W) and np.allclose(same.start.W, moved.W)


def test_block_momentum_keeps_the_averaged_optimizer_state():
    nets = [_net(s) for s in (3, 4)]
    base = _net(5)
    out = block_momentum(combine_models(*(PassResult(n, 1, 0.0, 0.0) for n in nets)), base,
                         *momentum_coefficients(2))
    for a in ("Aw", "Bw", "Ab", "Bb"):
        want = (getattr(nets[0], a) + getattr(nets[1], a)) / 2
        assert np.allclose(getattr(out.model, a), want) and np.allclose(getattr(out.start, a), want)
    avg_w = (nets[0].W + nets[1].W) / 2
    eta, zeta = momentum_coefficients(2)
    assert np.allclose(out.model.W, base.W + zeta * (avg_w - base.W), atol=1e-5)


def test_no_environment_variable_switches_in_training():
    """What a user may choose is an estimator parameter, not an environment variable."""
    import pathlib

    import daskdl

    root = pathlib.Path(daskdl.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "DASKDL_" in p.read_text() and "environ" in p.read_text()
                 and p.parts[-2] in ("train", "kernels", "model")]
    assert not offenders, offenders
