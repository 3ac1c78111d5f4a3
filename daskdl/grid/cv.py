"""Cross-validation lives in :mod:`daskdl.train.cv` (below the estimator, which runs it); its
names stay importable from here."""
from ..train.cv import CV_WEIGHTS, CVResult, FoldAssigner, cross_validate, fold_parameters, make_assigner

__all__ = ["CV_WEIGHTS", "CVResult", "FoldAssigner", "cross_validate", "fold_parameters", "make_assigner"]
