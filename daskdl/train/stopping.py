"""H2O's early-stopping rule (moving averages over the scoring history).

See the specification, section 6.3 item 4 (``hex.ScoreKeeper.stopEarly``).
"""
from __future__ import annotations

import math

from daskdl.metrics.model_metrics import STOPPING_METRICS

_CLASSIFICATION = {"logloss", "mse", "rmse", "auc", "aucpr", "lift_top_group", "misclassification",
                   "mean_per_class_error"}
_CUSTOM = {"custom", "custom_increasing"}  # need custom_metric_func (checked with the parameters)
_ALLOWED = {
    "regression": {"deviance", "mse", "rmse", "mae", "rmsle"} | _CUSTOM,
    "binomial": _CLASSIFICATION | _CUSTOM,
    "multinomial": (_CLASSIFICATION - {"auc", "aucpr", "lift_top_group"}) | _CUSTOM,
    "autoencoder": {"mse"},
}
_AUTO = {"regression": "deviance", "binomial": "logloss", "multinomial": "logloss", "autoencoder": "mse"}


def _sign(x: float) -> float:
    return (x > 0) - (x < 0)


def stop_early(history_values, k: int, tolerance: float, higher_is_better: bool, lower_bounded: bool) -> bool:
    """Return True when training should stop.

    ``history_values`` is the metric for every scoring-history row m_0..m_{L-1}, including
    row 0 (the pre-training placeholder of supervised models, or the untrained autoencoder
    score), which is never used.  ``None`` counts as NaN.

    With L - 1 >= 2k, the moving averages of width k over the last 2k values are
    MA_i = mean(m_{L-2k+i} .. m_{L-k+i-1}), i = 0..k; ref = MA_0 and best = min (or max
    when higher is better) of MA_1..MA_k.  Then: any MA NaN -> continue; lower-bounded
    metric and ref == 0 -> stop; MAs of mixed sign, or sign(best) != sign(ref) -> continue;
    otherwise stop iff best/ref >= 1 - tolerance (lower is better) or
    best/ref <= 1 + tolerance (higher is better).
    """
    k = int(k)
    if k < 0:
        raise ValueError(f"stopping_rounds must be >= 0; got {k}")
    if tolerance < 0:
        raise ValueError(f"stopping_tolerance must be >= 0; got {tolerance}")
    if k == 0:
        return False
    m = [float("nan") if v is None else float(v) for v in history_values]
    L = len(m)
    if L - 1 < 2 * k:
        return False
    ma = [math.fsum(m[L - 2 * k + i: L - k + i]) / k for i in range(k + 1)]
    if any(math.isnan(a) for a in ma):
        return False
    ref = ma[0]
    best = max(ma[1:]) if higher_is_better else min(ma[1:])
    if lower_bounded and ref == 0:
        return True
    if _sign(max(ma)) != _sign(min(ma)) or _sign(best) != _sign(ref):
        return False
    ratio = best / ref if ref != 0 else float("nan")
    if math.isnan(ratio):
        return False
    improved = ratio > 1 + tolerance if higher_is_better else ratio < 1 - tolerance
    return not improved


def resolve_stopping_metric(stopping_metric, kind):
    """Resolve an H2O ``stopping_metric`` for a model kind.

    ``"auto"`` (or None) means logloss for classification, deviance for regression and
    MSE for autoencoders.  Returns ``(name, higher_is_better, lower_bounded)`` where
    ``name`` is the lowercase H2O name accepted by :func:`daskdl.metrics.metric_value`.
    """
    if kind not in _AUTO:
        raise ValueError(f"kind must be one of {list(_AUTO)}; got {kind!r}")
    name = "auto" if stopping_metric is None else str(stopping_metric).lower()
    if name == "auto":
        name = _AUTO[kind]
    if name not in STOPPING_METRICS:
        raise ValueError(f"stopping_metric must be 'auto' or one of {sorted(STOPPING_METRICS)}; "
                         f"got {stopping_metric!r}")
    if name not in _ALLOWED[kind]:
        raise ValueError(f"stopping_metric {stopping_metric!r} is not available for {kind} models; "
                         f"allowed: 'auto', {sorted(_ALLOWED[kind])}")
    _, hib, lb = STOPPING_METRICS[name]
    return name, hib, lb
