"""DeepLearningEstimator: H2O-3's Deep Learning with H2O's Python API, on Dask frames."""
from __future__ import annotations

import copy
import functools
import inspect
import itertools
import logging
import uuid
from typing import Any

import numpy as np
import pandas as pd

from .._client import current_client, releasing_memory
from ..frame.encode import check_scoring_frame, encode_partition
from ..frame.io import persisted_partitions
from ..io.export import export_onnx, export_python
from ..io.zarr_store import save_model
from ..metrics import combine_all, finalize
from ..metrics.custom import StoredReference, resolve_custom_metric
from ..params import FLOAT_MAX, INT_MAX, PARAMETERS, Resolved, for_validation, validate
from ..plot import learning_curve_plot, scoring_history_plot, varimp_plot
from ..train.api import fit, prepare, response_kind
from ..train.cv import CVResult, cross_validate
from ..train.driver import TrainingError
from . import registry
from .network import forward
from .predict import PartialMetricsFn, empty_prediction, predict_frame, reconstruction_error
from .state import FitState, metric_kind, scoring_state

logger = logging.getLogger("daskdl")
_ids = itertools.count(1)


def _is_dask(frame) -> bool:
    import dask.dataframe as dd

    return isinstance(frame, dd.DataFrame)


def _check_frame(frame, name):
    if frame is None:
        return
    if not (isinstance(frame, pd.DataFrame) or _is_dask(frame)):
        raise TypeError(f"{name} must be a pandas or dask DataFrame; got {type(frame).__name__}")


def _told_when_the_client_closes(fn):
    """A Dask client closed (or its cluster shut down) during ``fn`` gives one clear error instead
    of whatever internal step noticed it first."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        client = kwargs.get("client") or current_client()
        try:
            return fn(*args, **kwargs)
        except TrainingError:
            raise
        except Exception as e:
            if client is not None and getattr(client, "status", "running") in ("closing", "closed"):
                raise TrainingError(f"training stopped: the Dask client was closed (or its cluster shut down) "
                                    f"during {fn.__name__}(); start a client and train again "
                                    f"({type(e).__name__}: {e})") from e
            raise

    return wrapper


class _EstimatorBase:
    """Everything of :class:`DeepLearningEstimator` but its generated ``__init__``."""

    algo = "deeplearning"

    def _init_params(self, values: dict) -> None:
        # stored as given (scikit-learn's clone checks that get_params returns the very objects)
        object.__setattr__(self, "_parms", values)
        object.__setattr__(self, "_id", values.get("model_id") or f"DeepLearning_model_python_{next(_ids)}")
        object.__setattr__(self, "_fit_state", None)  # FitState once trained
        object.__setattr__(self, "_cv", None)  # CVResult of nfolds / fold_column
        object.__setattr__(self, "_custom", None)  # the custom metric object (code, not saved)

    @classmethod
    def from_fit_state(cls, fs: FitState, custom_metric=None, cv: CVResult | None = None):
        """A trained estimator holding ``fs`` (a loaded model, a cross-validation fold model)."""
        model = cls.__new__(cls)
        object.__setattr__(model, "_parms", dict(fs.params))
        object.__setattr__(model, "_id", fs.model_id)
        object.__setattr__(model, "_fit_state", fs)
        object.__setattr__(model, "_cv", cv)
        object.__setattr__(model, "_custom", custom_metric)
        ref = getattr(fs.resolved, "custom_metric", None)
        if ref:
            model._parms["custom_metric_func"] = custom_metric if custom_metric is not None else StoredReference(ref)
        return model

    @property
    def fit_state(self) -> FitState | None:
        """What the trained model is (:class:`daskdl.model.state.FitState`); None before training."""
        return self.__dict__.get("_fit_state")

    # ---- parameters ----------------------------------------------------------------------
    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in PARAMETERS:
            return self.__dict__.get("_parms", {}).get(name, copy.deepcopy(_class_defaults(type(self))[name]))
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in PARAMETERS:
            self._parms[name] = value
        else:
            object.__setattr__(self, name, value)

    @property
    def model_id(self) -> str:
        """The model's key (``model_id`` when given, else a generated one)."""
        return self._id

    @property
    def params(self) -> dict:
        """``{name: {"default": ..., "actual": ..., "input": ...}}`` as H2O's ``model.params``."""
        actual = self._actual_params() if self.fit_state is not None else {}
        inputs = self._all_params()
        out = {}
        for k, d in _class_defaults(type(self)).items():
            inp = inputs[k]
            out[k] = {"default": copy.deepcopy(d), "actual": actual.get(k, inp), "input": inp}
        return out

    @property
    def actual_params(self) -> dict:
        """The values training used (after H2O's automatic adjustments) for every parameter."""
        return {k: v["actual"] for k, v in self.params.items()}

    def get_params(self, deep: bool = True) -> dict:
        """The 91 parameters as scikit-learn's ``get_params``: ``{name: value}`` in H2O's order,
        values as given (not copied). With ``deep=True`` a parameter that is itself an estimator
        (``checkpoint``, ``pretrained_autoencoder``) adds its own parameters as ``name__param``."""
        defaults = _class_defaults(type(self))
        parms = self.__dict__.get("_parms", {})
        out = {}
        for k, d in defaults.items():
            v = parms[k] if k in parms else d
            out[k] = v
            if deep and hasattr(v, "get_params") and not isinstance(v, type):
                out.update((f"{k}__{kk}", vv) for kk, vv in v.get_params(deep=True).items())
        return out

    def set_params(self, **params) -> "_EstimatorBase":
        """Set parameters as scikit-learn's ``set_params`` (``name=value``, or ``name__param=value``
        for a parameter that is an estimator); returns ``self``."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in PARAMETERS:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. Valid parameters "
                                 f"are H2O's {len(PARAMETERS)} Deep Learning parameters: {sorted(PARAMETERS)!r}.")
            if delim:
                if not hasattr(valid[name], "set_params"):
                    raise ValueError(f"Invalid parameter {key!r}: {name} is not an estimator")
                nested.setdefault(name, {})[sub] = value
            else:
                self._parms[name] = value
                if name == "model_id" and value:
                    object.__setattr__(self, "_id", value)
        for name, sub in nested.items():
            valid[name].set_params(**sub)
        return self

    def _all_params(self) -> dict:
        """A private copy of every parameter's value (the class defaults where not given)."""
        p = {k: copy.deepcopy(v) for k, v in _class_defaults(type(self)).items()}
        p.update(self.__dict__.get("_parms", {}))
        return p

    def _actual_params(self) -> dict:
        r: Resolved = self.fit_state.resolved
        a = self._all_params()
        for k in list(a):
            if hasattr(r, k):
                v = getattr(r, k)
                a[k] = list(v) if isinstance(v, tuple) else v
        a["model_id"] = self._id
        a["response_column"] = self.fit_state.schema.response
        a["activation"] = self._activation_name(r)
        return a

    @staticmethod
    def _activation_name(r: Resolved) -> str:
        base = {"tanh": "Tanh", "rectifier": "Rectifier", "maxout": "Maxout"}[r.activation]
        return base + ("WithDropout" if r.dropout else "")

    # ---- training ------------------------------------------------------------------------
    @_told_when_the_client_closes
    def train(self, x=None, y=None, training_frame=None, validation_frame=None, offset_column=None,
              weights_column=None, fold_column=None, ignored_columns=None, model_id=None, verbose=False,
              max_runtime_secs=None, out_of_core=None, client=None, workers=None):
        """Train on ``training_frame`` (dask or pandas DataFrame); returns ``self``.

        ``client`` (daskdl only): the ``distributed.Client`` to train on; None uses the current
        client, or trains in this process when there is none (as xgboost.dask / lightgbm.dask);
        False trains in this process. ``workers`` (daskdl only): the addresses of the workers to
        train on (None: all of the client's; a set that has left the cluster falls back to all).
        ``verbose=True`` logs a line per scoring event on the ``"daskdl"`` logger.

        ``out_of_core`` (daskdl only): ``True`` streams each worker's partitions through the
        kernels one at a time instead of keeping the encoded data in worker memory
        (local-only mode); ``None`` decides from the workers' memory limits.
        """
        if client is None:
            client = current_client()
        client = client or None  # False: train in this process
        parms = self._all_params()
        for k, v in (("offset_column", offset_column), ("weights_column", weights_column),
                     ("fold_column", fold_column), ("ignored_columns", ignored_columns),
                     ("model_id", model_id), ("max_runtime_secs", max_runtime_secs)):
            if v is not None:
                parms[k] = v
        if model_id:
            self._id = model_id
        if training_frame is None:
            training_frame = parms.get("training_frame")
        if validation_frame is None:
            validation_frame = parms.get("validation_frame")
        if training_frame is None:
            raise ValueError("training_frame is required: pass a dask or pandas DataFrame")
        _check_frame(training_frame, "training_frame")
        _check_frame(validation_frame, "validation_frame")
        check_held(training_frame, "training_frame")
        check_held(validation_frame, "validation_frame")
        autoencoder = bool(parms.get("autoencoder"))
        if y is None and not autoencoder:
            y = parms.get("response_column")
        if y is not None and not isinstance(y, str):
            if isinstance(y, int) and not isinstance(y, bool):
                y = str(training_frame.columns[y])
            else:
                raise TypeError(f"y must be a column name; got {type(y).__name__}")
        if autoencoder and y is not None:
            raise ValueError("autoencoder=True trains without a response; do not pass y "
                             f"(got y={y!r}); it is ignored by H2O as well, pass it as an ignored column")
        if not autoencoder and y is None:
            raise ValueError("y (the response column) is required for supervised training; pass y=<column name> "
                             "or autoencoder=True")
        columns = [str(c) for c in training_frame.columns]
        if y is not None and y not in columns:
            raise ValueError(f"response column {y!r} is not a column of training_frame; available columns: "
                             f"{columns}")
        if isinstance(x, str):
            x = [x]
        if x is not None:
            x = [str(training_frame.columns[c]) if isinstance(c, int) and not isinstance(c, bool) else c for c in x]
            missing = [c for c in x if c not in columns]
            if missing:
                raise ValueError(f"predictor column(s) {missing} are not columns of training_frame; available "
                                 f"columns: {columns}")
            if y is not None and y in x:
                x = [c for c in x if c != y]
        parms["response_column"] = y
        fold_column = parms.get("fold_column")
        if fold_column is not None:
            if fold_column not in columns:
                raise ValueError(f"fold_column {fold_column!r} is not a column of training_frame; available "
                                 f"columns: {columns}")
            if x is not None:
                x = [c for c in x if c != fold_column]
        with releasing_memory(client):  # small workers: memory freed after a partition goes back
            frames = (training_frame, validation_frame)
            kw = dict(x=x, y=y, model_id=self._id, estimator=type(self).__name__, out_of_core=out_of_core,
                      verbose=verbose, workers=workers)
            cv = None
            if parms.get("checkpoint") is not None:
                fs = fit(client, frames, parms, **kw)
                self._parms["checkpoint"] = fs.params["checkpoint"]
            else:
                # parameter checks that need no data (everything is reported at once); the rest once the
                # schema is known
                rk = None if autoencoder else response_kind(training_frame, y)
                validate(for_validation(parms), response_kind=rk, n_classes=None,
                         has_validation=validation_frame is not None)
                prepared = prepare(training_frame, parms, x=x, y=y, has_validation=validation_frame is not None)
                overrides = None
                nfolds = int(parms.get("nfolds") or 0)
                if nfolds >= 2 or fold_column is not None:
                    schema = prepared.schema
                    cv = cross_validate(client, training_frame, parms, x, y, nfolds=nfolds, seed=prepared.resolved.seed,
                                        classes=schema.classes if schema.classification else None, main_id=self._id,
                                        workers=workers, out_of_core=out_of_core, verbose=verbose)
                    # main model (spec 9.4): no best-model overwrite; with early stopping or a time limit,
                    # the mean number of epochs of the fold models and no early stopping
                    overrides = {"overwrite_with_best_model": False}
                    r = prepared.resolved
                    if r.stopping_rounds > 0 or r.max_runtime_secs > 0:
                        overrides.update(stopping_rounds=0, epochs=cv.main_epochs)
                fs = fit(client, frames, parms, prepared=prepared, overrides=overrides, **kw)
        object.__setattr__(self, "_fit_state", fs)
        object.__setattr__(self, "_cv", cv)
        object.__setattr__(self, "_custom", _custom_metric_of(parms, fs.resolved))
        registry.register(self)
        return self

    # ---- internals for scoring -------------------------------------------------------------
    def _custom_metric(self):
        """The fit's custom metric object (None without one, or for a loaded model whose metric was
        not given again)."""
        return self.__dict__.get("_custom")

    def _require_fit(self) -> FitState:
        fs = self.fit_state
        if fs is None:
            raise ValueError(f"model {self._id} is not trained yet; call train() first")
        return fs

    def _state(self) -> dict:
        return scoring_state(self._require_fit())

    def _map(self, frame, fn, meta_fn):
        """Apply ``fn(pdf, state)`` per partition; lazy for dask frames, eager for pandas."""
        state = self._state()
        _check_frame(frame, "frame")
        check_held(frame, "frame")
        check_scoring_frame(frame, state["schema"], "the scoring frame")
        if isinstance(frame, pd.DataFrame):
            return fn(frame, state)
        meta = meta_fn(state, frame._meta.index)
        shared = self._shared_state(state)
        held = persisted_partitions(frame)
        if held is not None:  # a persisted frame: score its partitions where they are held
            import dask
            import dask.dataframe as dd

            # one task per partition (the output has no text columns to convert to string dtypes)
            with dask.config.set({"dataframe.convert-string": False}):
                return dd.from_map(fn, held, args=[shared], meta=meta, divisions=frame.divisions,
                                   enforce_metadata=False, label=getattr(fn, "__name__", "score"))
        return frame.map_partitions(fn, shared, meta=meta, align_dataframes=False)

    def _shared_state(self, state):
        """The scoring state as one graph object: a future scattered once to every worker when a
        client exists (it is not re-sent with every computation), else a delayed value."""
        import dask

        client = current_client()
        if client is None:
            return dask.delayed(state, pure=True)
        key = (id(client), id(self.fit_state.net), state["threshold"])
        cached = self.__dict__.get("_state_cache")
        if cached is not None and cached[0] == key and cached[1].status == "finished":
            return cached[1]
        # a task result rather than scattered data: the scheduler can recompute it when a worker
        # leaves, and a cluster shut down while the model is alive logs no lost-data error
        fut = client.submit(_identity, state, pure=False, key=f"daskdl-scoring-state-{uuid.uuid4().hex}")
        object.__setattr__(self, "_state_cache", (key, fut))
        return fut

    # ---- prediction ------------------------------------------------------------------------
    def predict(self, test_data):
        """Predictions aligned with ``test_data``: ``predict`` plus one probability column per class
        (classification), ``predict`` (regression) or ``reconstr_<feature>`` (autoencoder).
        Dask in gives a lazy dask DataFrame; pandas in gives pandas."""
        return self._map(test_data, predict_frame, empty_prediction)

    def anomaly(self, test_data, per_feature=False):
        """Reconstruction error per row (``Reconstruction.MSE``) or per expanded feature
        (``reconstr_<feature>.SE``) of an autoencoder."""
        fs = self._require_fit()
        if not fs.resolved.autoencoder:
            raise ValueError("anomaly() needs an autoencoder model (train with autoencoder=True)")
        cols = ([f"reconstr_{c}.SE" for c in fs.schema.coef_names] if per_feature
                else ["Reconstruction.MSE"])
        return self._map(test_data, _AnomalyFn(per_feature, cols),
                         lambda st, idx: pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols},
                                                      index=idx[:0]))

    def deepfeatures(self, test_data, layer):
        """Test-time activations of hidden layer ``layer`` (0-based), columns ``DF.L<layer+1>.C<j>``."""
        r: Resolved = self._require_fit().resolved
        if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool) or not 0 <= layer < len(r.hidden):
            raise ValueError(f"layer must be an integer in [0, {len(r.hidden) - 1}] (the model has "
                             f"{len(r.hidden)} hidden layers); got {layer!r}")
        cols = [f"DF.L{layer + 1}.C{j + 1}" for j in range(r.hidden[layer])]
        return self._map(test_data, _DeepFeaturesFn(int(layer), cols),
                         lambda st, idx: pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols},
                                                      index=idx[:0]))

    # ---- metrics ---------------------------------------------------------------------------
    def model_performance(self, test_data=None, train=False, valid=False, xval=False):
        """Metrics on ``test_data`` (computed per partition and combined), or the stored
        training / validation metrics."""
        fs = self._require_fit()
        if test_data is not None:
            m = self._performance_on(test_data)
        elif xval:
            m = None if self._cv is None else self._cv.metrics
        elif valid:
            m = fs.valid_metrics
        else:
            m = fs.train_metrics
        if m is not None:  # printing limit of the confusion matrix (H2O's max_confusion_matrix_size)
            m.max_confusion_matrix_size = int(getattr(fs.resolved, "max_confusion_matrix_size", 20))
        return m

    def _performance_on(self, frame):
        state = self._state()
        _check_frame(frame, "test_data")
        check_scoring_frame(frame, state["schema"], "test_data", response=True)
        fs = self.fit_state
        kind = metric_kind(fs.resolved)
        fn = PartialMetricsFn(kind, fs.resolved, self._custom_metric())
        if isinstance(frame, pd.DataFrame):
            parts = [fn(frame, state)]
        else:
            _check_frame(frame, "test_data")
            import dask

            dstate = self._shared_state(state)
            held = persisted_partitions(frame)
            parts = dask.compute(*[dask.delayed(fn)(p, dstate) for p in (held or frame.to_delayed())])
        total = combine_all(parts)
        return finalize(kind, total, classes=fs.schema.classes,
                        description="Metrics reported on test data")

    def _metric(self, name, train, valid, xval):
        res = self._require_fit()
        picks = []
        if train:
            picks.append(("train", res.train_metrics))
        if valid:
            picks.append(("valid", res.valid_metrics))
        if xval:
            picks.append(("xval", None if self._cv is None else self._cv.metrics))
        if not picks:
            picks = [("train", res.train_metrics)]
        vals = {}
        for k, m in picks:
            if m is None:
                vals[k] = None
                continue
            f = getattr(m, name, None)
            vals[k] = f() if callable(f) else None
        return vals[picks[0][0]] if len(vals) == 1 else vals

    def mse(self, train=False, valid=False, xval=False):
        """Mean squared error: on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("mse", train, valid, xval)

    def rmse(self, train=False, valid=False, xval=False):
        """Root mean squared error: on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("rmse", train, valid, xval)

    def mae(self, train=False, valid=False, xval=False):
        """Mean absolute error (regression): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("mae", train, valid, xval)

    def rmsle(self, train=False, valid=False, xval=False):
        """Root mean squared logarithmic error (regression): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("rmsle", train, valid, xval)

    def logloss(self, train=False, valid=False, xval=False):
        """Log loss (classification): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("logloss", train, valid, xval)

    def auc(self, train=False, valid=False, xval=False):
        """Area under the ROC curve (binomial; multinomial when ``auc_type`` asks for it): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("auc", train, valid, xval)

    def aucpr(self, train=False, valid=False, xval=False):
        """Area under the precision-recall curve (binomial; multinomial when ``auc_type`` asks for it): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("aucpr", train, valid, xval)

    pr_auc = aucpr

    def gini(self, train=False, valid=False, xval=False):
        """Gini coefficient, 2 AUC - 1 (binomial): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("gini", train, valid, xval)

    def r2(self, train=False, valid=False, xval=False):
        """R squared: on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("r2", train, valid, xval)

    def mean_residual_deviance(self, train=False, valid=False, xval=False):
        """Mean residual deviance of the model's distribution (regression): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("mean_residual_deviance", train, valid, xval)

    def mean_per_class_error(self, train=False, valid=False, xval=False):
        """Mean of the per-class error rates (classification): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("mean_per_class_error", train, valid, xval)

    def classification_error(self, train=False, valid=False, xval=False):
        """Fraction of misclassified rows (classification): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("classification_error", train, valid, xval)

    def confusion_matrix(self, train=False, valid=False, xval=False):
        """Confusion matrix (classification; binomial at the max-F1 threshold) as a pandas DataFrame: on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("confusion_matrix", train, valid, xval)

    def hit_ratio_table(self, train=False, valid=False, xval=False):
        """Top-k hit ratios (multinomial): on the training metrics by default; ``valid=True`` / ``xval=True`` for the validation /
        cross-validation metrics (several flags give a dict)."""
        return self._metric("hit_ratio_table", train, valid, xval)

    # ---- cross-validation ------------------------------------------------------------------
    def _cross_validation(self) -> CVResult | None:
        self._require_fit()
        return self._cv

    def cross_validation_models(self):
        """The fold models (``keep_cross_validation_models=True``, the default), else None."""
        cv = self._cross_validation()
        if cv is None or cv.models is None:
            return None
        models = self.__dict__.get("_fold_models")
        if models is None:  # estimators over the folds' FitStates, made once
            models = [DeepLearningEstimator.from_fit_state(fs, custom_metric=self._custom_metric())
                      for fs in cv.models]
            for m in models:
                registry.register(m)
            object.__setattr__(self, "_fold_models", models)
        return list(models)

    def cross_validation_predictions(self):
        """One frame per fold model, aligned with the training frame: the fold model's predictions
        on its holdout rows, 0 (missing for the label column) elsewhere. Needs
        ``keep_cross_validation_predictions=True``; else None."""
        cv = self._cross_validation()
        return None if cv is None or not cv.keep_predictions else cv.predictions()

    def cross_validation_holdout_predictions(self):
        """Every training row predicted by the fold model that did not see it (one frame aligned
        with the training frame). Needs ``keep_cross_validation_predictions=True``; else None."""
        cv = self._cross_validation()
        return None if cv is None or not cv.keep_predictions else cv.holdout_predictions()

    def cross_validation_fold_assignment(self):
        """The fold (0-based) of every training row, column ``fold_assignment``. Needs
        ``keep_cross_validation_fold_assignment=True``; else None."""
        cv = self._cross_validation()
        return None if cv is None or not cv.keep_fold_assignment else cv.fold_assignment()

    def cross_validation_metrics_summary(self):
        """Per metric: mean, sd and the value on each holdout fold (``cv_<k>_valid``), as H2O."""
        cv = self._cross_validation()
        return None if cv is None else cv.summary.copy()

    # ---- model output ----------------------------------------------------------------------
    def scoring_history(self) -> pd.DataFrame:
        """One row per scoring event: time, speed, epochs, iterations, samples and the training /
        validation metrics (H2O's table)."""
        return self._require_fit().history.frame()

    def varimp(self, use_pandas=False):
        """Gedeon variable importances per expanded feature (H2O's table)."""
        vi = self._require_fit().varimp
        if vi is None:
            return None
        if use_pandas:
            return vi.reset_index(drop=True)
        return [tuple(r) for r in vi[["variable", "relative_importance", "scaled_importance",
                                      "percentage"]].itertuples(index=False, name=None)]

    def summary(self) -> pd.DataFrame:
        """H2O's "Status of Neuron Layers" table."""
        fs = self._require_fit()
        r: Resolved = fs.resolved
        net = fs.net
        lay = net.layout
        rows = [{"layer": 1, "units": int(lay.units[0]), "type": "Input",
                 "dropout": 100.0 * r.input_dropout_ratio, "l1": np.nan, "l2": np.nan, "mean_rate": np.nan,
                 "rate_rms": np.nan, "momentum": np.nan, "mean_weight": np.nan, "weight_rms": np.nan,
                 "mean_bias": np.nan, "bias_rms": np.nan}]
        hidden_type = {"tanh": "Tanh", "rectifier": "Rectifier", "maxout": "Maxout"}[r.activation]
        if r.dropout:
            hidden_type += "Dropout"
        for l in range(1, lay.n_layers + 1):
            w = net.weight(l).astype(np.float64)
            b = net.bias(l).astype(np.float64)
            is_out = l == lay.n_layers
            if is_out:
                typ = hidden_type.replace("Dropout", "") if r.autoencoder else (
                    "Softmax" if r.classification else "Linear")
            else:
                typ = hidden_type
            if r.adaptive_rate and net.Aw.shape[0] == net.W.shape[0]:
                sl = slice(int(lay.woff[l - 1]), int(lay.woff[l]))
                rate = np.sqrt((net.Aw[sl].astype(np.float64) + r.epsilon) / (net.Bw[sl].astype(np.float64)
                                                                               + r.epsilon))
                mean_rate, rate_rms = float(rate.mean()), float(np.sqrt((rate ** 2).mean()))
            else:
                mean_rate = rate_rms = float(r.rate * r.rate_decay ** (l - 1))
            rows.append({"layer": l + 1, "units": int(lay.units[l]), "type": typ,
                         "dropout": 0.0 if is_out else 100.0 * (r.hidden_dropout_ratios[l - 1] if r.dropout else 0),
                         "l1": r.l1, "l2": r.l2, "mean_rate": mean_rate, "rate_rms": rate_rms,
                         "momentum": r.momentum_start, "mean_weight": float(w.mean()),
                         "weight_rms": float(np.sqrt((w ** 2).mean())), "mean_bias": float(b.mean()),
                         "bias_rms": float(np.sqrt((b ** 2).mean()))})
        return pd.DataFrame(rows)

    def weights(self, matrix_id=0):
        """Weight matrix ``matrix_id`` (0 = input to first hidden) as a pandas DataFrame
        (rows = units of the next layer, columns = units of this layer)."""
        fs = self._require_fit()
        net = fs.net
        L = net.layout.n_layers
        if not isinstance(matrix_id, (int, np.integer)) or not 0 <= matrix_id < L:
            raise ValueError(f"matrix_id must be in [0, {L - 1}]; got {matrix_id!r}")
        w = net.weight(matrix_id + 1)
        cols = fs.schema.coef_names if matrix_id == 0 else [f"C{i + 1}" for i in range(w.shape[1])]
        return pd.DataFrame(w.astype(np.float64), columns=cols)

    def biases(self, vector_id=0):
        """Bias vector ``vector_id`` (0 = first hidden layer) as a one-column pandas DataFrame."""
        net = self._require_fit().net
        L = net.layout.n_layers
        if not isinstance(vector_id, (int, np.integer)) or not 0 <= vector_id < L:
            raise ValueError(f"vector_id must be in [0, {L - 1}]; got {vector_id!r}")
        return pd.DataFrame({"C1": net.bias(vector_id + 1).astype(np.float64)})

    def __repr__(self):
        res = self.fit_state
        if res is None:
            return f"{type(self).__name__}(model_id={self._id!r}, not trained)"
        r: Resolved = res.resolved
        schema = res.schema
        lay = res.layout
        n_params = lay.n_weights + lay.n_biases
        if r.autoencoder:
            what = "auto-encoder"
        elif r.classification:
            what = f"{r.n_classes}-class classification"
        else:
            what = "regression"
        lines = ["Model Details", "=============", f"{type(self).__name__} : Deep Learning",
                 f"Model Key: {self._id}", "",
                 f"Status of Neuron Layers: predicting {schema.response}, {what}, {r.distribution} distribution, "
                 f"{r.loss} loss, {n_params:,} weights/biases, {n_params * 4 / 1024:.1f} KB, "
                 f"{res.samples:,.0f} training samples, mini-batch size {r.mini_batch_size}",
                 self.summary().to_string(index=False), ""]
        cv = self._cv
        for title, m in (("ModelMetrics on training data", res.train_metrics),
                         ("ModelMetrics on validation data", res.valid_metrics),
                         ("ModelMetrics on cross-validation data", cv.metrics if cv is not None else None)):
            if m is not None:
                m.max_confusion_matrix_size = int(getattr(r, "max_confusion_matrix_size", 20))
                lines += [repr(m), ""]
        lines += ["Scoring History:", self.scoring_history().tail(10).to_string(index=False)]
        vi = res.varimp
        if vi is not None:
            lines += ["", "Variable Importances:", vi.head(10).to_string(index=False)]
        return "\n".join(lines)

    def show(self):
        """Print the model's summary, metrics, scoring history and variable importances."""
        print(repr(self))

    # ---- plots (matplotlib) -------------------------------------------------------------------
    def plot(self, timestep="AUTO", metric="AUTO", server=False, save_plot_path=None):
        """H2O's scoring-history plot: ``metric`` (AUTO: logloss / deviance / MSE) for training and
        validation against ``timestep`` (AUTO: epochs). Returns the matplotlib Figure.
        ``server`` is accepted for H2O compatibility (figures never block)."""
        self._require_fit()
        return scoring_history_plot(self, timestep=timestep, metric=metric, save_plot_path=save_plot_path)

    def learning_curve_plot(self, metric="AUTO", cv_ribbon=None, cv_lines=None, figsize=(10, 6), colormap=None,
                            save_plot_path=None):
        """H2O's learning curve: training, validation and cross-validation curves of ``metric``
        against epochs. Returns the matplotlib Figure."""
        self._require_fit()
        return learning_curve_plot(self, metric=metric, cv_ribbon=cv_ribbon, cv_lines=cv_lines, figsize=figsize,
                                   colormap=colormap, save_plot_path=save_plot_path)

    def varimp_plot(self, num_of_features=None, server=False, save_plot_path=None):
        """H2O's variable importance bar chart (the ``num_of_features`` most important, 10 by
        default). Returns the matplotlib Figure."""
        self._require_fit()
        return varimp_plot(self, num_of_features=num_of_features, save_plot_path=save_plot_path)

    # ---- export ----------------------------------------------------------------------------
    def export_python(self, path):
        """Write a standalone scoring module (numpy only) plus its weights; returns the .py path."""
        return export_python(self._require_fit(), path)

    def export_onnx(self, path, opset=17):
        """Write the network as an ONNX graph over the expanded input (``daskdl.io.onnx_input``)."""
        return export_onnx(self._require_fit(), path, opset=opset)

    def save(self, path=None, force=False):
        """Save the trained model as ``<path or cwd>/<model_id>`` (a Zarr store); returns the path
        (see :func:`daskdl.save_model`)."""
        return save_model(self._require_fit(), path=path, force=force)


# ---- generated by `python -m daskdl._codegen` from daskdl.params.PARAMS: do not edit by hand ----
class DeepLearningEstimator(_EstimatorBase):
    """Feed-forward neural network trained like H2O-3's Deep Learning.

    Every H2O-3 Deep Learning parameter is a keyword with H2O's default (the table
    ``daskdl.params.PARAMS``); the constructor only stores them and :meth:`train`
    validates them all at once, reporting every problem together. Frames are dask or
    pandas DataFrames. ``get_params`` / ``set_params`` follow scikit-learn; for
    scikit-learn's ``fit`` / ``predict`` API see :class:`daskdl.DeepLearningClassifier`
    and :class:`daskdl.DeepLearningRegressor`.

    Parameters
    ----------
    model_id : str | None, default None
        Model identifier.
    training_frame : Any, default None
        Training data: a dask or pandas DataFrame.
    validation_frame : Any, default None
        Validation data (a dask or pandas DataFrame), scored during training.
    nfolds : int, default 0
        Number of folds for K-fold cross-validation (0 to disable or >= 2).
    keep_cross_validation_models : bool, default True
        Whether to keep the cross-validation models.
    keep_cross_validation_predictions : bool, default False
        Whether to keep the predictions of the cross-validation models.
    keep_cross_validation_fold_assignment : bool, default False
        Whether to keep the cross-validation fold assignment.
    fold_assignment : {'auto', 'random', 'modulo', 'stratified'}, default 'auto'
        Cross-validation fold assignment scheme if fold_column is not given (Stratified for
        classification).
    fold_column : str | None, default None
        Column with cross-validation fold index assignment per observation.
    response_column : str | None, default None
        Response variable column.
    ignored_columns : list[str] | None, default None
        Names of columns to ignore for training.
    ignore_const_cols : bool, default True
        Ignore constant columns.
    score_each_iteration : bool, default False
        Whether to score during each iteration of model training.
    weights_column : str | None, default None
        Column with observation weights (0 excludes a row; 2 counts it twice).
    offset_column : str | None, default None
        Offset column, added to the combination of columns before the link function (regression only).
    balance_classes : bool, default False
        Balance training data class counts via over/under-sampling (for imbalanced data).
    class_sampling_factors : list[float] | None, default None
        Desired over/under-sampling ratios per class (in lexicographic order); requires balance_classes.
    max_after_balance_size : float, default 5.0
        Maximum relative size of the training data after balancing class counts (can be less than 1.0).
        Requires balance_classes.
    max_confusion_matrix_size : int, default 20
        [Deprecated] Maximum number of classes for confusion matrices to be printed.
    checkpoint : Any, default None
        Model checkpoint to resume training with (a model, a model_id or a saved model path).
    pretrained_autoencoder : Any, default None
        Pretrained autoencoder model (or model_id) to initialize this model with.
    overwrite_with_best_model : bool, default True
        If enabled, override the final model with the best model found during training.
    use_all_factor_levels : bool, default True
        Use all factor levels of categorical variables (else the first level is dropped); forced on for
        autoencoders.
    standardize : bool, default True
        Automatically standardize the data (else the user must provide properly scaled inputs).
    activation : {'tanh', 'tanh_with_dropout', 'rectifier', 'rectifier_with_dropout', 'maxout', 'maxout_with_dropout'}, default 'rectifier'
        Activation function.
    hidden : list[int], default [200, 200]
        Hidden layer sizes (e.g. [100, 100]).
    epochs : float, default 10.0
        How many times the dataset should be iterated (streamed), can be fractional.
    train_samples_per_iteration : int, default -2
        Training samples (globally) per iteration: 0 one epoch, -1 all available data, -2 automatic.
    target_ratio_comm_to_comp : float, default 0.05
        Target ratio of communication overhead to computation (train_samples_per_iteration=-2 auto-
        tuning).
    seed : int, default -1
        Seed for random numbers (-1: random); reproducible only with reproducible=True.
    adaptive_rate : bool, default True
        Adaptive learning rate.
    rho : float, default 0.99
        Adaptive learning rate time decay factor (similarity to prior updates).
    epsilon : float, default 1e-08
        Adaptive learning rate smoothing factor (to avoid divisions by zero and allow progress).
    rate : float, default 0.005
        Learning rate (higher => less stable, lower => slower convergence).
    rate_annealing : float, default 1e-06
        Learning rate annealing: rate / (1 + rate_annealing * samples).
    rate_decay : float, default 1.0
        Learning rate decay factor between layers (N-th layer: rate * rate_decay ^ (n - 1)).
    momentum_start : float, default 0.0
        Initial momentum at the beginning of training (try 0.5).
    momentum_ramp : float, default 1000000.0
        Number of training samples for which momentum increases.
    momentum_stable : float, default 0.0
        Final momentum after the ramp is over (try 0.99).
    nesterov_accelerated_gradient : bool, default True
        Use Nesterov accelerated gradient (recommended).
    input_dropout_ratio : float, default 0.0
        Input layer dropout ratio (can improve generalization, try 0.1 or 0.2).
    hidden_dropout_ratios : list[float] | None, default None
        Hidden layer dropout ratios, one per hidden layer (default 0.5 for the activations with
        dropout).
    l1 : float, default 0.0
        L1 regularization (can add stability and improve generalization, causes many weights to become
        0).
    l2 : float, default 0.0
        L2 regularization (can add stability and improve generalization, causes many weights to be
        small).
    max_w2 : float, default 3.4028235e38 (Java's Float.MAX_VALUE)
        Constraint for squared sum of incoming weights per unit (e.g. for Rectifier).
    initial_weight_distribution : {'uniform_adaptive', 'uniform', 'normal'}, default 'uniform_adaptive'
        Initial weight distribution.
    initial_weight_scale : float, default 1.0
        Uniform: -value...value, Normal: stddev.
    initial_weights : Any, default None
        Weight matrices to initialize the network with (one per layer: arrays or DataFrames).
    initial_biases : Any, default None
        Bias vectors to initialize the network with (one per layer: arrays or DataFrames).
    loss : {'automatic', 'cross_entropy', 'quadratic', 'huber', 'absolute', 'quantile'}, default 'automatic'
        Loss function.
    distribution : {'auto', 'bernoulli', 'multinomial', 'gaussian', 'poisson', 'gamma', 'tweedie', 'laplace', 'quantile', 'huber'}, default 'auto'
        Distribution function.
    quantile_alpha : float, default 0.5
        Desired quantile for Quantile regression, must be between 0 and 1.
    tweedie_power : float, default 1.5
        Tweedie power for Tweedie regression, must be between 1 and 2.
    huber_alpha : float, default 0.9
        Desired quantile for Huber/M-regression (threshold between quadratic and linear loss, in [0,
        1]).
    score_interval : float, default 5.0
        Shortest time interval (in seconds) between model scoring.
    score_training_samples : int, default 10000
        Number of training set samples for scoring (0 for all).
    score_validation_samples : int, default 0
        Number of validation set samples for scoring (0 for all).
    score_duty_cycle : float, default 0.1
        Maximum duty cycle fraction for scoring (lower: more training, higher: more scoring).
    classification_stop : float, default 0.0
        Stopping criterion for classification error fraction on training data (-1 to disable).
    regression_stop : float, default 1e-06
        Stopping criterion for regression error (MSE) on training data (-1 to disable).
    stopping_rounds : int, default 5
        Stop if the moving average of length k of stopping_metric does not improve for k scoring events
        (0 to disable).
    stopping_metric : {'auto', 'deviance', 'logloss', 'mse', 'rmse', 'mae', 'rmsle', 'auc', 'aucpr', 'lift_top_group', 'misclassification', 'mean_per_class_error', 'custom', 'custom_increasing'}, default 'auto'
        Metric to use for early stopping (AUTO: logloss for classification, deviance for regression).
    stopping_tolerance : float, default 0.0
        Relative tolerance for metric-based stopping (stop if the relative improvement is below this).
    max_runtime_secs : float, default 0.0
        Maximum allowed runtime in seconds for model training. Use 0 to disable.
    score_validation_sampling : {'uniform', 'stratified'}, default 'uniform'
        Method used to sample validation dataset for scoring.
    diagnostics : bool, default True
        Enable diagnostics for hidden layers.
    fast_mode : bool, default True
        Enable fast mode (minor approximation in back-propagation).
    force_load_balance : bool, default True
        Force extra load balancing to increase training speed for small datasets (to keep all cores
        busy).
    variable_importances : bool, default True
        Compute variable importances for input features (Gedeon method) - can be slow for large
        networks.
    replicate_training_data : bool, default True
        Replicate the entire training dataset onto every node for faster training on small datasets.
    single_node_mode : bool, default False
        Run on a single node for fine-tuning of model parameters.
    shuffle_training_data : bool, default False
        Enable shuffling of training data (recommended with replicated data or balance_classes).
    missing_values_handling : {'mean_imputation', 'skip'}, default 'mean_imputation'
        Handling of missing values. Either MeanImputation or Skip.
    quiet_mode : bool, default False
        Enable quiet mode for less output during training.
    autoencoder : bool, default False
        Train an auto-encoder (no response).
    sparse : bool, default False
        Sparse data handling (more efficient for data with lots of 0 values).
    col_major : bool, default False
        Deprecated: a column-major input weight matrix (True is an error).
    average_activation : float, default 0.0
        Average activation for sparse auto-encoder (experimental).
    sparsity_beta : float, default 0.0
        Sparsity regularization (experimental).
    max_categorical_features : int, default 2147483647
        Max. number of categorical features, enforced via hashing (experimental).
    reproducible : bool, default False
        Force reproducibility on small data (will be slow - only uses 1 thread).
    export_weights_and_biases : bool, default False
        Keep the network's weights and biases available as frames (model.weights(), model.biases()).
    mini_batch_size : int, default 1
        Mini-batch size (smaller leads to better fit, larger can speed up and generalize better).
    categorical_encoding : {'auto', 'enum', 'one_hot_internal', 'one_hot_explicit', 'binary', 'eigen', 'label_encoder', 'sort_by_response', 'enum_limited'}, default 'auto'
        Encoding scheme for categorical features.
    elastic_averaging : bool, default False
        Elastic averaging between compute nodes can improve distributed model convergence
        (experimental).
    elastic_averaging_moving_rate : float, default 0.9
        Elastic averaging moving rate (only if elastic averaging is enabled).
    elastic_averaging_regularization : float, default 0.001
        Elastic averaging regularization strength (only if elastic averaging is enabled).
    export_checkpoints_dir : str | None, default None
        Automatically export generated models to this directory.
    auc_type : {'auto', 'none', 'macro_ovr', 'weighted_ovr', 'macro_ovo', 'weighted_ovo'}, default 'auto'
        Set default multinomial AUC type.
    custom_metric_func : Any, default None
        Custom evaluation metric: H2O's map/reduce/metric class or its reference
        (daskdl.upload_custom_metric).
    gainslift_bins : int, default -1
        Gains/lift table number of bins (0 disables, -1 automatic binning).
    model_averaging : {'block_momentum', 'average'}, default 'block_momentum'
        daskdl only: how the workers' models are combined each iteration: 'block_momentum' (block
        momentum over their average, the default) or 'average' (H2O's plain average).

    Enum values are also accepted in H2O's Java spelling (``"RectifierWithDropout"``),
    case-insensitively.

    Examples
    --------
    >>> model = DeepLearningEstimator(activation="RectifierWithDropout", hidden=[200, 200, 200],
    ...                               input_dropout_ratio=0.2, l1=1e-5, epochs=10)   # doctest: +SKIP
    >>> model.train(x=x, y="C785", training_frame=train, validation_frame=test)     # doctest: +SKIP
    >>> model.predict(test)                                                          # doctest: +SKIP
    """

    def __init__(
        self,
        model_id: str | None = None,
        training_frame: Any = None,
        validation_frame: Any = None,
        nfolds: int = 0,
        keep_cross_validation_models: bool = True,
        keep_cross_validation_predictions: bool = False,
        keep_cross_validation_fold_assignment: bool = False,
        fold_assignment: str = 'auto',
        fold_column: str | None = None,
        response_column: str | None = None,
        ignored_columns: list[str] | None = None,
        ignore_const_cols: bool = True,
        score_each_iteration: bool = False,
        weights_column: str | None = None,
        offset_column: str | None = None,
        balance_classes: bool = False,
        class_sampling_factors: list[float] | None = None,
        max_after_balance_size: float = 5.0,
        max_confusion_matrix_size: int = 20,
        checkpoint: Any = None,
        pretrained_autoencoder: Any = None,
        overwrite_with_best_model: bool = True,
        use_all_factor_levels: bool = True,
        standardize: bool = True,
        activation: str = 'rectifier',
        hidden: list[int] = [200, 200],
        epochs: float = 10.0,
        train_samples_per_iteration: int = -2,
        target_ratio_comm_to_comp: float = 0.05,
        seed: int = -1,
        adaptive_rate: bool = True,
        rho: float = 0.99,
        epsilon: float = 1e-08,
        rate: float = 0.005,
        rate_annealing: float = 1e-06,
        rate_decay: float = 1.0,
        momentum_start: float = 0.0,
        momentum_ramp: float = 1000000.0,
        momentum_stable: float = 0.0,
        nesterov_accelerated_gradient: bool = True,
        input_dropout_ratio: float = 0.0,
        hidden_dropout_ratios: list[float] | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        max_w2: float = FLOAT_MAX,
        initial_weight_distribution: str = 'uniform_adaptive',
        initial_weight_scale: float = 1.0,
        initial_weights: Any = None,
        initial_biases: Any = None,
        loss: str = 'automatic',
        distribution: str = 'auto',
        quantile_alpha: float = 0.5,
        tweedie_power: float = 1.5,
        huber_alpha: float = 0.9,
        score_interval: float = 5.0,
        score_training_samples: int = 10000,
        score_validation_samples: int = 0,
        score_duty_cycle: float = 0.1,
        classification_stop: float = 0.0,
        regression_stop: float = 1e-06,
        stopping_rounds: int = 5,
        stopping_metric: str = 'auto',
        stopping_tolerance: float = 0.0,
        max_runtime_secs: float = 0.0,
        score_validation_sampling: str = 'uniform',
        diagnostics: bool = True,
        fast_mode: bool = True,
        force_load_balance: bool = True,
        variable_importances: bool = True,
        replicate_training_data: bool = True,
        single_node_mode: bool = False,
        shuffle_training_data: bool = False,
        missing_values_handling: str = 'mean_imputation',
        quiet_mode: bool = False,
        autoencoder: bool = False,
        sparse: bool = False,
        col_major: bool = False,
        average_activation: float = 0.0,
        sparsity_beta: float = 0.0,
        max_categorical_features: int = INT_MAX,
        reproducible: bool = False,
        export_weights_and_biases: bool = False,
        mini_batch_size: int = 1,
        categorical_encoding: str = 'auto',
        elastic_averaging: bool = False,
        elastic_averaging_moving_rate: float = 0.9,
        elastic_averaging_regularization: float = 0.001,
        export_checkpoints_dir: str | None = None,
        auc_type: str = 'auto',
        custom_metric_func: Any = None,
        gainslift_bins: int = -1,
        model_averaging: str = 'block_momentum',
    ) -> None:
        self._init_params(dict(
            model_id=model_id, training_frame=training_frame, validation_frame=validation_frame,
            nfolds=nfolds, keep_cross_validation_models=keep_cross_validation_models,
            keep_cross_validation_predictions=keep_cross_validation_predictions,
            keep_cross_validation_fold_assignment=keep_cross_validation_fold_assignment,
            fold_assignment=fold_assignment, fold_column=fold_column,
            response_column=response_column, ignored_columns=ignored_columns,
            ignore_const_cols=ignore_const_cols, score_each_iteration=score_each_iteration,
            weights_column=weights_column, offset_column=offset_column,
            balance_classes=balance_classes, class_sampling_factors=class_sampling_factors,
            max_after_balance_size=max_after_balance_size,
            max_confusion_matrix_size=max_confusion_matrix_size, checkpoint=checkpoint,
            pretrained_autoencoder=pretrained_autoencoder,
            overwrite_with_best_model=overwrite_with_best_model,
            use_all_factor_levels=use_all_factor_levels, standardize=standardize,
            activation=activation, hidden=hidden, epochs=epochs,
            train_samples_per_iteration=train_samples_per_iteration,
            target_ratio_comm_to_comp=target_ratio_comm_to_comp, seed=seed,
            adaptive_rate=adaptive_rate, rho=rho, epsilon=epsilon, rate=rate,
            rate_annealing=rate_annealing, rate_decay=rate_decay, momentum_start=momentum_start,
            momentum_ramp=momentum_ramp, momentum_stable=momentum_stable,
            nesterov_accelerated_gradient=nesterov_accelerated_gradient,
            input_dropout_ratio=input_dropout_ratio, hidden_dropout_ratios=hidden_dropout_ratios,
            l1=l1, l2=l2, max_w2=max_w2, initial_weight_distribution=initial_weight_distribution,
            initial_weight_scale=initial_weight_scale, initial_weights=initial_weights,
            initial_biases=initial_biases, loss=loss, distribution=distribution,
            quantile_alpha=quantile_alpha, tweedie_power=tweedie_power, huber_alpha=huber_alpha,
            score_interval=score_interval, score_training_samples=score_training_samples,
            score_validation_samples=score_validation_samples, score_duty_cycle=score_duty_cycle,
            classification_stop=classification_stop, regression_stop=regression_stop,
            stopping_rounds=stopping_rounds, stopping_metric=stopping_metric,
            stopping_tolerance=stopping_tolerance, max_runtime_secs=max_runtime_secs,
            score_validation_sampling=score_validation_sampling, diagnostics=diagnostics,
            fast_mode=fast_mode, force_load_balance=force_load_balance,
            variable_importances=variable_importances,
            replicate_training_data=replicate_training_data, single_node_mode=single_node_mode,
            shuffle_training_data=shuffle_training_data,
            missing_values_handling=missing_values_handling, quiet_mode=quiet_mode,
            autoencoder=autoencoder, sparse=sparse, col_major=col_major,
            average_activation=average_activation, sparsity_beta=sparsity_beta,
            max_categorical_features=max_categorical_features, reproducible=reproducible,
            export_weights_and_biases=export_weights_and_biases, mini_batch_size=mini_batch_size,
            categorical_encoding=categorical_encoding, elastic_averaging=elastic_averaging,
            elastic_averaging_moving_rate=elastic_averaging_moving_rate,
            elastic_averaging_regularization=elastic_averaging_regularization,
            export_checkpoints_dir=export_checkpoints_dir, auc_type=auc_type,
            custom_metric_func=custom_metric_func, gainslift_bins=gainslift_bins,
            model_averaging=model_averaging
        ))


class H2OAutoEncoderEstimator(DeepLearningEstimator):
    """``DeepLearningEstimator`` with ``autoencoder=True`` (H2O's ``H2OAutoEncoderEstimator``).

    Trains without a response; ``anomaly()`` gives the reconstruction error per row and
    ``deepfeatures()`` the activations of a hidden layer.

    Parameters
    ----------
    model_id : str | None, default None
        Model identifier.
    training_frame : Any, default None
        Training data: a dask or pandas DataFrame.
    validation_frame : Any, default None
        Validation data (a dask or pandas DataFrame), scored during training.
    nfolds : int, default 0
        Number of folds for K-fold cross-validation (0 to disable or >= 2).
    keep_cross_validation_models : bool, default True
        Whether to keep the cross-validation models.
    keep_cross_validation_predictions : bool, default False
        Whether to keep the predictions of the cross-validation models.
    keep_cross_validation_fold_assignment : bool, default False
        Whether to keep the cross-validation fold assignment.
    fold_assignment : {'auto', 'random', 'modulo', 'stratified'}, default 'auto'
        Cross-validation fold assignment scheme if fold_column is not given (Stratified for
        classification).
    fold_column : str | None, default None
        Column with cross-validation fold index assignment per observation.
    response_column : str | None, default None
        Response variable column.
    ignored_columns : list[str] | None, default None
        Names of columns to ignore for training.
    ignore_const_cols : bool, default True
        Ignore constant columns.
    score_each_iteration : bool, default False
        Whether to score during each iteration of model training.
    weights_column : str | None, default None
        Column with observation weights (0 excludes a row; 2 counts it twice).
    offset_column : str | None, default None
        Offset column, added to the combination of columns before the link function (regression only).
    balance_classes : bool, default False
        Balance training data class counts via over/under-sampling (for imbalanced data).
    class_sampling_factors : list[float] | None, default None
        Desired over/under-sampling ratios per class (in lexicographic order); requires balance_classes.
    max_after_balance_size : float, default 5.0
        Maximum relative size of the training data after balancing class counts (can be less than 1.0).
        Requires balance_classes.
    max_confusion_matrix_size : int, default 20
        [Deprecated] Maximum number of classes for confusion matrices to be printed.
    checkpoint : Any, default None
        Model checkpoint to resume training with (a model, a model_id or a saved model path).
    pretrained_autoencoder : Any, default None
        Pretrained autoencoder model (or model_id) to initialize this model with.
    overwrite_with_best_model : bool, default True
        If enabled, override the final model with the best model found during training.
    use_all_factor_levels : bool, default True
        Use all factor levels of categorical variables (else the first level is dropped); forced on for
        autoencoders.
    standardize : bool, default True
        Automatically standardize the data (else the user must provide properly scaled inputs).
    activation : {'tanh', 'tanh_with_dropout', 'rectifier', 'rectifier_with_dropout', 'maxout', 'maxout_with_dropout'}, default 'rectifier'
        Activation function.
    hidden : list[int], default [200, 200]
        Hidden layer sizes (e.g. [100, 100]).
    epochs : float, default 10.0
        How many times the dataset should be iterated (streamed), can be fractional.
    train_samples_per_iteration : int, default -2
        Training samples (globally) per iteration: 0 one epoch, -1 all available data, -2 automatic.
    target_ratio_comm_to_comp : float, default 0.05
        Target ratio of communication overhead to computation (train_samples_per_iteration=-2 auto-
        tuning).
    seed : int, default -1
        Seed for random numbers (-1: random); reproducible only with reproducible=True.
    adaptive_rate : bool, default True
        Adaptive learning rate.
    rho : float, default 0.99
        Adaptive learning rate time decay factor (similarity to prior updates).
    epsilon : float, default 1e-08
        Adaptive learning rate smoothing factor (to avoid divisions by zero and allow progress).
    rate : float, default 0.005
        Learning rate (higher => less stable, lower => slower convergence).
    rate_annealing : float, default 1e-06
        Learning rate annealing: rate / (1 + rate_annealing * samples).
    rate_decay : float, default 1.0
        Learning rate decay factor between layers (N-th layer: rate * rate_decay ^ (n - 1)).
    momentum_start : float, default 0.0
        Initial momentum at the beginning of training (try 0.5).
    momentum_ramp : float, default 1000000.0
        Number of training samples for which momentum increases.
    momentum_stable : float, default 0.0
        Final momentum after the ramp is over (try 0.99).
    nesterov_accelerated_gradient : bool, default True
        Use Nesterov accelerated gradient (recommended).
    input_dropout_ratio : float, default 0.0
        Input layer dropout ratio (can improve generalization, try 0.1 or 0.2).
    hidden_dropout_ratios : list[float] | None, default None
        Hidden layer dropout ratios, one per hidden layer (default 0.5 for the activations with
        dropout).
    l1 : float, default 0.0
        L1 regularization (can add stability and improve generalization, causes many weights to become
        0).
    l2 : float, default 0.0
        L2 regularization (can add stability and improve generalization, causes many weights to be
        small).
    max_w2 : float, default 3.4028235e38 (Java's Float.MAX_VALUE)
        Constraint for squared sum of incoming weights per unit (e.g. for Rectifier).
    initial_weight_distribution : {'uniform_adaptive', 'uniform', 'normal'}, default 'uniform_adaptive'
        Initial weight distribution.
    initial_weight_scale : float, default 1.0
        Uniform: -value...value, Normal: stddev.
    initial_weights : Any, default None
        Weight matrices to initialize the network with (one per layer: arrays or DataFrames).
    initial_biases : Any, default None
        Bias vectors to initialize the network with (one per layer: arrays or DataFrames).
    loss : {'automatic', 'cross_entropy', 'quadratic', 'huber', 'absolute', 'quantile'}, default 'automatic'
        Loss function.
    distribution : {'auto', 'bernoulli', 'multinomial', 'gaussian', 'poisson', 'gamma', 'tweedie', 'laplace', 'quantile', 'huber'}, default 'auto'
        Distribution function.
    quantile_alpha : float, default 0.5
        Desired quantile for Quantile regression, must be between 0 and 1.
    tweedie_power : float, default 1.5
        Tweedie power for Tweedie regression, must be between 1 and 2.
    huber_alpha : float, default 0.9
        Desired quantile for Huber/M-regression (threshold between quadratic and linear loss, in [0,
        1]).
    score_interval : float, default 5.0
        Shortest time interval (in seconds) between model scoring.
    score_training_samples : int, default 10000
        Number of training set samples for scoring (0 for all).
    score_validation_samples : int, default 0
        Number of validation set samples for scoring (0 for all).
    score_duty_cycle : float, default 0.1
        Maximum duty cycle fraction for scoring (lower: more training, higher: more scoring).
    classification_stop : float, default 0.0
        Stopping criterion for classification error fraction on training data (-1 to disable).
    regression_stop : float, default 1e-06
        Stopping criterion for regression error (MSE) on training data (-1 to disable).
    stopping_rounds : int, default 5
        Stop if the moving average of length k of stopping_metric does not improve for k scoring events
        (0 to disable).
    stopping_metric : {'auto', 'deviance', 'logloss', 'mse', 'rmse', 'mae', 'rmsle', 'auc', 'aucpr', 'lift_top_group', 'misclassification', 'mean_per_class_error', 'custom', 'custom_increasing'}, default 'auto'
        Metric to use for early stopping (AUTO: logloss for classification, deviance for regression).
    stopping_tolerance : float, default 0.0
        Relative tolerance for metric-based stopping (stop if the relative improvement is below this).
    max_runtime_secs : float, default 0.0
        Maximum allowed runtime in seconds for model training. Use 0 to disable.
    score_validation_sampling : {'uniform', 'stratified'}, default 'uniform'
        Method used to sample validation dataset for scoring.
    diagnostics : bool, default True
        Enable diagnostics for hidden layers.
    fast_mode : bool, default True
        Enable fast mode (minor approximation in back-propagation).
    force_load_balance : bool, default True
        Force extra load balancing to increase training speed for small datasets (to keep all cores
        busy).
    variable_importances : bool, default True
        Compute variable importances for input features (Gedeon method) - can be slow for large
        networks.
    replicate_training_data : bool, default True
        Replicate the entire training dataset onto every node for faster training on small datasets.
    single_node_mode : bool, default False
        Run on a single node for fine-tuning of model parameters.
    shuffle_training_data : bool, default False
        Enable shuffling of training data (recommended with replicated data or balance_classes).
    missing_values_handling : {'mean_imputation', 'skip'}, default 'mean_imputation'
        Handling of missing values. Either MeanImputation or Skip.
    quiet_mode : bool, default False
        Enable quiet mode for less output during training.
    autoencoder : bool, default True
        Train an auto-encoder (no response).
    sparse : bool, default False
        Sparse data handling (more efficient for data with lots of 0 values).
    col_major : bool, default False
        Deprecated: a column-major input weight matrix (True is an error).
    average_activation : float, default 0.0
        Average activation for sparse auto-encoder (experimental).
    sparsity_beta : float, default 0.0
        Sparsity regularization (experimental).
    max_categorical_features : int, default 2147483647
        Max. number of categorical features, enforced via hashing (experimental).
    reproducible : bool, default False
        Force reproducibility on small data (will be slow - only uses 1 thread).
    export_weights_and_biases : bool, default False
        Keep the network's weights and biases available as frames (model.weights(), model.biases()).
    mini_batch_size : int, default 1
        Mini-batch size (smaller leads to better fit, larger can speed up and generalize better).
    categorical_encoding : {'auto', 'enum', 'one_hot_internal', 'one_hot_explicit', 'binary', 'eigen', 'label_encoder', 'sort_by_response', 'enum_limited'}, default 'auto'
        Encoding scheme for categorical features.
    elastic_averaging : bool, default False
        Elastic averaging between compute nodes can improve distributed model convergence
        (experimental).
    elastic_averaging_moving_rate : float, default 0.9
        Elastic averaging moving rate (only if elastic averaging is enabled).
    elastic_averaging_regularization : float, default 0.001
        Elastic averaging regularization strength (only if elastic averaging is enabled).
    export_checkpoints_dir : str | None, default None
        Automatically export generated models to this directory.
    auc_type : {'auto', 'none', 'macro_ovr', 'weighted_ovr', 'macro_ovo', 'weighted_ovo'}, default 'auto'
        Set default multinomial AUC type.
    custom_metric_func : Any, default None
        Custom evaluation metric: H2O's map/reduce/metric class or its reference
        (daskdl.upload_custom_metric).
    gainslift_bins : int, default -1
        Gains/lift table number of bins (0 disables, -1 automatic binning).
    model_averaging : {'block_momentum', 'average'}, default 'block_momentum'
        daskdl only: how the workers' models are combined each iteration: 'block_momentum' (block
        momentum over their average, the default) or 'average' (H2O's plain average).

    Enum values are also accepted in H2O's Java spelling (``"RectifierWithDropout"``),
    case-insensitively.

    Examples
    --------
    >>> ae = H2OAutoEncoderEstimator(hidden=[50], epochs=5)         # doctest: +SKIP
    >>> ae.train(x=x, training_frame=train)                         # doctest: +SKIP
    >>> ae.anomaly(test)                                            # doctest: +SKIP
    """

    def __init__(
        self,
        model_id: str | None = None,
        training_frame: Any = None,
        validation_frame: Any = None,
        nfolds: int = 0,
        keep_cross_validation_models: bool = True,
        keep_cross_validation_predictions: bool = False,
        keep_cross_validation_fold_assignment: bool = False,
        fold_assignment: str = 'auto',
        fold_column: str | None = None,
        response_column: str | None = None,
        ignored_columns: list[str] | None = None,
        ignore_const_cols: bool = True,
        score_each_iteration: bool = False,
        weights_column: str | None = None,
        offset_column: str | None = None,
        balance_classes: bool = False,
        class_sampling_factors: list[float] | None = None,
        max_after_balance_size: float = 5.0,
        max_confusion_matrix_size: int = 20,
        checkpoint: Any = None,
        pretrained_autoencoder: Any = None,
        overwrite_with_best_model: bool = True,
        use_all_factor_levels: bool = True,
        standardize: bool = True,
        activation: str = 'rectifier',
        hidden: list[int] = [200, 200],
        epochs: float = 10.0,
        train_samples_per_iteration: int = -2,
        target_ratio_comm_to_comp: float = 0.05,
        seed: int = -1,
        adaptive_rate: bool = True,
        rho: float = 0.99,
        epsilon: float = 1e-08,
        rate: float = 0.005,
        rate_annealing: float = 1e-06,
        rate_decay: float = 1.0,
        momentum_start: float = 0.0,
        momentum_ramp: float = 1000000.0,
        momentum_stable: float = 0.0,
        nesterov_accelerated_gradient: bool = True,
        input_dropout_ratio: float = 0.0,
        hidden_dropout_ratios: list[float] | None = None,
        l1: float = 0.0,
        l2: float = 0.0,
        max_w2: float = FLOAT_MAX,
        initial_weight_distribution: str = 'uniform_adaptive',
        initial_weight_scale: float = 1.0,
        initial_weights: Any = None,
        initial_biases: Any = None,
        loss: str = 'automatic',
        distribution: str = 'auto',
        quantile_alpha: float = 0.5,
        tweedie_power: float = 1.5,
        huber_alpha: float = 0.9,
        score_interval: float = 5.0,
        score_training_samples: int = 10000,
        score_validation_samples: int = 0,
        score_duty_cycle: float = 0.1,
        classification_stop: float = 0.0,
        regression_stop: float = 1e-06,
        stopping_rounds: int = 5,
        stopping_metric: str = 'auto',
        stopping_tolerance: float = 0.0,
        max_runtime_secs: float = 0.0,
        score_validation_sampling: str = 'uniform',
        diagnostics: bool = True,
        fast_mode: bool = True,
        force_load_balance: bool = True,
        variable_importances: bool = True,
        replicate_training_data: bool = True,
        single_node_mode: bool = False,
        shuffle_training_data: bool = False,
        missing_values_handling: str = 'mean_imputation',
        quiet_mode: bool = False,
        autoencoder: bool = True,
        sparse: bool = False,
        col_major: bool = False,
        average_activation: float = 0.0,
        sparsity_beta: float = 0.0,
        max_categorical_features: int = INT_MAX,
        reproducible: bool = False,
        export_weights_and_biases: bool = False,
        mini_batch_size: int = 1,
        categorical_encoding: str = 'auto',
        elastic_averaging: bool = False,
        elastic_averaging_moving_rate: float = 0.9,
        elastic_averaging_regularization: float = 0.001,
        export_checkpoints_dir: str | None = None,
        auc_type: str = 'auto',
        custom_metric_func: Any = None,
        gainslift_bins: int = -1,
        model_averaging: str = 'block_momentum',
    ) -> None:
        self._init_params(dict(
            model_id=model_id, training_frame=training_frame, validation_frame=validation_frame,
            nfolds=nfolds, keep_cross_validation_models=keep_cross_validation_models,
            keep_cross_validation_predictions=keep_cross_validation_predictions,
            keep_cross_validation_fold_assignment=keep_cross_validation_fold_assignment,
            fold_assignment=fold_assignment, fold_column=fold_column,
            response_column=response_column, ignored_columns=ignored_columns,
            ignore_const_cols=ignore_const_cols, score_each_iteration=score_each_iteration,
            weights_column=weights_column, offset_column=offset_column,
            balance_classes=balance_classes, class_sampling_factors=class_sampling_factors,
            max_after_balance_size=max_after_balance_size,
            max_confusion_matrix_size=max_confusion_matrix_size, checkpoint=checkpoint,
            pretrained_autoencoder=pretrained_autoencoder,
            overwrite_with_best_model=overwrite_with_best_model,
            use_all_factor_levels=use_all_factor_levels, standardize=standardize,
            activation=activation, hidden=hidden, epochs=epochs,
            train_samples_per_iteration=train_samples_per_iteration,
            target_ratio_comm_to_comp=target_ratio_comm_to_comp, seed=seed,
            adaptive_rate=adaptive_rate, rho=rho, epsilon=epsilon, rate=rate,
            rate_annealing=rate_annealing, rate_decay=rate_decay, momentum_start=momentum_start,
            momentum_ramp=momentum_ramp, momentum_stable=momentum_stable,
            nesterov_accelerated_gradient=nesterov_accelerated_gradient,
            input_dropout_ratio=input_dropout_ratio, hidden_dropout_ratios=hidden_dropout_ratios,
            l1=l1, l2=l2, max_w2=max_w2, initial_weight_distribution=initial_weight_distribution,
            initial_weight_scale=initial_weight_scale, initial_weights=initial_weights,
            initial_biases=initial_biases, loss=loss, distribution=distribution,
            quantile_alpha=quantile_alpha, tweedie_power=tweedie_power, huber_alpha=huber_alpha,
            score_interval=score_interval, score_training_samples=score_training_samples,
            score_validation_samples=score_validation_samples, score_duty_cycle=score_duty_cycle,
            classification_stop=classification_stop, regression_stop=regression_stop,
            stopping_rounds=stopping_rounds, stopping_metric=stopping_metric,
            stopping_tolerance=stopping_tolerance, max_runtime_secs=max_runtime_secs,
            score_validation_sampling=score_validation_sampling, diagnostics=diagnostics,
            fast_mode=fast_mode, force_load_balance=force_load_balance,
            variable_importances=variable_importances,
            replicate_training_data=replicate_training_data, single_node_mode=single_node_mode,
            shuffle_training_data=shuffle_training_data,
            missing_values_handling=missing_values_handling, quiet_mode=quiet_mode,
            autoencoder=autoencoder, sparse=sparse, col_major=col_major,
            average_activation=average_activation, sparsity_beta=sparsity_beta,
            max_categorical_features=max_categorical_features, reproducible=reproducible,
            export_weights_and_biases=export_weights_and_biases, mini_batch_size=mini_batch_size,
            categorical_encoding=categorical_encoding, elastic_averaging=elastic_averaging,
            elastic_averaging_moving_rate=elastic_averaging_moving_rate,
            elastic_averaging_regularization=elastic_averaging_regularization,
            export_checkpoints_dir=export_checkpoints_dir, auc_type=auc_type,
            custom_metric_func=custom_metric_func, gainslift_bins=gainslift_bins,
            model_averaging=model_averaging
        ))
# ---- end of generated code ----


class _ColumnsFn:
    """Per-partition scoring that returns named float columns on the partition's index."""

    def __init__(self, cols):
        self.cols = cols

    def __call__(self, pdf, state):
        idx = pdf.index
        if len(pdf) == 0:
            return pd.DataFrame({c: pd.Series([], dtype="float64") for c in self.cols}, index=idx[:0])
        block = encode_partition(pdf, state["schema"], training=False, standardize_response=False,
                                 row_major=False)
        values = np.asarray(self.compute(block, state), dtype=np.float64)
        return pd.DataFrame(values.reshape(len(pdf), -1), index=idx, columns=self.cols)


class _AnomalyFn(_ColumnsFn):
    def __init__(self, per_feature, cols):
        super().__init__(cols)
        self.per_feature = per_feature

    def compute(self, block, state):
        return reconstruction_error(state["net"], block, state["schema"], per_feature=self.per_feature)


class _DeepFeaturesFn(_ColumnsFn):
    def __init__(self, layer, cols):
        super().__init__(cols)
        self.layer = layer

    def compute(self, block, state):
        return forward(state["net"], block.xnum, block.xcat, state["schema"].num_offset,
                       hidden_dropout=state["hidden_dropout"], upto=self.layer + 1)


def check_held(frame, name: str):
    """A persisted dask frame whose partitions were lost (``client.restart()``, a closed client,
    a lost worker) is refused with a clear message instead of Dask's "lost dependencies"."""
    expr = getattr(frame, "expr", None)
    if expr is None or type(expr).__name__ != "FromGraph":
        return
    try:
        from distributed import Future

        values = list(frame.__dask_graph__().values())
    except Exception:  # noqa: BLE001 - not a distributed frame, or dask internals changed
        return
    bad = [v for v in values if isinstance(v, Future) and v.status in ("cancelled", "lost", "error")]
    if bad:
        raise ValueError(f"{name}: the frame's persisted partitions are no longer on the cluster ({len(bad)} of "
                         f"{len(values)} are {bad[0].status}: after client.restart(), a closed client or lost "
                         f"workers). Load or persist the frame again.")



def _custom_metric_of(parms, res):
    """The CustomMetric object of a fit (None without custom_metric_func or for autoencoders)."""
    if res.autoencoder or parms.get("custom_metric_func") is None:
        return None
    return resolve_custom_metric(parms["custom_metric_func"])


@functools.cache
def _class_defaults(cls) -> dict:
    """``name -> default`` of the 91 parameters in ``cls.__init__``'s signature."""
    sig = inspect.signature(cls.__init__)
    return {k: sig.parameters[k].default for k in PARAMETERS}


def get_model(model_id: str) -> DeepLearningEstimator:
    """A model of this session (trained or loaded, and still referenced), by ``model_id``."""
    model = registry.lookup(model_id)
    if model is None:
        raise KeyError(f"no model with model_id {model_id!r} in this session; known: {registry.known_ids()}")
    return model


def _identity(x):
    return x


registry.register_class(DeepLearningEstimator)
registry.register_class(H2OAutoEncoderEstimator)
