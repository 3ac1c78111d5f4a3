"""Mergeable model metrics (pure NumPy).

Metrics are computed in two steps so that a large frame can be scored one
partition at a time:

* :func:`partial_metrics` reduces one block of rows to a small dict of
  float64 sums, moments and histograms;
* :func:`combine` merges two such dicts (associative and commutative);
* :func:`finalize` turns a (combined) partial into a
  :class:`~daskdl.metrics.model_metrics.ModelMetrics` object.

All quantities are observation-weighted; rows whose response is NaN or whose
weight is 0 are excluded (H2O semantics).

Binomial AUC, AUCPR, the max-F1 threshold and the confusion matrix come from
a fixed, fine histogram of ``p1`` per class.  The bins are uniform in
``logit(p1)`` on ``[-LOGIT_RANGE, LOGIT_RANGE]`` (``N_BINS`` bins; the two
outermost bins also take everything beyond the range), so resolution is high
both around 0.5 and in the tails, and partials from different partitions
merge exactly.  Every bin also records the smallest ``p1`` it received, which
is used as the threshold of that cut: predicting 1 when ``p1 >= threshold``
reproduces the reported confusion matrix exactly.  AUCPR is the step-wise
average precision over those cuts.

Multinomial: the predicted label is the argmax of the probabilities (ties go
to the lowest class index); the hit ratio for k counts a row as a hit when
fewer than k classes have a strictly larger probability than the true class;
mean_per_class_error averages over the classes present in the data.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .model_metrics import ModelMetrics

KINDS = ("regression", "binomial", "multinomial", "autoencoder")
DISTRIBUTIONS = ("gaussian", "poisson", "gamma", "tweedie", "laplace", "quantile", "huber")

N_BINS = 16384
M_BINS = 4096  # multinomial AUC: histogram of p_k per (class k, true class), uniform in logit(p_k)
AUC_TYPES = ("macro_ovr", "weighted_ovr", "macro_ovo", "weighted_ovo")
LOGIT_RANGE = 18.0
LOG_FLOOR = -19.0          # H2O: log(x) := max(-19, log x), log(0) := -19
LOGLOSS_EPS = 1e-15

# keys merged with a rule other than a plain sum
_MIN_KEYS = {"bin_min"}
_META_KEYS = {"kind", "n_classes", "distribution", "tweedie_power", "quantile_alpha", "huber_delta", "auc_type"}
_MOMENT_KEYS = ("sw", "mean_y", "m2_y")   # weighted count, mean and sum of squared deviations


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}; got {kind!r}")


def _flog(x):
    """H2O's floored natural log: max(-19, log x), with log(x <= 0) = -19."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.where(x > 0, x, 1.0))
    out = np.where(x > 0, out, LOG_FLOOR)
    return np.maximum(out, LOG_FLOOR)


def _prepare(y, w, n):
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but pred has {n} rows")
    if w is None:
        w = np.ones(n, dtype=np.float64)
    else:
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if w.shape[0] != n:
            raise ValueError(f"w has {w.shape[0]} rows but pred has {n} rows")
        if np.any(w < 0):
            raise ValueError("w (observation weights) must be >= 0; got a negative weight")
    keep = ~np.isnan(y) & (w != 0) & ~np.isnan(w)
    return y, w, keep


def _moments(y, w):
    sw = float(w.sum())
    if sw > 0:
        mean = float(np.dot(w, y) / sw)
        m2 = float(np.dot(w, (y - mean) ** 2))
    else:
        mean, m2 = 0.0, 0.0
    return sw, mean, m2


def unit_deviance(distribution, y, pred, *, tweedie_power=1.5, quantile_alpha=0.5, huber_delta=None):
    """Per-row deviance d(y, pred) of H2O's regression distributions (spec §10.1)."""
    y = np.asarray(y, dtype=np.float64)
    f = np.asarray(pred, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if distribution == "gaussian":
            return (y - f) ** 2
        if distribution == "poisson":
            ylog = np.where(y == 0, 0.0, y * _flog(y / f))
            return 2.0 * (ylog - y + f)
        if distribution == "gamma":
            return 2.0 * (_flog(f / y) + y / f - 1.0)
        if distribution == "tweedie":
            p = float(tweedie_power)
            return 2.0 * (np.power(y, 2.0 - p) / ((1.0 - p) * (2.0 - p))
                          - y * np.power(f, 1.0 - p) / (1.0 - p)
                          + np.power(f, 2.0 - p) / (2.0 - p))
        if distribution == "laplace":
            return np.abs(y - f)
        if distribution == "quantile":
            a = float(quantile_alpha)
            return np.where(y > f, a * (y - f), (1.0 - a) * (f - y))
        if distribution == "huber":
            if huber_delta is None:
                raise ValueError("huber_delta is required for distribution='huber'")
            d = float(huber_delta)
            r = np.abs(y - f)
            return np.where(r <= d, r * r, d * (2.0 * r - d))
    raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}; got {distribution!r}")


def huber_delta(y, pred, w=None, huber_alpha=0.9):
    """Weighted ``huber_alpha``-quantile of ``|y - pred|`` (H2O's Huber Δ for the reported deviance).

    Rows with NaN ``y`` or zero weight are excluded.  Computed from one block of
    rows; callers scoring in several partitions compute it once on the training
    score frame and pass it to :func:`partial_metrics` as ``huber_delta``.
    """
    if not 0.0 <= float(huber_alpha) <= 1.0:
        raise ValueError(f"huber_alpha must be in [0, 1]; got {huber_alpha!r}")
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    y, w, keep = _prepare(y, w, pred.shape[0])
    r = np.abs(y[keep] - pred[keep])
    w = w[keep]
    if r.size == 0:
        return float("nan")
    order = np.argsort(r, kind="stable")
    r, w = r[order], w[order]
    cw = np.cumsum(w)
    idx = int(np.searchsorted(cw, huber_alpha * cw[-1], side="left"))
    return float(r[min(idx, r.size - 1)])


def _bin_index(p1, n_bins=N_BINS):
    p = np.clip(np.asarray(p1, dtype=np.float64), 1e-300, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(p) - np.log1p(-p)          # logit; +inf for p == 1
    z = np.nan_to_num(z, nan=0.0, posinf=LOGIT_RANGE, neginf=-LOGIT_RANGE)
    b = np.floor((z + LOGIT_RANGE) * (n_bins / (2.0 * LOGIT_RANGE))).astype(np.int64)
    return np.clip(b, 0, n_bins - 1)


def _auc_from_bins(pos, neg):
    """ROC AUC and step-wise average precision of a score histogram (ties inside a bin count half)."""
    P, N = float(pos.sum()), float(neg.sum())
    if P <= 0 or N <= 0:
        return float("nan"), float("nan")
    pos, neg = pos[::-1], neg[::-1]  # highest scores first
    tp_before = np.concatenate([[0.0], np.cumsum(pos)[:-1]])
    auc = float(np.dot(neg, tp_before + 0.5 * pos)) / (P * N)
    tp, fp = np.cumsum(pos), np.cumsum(neg)
    nz = pos > 0
    aucpr = float(np.dot(pos[nz] / P, tp[nz] / (tp[nz] + fp[nz])))
    return auc, aucpr


def multinomial_auc(mhist: np.ndarray) -> dict:
    """H2O's multinomial AUC and AUCPR (one-vs-rest and one-vs-one, macro and weighted) from the
    (K, K, M_BINS) histograms of p_k by true class."""
    K = mhist.shape[0]
    counts = mhist[np.arange(K), np.arange(K)].sum(axis=1)  # rows of each true class
    prev = counts / counts.sum() if counts.sum() > 0 else np.zeros(K)
    ovr = []
    for k in range(K):
        neg = mhist[k].sum(axis=0) - mhist[k, k]
        ovr.append(_auc_from_bins(mhist[k, k], neg))
    ovo = []
    for j in range(K):
        for k in range(j + 1, K):
            a1, p1 = _auc_from_bins(mhist[j, j], mhist[j, k])
            a2, p2 = _auc_from_bins(mhist[k, k], mhist[k, j])
            ovo.append((j, k, (a1 + a2) / 2.0, (p1 + p2) / 2.0, prev[j] + prev[k]))

    def _avg(vals, w=None):
        vals = np.asarray(vals, np.float64)
        ok = np.isfinite(vals)
        if not ok.any():
            return float("nan")
        if w is None:
            return float(vals[ok].mean())
        w = np.asarray(w, np.float64)[ok]
        return float(np.dot(vals[ok], w) / w.sum()) if w.sum() > 0 else float("nan")

    out = {"ovr": [(k, a, p) for k, (a, p) in enumerate(ovr)], "ovo": [o[:4] for o in ovo]}
    out["macro_ovr"] = (_avg([a for a, _ in ovr]), _avg([p for _, p in ovr]))
    out["weighted_ovr"] = (_avg([a for a, _ in ovr], prev), _avg([p for _, p in ovr], prev))
    out["macro_ovo"] = (_avg([o[2] for o in ovo]), _avg([o[3] for o in ovo]))
    out["weighted_ovo"] = (_avg([o[2] for o in ovo], [o[4] for o in ovo]),
                           _avg([o[3] for o in ovo], [o[4] for o in ovo]))
    return out


def _class_index(y, n_classes, name="y"):
    yi = y.astype(np.int64)
    if np.any(yi != y) or np.any(yi < 0) or np.any(yi >= n_classes):
        bad = y[(yi != y) | (yi < 0) | (yi >= n_classes)][0]
        raise ValueError(f"{name} must hold class indices 0..{n_classes - 1} (or NaN for missing); got {bad!r}")
    return yi


def partial_metrics(kind, y, pred, w=None, *, n_classes=None, distribution="gaussian", tweedie_power=1.5,
                    quantile_alpha=0.5, huber_delta=None, huber_alpha=0.9, auc_type=None, custom=None,
                    offset=None, threshold=0.5) -> dict[str, Any]:
    """Reduce one block of rows to mergeable sums (see module docstring).

    Parameters
    ----------
    kind : "regression" | "binomial" | "multinomial" | "autoencoder"
    y : (n,) float; class index for classification, value in original units for
        regression (ignored for autoencoder except NaN marking nothing); NaN = missing.
    pred : regression (n,) predictions; classification (n, K) class probabilities
        (binomial also accepts (n,) p1); autoencoder (n,) per-row reconstruction MSE.
    w : optional (n,) observation weights (0 excludes the row).
    distribution : regression deviance: gaussian, poisson, gamma, tweedie, laplace, quantile, huber.
    huber_delta : Δ for the huber deviance; if None it is derived from this block
        (:func:`huber_delta` with ``huber_alpha``), which is only exact for a single block.
    auc_type : multinomial only: one of ``AUC_TYPES`` to compute H2O's multinomial AUC/AUCPR
        (None, "auto" or "none": not computed, as in H2O).
    custom : a :class:`~daskdl.metrics.custom.CustomMetric` to reduce over the rows as well
        (``offset``: the rows' offsets; ``threshold``: binomial label cut for its ``pred[0]``).
    """
    out = _partial_metrics(kind, y, pred, w, n_classes=n_classes, distribution=distribution,
                           tweedie_power=tweedie_power, quantile_alpha=quantile_alpha, huber_delta=huber_delta,
                           huber_alpha=huber_alpha, auc_type=auc_type)
    if custom is not None and kind != "autoencoder":
        p = np.asarray(pred, dtype=np.float64)
        if kind == "regression":
            rows = p.reshape(-1, 1)
        else:
            if kind == "binomial" and p.ndim == 1:
                p = np.column_stack([1.0 - p, p])
            label = (p[:, 1] >= threshold).astype(np.float64) if kind == "binomial" else \
                np.argmax(p, axis=1).astype(np.float64)
            rows = np.column_stack([label, p])
        yy = np.asarray(y, np.float64) if y is not None else np.full(rows.shape[0], np.nan)
        out["custom"] = _CustomState(custom, custom.partial(rows, yy, w, offset))
    return out


class _CustomState:
    """A custom metric's partial result; combined with the metric's own ``reduce``."""

    def __init__(self, metric, state):
        self.metric, self.state = metric, state

    def __add__(self, other):
        return _CustomState(self.metric, self.metric.reduce(self.state, other.state))


def _partial_metrics(kind, y, pred, w=None, *, n_classes=None, distribution="gaussian", tweedie_power=1.5,
                     quantile_alpha=0.5, huber_delta=None, huber_alpha=0.9, auc_type=None) -> dict[str, Any]:
    _check_kind(kind)
    pred = np.asarray(pred, dtype=np.float64)
    n = pred.shape[0]
    if kind == "autoencoder":
        pred = pred.reshape(-1)
        if y is None:
            y = np.zeros(n)
        y, w, keep = _prepare(y, w, n)
        wk, e = w[keep], pred[keep]
        return {"kind": kind, "nobs": float(keep.sum()), "sw": float(wk.sum()),
                "sum_mse": float(np.dot(wk, e))}

    y, w, keep = _prepare(y, w, n)

    if kind == "regression":
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}; got {distribution!r}")
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred[:, 0]
        if pred.ndim != 1:
            raise ValueError(f"regression pred must have shape (n,); got {pred.shape}")
        yk, fk, wk = y[keep], pred[keep], w[keep]
        sw, mean_y, m2_y = _moments(yk, wk)
        r = yk - fk
        valid_le = (yk > -1) & (fk > -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            le = np.where(valid_le, np.log1p(np.where(valid_le, fk, 0.0)) - np.log1p(np.where(valid_le, yk, 0.0)), 0.0)
        if distribution == "huber" and huber_delta is None:
            huber_delta = huber_delta_fn(yk, fk, wk, huber_alpha)
        dev = unit_deviance(distribution, yk, fk, tweedie_power=tweedie_power, quantile_alpha=quantile_alpha,
                            huber_delta=huber_delta)
        return {"kind": kind, "distribution": distribution,
                "tweedie_power": float(tweedie_power) if distribution == "tweedie" else None,
                "quantile_alpha": float(quantile_alpha) if distribution == "quantile" else None,
                "huber_delta": float(huber_delta) if distribution == "huber" else None,
                "nobs": float(keep.sum()), "sw": sw, "mean_y": mean_y, "m2_y": m2_y,
                "sse": float(np.dot(wk, r * r)), "sae": float(np.dot(wk, np.abs(r))),
                "ssle": float(np.dot(wk, le * le)), "n_bad_le": float((~valid_le).sum()),
                "sdev": float(np.dot(wk, dev))}

    # classification
    if kind == "binomial" and pred.ndim == 1:
        pred = np.column_stack([1.0 - pred, pred])
    if pred.ndim != 2:
        raise ValueError(f"{kind} pred must have shape (n, K) of class probabilities; got {pred.shape}")
    K = pred.shape[1] if n_classes is None else int(n_classes)
    if pred.shape[1] != K:
        raise ValueError(f"pred has {pred.shape[1]} probability columns but n_classes={n_classes}")
    if kind == "binomial" and K != 2:
        raise ValueError(f"binomial metrics need 2 classes; got n_classes={K}")
    if kind == "multinomial" and K < 2:
        raise ValueError(f"multinomial metrics need at least 2 classes; got n_classes={K}")
    yk, pk, wk = y[keep], pred[keep], w[keep]
    yi = _class_index(yk, K)
    sw, mean_y, m2_y = _moments(yk, wk)
    py = pk[np.arange(yi.size), yi]
    out = {"kind": kind, "n_classes": K, "nobs": float(keep.sum()), "sw": sw, "mean_y": mean_y, "m2_y": m2_y,
           "slogloss": float(np.dot(wk, -np.log(np.maximum(LOGLOSS_EPS, py)))),
           "sse": float(np.dot(wk, (1.0 - py) ** 2))}
    if kind == "binomial":
        b = _bin_index(pk[:, 1])
        pos = yi == 1
        out["hist_pos"] = np.bincount(b[pos], weights=wk[pos], minlength=N_BINS).astype(np.float64)
        out["hist_neg"] = np.bincount(b[~pos], weights=wk[~pos], minlength=N_BINS).astype(np.float64)
        bmin = np.full(N_BINS, np.inf)
        np.minimum.at(bmin, b, pk[:, 1])
        out["bin_min"] = bmin
    else:
        am = np.argmax(pk, axis=1)
        cm = np.zeros((K, K), dtype=np.float64)
        np.add.at(cm, (yi, am), wk)
        out["cm"] = cm
        rank = (pk > py[:, None]).sum(axis=1)          # 0 = true class ranked first
        out["hits"] = np.bincount(rank, weights=wk, minlength=K)[:K].astype(np.float64)
        if auc_type is not None and str(auc_type).lower() in AUC_TYPES:
            out["auc_type"] = str(auc_type).lower()
            b = _bin_index(pk, M_BINS)  # (n, K)
            flat = (np.arange(K)[None, :] * K + yi[:, None]) * M_BINS + b  # (class k, true class, bin)
            out["mhist"] = np.bincount(flat.ravel(), weights=np.repeat(wk, K),
                                       minlength=K * K * M_BINS).reshape(K, K, M_BINS)
    return out


huber_delta_fn = huber_delta


def combine(a: dict, b: dict) -> dict:
    """Merge two partials (associative and commutative up to float rounding)."""
    if a.get("kind") != b.get("kind"):
        raise ValueError(f"cannot combine partial metrics of kind {a.get('kind')!r} and {b.get('kind')!r}")
    out = {}
    for k in a:
        if k not in b:
            raise ValueError(f"cannot combine partial metrics: key {k!r} missing in the second partial")
    for k in b:
        if k not in a:
            raise ValueError(f"cannot combine partial metrics: key {k!r} missing in the first partial")
    for k, va in a.items():
        vb = b[k]
        if k in _META_KEYS:
            if va != vb:
                raise ValueError(f"cannot combine partial metrics with different {k}: {va!r} vs {vb!r}")
            out[k] = va
        elif k in _MIN_KEYS:
            out[k] = np.minimum(va, vb)
        elif k in _MOMENT_KEYS:
            continue
        else:
            out[k] = va + vb
    if "mean_y" in a:
        wa, wb = a["sw"], b["sw"]
        sw = wa + wb
        if sw > 0:
            delta = b["mean_y"] - a["mean_y"]
            out["mean_y"] = a["mean_y"] + delta * (wb / sw)
            out["m2_y"] = a["m2_y"] + b["m2_y"] + delta * delta * (wa * wb / sw)
        else:
            out["mean_y"], out["m2_y"] = 0.0, 0.0
    out["sw"] = a["sw"] + b["sw"]
    return out


def combine_all(partials) -> dict:
    """Fold :func:`combine` over an iterable of partials."""
    it = iter(partials)
    try:
        acc = next(it)
    except StopIteration:
        raise ValueError("combine_all needs at least one partial") from None
    for p in it:
        acc = combine(acc, p)
    return acc


def _div(a, b):
    return a / b if b > 0 else float("nan")


def _roc_from_hist(hist_pos, hist_neg, bin_min):
    """Cumulative (tps, fps, thresholds) over the non-empty bins, highest threshold first."""
    nz = np.nonzero((hist_pos + hist_neg) > 0)[0][::-1]
    tps = np.cumsum(hist_pos[nz])
    fps = np.cumsum(hist_neg[nz])
    thr = bin_min[nz]
    return thr, tps, fps


def finalize(kind, partial: dict, *, classes=None, description=None, algo="deeplearning"):
    """Turn a (combined) partial into a :class:`ModelMetrics`."""

    _check_kind(kind)
    if partial.get("kind") != kind:
        raise ValueError(f"partial metrics are of kind {partial.get('kind')!r}, not {kind!r}")
    sw = partial["sw"]
    vals: dict[str, Any] = {"nobs": int(round(partial["nobs"])), "sum_weights": sw}
    extra: dict[str, Any] = {}
    if kind == "autoencoder":
        mse = _div(partial["sum_mse"], sw)
        vals.update(mse=mse, rmse=math.sqrt(mse) if mse == mse else float("nan"))
        return ModelMetrics(kind, vals, description=description, algo=algo)

    mse = _div(partial["sse"], sw)
    var_y = _div(partial["m2_y"], sw)
    vals["mse"] = mse
    vals["rmse"] = math.sqrt(mse) if mse == mse else float("nan")
    vals["r2"] = 1.0 - mse / var_y if (var_y == var_y and var_y > 0) else float("nan")

    if kind == "regression":
        vals["mae"] = _div(partial["sae"], sw)
        vals["rmsle"] = math.sqrt(_div(partial["ssle"], sw)) if partial["n_bad_le"] == 0 and sw > 0 else float("nan")
        vals["mean_residual_deviance"] = _div(partial["sdev"], sw)
        vals["distribution"] = partial["distribution"]
        _custom_value(partial, extra)
        return ModelMetrics(kind, vals, description=description, algo=algo, **extra)

    K = int(partial["n_classes"])
    if classes is None:
        classes = [str(i) for i in range(K)]
    classes = [str(c) for c in classes]
    if len(classes) != K:
        raise ValueError(f"classes has {len(classes)} labels but the metrics have {K} classes")
    vals["logloss"] = _div(partial["slogloss"], sw)

    if kind == "binomial":
        thr, tps, fps = _roc_from_hist(partial["hist_pos"], partial["hist_neg"], partial["bin_min"])
        extra["roc"] = {"thresholds": thr, "tps": tps, "fps": fps}
        _custom_value(partial, extra)
        return ModelMetrics(kind, vals, classes=classes, description=description, algo=algo, **extra)

    cm = np.asarray(partial["cm"], dtype=np.float64)
    extra["cm"] = cm
    hits = np.asarray(partial["hits"], dtype=np.float64)
    kmax = min(10, K)
    extra["hit_ratios"] = (np.cumsum(hits)[:kmax] / sw) if sw > 0 else np.full(kmax, np.nan)
    tot = cm.sum()
    vals["classification_error"] = _div(tot - np.trace(cm), tot)
    vals["mean_per_class_error"] = _mean_per_class_error(cm)
    _custom_value(partial, extra)
    if "mhist" in partial:
        mauc = multinomial_auc(np.asarray(partial["mhist"], np.float64))
        vals["auc"], vals["aucpr"] = mauc[partial["auc_type"]]
        extra["multinomial_auc"] = {"type": partial["auc_type"], **mauc}
    return ModelMetrics(kind, vals, classes=classes, description=description, algo=algo, **extra)


def _custom_value(partial, extra):
    c = partial.get("custom")
    if c is not None:
        extra["custom"] = (c.metric.name, c.metric.value(c.state))


def _mean_per_class_error(cm):
    rows = cm.sum(axis=1)
    present = rows > 0
    if not present.any():
        return float("nan")
    err = 1.0 - np.diag(cm)[present] / rows[present]
    return float(err.mean())


def compute_metrics(kind, y, pred, w=None, *, classes=None, description=None, algo="deeplearning", **kw):
    """One-shot metrics: ``finalize(kind, partial_metrics(kind, y, pred, w, **kw))``."""
    return finalize(kind, partial_metrics(kind, y, pred, w, **kw), classes=classes,
                    description=description, algo=algo)
