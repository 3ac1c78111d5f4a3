"""Reading the partitions of a Parquet-backed frame a few columns at a time.

A dask frame read by :func:`daskdl.import_file` from Parquet files (and the frames
:func:`daskdl.asfactor` makes of it) remembers where its partitions come from. Tasks that
only need a partition's statistics or its encoding (the schema pass, local-only training, the
scoring sample) then read it in batches of columns straight from the file, instead of holding
the whole partition at once as an Arrow table and as a pandas frame (reading a partition of
6,000 x 785 float64 values that way raises a process's memory by about 90 MiB at the peak; a
batch here is 4 MiB). The values are converted as Dask converts them (Arrow's ``to_pandas``),
so the results are those of the frame's partitions.

Only frames whose partitions are whole Parquet files or row groups (no hive partitioning, no
filters) qualify; any other frame, and any frame derived from one by other operations, is read
through Dask as before (:func:`parquet_parts` returns None).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from . import fs

__all__ = ["ParquetSource", "ParquetPart", "parquet_parts", "plain_numeric_dtype", "register_parquet",
           "register_factors", "BATCH_BYTES"]

BATCH_BYTES = 4 * 2 ** 20  # float64 bytes of one batch of numeric columns

_SOURCES: "OrderedDict[str, tuple]" = OrderedDict()  # frame name -> (read expression, source)
_MAX_SOURCES = 256
_lock = threading.Lock()


def plain_numeric_dtype(dt) -> bool:
    """A NumPy (not extension) float or integer dtype: converts without a missing-value pass."""
    return isinstance(dt, np.dtype) and dt.kind in "fiu"


class ParquetSource:
    """What every partition of one Parquet-backed frame shares: the file system, the columns
    with the frame's dtypes, and the columns turned into factors (``category``)."""

    def __init__(self, url: str, storage_options: dict | None, dtypes: dict, factors=(), categories=()):
        self.url = url
        self.storage_options = dict(storage_options) if storage_options else None
        self.dtypes = dict(dtypes)
        self.factors = frozenset(factors)
        self.categories = frozenset(categories)  # read as pandas categoricals by Arrow (Dask's ``categories``)
        self._fs = None

    def with_factors(self, cols) -> "ParquetSource":
        return ParquetSource(self.url, self.storage_options, self.dtypes, self.factors | set(cols), self.categories)

    def with_categories(self, cols) -> "ParquetSource":
        return ParquetSource(self.url, self.storage_options, self.dtypes, self.factors, set(cols))

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_fs"] = None
        return d

    def open(self, path: str):
        """A ``pyarrow.parquet.ParquetFile`` of ``path`` (a path of this source's file system)."""
        import pyarrow.parquet as pq

        if fs.is_local(self.url) and not self.storage_options:
            return pq.ParquetFile(path, memory_map=False)
        if self._fs is None:
            self._fs = fs.filesystem(self.url, self.storage_options)[0]
        return pq.ParquetFile(self._fs.open(path, "rb"))

    def plain_numeric(self, cols) -> bool:
        """Whether every one of ``cols`` is a NumPy float or integer column of the frame (read in
        batches and converted as they are; anything else goes through the general encoder)."""
        return all(c not in self.factors and plain_numeric_dtype(self.dtypes.get(c)) for c in cols)


class ParquetPart:
    """One partition of a Parquet-backed frame: a file, or some of its row groups."""

    def __init__(self, source: ParquetSource, path: str, row_groups=None):
        self.source, self.path = source, path
        self.row_groups = None if row_groups is None else [int(r) for r in row_groups]

    def __repr__(self) -> str:
        rg = "" if self.row_groups is None else f", row groups {self.row_groups}"
        return f"ParquetPart({self.path!r}{rg})"

    def reader(self) -> "_PartReader":
        return _PartReader(self)


class _PartReader:
    """An open partition: its row count and its columns, a batch at a time."""

    def __init__(self, part: ParquetPart):
        self.part = part
        self.file = part.source.open(part.path)
        md = self.file.metadata
        rgs = range(md.num_row_groups) if part.row_groups is None else part.row_groups
        self.n_rows = int(sum(md.row_group(i).num_rows for i in rgs))

    def close(self):
        try:
            self.file.close()
        except Exception:  # noqa: BLE001 - closing a read-only file
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read(self, columns) -> pd.DataFrame:
        """The named columns as pandas, converted as Dask's Parquet reader converts them; factor
        columns as ``category`` and other columns with the frame's dtype where that differs."""
        columns = list(columns)
        if self.part.row_groups is None:
            tbl = self.file.read(columns=columns, use_threads=False, use_pandas_metadata=True)
        else:
            tbl = self.file.read_row_groups(self.part.row_groups, columns=columns, use_threads=False,
                                            use_pandas_metadata=True)
        src = self.part.source
        cats = [c for c in columns if c in src.categories]
        pdf = tbl.to_pandas(split_blocks=True, self_destruct=True, use_threads=False, ignore_metadata=False,
                            **({"categories": cats} if cats else {}))
        del tbl
        for c in columns:
            dt = src.dtypes.get(c)
            have = pdf[c].dtype
            if c in src.factors or isinstance(dt, pd.CategoricalDtype):
                if not isinstance(have, pd.CategoricalDtype):
                    pdf[c] = pdf[c].astype("category")
            elif dt is not None and have != dt and not (isinstance(dt, np.dtype) and dt.kind in "fiu"):
                pdf[c] = pdf[c].astype(dt)
        if len(pdf) != self.n_rows:  # pragma: no cover - a file changed under the frame
            raise ValueError(f"{self.part.path!r} has {len(pdf)} rows, its metadata {self.n_rows}")
        return pdf

    def take(self, columns, positions) -> pd.DataFrame:
        """Rows ``positions`` (in that order) of the named columns, read a batch at a time: what
        ``pdf.take(positions)`` of the whole partition returns."""
        columns = list(columns)
        out = {}
        for a, b, batch in self.batches(columns):
            small = batch.take(positions)
            del batch
            for c in columns[a:b]:
                out[c] = small[c]
        if not out:
            return pd.DataFrame(index=pd.RangeIndex(self.n_rows).take(positions))
        return pd.DataFrame(out)

    def batches(self, columns, itemsize: int = 8):
        """``(start, stop, pandas frame of columns[start:stop])`` in batches of at most
        ``BATCH_BYTES`` (at least one column each)."""
        columns = list(columns)
        step = max(1, BATCH_BYTES // max(1, itemsize * self.n_rows))
        for a in range(0, len(columns), step):
            b = min(a + step, len(columns))
            yield a, b, self.read(columns[a:b])


# --------------------------------------------------------------------------------------------- #
# which frames are Parquet-backed
# --------------------------------------------------------------------------------------------- #
def _remember(name: str, expr, source: ParquetSource) -> None:
    with _lock:
        _SOURCES[name] = (expr, source)
        _SOURCES.move_to_end(name)
        while len(_SOURCES) > _MAX_SOURCES:
            _SOURCES.popitem(last=False)


def register_parquet(frame, url: str, storage_options: dict | None) -> None:
    """Remember that ``frame`` was read by ``dd.read_parquet(url)``; its pieces are looked up
    only when a task asks for them (:func:`parquet_parts`)."""
    try:
        expr = frame.expr
        dtypes = dict(zip(map(str, frame.columns), frame.dtypes))
        if len(dtypes) != len(frame.columns):
            return
        _remember(frame._name, expr, ParquetSource(url, storage_options, dtypes))
    except Exception:  # noqa: BLE001 - a Dask without these attributes: read through Dask
        return


def register_factors(frame, out, cols) -> None:
    """``out`` is ``frame`` with the columns ``cols`` turned into factors."""
    with _lock:
        hit = _SOURCES.get(getattr(frame, "_name", None))
    if hit is None:
        return
    try:
        _remember(out._name, hit[0], hit[1].with_factors(map(str, cols)))
    except Exception:  # noqa: BLE001
        return


def parquet_parts(frame) -> list[ParquetPart] | None:
    """The partitions of ``frame`` as :class:`ParquetPart` objects, in order, when ``frame`` is a
    Parquet-backed frame whose partitions are whole files or row groups; else None."""
    name = getattr(frame, "_name", None)
    with _lock:
        hit = _SOURCES.get(name) if name is not None else None
    if hit is None:
        return None
    expr, source = hit
    try:
        plan = expr._plan
        if plan.get("empty"):
            return None
        kw = plan.get("common_kwargs") or {}
        if kw.get("filters") or kw.get("partitions"):
            return None
        if kw.get("categories"):
            source = source.with_categories(map(str, kw["categories"]))
        parts = []
        for p in plan["parts"]:
            path, rgs, keys = p["piece"]
            if keys:  # hive partitioning: columns that are not in the files
                return None
            parts.append(ParquetPart(source, str(path), rgs))
        if len(parts) != frame.npartitions:
            return None
        return parts
    except Exception:  # noqa: BLE001 - a Dask whose read plan looks different: read through Dask
        return None
