"""Cross-validation (``nfolds`` / ``fold_column``) and hyper-parameter grid search."""
from .cv import CVResult, cross_validate
from .search import GridSearch

H2OGridSearch = GridSearch

__all__ = ["CVResult", "GridSearch", "H2OGridSearch", "cross_validate"]
