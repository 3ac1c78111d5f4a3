"""Hyper-parameter grid search (H2O's ``H2OGridSearch``): Cartesian and RandomDiscrete."""
from __future__ import annotations

import copy
import itertools
import math
import os
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np
import pandas as pd

from ..params import PARAMETERS
from ..model.estimator import DeepLearningEstimator
from ..train.stopping import stop_early

_grid_ids = itertools.count(1)

# sort name -> (ModelMetrics accessor, higher is better)
_SORT_METRICS = {
    "logloss": ("logloss", False),
    "mse": ("mse", False),
    "rmse": ("rmse", False),
    "mae": ("mae", False),
    "rmsle": ("rmsle", False),
    "r2": ("r2", True),
    "auc": ("auc", True),
    "aucpr": ("aucpr", True),
    "pr_auc": ("aucpr", True),
    "gini": ("gini", True),
    "lift_top_group": ("lift_top_group", True),
    "mean_residual_deviance": ("mean_residual_deviance", False),
    "residual_deviance": ("mean_residual_deviance", False),
    "deviance": ("mean_residual_deviance", False),
    "err": ("classification_error", False),
    "classification_error": ("classification_error", False),
    "misclassification": ("classification_error", False),
    "mean_per_class_error": ("mean_per_class_error", False),
}
_STRATEGIES = ("Cartesian", "RandomDiscrete")
_CRITERIA = ("strategy", "max_models", "max_runtime_secs", "seed", "stopping_rounds", "stopping_metric",
             "stopping_tolerance")


def _metric_value(model, accessor):
    """(value, source) of a trained model: validation metrics if any, else cross-validation, else training."""
    for src in ("valid", "xval", "train"):
        m = model.model_performance(**{src: True}) if src != "train" else model.model_performance(train=True)
        if m is not None:
            f = getattr(m, accessor, None)
            v = f() if callable(f) else None
            return (float("nan") if v is None else float(v)), src
    return float("nan"), None


class GridSearch:
    """Train one model per combination of ``hyper_params`` and compare them.

    Parameters
    ----------
    model : DeepLearningEstimator instance (its parameters are the base of every model) or class.
    hyper_params : dict ``{parameter name: [values, ...]}``.
    grid_id : name of the grid; model ids are ``<grid_id>_model_<n>``.
    search_criteria : dict with ``strategy`` ("Cartesian", default, or "RandomDiscrete") and, for
        RandomDiscrete, ``max_models``, ``max_runtime_secs``, ``seed``, ``stopping_rounds``,
        ``stopping_metric`` and ``stopping_tolerance`` (early stop when the grid's sort metric stops
        improving over the models built, H2O's moving-average rule).
    parallelism : models trained at the same time (threads); 0 chooses from the machine (2 when it has
        at least 2 cores). Kernels of concurrent in-process fits run one at a time per process.

    Examples
    --------
    >>> grid = GridSearch(DeepLearningEstimator(epochs=5), {"hidden": [[20, 20], [50, 50]],
    ...                   "l1": [1e-5, 1e-3]})                                          # doctest: +SKIP
    >>> grid.train(y="CAPSULE", training_frame=train, validation_frame=valid)         # doctest: +SKIP
    >>> grid.get_grid(sort_by="auc", decreasing=True).summary_table                   # doctest: +SKIP
    """

    def __init__(self, model, hyper_params, grid_id=None, search_criteria=None, parallelism=1):
        if isinstance(model, type):
            if not issubclass(model, DeepLearningEstimator):
                raise TypeError(f"model must be a DeepLearningEstimator (class or instance); got {model.__name__}")
            self._cls, base = model, {}
        elif isinstance(model, DeepLearningEstimator):
            self._cls, base = type(model), dict(model._parms)
        else:
            raise TypeError(f"model must be a DeepLearningEstimator (class or instance); got {type(model).__name__}")
        base.pop("model_id", None)
        self._base = base
        self.hyper_params = self._check_hyper(hyper_params)
        self.search_criteria = self._check_criteria(search_criteria)
        if (not isinstance(parallelism, (int, np.integer)) or isinstance(parallelism, bool) or parallelism < 0):
            raise ValueError(f"parallelism must be an integer >= 0 (0 = adaptive); got {parallelism!r}")
        self.parallelism = int(parallelism)
        self.grid_id = grid_id or f"Grid_DeepLearning_{next(_grid_ids)}"
        self._models: list = []          # (model, hyper dict) in build order
        self._failed: list = []          # (hyper dict, message)
        self._sort_by = None
        self._decreasing = None
        self._trained = False

    # ---- checks ---------------------------------------------------------------------------
    @staticmethod
    def _check_hyper(hyper_params) -> dict:
        if not isinstance(hyper_params, dict) or not hyper_params:
            raise ValueError(f"hyper_params must be a non-empty dict {{parameter name: [values]}}; got "
                             f"{hyper_params!r}")
        out = {}
        for k, v in hyper_params.items():
            if k not in PARAMETERS:
                raise ValueError(f"hyper_params has unknown parameter {k!r}; valid names are the "
                                 f"{len(PARAMETERS)} Deep Learning parameters (daskdl.params.PARAMETERS)")
            if k in ("training_frame", "validation_frame", "model_id", "response_column"):
                raise ValueError(f"hyper_params cannot search over {k!r}")
            if isinstance(v, (list, tuple)):
                vals = list(v)
            else:
                vals = [v]
            if not vals:
                raise ValueError(f"hyper_params[{k!r}] must list at least one value; got {v!r}")
            out[k] = vals
        return out

    @staticmethod
    def _check_criteria(sc) -> dict:
        sc = dict(sc or {})
        unknown = [k for k in sc if k not in _CRITERIA]
        if unknown:
            raise ValueError(f"search_criteria has unknown key(s) {unknown}; allowed: {list(_CRITERIA)}")
        strategy = str(sc.get("strategy", "Cartesian"))
        canon = {s.lower(): s for s in _STRATEGIES}.get(strategy.lower())
        if canon is None:
            raise ValueError(f"search_criteria strategy must be one of {list(_STRATEGIES)}; got {strategy!r}")
        out = {"strategy": canon, "max_models": sc.get("max_models", 0) or 0,
               "max_runtime_secs": sc.get("max_runtime_secs", 0) or 0, "seed": sc.get("seed", -1),
               "stopping_rounds": sc.get("stopping_rounds", 0) or 0,
               "stopping_metric": str(sc.get("stopping_metric", "AUTO")),
               "stopping_tolerance": sc.get("stopping_tolerance", 0.001)}
        for k in ("max_models", "stopping_rounds"):
            if not isinstance(out[k], (int, np.integer)) or isinstance(out[k], bool) or out[k] < 0:
                raise ValueError(f"search_criteria {k} must be an integer >= 0; got {out[k]!r}")
        for k in ("max_runtime_secs", "stopping_tolerance"):
            if not isinstance(out[k], (int, float)) or isinstance(out[k], bool) or out[k] < 0:
                raise ValueError(f"search_criteria {k} must be a number >= 0; got {out[k]!r}")
        sm = out["stopping_metric"].lower()
        if sm != "auto" and sm not in _SORT_METRICS:
            raise ValueError(f"search_criteria stopping_metric must be AUTO or one of {sorted(_SORT_METRICS)}; "
                             f"got {out['stopping_metric']!r}")
        return out

    # ---- combinations ---------------------------------------------------------------------
    def _combinations(self) -> list[dict]:
        names = list(self.hyper_params)
        combos = [dict(zip(names, vals)) for vals in itertools.product(*(self.hyper_params[n] for n in names))]
        sc = self.search_criteria
        if sc["strategy"] == "RandomDiscrete":
            seed = sc["seed"]
            rng = random.Random(None if seed is None or int(seed) < 0 else int(seed))
            rng.shuffle(combos)
        if sc["max_models"]:
            combos = combos[:sc["max_models"]]
        return combos

    def _n_parallel(self) -> int:
        if self.parallelism == 0:
            return 2 if (os.cpu_count() or 1) >= 2 else 1
        return self.parallelism

    # ---- training -------------------------------------------------------------------------
    def train(self, x=None, y=None, training_frame=None, validation_frame=None, **params):
        """Train every combination (or until the search criteria stop the search); returns ``self``.

        ``params`` are further model parameters (e.g. ``weights_column``, ``nfolds``) that apply to
        every model; the hyper-parameters take precedence over them."""
        unknown = [k for k in params if k not in PARAMETERS]
        if unknown:
            raise TypeError(f"GridSearch.train got unknown parameter(s) {unknown}; valid names are the "
                            f"{len(PARAMETERS)} Deep Learning parameters (daskdl.params.PARAMETERS)")
        clash = [k for k in params if k in self.hyper_params]
        if clash:
            raise ValueError(f"parameter(s) {clash} are both given to train() and searched in hyper_params; "
                             f"give each in one place only")
        if training_frame is None:
            raise ValueError("training_frame is required: pass a dask or pandas DataFrame")
        base = dict(self._base)
        base.update(params)
        combos = self._combinations()
        sc = self.search_criteria
        t0 = time.time()
        deadline = t0 + sc["max_runtime_secs"] if sc["max_runtime_secs"] else None
        lock = threading.Lock()
        start_index = len(self._models) + len(self._failed)
        stop = threading.Event()

        def build(i, hyper):
            p = dict(base)
            p.update(copy.deepcopy(hyper))
            p["model_id"] = f"{self.grid_id}_model_{start_index + i + 1}"
            if deadline is not None:
                left = deadline - time.time()
                own = float(p.get("max_runtime_secs") or 0)
                p["max_runtime_secs"] = max(left, 1e-3) if own <= 0 else min(own, max(left, 1e-3))
            try:
                m = self._cls(**p)
                m.train(x=x, y=y, training_frame=training_frame, validation_frame=validation_frame)
            except Exception as e:  # recorded, not dropped
                with lock:
                    self._failed.append((hyper, f"{type(e).__name__}: {e}"))
                return
            with lock:
                self._models.append((m, hyper))
                if self._should_stop():
                    stop.set()

        def may_start():
            return not stop.is_set() and (deadline is None or time.time() < deadline)

        n_par = self._n_parallel()
        if n_par <= 1:
            for i, h in enumerate(combos):
                if not may_start():
                    break
                build(i, h)
        else:
            with ThreadPoolExecutor(max_workers=n_par) as pool:
                pending = set()
                it = iter(enumerate(combos))
                done_iter = False
                while True:
                    while not done_iter and len(pending) < n_par and may_start():
                        nxt = next(it, None)
                        if nxt is None:
                            done_iter = True
                            break
                        pending.add(pool.submit(build, *nxt))
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        f.result()
        self._trained = True
        return self

    def _should_stop(self) -> bool:
        sc = self.search_criteria
        k = sc["stopping_rounds"]
        if sc["strategy"] != "RandomDiscrete" or k <= 0:
            return False
        name = sc["stopping_metric"].lower()
        name = self._default_sort() if name == "auto" else name
        accessor, higher = _SORT_METRICS[name]
        vals = [_metric_value(m, accessor)[0] for m, _ in self._models]
        lower_bounded = name not in ("mean_residual_deviance", "residual_deviance", "deviance", "lift_top_group",
                                     "r2")
        return bool(stop_early([float("nan")] + vals, k, sc["stopping_tolerance"], higher, lower_bounded))

    # ---- results ---------------------------------------------------------------------------
    def _default_sort(self) -> str:
        if not self._models:
            return "logloss"
        r = self._models[0][0].fit_state.resolved
        if r.autoencoder:
            return "mse"
        return "logloss" if r.classification else "residual_deviance"

    def _sort_spec(self, sort_by=None, decreasing=None):
        name = (sort_by or self._sort_by or self._default_sort())
        key = str(name).lower()
        if key not in _SORT_METRICS:
            raise ValueError(f"sort_by must be one of {sorted(_SORT_METRICS)}; got {sort_by!r}")
        accessor, higher = _SORT_METRICS[key]
        if decreasing is None:
            decreasing = self._decreasing if (sort_by is None and self._decreasing is not None) else higher
        return key, accessor, bool(decreasing)

    def _sorted(self, sort_by=None, decreasing=None):
        key, accessor, dec = self._sort_spec(sort_by, decreasing)
        rows = []
        for m, h in self._models:
            v, src = _metric_value(m, accessor)
            rows.append((m, h, v, src))
        nan_last = [r for r in rows if not math.isnan(r[2])]
        nans = [r for r in rows if math.isnan(r[2])]
        nan_last.sort(key=lambda r: r[2], reverse=dec)
        return key, dec, nan_last + nans

    def get_grid(self, sort_by=None, decreasing=None) -> "GridSearch":
        """The grid with its models sorted by ``sort_by`` (default: logloss for classification,
        residual_deviance for regression, mse for autoencoders; validation metrics if present, else
        cross-validation, else training). ``decreasing`` defaults to True for metrics where higher is
        better (auc, aucpr, r2, gini, lift_top_group)."""
        self._require_trained()
        key, dec, rows = self._sorted(sort_by, decreasing)
        g = copy.copy(self)
        g._models = [(m, h) for m, h, _, _ in rows]
        g._failed = list(self._failed)
        g._sort_by, g._decreasing = key, dec
        return g

    def _require_trained(self):
        if not self._trained:
            raise ValueError(f"grid {self.grid_id} is not trained yet; call train() first")

    @property
    def models(self) -> list:
        """The trained models (build order, or sorted order for a grid from :meth:`get_grid`)."""
        return [m for m, _ in self._models]

    @property
    def model_ids(self) -> list:
        return [m.model_id for m, _ in self._models]

    @property
    def hyper_names(self) -> list:
        return list(self.hyper_params)

    def get_hyperparams(self, model_id) -> dict:
        for m, h in self._models:
            if m.model_id == model_id:
                return dict(h)
        raise KeyError(f"no model {model_id!r} in grid {self.grid_id}; models: {self.model_ids}")

    @property
    def failed_params(self) -> list:
        """Hyper-parameter combinations whose model failed to train."""
        return [dict(h) for h, _ in self._failed]

    @property
    def failure_details(self) -> list:
        """The error message of each failed combination (same order as ``failed_params``)."""
        return [msg for _, msg in self._failed]

    def sorted_metric_table(self) -> pd.DataFrame:
        """One row per model, best first: the hyper-parameters, ``model_ids``, the sort metric and
        the metrics' source (valid / xval / train)."""
        self._require_trained()
        key, dec, rows = self._sorted(self._sort_by, self._decreasing)
        data = {n: [_show(h.get(n)) for _, h, _, _ in rows] for n in self.hyper_names}
        data["model_ids"] = [m.model_id for m, _, _, _ in rows]
        data[key] = [v for _, _, v, _ in rows]
        data["metrics_source"] = [s for _, _, _, s in rows]
        return pd.DataFrame(data)

    @property
    def summary_table(self) -> pd.DataFrame:
        return self.sorted_metric_table()

    def __len__(self):
        return len(self._models)

    def __getitem__(self, i):
        return self._models[i][0]

    def __iter__(self):
        return iter(self.models)

    def __repr__(self):
        head = f"GridSearch {self.grid_id}: {len(self._models)} models, {len(self._failed)} failed"
        if not self._trained:
            return head + " (not trained)"
        lines = [head, self.sorted_metric_table().to_string(index=False)]
        if self._failed:
            lines += ["Failed:"] + [f"  {h}: {msg}" for h, msg in self._failed]
        return "\n".join(lines)

    def show(self):
        print(repr(self))


def _show(v):
    return list(v) if isinstance(v, tuple) else v
