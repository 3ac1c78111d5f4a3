"""Training: :func:`fit` (one model from frames and parameters to a FitState), the loop
(:mod:`.driver`), the worker tasks (:mod:`.task`) and cross-validation (:mod:`.cv`)."""
from .api import fit

__all__ = ["fit"]
