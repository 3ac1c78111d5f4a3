"""H2O's categorical encodings other than the internal one-hot (``categorical_encoding``).

The encoding is fitted once on the training frame (one pass for level counts and, for
``sort_by_response``, mean responses) and then applied to every partition before the usual
encoding (:func:`daskdl.frame.encode.encode_partition` calls :meth:`CategoricalTransform.apply`),
so training, scoring, metrics and cross-validation see the same columns:

* ``label_encoder``: a categorical becomes one numeric column holding its level index (levels in
  the frame schema's order: numeric labels by value, others lexicographically); missing and
  unseen levels are missing numbers (mean-imputed like any numeric).
* ``sort_by_response``: as ``label_encoder`` with the levels ordered by mean response (level with
  the lowest mean gets 0); needs a numeric or two-class response.
* ``binary``: a categorical with L levels becomes ``ceil(log2(L + 1))`` 0/1 columns ``<name>:<bit>``
  holding the bits (least significant first) of ``level index + 1``; missing and unseen levels
  are all zeros.
* ``enum_limited``: only the ``max_levels`` (10, H2O's ``max_categorical_levels`` default) most
  frequent levels are kept; the others become the level ``"other"``; then the internal one-hot.
* ``eigen``: one numeric column ``<name>.Eigen`` per categorical holding, for each level, the
  level's entry of H2O's projection vector: with level shares p (missing values counted in the
  most frequent level, as H2O imputes them), the matrix ``U = I - sqrt(p) sqrt(p)^T``
  (``LinearAlgebraUtils.multiple``) is decomposed and the row of its eigenvector matrix at the
  largest eigenvalue is taken, as H2O does; missing and unseen levels give a missing number. The
  largest eigenvalue of U is 1 with multiplicity L - 1, so the values depend on the eigen-solver:
  daskdl uses LAPACK (``numpy.linalg.eigh``), H2O uses Jama, and the per-level values differ from
  H2O's. Columns with more than 1,024 levels keep the 1,024 most frequent (seen at least twice);
  the rest count as missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .levels import _label, factorize_labels, numeric_values, sort_levels

KINDS = ("label_encoder", "sort_by_response", "binary", "enum_limited", "eigen")
EIGEN_MAX_LEVELS = 1024
OTHER = "other"


@dataclass
class CategoricalTransform:
    kind: str
    levels: dict = field(default_factory=dict)  # column -> ordered level labels (codes 0..L-1 / kept)
    values: dict = field(default_factory=dict)  # eigen: column -> value per level

    # ---- application ---------------------------------------------------------------------
    def output_columns(self, column: str) -> list[str]:
        if self.kind == "binary":
            return [f"{column}:{b}" for b in range(self.n_bits(column))]
        if self.kind == "eigen":
            return [f"{column}.Eigen"]
        return [column]

    def n_bits(self, column: str) -> int:
        return max(1, math.ceil(math.log2(len(self.levels[column]) + 1)))

    def _codes(self, s: pd.Series, column: str) -> np.ndarray:
        lut = {lab: i for i, lab in enumerate(self.levels[column])}
        codes, uniques = factorize_labels(s)
        if not uniques:
            return np.full(len(s), -1, dtype=np.int64)
        u_idx = np.array([lut.get(_label(u), -1) for u in uniques], dtype=np.int64)
        return np.where(codes >= 0, u_idx[np.maximum(codes, 0)], -1)

    def apply(self, pdf: pd.DataFrame) -> pd.DataFrame:
        """The partition with the encoded columns in place of the categoricals (others unchanged)."""
        cols = [c for c in self.levels if c in pdf.columns]
        if not cols:
            return pdf
        out = {}
        for c in pdf.columns:
            if c not in self.levels:
                out[c] = pdf[c]
                continue
            s = pdf[c]
            if self.kind == "enum_limited":  # kept levels, the rest as "other", missing stays missing
                kept = list(self.levels[c])
                lut = {lab: i for i, lab in enumerate(kept)}
                codes, uniques = factorize_labels(s)
                u_idx = np.array([lut.get(_label(u), len(kept)) for u in uniques], dtype=np.int64)
                new = np.where(codes >= 0, u_idx[np.maximum(codes, 0)], -1) if len(u_idx) else \
                    np.full(len(s), -1, dtype=np.int64)
                out[c] = pd.Categorical.from_codes(new, categories=kept + [OTHER])
                continue
            code = self._codes(s, c)
            if self.kind == "binary":
                v = np.where(code >= 0, code + 1, 0)
                for b, name in enumerate(self.output_columns(c)):
                    out[name] = ((v >> b) & 1).astype(np.float64)
            elif self.kind == "eigen":
                vals = np.asarray(self.values[c], np.float64)
                out[f"{c}.Eigen"] = np.where(code >= 0, vals[np.maximum(code, 0)] if len(vals) else 0.0, np.nan)
            else:
                out[c] = np.where(code >= 0, code, np.nan).astype(np.float64)
        return pd.DataFrame(out, index=pdf.index)

    # ---- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"kind": self.kind, "levels": {c: list(v) for c, v in self.levels.items()}}
        if self.values:
            d["values"] = {c: [float(x) for x in v] for c, v in self.values.items()}
        return d

    @classmethod
    def from_dict(cls, d) -> "CategoricalTransform | None":
        if d is None:
            return None
        if d.get("kind") not in KINDS or not isinstance(d.get("levels"), dict):
            raise ValueError(f"invalid categorical encoding record {d!r}")
        values = {str(c): [float(x) for x in v] for c, v in (d.get("values") or {}).items()}
        if d["kind"] == "eigen" and set(values) != set(d["levels"]):
            raise ValueError("an eigen categorical encoding needs one value per level of every column")
        return cls(d["kind"], {str(c): [str(x) for x in v] for c, v in d["levels"].items()}, values)


def _stats(pdf: pd.DataFrame, cols, y, y_kind, classes):
    """{column: {label: [count, response sum, response count, numeric value or None]}}."""
    out = {}
    if y is not None and y_kind is not None and y in pdf.columns:
        if y_kind == "categorical":
            lab = pdf[y].map(lambda v: v if pd.isna(v) else _label(v), na_action="ignore")
            yv = np.where(lab.to_numpy(dtype=object) == classes[1], 1.0, 0.0)
            yv[pd.isna(lab).to_numpy()] = np.nan
        else:
            yv = numeric_values(pdf[y])
    else:
        yv = np.full(len(pdf), np.nan)
    for c in cols:
        codes, uniques = factorize_labels(pdf[c])
        d = {}
        for k, u in enumerate(uniques):
            m = codes == k
            ym = yv[m]
            ok = np.isfinite(ym)
            num = float(u) if isinstance(u, (int, float, np.integer, np.floating)) and not isinstance(u, bool) \
                else None
            d[_label(u)] = [int(m.sum()), float(ym[ok].sum()), int(ok.sum()), num]
        d[None] = [int((codes < 0).sum()), 0.0, 0, None]  # missing values
        out[c] = d
    return out


def _merge(a, b):
    for c, d in b.items():
        t = a.setdefault(c, {})
        for lab, v in d.items():
            if lab in t:
                t[lab] = [t[lab][0] + v[0], t[lab][1] + v[1], t[lab][2] + v[2], v[3]]
            else:
                t[lab] = list(v)
    return a


def fit_transform(frame, columns, kind: str, y=None, y_kind=None, max_levels: int = 10):
    """Fit ``kind`` on the categorical ``columns`` of a pandas or dask training frame."""
    if kind not in KINDS:
        raise ValueError(f"categorical_encoding must be one of {list(KINDS)} here; got {kind!r}")
    columns = list(columns)
    classes = None
    if kind == "sort_by_response":
        if y is None:
            raise ValueError("categorical_encoding='sort_by_response' needs a response column")
        if y_kind == "categorical":
            import dask.dataframe as dd

            s = frame[y]
            labs = s.dropna().map(_label, meta=(y, object)).unique() if isinstance(frame, dd.DataFrame) \
                else s.dropna().map(_label).unique()
            labs = labs.compute() if hasattr(labs, "compute") else labs
            classes = sorted(str(v) for v in labs)
            if len(classes) > 2:
                raise ValueError(f"categorical_encoding='sort_by_response' needs a numeric or two-class response; "
                                 f"{y!r} has {len(classes)} classes")
            classes = classes + [None] * (2 - len(classes))
    if isinstance(frame, pd.DataFrame):
        stats = _stats(frame, columns, y, y_kind if kind == "sort_by_response" else None, classes)
    else:
        import dask

        parts = dask.compute(*[dask.delayed(_stats)(p, columns, y, y_kind if kind == "sort_by_response" else None,
                                                    classes) for p in frame.to_delayed()])
        stats = {}
        for p in parts:
            _merge(stats, p)
    levels = {}
    missing = {}
    for c in columns:
        d = dict(stats.get(c, {}))
        missing[c] = d.pop(None, [0])[0]
        order = sort_levels({lab: v[3] for lab, v in d.items()})
        if kind == "sort_by_response":
            mean = {lab: (d[lab][1] / d[lab][2]) if d[lab][2] else math.inf for lab in order}
            order = sorted(order, key=lambda lab: (mean[lab], order.index(lab)))
        elif kind == "enum_limited":
            top = sorted(order, key=lambda lab: (-d[lab][0], order.index(lab)))[:max(1, int(max_levels))]
            keep = set(top)
            order = [lab for lab in order if lab in keep and lab != OTHER]
        elif kind == "eigen" and len(order) > EIGEN_MAX_LEVELS:
            top = [lab for lab in sorted(order, key=lambda lab: (-d[lab][0], order.index(lab))) if d[lab][0] >= 2]
            keep = set(top[:EIGEN_MAX_LEVELS])
            order = [lab for lab in order if lab in keep]
        levels[c] = order
    values = {}
    if kind == "eigen":
        for c in columns:
            counts = np.array([stats[c][lab][0] for lab in levels[c]], np.float64)
            values[c] = eigen_projection(counts, missing.get(c, 0)).tolist()
    return CategoricalTransform(kind, levels, values)


def eigen_projection(counts: np.ndarray, n_missing: int = 0) -> np.ndarray:
    """H2O's ``LinearAlgebraUtils.toEigen`` vector for level counts (see the module docstring)."""
    counts = np.asarray(counts, np.float64).copy()
    if counts.size == 0:
        return counts
    counts[int(np.argmax(counts))] += n_missing  # imputeMissing: missing values take the mode
    counts = counts.astype(np.float32).astype(np.float64)  # H2O rounds the Gram to float precision
    n = counts.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (np.diag(counts) - np.outer(counts, counts) / n) / np.sqrt(np.outer(counts, counts))
    u[~np.isfinite(u)] = 0.0
    w, v = np.linalg.eigh(u)
    return v[int(np.argmax(w)), :].astype(np.float32).astype(np.float64)
