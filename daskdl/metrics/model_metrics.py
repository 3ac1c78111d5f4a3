"""The ModelMetrics object: H2O-style accessors, display and (de)serialisation."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..plot import metrics_plot

_TITLES = {"regression": "ModelMetricsRegression", "binomial": "ModelMetricsBinomial",
           "multinomial": "ModelMetricsMultinomial", "autoencoder": "ModelMetricsAutoEncoder"}

THRESHOLD_METRICS = ("f1", "f2", "f0point5", "accuracy", "precision", "recall", "specificity", "absolute_mcc",
                     "min_per_class_accuracy", "mean_per_class_accuracy", "tns", "fns", "fps", "tps",
                     "tnr", "fnr", "fpr", "tpr")

# H2O stopping metric name -> (value key, higher_is_better, lower_bounded_by_0)
STOPPING_METRICS = {
    "deviance": ("mean_residual_deviance", False, False),
    "logloss": ("logloss", False, True),
    "mse": ("mse", False, True),
    "rmse": ("rmse", False, True),
    "mae": ("mae", False, True),
    "rmsle": ("rmsle", False, True),
    "auc": ("auc", True, True),
    "aucpr": ("aucpr", True, True),
    "lift_top_group": ("lift_top_group", True, False),
    "misclassification": ("classification_error", False, True),
    "mean_per_class_error": ("mean_per_class_error", False, True),
    "custom": ("custom", False, False),
    "custom_increasing": ("custom", True, False),
}


def _nan_to_none(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def _none_to_nan(x):
    return float("nan") if x is None else x


def _json_nan(x, back: bool = False):
    """Nested lists/tuples/dicts with NaN <-> None (JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: _json_nan(v, back) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_nan(v, back) for v in x]
    if back:
        return float("nan") if x is None else x
    if isinstance(x, (float, np.floating)):
        return _nan_to_none(float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x


def _safe_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _cm_frame(cm: np.ndarray, classes) -> pd.DataFrame:
    """H2O-style confusion matrix table: K x K counts + Error + Rate, plus a Total row."""
    cm = np.asarray(cm, dtype=np.float64)
    labels = [str(c) for c in classes]
    rows = cm.sum(axis=1)
    wrong = rows - np.diag(cm)
    tot, tot_wrong = cm.sum(), cm.sum() - np.trace(cm)
    data = {lab: np.append(cm[:, j], cm[:, j].sum()) for j, lab in enumerate(labels)}
    err = np.append(_safe_div(wrong, rows), tot_wrong / tot if tot > 0 else np.nan)
    data["Error"] = err
    data["Rate"] = [f"({a:.6g}/{b:.6g})" for a, b in zip(np.append(wrong, tot_wrong), np.append(rows, tot))]
    return pd.DataFrame(data, index=pd.Index(labels + ["Total"], dtype=object))


class ModelMetrics:
    """Metrics of one model on one frame, with H2O's accessor names.

    Accessors that do not apply to the metric kind return None (they never raise),
    as H2O's client does.
    """

    def __init__(self, kind, values: dict, *, classes=None, description=None, algo="deeplearning",
                 roc=None, cm=None, hit_ratios=None, multinomial_auc=None, custom=None):
        self.kind = kind
        self.algo = algo
        self.description = description
        self.classes = list(classes) if classes is not None else None
        self._v = dict(values)
        self._cm = None if cm is None else np.asarray(cm, dtype=np.float64)
        self._hit = None if hit_ratios is None else np.asarray(hit_ratios, dtype=np.float64)
        self._roc = None
        self._table = None
        self._mauc = multinomial_auc  # auc_type set: H2O's multinomial AUC / AUCPR tables
        self._custom_name = None
        if custom is not None:  # (name, value) of a custom_metric_func
            self._custom_name = str(custom[0])
            self._v["custom"] = float(custom[1])
        if roc is not None:
            self._roc = {k: np.asarray(v, dtype=np.float64) for k, v in roc.items()}
            self._binomial_summary()

    # ---------------------------------------------------------------- binomial internals
    def _threshold_arrays(self) -> dict[str, np.ndarray]:
        if self._table is None:
            tps, fps = self._roc["tps"], self._roc["fps"]
            P = tps[-1] if tps.size else 0.0
            N = fps[-1] if fps.size else 0.0
            fns, tns = P - tps, N - fps
            tpr, fpr = _safe_div(tps, np.float64(P)), _safe_div(fps, np.float64(N))
            tnr, fnr = 1.0 - fpr, 1.0 - tpr
            prec = _safe_div(tps, tps + fps)
            den = np.sqrt((tps + fps) * (tps + fns) * (tns + fps) * (tns + fns))
            self._table = {
                "threshold": self._roc["thresholds"],
                "f1": _safe_div(2 * tps, 2 * tps + fps + fns),
                "f2": _safe_div(5 * tps, 5 * tps + 4 * fns + fps),
                "f0point5": _safe_div(1.25 * tps, 1.25 * tps + 0.25 * fns + fps),
                "accuracy": _safe_div(tps + tns, np.float64(P + N)),
                "precision": prec, "recall": tpr, "specificity": tnr,
                "absolute_mcc": _safe_div(np.abs(tps * tns - fps * fns), den),
                "min_per_class_accuracy": np.minimum(tpr, tnr),
                "mean_per_class_accuracy": (tpr + tnr) / 2.0,
                "tns": tns, "fns": fns, "fps": fps, "tps": tps,
                "tnr": tnr, "fnr": fnr, "fpr": fpr, "tpr": tpr,
            }
        return self._table

    def _idx_max(self, metric):
        t = self._threshold_arrays()[metric]
        if t.size == 0 or np.all(np.isnan(t)):
            return None
        return int(np.nanargmax(t))

    def _binomial_summary(self):
        tps, fps = self._roc["tps"], self._roc["fps"]
        v = self._v
        P = float(tps[-1]) if tps.size else 0.0
        N = float(fps[-1]) if fps.size else 0.0
        if P > 0 and N > 0:
            tpr = np.concatenate([[0.0], tps / P])
            fpr = np.concatenate([[0.0], fps / N])
            auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
            prec = tps / (tps + fps)
            aucpr = float(np.sum(np.diff(tpr) * prec))
        else:
            auc = aucpr = float("nan")
        v["auc"], v["aucpr"] = auc, aucpr
        v["gini"] = 2.0 * auc - 1.0
        v["lift_top_group"] = self._lift(0.01)
        i = self._idx_max("f1")
        if i is None:
            v["threshold"] = 0.5
            v["classification_error"] = v["mean_per_class_error"] = float("nan")
            self._cm = np.zeros((2, 2))
        else:
            t = self._threshold_arrays()
            v["threshold"] = float(t["threshold"][i])
            tp, fp, tn, fn = (float(t[k][i]) for k in ("tps", "fps", "tns", "fns"))
            self._cm = np.array([[tn, fp], [fn, tp]])
            v["classification_error"] = (fp + fn) / (P + N)
            v["mean_per_class_error"] = 1.0 - float(t["mean_per_class_accuracy"][i])

    def _lift(self, frac):
        tps, fps = self._roc["tps"], self._roc["fps"]
        if tps.size == 0:
            return float("nan")
        W = tps[-1] + fps[-1]
        if tps[-1] <= 0:
            return float("nan")
        cw = tps + fps
        target = frac * W
        j = int(np.searchsorted(cw, target, side="left"))
        j = min(j, cw.size - 1)
        prev_w = cw[j - 1] if j > 0 else 0.0
        prev_p = tps[j - 1] if j > 0 else 0.0
        bin_w, bin_p = cw[j] - prev_w, tps[j] - prev_p
        take = min(1.0, (target - prev_w) / bin_w) if bin_w > 0 else 0.0
        pos = prev_p + take * bin_p
        tot = prev_w + take * bin_w
        return float((pos / tot) / (tps[-1] / W)) if tot > 0 else float("nan")

    # ---------------------------------------------------------------- accessors
    def _get(self, key):
        v = self._v.get(key)
        return None if v is None else float(v)

    def nobs(self):
        return int(self._v["nobs"])

    def mse(self):
        return self._get("mse")

    def rmse(self):
        return self._get("rmse")

    def mae(self):
        return self._get("mae")

    def rmsle(self):
        return self._get("rmsle")

    def r2(self):
        return self._get("r2")

    def logloss(self):
        return self._get("logloss")

    def auc(self):
        return self._get("auc")

    def aucpr(self):
        return self._get("aucpr")

    pr_auc = aucpr

    def gini(self):
        return self._get("gini")

    def lift_top_group(self):
        return self._get("lift_top_group")

    def mean_residual_deviance(self):
        return self._get("mean_residual_deviance")

    def mean_per_class_error(self):
        return self._get("mean_per_class_error")

    def classification_error(self):
        return self._get("classification_error")

    error = classification_error

    def plot(self, type="roc", server=False, save_plot_path=None):
        """Binomial: the ROC curve (``type="roc"``) or precision-recall curve (``type="pr"``), as
        H2O's ``model_performance().plot()``. Returns the matplotlib Figure."""
        return metrics_plot(self, type=type, save_plot_path=save_plot_path)

    @property
    def fprs(self):
        """Binomial: false positive rate at each threshold (highest threshold first)."""
        return None if self._roc is None else self._threshold_arrays()["fpr"].tolist()

    @property
    def tprs(self):
        """Binomial: true positive rate at each threshold (highest threshold first)."""
        return None if self._roc is None else self._threshold_arrays()["tpr"].tolist()

    def thresholds_and_metric_scores(self):
        """Binomial: one row per distinct threshold (highest first) with the H2O threshold metrics."""
        if self._roc is None:
            return None
        return pd.DataFrame(self._threshold_arrays())

    def find_threshold_by_max_metric(self, metric="f1"):
        """Binomial: threshold maximising ``metric`` (one of THRESHOLD_METRICS)."""
        if self._roc is None:
            return None
        if metric not in THRESHOLD_METRICS:
            raise ValueError(f"metric must be one of {list(THRESHOLD_METRICS)}; got {metric!r}")
        i = self._idx_max(metric)
        return None if i is None else float(self._roc["thresholds"][i])

    def confusion_matrix(self, threshold=None):
        """Confusion matrix table (rows actual, columns predicted, + Error, Rate and Total).

        Binomial: at the max-F1 threshold unless ``threshold`` is given (predict 1 when p1 >= threshold).
        """
        if self.kind == "binomial":
            cm = self._cm
            if threshold is not None:
                t = self._threshold_arrays()
                sel = np.nonzero(t["threshold"] >= threshold)[0]
                P, N = float(self._roc["tps"][-1]), float(self._roc["fps"][-1])
                tp, fp = (float(t["tps"][sel[-1]]), float(t["fps"][sel[-1]])) if sel.size else (0.0, 0.0)
                cm = np.array([[N - fp, fp], [P - tp, tp]])
            return _cm_frame(cm, self.classes)
        if self.kind == "multinomial":
            return _cm_frame(self._cm, self.classes)
        return None

    def hit_ratio_table(self):
        if self._hit is None:
            return None
        return pd.DataFrame({"k": np.arange(1, self._hit.size + 1), "hit_ratio": self._hit})

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """JSON-safe dict (NaN written as None)."""
        d: dict[str, Any] = {"kind": self.kind, "algo": self.algo, "description": self.description,
                             "classes": self.classes,
                             "values": {k: _nan_to_none(v) for k, v in self._v.items()}}
        if self._roc is not None:
            d["roc"] = {k: [_nan_to_none(float(x)) for x in v] for k, v in self._roc.items()}
        if self.kind == "multinomial" and self._cm is not None:
            d["cm"] = self._cm.tolist()
        if self._hit is not None:
            d["hit_ratios"] = [_nan_to_none(float(x)) for x in self._hit]
        if self._mauc is not None:
            d["multinomial_auc"] = _json_nan(self._mauc)
        if self._custom_name is not None:
            d["custom_name"] = self._custom_name
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelMetrics":
        vals = {k: (_none_to_nan(v) if k not in ("distribution",) else v) for k, v in d["values"].items()}
        roc = None
        if d.get("roc") is not None:
            roc = {k: [_none_to_nan(x) for x in v] for k, v in d["roc"].items()}
        hit = d.get("hit_ratios")
        if hit is not None:
            hit = [_none_to_nan(x) for x in hit]
        mauc = d.get("multinomial_auc")
        custom = None
        if d.get("custom_name") is not None:
            custom = (d["custom_name"], vals.pop("custom", float("nan")))
        return cls(d["kind"], vals, classes=d.get("classes"), description=d.get("description"),
                   algo=d.get("algo", "deeplearning"), roc=roc, cm=d.get("cm"), hit_ratios=hit,
                   multinomial_auc=None if mauc is None else _json_nan(mauc, back=True), custom=custom)

    # ---------------------------------------------------------------- custom metric
    def custom_metric_name(self):
        """Name of the ``custom_metric_func`` metric (None without one)."""
        return self._custom_name

    def custom_metric_value(self):
        """Value of the ``custom_metric_func`` metric (None without one)."""
        return None if self._custom_name is None else self._v.get("custom")

    # ---------------------------------------------------------------- multinomial AUC
    def _mauc_table(self, which: int) -> pd.DataFrame | None:
        if self._mauc is None:
            return None
        cls = self.classes or [str(i) for i in range(len(self._mauc["ovr"]))]
        name = "auc" if which == 0 else "pr_auc"
        rows = [(f"{cls[int(k)]} vs Rest", cls[int(k)], None, v[which]) for k, *v in self._mauc["ovr"]]
        rows += [("Macro OVR", None, None, self._mauc["macro_ovr"][which]),
                 ("Weighted OVR", None, None, self._mauc["weighted_ovr"][which])]
        rows += [(f"{cls[int(j)]} vs {cls[int(k)]}", cls[int(j)], cls[int(k)], v[which])
                 for j, k, *v in self._mauc["ovo"]]
        rows += [("Macro OVO", None, None, self._mauc["macro_ovo"][which]),
                 ("Weighted OVO", None, None, self._mauc["weighted_ovo"][which])]
        return pd.DataFrame(rows, columns=["type", "first_class_domain", "second_class_domain", name])

    def multinomial_auc_table(self):
        """H2O's multinomial AUC table (one-vs-rest per class, one-vs-one per pair, macro and
        weighted averages); None unless the model was trained with an ``auc_type``."""
        return self._mauc_table(0)

    def multinomial_aucpr_table(self):
        """As :meth:`multinomial_auc_table`, for the area under the precision-recall curve."""
        return self._mauc_table(1)

    # ---------------------------------------------------------------- display
    def _lines(self):
        title = f"{_TITLES[self.kind]}: {self.algo}"
        out = [title]
        if self.description:
            desc = str(self.description).strip()
            if not desc.lower().startswith(("reported", "metrics")):
                desc = "Reported on " + desc
            if not desc.endswith("."):
                desc += "."
            out.append(f"** {desc} **")
        out.append("")
        fmt = lambda x: "NaN" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.10g}"  # noqa: E731
        v = self._v
        rows = [("MSE", "mse"), ("RMSE", "rmse")]
        if self.kind == "regression":
            rows += [("MAE", "mae"), ("RMSLE", "rmsle"), ("Mean Residual Deviance", "mean_residual_deviance"),
                     ("R^2", "r2")]
        elif self.kind in ("binomial", "multinomial"):
            rows += [("LogLoss", "logloss"), ("Mean Per-Class Error", "mean_per_class_error")]
            if self.kind == "binomial":
                rows += [("AUC", "auc"), ("AUCPR", "aucpr"), ("Gini", "gini")]
            rows += [("R^2", "r2")]
        for label, key in rows:
            out.append(f"{label}: {fmt(v.get(key))}")
        if self.kind == "binomial":
            out += ["", f"Confusion Matrix (Act/Pred) for max f1 @ threshold = {fmt(v.get('threshold'))}",
                    self.confusion_matrix().to_string()]
        elif self.kind == "multinomial":
            limit = getattr(self, "max_confusion_matrix_size", 20)
            k = len(self.classes or [])
            if k > limit:  # as H2O: large matrices are left out of the printout (confusion_matrix() has it)
                out += ["", f"Confusion Matrix not shown: {k} classes > max_confusion_matrix_size = {limit}"]
            else:
                out += ["", "Confusion Matrix: Row labels: Actual class; Column labels: Predicted class",
                        self.confusion_matrix().to_string()]
            out += ["", f"Top-{self._hit.size} Hit Ratios:", self.hit_ratio_table().to_string(index=False)]
        return out

    def __repr__(self):
        return "\n".join(self._lines())

    __str__ = __repr__

    def show(self):
        print(repr(self))


def metric_value(metrics: ModelMetrics, name: str) -> float:
    """Value of an H2O stopping metric (``"logloss"``, ``"auc"``, ``"misclassification"``, ...).

    Returns NaN when the metric is not available for this kind of metrics.
    """
    key = str(name).lower()
    if key not in STOPPING_METRICS:
        raise ValueError(f"stopping metric must be one of {sorted(STOPPING_METRICS)}; got {name!r}")
    v = metrics._v.get(STOPPING_METRICS[key][0])
    return float("nan") if v is None else float(v)


def higher_is_better(name: str) -> bool:
    key = str(name).lower()
    if key not in STOPPING_METRICS:
        raise ValueError(f"stopping metric must be one of {sorted(STOPPING_METRICS)}; got {name!r}")
    return STOPPING_METRICS[key][1]
