"""Numba kernels for input preparation: standardization and mean imputation of the
numeric block in one pass."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def standardize_columns(src, dst, na, sub, mul, impute):
    """``dst[j, i] = (src[j, i] - sub[j]) * mul[j]`` (float32), or ``impute[j]`` where
    ``src[j, i]`` is not finite (``na[j, i]`` set).  The arrays are (columns, rows) views:
    pass the transpose of an (n, p) block.  ``src`` may be ``dst``.  Returns True when any
    value was missing."""
    p, n = src.shape
    any_na = False
    for j in range(p):
        s = sub[j]
        m = mul[j]
        f = impute[j]
        for i in range(n):
            v = src[j, i]
            if np.isfinite(v):
                dst[j, i] = (v - s) * m
                na[j, i] = False
            else:
                dst[j, i] = f
                na[j, i] = True
                any_na = True
    return any_na
