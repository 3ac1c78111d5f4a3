"""Plain float64 NumPy reference of H2O's per-row Deep Learning step.

Written for readability, not speed: one unit at a time, no Numba, no tricks.
It follows the rules of the spec (sections 2-4 and the autoencoder quirk Q5)
as ``daskdl.kernels.rowsgd`` implements them:

* forward pass: Tanh / Rectifier / Maxout hidden layers (Maxout channel ``q``
  of unit ``r`` in weight row ``2 r + q``; channel 1 wins only if strictly
  larger), softmax / linear (+ offset) / autoencoder output (the hidden
  activation, without its derivative in the gradient: Q5);
* dropout only through explicit keep masks (a dropped hidden unit has
  activation 0, error 0 and is never updated through its error);
* output error for every distribution, back-propagation with the pre-update
  weights, updates from the output layer downwards;
* ADADELTA (bias state driven by the sum of squared weight gradients of the
  unit's updated weights divided by the fan-in), manual rate with
  rate_annealing / rate_decay, momentum with and without Nesterov, L1/L2 also on
  biases, max_w2, fast_mode (zero-input weights untouched, zero-error units
  skipped).

The network is held as lists indexed by layer ``l = 1..L`` (index 0 unused),
``W[l]`` of shape (rows, units[l-1]).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SOFTMAX_DISTRIBUTIONS = ("bernoulli", "multinomial")
REGRESSION_DISTRIBUTIONS = ("gaussian", "laplace", "quantile", "huber", "poisson", "gamma", "tweedie")
LOG_LINK = ("poisson", "gamma", "tweedie")
EXP_CAP = 1e19


@dataclass
class Config:
    activation: str = "tanh"            # tanh | rectifier | maxout
    distribution: str = "gaussian"      # bernoulli | multinomial | one of REGRESSION_DISTRIBUTIONS
    loss: str = "cross_entropy"         # classification only: cross_entropy | quadratic
    autoencoder: bool = False
    adaptive: bool = True
    rho: float = 0.99
    epsilon: float = 1e-8
    rate: float = 0.005
    rate_annealing: float = 0.0
    rate_decay: float = 1.0
    momentum_start: float = 0.0
    momentum_ramp: float = 1e6
    momentum_stable: float = 0.0
    nesterov: bool = True
    l1: float = 0.0
    l2: float = 0.0
    max_w2: float = math.inf
    fast_mode: bool = True
    quantile_alpha: float = 0.5
    tweedie_power: float = 1.5
    huber_delta: float = 1.0
    sparsity_beta: float = 0.0          # sparse autoencoder (spec 4.5)
    average_activation: float = 0.0
    elastic_lambda: float = 0.0         # elastic averaging (spec 5.5): gradient += lambda (w - consensus)

    @property
    def sparse(self) -> bool:
        return self.autoencoder and self.sparsity_beta > 0

    @property
    def softmax(self) -> bool:
        return (not self.autoencoder) and self.distribution in SOFTMAX_DISTRIBUTIONS

    @property
    def has_momentum(self) -> bool:
        """A momentum buffer exists (manual rate with a non-zero momentum schedule)."""
        return (not self.adaptive) and (self.momentum_start != 0 or self.momentum_stable != 0)


@dataclass
class Net:
    units: list
    activation: str
    autoencoder: bool
    W: list
    b: list
    AW: list  # ADADELTA E[dx^2] of the weights
    BW: list  # ADADELTA E[g^2] of the weights
    Ab: list
    Bb: list
    VW: list  # momentum of the weights
    Vb: list
    Ra: list = None  # sparse autoencoder: running mean activation per hidden layer (index l)
    consensus: tuple = None  # elastic averaging: (weights per layer, biases per layer) of the consensus

    @property
    def n_layers(self) -> int:
        return len(self.units) - 1

    def is_maxout(self, l: int) -> bool:
        return self.activation == "maxout" and l < self.n_layers

    def rows(self, l: int) -> int:
        return self.units[l] * (2 if self.is_maxout(l) else 1)

    def copy(self) -> "Net":
        def cp(lst):
            return [None if a is None else a.copy() for a in lst]
        return Net(list(self.units), self.activation, self.autoencoder, cp(self.W), cp(self.b),
                   cp(self.AW), cp(self.BW), cp(self.Ab), cp(self.Bb), cp(self.VW), cp(self.Vb),
                   None if self.Ra is None else cp(self.Ra))

    # ---- conversion from / to the flat float32 buffers of daskdl.model.network ----
    @classmethod
    def from_flat(cls, units, activation, autoencoder, W, B, Aw, Bw, Ab, Bb, Vw, Vb, Ra=None) -> "Net":
        units = [int(u) for u in units]
        net = cls(units, activation, autoencoder, *([[None] for _ in range(8)]))
        nw = nb = 0
        for l in range(1, len(units)):
            rows = units[l] * (2 if activation == "maxout" and l < len(units) - 1 else 1)
            cols = units[l - 1]
            ws = slice(nw, nw + rows * cols)
            bs = slice(nb, nb + rows)
            nw += rows * cols
            nb += rows
            for lst, flat, sl, shape in ((net.W, W, ws, (rows, cols)), (net.AW, Aw, ws, (rows, cols)),
                                         (net.BW, Bw, ws, (rows, cols)), (net.b, B, bs, (rows,)),
                                         (net.Ab, Ab, bs, (rows,)), (net.Bb, Bb, bs, (rows,))):
                lst.append(np.asarray(flat[sl], np.float64).reshape(shape).copy())
            net.VW.append(np.asarray(Vw[ws], np.float64).reshape(rows, cols).copy()
                          if Vw.shape[0] == W.shape[0] else np.zeros((rows, cols)))
            net.Vb.append(np.asarray(Vb[bs], np.float64).copy() if Vb.shape[0] == B.shape[0] else np.zeros(rows))
        if Ra is not None and Ra.shape[0] == sum(units):
            offs = np.concatenate([[0], np.cumsum(units)])
            net.Ra = [np.asarray(Ra[offs[l]:offs[l + 1]], np.float64).copy() for l in range(len(units))]
        return net

    def flat(self, name: str) -> np.ndarray:
        """One of W, B, Aw, Bw, Ab, Bb, Vw, Vb as a flat float64 vector (kernel layout)."""
        lst = {"W": self.W, "B": self.b, "Aw": self.AW, "Bw": self.BW, "Ab": self.Ab, "Bb": self.Bb,
               "Vw": self.VW, "Vb": self.Vb, "Ra": self.Ra}[name]
        if name == "Ra":  # activations of every layer, input and output included (kernel layout)
            return np.concatenate([a.ravel() for a in lst])
        return np.concatenate([a.ravel() for a in lst[1:]])


def expand_input(xnum_row, xcat_row, n_in: int, numoff: int) -> np.ndarray:
    """Dense input vector: one-hot slots (``xcat`` holds global positions, -1 = none), then numerics."""
    x = np.zeros(n_in)
    for k in xcat_row:
        if k >= 0:
            x[int(k)] += 1.0
    x[numoff:] = np.asarray(xnum_row, np.float64)
    return x


def activation(name: str, z):
    if name == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)  # rectifier (also the maxout autoencoder output, which is unsupported)


def forward(net: Net, x, hidden_keep=None):
    """Training-time forward pass of one row.

    Returns ``(acts, wins)``: ``acts[l]`` the activations of layer l (``acts[0] = x``;
    for a supervised net ``acts[L]`` is the linear output before softmax / offset),
    ``wins[l]`` the Maxout winner channel per unit (None otherwise).
    ``hidden_keep[l-1]`` is the boolean keep mask of hidden layer l (None: no dropout).
    """
    L = net.n_layers
    acts = [np.asarray(x, np.float64)]
    wins = [None]
    for l in range(1, L + 1):
        z = net.W[l] @ acts[-1] + net.b[l]
        win = None
        if net.is_maxout(l):
            z0, z1 = z[0::2], z[1::2]
            win = (z1 > z0).astype(int)
            a = np.where(win == 1, z1, z0)
        elif l == L and not net.autoencoder:
            a = z
        else:
            a = activation(net.activation, z)
        if l < L and hidden_keep is not None:
            a = np.where(hidden_keep[l - 1], a, 0.0)
        acts.append(a)
        wins.append(win)
    return acts, wins


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---- output layer: error (dE/d output) and losses ----

def _E(u):
    return min(math.exp(u), EXP_CAP) if u < 700 else EXP_CAP


def regression_delta(cfg: Config, t: float, f: float) -> float:
    """delta = -2 G(t, f), f in link space (spec 3.3)."""
    d = cfg.distribution
    if d == "gaussian":
        return 2.0 * (f - t)
    if d == "laplace":
        return -1.0 if f <= t else 1.0
    if d == "quantile":
        a = cfg.quantile_alpha
        return -a if t > f else 1.0 - a
    if d == "huber":
        D = cfg.huber_delta
        if abs(t - f) <= D:
            return 2.0 * (f - t)
        return -2.0 * D if f < t else 2.0 * D
    if d == "poisson":
        return 2.0 * (_E(f) - t)
    if d == "gamma":
        return 2.0 * (1.0 - t * _E(-f))
    if d == "tweedie":
        p = cfg.tweedie_power
        return 2.0 * (_E(f * (2.0 - p)) - t * _E(f * (1.0 - p)))
    raise ValueError(f"distribution must be one of {REGRESSION_DISTRIBUTIONS}; got {d!r}")


def regression_deviance(cfg: Config, t: float, f: float) -> float:
    """A loss whose derivative in f is exactly ``regression_delta`` (deviance up to constants;
    exponentials capped at 1e19 like the kernel, so exact below the cap)."""
    d = cfg.distribution
    r = t - f
    if d == "gaussian":
        return r * r
    if d == "laplace":
        return abs(r)
    if d == "quantile":
        a = cfg.quantile_alpha
        return a * r if r > 0 else (a - 1.0) * r
    if d == "huber":
        D = cfg.huber_delta
        return r * r if abs(r) <= D else D * (2.0 * abs(r) - D)
    if d == "poisson":
        return 2.0 * (_E(f) - t * f)
    if d == "gamma":
        return 2.0 * (t * _E(-f) + f)
    if d == "tweedie":
        p = cfg.tweedie_power
        return 2.0 * (-t * _E(f * (1.0 - p)) / (1.0 - p) + _E(f * (2.0 - p)) / (2.0 - p))
    raise ValueError(f"distribution must be one of {REGRESSION_DISTRIBUTIONS}; got {d!r}")


def output_error(cfg: Config, out, target, offset: float = 0.0):
    """Output-layer error vector for one row.

    ``out``: ``acts[L]`` of ``forward``; ``target``: class index (softmax), response value
    (regression) or the clean input vector (autoencoder).
    """
    if cfg.autoencoder:
        t = np.asarray(target, np.float64)
        return np.array([regression_delta(cfg, t[s], out[s]) for s in range(out.shape[0])])
    if cfg.softmax:
        p = softmax(out)
        t = np.zeros_like(p)
        t[int(target)] = 1.0
        if cfg.loss == "cross_entropy":
            return p - t
        return (p - t) * p * (1.0 - p)  # H2O's quadratic: diagonal of the softmax Jacobian only
    f = out[0] + offset
    return np.array([regression_delta(cfg, float(target), f)])


def row_loss(cfg: Config, net: Net, x, target, offset: float = 0.0, hidden_keep=None) -> float:
    """Loss of one row as a function of the parameters.

    Its gradient is exactly the back-propagated error for softmax cross-entropy and
    every regression distribution.  (Softmax quadratic and the autoencoder are not
    true gradients in H2O: see ``frozen_error_loss``.)
    """
    acts, _ = forward(net, x, hidden_keep)
    out = acts[-1]
    if cfg.autoencoder:
        return sum(regression_deviance(cfg, float(t), float(f)) for t, f in zip(target, out))
    if cfg.softmax:
        p = softmax(out)
        if cfg.loss == "cross_entropy":
            return -math.log(p[int(target)])
        t = np.zeros_like(p)
        t[int(target)] = 1.0
        return float(((p - t) ** 2).sum())
    return regression_deviance(cfg, float(target), float(out[0] + offset))


def output_preactivation(net: Net, x, hidden_keep=None):
    """z of the output layer (before softmax, offset or the autoencoder activation)."""
    acts, _ = forward(net, x, hidden_keep)
    return net.W[-1] @ acts[-2] + net.b[-1]


def frozen_error_loss(net: Net, x, error, hidden_keep=None) -> float:
    """``sum_k error_k * z_k(params)``: its gradient is the back-propagation of a fixed output error."""
    return float(np.dot(error, output_preactivation(net, x, hidden_keep)))


def report_loss(cfg: Config, out, target, offset: float = 0.0) -> float:
    """The per-row loss the kernel returns (progress report only)."""
    if cfg.autoencoder:
        t = np.asarray(target, np.float64)
        return float(((t - out) ** 2).mean())
    if cfg.softmax:
        return -math.log(max(softmax(out)[int(target)], 1e-15))
    f, t = out[0] + offset, float(target)
    if cfg.distribution in LOG_LINK:
        return regression_deviance(cfg, t, f) / 2.0
    return regression_deviance(cfg, t, f)


# ---- schedules ----

def momentum_at(cfg: Config, samples: float) -> float:
    """Documented momentum ramp (spec 4.3, Q8 fixed); 0 without a momentum buffer."""
    if not cfg.has_momentum:
        return 0.0
    R = cfg.momentum_ramp
    frac = min(samples, R) / R if R > 0 else 0.0
    return cfg.momentum_start + (cfg.momentum_stable - cfg.momentum_start) * frac


def layer_rate(cfg: Config, l: int, samples: float, mu: float) -> float:
    """Manual step size r = rate * rate_decay^(l-1) / (1 + rate_annealing * S) * (1 - mu)."""
    return cfg.rate * cfg.rate_decay ** (l - 1) / (1.0 + cfg.rate_annealing * samples) * (1.0 - mu)


def approx_sqrt(x):
    """H2O's MathUtils.approxSqrt(float): bit-level square-root estimate (elementwise)."""
    b = np.atleast_1d(np.asarray(x, np.float32)).view(np.int32)
    out = (np.int32(532483686) + (b >> np.int32(1))).astype(np.int32).view(np.float32).astype(np.float64)
    return out if np.ndim(x) else float(out[0])


def approx_sqrt64(x):
    """H2O's MathUtils.approxSqrt(double) (used for the bias rates)."""
    b = np.atleast_1d(np.asarray(x, np.float64)).view(np.int64)
    out = (((b >> np.int64(32)) + np.int64(1072632448)) << np.int64(31)).view(np.float64)
    return out if np.ndim(x) else float(out[0])


def _adadelta(cfg: Config, A, B, g_state, g_step, sqrt=approx_sqrt):
    """One ADADELTA step with H2O's approximate square root; returns (new A, new B, step to
    subtract)."""
    B = cfg.rho * B + (1.0 - cfg.rho) * g_state ** 2
    eta = sqrt((A + cfg.epsilon) / (B + cfg.epsilon))
    A = cfg.rho * A + (1.0 - cfg.rho) * eta ** 2 * g_state ** 2
    return A, B, eta * g_step


def _momentum_step(cfg: Config, w, v, g, r, mu):
    """Returns (new w, new v)."""
    if cfg.nesterov:
        v_new = mu * v - g
        return w + r * v_new, v_new
    step = -r * g
    return w + step + mu * v, step


def _update_unit(net: Net, cfg: Config, l: int, row: int, d: float, prev, r: float, mu: float):
    """Update the incoming weights and the bias of weight row ``row`` of layer ``l``."""
    w = net.W[l][row].copy()
    touched = (prev != 0.0) | (not cfg.fast_mode)
    g = d * prev + cfg.l1 * np.sign(w) + cfg.l2 * w
    if cfg.elastic_lambda:
        g = g + cfg.elastic_lambda * (w - net.consensus[0][l][row])
    if cfg.adaptive:
        A, B, step = _adadelta(cfg, net.AW[l][row], net.BW[l][row], g, g)
        net.AW[l][row] = np.where(touched, A, net.AW[l][row])
        net.BW[l][row] = np.where(touched, B, net.BW[l][row])
        w_new = w - step
    elif cfg.has_momentum:
        w_new, v_new = _momentum_step(cfg, w, net.VW[l][row], g, r, mu)
        net.VW[l][row] = np.where(touched, v_new, net.VW[l][row])
    else:
        w_new = w - r * g
    w_new = np.where(touched, w_new, w)
    if math.isfinite(cfg.max_w2):
        s = float((w_new ** 2).sum())
        if s > cfg.max_w2:
            w_new = w_new * approx_sqrt(cfg.max_w2 / s)
    net.W[l][row] = w_new

    b = net.b[l][row]
    gb = d + cfg.l1 * np.sign(b) + cfg.l2 * b
    if cfg.elastic_lambda:
        gb = gb + cfg.elastic_lambda * (b - net.consensus[1][l][row])
    if cfg.adaptive:
        g2mean = float((g[touched] ** 2).sum()) / prev.shape[0]  # Q7: weight gradients / full fan-in
        A_old = net.Ab[l][row]
        A, B, step = _adadelta(cfg, A_old, net.Bb[l][row], math.sqrt(g2mean), gb, approx_sqrt64)
        net.Ab[l][row], net.Bb[l][row] = A, B
        net.b[l][row] = b - step
        r_b = approx_sqrt64((A_old + cfg.epsilon) / (B + cfg.epsilon))  # the bias's ADADELTA step size
    elif cfg.has_momentum:
        net.b[l][row], net.Vb[l][row] = _momentum_step(cfg, b, net.Vb[l][row], gb, r, mu)
        r_b = r
    else:
        net.b[l][row] = b - r * gb
        r_b = r
    if cfg.sparse and l < net.n_layers:  # spec 4.5: b -= r_b * beta * (mean activation - target)
        unit = row // 2 if net.is_maxout(l) else row
        net.b[l][row] -= r_b * cfg.sparsity_beta * (net.Ra[l][unit] - cfg.average_activation)


def train_row(net: Net, cfg: Config, x, target, offset: float = 0.0, samples: float = 0.0,
              hidden_keep=None, input_keep=None) -> float:
    """One H2O training step on one row, in place; returns ``report_loss``.

    ``x``: dense input (``expand_input``); ``target``: class index, response, or
    ignored for an autoencoder (the clean input is the target); ``samples``: rows
    seen before this one (rate annealing, momentum ramp); ``hidden_keep`` /
    ``input_keep``: explicit dropout keep masks (None = no dropout).
    """
    x = np.asarray(x, np.float64)
    x_in = x if input_keep is None else np.where(input_keep, x, 0.0)
    if cfg.autoencoder:
        target = x  # denoising: the target is the input before input dropout
    acts, wins = forward(net, x_in, hidden_keep)
    L = net.n_layers
    if cfg.sparse:  # running mean activations, training passes only (Q10 fixed)
        for l in range(1, L):
            net.Ra[l] = 0.999 * net.Ra[l] + 0.001 * acts[l]
    err = output_error(cfg, acts[L], target, offset)
    loss = report_loss(cfg, acts[L], target, offset)

    mu = momentum_at(cfg, samples)
    manual_plain = (not cfg.adaptive) and (not cfg.has_momentum) and cfg.l1 == 0 and cfg.l2 == 0
    skip_zero = cfg.fast_mode or manual_plain
    for l in range(L, 0, -1):
        prev = acts[l - 1]
        a = acts[l]
        if l == L:
            delta = err  # no activation derivative at the output (softmax / linear / Q5 autoencoder)
        else:
            if net.activation == "tanh":
                delta = err * (1.0 - a * a)
            elif net.activation == "rectifier":
                delta = err * (a > 0)
            else:
                delta = err.copy()  # maxout: derivative 1 on the winning channel
            if hidden_keep is not None:
                delta = np.where(hidden_keep[l - 1], delta, 0.0)
        r = 0.0 if cfg.adaptive else layer_rate(cfg, l, samples, mu)
        err_prev = np.zeros(prev.shape[0])
        for j in range(net.units[l]):
            d = float(delta[j])
            if d == 0.0 and skip_zero:
                continue
            row = 2 * j + wins[l][j] if net.is_maxout(l) else j
            err_prev += d * net.W[l][row]  # pre-update weights
            _update_unit(net, cfg, l, row, d, prev, r, mu)
        err = err_prev
    return loss
