"""User-supplied starting weights (spec 2.4): ``initial_weights`` / ``initial_biases`` and
``pretrained_autoencoder``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.checkpoint import resolve_checkpoint
from .network import Network


def _as_matrix(obj, name: str) -> np.ndarray:
    if obj is None:
        return None
    if hasattr(obj, "compute") and not isinstance(obj, (pd.DataFrame, np.ndarray)):
        obj = obj.compute()
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, pd.DataFrame):
        obj = obj.to_numpy(dtype=np.float64)
    arr = np.asarray(obj, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D frame or array; got {arr.ndim} dimensions")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains missing or non-finite values")
    return arr


def initial_network(parms: dict, res, schema, layout, momentum: bool, sparse: bool = False) -> Network | None:
    """The starting network when the user supplies weights or a pretrained autoencoder, else None."""
    pre = parms.get("pretrained_autoencoder")
    iw = parms.get("initial_weights")
    ib = parms.get("initial_biases")
    if pre is None and iw is None and ib is None:
        return None
    net = Network(layout, momentum=momentum, sparse=sparse)
    net.initialize(res.initial_weight_distribution, res.initial_weight_scale, res.seed, res.classification)
    L = layout.n_layers
    if pre is not None:
        _copy_pretrained(net, pre, res, schema, layout)
    if iw is not None or ib is not None:
        if iw is None or ib is None:
            raise ValueError("initial_weights and initial_biases must be given together (one entry per layer, "
                             f"{L} each; None keeps the random initialization of a layer)")
        iw, ib = list(iw), list(ib)
        if len(iw) != L or len(ib) != L:
            raise ValueError(f"initial_weights and initial_biases need {L} entries each (hidden has "
                             f"{L - 1} layers, plus the output layer); got {len(iw)} and {len(ib)}")
        for l in range(1, L + 1):
            w, b = iw[l - 1], ib[l - 1]
            if w is None or b is None:  # H2O: the layer keeps random weights and default biases
                continue
            W = _as_matrix(w, f"initial_weights[{l - 1}]")
            Bv = _as_matrix(b, f"initial_biases[{l - 1}]")
            want = net.weight(l).shape
            if W.shape != want:
                raise ValueError(f"initial_weights[{l - 1}] must have shape {want} (units of layer {l} x units of "
                                 f"layer {l - 1}); got {W.shape}")
            if Bv.shape != (want[0], 1):
                raise ValueError(f"initial_biases[{l - 1}] must have shape ({want[0]}, 1); got {Bv.shape}")
            if layout.is_maxout(l):  # H2O's Maxout matrix: flat buffer [unit][input][channel]
                r, c = W.shape
                W = W.reshape(r // 2, c, 2).transpose(0, 2, 1).reshape(r, c)
            net.weight(l)[...] = W.astype(np.float32)
            net.bias(l)[...] = Bv[:, 0].astype(np.float32)
    return net


def _copy_pretrained(net: Network, pre, res, schema, layout):
    model = resolve_checkpoint(pre, what="pretrained_autoencoder")
    r = model.resolved
    if not r.autoencoder:
        raise ValueError(f"pretrained_autoencoder {model.model_id} is not an autoencoder (train it with "
                         "autoencoder=True)")
    if res.autoencoder:
        raise ValueError("pretrained_autoencoder initializes a supervised model; this model is an autoencoder")
    src = model.net
    if list(r.hidden) != list(res.hidden):
        raise ValueError(f"pretrained_autoencoder has hidden={list(r.hidden)} but this model has "
                         f"hidden={list(res.hidden)}; they must match")
    if r.activation != res.activation:
        raise ValueError(f"pretrained_autoencoder uses activation {r.activation!r} but this model uses "
                         f"{res.activation!r}; they must match")
    if int(src.layout.units[0]) != int(layout.units[0]) or list(model.schema.coef_names) != list(
            schema.coef_names):
        raise ValueError("pretrained_autoencoder was trained on other input features "
                         f"({int(src.layout.units[0])} expanded inputs) than this model "
                         f"({int(layout.units[0])}); use the same predictors and categorical levels")
    for l in range(1, layout.n_layers):  # every layer but the output
        net.weight(l)[...] = src.weight(l)
        net.bias(l)[...] = src.bias(l)
    net.bias(layout.n_layers)[...] = 0.0
