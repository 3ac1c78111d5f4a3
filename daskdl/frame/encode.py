"""Turning a pandas partition into the arrays the kernels read, given a fitted ``FrameSchema``.

``encode_partition`` is a pure, vectorised function of (partition, schema); it is what every Dask
task runs before training or scoring on its rows.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from daskdl.kernels.prep import standardize_columns
from daskdl.frame.schema import FrameSchema, _label, factorize_labels, numeric_values
from daskdl.frame.source import plain_numeric_dtype

__all__ = ["Block", "encode_partition", "encode_part_rows", "encode_dense", "check_scoring_frame"]


class Block(NamedTuple):
    """Encoded rows of one partition.

    xnum : float32 (n, n_num), transformed numerics; missing values hold the imputation value.
    xcat : int32 (n, n_cat), global input index of each categorical's active one-hot slot (NA or an
        unseen level -> the column's NA slot; level 0 with ``use_all_factor_levels=False`` -> -1, no
        active slot). With feature hashing: the hashed input position.
    y : float32 (n,), class index (classification), (y - respsub) * respmul or raw y (regression),
        zeros (autoencoder); NaN where unknown at scoring time.
    w : float32 (n,), observation weights (1 without a weights column).
    offset : float32 (n,), offsets (0 without an offset column).
    index : int64 (n,), positions of the kept rows within the partition.
    """

    xnum: np.ndarray
    xcat: np.ndarray
    y: np.ndarray
    w: np.ndarray
    offset: np.ndarray
    index: np.ndarray


def _cat_level_indices(s: pd.Series, lut: dict) -> np.ndarray:
    """Level index per row (-1 for missing or a level unknown to ``lut``)."""
    codes, uniques = factorize_labels(s)
    if not uniques:
        return np.full(len(s), -1, dtype=np.int64)
    u_idx = np.array([lut.get(_label(u), -1) for u in uniques], dtype=np.int64)
    return np.where(codes >= 0, u_idx[np.maximum(codes, 0)], -1)


def _numeric_block(pdf: pd.DataFrame, schema: FrameSchema, n: int, row_major: bool = True):
    """Transformed float32 numerics and their missing-value mask.

    Plain float/int columns are read in one vectorised copy; anything else
    (text, categoricals, datetimes, absent columns) goes through ``numeric_values``.
    Standardization and imputation run in one compiled pass."""
    cols = schema.num_cols
    p = len(cols)
    if p == 0:
        return np.empty((n, 0), np.float32), np.zeros((n, 0), bool)
    dtypes = dict(zip(pdf.columns, pdf.dtypes))
    fast = all(c in dtypes and plain_numeric_dtype(dtypes[c]) for c in cols)
    order = "C" if row_major else "F"
    if fast:
        src = pdf[cols].to_numpy(dtype=np.float32)
        X = np.empty((n, p), np.float32, order=order)
    else:
        src = X = np.empty((n, p), dtype=np.float32, order=order)
        for j, c in enumerate(cols):
            X[:, j] = numeric_values(pdf[c]) if c in pdf.columns else np.nan
    na = np.empty((n, p), bool, order="F")
    standardize_columns(src.T, X.T, na.T, np.asarray(schema.normsub, np.float32),
                        np.asarray(schema.normmul, np.float32), np.asarray(schema.num_impute, np.float32))
    return X, na


def encode_partition(pdf: pd.DataFrame, schema: FrameSchema, *, training: bool,
                     standardize_response: bool, row_major: bool = True) -> Block:
    """Encode one pandas partition.

    training=True drops rows with a missing response, rows with weight 0 (or missing weight) and, with
    ``missing_values_handling="skip"``, rows with any missing predictor. training=False keeps every row
    (y is NaN where the response is missing, unseen, or the column is absent). Predictor columns absent
    from ``pdf`` are treated as all missing; extra columns are ignored.
    """
    return _encode(pdf, schema, training, standardize_response, row_major)


def _numeric_in_batches(reader, schema: FrameSchema, row_major: bool):
    """``_numeric_block`` of a Parquet partition read a batch of columns at a time (see
    :mod:`daskdl.frame.source`): the block is filled batch by batch with the same conversion and
    the same compiled standardization, so it holds the same numbers. The missing-value mask is
    kept as one column, whether any value of the row is missing (all that encoding uses of it)."""
    cols = list(schema.num_cols)
    n, p = reader.n_rows, len(cols)
    X = np.empty((n, p), np.float32, order="C" if row_major else "F")
    any_na = np.zeros((n, 1), bool)
    sub, mul, imp = (np.asarray(a, np.float32) for a in (schema.normsub, schema.normmul, schema.num_impute))
    for a, b, pdf in reader.batches(cols):
        src = pdf[cols[a:b]].to_numpy(dtype=np.float32)
        del pdf
        na = np.empty((b - a, n), bool)
        if row_major:  # the columns of a row-major block are strided: standardize into a buffer
            buf = np.empty((b - a, n), np.float32)
            if standardize_columns(src.T, buf, na, sub[a:b], mul[a:b], imp[a:b]):
                any_na[:, 0] |= na.any(axis=0)
            X[:, a:b] = buf.T
            del buf
        elif standardize_columns(src.T, X[:, a:b].T, na, sub[a:b], mul[a:b], imp[a:b]):
            any_na[:, 0] |= na.any(axis=0)
        del src, na
    return X, any_na


def encode_part_rows(part, schema: FrameSchema, *, training: bool, standardize_response: bool,
                     row_major: bool = True) -> tuple[Block, int]:
    """``encode_partition`` of one partition of a Parquet-backed frame (a
    :class:`daskdl.frame.source.ParquetPart`), reading its numeric columns a batch at a time into
    the encoded block: the partition is never held whole. Frames whose numeric predictors are not
    plain NumPy numbers, or with a ``categorical_encoding``, are read whole and encoded as usual.
    Returns the block and the number of rows the partition holds (before any was dropped)."""
    src = part.source
    with part.reader() as r:
        n = r.n_rows
        if schema.cat_encoding is not None or not src.plain_numeric(schema.num_cols):
            pdf = r.read(list(src.dtypes))
            return _encode(pdf, schema, training, standardize_response, row_major), n
        others = [c for c in schema.input_columns() if c not in set(schema.num_cols) and c in src.dtypes]
        pdf = r.read(others) if others else pd.DataFrame(index=pd.RangeIndex(n))
        numeric = _numeric_in_batches(r, schema, row_major)
    return _encode(pdf, schema, training, standardize_response, row_major, numeric), n


def sample_positions(n: int, state, frac: float) -> np.ndarray:
    """The rows Dask's ``frame.sample(frac=frac)`` keeps of a partition of ``n`` rows, in its order,
    given that partition's random state (``dask.utils.random_state_data``)."""
    if n == 0:
        return np.empty(0, np.int64)
    rs = np.random.RandomState(state)
    return pd.DataFrame(index=pd.RangeIndex(n)).sample(frac=frac, random_state=rs).index.to_numpy(np.int64)


def encode_part_sample(part, state, frac: float, schema: FrameSchema, *, training: bool,
                       standardize_response: bool) -> Block:
    """``encode_partition`` of the rows that ``frame.sample(frac=frac, random_state=...)`` keeps of
    one partition of a Parquet-backed frame (``state``: that partition's random state), read a
    batch of columns at a time: the partition is never held whole."""
    with part.reader() as r:
        pdf = r.take(list(part.source.dtypes), sample_positions(r.n_rows, state, frac))
    return _encode(pdf, schema, training, standardize_response, True)


def encode_part_samples(parts, frac: float, random_state: int, schema: FrameSchema, *, training: bool,
                        standardize_response: bool) -> list:
    """Delayed :func:`encode_part_sample` of every partition: the rows (and their encoding) of
    ``frame.sample(frac=frac, random_state=random_state)`` of the frame ``parts`` come from."""
    import dask
    from dask.utils import random_state_data

    states = random_state_data(len(parts), random_state)
    return [dask.delayed(encode_part_sample)(p, st, frac, schema, training=training,
                                             standardize_response=standardize_response)
            for p, st in zip(parts, states)]


def _encode(pdf: pd.DataFrame, schema: FrameSchema, training: bool, standardize_response: bool,
            row_major: bool, numeric=None) -> Block:
    """``encode_partition``; ``numeric``: the numeric block and its missing-value mask when they
    were read already (``pdf`` then need not hold the numeric columns)."""
    if schema.cat_encoding is not None:  # categorical_encoding other than the internal one-hot
        pdf = schema.cat_transform.apply(pdf)
    n = len(pdf)
    keep = np.ones(n, dtype=bool)

    # weights / offset
    if schema.weights_column is not None and schema.weights_column in pdf.columns:
        w = numeric_values(pdf[schema.weights_column])
        w = np.where(np.isnan(w), 0.0, w)
        if training:
            keep &= w != 0
    else:
        w = np.ones(n)
    if schema.offset_column is not None and schema.offset_column in pdf.columns:
        off = numeric_values(pdf[schema.offset_column])
        off = np.where(np.isnan(off), 0.0, off)
    else:
        off = np.zeros(n)

    # response
    if schema.autoencoder or schema.response is None:
        y = np.zeros(n)
    elif schema.response in pdf.columns:
        if schema.classification:
            idx = _cat_level_indices(pdf[schema.response], schema.class_index())
            y = np.where(idx >= 0, idx, np.nan).astype(np.float64)
        else:
            y = numeric_values(pdf[schema.response])
            if standardize_response:
                y = (y - schema.respsub) * schema.respmul
        if training:
            keep &= ~np.isnan(y)
    else:
        if training:
            raise ValueError(f"response column {schema.response!r} is missing from the training frame; "
                             f"columns given: {list(pdf.columns)}")
        y = np.full(n, np.nan)

    # numerics
    X, na_num = _numeric_block(pdf, schema, n, row_major) if numeric is None else numeric

    # categoricals
    q = len(schema.cat_cols)
    xcat = np.empty((n, q), dtype=np.int64)
    na_cat = np.zeros(n, dtype=bool)
    shift = 0 if schema.use_all_factor_levels else 1
    lookups = schema.level_index()
    for j, c in enumerate(schema.cat_cols):
        start, stop = int(schema.cat_offsets[j]), int(schema.cat_offsets[j + 1])
        if c in pdf.columns:
            li = _cat_level_indices(pdf[c], lookups[j])
        else:
            li = np.full(n, -1, dtype=np.int64)
        miss = li < 0
        na_cat |= miss
        slot = li - shift
        g = np.where(miss, stop - 1, np.where(slot < 0, -1, start + slot))
        xcat[:, j] = g
    if schema.hashing and q:
        lut = schema.hash_lut()
        xcat = np.where(xcat >= 0, lut[np.maximum(xcat, 0)], -1)

    if training and schema.missing_values_handling == "skip":
        keep &= ~(na_num.any(axis=1) | na_cat)

    rows = np.flatnonzero(keep)
    if len(rows) != n:
        X, xcat, y, w, off = X[rows], xcat[rows], y[rows], w[rows], off[rows]
    return Block(
        xnum=np.ascontiguousarray(X, dtype=np.float32) if row_major else X,
        xcat=np.ascontiguousarray(xcat, dtype=np.int32),
        y=np.ascontiguousarray(y, dtype=np.float32),
        w=np.ascontiguousarray(w, dtype=np.float32),
        offset=np.ascontiguousarray(off, dtype=np.float32),
        index=rows.astype(np.int64),
    )


def encode_dense(block: Block, schema: FrameSchema) -> np.ndarray:
    """Dense float32 (n, n_in) input matrix of a block: one-hot 1.0 at the active slots (hashed slots
    accumulate), numerics at ``num_offset + i``."""
    n = block.xnum.shape[0]
    out = np.zeros((n, schema.n_in), dtype=np.float32)
    if block.xcat.size:
        r, c = np.nonzero(block.xcat >= 0)
        np.add.at(out, (r, block.xcat[r, c]), 1.0)
    if block.xnum.shape[1]:
        out[:, schema.num_offset:schema.num_offset + block.xnum.shape[1]] = block.xnum
    return out


# --------------------------------------------------------------------------------------------- #
# warnings about a scoring / validation frame (H2O warns when it adapts a test frame)
# --------------------------------------------------------------------------------------------- #
def _text_tokens(s: pd.Series) -> tuple[int, list]:
    """(rows, up to 5 distinct values) of the non-missing entries of ``s`` that are not numbers."""
    v = s.dropna()
    if isinstance(v.dtype, pd.CategoricalDtype):
        v = v.astype(object)
    bad = v[pd.to_numeric(v.astype(object), errors="coerce").isna()]
    return int(len(bad)), [str(t) for t in pd.unique(bad)[:5]]


def _levels_within(col, known: set) -> bool:
    """A dask column whose known categories are all training levels can hold no unseen level: its
    values need not be counted (no pass over the data)."""
    dt = col.dtype
    if isinstance(col, pd.Series) or not isinstance(dt, pd.CategoricalDtype) or not col.cat.known:
        return False
    return all(_label(v) in known for v in dt.categories)


def check_scoring_frame(frame, schema: FrameSchema, what: str, *, response: bool = False) -> list[str]:
    """Warn (``UserWarning``) where scoring ``frame`` would silently differ from training: predictor
    columns it lacks (scored as missing, H2O's "substituting in a column of NaN"), numeric columns
    holding text (non-numbers are scored as missing) and, with ``response=True`` for a classifier,
    response levels not seen in training (those rows are left out of the metrics). Returns the
    messages. Columns are checked from the frame's dtypes; values are counted for pandas frames, and
    for the response levels of a dask frame (one pass over that column)."""
    messages = []
    cols = {str(c): c for c in frame.columns}
    dtypes = dict(zip(map(str, frame.columns), frame.dtypes))
    missing = [c for c in schema.source_columns() if c not in cols]
    if missing:
        messages.append(f"{what} lacks the predictor column(s) {missing} used in training; they are scored as "
                        f"missing values (NA), as H2O substitutes in a column of NaN")
    numeric = list(schema.num_cols)
    if response and schema.response is not None and not schema.classification and not schema.autoencoder:
        numeric.append(schema.response)
    for c in numeric:
        if c not in cols or not (pd.api.types.is_object_dtype(dtypes[c]) or pd.api.types.is_string_dtype(dtypes[c])
                                 or isinstance(dtypes[c], pd.CategoricalDtype)):
            continue
        if isinstance(frame, pd.DataFrame):
            n_bad, tokens = _text_tokens(frame[cols[c]])
            if n_bad:
                messages.append(f"{what} column {c!r} is numeric in training but {n_bad} row(s) here hold "
                                f"non-numeric values {tokens}; they are scored as missing values (NA)")
        else:
            messages.append(f"{what} column {c!r} is numeric in training but holds text here ({dtypes[c]}); "
                            f"values that are not numbers are scored as missing values (NA)")
    y = schema.response
    known = set(schema.classes or [])
    if response and y is not None and schema.classification and y in cols and \
            not _levels_within(frame[cols[y]], known):
        vc = frame[cols[y]].dropna().value_counts()
        if not isinstance(vc, pd.Series):
            vc = vc.compute()
        unseen = {}
        for v, k in vc.items():
            lab = _label(v)
            if lab not in known and k > 0:
                unseen[lab] = unseen.get(lab, 0) + int(k)
        if unseen:
            shown = sorted(unseen)[:10]
            messages.append(f"{what} response column {y!r} has level(s) {shown} not seen in training "
                            f"({sum(unseen.values())} rows); those rows are left out of the metrics "
                            f"(training levels: {list(schema.classes)[:10]})")
    for m in messages:
        warnings.warn(m, UserWarning, stacklevel=3)
    return messages
