"""Model metrics (regression, binomial, multinomial, autoencoder) as mergeable partials."""
from .core import (
    DISTRIBUTIONS,
    KINDS,
    combine,
    combine_all,
    compute_metrics,
    finalize,
    huber_delta,
    partial_metrics,
    unit_deviance,
)
from .model_metrics import STOPPING_METRICS, THRESHOLD_METRICS, ModelMetrics, higher_is_better, metric_value

__all__ = [
    "DISTRIBUTIONS", "KINDS", "STOPPING_METRICS", "THRESHOLD_METRICS", "ModelMetrics",
    "combine", "combine_all", "compute_metrics", "finalize", "higher_is_better", "huber_delta",
    "metric_value", "partial_metrics", "unit_deviance",
]
