"""daskdl: H2O-3 style Deep Learning on Dask.

Feed-forward networks trained with per-row HOGWILD! SGD/ADADELTA (H2O's mode)
or mini-batches, on Dask DataFrames, with H2O's parameters and defaults.
"""
from ._client import init
from ._version import __version__
from .frame import asfactor, import_file, split_frame
from .grid import GridSearch, H2OGridSearch
from .io import load_model, save_model
from .metrics.custom import upload_custom_metric
from .model.api import deeplearning
from .model.estimator import DeepLearningEstimator, H2OAutoEncoderEstimator, get_model
from .params import PARAMETERS, FeatureNotAvailableError, ParameterError
from .train.driver import TrainingError

H2ODeepLearningEstimator = DeepLearningEstimator


_SKLEARN = ("DeepLearningClassifier", "DeepLearningRegressor", "DeepLearningAutoEncoder")


def __getattr__(name):
    # the scikit-learn estimators import scikit-learn: only when asked for
    if name in _SKLEARN:
        try:
            from . import sklearn as _sk  # scikit-learn is optional: imported when asked for
        except ImportError as e:  # pragma: no cover
            raise ImportError(f"daskdl.{name} needs scikit-learn: pip install 'daskdl[sklearn]' ({e})") from e
        return getattr(_sk, name)
    raise AttributeError(f"module 'daskdl' has no attribute {name!r}")


__all__ = [
    "init", "deeplearning", "import_file", "split_frame", "asfactor", "DeepLearningEstimator", "H2ODeepLearningEstimator",
    "H2OAutoEncoderEstimator", "get_model", "GridSearch", "H2OGridSearch", "PARAMETERS", "ParameterError", "FeatureNotAvailableError",
    "TrainingError", "save_model", "load_model", "upload_custom_metric", "__version__",
    "DeepLearningClassifier", "DeepLearningRegressor", "DeepLearningAutoEncoder",
]
