"""``fit``: one model, from frames and H2O's parameters to a :class:`FitState`.

The estimator resolves the columns (``x``, ``y``) and checks the parameters that need no data;
then :func:`fit` does the rest: the categorical encoding and the frame schema (H2O's DataInfo),
the checks that need the data (number of classes, response range), the class balance, the
starting network (random, user weights, a pretrained autoencoder or a checkpoint), the training
loop (:func:`daskdl.train.driver.fit`) and the variable importances. Cross-validation and grid
search call it as well, with an explicit set of workers.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..frame.catenc import KINDS, fit_transform
from ..frame.encode import check_scoring_frame
from ..frame.schema import FrameSchema, _label, is_categorical_dtype
from ..io.checkpoint import check_columns, check_restart, initial_state, resolve_checkpoint
from ..io.zarr_store import is_plain, save_model
from ..metrics.custom import StoredReference, resolve_custom_metric
from ..model.init import initial_network
from ..model.labels import label_info
from ..model.state import ClassBalance, FitState
from ..model.varimp import network_varimp
from ..params import PARAMETERS, Resolved, for_validation, validate
from . import driver

logger = logging.getLogger("daskdl")

__all__ = ["Prepared", "fit", "prepare", "response_kind", "plain_params"]


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` fits on the training frame before any training."""

    resolved: Resolved
    schema: FrameSchema
    labels: dict | None
    balance: ClassBalance | None


def response_kind(frame, y) -> str | None:
    """``"categorical"`` or ``"numeric"`` for the response column ``y`` (None without one)."""
    if y is None or y not in frame.columns:
        return None
    return "categorical" if is_categorical_dtype(frame.dtypes[y]) else "numeric"


def plain_params(parms: dict) -> dict:
    """The user's parameters as plain values: frames and other objects left out, a custom metric
    by its reference (what a FitState keeps and a saved model stores)."""
    out = {}
    for k, v in parms.items():
        if k in ("training_frame", "validation_frame") or k not in PARAMETERS:
            continue
        if k == "custom_metric_func" and v is not None:  # kept by reference, never as code
            out[k] = str(v) if isinstance(v, StoredReference) else resolve_custom_metric(v).ref
        elif is_plain(v):
            out[k] = v
    return out


def _with_fold_column(ignored, fold_column):
    """The fold column is never a predictor."""
    if fold_column is None:
        return ignored
    ignored = list(ignored or [])
    return ignored if fold_column in ignored else ignored + [fold_column]


def _categorical_encoding(parms, frame, x, y, rk, fold_column):
    """Fit ``categorical_encoding`` (binary, label_encoder, sort_by_response, enum_limited) on the
    training frame: returns (transform or None, the frame and x the schema is fitted on)."""
    enc = str(parms.get("categorical_encoding") or "auto").lower()
    enc = {"labelencoder": "label_encoder", "sortbyresponse": "sort_by_response",
           "enumlimited": "enum_limited"}.get(enc.replace("_", ""), enc)
    if enc not in KINDS:
        return None, frame, x
    special = {c for c in (y, parms.get("weights_column"), parms.get("offset_column"), fold_column) if c}
    ignored = set(parms.get("ignored_columns") or [])
    cand = [str(c) for c in (x if x is not None else frame.columns)]
    cats = [c for c, dt in zip(map(str, frame.columns), frame.dtypes)
            if c in cand and c not in special and c not in ignored and isinstance(dt, pd.CategoricalDtype)]
    if not cats:
        return None, frame, x
    t = fit_transform(frame, cats, enc, y=y, y_kind=rk)
    if isinstance(frame, pd.DataFrame):
        fit_frame = t.apply(frame)
    else:
        fit_frame = frame.map_partitions(t.apply, meta=t.apply(frame._meta))
    fit_x = None if x is None else [o for c in x for o in (t.output_columns(c) if c in t.levels else [c])]
    return t, fit_frame, fit_x


def class_balance(parms: dict, schema: FrameSchema, frame, y) -> ClassBalance | None:
    """balance_classes (spec 9.2): per-class sampling factors, the balanced row count and the
    correction that maps predicted probabilities back to the training class distribution."""
    if not parms.get("balance_classes") or not schema.classification:
        return None
    vc = frame[y].value_counts()
    if hasattr(vc, "compute"):
        vc = vc.compute()
    by_label = {}
    for k, v in vc.items():
        by_label[_label(k)] = by_label.get(_label(k), 0) + int(v)
    counts = np.array([by_label.get(c, 0) for c in schema.classes], dtype=np.float64)
    n = counts.sum()
    f = parms.get("class_sampling_factors")
    if f is not None:
        factors = np.asarray(f, dtype=np.float64)
    else:  # minority classes oversampled up to the majority class
        factors = counts.max() / np.maximum(counts, 1.0)
    expanded = float((factors * counts).sum())
    cap = float(parms.get("max_after_balance_size", 5.0)) * n
    if expanded > cap:
        factors = factors * (cap / expanded)
        expanded = cap
    prior = counts / max(n, 1.0)
    balanced = factors * counts / max(expanded, 1e-300)
    correction = np.where(balanced > 0, prior / np.where(balanced > 0, balanced, 1.0), 0.0)
    return ClassBalance(factors=tuple(factors.tolist()), expanded=expanded, n=float(n),
                        correction=tuple(correction.tolist()), counts=tuple(counts.tolist()))


def prepare(frame, parms: dict, *, x, y, has_validation: bool) -> Prepared:
    """Fit the categorical encoding and the schema on the training frame, check the parameters
    against the data and compute the class balance."""
    autoencoder = bool(parms.get("autoencoder"))
    rk = None if autoencoder else response_kind(frame, y)
    fold_column = parms.get("fold_column")
    seed = parms.get("seed", -1)
    transform, fit_frame, fit_x = _categorical_encoding(parms, frame, x, y, rk, fold_column)
    schema = FrameSchema.fit(
        fit_frame, fit_x, y, autoencoder=autoencoder, weights_column=parms.get("weights_column"),
        offset_column=parms.get("offset_column"),
        ignored_columns=_with_fold_column(parms.get("ignored_columns"), fold_column),
        ignore_const_cols=bool(parms.get("ignore_const_cols", True)),
        use_all_factor_levels=bool(parms.get("use_all_factor_levels", True)) or autoencoder,
        standardize=bool(parms.get("standardize", True)), sparse=bool(parms.get("sparse", False)),
        missing_values_handling=str(parms.get("missing_values_handling", "mean_imputation")),
        max_categorical_features=int(parms.get("max_categorical_features", 2147483647)),
        seed=int(seed) if seed is not None and int(seed) >= 0 else 0,
        classification=None if autoencoder else (rk == "categorical"),
        cat_encoding=None if transform is None else transform.to_dict())
    labels = label_info(frame, y, schema.classes) if schema.classification else None
    res = validate(for_validation(parms), response_kind=rk,
                   n_classes=len(schema.classes) if schema.classification else None,
                   y_min=schema.resp_min if not schema.classification else None,
                   has_validation=has_validation, n_rows=schema.n_rows)
    return Prepared(res, schema, labels, class_balance(parms, schema, frame, y))


def _custom_metric_of(parms, res):
    """The CustomMetric object of a fit (None without custom_metric_func or for autoencoders)."""
    if res.autoencoder or parms.get("custom_metric_func") is None:
        return None
    return resolve_custom_metric(parms["custom_metric_func"])


class CheckpointWriter:
    """Writes the model being trained to ``export_checkpoints_dir/<model_id>`` at every scoring
    (the format of :func:`daskdl.save_model`, so ``checkpoint=<that path>`` resumes it)."""

    def __init__(self, directory: str, make_state):
        self.dir, self.make_state = directory, make_state

    def __call__(self, result: driver.TrainResult):
        snap = dataclasses.replace(result, net=result.net.copy(), history=result.history.copy())
        fs = self.make_state(snap)
        if fs.resolved.variable_importances and not fs.resolved.autoencoder:
            fs = dataclasses.replace(fs, varimp=network_varimp(fs.net, fs.schema))
        os.makedirs(self.dir, exist_ok=True)
        save_model(fs, path=self.dir, force=True)


def fit(client, frames, params: dict, *, x=None, y=None, model_id: str, estimator: str = "DeepLearningEstimator",
        workers=None, prepared: Prepared | None = None, overrides: dict | None = None, out_of_core=None,
        verbose: bool = False) -> FitState:
    """Train one model; returns its :class:`FitState`.

    ``client``: a ``distributed.Client``, or None to train in this process; ``workers``: the
    addresses to train on (None: all of the client's). ``frames``: ``(training_frame,
    validation_frame or None)``. ``params``: every H2O parameter (defaults filled in), with
    ``response_column`` = ``y``; ``x``: the predictor columns (None: all but the special ones).
    ``prepared``: the schema and resolved parameters when the caller fitted them already (the
    estimator does, to run cross-validation first); ``overrides``: resolved values to replace
    (cross-validation's main model). ``params["checkpoint"]`` continues a trained model."""
    train_frame, valid_frame = frames
    if params.get("checkpoint") is not None:
        return _fit_from_checkpoint(client, frames, params, y=y, model_id=model_id, estimator=estimator,
                                    workers=workers, out_of_core=out_of_core, verbose=verbose)
    if prepared is None:
        prepared = prepare(train_frame, params, x=x, y=y, has_validation=valid_frame is not None)
    res, schema = prepared.resolved, prepared.schema
    if overrides:
        res = dataclasses.replace(res, **overrides)
    layout = driver.make_layout(res, schema)
    kcfg = driver.kernel_config(res, schema, layout)
    init_net = initial_network(params, res, schema, layout, driver.has_momentum(kcfg), driver.is_sparse(kcfg))
    custom = _custom_metric_of(params, res)
    plain = plain_params(params)

    def make_state(result: driver.TrainResult) -> FitState:
        return _state_of(result, model_id=model_id, estimator=estimator, params=plain, resolved=res,
                         schema=schema, y=y, balance=prepared.balance, labels=prepared.labels)

    on_score = None
    if params.get("export_checkpoints_dir"):
        on_score = CheckpointWriter(str(params["export_checkpoints_dir"]), make_state)
    if valid_frame is not None:
        check_scoring_frame(valid_frame, schema, "validation_frame", response=True)
    result = driver.fit(res, schema, train_frame, valid_frame, client=client, out_of_core=out_of_core,
                        quiet=res.quiet_mode or not verbose, init_net=init_net, on_score=on_score,
                        balance=prepared.balance, custom=custom, workers=workers)
    return _finish(make_state(result))


def _fit_from_checkpoint(client, frames, params, *, y, model_id, estimator, workers, out_of_core, verbose):
    """Continue a trained model (spec 9.1): same network, optimizer state, counters and history;
    the checkpoint's schema, labels and (with balance_classes) class balance of the new frame."""
    train_frame, valid_frame = frames
    ckpt = resolve_checkpoint(params["checkpoint"])
    if params.get("initial_weights") is not None or params.get("initial_biases") is not None:
        raise ValueError("initial_weights/initial_biases cannot be combined with checkpoint")
    check_restart(params, ckpt, y, valid_frame)
    check_columns(ckpt, train_frame)
    schema = ckpt.schema
    vparms = for_validation(params)
    vparms["checkpoint"] = None
    rk = None if params.get("autoencoder") else response_kind(train_frame, y)
    res = validate(vparms, response_kind=rk, n_classes=len(schema.classes) if schema.classification else None,
                   y_min=schema.resp_min if not schema.classification else None,
                   has_validation=valid_frame is not None, n_rows=schema.n_rows)
    net, samples, iterations, rows = initial_state(ckpt)
    balance = class_balance(params, schema, train_frame, y)
    custom = _custom_metric_of(params, res)
    if valid_frame is not None:
        check_scoring_frame(valid_frame, schema, "validation_frame", response=True)
    result = driver.fit(res, schema, train_frame, valid_frame, client=client, init_net=net,
                        quiet=res.quiet_mode or not verbose, out_of_core=out_of_core,
                        start=(samples, iterations, rows), balance=balance, custom=custom, workers=workers)
    plain = plain_params(params)
    plain["checkpoint"] = ckpt.model_id
    return _finish(_state_of(result, model_id=model_id, estimator=estimator, params=plain, resolved=res,
                             schema=schema, y=y, balance=balance, labels=ckpt.labels))


def _state_of(result: driver.TrainResult, *, schema, **fields) -> FitState:
    """The FitState of a training result: the result's network, history, metrics and counters, the
    schema's predictor columns, and ``fields`` (identity, parameters, response, balance, labels)."""
    return FitState(schema=schema, net=result.net, history=result.history, train_metrics=result.train_metrics,
                    valid_metrics=result.valid_metrics, epochs=result.epochs, iterations=result.iterations,
                    samples=result.samples, train_seconds=result.train_seconds, n_rows=result.n_rows,
                    stopped_reason=result.stopped_reason, x=list(schema.cat_cols) + list(schema.num_cols),
                    **fields)


def _finish(fs: FitState) -> FitState:
    if fs.resolved.variable_importances and not fs.resolved.autoencoder:
        fs = dataclasses.replace(fs, varimp=network_varimp(fs.net, fs.schema))
    logger.info("%s: trained %.2f epochs (%s samples, %d iterations) in %.1f s; stopped by %s", fs.model_id,
                fs.epochs, f"{fs.samples:,.0f}", fs.iterations, fs.train_seconds, fs.stopped_reason)
    return fs
