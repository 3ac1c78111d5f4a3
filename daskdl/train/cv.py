"""N-fold cross-validation (H2O's ``nfolds`` / ``fold_column``; spec section 9.4).

Fold assignment is computed partition by partition where the data lives, from the
global row number (and, for Stratified, the response): AUTO/Random use an
independent seeded hash per row, Modulo ``row mod K``, Stratified a separately
seeded hash per class (NA responses round-robin), and a ``fold_column`` maps its
distinct values (sorted) to folds ``0..K-1``.

Each of the K fold models is trained by :func:`daskdl.train.api.fit` (``nfolds=0``,
otherwise the same parameters) on every row with the holdout rows' weight set to 0 (a
{0, 1} column times the user's weights) and the holdout fold as its validation frame;
on a cluster the folds train side by side, each on its own worker. A fold model is its
:class:`FitState`; ``keep_cross_validation_models=False`` drops them once the
cross-validation metrics are computed.  The cross-validation metrics are those of
the concatenated holdout predictions, computed as mergeable partial metrics in one
pass over the data.
"""
from __future__ import annotations

import queue
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics import combine_all, finalize
from ..metrics.custom import resolve_custom_metric
from ..model.predict import PartialMetricsFn, empty_prediction, predict_frame
from ..model.state import metric_kind, scoring_state
from ..params import PARAMETERS
from .api import fit

CV_WEIGHTS = "__daskdl_cv_weight__"
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# ------------------------------------------------------------------------------ fold assignment
def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (vectorised, uint64 wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _row_hash_fold(rows: np.ndarray, seed: int, k: int) -> np.ndarray:
    s = np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        h = _mix64(rows.astype(np.uint64) + s)
    return (h % np.uint64(k)).astype(np.int64)


def _canonical_scheme(value) -> str:
    s = "auto" if value is None else str(value).lower()
    if s not in ("auto", "random", "modulo", "stratified"):
        raise ValueError(f"fold_assignment must be one of AUTO, Random, Modulo, Stratified; got {value!r}")
    return "random" if s == "auto" else s


@dataclass
class FoldAssigner:
    """Computes the fold (0..K-1) of every row of one partition."""

    scheme: str               # random | modulo | stratified | column
    nfolds: int
    seed: int
    offsets: tuple            # global row number of each partition's first row
    response: str | None = None
    fold_column: str | None = None
    values: tuple = ()        # fold_column: sorted distinct values (fold i = values[i])
    classes: tuple = ()       # stratified: the response levels

    def __call__(self, pdf: pd.DataFrame, part: int) -> np.ndarray:
        n = len(pdf)
        rows = np.arange(n, dtype=np.int64) + int(self.offsets[part])
        K = self.nfolds
        if self.scheme == "modulo":
            return rows % K
        if self.scheme == "random":
            return _row_hash_fold(rows, self.seed, K)
        if self.scheme == "stratified":
            col = pdf[self.response]
            out = rows % K  # NA responses: round-robin
            lab = col.astype(object).where(col.notna(), None).to_numpy()
            for c, level in enumerate(self.classes):
                sel = np.array([v is not None and str(v) == level for v in lab], dtype=bool)
                if sel.any():
                    seed_c = int(_mix64(np.array([(int(self.seed) + 7919 * (c + 1)) & 0xFFFFFFFFFFFFFFFF],
                                                 np.uint64))[0])
                    out[sel] = _row_hash_fold(rows[sel], seed_c, K)
            return out
        # fold_column
        col = pdf[self.fold_column]
        if col.isna().any():
            raise ValueError(f"fold_column {self.fold_column!r} has missing values; every row needs a fold")
        lookup = {v: i for i, v in enumerate(self.values)}
        return np.array([lookup[_fold_key(v)] for v in col.to_numpy()], dtype=np.int64)


def _fold_key(v):
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return ("n", float(v))
    if isinstance(v, (np.floating, float)):
        return ("n", float(v))
    return ("s", str(v))


def _partition_lengths(frame) -> list[int]:
    if isinstance(frame, pd.DataFrame):
        return [len(frame)]
    return [int(n) for n in frame.map_partitions(len).compute()]


def make_assigner(frame, parms: dict, y: str, nfolds: int, seed: int, classes) -> FoldAssigner:
    lengths = _partition_lengths(frame)
    offsets = tuple(int(x) for x in np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    fold_column = parms.get("fold_column")
    if fold_column is not None:
        cols = [str(c) for c in frame.columns]
        if fold_column not in cols:
            raise ValueError(f"fold_column {fold_column!r} is not a column of training_frame; available "
                             f"columns: {cols}")
        col = frame[fold_column]
        if col.isna().sum().compute() if not isinstance(frame, pd.DataFrame) else col.isna().sum():
            raise ValueError(f"fold_column {fold_column!r} has missing values; every row needs a fold")
        uniq = col.drop_duplicates()
        uniq = uniq if isinstance(frame, pd.DataFrame) else uniq.compute()
        keys = sorted({_fold_key(v) for v in uniq.to_numpy()})
        if len(keys) < 2:
            raise ValueError(f"fold_column {fold_column!r} must have at least 2 distinct values (one per fold); "
                             f"got {len(keys)}")
        return FoldAssigner("column", len(keys), seed, offsets, y, fold_column, tuple(keys))
    scheme = _canonical_scheme(parms.get("fold_assignment"))
    return FoldAssigner(scheme, int(nfolds), int(seed), offsets, y,
                        classes=tuple(str(c) for c in (classes or ())))


# ------------------------------------------------------------------------------ per-partition steps
class _FoldFrameFn:
    """Adds the cross-validation weights column: training rows keep their (user) weight, holdout
    rows get 0; with ``holdout=True`` only the holdout rows are returned (with their weight)."""

    def __init__(self, assigner: FoldAssigner, k: int, holdout: bool, user_weights: str | None):
        self.assigner, self.k, self.holdout, self.user_weights = assigner, k, holdout, user_weights

    def __call__(self, pdf: pd.DataFrame, part: int) -> pd.DataFrame:
        fold = self.assigner(pdf, part)
        w = (pd.to_numeric(pdf[self.user_weights], errors="coerce").to_numpy(np.float64)
             if self.user_weights else np.ones(len(pdf)))
        if self.holdout:
            sel = fold == self.k
            out = pdf.iloc[np.nonzero(sel)[0]].copy()
            out[CV_WEIGHTS] = w[sel]
            return out
        out = pdf.copy()
        out[CV_WEIGHTS] = np.where(fold == self.k, 0.0, w)
        return out


def _apply(frame, fn, meta):
    """``fn(partition, partition_number)`` on every partition (lazy for dask, eager for pandas)."""
    if isinstance(frame, pd.DataFrame):
        return fn(frame, 0)
    import dask
    import dask.dataframe as dd

    parts = frame.to_delayed()
    return dd.from_delayed([dask.delayed(fn)(p, i) for i, p in enumerate(parts)], meta=meta,
                           divisions=frame.divisions, verify_meta=False)


def _with_weights_meta(frame):
    meta = (frame if isinstance(frame, pd.DataFrame) else frame._meta).iloc[:0].copy()
    meta[CV_WEIGHTS] = pd.Series([], dtype="float64")
    return meta


class _HoldoutFn:
    """Per partition: each row scored by the model of its fold."""

    def __init__(self, assigner, states, user_weights, partial_fns=None, columns=None):
        self.assigner, self.states, self.user_weights = assigner, states, user_weights
        self.partial_fns, self.columns = partial_fns, columns

    def _pieces(self, pdf, part):
        fold = self.assigner(pdf, part)
        w = (pd.to_numeric(pdf[self.user_weights], errors="coerce").to_numpy(np.float64)
             if self.user_weights else np.ones(len(pdf)))
        for k in range(self.assigner.nfolds):
            idx = np.nonzero(fold == k)[0]
            sub = pdf.iloc[idx].copy()
            sub[CV_WEIGHTS] = w[idx]
            yield k, idx, sub, fold

    def partials(self, pdf, part):
        return [fn(sub, self.states[k]) for (k, _, sub, _), fn in zip(self._pieces(pdf, part), self.partial_fns)]

    def predictions(self, pdf, part):
        pieces, pos = [], []
        for k, idx, sub, _ in self._pieces(pdf, part):
            if len(idx):
                pieces.append(predict_frame(sub, self.states[k]))
                pos.append(idx)
        if not pieces:
            return self.meta(pdf.index)
        out = pd.concat(pieces)
        order = np.argsort(np.concatenate(pos), kind="stable")
        return out.iloc[order]

    def fold_predictions(self, pdf, part, k):
        """Fold ``k``'s model on its holdout rows; 0 (numeric columns) or missing elsewhere (H2O layout)."""
        hp = self.predictions(pdf, part)
        fold = self.assigner(pdf, part)
        out = hp.copy()
        other = fold != k
        for c in out.columns:
            if pd.api.types.is_numeric_dtype(out[c]) and not isinstance(out[c].dtype, pd.CategoricalDtype):
                out.loc[other, c] = 0
            else:
                out[c] = out[c].where(~other)
        return out

    def fold_assignment(self, pdf, part):
        return pd.DataFrame({"fold_assignment": self.assigner(pdf, part).astype(np.int64)}, index=pdf.index)

    def meta(self, index):
        return empty_prediction(self.states[0], index)


# ------------------------------------------------------------------------------ results
@dataclass
class CVResult:
    nfolds: int
    models: list | None                   # the fold models' FitStates (None: not kept)
    metrics: object                       # ModelMetrics of the combined holdout predictions
    fold_metrics: list                    # ModelMetrics of each fold's holdout
    summary: pd.DataFrame
    holdout_fn: _HoldoutFn
    frame: object
    keep_predictions: bool
    keep_fold_assignment: bool
    main_epochs: float | None
    _cache: dict = field(default_factory=dict)

    def holdout_predictions(self):
        if "holdout" not in self._cache:
            fn = self.holdout_fn
            meta = fn.meta(_meta_index(self.frame))
            self._cache["holdout"] = _apply(self.frame, fn.predictions, meta)
        return self._cache["holdout"]

    def predictions(self):
        if "folds" not in self._cache:
            fn = self.holdout_fn
            meta = fn.meta(_meta_index(self.frame))
            self._cache["folds"] = [_apply(self.frame, _FoldPred(fn, k), meta) for k in range(self.nfolds)]
        return self._cache["folds"]

    def fold_assignment(self):
        if "assign" not in self._cache:
            meta = pd.DataFrame({"fold_assignment": pd.Series([], dtype="int64")}, index=_meta_index(self.frame))
            self._cache["assign"] = _apply(self.frame, self.holdout_fn.fold_assignment, meta)
        return self._cache["assign"]


class _FoldPred:
    def __init__(self, fn, k):
        self.fn, self.k = fn, k

    def __call__(self, pdf, part):
        return self.fn.fold_predictions(pdf, part, self.k)


def _meta_index(frame):
    return (frame.index if isinstance(frame, pd.DataFrame) else frame._meta.index)[:0]


# ------------------------------------------------------------------------------ summary table
_BINOMIAL_ROWS = ("accuracy", "auc", "err", "err_count", "f0point5", "f1", "f2", "lift_top_group", "logloss",
                  "max_per_class_error", "mcc", "mean_per_class_accuracy", "mean_per_class_error", "mse",
                  "pr_auc", "precision", "r2", "recall", "rmse", "specificity")
_MULTINOMIAL_ROWS = ("accuracy", "err", "err_count", "logloss", "max_per_class_error", "mean_per_class_accuracy",
                     "mean_per_class_error", "mse", "r2", "rmse")
_REGRESSION_ROWS = ("mae", "mean_residual_deviance", "mse", "r2", "residual_deviance", "rmse", "rmsle")


def _num(x):
    return float("nan") if x is None else float(x)


def metric_row_values(m) -> dict:
    """The H2O cross-validation summary metrics of one ModelMetrics."""
    v: dict = {}
    if m.kind == "regression":
        v["mae"] = _num(m.mae())
        v["mean_residual_deviance"] = _num(m.mean_residual_deviance())
        v["mse"] = _num(m.mse())
        v["r2"] = _num(m.r2())
        v["residual_deviance"] = _num(m.mean_residual_deviance()) * float(m._v.get("sum_weights", m.nobs()))
        v["rmse"] = _num(m.rmse())
        v["rmsle"] = _num(m.rmsle())
        return v
    cm = m.confusion_matrix()
    counts = cm.iloc[:-1, :-2].to_numpy(np.float64)
    rows = counts.sum(axis=1)
    total = counts.sum()
    err_count = total - np.trace(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class_err = np.where(rows > 0, 1.0 - np.diag(counts) / np.where(rows > 0, rows, 1), np.nan)
    v["accuracy"] = 1.0 - err_count / total if total > 0 else float("nan")
    v["err"] = err_count / total if total > 0 else float("nan")
    v["err_count"] = float(err_count)
    v["logloss"] = _num(m.logloss())
    v["max_per_class_error"] = float(np.nanmax(per_class_err)) if np.isfinite(per_class_err).any() else float("nan")
    v["mean_per_class_error"] = _num(m.mean_per_class_error())
    v["mean_per_class_accuracy"] = 1.0 - v["mean_per_class_error"]
    v["mse"] = _num(m.mse())
    v["r2"] = _num(m.r2())
    v["rmse"] = _num(m.rmse())
    if m.kind == "binomial":
        v["auc"] = _num(m.auc())
        v["pr_auc"] = _num(m.aucpr())
        v["lift_top_group"] = _num(m.lift_top_group())
        t = m.thresholds_and_metric_scores()
        i = m._idx_max("f1") if t is not None and len(t) else None
        for name, col in (("f0point5", "f0point5"), ("f1", "f1"), ("f2", "f2"), ("mcc", "absolute_mcc"),
                          ("precision", "precision"), ("recall", "recall"), ("specificity", "specificity")):
            v[name] = float(t[col].iloc[i]) if i is not None else float("nan")
        order = _BINOMIAL_ROWS
    else:
        order = _MULTINOMIAL_ROWS
    return {k: v[k] for k in order}


def summary_table(fold_metrics) -> pd.DataFrame:
    """H2O's cross-validation metrics summary: one row per metric; mean, sd and cv_<k>_valid columns."""
    per = [metric_row_values(m) for m in fold_metrics]
    names = list(per[0])
    data = {f"cv_{k + 1}_valid": [p[n] for n in names] for k, p in enumerate(per)}
    vals = np.array([[p[n] for p in per] for n in names], dtype=np.float64)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(vals, axis=1)
        sd = np.nanstd(vals, axis=1, ddof=1) if vals.shape[1] > 1 else np.full(len(names), np.nan)
    out = pd.DataFrame({"mean": mean, "sd": sd, **data}, index=pd.Index(names, name="metric"))
    return out


# ------------------------------------------------------------------------------ driver
def _workers_of(client) -> list:
    if client is None:
        return []
    return sorted(client.scheduler_info(n_workers=-1)["workers"])


def fold_parameters(parms: dict, k: int, main_id: str) -> dict:
    """Parameters of fold model ``k`` (0-based): the main model's, without cross-validation."""
    p = {n: v for n, v in parms.items() if n in PARAMETERS}
    for n in ("nfolds", "fold_column", "fold_assignment", "keep_cross_validation_models",
              "keep_cross_validation_predictions", "keep_cross_validation_fold_assignment",
              "training_frame", "validation_frame", "model_id"):
        p.pop(n, None)
    ignored = list(parms.get("ignored_columns") or [])
    for c in (parms.get("weights_column"), parms.get("fold_column")):
        if c is not None and c not in ignored:
            ignored.append(c)
    p["ignored_columns"] = ignored or None
    p["weights_column"] = CV_WEIGHTS
    p["model_id"] = f"{main_id}_cv_{k + 1}"
    return p


def cross_validate(client, frame, parms: dict, x, y, *, nfolds: int, seed: int, classes, main_id: str,
                   workers=None, out_of_core=None, verbose=False) -> CVResult:
    """Train the fold models and compute the cross-validation metrics (spec 9.4).

    On a client with several workers the folds train side by side, each on one worker (a fold
    whose worker leaves the cluster trains on the others); without a client, one after another in
    this process. ``workers``: the workers to use (None: all of the client's)."""
    if CV_WEIGHTS in [str(c) for c in frame.columns]:
        raise ValueError(f"training_frame must not have a column named {CV_WEIGHTS!r} (used by cross-validation)")
    assigner = make_assigner(frame, parms, y, nfolds, seed, classes)
    K = assigner.nfolds
    user_w = parms.get("weights_column")
    meta_w = _with_weights_meta(frame)
    fold_x = None if x is None else [c for c in x if c != parms.get("fold_column")]
    fold_parms = [fold_parameters(parms, k, main_id) for k in range(K)]
    for p in fold_parms:
        p["response_column"] = y

    def train_one(k, workers):
        tf = _apply(frame, _FoldFrameFn(assigner, k, False, user_w), meta_w)
        vf = _apply(frame, _FoldFrameFn(assigner, k, True, user_w), meta_w)
        try:
            return fit(client, (tf, vf), fold_parms[k], x=fold_x, y=y, model_id=fold_parms[k]["model_id"],
                       workers=workers, out_of_core=out_of_core, verbose=verbose)
        except Exception as e:
            raise type(e)(f"cross-validation fold model {k + 1} of {K} failed: {e}") from e

    workers = sorted(workers) if workers is not None else _workers_of(client)
    if len(workers) <= 1:
        models = [train_one(k, workers or None) for k in range(K)]
    else:
        free: queue.Queue = queue.Queue()
        for w in workers[:min(K, len(workers))]:
            free.put(w)

        def job(k):
            w = free.get()
            try:
                return train_one(k, [w])
            finally:
                free.put(w)

        with ThreadPoolExecutor(max_workers=min(K, len(workers))) as pool:
            models = list(pool.map(job, range(K)))

    # holdout scoring: one pass, every row by the model of its fold
    states = [scoring_state(m) for m in models]
    kind = metric_kind(models[0].resolved)
    fns = [PartialMetricsFn(kind, m.resolved, _custom_metric(p, m)) for p, m in zip(fold_parms, models)]
    hfn = _HoldoutFn(assigner, states, user_w, fns)
    if isinstance(frame, pd.DataFrame):
        per_part = [hfn.partials(frame, 0)]
    else:
        import dask

        dstates = dask.delayed(hfn, pure=True)
        per_part = dask.compute(*[dask.delayed(_call_partials)(dstates, p, i)
                                  for i, p in enumerate(frame.to_delayed())])
    fold_partials = [combine_all([pp[k] for pp in per_part]) for k in range(K)]
    cls = models[0].schema.classes
    fold_metrics = [finalize(kind, fp, classes=cls, description=f"holdout fold {k + 1} of {K}")
                    for k, fp in enumerate(fold_partials)]
    metrics = finalize(kind, combine_all(fold_partials), classes=cls,
                       description=f"{K}-fold cross-validation on training data (Metrics computed for combined "
                                   f"holdout predictions)")
    main_epochs = float(np.mean([m.epochs for m in models]))
    keep_predictions = bool(parms.get("keep_cross_validation_predictions", False))
    if not keep_predictions:  # the holdout predictions are not asked for: only the fold assignment stays
        hfn.states, hfn.partial_fns = None, None
    return CVResult(nfolds=K, models=models if parms.get("keep_cross_validation_models", True) else None,
                    metrics=metrics, fold_metrics=fold_metrics,
                    summary=summary_table(fold_metrics), holdout_fn=hfn, frame=frame,
                    keep_predictions=keep_predictions,
                    keep_fold_assignment=bool(parms.get("keep_cross_validation_fold_assignment", False)),
                    main_epochs=main_epochs)


def _custom_metric(parms, fs):
    if fs.resolved.autoencoder or parms.get("custom_metric_func") is None:
        return None
    return resolve_custom_metric(parms["custom_metric_func"])


def _call_partials(hfn, pdf, part):
    return hfn.partials(pdf, part)
