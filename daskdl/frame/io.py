"""Reading frames (CSV, Parquet, Zarr), splitting them and turning columns into factors.

H2O conventions kept here:

* ``header``: ``-1`` no header, ``0`` guess, ``1`` first row is the header.
  Without a header the columns are named ``C1..Cn``.
* Default NA strings are ``""``, ``"NA"`` and, in numeric columns, ``"NaN"``.
  Extra strings (for example ``"?"``) are added with ``na_strings``.
* String columns stay strings; the schema pass treats them as categoricals.
"""
from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import math
import os
import zipfile
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import dask.dataframe as dd

from . import fs
from .source import register_factors, register_parquet

__all__ = ["import_file", "split_frame", "asfactor"]

DEFAULT_NA_STRINGS = ("", "NA", "NaN")
_SEP_CANDIDATES = (",", "\t", ";", "|", " ")
_SAMPLE_BYTES = 8 * 1024 * 1024  # decompressed bytes used to guess header, separator, types
_COL_TYPES = {
    "numeric": "float64", "real": "float64", "int": "float64", "float": "float64", "double": "float64",
    "enum": "str", "categorical": "str", "factor": "str", "string": "str", "str": "str",
}


# --------------------------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------------------------- #
def _compression_of(path: str) -> str | None:
    p = path.lower()
    for ext, comp in ((".gz", "gzip"), (".bz2", "bz2"), (".xz", "xz"), (".zip", "zip")):
        if p.endswith(ext):
            return comp
    return None


def _read_head_bytes(path: str, nbytes: int, storage_options: dict | None = None) -> tuple[bytes, bool]:
    """First ``nbytes`` decompressed bytes and whether the whole file was read."""
    comp = _compression_of(path)
    if not fs.is_local(path) or storage_options:
        with fs.open_binary(path, storage_options, comp) as fh:
            data = fh.read(nbytes + 1)
    elif comp == "zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise ValueError(f"zip archive {path!r} must hold exactly one file, found {len(names)}")
            with zf.open(names[0]) as fh:
                data = fh.read(nbytes + 1)
    else:
        opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(comp, open)
        with opener(path, "rb") as fh:
            data = fh.read(nbytes + 1)
    complete = len(data) <= nbytes
    return data[:nbytes], complete


def _is_utf8(data: bytes, complete: bool) -> bool:
    d = codecs.getincrementaldecoder("utf-8")()
    try:
        d.decode(data, final=complete)
        return True
    except UnicodeDecodeError:
        return False


def _is_number(s: str) -> bool:
    s = s.strip()
    if not s:
        return False
    try:
        float(s)
        return True
    except ValueError:
        return False


def _guess_sep(lines: list[str]) -> str:
    best, best_score = ",", -1
    for sep in _SEP_CANDIDATES:
        counts = [len(next(csv.reader([ln], delimiter=sep, skipinitialspace=(sep == " ")))) for ln in lines[:20]]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = sep, score
    return best


def _guess_header(rows: list[list[str]], na: set[str]) -> bool:
    """H2O-like header guess from the first rows (already split into fields)."""
    if len(rows) < 2:
        # a single line: a header only if no field is numeric
        return bool(rows) and not any(_is_number(f) for f in rows[0])
    first, rest = rows[0], rows[1:]

    def is_na(f: str) -> bool:
        return f.strip() in na

    # a non-numeric first-row field above a column whose other values are numeric
    for j, f in enumerate(first):
        if is_na(f) or _is_number(f):
            continue
        vals = [r[j] for r in rest if j < len(r) and not is_na(r[j])]
        if vals and all(_is_number(v) for v in vals):
            return True
    # all first-row fields non-numeric and the second row has a numeric field
    if all(not _is_number(f) for f in first) and any(_is_number(f) for f in rest[0]):
        return True
    return False


def _detect_kind(path: str) -> str:
    p = path.rstrip("/").lower()
    if p.endswith((".parquet", ".pq", ".parq")):
        return "parquet"
    if p.endswith(".zarr"):
        return "zarr"
    if os.path.isdir(path):
        names = os.listdir(path)
        if any(n in ("zarr.json", ".zgroup", ".zarray") for n in names):
            return "zarr"
        if "_metadata" in names or any(n.endswith((".parquet", ".pq", ".parq")) for n in names):
            return "parquet"
        raise ValueError(f"directory {path!r} is neither a Parquet dataset nor a Zarr store")
    return "csv"


# --------------------------------------------------------------------------------------------- #
# import_file
# --------------------------------------------------------------------------------------------- #
def import_file(
    path: str,
    header: int = 0,
    sep: str | None = None,
    col_names: Sequence[str] | None = None,
    col_types: dict | Sequence[str] | None = None,
    na_strings: Iterable[str] | None = None,
    blocksize: str | int | None = "64MB",
    storage_options: dict | None = None,
) -> dd.DataFrame:
    """Read a CSV (plain, .gz, .bz2, .xz, .zip), Parquet (file or directory) or Zarr store.

    ``path`` is a local path or any fsspec URL (``s3://``, ``gs://``, ``az://``, ``http(s)://``,
    ``memory://`` ...), a glob (``data/part-*.csv``) or a directory (its files are read as one
    frame, as H2O imports a folder); the compression comes from the file name.

    Parameters
    ----------
    header : -1 (no header), 0 (guess), 1 (first row is the header); CSV only.
    sep : field separator; guessed among ``, TAB ; | space`` when None.
    col_names : names to use instead of the header / ``C1..Cn``.
    col_types : per-column types, as a dict ``{name: type}`` or a list (one per column); types are
        ``"numeric"`` (also ``real``, ``int``, ``float``) or ``"enum"`` (also ``categorical``,
        ``factor``, ``string``). Columns without a given type are guessed from the first 8 MB.
    na_strings : extra strings read as missing, added to H2O's defaults ``"", "NA", "NaN"``.
    blocksize : bytes per partition for uncompressed CSV (compressed files, and files over HTTP, give one
        partition each).
    storage_options : options for the fsspec filesystem (credentials, endpoint, ...), e.g.
        ``{"anon": True}`` for a public S3 bucket.

    Returns a dask DataFrame. Numeric CSV columns are float64 (H2O keeps all numbers as doubles);
    text columns keep pandas' string dtype.
    """
    path = os.fspath(path)
    if header not in (-1, 0, 1):
        raise ValueError(f"header must be -1 (no header), 0 (guess) or 1 (header); got {header!r}")
    if not fs.is_local(path) or storage_options or os.path.isdir(path) and _csv_directory(path):
        return _import_fsspec(path, header, sep, col_names, col_types, na_strings, blocksize, storage_options)
    if not any(ch in path for ch in "*?[") and not os.path.exists(path):
        raise FileNotFoundError(f"file not found: {path!r}")
    kind = _detect_kind(path)
    if kind == "parquet":
        df = _read_parquet(path)
    elif kind == "zarr":
        df = _read_zarr(path)
    else:
        return _read_csv(path, header, sep, col_names, col_types, na_strings, blocksize)
    return _named_and_typed(df, path, col_names, col_types)


def _read_parquet(path: str, storage_options: dict | None = None) -> dd.DataFrame:
    # one pandas block per column: converting a partition does not need a second, consolidated copy
    df = dd.read_parquet(path, arrow_to_pandas={"split_blocks": True},
                         **({"storage_options": storage_options} if storage_options else {}))
    register_parquet(df, path, storage_options)  # tasks may read its partitions a few columns at a time
    return df


def _named_and_typed(df: dd.DataFrame, path: str, col_names, col_types) -> dd.DataFrame:
    """``col_names`` and ``col_types`` applied to a frame read from ``path`` (Parquet or Zarr)."""
    if col_names is not None:
        col_names = list(col_names)
        if len(col_names) != len(df.columns):
            raise ValueError(f"col_names has {len(col_names)} names but {path!r} has {len(df.columns)} columns")
        df = df.rename(columns=dict(zip(df.columns, col_names)))
    if col_types is not None:
        df = df.astype(_resolve_col_types(col_types, list(df.columns)))
    return df


def _resolve_col_types(col_types, names: list[str]) -> dict:
    if isinstance(col_types, dict):
        items = list(col_types.items())
    else:
        col_types = list(col_types)
        if len(col_types) != len(names):
            raise ValueError(f"col_types has {len(col_types)} entries but the file has {len(names)} columns")
        items = list(zip(names, col_types))
    out = {}
    for name, t in items:
        if name not in names:
            raise ValueError(f"col_types names unknown column {name!r}; available columns: {names}")
        if t is None:
            continue
        key = str(t).lower()
        if key not in _COL_TYPES:
            raise ValueError(
                f"col_types[{name!r}] must be one of {sorted(_COL_TYPES)}; got {t!r}")
        out[name] = _COL_TYPES[key]
    return out


def _read_csv(path, header, sep, col_names, col_types, na_strings, blocksize, storage_options=None,
              files=None) -> dd.DataFrame:
    import glob as _glob

    if files:
        first_file = files[0]
    else:
        first_file = sorted(_glob.glob(path))[0] if any(ch in path for ch in "*?[") else path
    raw, complete = _read_head_bytes(first_file, _SAMPLE_BYTES, storage_options)
    encoding = "utf-8" if _is_utf8(raw, complete) else "latin-1"
    text = raw.decode(encoding, errors="replace")
    if not complete:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut >= 0 else text
    lines = [ln for ln in text.splitlines() if ln.strip()][:200]
    if not lines:
        raise ValueError(f"CSV file {path!r} is empty")
    if sep is None:
        sep = _guess_sep(lines)
    na = set(DEFAULT_NA_STRINGS) | set(na_strings or ())
    rows = list(csv.reader(lines, delimiter=sep, skipinitialspace=(sep == " ")))
    has_header = header == 1 or (header == 0 and _guess_header(rows, na))
    ncols = len(rows[0])
    if col_names is not None:
        names = list(col_names)
        if len(names) != ncols:
            raise ValueError(f"col_names has {len(names)} names but {path!r} has {ncols} columns")
    elif has_header:
        names = [f.strip() for f in rows[0]]
        names = [n if n else f"C{j + 1}" for j, n in enumerate(names)]
    else:
        names = [f"C{j + 1}" for j in range(ncols)]

    read_kw = dict(
        sep=sep,
        header=0 if has_header else None,
        names=names,
        na_values=sorted(na),
        keep_default_na=False,
        encoding=encoding,
        encoding_errors="replace",
        skipinitialspace=(sep == " "),
    )
    # guess the types from the sample with pandas; numbers -> float64, anything else -> str
    sample = pd.read_csv(io.StringIO(text), low_memory=False, **{k: v for k, v in read_kw.items()
                                              if k not in ("encoding", "encoding_errors")})
    dtypes = {}
    for c in names:
        dt = sample[c].dtype
        if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt):
            dtypes[c] = "float64"
        else:
            dtypes[c] = "str"
    _warn_stray_tokens(sample, dtypes, path, col_types)
    if col_types is not None:
        dtypes.update(_resolve_col_types(col_types, names))
    comp = _compression_of(first_file)
    if comp is not None or fs.is_http(first_file):  # no byte ranges into compressed files or over HTTP
        blocksize = None
    if storage_options:
        read_kw["storage_options"] = storage_options
    return dd.read_csv(files or path, dtype=dtypes, blocksize=blocksize, compression=comp,
                       **read_kw)


def _warn_stray_tokens(sample: pd.DataFrame, dtypes: dict, path: str, col_types) -> None:
    """Warn about a column read as text (a factor) because a few of its values are not numbers,
    naming the tokens and how many rows hold them (H2O's parser warns likewise)."""
    import warnings

    given = set(_resolve_col_types(col_types, list(dtypes))) if col_types is not None else set()
    for c, dt in dtypes.items():
        if dt != "str" or c in given:
            continue
        v = sample[c].dropna().astype(str).str.strip()
        v = v[v != ""]
        if not len(v):
            continue
        bad = v[pd.to_numeric(v, errors="coerce").isna()]
        if 0 < len(bad) <= 0.1 * len(v):
            tokens = list(pd.unique(bad))
            warnings.warn(
                f"column {c!r} of {path!r} is read as a factor (text) because {len(bad)} of its {len(v)} "
                f"non-missing values in the first {len(sample)} rows are not numbers: "
                f"{tokens[:10]}{' ...' if len(tokens) > 10 else ''}; the other values are numbers. Pass "
                f"na_strings={tokens[:10]!r} to read them as missing and keep the column numeric",
                UserWarning, stacklevel=4)


def _read_zarr(path: str, storage_options: dict | None = None) -> dd.DataFrame:
    import zarr
    import dask.array as da

    node = zarr.open(path, mode="r", **({"storage_options": storage_options} if storage_options else {}))
    if isinstance(node, zarr.Array):
        if node.ndim == 1:
            arr = da.from_zarr(node)
            return dd.from_dask_array(arr, columns="C1").to_frame()
        if node.ndim != 2:
            raise ValueError(f"Zarr array {path!r} must be 1-D or 2-D; got shape {node.shape}")
        arr = da.from_zarr(node)
        cols = [f"C{j + 1}" for j in range(node.shape[1])]
        return dd.from_dask_array(arr, columns=cols)
    # a group: one 1-D array per column; order from attrs["columns"] if present, else by name
    members = dict(node.arrays())
    order = node.attrs.get("columns") if hasattr(node, "attrs") else None
    names = list(order) if order else sorted(members)
    missing = [n for n in names if n not in members]
    if missing:
        raise ValueError(f"Zarr group {path!r} lists columns {missing} in attrs['columns'] that it does not hold")
    if not names:
        raise ValueError(f"Zarr group {path!r} holds no arrays")
    lengths = {n: members[n].shape for n in names}
    bad = {n: s for n, s in lengths.items() if len(s) != 1}
    if bad:
        raise ValueError(f"Zarr group {path!r}: every column must be a 1-D array; got shapes {bad}")
    nrows = {s[0] for s in lengths.values()}
    if len(nrows) != 1:
        raise ValueError(f"Zarr group {path!r}: columns have different lengths {lengths}")
    n = nrows.pop()
    step = int(members[names[0]].chunks[0]) or max(n, 1)
    bounds = [(a, min(a + step, n)) for a in range(0, max(n, 1), step)] if n else [(0, 0)]
    return dd.from_map(_ZarrSlice(path, names, storage_options), bounds)


class _ZarrSlice:
    """Reads rows [start, stop) of the named 1-D arrays of a Zarr group into a pandas frame."""

    def __init__(self, path: str, names: list[str], storage_options: dict | None = None):
        self.path, self.names, self.storage_options = path, names, storage_options

    def __call__(self, bounds):
        import zarr

        start, stop = bounds
        so = {"storage_options": self.storage_options} if self.storage_options else {}
        g = zarr.open_group(self.path, mode="r", **so)
        data = {n: np.asarray(g[n][start:stop]) for n in self.names}
        return pd.DataFrame(data, index=pd.RangeIndex(start, stop))


# --------------------------------------------------------------------------------------------- #
# import_file on fsspec filesystems (remote URLs, CSV directories)
# --------------------------------------------------------------------------------------------- #
def _csv_directory(path: str) -> bool:
    """A local directory that is neither a Parquet dataset nor a Zarr store (a folder of CSVs)."""
    try:
        _detect_kind(path)
    except ValueError:
        return True
    return False


def _kind_of(path: str, files: list[str], is_dir: bool, storage_options) -> str:
    p = path.rstrip("/").lower()
    if p.endswith((".parquet", ".pq", ".parq")):
        return "parquet"
    if p.endswith(".zarr"):
        return "zarr"
    if is_dir:
        names = set(fs.list_dir(path, storage_options))
        if names & {"zarr.json", ".zgroup", ".zarray"}:
            return "zarr"
        if "_metadata" in names or any(f.lower().endswith((".parquet", ".pq", ".parq")) for f in files):
            return "parquet"
    return "csv"


def _import_fsspec(path, header, sep, col_names, col_types, na_strings, blocksize, storage_options):
    files, is_dir = fs.resolve(path, storage_options)
    kind = _kind_of(path, files, is_dir, storage_options)
    if kind == "csv":
        if not files:
            raise FileNotFoundError(f"directory {path!r} holds no files")
        return _read_csv(path, header, sep, col_names, col_types, na_strings, blocksize,
                         storage_options=storage_options, files=files)
    if kind == "parquet":
        df = _read_parquet(path, storage_options)
    else:
        df = _read_zarr(path, storage_options)
    return _named_and_typed(df, path, col_names, col_types)


# --------------------------------------------------------------------------------------------- #
# split_frame
# --------------------------------------------------------------------------------------------- #
def _assign(n: int, seed: int, part: int, cuts: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng([seed, part])
    return np.searchsorted(cuts, rng.random(n), side="right")


class _Pick:
    def __init__(self, seed: int, cuts: np.ndarray, k: int):
        self.seed, self.cuts, self.k = seed, cuts, k

    def __call__(self, pdf, partition_info=None):
        part = partition_info["number"] if partition_info else 0
        return pdf[_assign(len(pdf), self.seed, part, self.cuts) == self.k]


def split_frame(frame, ratios: Sequence[float] = (0.75,), destination_frames: Sequence[str] | None = None,
                seed: int | None = None) -> list:
    """Split rows at random into ``len(ratios) + 1`` frames, as H2O's ``split_frame``.

    Each row draws one uniform number (the generator of a partition is seeded from ``(seed, partition
    index)``, so the split is deterministic for a given seed and partitioning) and goes to the frame
    whose cumulative-ratio interval holds it. The last frame gets the remainder ``1 - sum(ratios)``.
    Works on dask and pandas frames (a pandas frame counts as one partition). ``destination_frames``
    is accepted for H2O compatibility (it must name ``len(ratios) + 1`` frames) and otherwise unused.
    """
    ratios = [float(r) for r in (ratios if isinstance(ratios, (list, tuple, np.ndarray)) else [ratios])]
    if not ratios or any(not (0.0 < r < 1.0) or math.isnan(r) for r in ratios):
        raise ValueError(f"ratios must be numbers in (0, 1); got {ratios}")
    if sum(ratios) > 1.0 + 1e-12:
        raise ValueError(f"ratios must add up to at most 1; got {ratios} (sum {sum(ratios)})")
    if destination_frames is not None and len(destination_frames) != len(ratios) + 1:
        raise ValueError(f"destination_frames must name {len(ratios) + 1} frames; got {list(destination_frames)}")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = int(seed) % (2**64)
    cuts = np.cumsum(ratios)
    out = []
    for k in range(len(ratios) + 1):
        pick = _Pick(seed, cuts, k)
        if isinstance(frame, pd.DataFrame):
            out.append(pick(frame))
        elif isinstance(frame, dd.DataFrame):
            out.append(frame.map_partitions(pick, meta=frame._meta, token="daskdl-split"))
        else:
            raise TypeError(f"frame must be a pandas or dask DataFrame; got {type(frame).__name__}")
    return out


# --------------------------------------------------------------------------------------------- #
# asfactor
# --------------------------------------------------------------------------------------------- #
def _factor_pandas(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s
    vals = s.dropna().unique()
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        vals = np.sort(np.asarray(vals, dtype=s.dtype))
    else:
        vals = sorted(vals, key=str)
    return pd.Series(pd.Categorical(s, categories=vals), index=s.index, name=s.name)


def asfactor(frame, column_or_columns):
    """Return a new frame with the given column(s) as pandas ``category``.

    Levels are the sorted unique non-missing values (numbers sorted numerically, text
    lexicographically). For dask frames the conversion is lazy and the categories are unknown until
    computed; the schema pass discovers the levels anyway.
    """
    cols = [column_or_columns] if isinstance(column_or_columns, str) else list(column_or_columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"asfactor: unknown column(s) {missing}; available columns: {list(frame.columns)}")
    if isinstance(frame, pd.DataFrame):
        out = frame.copy()
        for c in cols:
            out[c] = _factor_pandas(out[c])
        return out
    if isinstance(frame, dd.DataFrame):
        if all(isinstance(c, str) for c in cols):
            # one column replaced: a per-column astype(dict) walks every column of every partition
            out = frame.assign(**{c: frame[c].astype("category") for c in cols})
        else:
            out = frame.astype({c: "category" for c in cols})
        register_factors(frame, out, cols)
        return out
    raise TypeError(f"frame must be a pandas or dask DataFrame; got {type(frame).__name__}")


def persisted_partitions(frame):
    """The futures holding the partitions of a persisted dask frame, in order, or None.

    A persisted dask-expr frame reaches its data through one alias task per partition, which the
    worker runs (and measures) on every computation; for a wide partition that costs as much as
    scoring it. Tasks that take these futures directly skip that step. Anything unexpected
    (not persisted, a partition not held by a live future) returns None: the caller then maps over
    the frame as usual."""
    expr = getattr(frame, "expr", None)
    if expr is None or type(expr).__name__ != "FromGraph":
        return None
    try:
        from dask._task_spec import Alias
        from distributed import Future

        graph = frame.__dask_graph__()
        out = []
        for k in frame.__dask_keys__():
            v = graph.get(k)
            for _ in range(4):
                if not isinstance(v, Alias):
                    break
                v = graph.get(v.target)
            if not isinstance(v, Future) or v.status in ("cancelled", "lost", "error"):
                return None
            out.append(v)
        return out
    except Exception:  # noqa: BLE001 - any change in dask internals: fall back to map_partitions
        return None
