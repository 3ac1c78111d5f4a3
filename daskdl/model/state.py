"""What a fitted model is: :class:`FitState`.

A FitState holds the resolved parameters, the frame schema and its encoders, the network, the
class-balance correction, the scoring history and the metrics of one trained model, and nothing
else: no frames, no futures, no client. Training (:func:`daskdl.train.fit`) returns one; the
estimator keeps it; prediction, exports, the Zarr store, checkpoint restarts, grid search and
cross-validation read only it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..frame.schema import FrameSchema
from ..metrics import metric_value
from ..metrics.model_metrics import ModelMetrics
from ..params import Resolved
from .network import Layout, Network

__all__ = ["ClassBalance", "FitState", "History", "HISTORY_METRICS", "Scored", "identity_standardized",
           "metric_kind", "scoring_state"]


def metric_kind(res: Resolved) -> str:
    """``"autoencoder"``, ``"binomial"``, ``"multinomial"`` or ``"regression"``."""
    if res.autoencoder:
        return "autoencoder"
    if res.classification:
        return "binomial" if res.n_classes == 2 else "multinomial"
    return "regression"


def identity_standardized(res: Resolved, schema: FrameSchema) -> bool:
    """Regression targets with identity link are trained standardized (spec 1.6)."""
    return (not res.classification and not res.autoencoder and res.standardize
            and res.distribution in ("gaussian", "laplace", "quantile", "huber"))


@dataclass(frozen=True)
class ClassBalance:
    """``balance_classes`` (spec 9.2): per-class sampling factors, the balanced row count, and the
    correction that maps predicted probabilities back to the training class distribution (applied
    at every prediction, so it is part of the saved model and of every export)."""

    factors: tuple[float, ...]
    expanded: float
    n: float
    correction: tuple[float, ...]
    counts: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"factors": list(self.factors), "expanded": self.expanded, "n": self.n,
                "correction": list(self.correction), "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassBalance":
        return cls(factors=tuple(float(x) for x in d["factors"]), expanded=float(d["expanded"]), n=float(d["n"]),
                   correction=tuple(float(x) for x in d["correction"]),
                   counts=tuple(float(x) for x in d["counts"]))


@dataclass
class Scored:
    """Metrics of one scoring event (training sample, validation frame)."""

    train: ModelMetrics | None = None
    valid: ModelMetrics | None = None
    duration: float = 0.0


HISTORY_METRICS = {
    "regression": [("rmse", "rmse"), ("deviance", "deviance"), ("mae", "mae"), ("r2", "r2")],
    "binomial": [("rmse", "rmse"), ("logloss", "logloss"), ("r2", "r2"), ("auc", "auc"),
                 ("pr_auc", "aucpr"), ("lift", "lift_top_group"), ("classification_error", "misclassification")],
    "multinomial": [("rmse", "rmse"), ("logloss", "logloss"), ("r2", "r2"),
                    ("classification_error", "misclassification"), ("auc", "auc"), ("pr_auc", "aucpr")],
    "autoencoder": [("rmse", "rmse"), ("mse", "mse")],
}


def _mval(m, name):
    if m is None:
        return float("nan")
    if name in ("r2",):
        v = m.r2()
        return float("nan") if v is None else float(v)
    if name in ("auc", "aucpr") and m.kind == "multinomial" and m.multinomial_auc_table() is None:
        return float("nan")
    try:
        v = metric_value(m, name)
    except Exception:
        return float("nan")
    return float("nan") if v is None else float(v)


@dataclass
class History:
    """H2O's scoring history: one row per scoring event."""

    kind: str
    has_valid: bool
    rows: list = field(default_factory=list)
    custom: bool = False  # a custom_metric_func column (training_custom / validation_custom)

    def add(self, *, duration, speed, epochs, iterations, samples, scored: Scored | None):
        row = {"timestamp": pd.Timestamp.now().strftime("%Y-%m-%d %H:%M:%S"),
               "duration": f"{duration:.3f} sec",
               "training_speed": "" if speed is None else f"{speed:.0f} obs/sec",
               "epochs": float(epochs), "iterations": int(iterations), "samples": float(samples)}
        for prefix, m in (("training_", None if scored is None else scored.train),
                          ("validation_", None if scored is None else scored.valid)):
            if prefix == "validation_" and not self.has_valid:
                continue
            for col, name in HISTORY_METRICS[self.kind] + ([("custom", "custom")] if self.custom else []):
                row[prefix + col] = _mval(m, name) if scored is not None else float("nan")
        self.rows.append(row)

    def copy(self) -> "History":
        return dataclasses.replace(self, rows=[dict(r) for r in self.rows])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


@dataclass(frozen=True)
class FitState:
    """Everything a fitted model is, and nothing that refers to a cluster or a frame (immutable:
    ``dataclasses.replace`` makes a changed copy).

    ``params`` are the user's parameters as plain values (frames left out, models named by id,
    a custom metric by its reference); ``resolved`` the values training used."""

    model_id: str
    estimator: str  # class name of the estimator that trained it
    params: dict
    resolved: Resolved
    schema: FrameSchema
    net: Network
    history: History
    train_metrics: ModelMetrics | None
    valid_metrics: ModelMetrics | None
    epochs: float
    iterations: int
    samples: float
    train_seconds: float
    n_rows: int
    stopped_reason: str
    x: list
    y: str | None
    balance: ClassBalance | None = None
    labels: dict | None = None  # the response's label values and dtype (model.labels)
    varimp: pd.DataFrame | None = None

    @property
    def layout(self) -> Layout:
        return self.net.layout

    @property
    def kind(self) -> str:
        return metric_kind(self.resolved)

    @property
    def correction(self):
        return None if self.balance is None else self.balance.correction

    def threshold(self) -> float:
        """Binomial label threshold: max F1 of the validation (else training) metrics, else 0.5."""
        m = self.valid_metrics or self.train_metrics
        if m is not None and m.kind == "binomial":
            t = m.find_threshold_by_max_metric("f1")
            if t is not None and np.isfinite(t):
                return float(t)
        return 0.5


def scoring_state(fs: FitState) -> dict:
    """The per-partition scoring state (see :func:`daskdl.model.predict.predict_frame`): the schema,
    a network without optimizer state, the prediction columns, the class-balance correction, the
    dropout scaling, the response transform, the binomial threshold and the labels."""
    r = fs.resolved
    net = fs.net
    return {"schema": fs.schema, "net": Network.from_arrays(net.layout, net.W, net.B),
            "columns": fs.schema.prediction_columns(), "correction": fs.correction,
            "hidden_dropout": r.hidden_dropout_ratios if r.dropout else None,
            "identity_standardized": identity_standardized(r, fs.schema), "threshold": fs.threshold(),
            "labels": fs.labels}
