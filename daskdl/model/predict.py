"""Scoring of encoded blocks: network outputs in the user's units, per-row
reconstruction errors, and the prediction frame H2O returns."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..frame.encode import Block, encode_dense, encode_partition
from ..frame.schema import FrameSchema
from ..kernels.codes import LOG_LINK
from ..metrics import partial_metrics
from ..params import Resolved
from .labels import default_label_info, empty_labels, labels_of
from .network import Network, forward, idle_threads, thread_pool


class UnstableModelError(RuntimeError):
    """The network's outputs are not finite (H2O: "Trying to predict with an unstable model.")."""


UNSTABLE_MSG = ("Trying to predict with an unstable model: {n} of {m} rows gave non-finite outputs (the "
                "activations grew without bound). Either the weights or the bias values are unreasonably large or "
                "the inputs lead to large activation values (check the scoring frame for extreme values). Try a "
                "different initial distribution, a bounded activation function (Tanh), adding regularization (via "
                "max_w2, l1, l2, dropout) or learning rate (either enable adaptive_rate or use a smaller learning "
                "rate or faster annealing).")


def _require_finite(out: np.ndarray) -> np.ndarray:
    ok = np.isfinite(out)
    if not ok.all():
        rows = ok.reshape(len(out), -1).all(axis=1) if len(out) else ok
        raise UnstableModelError(UNSTABLE_MSG.format(n=int((~rows).sum()), m=len(out)))
    return out


def output(net: Network, block: Block, schema: FrameSchema, hidden_dropout, identity_standardized: bool,
           correction=None, threads=None):
    """Classification: (n, K) probabilities. Regression: (n,) prediction in response
    units. Autoencoder: (n, n_in) reconstruction in the normalized input space."""
    lay = net.layout
    offset = None
    if not lay.autoencoder and lay.out_dist != 0 and schema.offset_column is not None:
        offset = link_offset(block.offset, schema, identity_standardized)
    out = forward(net, block.xnum, block.xcat, schema.num_offset, hidden_dropout=hidden_dropout,
                  offset=offset, threads=threads)
    if lay.autoencoder:
        return _require_finite(out)
    if lay.out_dist == 0:
        if correction is not None:  # balance_classes: back to the training class distribution (spec 9.2)
            out = out * np.asarray(correction, np.float32)
            out /= out.sum(axis=1, keepdims=True)
        return _require_finite(out)
    f = _require_finite(out[:, 0].astype(np.float64))
    if lay.out_dist in LOG_LINK:
        return np.minimum(np.exp(f), 1e19)
    if identity_standardized:
        return f / schema.respmul + schema.respsub
    return f


def link_offset(offset: np.ndarray, schema: FrameSchema, identity_standardized: bool) -> np.ndarray:
    """Offsets in the network's output space (spec 3.1, added for every value: FIX of Q3)."""
    if identity_standardized:
        return ((offset.astype(np.float64) - schema.respsub) * schema.respmul).astype(np.float32)
    return offset.astype(np.float32)


def reconstruction_error(net: Network, block: Block, schema: FrameSchema, per_feature: bool = False):
    recon = forward(net, block.xnum, block.xcat, schema.num_offset)
    target = encode_dense(block, schema)
    se = (recon.astype(np.float64) - target) ** 2
    return se if per_feature else se.mean(axis=1)


def predict_frame(pdf: pd.DataFrame, model_state: dict) -> pd.DataFrame:
    """H2O's prediction frame for one pandas partition (index preserved). Row blocks are
    encoded and scored concurrently on the idle threads of the worker (see ``idle_threads``)."""
    k = min(idle_threads(), len(pdf) // _ROWS_PER_THREAD)
    if k <= 1:
        return _predict_rows(pdf, model_state, None)
    cuts = [len(pdf) * i // k for i in range(k + 1)]
    jobs = [thread_pool().submit(_predict_rows, pdf.iloc[a:b], model_state, 1) for a, b in zip(cuts[:-1], cuts[1:])]
    return pd.concat([j.result() for j in jobs])


_ROWS_PER_THREAD = 2048


def _predict_rows(pdf: pd.DataFrame, model_state: dict, threads) -> pd.DataFrame:
    schema: FrameSchema = model_state["schema"]
    net: Network = model_state["net"]
    block = encode_partition(pdf, schema, training=False, standardize_response=False, row_major=False)
    cols = model_state["columns"]
    if len(pdf) == 0:
        return empty_prediction(model_state, pdf.index)
    out = output(net, block, schema, model_state["hidden_dropout"], model_state["identity_standardized"],
                 correction=model_state.get("correction"), threads=threads)
    if net.layout.autoencoder:
        recon = out.astype(np.float64)
        nn = schema.num_offset
        if schema.n_num:
            recon[:, nn:] = recon[:, nn:] / schema.normmul + schema.normsub
        return pd.DataFrame(recon, index=pdf.index, columns=cols)
    if out.ndim == 1:
        return pd.DataFrame({"predict": out}, index=pdf.index)
    labels = label_from_probs(out, model_state)
    classes = schema.classes
    df = pd.DataFrame(out.astype(np.float64), index=pdf.index, columns=cols[1:])
    df.insert(0, "predict", labels_of(labels, model_state.get("labels") or default_label_info(classes)))
    return df


def label_from_probs(p: np.ndarray, model_state: dict) -> np.ndarray:
    if p.shape[1] == 2:
        return (p[:, 1] >= model_state["threshold"]).astype(np.int64)
    return p.argmax(axis=1).astype(np.int64)


def empty_prediction(model_state: dict, index) -> pd.DataFrame:
    schema: FrameSchema = model_state["schema"]
    cols = model_state["columns"]
    if model_state["net"].layout.autoencoder:
        return pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols}, index=index[:0])
    if not schema.classification:
        return pd.DataFrame({"predict": pd.Series([], dtype="float64")}, index=index[:0])
    d = {"predict": empty_labels(model_state.get("labels") or default_label_info(schema.classes))}
    for c in cols[1:]:
        d[c] = pd.Series([], dtype="float64")
    return pd.DataFrame(d, index=index[:0])


class PartialMetricsFn:
    """Per partition: the mergeable partial metrics of a model (``fn(pdf, scoring_state)``)."""

    def __init__(self, kind, r: Resolved, custom=None):
        self.kind = kind
        self.custom = custom
        self.kw = {}
        if kind == "regression":
            self.kw = dict(distribution=r.distribution, tweedie_power=r.tweedie_power,
                           quantile_alpha=r.quantile_alpha, huber_alpha=r.huber_alpha)
        elif kind == "binomial":
            self.kw = dict(n_classes=r.n_classes)
        elif kind == "multinomial":
            self.kw = dict(n_classes=r.n_classes, auc_type=getattr(r, "auc_type", "auto"))

    def __call__(self, pdf, state):
        schema = state["schema"]
        block = encode_partition(pdf, schema, training=False, standardize_response=False, row_major=False)
        if self.kind == "autoencoder":
            err = reconstruction_error(state["net"], block, schema) if len(pdf) else np.zeros(0)
            return partial_metrics("autoencoder", None, err, block.w)
        if len(pdf) == 0:
            pred = np.zeros((0, self.kw.get("n_classes", 1))) if self.kind != "regression" else np.zeros(0)
        else:
            pred = output(state["net"], block, schema, state["hidden_dropout"], state["identity_standardized"],
                          correction=state.get("correction"))
        if self.custom is not None:
            return partial_metrics(self.kind, block.y.astype(np.float64), np.asarray(pred, np.float64), block.w,
                                   custom=self.custom, offset=block.offset, threshold=state.get("threshold", 0.5),
                                   **self.kw)
        return partial_metrics(self.kind, block.y.astype(np.float64), np.asarray(pred, np.float64), block.w,
                               **self.kw)
