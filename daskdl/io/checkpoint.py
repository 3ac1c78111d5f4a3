"""Checkpoint restart (spec 9.1): continue training a model with more epochs.

``checkpoint=`` is a trained model, a model_id of this session or a path written
by :func:`daskdl.save_model`. ``epochs`` is the total, as in H2O. The network,
its optimizer state, the sample counters, the iteration count and the scoring
history continue; the preprocessing of the checkpoint (levels, means, scales) is
kept so that the weights keep their meaning.
"""
from __future__ import annotations

import os

import pandas as pd

from ..frame.schema import _label
from ..model.network import Network
from ..model.registry import known_ids, lookup
from ..model.state import FitState
from ..params import CHECKPOINT_NOT_MODIFIABLE, PARAMETERS, default_parameters, for_validation
from .zarr_store import read_fit_state


def resolve_checkpoint(checkpoint, what: str = "checkpoint") -> FitState:
    """The FitState of a checkpoint: a trained model, a model_id of this session or a saved path."""
    fs = None
    if isinstance(checkpoint, FitState):
        fs = checkpoint
    elif hasattr(checkpoint, "fit_state") and hasattr(checkpoint, "model_id"):  # an estimator
        fs = checkpoint.fit_state
        if fs is None:
            raise ValueError(f"{what} model {checkpoint.model_id} is not trained")
    elif isinstance(checkpoint, (str, os.PathLike)):
        key = str(checkpoint)
        model = lookup(key)
        if model is not None:
            fs = model.fit_state
            if fs is None:
                raise ValueError(f"{what} model {key} is not trained")
        elif os.path.isdir(key):
            fs = read_fit_state(key)
        else:
            raise ValueError(f"{what} {key!r} is neither a model_id of this session ({known_ids()}) nor "
                             f"the path of a saved model")
    else:
        raise TypeError(f"{what} must be a DeepLearningEstimator, a model_id or a saved model path; got "
                        f"{type(checkpoint).__name__}")
    return fs


def _norm(v):
    if isinstance(v, tuple):
        v = list(v)
    if isinstance(v, str):
        return v.lower().replace("_", "").replace(" ", "")
    if isinstance(v, float) and v.is_integer():
        return v
    return v


def check_restart(parms: dict, ckpt: FitState, y, validation_frame, schema_new=None):
    """Refuse a restart that changes a parameter that must not change, naming every
    disallowed change with both values; check epochs and the problem shape (``ckpt``: a FitState)."""
    old = default_parameters()
    old.update(for_validation(ckpt.params))
    old["response_column"] = ckpt.y
    new = default_parameters()
    new.update(for_validation(parms))
    new["response_column"] = y
    problems = []
    for name in sorted(CHECKPOINT_NOT_MODIFIABLE):
        a, b = _norm(old.get(name, PARAMETERS[name])), _norm(new.get(name, PARAMETERS[name]))
        if a != b:
            problems.append(f"{name} cannot change on checkpoint restart: checkpoint has {old.get(name)!r}, "
                            f"got {new.get(name)!r}")
    prev_epochs = float(ckpt.epochs)
    epochs = float(new.get("epochs", 10.0))
    if epochs <= prev_epochs:
        problems.append(f"epochs is the total number of epochs and must exceed the checkpoint's {prev_epochs:.4g}; "
                        f"got {epochs:g}")
    if new.get("nfolds", 0):
        problems.append("nfolds must be 0 with a checkpoint (cross-validation cannot resume)")
    had_valid = ckpt.valid_metrics is not None
    if had_valid != (validation_frame is not None):
        problems.append("the validation frame must be present on restart exactly when the checkpoint had one "
                        f"(checkpoint: {'with' if had_valid else 'without'} a validation frame)")
    if problems:
        raise ValueError("checkpoint restart refused:\n" + "\n".join(f" - {p}" for p in problems))


def check_columns(ckpt: FitState, frame):
    """The new training frame must hold the checkpoint's predictors and response, and no new
    levels of its categoricals or response."""
    schema = ckpt.schema
    cols = set(map(str, frame.columns))
    need = schema.source_columns() + ([schema.response] if schema.response else [])
    missing = [c for c in need if c not in cols]
    if missing:
        raise ValueError(f"checkpoint restart refused: the training frame lacks the checkpoint's columns {missing}")
    # new levels are an error (spec 9.1): compare the distinct values of each categorical
    encoded = set() if schema.cat_transform is None else set(schema.cat_transform.levels)
    checks = [(c, lv) for c, lv in zip(schema.cat_cols, schema.cat_levels) if c not in encoded]
    if schema.classification and schema.response:
        checks.append((schema.response, schema.classes))
    if not checks:
        return

    def uniques(pdf):
        return {c: set(_label(v) for v in pd.unique(pdf[c].dropna())) for c, _ in checks}

    if isinstance(frame, pd.DataFrame):
        found = uniques(frame)
    else:
        import dask

        parts = dask.compute(*[dask.delayed(uniques)(p) for p in frame.to_delayed()])
        found = {c: set().union(*[p[c] for p in parts]) for c, _ in checks}
    problems = []
    for c, levels in checks:
        new_levels = sorted(found[c] - set(map(str, levels)))
        if new_levels:
            problems.append(f"column {c!r} has levels not seen by the checkpoint: {new_levels[:10]}")
    if problems:
        raise ValueError("checkpoint restart refused:\n" + "\n".join(f" - {p}" for p in problems))


def initial_state(ckpt: FitState) -> tuple[Network, float, int, list]:
    """(network copy with optimizer state, samples, iterations, history rows) to continue from."""
    net = ckpt.net.copy()
    if net.Aw.shape[0] != net.W.shape[0]:
        raise ValueError(f"checkpoint model {ckpt.model_id} carries no optimizer state and cannot be continued")
    return net, float(ckpt.samples), int(ckpt.iterations), [dict(r) for r in ckpt.history.rows]
