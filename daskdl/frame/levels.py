"""Level labels and dtype helpers shared by the schema, the categorical encodings and the encoder.

A level is the string form of a value (numbers without a trailing ``.0`` when whole); numeric
levels sort numerically, others lexicographically (see :mod:`daskdl.frame.schema`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["is_categorical_dtype", "numeric_values", "factorize_labels", "sort_levels"]


# --------------------------------------------------------------------------------------------- #
# dtype helpers shared with the encoder
# --------------------------------------------------------------------------------------------- #
def is_categorical_dtype(dtype) -> bool:
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))


def _is_numeric_dtype(dtype) -> bool:
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype)) or pd.api.types.is_datetime64_any_dtype(dtype)


def numeric_values(s: pd.Series) -> np.ndarray:
    """float64 values of a column; missing, non-numeric text and +-inf become NaN."""
    dt = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dt):
        if getattr(dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        v = s.to_numpy(dtype="datetime64[ms]")
        out = v.astype(np.int64).astype(np.float64)
        out[np.isnat(v)] = np.nan
        return out
    if isinstance(dt, pd.CategoricalDtype):
        s = s.astype(object)
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        s = pd.to_numeric(s.astype(object), errors="coerce")
    out = s.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.array(out, dtype=np.float64, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _label(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f.is_integer():
            return str(int(f))
        return repr(f)
    return str(v)


def _numkey(v):
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer, float, np.floating)):
        return float(v)
    return None


def factorize_labels(s: pd.Series) -> tuple[np.ndarray, list]:
    """(codes, uniques): codes index ``uniques`` (-1 for missing); uniques are raw values."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def sort_levels(levels: dict) -> list[str]:
    """Order level labels: numerically when every level came from a number, else lexicographically."""
    if levels and all(k is not None for k in levels.values()):
        return sorted(levels, key=lambda lab: (levels[lab], lab))
    return sorted(levels)
