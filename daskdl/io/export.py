"""Standalone exports of a trained model: a numpy-only Python scorer and an ONNX graph.

``export_python(model, path)`` writes ``<path>`` (a ``.py`` file) and ``<path without .py>.npz``
(weights and preprocessing arrays, read with ``allow_pickle=False``). The generated module needs only
NumPy and offers ``predict(rows)``, ``predict_proba(rows)`` (classification) and
``anomaly(rows, per_feature=False)`` (autoencoder), plus ``COLUMNS`` (the raw predictor columns in
training-frame order) and ``encode(rows)`` (the expanded float32 input). ``rows`` is a dict of
column -> list/ndarray, a pandas DataFrame, or a 2-D array whose columns follow ``COLUMNS``.

``export_onnx(model, path)`` writes an ONNX graph whose single input ``input`` is the EXPANDED,
transformed float32 matrix (n, n_in) that :func:`onnx_input` builds from a frame (one-hot blocks with
their NA slots, then the transformed numerics, missing values imputed). Outputs: ``probabilities``
(classification), ``predict`` (regression, in response units), or ``reconstruction`` (normalized
input space) and ``reconstruction_error`` (per-row MSE) for autoencoders.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..frame.encode import encode_dense, encode_partition
from ..kernels.codes import LOG_LINK, SOFTMAX
from ..model.state import FitState, identity_standardized, scoring_state
from .zarr_store import fit_state_of

__all__ = ["export_python", "export_onnx", "onnx_input"]


def _meta_and_arrays(fs: FitState):
    state = scoring_state(fs)
    r = fs.resolved
    schema = state["schema"]
    net = fs.net
    lay = net.layout
    raw_cols = [c for c in schema.columns if c in set(schema.cat_cols) | set(schema.num_cols)]
    if schema.cat_encoding is not None:  # the user's columns, before categorical_encoding
        raw_cols = schema.source_columns()
    meta = {
        "model_id": fs.model_id,
        "columns": raw_cols,
        "cat_cols": list(schema.cat_cols), "cat_levels": [list(lv) for lv in schema.cat_levels],
        "num_cols": list(schema.num_cols), "num_offset": int(schema.num_offset), "n_in": int(schema.n_in),
        "use_all_factor_levels": bool(schema.use_all_factor_levels), "hashing": bool(schema.hashing),
        "coef_names": list(schema.coef_names),
        "units": [int(u) for u in lay.units], "activation": {0: "tanh", 1: "rectifier", 2: "maxout"}[lay.act],
        "hidden_dropout": [float(x) for x in (state["hidden_dropout"] or [0.0] * (lay.n_layers - 1))],
        "autoencoder": bool(lay.autoencoder), "classification": bool(lay.out_dist == SOFTMAX and
                                                                      not lay.autoencoder),
        "classes": list(schema.classes) if schema.classification else None,
        "class_values": _class_values(state),
        "prediction_columns": state["columns"], "threshold": float(state["threshold"]),
        # balance_classes: probabilities mapped back to the training class distribution
        "correction": None if state["correction"] is None else [float(c) for c in state["correction"]],
        "log_link": bool(lay.out_dist in LOG_LINK and not lay.autoencoder),
        "identity_standardized": bool(identity_standardized(r, schema)),
        "respmul": schema.respmul, "respsub": schema.respsub,
        "offset_column": schema.offset_column,
        "cat_encoding": schema.cat_encoding,
    }
    arrays = {"cat_offsets": np.asarray(schema.cat_offsets, np.int64),
              "normmul": np.asarray(schema.normmul, np.float64), "normsub": np.asarray(schema.normsub, np.float64),
              "num_impute": np.asarray(schema.num_impute, np.float64)}
    if schema.hashing and schema.n_cat:
        arrays["hash_lut"] = np.asarray(schema.hash_lut(), np.int64)
    for l in range(1, lay.n_layers + 1):
        arrays[f"W{l}"] = np.ascontiguousarray(net.weight(l), np.float32)
        arrays[f"b{l}"] = np.ascontiguousarray(net.bias(l), np.float32)
    return meta, arrays


_TEMPLATE = r'''"""Standalone scorer of the daskdl Deep Learning model __MODEL_ID__ (generated; needs NumPy only).

Usage::

    import importlib.util
    spec = importlib.util.spec_from_file_location("scorer", "<this file>")
    scorer = importlib.util.module_from_spec(spec); spec.loader.exec_module(scorer)
    scorer.predict({"col": [...], ...})     # dict of column -> list/ndarray, a pandas DataFrame,
                                            # or a 2-D array with columns in COLUMNS order

Weights are read from the ``.npz`` file next to this one (``allow_pickle=False``).
"""
import json
import math
import os

import numpy as np

META = json.loads(__META__)
# predicted labels: the response's values (numbers stay numbers), else the class names
_LABELS = np.asarray(META.get("class_values") or META["classes"] or [], dtype=object)
if len(_LABELS) and all(isinstance(v, (bool, int, float)) for v in _LABELS):
    _LABELS = np.asarray(list(_LABELS))
COLUMNS = META["columns"]
_NPZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), __NPZ_NAME__)
with np.load(_NPZ, allow_pickle=False) as _z:
    _A = {k: _z[k] for k in _z.files}
_LEVELS = [{lab: i for i, lab in enumerate(lv)} for lv in META["cat_levels"]]
_ENC = META.get("cat_encoding")  # categorical_encoding other than the internal one-hot


def _label(v):
    """Level label of a raw value (None for missing), as the model's training did."""
    if v is None:
        return None
    if type(v).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if f.is_integer():
            return str(int(f))
        return repr(f)
    return str(v)


def _numeric(col):
    a = np.asarray(col)
    if a.dtype.kind == "M":
        out = a.astype("datetime64[ms]").astype(np.int64).astype(np.float64)
        out[np.isnat(a)] = np.nan
        return out
    if a.dtype.kind in "iuf":
        out = a.astype(np.float64)
    else:
        out = np.empty(len(a), np.float64)
        for i, v in enumerate(a.tolist()):
            if isinstance(v, (bool, np.bool_)) or v is None:
                out[i] = np.nan
                continue
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                out[i] = np.nan
    out[~np.isfinite(out)] = np.nan
    return out


def _columns(rows):
    """dict column -> 1-D array, and the row count."""
    if hasattr(rows, "columns") and hasattr(rows, "iloc"):  # pandas DataFrame
        n = len(rows)
        cols = {}
        wanted = META["cat_cols"] + META["num_cols"] + ([META["offset_column"]] if META["offset_column"] else [])
        for c in wanted + [c for c in (_ENC or {}).get("levels", {}) if c not in wanted]:
            if _ENC and c in _ENC["levels"] and c in rows.columns:
                cols[c] = rows[c].to_numpy(dtype=object)
                continue
            if c in rows.columns:
                s = rows[c]
                if c in META["num_cols"] or c == META["offset_column"]:
                    try:
                        cols[c] = s.to_numpy(dtype=np.float64, na_value=np.nan)
                    except (TypeError, ValueError):
                        cols[c] = s.to_numpy(dtype=object)
                else:
                    cols[c] = s.to_numpy(dtype=object)
        return cols, n
    if isinstance(rows, dict):
        cols = {str(k): v for k, v in rows.items()}
        lens = {len(v) for v in cols.values()}
        if len(lens) > 1:
            raise ValueError("rows: every column must have the same length; got lengths %s" % sorted(lens))
        return cols, (lens.pop() if lens else 0)
    a = np.asarray(rows)
    if a.ndim == 1 and a.shape[0] == len(COLUMNS):
        a = a.reshape(1, -1)
    if a.ndim != 2 or a.shape[1] != len(COLUMNS):
        raise ValueError("rows: a 2-D array must have %d columns in the order of COLUMNS %s; got shape %s"
                         % (len(COLUMNS), COLUMNS, a.shape))
    return {c: a[:, j] for j, c in enumerate(COLUMNS)}, a.shape[0]


def _encoded_columns(cols, n):
    """Apply the model's categorical_encoding to the raw categorical columns."""
    if not _ENC:
        return cols
    out = dict(cols)
    for c, levels in _ENC["levels"].items():
        lut = {lab: i for i, lab in enumerate(levels)}
        raw = cols.get(c)
        labels = [None] * n if raw is None else [_label(v) for v in np.asarray(raw, dtype=object).tolist()]
        code = np.array([lut.get(lab, -1) if lab is not None else -1 for lab in labels], dtype=np.int64)
        kind = _ENC["kind"]
        if kind == "binary":
            v = np.where(code >= 0, code + 1, 0)
            for b in range(max(1, math.ceil(math.log2(len(levels) + 1)))):
                out["%s:%d" % (c, b)] = ((v >> b) & 1).astype(np.float64)
        elif kind == "eigen":
            vals = np.asarray(_ENC["values"][c], np.float64)
            out[c + ".Eigen"] = np.where(code >= 0, vals[np.maximum(code, 0)] if len(vals) else 0.0, np.nan)
        elif kind == "enum_limited":  # kept levels, the rest "other", missing stays missing
            out[c] = np.array([None if lab is None else (levels[k] if k >= 0 else "other")
                               for k, lab in zip(code.tolist(), labels)], dtype=object)
        else:  # label_encoder, sort_by_response: the level index
            out[c] = np.where(code >= 0, code, np.nan).astype(np.float64)
    return out


def encode(rows):
    """Expanded float32 input (n, n_in): one-hot blocks (NA slot for missing or unseen levels), then
    the transformed numerics (missing values imputed)."""
    cols, n = _columns(rows)
    cols = _encoded_columns(cols, n)
    X = np.zeros((n, META["n_in"]), np.float32)
    off = _A["cat_offsets"]
    shift = 0 if META["use_all_factor_levels"] else 1
    for j, c in enumerate(META["cat_cols"]):
        start, stop = int(off[j]), int(off[j + 1])
        if c in cols:
            li = np.array([_LEVELS[j].get(_label(v), -1) if _label(v) is not None else -1
                           for v in np.asarray(cols[c], dtype=object).tolist()], dtype=np.int64)
        else:
            li = np.full(n, -1, np.int64)
        slot = li - shift
        g = np.where(li < 0, stop - 1, np.where(slot < 0, -1, start + slot))
        if META["hashing"]:
            g = np.where(g >= 0, _A["hash_lut"][np.maximum(g, 0)], -1)
        ok = np.flatnonzero(g >= 0)
        np.add.at(X, (ok, g[ok]), np.float32(1.0))
    nn = len(META["num_cols"])
    if nn:
        N = np.empty((n, nn), np.float32)
        for j, c in enumerate(META["num_cols"]):
            N[:, j] = _numeric(cols[c]) if c in cols else np.nan
        na = ~np.isfinite(N)
        N -= _A["normsub"].astype(np.float32)
        N *= _A["normmul"].astype(np.float32)
        if na.any():
            N[na] = np.broadcast_to(_A["num_impute"].astype(np.float32), N.shape)[na]
        X[:, META["num_offset"]:] = N
    return X


def _offset(rows):
    c = META["offset_column"]
    if c is None:
        return None
    cols, n = _columns(rows)
    if c not in cols:
        return np.zeros(n, np.float32)
    o = _numeric(cols[c])
    o = np.where(np.isnan(o), 0.0, o)
    if META["identity_standardized"]:
        return ((o - META["respsub"]) * META["respmul"]).astype(np.float32)
    return o.astype(np.float32)


def _forward(X, offset=None):
    units = META["units"]
    L = len(units) - 1
    a = X
    for l in range(1, L + 1):
        z = a @ _A["W%d" % l].T
        z += _A["b%d" % l]
        out = l == L
        if META["activation"] == "maxout" and not out:
            a = z.reshape(z.shape[0], -1, 2).max(axis=2)
        elif out and not META["autoencoder"]:
            a = z
        elif META["activation"] == "tanh":
            a = np.tanh(z)
        else:
            a = np.maximum(z, np.float32(0.0))
        if not out and META["hidden_dropout"][l - 1] > 0:
            a = a * np.float32(1.0 - META["hidden_dropout"][l - 1])
    if not META["autoencoder"]:
        if META["classification"]:
            a = a - a.max(axis=1, keepdims=True)
            a = np.exp(a)
            a /= a.sum(axis=1, keepdims=True)
            if META.get("correction") is not None:
                a = a * np.asarray(META["correction"], np.float32)
                a /= a.sum(axis=1, keepdims=True)
        elif offset is not None:
            a = a + offset.reshape(-1, 1)
    return a


def predict_proba(rows):
    """(n, K) float64 class probabilities, columns in the order of META["classes"]."""
    if not META["classification"]:
        raise ValueError("predict_proba() needs a classification model")
    return _forward(encode(rows)).astype(np.float64)


def predict(rows):
    """Dict of prediction columns (the model's prediction frame): classification ``predict`` (label)
    and one probability per class; regression ``predict``; autoencoder ``reconstr_<feature>``."""
    X = encode(rows)
    if META["autoencoder"]:
        recon = _forward(X).astype(np.float64)
        nn = META["num_offset"]
        if len(META["num_cols"]):
            recon[:, nn:] = recon[:, nn:] / _A["normmul"] + _A["normsub"]
        return {c: recon[:, j] for j, c in enumerate(META["prediction_columns"])}
    if META["classification"]:
        p = _forward(X).astype(np.float64)
        if p.shape[1] == 2:
            lab = (p[:, 1] >= META["threshold"]).astype(np.int64)
        else:
            lab = p.argmax(axis=1)
        out = {"predict": _LABELS[lab]}
        for j, c in enumerate(META["prediction_columns"][1:]):
            out[c] = p[:, j]
        return out
    f = _forward(X, _offset(rows))[:, 0].astype(np.float64)
    if META["log_link"]:
        f = np.minimum(np.exp(f), 1e19)
    elif META["identity_standardized"]:
        f = f / META["respmul"] + META["respsub"]
    return {"predict": f}


def anomaly(rows, per_feature=False):
    """Autoencoder reconstruction error: per row (mean squared error over the expanded, normalized
    input, ``Reconstruction.MSE``) or, with per_feature=True, (n, n_in) squared errors."""
    if not META["autoencoder"]:
        raise ValueError("anomaly() needs an autoencoder model")
    X = encode(rows)
    se = (_forward(X).astype(np.float64) - X) ** 2
    return se if per_feature else se.mean(axis=1)
'''


def _class_values(state: dict):
    """The response value of each class as JSON numbers, booleans or text (None when the model
    does not record them or they are not plain values)."""
    info = state.get("labels")
    if not info:
        return None
    out = []
    for v in info["values"]:
        v = v.item() if isinstance(v, np.generic) else v
        if not isinstance(v, (bool, int, float, str)):
            return None
        out.append(v)
    return out


def export_python(model, path) -> str:
    """Write a standalone numpy-only scorer ``path`` (``.py`` appended if missing) and its weights
    ``<stem>.npz`` beside it; returns the path of the ``.py`` file."""
    meta, arrays = _meta_and_arrays(fit_state_of(model))
    p = Path(os.fspath(path))
    if p.suffix != ".py":
        p = p.with_name(p.name + ".py")
    if not p.stem.isidentifier():
        raise ValueError(f"path must name a .py file whose stem is a Python identifier; got {p.name!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    npz = p.with_suffix(".npz")
    np.savez(npz, **arrays)
    src = (_TEMPLATE.replace("__MODEL_ID__", str(meta["model_id"]).replace('"', "'"))
           .replace("__META__", repr(json.dumps(meta)))
           .replace("__NPZ_NAME__", repr(npz.name)))
    p.write_text(src, encoding="utf-8")
    return str(p)


# --------------------------------------------------------------------------------------------- #
# ONNX
# --------------------------------------------------------------------------------------------- #
def onnx_input(model, frame) -> np.ndarray:
    """The float32 C-contiguous (n, n_in) expanded input the exported ONNX graph takes, from a pandas
    DataFrame (or a dask DataFrame, computed)."""
    schema = fit_state_of(model).schema
    if not isinstance(frame, pd.DataFrame):
        frame = frame.compute()
    block = encode_partition(frame, schema, training=False, standardize_response=False)
    return np.ascontiguousarray(encode_dense(block, schema), dtype=np.float32)


def export_onnx(model, path, opset: int = 17) -> str:
    """Write the network as an ONNX graph over the expanded input (see :func:`onnx_input`); returns the
    path. Needs the ``onnx`` package. Models with an offset column are not supported."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("export_onnx needs the 'onnx' package: pip install onnx") from None
    meta, arrays = _meta_and_arrays(fit_state_of(model))
    if meta["cat_encoding"] is not None:
        raise NotImplementedError(
            f"export_onnx of a model trained with categorical_encoding={meta['cat_encoding']['kind']!r} is not "
            f"available (the ONNX graph takes the internal one-hot input); use export_python")
    if meta["offset_column"] is not None:
        raise ValueError(f"export_onnx does not support models trained with offset_column "
                         f"({meta['offset_column']!r}); use export_python")
    units = meta["units"]
    L = len(units) - 1
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    a = "input"
    for l in range(1, L + 1):
        W = const(f"W{l}T", np.ascontiguousarray(arrays[f"W{l}"].T))
        b = const(f"b{l}", arrays[f"b{l}"])
        nodes.append(helper.make_node("MatMul", [a, W], [f"mm{l}"]))
        nodes.append(helper.make_node("Add", [f"mm{l}", b], [f"z{l}"]))
        z = f"z{l}"
        out = l == L
        if meta["activation"] == "maxout" and not out:
            shp = const(f"shape{l}", np.array([0, units[l], 2], np.int64))
            nodes.append(helper.make_node("Reshape", [z, shp], [f"zr{l}"]))
            nodes.append(helper.make_node("ReduceMax", [f"zr{l}"], [f"a{l}"], axes=[2], keepdims=0))
        elif out and not meta["autoencoder"]:
            nodes.append(helper.make_node("Identity", [z], [f"a{l}"]))
        elif meta["activation"] == "tanh":
            nodes.append(helper.make_node("Tanh", [z], [f"a{l}"]))
        else:
            nodes.append(helper.make_node("Relu", [z], [f"a{l}"]))
        a = f"a{l}"
        if not out and meta["hidden_dropout"][l - 1] > 0:
            s = const(f"keep{l}", np.array(1.0 - meta["hidden_dropout"][l - 1], np.float32))
            nodes.append(helper.make_node("Mul", [a, s], [f"ad{l}"]))
            a = f"ad{l}"
    n_out = units[-1]
    outputs = []
    if meta["autoencoder"]:
        nodes.append(helper.make_node("Identity", [a], ["reconstruction"]))
        nodes.append(helper.make_node("Sub", ["reconstruction", "input"], ["diff"]))
        nodes.append(helper.make_node("Mul", ["diff", "diff"], ["sq"]))
        nodes.append(helper.make_node("ReduceMean", ["sq"], ["reconstruction_error"], axes=[1], keepdims=0))
        outputs = [helper.make_tensor_value_info("reconstruction", TensorProto.FLOAT, ["n", n_out]),
                   helper.make_tensor_value_info("reconstruction_error", TensorProto.FLOAT, ["n"])]
    elif meta["classification"]:
        if meta["correction"] is None:
            nodes.append(helper.make_node("Softmax", [a], ["probabilities"], axis=1))
        else:  # balance_classes: probabilities mapped back to the training class distribution
            corr = const("correction", np.asarray(meta["correction"], np.float32))
            nodes.append(helper.make_node("Softmax", [a], ["balanced"], axis=1))
            nodes.append(helper.make_node("Mul", ["balanced", corr], ["corrected"]))
            nodes.append(helper.make_node("ReduceSum", ["corrected", const("class_axis", np.array([1], np.int64))],
                                          ["corrected_sum"], keepdims=1))
            nodes.append(helper.make_node("Div", ["corrected", "corrected_sum"], ["probabilities"]))
        outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", n_out])]
    else:
        if meta["log_link"]:
            nodes.append(helper.make_node("Exp", [a], ["ex"]))
            nodes.append(helper.make_node("Min", ["ex", const("cap", np.array(1e19, np.float32))], ["pred2"]))
        elif meta["identity_standardized"]:
            nodes.append(helper.make_node("Div", [a, const("respmul", np.array(meta["respmul"], np.float32))],
                                          ["ds"]))
            nodes.append(helper.make_node("Add", ["ds", const("respsub", np.array(meta["respsub"], np.float32))],
                                          ["pred2"]))
        else:
            nodes.append(helper.make_node("Identity", [a], ["pred2"]))
        nodes.append(helper.make_node("Flatten", ["pred2"], ["predict"], axis=0))
        shp = const("flat", np.array([-1], np.int64))
        nodes[-1] = helper.make_node("Reshape", ["pred2", shp], ["predict"])
        outputs = [helper.make_tensor_value_info("predict", TensorProto.FLOAT, ["n"])]
    graph = helper.make_graph(nodes, f"daskdl_{meta['model_id']}",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", units[0]])],
                              outputs, initializer=inits)
    graph.doc_string = ("input: float32 (n, %d) expanded input from daskdl.io.onnx_input(model, frame); "
                        "coefficients: %s" % (units[0], ", ".join(meta["coef_names"][:50])
                                              + (" ..." if len(meta["coef_names"]) > 50 else "")))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="daskdl")
    m.ir_version = min(m.ir_version, 9)
    onnx.checker.check_model(m)
    p = Path(os.fspath(path))
    p.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(p))
    return str(p)
