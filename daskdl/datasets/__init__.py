"""Data sets shipped with daskdl.

MNIST (LeCun, Cortes and Burges; distributed under CC BY-SA 3.0) is bundled as
two NumPy ``.npz`` files: 60,000 training and 10,000 test images, 28x28 grey
levels 0-255, bit-identical to the original IDX files. Frames use H2O's layout
for the booklet: pixel columns ``C1..C784`` and the label ``C785``.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

_COLUMNS = [f"C{i + 1}" for i in range(785)]


def _path(name: str) -> str:
    return str(resources.files("daskdl") / "data" / name)


@lru_cache(maxsize=2)
def _load(split: str):
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    d = np.load(_path(f"mnist_{split}.npz"))
    return d["X"], d["y"]


def _mnist_part(split: str, start: int, stop: int) -> pd.DataFrame:
    X, y = _load(split)
    df = pd.DataFrame(X[start:stop].astype(np.float32), columns=_COLUMNS[:784],
                      index=pd.RangeIndex(start, stop))
    df["C785"] = pd.Categorical(y[start:stop].astype(np.int64), categories=list(range(10)))
    return df


def mnist(split: str = "train", npartitions: int = 8, as_pandas: bool = False):
    """The MNIST ``train`` (60,000 rows) or ``test`` (10,000 rows) frame in H2O's layout.

    Returns a dask DataFrame whose partitions are read from the bundled file by the
    workers (nothing large travels in the task graph), or a pandas DataFrame with
    ``as_pandas=True``. ``C785`` (the digit) is categorical.
    """
    X, _ = _load(split)
    n = X.shape[0]
    if as_pandas:
        return _mnist_part(split, 0, n)
    import dask.dataframe as dd

    bounds = np.linspace(0, n, max(1, int(npartitions)) + 1).astype(int)
    ranges = [(split, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    meta = _mnist_part(split, 0, 0)
    return dd.from_map(lambda r: _mnist_part(*r), ranges, meta=meta, divisions=[int(b) for b in bounds[:-1]] + [n])
