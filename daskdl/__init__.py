"""daskdl: H2O-3 style Deep Learning on Dask.

Feed-forward networks trained with per-row HOGWILD! SGD/ADADELTA (H2O's mode)
or mini-batches, on Dask DataFrames, with H2O's parameters and defaults.
"""
from .frame import import_file, split_frame, asfactor

__version__ = "0.1.0"

__all__ = ["import_file", "split_frame", "asfactor", "__version__"]
