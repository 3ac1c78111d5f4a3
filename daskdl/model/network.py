"""The network: layer layout, parameters, optimizer state, initialization and the
batched forward pass used for scoring and prediction.

Weights live in one flat float32 buffer; layer ``l`` (1-based, input -> first
hidden is 1) is the row-major matrix ``W[woff[l-1]:woff[l]].reshape(rows, units[l-1])``
with ``rows = units[l]`` (``2 * units[l]`` for a Maxout hidden layer, channel ``q``
of unit ``r`` in row ``2 r + q``).  Biases are laid out the same way in ``B``.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..kernels.codes import MAXOUT, RECTIFIER, SOFTMAX, TANH


@dataclass
class Layout:
    units: np.ndarray  # int64 (L+1,)
    act: int  # hidden activation code
    out_dist: int  # distribution code of the output layer (SOFTMAX for classification)
    autoencoder: bool
    woff: np.ndarray = field(init=False)
    boff: np.ndarray = field(init=False)
    aoff: np.ndarray = field(init=False)

    def __post_init__(self):
        units = np.asarray(self.units, dtype=np.int64)
        self.units = units
        L = len(units) - 1
        woff = [0]
        boff = [0]
        for l in range(1, L + 1):
            rows = self.rows(l)
            woff.append(woff[-1] + rows * int(units[l - 1]))
            boff.append(boff[-1] + rows)
        self.woff = np.asarray(woff, dtype=np.int64)
        self.boff = np.asarray(boff, dtype=np.int64)
        self.aoff = np.concatenate([[0], np.cumsum(units)]).astype(np.int64)

    @property
    def n_layers(self) -> int:
        return len(self.units) - 1

    def is_maxout(self, l: int) -> bool:
        return self.act == MAXOUT and l < self.n_layers

    def rows(self, l: int) -> int:
        return int(self.units[l]) * (2 if self.is_maxout(l) else 1)

    @property
    def n_weights(self) -> int:
        return int(self.woff[-1])

    @property
    def n_biases(self) -> int:
        return int(self.boff[-1])

    def to_dict(self):
        return {"units": [int(u) for u in self.units], "act": int(self.act),
                "out_dist": int(self.out_dist), "autoencoder": bool(self.autoencoder)}

    @classmethod
    def from_dict(cls, d):
        return cls(np.asarray(d["units"], np.int64), int(d["act"]), int(d["out_dist"]), bool(d["autoencoder"]))


class Network:
    """Parameters and optimizer state of one model (no client, pickles cleanly)."""

    def __init__(self, layout: Layout, momentum: bool = False, sparse: bool = False):
        self.layout = layout
        nw, nb = layout.n_weights, layout.n_biases
        self.W = np.zeros(nw, np.float32)
        self.B = np.zeros(nb, np.float32)
        self.Aw = np.zeros(nw, np.float32)  # ADADELTA E[dx^2]
        self.Bw = np.zeros(nw, np.float32)  # ADADELTA E[g^2]
        self.Ab = np.zeros(nb, np.float32)
        self.Bb = np.zeros(nb, np.float32)
        self.Vw = np.zeros(nw if momentum else 1, np.float32)
        self.Vb = np.zeros(nb if momentum else 1, np.float32)
        # sparse autoencoder: running mean activation of every unit (offsets ``layout.aoff``)
        self.Ra = np.zeros(int(layout.aoff[-1]) if sparse else 1, np.float32)

    ARRAYS = ("W", "B", "Aw", "Bw", "Ab", "Bb", "Vw", "Vb", "Ra")

    @classmethod
    def from_arrays(cls, layout: Layout, W: np.ndarray, B: np.ndarray) -> "Network":
        """A scoring-only network over existing weight and bias buffers (no optimizer state)."""
        net = cls.__new__(cls)
        net.layout = layout
        net.W, net.B = W, B
        empty = np.zeros(1, np.float32)
        net.Aw = net.Bw = net.Ab = net.Bb = net.Vw = net.Vb = net.Ra = empty
        return net

    def arrays(self):
        """The kernels' arrays: ``ARRAYS`` then the elastic-averaging consensus weights and biases
        (this network's own W and B when there is no consensus, which with a zero elastic
        regularization leaves the gradients unchanged)."""
        c = getattr(self, "consensus", None)
        ew, eb = (self.W, self.B) if c is None else (c.W, c.B)
        return tuple(getattr(self, a) for a in self.ARRAYS) + (ew, eb)

    def copy(self) -> "Network":
        other = Network.__new__(Network)
        other.layout = self.layout
        for a in self.ARRAYS:
            setattr(other, a, getattr(self, a).copy())
        return other

    def sharing_state(self) -> "Network":
        """A network with its own copy of the weights and biases and this one's optimizer-state
        arrays (the same objects: serialized once with it, never to be written through)."""
        other = Network.__new__(Network)
        other.layout = self.layout
        for a in self.ARRAYS:
            setattr(other, a, getattr(self, a))
        other.W, other.B = self.W.copy(), self.B.copy()
        return other

    # ---- views ----
    def weight(self, l: int) -> np.ndarray:
        """Weight matrix into layer ``l`` (1-based), shape (rows, units[l-1])."""
        lay = self.layout
        return self.W[lay.woff[l - 1]:lay.woff[l]].reshape(lay.rows(l), int(lay.units[l - 1]))

    def bias(self, l: int) -> np.ndarray:
        lay = self.layout
        return self.B[lay.boff[l - 1]:lay.boff[l]]

    # ---- initialization (spec section 2) ----
    def initialize(self, distribution: str, scale: float, seed: int, classification: bool):
        lay = self.layout
        L = lay.n_layers
        for l in range(1, L + 1):
            rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, 0xBAD5EED, l])
            w = self.weight(l)
            n_prev, n_l = int(lay.units[l - 1]), int(lay.units[l])
            if distribution == "uniform_adaptive":
                r = np.sqrt(6.0 / (n_prev + n_l))
                if l == L and classification:
                    r *= 4.0
                w[:] = rng.uniform(-r, r, size=w.shape).astype(np.float32)
            elif distribution == "uniform":
                w[:] = rng.uniform(-scale, scale, size=w.shape).astype(np.float32)
            elif distribution == "normal":
                w[:] = (rng.standard_normal(size=w.shape) * scale).astype(np.float32)
            else:
                raise ValueError(f"initial_weight_distribution must be one of uniform_adaptive, uniform, "
                                 f"normal; got {distribution!r}")
            b = self.bias(l)
            if l < L and lay.act in (RECTIFIER, MAXOUT):
                b[:] = 0.5 if l == 1 else 1.0
            else:
                b[:] = 0.0

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.W).all() and np.isfinite(self.B).all())

    def unstable(self) -> bool:
        """H2O's instability guard (spec 4.6)."""
        if not self.is_finite():
            return True
        for l in range(1, self.layout.n_layers + 1):
            w = self.weight(l)
            b = self.bias(l)
            if abs(float(w.mean())) > 1e10 or float(np.sqrt((w.astype(np.float64) ** 2).mean())) > 1e10:
                return True
            if len(b) and (abs(float(b.mean())) > 1e5 or float(np.sqrt((b.astype(np.float64) ** 2).mean())) > 1e5):
                return True
        return False


def first_layer(W1: np.ndarray, b1: np.ndarray, xnum: np.ndarray, xcat: np.ndarray, numoff: int) -> np.ndarray:
    """z = W1 x + b for encoded rows without expanding the one-hot block."""
    n = xnum.shape[0]
    z = np.empty((n, W1.shape[0]), np.float32)
    if xnum.shape[1]:
        np.matmul(xnum, W1[:, numoff:numoff + xnum.shape[1]].T, out=z)
    else:
        z[:] = 0.0
    z += b1
    if xcat.shape[1]:
        W1t = np.ascontiguousarray(W1[:, :numoff].T) if numoff else None
        for c in range(xcat.shape[1]):
            idx = xcat[:, c]
            ok = idx >= 0
            if ok.all():
                z += W1t[idx]
            elif ok.any():
                z[ok] += W1t[idx[ok]]
    return z


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_MIN_ROWS_PER_THREAD = 2048


def thread_pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                                       thread_name_prefix="daskdl-forward")
        return _POOL


def idle_threads() -> int:
    """Threads a scoring call may use: on a Dask worker, this task's thread plus the worker's
    threads that run no other task (Dask limits each worker's BLAS to one thread, so a lone
    task on a many-thread worker would otherwise use one core); elsewhere 1 (numpy's BLAS is
    threaded already)."""
    try:
        from distributed import get_worker

        st = get_worker().state
    except Exception:  # not on a worker
        return 1
    return max(1, int(st.nthreads) - len(st.executing) + 1)


def forward(net: Network, xnum, xcat, numoff: int, hidden_dropout=None, upto: int | None = None,
            offset=None, threads: int | None = None):
    """Test-time forward pass of encoded rows (float32, BLAS).

    Returns the output layer (softmax probabilities, link-space value for
    regression, reconstruction for autoencoders) or, with ``upto=k``, the
    activations of hidden layer ``k`` (1-based).  ``*WithDropout`` hidden
    activations are scaled by ``1 - p`` (non-inverted dropout).  Row blocks
    are scored concurrently on ``threads`` threads (default: ``idle_threads()``).
    """
    n = xnum.shape[0]
    k = idle_threads() if threads is None else max(1, int(threads))
    k = min(k, n // _MIN_ROWS_PER_THREAD)
    if k <= 1:
        return _forward(net, xnum, xcat, numoff, hidden_dropout, upto, offset)
    cuts = [n * i // k for i in range(k + 1)]
    jobs = [thread_pool().submit(_forward, net, xnum[a:b], xcat[a:b], numoff, hidden_dropout, upto,
                           None if offset is None else offset[a:b])
            for a, b in zip(cuts[:-1], cuts[1:])]
    return np.concatenate([j.result() for j in jobs], axis=0)


def _forward(net: Network, xnum, xcat, numoff: int, hidden_dropout, upto, offset):
    lay = net.layout
    L = lay.n_layers
    stop = L if upto is None else upto
    a = None
    scale = np.float32(1.0)  # test-time dropout scale of the activations ``a`` (not yet applied)
    for l in range(1, stop + 1):
        W = net.weight(l)
        b = net.bias(l)
        if l == 1:
            z = first_layer(W, b, xnum, xcat, numoff)
        else:  # (scale * a) W^T = a (scale * W)^T: the scale goes on the small weight matrix
            z = a @ (W.T * scale if scale != 1 else W.T)
            z += b
        is_out = l == L
        if lay.is_maxout(l):
            z = z.reshape(z.shape[0], -1, 2)
            a = z.max(axis=2)
        elif is_out and not lay.autoencoder:
            a = z
        elif lay.act == TANH:
            a = np.tanh(z)
        else:
            a = np.maximum(z, 0.0, out=z)
        scale = np.float32(1.0)
        if not is_out and hidden_dropout is not None and hidden_dropout[l - 1] > 0:
            scale = np.float32(1.0 - hidden_dropout[l - 1])
    if scale != 1:  # the requested hidden layer (deep features) carries its own scale
        a *= scale
    if upto is None and not lay.autoencoder:
        if lay.out_dist == SOFTMAX:
            a = a - a.max(axis=1, keepdims=True)
            np.exp(a, out=a)
            a /= a.sum(axis=1, keepdims=True)
        elif offset is not None:
            a = a + offset.reshape(-1, 1)
    return a
