"""``FrameSchema``: H2O's DataInfo for Deep Learning, fitted in one pass over a (dask) frame.

The schema fixes everything needed to turn raw rows into the network's input vector:
which columns are predictors, the order of the expanded input (categoricals first, by decreasing
cardinality, then numerics in frame order), the one-hot layout of each categorical (with a trailing
"missing" slot), the numeric transform (STANDARDIZE / NORMALIZE / DESCALE / none), imputation values,
the response domain (classification) or its mean/sd (regression) and optional feature hashing.

Conventions:

* Column kinds follow the pandas dtype: ``category``, ``object``, string and ``bool`` columns are
  categorical; numeric columns are numeric; datetime columns are numeric (milliseconds since the epoch,
  as H2O's time columns).
* Level names are the string form of the values. Numeric levels (for example a numeric column turned
  into a factor) are sorted numerically and written without a trailing ``.0`` for whole numbers;
  other levels are sorted lexicographically. ``bool`` columns therefore have levels ``["False", "True"]``.
* Only levels seen in the data count (unused pandas categories are not levels).
* With a weights column (and no offset column) the centring value of every numeric transform is the
  weighted mean and the STANDARDIZE / DESCALE scale the weighted sigma; NORMALIZE keeps 1/(max-min).
* Missing numerics are fed as ``num_impute``: 0 (STANDARDIZE / NORMALIZE), mean*mul (DESCALE) or the
  raw mean (no transform), the same in training and scoring.
* Feature hashing names its input slots ``hash.0 .. hash.{M-1}``.
* ``n_rows`` / ``sum_w`` count rows with a known response and nonzero weight; rows dropped by
  ``missing_values_handling="skip"`` are removed later, by the encoder.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .catenc import CategoricalTransform
from .source import parquet_parts
from .levels import (_is_numeric_dtype, _label, _numkey, factorize_labels, is_categorical_dtype,  # noqa: F401
                     numeric_values, sort_levels)

__all__ = ["FrameSchema", "murmur2_slots", "is_categorical_dtype", "numeric_values", "factorize_labels"]

STANDARDIZE, NORMALIZE, DESCALE, NONE = "standardize", "normalize", "descale", "none"
_MVH = {"meanimputation": "mean_imputation", "skip": "skip"}


# --------------------------------------------------------------------------------------------- #
# feature hashing (H2O's 32-bit MurmurHash2, 4-byte chunks read little-endian)
# --------------------------------------------------------------------------------------------- #
def murmur2_slots(n_slots: int, m: int, seed: int) -> np.ndarray:
    """Hashed input position for each global one-hot slot index ``0..n_slots-1``.

    The 4 big-endian bytes of the slot index are hashed with 32-bit MurmurHash2 (seed = low 32 bits of
    ``seed``); the position is ``|h mod m|`` with Java's signed remainder.
    """
    M32 = np.uint64(0xFFFFFFFF)
    mm = np.uint64(0x5BD1E995)
    s = np.arange(n_slots, dtype=np.uint64)
    # big-endian bytes read back little-endian = byte-swapped 32-bit value
    k = (((s & np.uint64(0xFF)) << np.uint64(24)) | (((s >> np.uint64(8)) & np.uint64(0xFF)) << np.uint64(16))
         | (((s >> np.uint64(16)) & np.uint64(0xFF)) << np.uint64(8)) | ((s >> np.uint64(24)) & np.uint64(0xFF)))
    h = np.full(n_slots, (np.uint64(int(seed) & 0xFFFFFFFF) ^ np.uint64(4)), dtype=np.uint64)
    k = (k * mm) & M32
    k ^= k >> np.uint64(24)
    k = (k * mm) & M32
    h = (h * mm) & M32
    h ^= k
    h ^= h >> np.uint64(13)
    h = (h * mm) & M32
    h ^= h >> np.uint64(15)
    hs = h.astype(np.int64)
    hs = np.where(hs >= 2**31, hs - 2**32, hs)
    r = np.abs(np.fmod(hs, np.int64(m)))
    return r.astype(np.int32)


# --------------------------------------------------------------------------------------------- #
# the single statistics pass
# --------------------------------------------------------------------------------------------- #
def _moments(X: np.ndarray, w: np.ndarray | None):
    """(count-or-weight, mean, M2) per column over non-NaN entries (and w != 0 when weighted).
    Temporaries: one boolean and two float64 arrays the size of ``X``."""
    valid = ~np.isnan(X)
    if w is not None:
        valid &= (w != 0)[:, None]
    cnt = valid.sum(axis=0).astype(np.float64)
    # overflow (|x| near the float64 limit) gives inf moments, refused by _check_finite_spread
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        D = np.where(valid, X, 0.0)
        if w is None:
            n = cnt
            tot = D.sum(axis=0)
        else:
            ww = np.where(valid, w[:, None], 0.0)
            n = ww.sum(axis=0)
            tot = np.einsum("ij,ij->j", ww, D)
        mean = np.where(n > 0, tot / np.where(n > 0, n, 1.0), 0.0)
        np.subtract(D, mean, out=D)
        D[~valid] = 0.0
        np.multiply(D, D, out=D)
        M2 = D.sum(axis=0) if w is None else np.einsum("ij,ij->j", ww, D)
    return n, mean, M2, cnt


def _merge_moments(a, b):
    n1, m1, M1, c1 = a
    n2, m2, M2, c2 = b
    n = n1 + n2
    with np.errstate(invalid="ignore", over="ignore"):
        d = m2 - m1
        safe = np.where(n > 0, n, 1.0)
        mean = np.where(n > 0, m1 + d * n2 / safe, 0.0)
        M = M1 + M2 + d * d * n1 * n2 / safe
    return n, mean, M, c1 + c2


def _numeric_matrix(pdf: pd.DataFrame, nums: list) -> np.ndarray:
    """float64 (n, len(nums)) of the numeric columns, missing and +-inf as NaN (plain float/int columns
    in one vectorised copy, anything else through ``numeric_values``)."""
    if all(isinstance(dt, np.dtype) and dt.kind in "fiu" for dt in pdf.dtypes[nums]):
        X = pdf[nums].to_numpy(dtype=np.float64, copy=True)
        X[~np.isfinite(X)] = np.nan
        return X
    return np.column_stack([numeric_values(pdf[c]) for c in nums])


_BLOCK_BYTES = 4 * 2 ** 20  # float64 bytes of numerics per row block of the statistics pass


def _partial(pdf: pd.DataFrame, spec: dict) -> dict:
    """Statistics of one partition, computed over row blocks of at most ``_BLOCK_BYTES`` of numerics
    (the temporaries of the moment computation are a few times a block, not a few times the partition)."""
    bounds = _row_bounds(len(pdf), len(spec["num"]))
    if len(bounds) == 1:
        return _partial_block(pdf, spec)
    out = None
    for a, b in bounds:
        r = _partial_block(pdf.iloc[a:b], spec)
        out = r if out is None else _combine(out, r)
    return out


def _row_bounds(n: int, n_num: int) -> list[tuple[int, int]]:
    """The row blocks of ``_partial`` for ``n`` rows and ``n_num`` numeric columns."""
    step = max(1, _BLOCK_BYTES // (8 * max(1, n_num + 2)))
    return [(0, n)] if n <= step else [(a, min(a + step, n)) for a in range(0, n, step)]


def _partial_part(part, spec: dict) -> dict:
    """``_partial`` of one partition of a Parquet-backed frame (``frame.source.ParquetPart``),
    reading its numeric columns a batch at a time: the statistics of every row block of
    ``_partial`` are computed batch by batch (each column's statistics depend on that column
    alone, and each batch is laid out as ``_numeric_matrix`` lays out the whole block) and put
    side by side, so they are those of the partition read through Dask, and only one batch of
    columns is held."""
    nums = list(spec["num"])
    others = [c for c in dict.fromkeys([*spec["cat"], spec["response"], spec["weights"]]) if c is not None]
    with part.reader() as r:
        n = r.n_rows
        pdf = r.read(others) if others else pd.DataFrame(index=pd.RangeIndex(n))
        bounds = _row_bounds(n, len(nums))
        weights = [_block_weights(pdf.iloc[a:b], spec["weights"]) for a, b in bounds]
        pieces: list[list[dict]] = [[] for _ in bounds]
        for a, b, batch in r.batches(nums):
            X = _numeric_matrix(batch, nums[a:b])
            del batch
            for k, (lo, hi) in enumerate(bounds):
                pieces[k].append(_numeric_stats(X[lo:hi], weights[k], spec["weighted"]))
            del X
    out = None
    for k, (lo, hi) in enumerate(bounds):
        blk = pdf if len(bounds) == 1 else pdf.iloc[lo:hi]
        r = _partial_block(blk, spec, num_stats=_side_by_side(pieces[k]) if nums else None)
        out = r if out is None else _combine(out, r)
    release_arrow_memory()
    return out


def _side_by_side(pieces: list[dict]) -> dict:
    """Numeric statistics of consecutive batches of columns joined into those of all the columns."""
    out = {}
    for key in pieces[0]:
        if isinstance(pieces[0][key], tuple):
            out[key] = tuple(np.concatenate([p[key][i] for p in pieces]) for i in range(len(pieces[0][key])))
        else:
            out[key] = np.concatenate([p[key] for p in pieces])
    return out


def release_arrow_memory() -> None:
    """Hand memory freed after a partition back to the system: the pages Arrow's allocator keeps
    cached after a read, and the free pages of the C heap (glibc ``malloc_trim``, as the Dask docs
    suggest for workers whose memory is not released). On a worker with little memory these add up
    and keep it above Dask's pause threshold."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):  # no pyarrow, or one without release_unused
        pass
    global _LIBC
    if _LIBC is None:
        import ctypes
        import ctypes.util

        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim  # noqa: B018 - glibc only
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


_TRIM_KEY = "daskdl-release-memory"


def start_releasing_memory(dask_worker, every_ms: int = 1000) -> None:
    """Run :func:`release_arrow_memory` every ``every_ms`` on this worker's event loop and read with
    the C heap as Arrow's allocator (``client.run`` target; nested calls are counted). A worker
    whose freed partitions stay cached by the allocators can sit above Dask's pause threshold with
    nothing running, and a paused worker runs no task that would release them: Dask's
    documentation suggests trimming such workers by hand."""
    from tornado.ioloop import PeriodicCallback

    cbs = dask_worker.periodic_callbacks
    pc = cbs.get(_TRIM_KEY)
    if pc is None:
        pc = PeriodicCallback(release_arrow_memory, every_ms)
        pc.daskdl_users = 0
        pc.daskdl_pool = _use_system_arrow_pool()
        cbs[_TRIM_KEY] = pc
        pc.start()
    pc.daskdl_users += 1


def _use_system_arrow_pool():
    """Make the C heap Arrow's default allocator (reading a partition then peaks about a quarter
    lower than with Arrow's own pool, and ``malloc_trim`` returns what it freed); returns the pool
    it replaced, or None. Buffers keep the pool they came from, so switching is safe at any time."""
    try:
        import pyarrow as pa

        before = pa.default_memory_pool()
        pa.set_memory_pool(pa.system_memory_pool())
        return before
    except (ImportError, AttributeError):
        return None


def stop_releasing_memory(dask_worker) -> None:
    """Undo one :func:`start_releasing_memory`; the last one stops the callback."""
    cbs = dask_worker.periodic_callbacks
    pc = cbs.get(_TRIM_KEY)
    if pc is None:
        return
    pc.daskdl_users -= 1
    if pc.daskdl_users <= 0:
        pc.stop()
        del cbs[_TRIM_KEY]
        if pc.daskdl_pool is not None:
            import pyarrow as pa

            pa.set_memory_pool(pc.daskdl_pool)


class _PartialFrame:
    """``_partial`` as a one-row frame, so that ``map_partitions`` fuses it with the read of the
    partition: a worker holds one raw partition at a time and keeps only its statistics."""

    def __init__(self, spec: dict):
        self.spec = spec

    def __call__(self, pdf: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"stats": pd.Series([None], dtype=object)})
        out.iat[0, 0] = _partial(pdf, self.spec)
        release_arrow_memory()
        return out


def _unwrap(df: pd.DataFrame) -> dict:
    return df.iat[0, 0]


def _block_weights(pdf: pd.DataFrame, wcol) -> np.ndarray | None:
    """The weights of a block (missing as 0), or None without a weights column."""
    if wcol is None:
        return None
    w = numeric_values(pdf[wcol])
    return np.where(np.isnan(w), 0.0, w)


def _numeric_stats(X: np.ndarray, w: np.ndarray | None, weighted: bool) -> dict:
    """Moments, minimum and maximum of each column of the numeric block ``X``."""
    n, p = X.shape
    out = {"num_u": _moments(X, None)}
    seen = out["num_u"][3] > 0
    if n:  # fmin / fmax skip NaN without a temporary copy of X
        out["num_min"] = np.where(seen, np.fmin.reduce(X, axis=0), np.inf)
        out["num_max"] = np.where(seen, np.fmax.reduce(X, axis=0), -np.inf)
    else:
        out["num_min"] = np.full(p, np.inf)
        out["num_max"] = np.full(p, -np.inf)
    if weighted:
        out["num_w"] = _moments(X, w)
    return out


def _partial_block(pdf: pd.DataFrame, spec: dict, num_stats: dict | None = None) -> dict:
    """Statistics of one row block; ``num_stats``: those of its numeric columns when they were
    computed already (``pdf`` then need not hold the numeric columns)."""
    n = len(pdf)
    out: dict[str, Any] = {"nrows": n}
    wcol = spec["weights"]
    w = None
    if wcol is not None:
        w = numeric_values(pdf[wcol])
        out["w_min"] = float(np.nanmin(w)) if n and not np.all(np.isnan(w)) else math.inf
        w = np.where(np.isnan(w), 0.0, w)
    nums = spec["num"]
    if nums:
        if num_stats is None:
            X = _numeric_matrix(pdf, nums) if n else np.empty((0, len(nums)))
            num_stats = _numeric_stats(X, w, spec["weighted"])
            del X
        out.update(num_stats)
    cats, cat_na = {}, {}
    for c in spec["cat"]:
        codes, uniques = factorize_labels(pdf[c])
        cats[c] = {_label(u): _numkey(u) for u in uniques}
        cat_na[c] = int((codes < 0).sum())
    out["cat"] = cats
    out["cat_na"] = cat_na
    y = spec["response"]
    if y is not None:
        if spec["resp_cat"]:
            codes, uniques = factorize_labels(pdf[y])
            out["resp_levels"] = {_label(u): _numkey(u) for u in uniques}
            ok = codes >= 0
        else:
            yv = numeric_values(pdf[y])
            ok = ~np.isnan(yv)
            Y = yv[:, None]
            out["resp_u"] = _moments(Y, None)
            out["resp_w"] = _moments(Y, w) if spec["weighted"] else None
            out["resp_min"] = float(yv[ok].min()) if ok.any() else math.inf
            out["resp_max"] = float(yv[ok].max()) if ok.any() else -math.inf
        out["resp_nonna"] = int(ok.sum())
    else:
        ok = np.ones(n, dtype=bool)
    if w is not None:
        ok = ok & (w != 0)
        out["sum_w"] = float(w[ok].sum())
    else:
        out["sum_w"] = float(ok.sum())
    out["n_rows"] = int(ok.sum())
    return out


def _combine(a: dict, b: dict) -> dict:
    out = {"nrows": a["nrows"] + b["nrows"], "n_rows": a["n_rows"] + b["n_rows"], "sum_w": a["sum_w"] + b["sum_w"]}
    if "w_min" in a:
        out["w_min"] = min(a["w_min"], b["w_min"])
    if "num_u" in a:
        out["num_u"] = _merge_moments(a["num_u"], b["num_u"])
        out["num_min"] = np.minimum(a["num_min"], b["num_min"])
        out["num_max"] = np.maximum(a["num_max"], b["num_max"])
        if "num_w" in a:
            out["num_w"] = _merge_moments(a["num_w"], b["num_w"])
    out["cat"] = {c: {**a["cat"][c], **b["cat"][c]} for c in a["cat"]}
    out["cat_na"] = {c: a["cat_na"][c] + b["cat_na"][c] for c in a["cat_na"]}
    if "resp_nonna" in a:
        out["resp_nonna"] = a["resp_nonna"] + b["resp_nonna"]
        if "resp_levels" in a:
            out["resp_levels"] = {**a["resp_levels"], **b["resp_levels"]}
        else:
            out["resp_u"] = _merge_moments(a["resp_u"], b["resp_u"])
            out["resp_w"] = _merge_moments(a["resp_w"], b["resp_w"]) if a["resp_w"] is not None else None
            out["resp_min"] = min(a["resp_min"], b["resp_min"])
            out["resp_max"] = max(a["resp_max"], b["resp_max"])
    return out


def _collect(frame, spec: dict) -> dict:
    if isinstance(frame, pd.DataFrame):
        return _partial(frame, spec)
    import dask

    cols = [c for c in dict.fromkeys([*spec["num"], *spec["cat"], spec["response"], spec["weights"]])
            if c is not None]
    source = parquet_parts(frame)
    if source and source[0].source.plain_numeric(spec["num"]) and _unfused(frame[cols], len(source)):
        # a Parquet-backed frame: each partition read a batch of columns at a time
        parts = [dask.delayed(_partial_part)(p, spec) for p in source]
    else:
        meta = pd.DataFrame({"stats": pd.Series([], dtype=object)})
        with dask.config.set({"dataframe.convert-string": False}):
            stats = frame[cols].map_partitions(_PartialFrame(spec), meta=meta, enforce_metadata=False)
            parts = [dask.delayed(_unwrap)(p) for p in stats.to_delayed()]
    while len(parts) > 1:
        nxt = [dask.delayed(_combine)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    (res,) = dask.compute(parts[0])
    return res


def _unfused(frame, n_parts: int) -> bool:
    """Whether Dask reads ``frame`` (columns of a Parquet-backed frame) one file or row group per
    partition, as :func:`_partial_part` does. When few columns are read, Dask joins several files
    into one partition, and statistics summed over those would differ in the last bits; such a
    read is small anyway and goes through Dask."""
    try:
        return frame.optimize().npartitions == n_parts
    except Exception:  # noqa: BLE001 - read through Dask
        return False


def _sigma(n, M2):
    n = np.asarray(n, dtype=np.float64)
    return np.where(n > 1, np.sqrt(np.maximum(M2, 0.0) / np.where(n > 1, n - 1, 1.0)), 0.0)


_F32_MAX = float(np.finfo(np.float32).max)


def _check_finite_spread(names, lo, hi, center, sigma, what: str, count=None):
    """Refuse numeric columns whose values or spread cannot be represented: the network computes in
    float32 and standardizes with the column's mean and sigma, which must be finite."""
    lo, hi = np.atleast_1d(np.asarray(lo, np.float64)), np.atleast_1d(np.asarray(hi, np.float64))
    center = np.atleast_1d(np.asarray(center, np.float64))
    sigma = np.atleast_1d(np.asarray(sigma, np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        rng = hi - lo
    bad = []
    for i, c in enumerate(names):
        if count is not None and not count[i] > 0:  # all missing: nothing to scale
            continue
        big = max(abs(lo[i]), abs(hi[i]))
        if not (big <= _F32_MAX and math.isfinite(rng[i]) and math.isfinite(center[i]) and math.isfinite(sigma[i])):
            bad.append(f"{c!r} (min {lo[i]:.6g}, max {hi[i]:.6g})")
    if bad:
        raise ValueError(f"{what} {', '.join(bad)} cannot be scaled: the values or their spread are not finite in "
                         f"floating point (the network computes in float32, |x| <= {_F32_MAX:.3g}); rescale the "
                         f"column(s) (for example divide by a power of ten) or leave them out")


def _wsigma(sw, M2w, nobs):
    sw = np.asarray(sw, dtype=np.float64)
    nobs = np.asarray(nobs, dtype=np.float64)
    ok = (nobs > 1) & (sw > 0)
    var = np.where(ok, (nobs / np.where(ok, nobs - 1, 1.0)) * np.maximum(M2w, 0.0) / np.where(ok, sw, 1.0), 0.0)
    return np.sqrt(var)


# --------------------------------------------------------------------------------------------- #
# FrameSchema
# --------------------------------------------------------------------------------------------- #
_FIELDS = [
    "cat_cols", "cat_levels", "cat_offsets", "cat_na_seen", "num_cols", "normmul", "normsub", "num_means",
    "num_impute", "num_offset", "n_in", "coef_names", "response", "classification", "classes", "resp_mean",
    "resp_sd", "resp_min", "resp_max", "respmul", "respsub", "weights_column", "offset_column", "ignored",
    "dropped_reasons", "n_rows", "sum_w", "autoencoder", "use_all_factor_levels", "transform",
    "missing_values_handling", "max_categorical_features", "hashing", "hash_seed", "sparse", "standardize",
    "columns", "cat_encoding",
]
_ARRAYS = {"cat_offsets": np.int32, "normmul": np.float64, "normsub": np.float64, "num_means": np.float64,
           "num_impute": np.float64}


class FrameSchema:
    """H2O's DataInfo: column roles, expanded input layout and transforms. See the module docstring.

    Attributes (all plain Python / NumPy): ``cat_cols``, ``cat_levels``, ``cat_offsets`` (int32, length
    n_cat+1, cumulative one-hot block starts), ``cat_na_seen``, ``num_cols``, ``normmul``, ``normsub``,
    ``num_means`` (raw unweighted means), ``num_impute`` (value fed for a missing numeric, in transformed
    units), ``num_offset`` (input position of the first numeric), ``n_in`` (input width),
    ``coef_names``, ``response``, ``classification``, ``classes``, ``resp_mean``, ``resp_sd``,
    ``resp_min``, ``resp_max``, ``respmul``, ``respsub``, ``weights_column``, ``offset_column``,
    ``ignored``, ``dropped_reasons``, ``n_rows``, ``sum_w``, ``transform``, ``hashing``, ...
    """

    def __init__(self, **kw):
        for f in _FIELDS:
            setattr(self, f, kw.get(f))
        for f, dt in _ARRAYS.items():
            setattr(self, f, np.asarray(getattr(self, f) if getattr(self, f) is not None else [], dtype=dt))
        self._level_index = None
        self._class_index = None
        self._hash_lut = None
        self._cat_transform = None

    @property
    def cat_transform(self):
        """The fitted categorical_encoding applied before encoding (None for the internal one-hot)."""
        if self.cat_encoding is None:
            return None
        if self._cat_transform is None:
            self._cat_transform = CategoricalTransform.from_dict(self.cat_encoding)
        return self._cat_transform

    def source_columns(self) -> list[str]:
        """Columns of the user's frame that the predictors come from (before categorical_encoding)."""
        cols = list(self.cat_cols) + list(self.num_cols)
        t = self.cat_transform
        if t is None:
            return cols
        back = {o: c for c in t.levels for o in t.output_columns(c)}
        return list(dict.fromkeys(back.get(c, c) for c in cols))

    # ----------------------------------------------------------------------------------------- #
    @classmethod
    def fit(cls, frame, x: list[str] | None, y: str | None, *, autoencoder: bool = False,
            weights_column: str | None = None, offset_column: str | None = None,
            ignored_columns: list[str] | None = None, ignore_const_cols: bool = True,
            use_all_factor_levels: bool = True, standardize: bool = True, sparse: bool = False,
            missing_values_handling: str = "mean_imputation", max_categorical_features: int = 2147483647,
            seed: int = 0, classification: bool | None = None,
            cat_encoding: dict | None = None) -> "FrameSchema":
        """Fit the schema on a pandas or dask DataFrame with one pass over the data.

        ``cat_encoding`` is the fitted ``categorical_encoding`` (``CategoricalTransform.to_dict()``)
        that turned the user's columns into ``frame``'s, kept so that predict applies it first."""
        import dask.dataframe as dd

        if not isinstance(frame, (pd.DataFrame, dd.DataFrame)):
            raise TypeError(f"frame must be a pandas or dask DataFrame; got {type(frame).__name__}")
        columns = [str(c) for c in frame.columns]
        if len(set(columns)) != len(columns):
            dup = sorted({c for c in columns if columns.count(c) > 1})
            raise ValueError(f"frame has duplicate column names {dup}")
        dtypes = dict(zip(columns, frame.dtypes))

        def check(name, what):
            if name is not None and name not in dtypes:
                raise ValueError(f"{what} {name!r} is not a column of the frame; available columns: {columns}")

        mvh = _MVH.get(str(missing_values_handling).lower().replace("_", ""))
        if mvh is None:
            raise ValueError("missing_values_handling must be 'mean_imputation' or 'skip'; "
                             f"got {missing_values_handling!r}")
        if int(max_categorical_features) < 1:
            raise ValueError(f"max_categorical_features must be >= 1; got {max_categorical_features!r}")
        if autoencoder:
            if y is not None:
                raise ValueError(f"autoencoder takes no response column; got y={y!r}")
            use_all_factor_levels = True
        check(y, "response column y")
        check(weights_column, "weights_column")
        check(offset_column, "offset_column")
        for c in ignored_columns or []:
            check(c, "ignored_columns entry")
        if x is not None:
            if isinstance(x, str):
                x = [x]
            for c in x:
                check(c, "predictor (x) column")
            if y is not None and y in x:
                raise ValueError(f"response column {y!r} must not be among the predictors x")
        special = {c for c in (y, weights_column, offset_column) if c is not None}
        ignored_user = list(ignored_columns or [])
        cand = [c for c in (x if x is not None else columns) if c not in special and c not in ignored_user]
        cand = list(dict.fromkeys(cand))
        dropped: dict[str, str] = {c: "ignored_columns" for c in ignored_user}

        cat_cand, num_cand = [], []
        for c in cand:
            dt = dtypes[c]
            if _is_numeric_dtype(dt):
                num_cand.append(c)
            elif is_categorical_dtype(dt):
                cat_cand.append(c)
            else:
                dropped[c] = f"unsupported type {dt}"

        # response kind
        resp_cat = False
        if y is not None:
            ydt = dtypes[y]
            if is_categorical_dtype(ydt):
                if classification is False:
                    raise ValueError(f"response column {y!r} is categorical ({ydt}); regression needs a numeric "
                                     "response (classification=False was given)")
                resp_cat = True
            elif _is_numeric_dtype(ydt):
                resp_cat = bool(classification)
            else:
                raise ValueError(f"response column {y!r} has unsupported type {ydt}")
            if resp_cat and offset_column is not None:
                raise ValueError(f"offset_column {offset_column!r} is only allowed for regression; "
                                 f"response {y!r} is categorical")
        weighted = weights_column is not None and offset_column is None
        spec = {"num": num_cand, "cat": cat_cand, "response": y, "resp_cat": resp_cat,
                "weights": weights_column, "weighted": weighted}
        st = _collect(frame, spec)

        if weights_column is not None and st.get("w_min", math.inf) < 0:
            raise ValueError(f"weights_column {weights_column!r} has negative weights (minimum "
                             f"{st['w_min']}); weights must be >= 0")

        # ---- response
        classes = None
        resp_mean = resp_sd = resp_min = resp_max = None
        respmul, respsub = 1.0, 0.0
        if y is not None:
            if st["resp_nonna"] == 0:
                raise ValueError(f"response column {y!r} is all NA")
            if resp_cat:
                classes = sort_levels(st["resp_levels"])
                if len(classes) < 2:
                    raise ValueError(f"response column {y!r} is constant (single level {classes[0]!r})")
            else:
                resp_min, resp_max = float(st["resp_min"]), float(st["resp_max"])
                if resp_min == resp_max:
                    raise ValueError(f"response column {y!r} is constant (value {resp_min})")
                if weighted:
                    sw, m, M2, nobs = st["resp_w"]
                    resp_mean, resp_sd = float(m[0]), float(_wsigma(sw, M2, nobs)[0])
                else:
                    n, m, M2, _ = st["resp_u"]
                    resp_mean, resp_sd = float(m[0]), float(_sigma(n, M2)[0])
                _check_finite_spread([y], resp_min, resp_max, resp_mean, resp_sd, "response column")
                respsub = resp_mean
                respmul = 1.0 / resp_sd if resp_sd > 0 else 1.0

        # ---- categoricals
        cat_levels_all = {c: sort_levels(st["cat"][c]) for c in cat_cand}
        kept_cat = []
        for c in cat_cand:
            L = len(cat_levels_all[c])
            if ignore_const_cols and L == 0:
                dropped[c] = "all NA"
            elif ignore_const_cols and L == 1:
                dropped[c] = "constant"
            else:
                kept_cat.append(c)
        # H2O's pairwise swap loop: decreasing cardinality (not stable)
        order = list(kept_cat)
        card = [len(cat_levels_all[c]) for c in order]
        for i in range(len(order)):
            for j in range(i + 1, len(order)):
                if card[i] < card[j]:
                    order[i], order[j] = order[j], order[i]
                    card[i], card[j] = card[j], card[i]
        cat_cols = order
        cat_levels = [cat_levels_all[c] for c in cat_cols]
        blocks = [len(lv) - (0 if use_all_factor_levels else 1) + 1 for lv in cat_levels]
        blocks = [max(b, 1) for b in blocks]
        cat_offsets = np.concatenate([[0], np.cumsum(blocks)]).astype(np.int32)

        # ---- numerics
        kept_num, idx = [], []
        if num_cand:
            n_u, mean_u, M2_u, cnt = st["num_u"]
            mn, mx = st["num_min"], st["num_max"]
            for i, c in enumerate(num_cand):
                if ignore_const_cols and cnt[i] == 0:
                    dropped[c] = "all NA"
                elif ignore_const_cols and mn[i] == mx[i]:
                    dropped[c] = "constant"
                else:
                    kept_num.append(c)
                    idx.append(i)
        idx = np.asarray(idx, dtype=np.int64)
        if not cat_cols and not kept_num:
            raise ValueError(f"no predictor columns left after filtering; dropped: {dropped}")
        if autoencoder:
            transform = NORMALIZE if standardize else NONE
        elif standardize:
            transform = DESCALE if sparse else STANDARDIZE
        else:
            transform = NONE
        if len(idx):
            n_u, mean_u, M2_u, cnt = (np.asarray(a)[idx] for a in st["num_u"])
            mn, mx = np.asarray(st["num_min"])[idx], np.asarray(st["num_max"])[idx]
            sigma = _sigma(n_u, M2_u)
            means = np.where(cnt > 0, mean_u, 0.0)
            center = means
            if weighted:
                sw, wm, wM2, nobs = (np.asarray(a)[idx] for a in st["num_w"])
                sigma = _wsigma(sw, wM2, nobs)
                center = np.where(sw > 0, wm, means)
            _check_finite_spread(kept_num, mn, mx, center, sigma, "numeric predictor column(s)", cnt)
            inv_sigma = np.where(sigma > 0, 1.0 / np.where(sigma > 0, sigma, 1.0), 1.0)
            rng = np.where(cnt > 0, mx - mn, 0.0)
            if transform == STANDARDIZE:
                mul, sub, imp = inv_sigma, center, np.zeros_like(means)
            elif transform == NORMALIZE:
                mul = np.where(rng > 0, 1.0 / np.where(rng > 0, rng, 1.0), 1.0)
                sub, imp = center, np.zeros_like(means)
            elif transform == DESCALE:
                mul, sub = inv_sigma, np.zeros_like(means)
                imp = means * mul
            else:
                mul, sub, imp = np.ones_like(means), np.zeros_like(means), means.copy()
        else:
            mul = sub = means = imp = np.zeros(0)

        total_slots = int(cat_offsets[-1])
        M = int(max_categorical_features)
        hashing = M < total_slots
        num_offset = M if hashing else total_slots
        coef_names: list[str] = []
        if hashing:
            coef_names = [f"hash.{i}" for i in range(M)]
        else:
            for c, lv in zip(cat_cols, cat_levels):
                use = lv if use_all_factor_levels else lv[1:]
                coef_names += [f"{c}.{lev}" for lev in use] + [f"{c}.missing(NA)"]
        coef_names += kept_num

        schema = cls(
            cat_cols=cat_cols, cat_levels=cat_levels, cat_offsets=cat_offsets,
            cat_na_seen=[bool(st["cat_na"][c] > 0) for c in cat_cols],
            num_cols=kept_num, normmul=mul, normsub=sub, num_means=means, num_impute=imp,
            num_offset=num_offset, n_in=num_offset + len(kept_num), coef_names=coef_names, response=y,
            classification=bool(resp_cat), classes=classes, resp_mean=resp_mean, resp_sd=resp_sd,
            resp_min=resp_min, resp_max=resp_max,
            respmul=float(respmul) if (y is not None and not resp_cat) else None,
            respsub=float(respsub) if (y is not None and not resp_cat) else None,
            weights_column=weights_column, offset_column=offset_column,
            ignored=list(dropped), dropped_reasons=dropped, n_rows=int(st["n_rows"]), sum_w=float(st["sum_w"]),
            autoencoder=bool(autoencoder), use_all_factor_levels=bool(use_all_factor_levels),
            transform=transform, missing_values_handling=mvh, max_categorical_features=M, hashing=bool(hashing),
            hash_seed=int(seed) & 0xFFFFFFFF, sparse=bool(sparse), standardize=bool(standardize),
            columns=columns, cat_encoding=cat_encoding,
        )
        return schema

    # ----------------------------------------------------------------------------------------- #
    @property
    def n_cat(self) -> int:
        return len(self.cat_cols)

    @property
    def n_num(self) -> int:
        return len(self.num_cols)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def level_index(self) -> list[dict]:
        """Per categorical column, a dict level label -> level index (cached)."""
        if self._level_index is None:
            self._level_index = [{lab: i for i, lab in enumerate(lv)} for lv in self.cat_levels]
        return self._level_index

    def class_index(self) -> dict:
        if self._class_index is None:
            self._class_index = {lab: i for i, lab in enumerate(self.classes or [])}
        return self._class_index

    def hash_lut(self) -> np.ndarray:
        """Hashed input position of every global one-hot slot (only with hashing)."""
        if self._hash_lut is None:
            self._hash_lut = murmur2_slots(int(self.cat_offsets[-1]), int(self.max_categorical_features),
                                           int(self.hash_seed))
        return self._hash_lut

    def prediction_columns(self) -> list[str]:
        if self.autoencoder:
            return ["reconstr_" + c for c in self.coef_names]
        if not self.classification:
            return ["predict"]
        out = ["predict"]
        for lab in self.classes:
            try:
                int(lab)
                out.append("p" + lab)
            except ValueError:
                out.append(lab)
        return out

    def input_columns(self) -> list[str]:
        cols = list(self.cat_cols) + list(self.num_cols)
        for c in (self.weights_column, self.offset_column, self.response):
            if c is not None:
                cols.append(c)
        return cols

    # ----------------------------------------------------------------------------------------- #
    def to_dict(self) -> dict:
        d = {}
        for f in _FIELDS:
            v = getattr(self, f)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            d[f] = v
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FrameSchema":
        unknown = set(d) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown FrameSchema fields {sorted(unknown)}")
        return cls(**d)

    def __eq__(self, other) -> bool:
        if not isinstance(other, FrameSchema):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"FrameSchema(response={self.response!r}, classification={self.classification}, "
                f"n_cat={self.n_cat}, n_num={self.n_num}, n_in={self.n_in}, transform={self.transform!r})")
