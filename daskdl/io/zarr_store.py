"""Saving and loading trained models as one versioned Zarr group (no pickle).

Layout of a saved model directory ``<path>/<model_id>`` (a Zarr v3 group):

* arrays ``net/W``, ``net/B`` (weights and biases), ``net/Aw``, ``net/Bw``, ``net/Ab``, ``net/Bb``
  (ADADELTA state), ``net/Vw``, ``net/Vb`` (momentum) and ``net/Ra`` (running mean activations of a
  sparse autoencoder; optional, absent in files written before it existed), all float32, needed to
  restart from a checkpoint;
* arrays ``schema/cat_offsets`` (int32), ``schema/normmul``, ``schema/normsub``, ``schema/num_means``,
  ``schema/num_impute`` (float64);
* JSON attributes of the root group: ``format`` (``"daskdl-model"``), ``format_version`` (3),
  ``daskdl_version``, ``model_id``, ``params`` (the user's parameters, frames left out), ``resolved``
  (effective parameters), ``schema`` (the rest of the frame schema), ``layout``, ``history`` (scoring
  history rows), ``train_metrics`` / ``valid_metrics``, ``varimp`` (records), ``x``, ``y``, ``result``
  (epochs, iterations, samples, training time, rows, stop reason), ``balance`` (``balance_classes``:
  sampling factors and the class-probability correction applied at prediction; null otherwise),
  ``response_labels``, ``checksums`` (SHA-256 of every array's bytes) and ``manifest``. These are the
  fields of :class:`daskdl.model.state.FitState`: the store saves and loads exactly it. Non-finite floats in attributes are written as
  ``{"__float__": "nan" | "inf" | "-inf"}``.

Integrity. ``manifest`` holds one SHA-256 per attribute field (nested dicts down to their leaves,
named like ``schema.cat_levels`` or ``train_metrics.values.mse``), computed over the canonical JSON
of the field (sorted keys, no whitespace), and ``digest``, the SHA-256 of all those entries. The
``checksums`` attribute is one of the covered fields, so the digest covers every array too. Loading
recomputes every entry and refuses a model whose attributes or arrays differ from what was saved,
naming the field or array. What this protects against: accidental corruption, partial copies, edits
by hand or by tools that rewrite the JSON, and swapped arrays. What it does not: the digest is not a
signature. There is no key; anyone who can write the directory can recompute the manifest, so it
proves neither who wrote a model nor that it is the one you trained. Keep models you did not write
out of trusted paths, or compare the ``manifest.digest`` with one you recorded when you saved it.
Files of format version 1 (written before the manifest) still load, with a warning that only their
arrays are checked. Files of format version 2 (written before ``balance``) load too; a
``balance_classes`` model among them loads without its class-probability correction, with a warning.

Loading only reads JSON and numeric arrays; nothing in the directory is executed and no module named
in it is imported (a custom metric is attached again with ``load_model(path, custom_metric_func=cls)``
or, on explicit request, imported with ``trust_custom_metric=True``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..frame.catenc import CategoricalTransform
from ..frame.schema import _FIELDS, FrameSchema
from ..metrics.custom import resolve_custom_metric
from ..metrics.model_metrics import ModelMetrics
from ..model.labels import from_json as labels_from_json
from ..model.labels import to_json as labels_to_json
from ..model.network import Layout, Network
from ..model.registry import estimator_class, register
from ..model.state import ClassBalance, FitState, History
from ..params import PARAMETERS, Resolved

FORMAT = "daskdl-model"
FORMAT_VERSION = 3
_log = logging.getLogger("daskdl")

_NET_ARRAYS = ("W", "B", "Aw", "Bw", "Ab", "Bb", "Vw", "Vb", "Ra")
_OPTIONAL_NET_ARRAYS = ("Ra",)
_SCHEMA_ARRAYS = {"cat_offsets": np.int32, "normmul": np.float64, "normsub": np.float64,
                  "num_means": np.float64, "num_impute": np.float64}
_TUPLE_FIELDS = ("hidden", "hidden_dropout_ratios", "ignored_columns")
_REQUIRED_ATTRS = {"format": str, "format_version": int, "model_id": str, "params": dict, "resolved": dict,
                   "schema": dict, "layout": dict, "history": dict, "result": dict, "x": list,
                   "checksums": dict}

__all__ = ["save_model", "load_model", "read_fit_state", "fit_state_of", "FORMAT", "FORMAT_VERSION"]


# --------------------------------------------------------------------------------------------- #
# JSON helpers
# --------------------------------------------------------------------------------------------- #
class _Skip:
    pass


_SKIP = _Skip()


def _to_json(v):
    """JSON-safe copy: numpy scalars/arrays to Python, tuples to lists, non-finite floats tagged;
    values that are not plain data (frames, functions, ...) become ``_SKIP``."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f):
            return f
        return {"__float__": "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")}
    if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
        return [_to_json(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        out = [_to_json(x) for x in v]
        return _SKIP if any(x is _SKIP for x in out) else out
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            jx = _to_json(x)
            if jx is _SKIP:
                return _SKIP
            out[str(k)] = jx
        return out
    return _SKIP


def is_plain(v) -> bool:
    """Whether ``v`` is plain data a saved model can hold (numbers, text, lists, dicts, numeric arrays)."""
    return _to_json(v) is not _SKIP


def _from_json(v):
    if isinstance(v, dict):
        if set(v) == {"__float__"} and v["__float__"] in ("nan", "inf", "-inf"):
            return float(v["__float__"])
        return {k: _from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    return v


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --------------------------------------------------------------------------------------------- #
# manifest: one digest over every attribute field (and, through ``checksums``, every array)
# --------------------------------------------------------------------------------------------- #
def _canonical(v) -> bytes:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _field_hashes(attrs: dict) -> dict:
    """SHA-256 of the canonical JSON of every field: dicts whose keys hold no ``.`` are descended
    into (``schema.num_cols``), anything else is one leaf."""
    out = {}

    def walk(name, v):
        if isinstance(v, dict) and v and all(isinstance(k, str) and "." not in k for k in v):
            for k, x in v.items():
                walk(f"{name}.{k}", x)
        else:
            out[name] = hashlib.sha256(_canonical(v)).hexdigest()

    for k, v in attrs.items():
        if k != "manifest":
            walk(k, v)
    return out


def _digest(fields: dict) -> str:
    return hashlib.sha256(_canonical({"algorithm": "sha256", "fields": fields})).hexdigest()


def _manifest(attrs: dict) -> dict:
    fields = _field_hashes(attrs)
    return {"algorithm": "sha256", "fields": fields, "digest": _digest(fields)}


def _check_manifest(raw: dict):
    """Refuse attributes that differ from the saved manifest, naming the fields."""
    man = raw.get("manifest")
    _need(isinstance(man, dict) and isinstance(man.get("fields"), dict) and isinstance(man.get("digest"), str)
          and man.get("algorithm") == "sha256", "attribute 'manifest' is missing or malformed (a format version "
                                                "2 model records a SHA-256 manifest of its attributes)")
    stored = man["fields"]
    _need(_digest(stored) == man["digest"], "the manifest's digest does not match its own entries (the "
                                            "manifest was modified)")
    try:
        now = _field_hashes(raw)
    except (TypeError, ValueError) as e:
        raise _Invalid(f"the attributes cannot be written as canonical JSON ({e})") from None
    changed = sorted(k for k in stored.keys() & now.keys() if stored[k] != now[k])
    added = sorted(now.keys() - stored.keys())
    removed = sorted(stored.keys() - now.keys())
    parts = []
    if changed:
        parts.append(f"changed fields {changed}")
    if added:
        parts.append(f"fields not in the manifest {added}")
    if removed:
        parts.append(f"missing fields {removed}")
    _need(not parts, "its attributes do not match the manifest recorded when it was saved (modified or "
                     "corrupt after saving): " + "; ".join(parts))


# --------------------------------------------------------------------------------------------- #
# save
# --------------------------------------------------------------------------------------------- #
def _attributes(fs: FitState) -> dict:
    sd = fs.schema.to_dict()
    for f in _SCHEMA_ARRAYS:
        sd.pop(f, None)
    params = {}
    for k, v in fs.params.items():  # plain values only (frames and objects were left out at training)
        jv = _to_json(v)
        if jv is not _SKIP:
            params[k] = jv
    h = fs.history
    attrs = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "daskdl_version": __version__,
        "model_id": fs.model_id, "estimator": fs.estimator,
        "params": params,
        "resolved": _to_json(dataclasses.asdict(fs.resolved)),
        "schema": _to_json(sd),
        "layout": _to_json(fs.layout.to_dict()),
        "history": {"kind": h.kind, "has_valid": bool(h.has_valid), "rows": _to_json(h.rows)},
        "train_metrics": None if fs.train_metrics is None else _to_json(fs.train_metrics.to_dict()),
        "valid_metrics": None if fs.valid_metrics is None else _to_json(fs.valid_metrics.to_dict()),
        "varimp": None if fs.varimp is None else _to_json(fs.varimp.to_dict(orient="records")),
        "x": list(fs.x), "y": fs.y,
        "result": _to_json({"epochs": fs.epochs, "iterations": fs.iterations, "samples": fs.samples,
                            "train_seconds": fs.train_seconds, "n_rows": fs.n_rows,
                            "stopped_reason": fs.stopped_reason}),
        "balance": None if fs.balance is None else _to_json(fs.balance.to_dict()),
    }
    for k, v in attrs.items():
        if v is _SKIP:
            raise ValueError(f"cannot save model {fs.model_id}: its {k!r} holds values that are not plain data")
    return attrs


def _write_array(group, name: str, data: np.ndarray):
    data = np.ascontiguousarray(data)
    chunks = (max(1, data.shape[0]),)
    arr = group.create_array(name, shape=data.shape, dtype=data.dtype, chunks=chunks, fill_value=0)
    if data.size:
        arr[...] = data


def _move_into_place(tmp: Path, target: Path, base: Path, name: str, force: bool):
    """Rename the finished ``tmp`` to ``target``; an existing target is moved aside first and removed
    afterwards. A concurrent writer that puts a model at ``target`` between the two renames makes the
    rename fail (a non-empty directory): the step is retried, so the last complete model wins and no
    moved-aside copy is left behind."""
    import errno

    for _ in range(50):
        old = None
        if target.exists():
            if not force:
                raise FileExistsError(f"{target} already exists; pass force=True to overwrite it")
            old = base / f".{name}.old-{uuid.uuid4().hex}"
            try:
                os.replace(target, old)
            except FileNotFoundError:  # another writer moved it meanwhile
                old = None
        try:
            os.replace(tmp, target)
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    raise FileExistsError(f"{target} kept being replaced by concurrent writers; the model was not saved")


def _check_parent_dirs(base: Path, target: Path):
    """A clear error when a component of the save path exists but is not a directory."""
    for d in [base, *base.parents]:
        if d.exists():
            if not d.is_dir():
                raise NotADirectoryError(f"cannot save the model to {target}: {d} exists and is a file, not a "
                                         f"directory; choose another path")
            return


def fit_state_of(model) -> FitState:
    """The FitState of a trained estimator (or the FitState itself)."""
    fs = model if isinstance(model, FitState) else getattr(model, "fit_state", None)
    if fs is None:
        raise ValueError(f"model {getattr(model, 'model_id', model)!r} is not trained yet; call train() before "
                         f"saving or exporting it")
    return fs


def save_model(model, path=None, force: bool = False, filename: str | None = None) -> str:
    """Save a trained model (an estimator or its :class:`FitState`) as ``<path or cwd>/<filename or
    model_id>`` (a Zarr group); returns the path.

    The group is written to a temporary sibling directory and renamed into place, so a reader never
    sees a half-written model. An existing target raises FileExistsError unless ``force=True``, in which
    case the old directory is replaced only once the new one is complete.
    """
    import zarr

    fs = fit_state_of(model)
    base = Path(os.getcwd() if path in (None, "") else os.fspath(path))
    name = filename or fs.model_id
    if not name or os.sep in name or name in (".", ".."):
        raise ValueError(f"filename must be a plain directory name; got {name!r}")
    target = base / name
    _check_parent_dirs(base, target)
    if target.exists() and not force:
        raise FileExistsError(f"{target} already exists; pass force=True to overwrite it")
    attrs = _attributes(fs)
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{name}.tmp-{uuid.uuid4().hex}"
    try:
        root = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
        checksums = {}
        net = fs.net
        gnet = root.create_group("net")
        for a in _NET_ARRAYS:
            data = np.ascontiguousarray(getattr(net, a), dtype=np.float32)
            _write_array(gnet, a, data)
            checksums[f"net/{a}"] = _sha256(data)
        gs = root.create_group("schema")
        for f, dt in _SCHEMA_ARRAYS.items():
            data = np.ascontiguousarray(getattr(fs.schema, f), dtype=dt)
            _write_array(gs, f, data)
            checksums[f"schema/{f}"] = _sha256(data)
        attrs["checksums"] = checksums
        if fs.labels:  # the response's label values and dtype: a loaded model predicts the same labels
            attrs["response_labels"] = labels_to_json(fs.labels)
        attrs["manifest"] = _manifest(attrs)
        root.attrs.update(attrs)
        _move_into_place(tmp, target, base, name, force)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


# --------------------------------------------------------------------------------------------- #
# load
# --------------------------------------------------------------------------------------------- #
class _Invalid(ValueError):
    pass


def read_fit_state(path) -> FitState:
    """The :class:`FitState` saved at ``path`` (checked as :func:`load_model` describes)."""
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"no saved model at {p}")
    try:
        return _load(p)
    except _Invalid as e:
        raise ValueError(f"{p} is not a valid daskdl model: {e}") from None


def load_model(path, custom_metric_func=None, trust_custom_metric: bool = False):
    """Load a model written by :func:`save_model`; returns a trained ``DeepLearningEstimator``.

    Raises FileNotFoundError for a missing path and ``ValueError("<path> is not a valid daskdl model:
    <reason>")`` for anything else that is wrong (unknown or newer format version, attributes or arrays
    that differ from the saved manifest, missing arrays, shapes that do not match the layout, non-finite
    weights, wrong types); the reason names the field or array.

    A model trained with ``custom_metric_func`` stores only the metric's reference. Loading never
    imports it: pass the metric class (or instance) again as ``custom_metric_func``, or set
    ``trust_custom_metric=True`` to import the stored reference; otherwise the custom metric is not
    computed on new data and a warning says so.
    """
    fs = read_fit_state(path)
    custom = _custom_metric_for(fs, custom_metric_func, bool(trust_custom_metric))
    model = estimator_class(fs.estimator).from_fit_state(fs, custom_metric=custom)
    register(model)
    return model


def _custom_metric_for(fs: FitState, func, trust: bool):
    """Resolve the stored custom-metric reference only from what the caller passes (see load_model)."""
    ref = getattr(fs.resolved, "custom_metric", None)
    if not ref:
        if func is not None:
            raise ValueError(f"custom_metric_func was given but model {fs.model_id} was trained without a "
                             f"custom metric")
        return None
    if func is not None:
        custom = resolve_custom_metric(func)
        if custom.name != ref.partition("=")[0].removeprefix("python:"):
            _log.warning("model %s was trained with custom metric %r; attaching %r instead", fs.model_id, ref,
                         custom.ref)
        return custom
    if trust:
        return resolve_custom_metric(str(ref))  # the caller asked for the stored reference to be imported
    msg = (f"model {fs.model_id} was trained with custom metric {ref!r}, which is not computed on new "
           f"data: daskdl never imports code named in a model file. Pass the class again "
           f"(daskdl.load_model(path, custom_metric_func=<class>)) or trust_custom_metric=True to import it")
    warnings.warn(msg, UserWarning, stacklevel=3)
    return None


def _need(cond, msg):
    if not cond:
        raise _Invalid(msg)


def _open(p: Path):
    import zarr

    _need(p.is_dir() and (p / "zarr.json").is_file(), "it is not a Zarr v3 group directory (no zarr.json)")
    try:
        root = zarr.open_group(str(p), mode="r", zarr_format=3)
        attrs = dict(root.attrs)
    except Exception as e:  # unreadable or malformed metadata
        raise _Invalid(f"cannot read the Zarr group metadata ({type(e).__name__}: {e})") from None
    return root, attrs


def _read_array(root, key: str, dtype, checksums: dict) -> np.ndarray:
    try:
        arr = root[key]
    except Exception:
        raise _Invalid(f"array {key!r} is missing") from None
    _need(hasattr(arr, "shape") and hasattr(arr, "dtype"), f"{key!r} is not an array")
    _need(np.dtype(arr.dtype) == np.dtype(dtype), f"array {key!r} has dtype {arr.dtype}, expected "
                                                  f"{np.dtype(dtype)}")
    _need(len(arr.shape) == 1, f"array {key!r} has shape {arr.shape}, expected 1-D")
    try:
        data = np.ascontiguousarray(arr[...], dtype=dtype)
    except Exception as e:
        raise _Invalid(f"array {key!r} cannot be read ({type(e).__name__}: {e})") from None
    want = checksums.get(key)
    _need(isinstance(want, str), f"no checksum recorded for array {key!r}")
    _need(_sha256(data) == want, f"array {key!r} does not match its recorded SHA-256 checksum (corrupt or "
                                 f"modified)")
    return data


def _load(p: Path):
    root, raw = _open(p)
    fmt = raw.get("format")
    _need(fmt == FORMAT, f"attribute 'format' is {fmt!r}, expected {FORMAT!r}")
    ver = raw.get("format_version")
    _need(isinstance(ver, int) and not isinstance(ver, bool), f"attribute 'format_version' must be an integer; "
                                                                f"got {ver!r}")
    _need(ver <= FORMAT_VERSION, f"format_version {ver} is newer than this daskdl supports "
                                 f"(up to {FORMAT_VERSION}); upgrade daskdl to load it")
    _need(ver >= 1, f"format_version {ver} is unknown (supported: 1..{FORMAT_VERSION})")
    for k, t in _REQUIRED_ATTRS.items():
        _need(k in raw, f"attribute {k!r} is missing")
        _need(isinstance(raw[k], t), f"attribute {k!r} must be a {t.__name__}; got {type(raw[k]).__name__}")
    if ver >= 2:
        _check_manifest(raw)
    else:
        warnings.warn(f"{p} was saved in format version 1: its arrays are checked but its JSON attributes are "
                      f"not covered by a digest; save it again to protect them", UserWarning, stacklevel=4)
    a = _from_json(raw)
    model_id = a["model_id"]

    # parameters
    unknown = sorted(set(a["params"]) - set(PARAMETERS))
    _need(not unknown, f"attribute 'params' has unknown parameter names {unknown}")
    rfields = {f.name for f in dataclasses.fields(Resolved)}
    rd = dict(a["resolved"])
    for f in dataclasses.fields(Resolved):  # fields added later have defaults: older files lack them
        if f.name not in rd and f.default is not dataclasses.MISSING:
            rd[f.name] = f.default
    _need(set(rd) == rfields, f"attribute 'resolved' has missing keys {sorted(rfields - set(rd))} / unknown "
                              f"keys {sorted(set(rd) - rfields)}")
    for f in _TUPLE_FIELDS:
        if rd[f] is not None:
            _need(isinstance(rd[f], list), f"resolved.{f} must be a list; got {type(rd[f]).__name__}")
            rd[f] = tuple(rd[f])
    _need(all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in rd["hidden"]),
          f"resolved.hidden must be positive integers; got {rd['hidden']!r}")
    for f in ("classification", "autoencoder", "dropout"):
        _need(isinstance(rd[f], bool), f"resolved.{f} must be a bool; got {rd[f]!r}")
    resolved = Resolved(**rd)

    # layout and network
    ld = a["layout"]
    _need(set(ld) == {"units", "act", "out_dist", "autoencoder"}, f"attribute 'layout' has keys "
                                                                    f"{sorted(ld)}")
    _need(isinstance(ld["units"], list) and len(ld["units"]) >= 2
          and all(isinstance(u, int) and not isinstance(u, bool) and u > 0 for u in ld["units"]),
          f"layout.units must be a list of at least 2 positive integers; got {ld['units']!r}")
    _need(isinstance(ld["act"], int) and ld["act"] in (0, 1, 2), f"layout.act must be 0, 1 or 2; got "
                                                                  f"{ld['act']!r}")
    _need(isinstance(ld["out_dist"], int) and 0 <= ld["out_dist"] <= 7,
          f"layout.out_dist must be an integer in 0..7; got {ld['out_dist']!r}")
    layout = Layout.from_dict(ld)
    _need(list(layout.units[1:-1]) == list(resolved.hidden), f"layout.units {list(layout.units)} do not match "
                                                               f"resolved.hidden {list(resolved.hidden)}")
    checksums = a["checksums"]
    net = Network.__new__(Network)
    net.layout = layout
    nw, nb = layout.n_weights, layout.n_biases
    sizes = {"W": (nw,), "B": (nb,), "Aw": (nw,), "Bw": (nw,), "Ab": (nb,), "Bb": (nb,), "Vw": (nw, 1),
             "Vb": (nb, 1), "Ra": (int(layout.aoff[-1]), 1)}
    for name in _NET_ARRAYS:
        if name in _OPTIONAL_NET_ARRAYS and f"net/{name}" not in checksums:
            setattr(net, name, np.zeros(1, np.float32))
            continue
        data = _read_array(root, f"net/{name}", np.float32, checksums)
        _need(data.shape[0] in sizes[name], f"array 'net/{name}' has {data.shape[0]} values; the layout "
                                            f"{list(layout.units)} needs {sizes[name][0]}")
        _need(bool(np.isfinite(data).all()), f"array 'net/{name}' holds non-finite values")
        setattr(net, name, data)

    # schema
    sd = dict(a["schema"])
    sd.setdefault("cat_encoding", None)  # added after the first files were written
    if sd["cat_encoding"] is not None:
        try:
            CategoricalTransform.from_dict(sd["cat_encoding"])
        except (ValueError, TypeError, AttributeError) as e:
            _need(False, f"attribute 'schema.cat_encoding' is invalid: {e}")
    for f, dt in _SCHEMA_ARRAYS.items():
        sd[f] = _read_array(root, f"schema/{f}", dt, checksums)
    missing = sorted(set(_FIELDS) - set(sd))
    extra = sorted(set(sd) - set(_FIELDS))
    _need(not missing and not extra, f"attribute 'schema' has missing fields {missing} / unknown fields {extra}")
    for f in ("cat_cols", "num_cols", "coef_names", "cat_levels", "cat_na_seen", "columns"):
        _need(isinstance(sd[f], list), f"schema.{f} must be a list; got {type(sd[f]).__name__}")
    _need(all(isinstance(c, str) for c in sd["cat_cols"] + sd["num_cols"] + sd["coef_names"]),
          "schema column and coefficient names must be strings")
    _need(all(isinstance(lv, list) and all(isinstance(x, str) for x in lv) for lv in sd["cat_levels"]),
          "schema.cat_levels must be lists of strings")
    schema = FrameSchema.from_dict(sd)
    nc, nn = len(schema.cat_cols), len(schema.num_cols)
    _need(len(schema.cat_levels) == nc and len(schema.cat_offsets) == nc + 1,
          f"schema has {nc} categorical columns but {len(schema.cat_levels)} level lists and "
          f"{len(schema.cat_offsets)} offsets")
    for f in ("normmul", "normsub", "num_means", "num_impute"):
        _need(len(getattr(schema, f)) == nn, f"schema/{f} has {len(getattr(schema, f))} values for {nn} numeric "
                                             f"columns")
    _need(isinstance(schema.num_offset, int) and isinstance(schema.n_in, int)
          and schema.n_in == schema.num_offset + nn and len(schema.coef_names) == schema.n_in,
          f"schema input width n_in={schema.n_in!r} is inconsistent (num_offset={schema.num_offset!r}, "
          f"{nn} numerics, {len(schema.coef_names)} coefficient names)")
    _need(int(layout.units[0]) == schema.n_in, f"layout input width {int(layout.units[0])} != schema n_in "
                                               f"{schema.n_in}")
    if resolved.autoencoder:
        n_out = schema.n_in
    elif resolved.classification:
        _need(isinstance(schema.classes, list) and len(schema.classes) == resolved.n_classes,
              f"schema.classes {schema.classes!r} does not have n_classes={resolved.n_classes} labels")
        n_out = resolved.n_classes
    else:
        n_out = 1
    _need(int(layout.units[-1]) == n_out, f"layout output width {int(layout.units[-1])} != {n_out}")
    _need(bool(layout.autoencoder) == bool(resolved.autoencoder), "layout.autoencoder does not match "
                                                                   "resolved.autoencoder")
    if schema.hashing:
        _need(isinstance(schema.max_categorical_features, int) and schema.num_offset
              == schema.max_categorical_features, "schema hashing width does not match num_offset")
    else:
        _need(int(schema.cat_offsets[-1]) == schema.num_offset if nc else schema.num_offset == 0,
              "schema categorical offsets do not match num_offset")

    # history, metrics, result
    hd = a["history"]
    _need(isinstance(hd.get("kind"), str) and isinstance(hd.get("rows"), list)
          and all(isinstance(r, dict) for r in hd["rows"]), "attribute 'history' is malformed")
    history = History(hd["kind"], bool(hd.get("has_valid")), list(hd["rows"]))

    def metrics(key):
        m = a.get(key)
        if m is None:
            return None
        _need(isinstance(m, dict) and isinstance(m.get("kind"), str) and isinstance(m.get("values"), dict),
              f"attribute {key!r} is malformed")
        try:
            return ModelMetrics.from_dict(m)
        except Exception as e:
            raise _Invalid(f"attribute {key!r} cannot be read ({type(e).__name__}: {e})") from None

    rs = a["result"]
    need_r = {"epochs", "iterations", "samples", "train_seconds", "n_rows", "stopped_reason"}
    _need(need_r <= set(rs), f"attribute 'result' lacks {sorted(need_r - set(rs))}")
    for k in ("epochs", "iterations", "samples", "train_seconds", "n_rows"):
        _need(isinstance(rs[k], (int, float)) and not isinstance(rs[k], bool),
              f"result.{k} must be a number; got {rs[k]!r}")
    varimp = None
    if a.get("varimp") is not None:
        _need(isinstance(a["varimp"], list) and all(isinstance(r, dict) for r in a["varimp"]),
              "attribute 'varimp' must be a list of records")
        varimp = pd.DataFrame(a["varimp"], columns=["variable", "relative_importance", "scaled_importance",
                                                    "percentage"])
    _need(all(isinstance(c, str) for c in a["x"]), "attribute 'x' must be a list of column names")
    _need(a.get("y") is None or isinstance(a.get("y"), str), "attribute 'y' must be a column name or null")

    balance = None
    if a.get("balance") is not None:
        bd = a["balance"]
        _need(isinstance(bd, dict) and {"factors", "expanded", "n", "correction", "counts"} <= set(bd),
              "attribute 'balance' is malformed")
        try:
            balance = ClassBalance.from_dict(bd)
        except (TypeError, ValueError) as e:
            raise _Invalid(f"attribute 'balance' cannot be read ({e})") from None
        _need(resolved.classification and len(balance.correction) == resolved.n_classes,
              f"attribute 'balance' has {len(balance.correction)} class corrections for a model with "
              f"{resolved.n_classes if resolved.classification else 0} classes")
    elif ver < 3 and a["params"].get("balance_classes"):
        warnings.warn(f"{p} was saved in format version {ver}, before the class-balance correction was stored: "
                      f"this balance_classes model predicts without it (probabilities of the balanced "
                      f"training data); train and save it again to restore it", UserWarning, stacklevel=4)
    labels = None
    if raw.get("response_labels") is not None:
        try:
            labels = labels_from_json(raw["response_labels"])
        except (KeyError, TypeError, ValueError) as e:
            raise _Invalid(f"attribute 'response_labels' is malformed ({e})") from e
    estimator = a.get("estimator")
    _need(estimator is None or isinstance(estimator, str), "attribute 'estimator' must be a class name")
    return FitState(model_id=model_id, estimator=estimator or "DeepLearningEstimator", params=dict(a["params"]),
                    resolved=resolved, schema=schema, net=net, history=history,
                    train_metrics=metrics("train_metrics"), valid_metrics=metrics("valid_metrics"),
                    epochs=float(rs["epochs"]), iterations=int(rs["iterations"]), samples=float(rs["samples"]),
                    train_seconds=float(rs["train_seconds"]), n_rows=int(rs["n_rows"]),
                    stopped_reason=str(rs["stopped_reason"]), x=list(a["x"]), y=a.get("y"), balance=balance,
                    labels=labels, varimp=varimp)
