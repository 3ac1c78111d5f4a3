"""Predicted labels in the response's own dtype.

The schema keeps class labels as text (H2O's domain: ``0.0`` is the level ``"0"``). Users compare
predictions with their response column, so predictions carry the response's values and dtype: a
categorical response gives a categorical with the response's categories (a numeric factor keeps
its numbers), a text or boolean response gives that dtype.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..frame.schema import _label


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def _parse(label: str, dtype):
    """A class label (text) as a value of ``dtype`` (the dtype of the response's categories)."""
    if pd.api.types.is_bool_dtype(dtype):
        return label == "True"
    if pd.api.types.is_integer_dtype(dtype):
        return int(label)
    if pd.api.types.is_float_dtype(dtype):
        return float(label)
    return label


def _sample_categories_dtype(column):
    """dtype of a dask categorical column's categories when they are not known from its meta:
    read from its first partition (categories are per partition and share their dtype)."""
    for i in range(column.npartitions):
        part = column.get_partition(i).compute()
        if len(part):
            return part.cat.categories.dtype
    return np.dtype(object)


def label_info(frame, y: str, classes: list) -> dict:
    """``{"values": [...], "dtype": dtype}``: for each class (in the schema's order), the response
    value it stands for, and the dtype predictions have."""
    dt = frame.dtypes[y]
    if isinstance(dt, pd.CategoricalDtype):
        known = getattr(frame[y].cat, "known", True)
        if known:
            lut = {_label(c): _scalar(c) for c in dt.categories}
            values = [lut[c] if c in lut else c for c in classes]
            if all(c in lut for c in classes):
                return {"values": values, "dtype": dt}
            return {"values": values, "dtype": pd.CategoricalDtype(values)}
        cdt = _sample_categories_dtype(frame[y])
        values = [_parse(c, cdt) for c in classes]
        return {"values": values, "dtype": pd.CategoricalDtype(pd.Index(values, dtype=cdt))}
    if pd.api.types.is_bool_dtype(dt):
        return {"values": [c == "True" for c in classes], "dtype": dt}
    return {"values": list(classes), "dtype": dt}


def default_label_info(classes: list) -> dict:
    """For a model whose response dtype is not recorded (a model loaded from a store written
    without it): the class labels as a categorical of text."""
    return {"values": list(classes), "dtype": pd.CategoricalDtype(list(classes))}


def labels_of(codes: np.ndarray, info: dict):
    """Class indices -> a pandas array of response values in the response's dtype."""
    dtype = info["dtype"]
    values = info["values"]
    if isinstance(dtype, pd.CategoricalDtype):
        pos = np.asarray(dtype.categories.get_indexer(pd.Index(values, dtype=dtype.categories.dtype)), np.int64)
        return pd.Categorical.from_codes(pos[codes] if len(codes) else codes.astype(np.int64), dtype=dtype)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return pd.array(arr[codes], dtype=dtype)


def empty_labels(info: dict):
    dtype = info["dtype"]
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical([], dtype=dtype)
    return pd.array([], dtype=dtype)


def _plain(v):
    v = _scalar(v)
    return v if isinstance(v, (bool, int, float, str)) else None


def to_json(info: dict) -> dict | None:
    """JSON form of a label record (None when its values are not plain numbers, booleans or text)."""
    values = [_plain(v) for v in info["values"]]
    if any(v is None for v in values):
        return None
    dtype = info["dtype"]
    if isinstance(dtype, pd.CategoricalDtype):
        cats = [_plain(c) for c in dtype.categories]
        if any(c is None for c in cats):
            return None
        return {"values": values, "categories": cats, "categories_dtype": str(dtype.categories.dtype),
                "ordered": bool(dtype.ordered)}
    return {"values": values, "dtype": str(dtype)}


def from_json(d: dict) -> dict:
    if "categories" in d:
        cats = pd.Index(d["categories"], dtype=pd.api.types.pandas_dtype(d["categories_dtype"]))
        dtype = pd.CategoricalDtype(cats, ordered=bool(d["ordered"]))
        values = list(pd.Index(d["values"], dtype=cats.dtype))
        return {"values": [_scalar(v) for v in values], "dtype": dtype}
    dtype = pd.api.types.pandas_dtype(d["dtype"])
    return {"values": list(d["values"]), "dtype": dtype}
