"""scikit-learn estimators over the same engine as :class:`daskdl.DeepLearningEstimator`.

:class:`DeepLearningClassifier`, :class:`DeepLearningRegressor` and the transformer
:class:`DeepLearningAutoEncoder` take H2O's parameters with H2O's defaults and follow
scikit-learn's estimator API (``clone``, ``Pipeline``, ``GridSearchCV`` work). Inputs are numpy
arrays, pandas DataFrames, dask arrays or dask DataFrames; dask in gives dask out, lazily, with
the right meta. Without ``client``, numpy and pandas inputs train in this process and dask
inputs on the current ``distributed`` client (or in this process when there is none).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from ._client import current_client
from .model.estimator import DeepLearningEstimator
from .params import FLOAT_MAX, INT_MAX, PARAMETERS  # noqa: F401  (FLOAT_MAX, INT_MAX: the generated defaults)

__all__ = ["DeepLearningClassifier", "DeepLearningRegressor", "DeepLearningAutoEncoder",
           "EXPECTED_FAILED_CHECKS"]

_Y = "__daskdl_response__"
_W = "__daskdl_weight__"

#: scikit-learn checks that cannot pass, with the reason (``check_estimator(...,
#: expected_failed_checks=EXPECTED_FAILED_CHECKS)``).
EXPECTED_FAILED_CHECKS = {
    "check_methods_sample_order_invariance":
        "the network computes in float32 (as H2O does) and BLAS sums a batch in an order that depends on "
        "the batch, so a row's outputs can differ by one float32 ulp (~1e-7 relative) between batches; "
        "the check compares at rtol=1e-7",
    "check_methods_subset_invariance":
        "float32 network (as H2O): a row's outputs can differ by one float32 ulp (~1e-7 relative) "
        "between a batch and a subset of it; the check compares at rtol=1e-7",
    "check_sample_weight_equivalence_on_dense_data":
        "H2O's per-row SGD visits a row of weight 2 once with a doubled gradient, a repeated row twice "
        "with two separate updates; the two fits differ by the path of stochastic updates",
}


def _is_dask_array(x) -> bool:
    try:
        import dask.array as da
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, da.Array)


def _is_dask_frame(x) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, (dd.DataFrame, dd.Series))


def _is_dask(x) -> bool:
    return _is_dask_array(x) or _is_dask_frame(x)


class _Base(BaseEstimator):
    """Shared fit / predict machinery; subclasses set ``_kind``."""

    _kind = "regression"

    def _engine_params(self) -> dict:
        p = {k: v for k, v in self.get_params(deep=False).items() if k in PARAMETERS}
        if isinstance(p.get("hidden"), tuple):
            p["hidden"] = list(p["hidden"])
        for k in ("hidden_dropout_ratios", "class_sampling_factors"):
            if isinstance(p.get(k), tuple):
                p[k] = list(p[k])
        p["autoencoder"] = self._kind == "autoencoder"
        return p

    def __sklearn_clone__(self):
        # the client is shared, not copied (a Client cannot be deep-copied); the rest as sklearn clones
        from sklearn.base import clone

        params = self.get_params(deep=False)
        client = params.pop("client", None)
        return type(self)(client=client, **{k: clone(v, safe=False) for k, v in params.items()})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # H2O imputes missing values (missing_values_handling)
        tags.input_tags.categorical = True  # pandas categorical and text columns are one-hot encoded
        tags.non_deterministic = not (self.reproducible and self.seed not in (None, -1))
        return tags

    # ---- inputs -----------------------------------------------------------------------------
    def _columns(self, n: int) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return [str(c) for c in names]
        return [f"C{j + 1}" for j in range(n)]

    def _frame(self, X, *, reset: bool):
        """X as a pandas or dask DataFrame with the fitted column names; sets or checks
        ``n_features_in_`` / ``feature_names_in_``."""
        if _is_dask_array(X):
            if X.ndim != 2:
                raise ValueError(f"Expected a 2D dask array, got {X.ndim}D; reshape it to (n_samples, n_features)")
            self._check_n_features(X.shape[1], reset)
            if reset and hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            import dask.dataframe as dd

            X = X.rechunk({1: -1})
            if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
                X = X.astype(np.float64)
            return dd.from_dask_array(X, columns=self._columns(X.shape[1]))
        if _is_dask_frame(X):
            import dask.dataframe as dd

            if not isinstance(X, dd.DataFrame):
                X = X.to_frame()
            validate_data(self, X._meta, reset=reset, skip_check_array=True)
            self._check_n_features(len(X.columns), reset)
            return X.rename(columns={c: str(c) for c in X.columns}) if any(
                not isinstance(c, str) for c in X.columns) else X
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if len(X) == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            if X.shape[1] == 0:
                raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                                 "required.")
            out = X.copy()
            out.columns = [str(c) for c in X.columns]
            return out
        X = validate_data(self, X, reset=reset, dtype="numeric", ensure_all_finite="allow-nan",
                          accept_sparse=False)
        return pd.DataFrame(np.asarray(X, dtype=np.float64), columns=self._columns(X.shape[1]))

    def _check_n_features(self, n: int, reset: bool):
        if reset:
            self.n_features_in_ = int(n)
        elif n != self.n_features_in_:
            raise ValueError(f"X has {n} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                             "features as input.")

    def _client_for(self, X):
        """``None``: train in this process; a client: train on it."""
        if self.client is not None:
            return self.client
        if _is_dask(X):
            return current_client()
        return None

    def _attach(self, frame, y, sample_weight, response_dtype):
        """The training frame: features plus the response (and weight) columns."""
        if _is_dask_frame(frame):
            import dask.array as da
            import dask.dataframe as dd

            parts = {}
            lengths = None
            for name, v in ((_Y, y), (_W, sample_weight)):
                if v is None:
                    continue
                if _is_dask_frame(v):
                    s = v[v.columns[0]] if isinstance(v, dd.DataFrame) else v
                    if s.npartitions != frame.npartitions:
                        raise ValueError(f"y / sample_weight has {s.npartitions} partitions but X has "
                                         f"{frame.npartitions}; give them the same partitioning")
                else:
                    if lengths is None:
                        lengths = tuple(int(n) for n in frame.map_partitions(len).compute())
                    arr = v if _is_dask_array(v) else da.from_array(np.asarray(v))
                    if arr.shape[0] != sum(lengths):
                        raise ValueError(f"X has {sum(lengths)} rows but y / sample_weight has {arr.shape[0]}")
                    s = dd.from_dask_array(arr.rechunk((lengths,)), index=frame.index)
                if name == _Y and response_dtype is not None:
                    s = s.astype(response_dtype)
                parts[name] = s
            return frame.assign(**parts)
        out = frame
        out[_Y] = pd.Categorical(y, dtype=response_dtype) if response_dtype is not None else y
        if sample_weight is not None:
            out[_W] = sample_weight
        return out

    def _fit_engine(self, X, y, sample_weight, response_dtype=None):
        dask_in = _is_dask(X)
        frame = self._frame(X, reset=True)
        x_cols = list(frame.columns)
        if not dask_in:
            n = len(frame)
            if n < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 samples to train; got n_samples={n} "
                                 "(1 sample)")
        if self._kind != "autoencoder":
            if dask_in and not _is_dask(y):
                y = np.asarray(y)
            if sample_weight is not None and not _is_dask(sample_weight):
                sample_weight = _check_sample_weight(sample_weight, np.empty((len(frame), 0)) if not dask_in
                                                     else np.empty((len(sample_weight), 0)),
                                                     ensure_non_negative=True)
                if not np.any(sample_weight > 0):
                    raise ValueError("sample_weight must contain at least one positive weight; all are zero")
            frame = self._attach(frame, y, sample_weight, response_dtype)
        params = self._engine_params()
        model = DeepLearningEstimator(**params)
        kw = {}
        if sample_weight is not None and self._kind != "autoencoder":
            kw["weights_column"] = _W
        model.train(x=x_cols, y=None if self._kind == "autoencoder" else _Y, training_frame=frame,
                    client=self._client_for(X) or False, **kw)
        self.model_ = model
        return self

    def _predict_frame(self, X):
        """(engine prediction frame, whether X was dask, whether X was a dask array, row chunks)."""
        check_is_fitted(self, "model_")
        dask_arr = _is_dask_array(X)
        frame = self._frame(X, reset=False)
        model = self.model_
        if _is_dask(X):
            if self.client is not None and current_client() is not self.client:
                with self.client.as_current():
                    pred = model.predict(frame)
            else:
                pred = model.predict(frame)
        else:
            pred = model.predict(frame)
        return pred, _is_dask(X), dask_arr, (X.chunks[0] if dask_arr else None)

    @staticmethod
    def _out(values, dask_in, dask_arr, chunks):
        """pandas/dask prediction columns -> numpy, dask array (known chunks) or dask frame."""
        if not dask_in:
            return values.to_numpy()
        if dask_arr:
            return values.to_dask_array(lengths=list(chunks))
        return values


class _DeepLearningClassifierBase(ClassifierMixin, _Base):
    _kind = "classification"

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (n_samples, n_features) and class labels ``y``; returns ``self``."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if _is_dask(y):
            import dask.array as da

            yy = y.to_dask_array(lengths=True) if _is_dask_frame(y) else y
            classes = np.asarray(da.unique(yy).compute())
            classes = classes[~pd.isna(classes)] if classes.dtype.kind in "fO" else classes
        else:
            y = column_or_1d(y, warn=True)
            if len(y) and pd.isna(y).any():
                raise ValueError("Input y contains NaN.")
            check_classification_targets(y)
            classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y to train; got 1 class "
                             f"({classes[0]!r})" if len(classes) else "y has no class")
        self.classes_ = classes
        dtype = pd.CategoricalDtype(pd.Index(classes))
        return self._fit_engine(X, y, sample_weight, response_dtype=dtype)

    def _proba_columns(self) -> list[int]:
        """Positions of ``classes_`` among the engine's probability columns."""
        info = self.model_.fit_state.labels
        pos = {v: i for i, v in enumerate(info["values"])}
        return [pos[c.item() if isinstance(c, np.generic) else c] for c in self.classes_]

    def predict(self, X):
        """Class labels (values of ``classes_``)."""
        pred, dask_in, dask_arr, chunks = self._predict_frame(X)
        classes = self.classes_
        col = pred["predict"]

        def to_labels(s):  # the engine's labels are categoricals over exactly classes_
            return pd.Series(classes[np.asarray(s.cat.codes)], index=s.index)

        if dask_in:
            out = col.map_partitions(to_labels, meta=pd.Series(np.empty(0, classes.dtype), name=None))
        else:
            out = to_labels(col)
        return self._out(out, dask_in, dask_arr, chunks)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``."""
        pred, dask_in, dask_arr, chunks = self._predict_frame(X)
        names = list(pred.columns[1:])
        cols = [names[i] for i in self._proba_columns()]
        return self._out(pred[cols], dask_in, dask_arr, chunks)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        p = self.predict_proba(X)
        if _is_dask(p):
            import dask.array as da

            return da.log(p) if _is_dask_array(p) else np.log(p)
        with np.errstate(divide="ignore"):
            return np.log(p)


class _DeepLearningRegressorBase(RegressorMixin, _Base):
    _kind = "regression"

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (n_samples, n_features) and numeric targets ``y``; returns ``self``."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if not _is_dask(y):
            y = column_or_1d(y, warn=True)
            if y.dtype.kind not in "biuf":
                try:
                    y = y.astype(np.float64)
                except (TypeError, ValueError) as e:
                    raise ValueError(f"{type(self).__name__} needs a numeric y; {e}") from e
            y = y.astype(np.float64)
            if not np.isfinite(y).all():
                raise ValueError("Input y contains NaN or infinity.")
        return self._fit_engine(X, y, sample_weight)

    def predict(self, X):
        """Predicted values (response units)."""
        pred, dask_in, dask_arr, chunks = self._predict_frame(X)
        return self._out(pred["predict"], dask_in, dask_arr, chunks)


class _DeepLearningAutoEncoderBase(TransformerMixin, _Base):
    _kind = "autoencoder"

    def fit(self, X, y=None):
        """Train the auto-encoder on ``X``; ``y`` is ignored. Returns ``self``."""
        self._fit_engine(X, None, None)
        hidden = list(self.hidden)
        layer = len(hidden) // 2 if self.feature_layer is None else self.feature_layer
        if not isinstance(layer, (int, np.integer)) or not 0 <= layer < len(hidden):
            raise ValueError(f"feature_layer must be None or an integer in [0, {len(hidden) - 1}]; got "
                             f"{self.feature_layer!r}")
        self.layer_ = int(layer)
        return self

    def transform(self, X):
        """Activations of hidden layer ``layer_`` (H2O's ``deepfeatures``)."""
        check_is_fitted(self, "model_")
        dask_arr = _is_dask_array(X)
        frame = self._frame(X, reset=False)
        out = self.model_.deepfeatures(frame, self.layer_)
        return self._out(out, _is_dask(X), dask_arr, X.chunks[0] if dask_arr else None)

    def score_samples(self, X):
        """Reconstruction error per row (H2O's ``anomaly``, ``Reconstruction.MSE``)."""
        check_is_fitted(self, "model_")
        dask_arr = _is_dask_array(X)
        frame = self._frame(X, reset=False)
        out = self.model_.anomaly(frame)["Reconstruction.MSE"]
        return self._out(out, _is_dask(X), dask_arr, X.chunks[0] if dask_arr else None)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "model_")
        return np.asarray([f"DF.L{self.layer_ + 1}.C{j + 1}" for j in range(list(self.hidden)[self.layer_])],
                          dtype=object)


# ---- generated by `python -m daskdl._codegen` from daskdl.params.PARAMS: do not edit by hand ----
class DeepLearningClassifier(_DeepLearningClassifierBase):
    """H2O-3's Deep Learning as a scikit-learn classifier.

    ``fit(X, y, sample_weight=None)``, ``predict``, ``predict_proba``, ``score``; ``X`` is a numpy
    array, a pandas DataFrame (categorical and text columns are one-hot encoded as H2O does), a
    dask array or a dask DataFrame. Dask in gives dask out, lazily. The parameters are H2O's, with
    H2O's defaults; ``predict`` returns H2O's label (for two classes, the threshold that maximizes
    F1 on the training or validation metrics), one of ``classes_``.

    Parameters
    ----------
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
    ignore_const_cols : bool, default True
        Ignore constant columns.
    score_each_iteration : bool, default False
        Whether to score during each iteration of model training.
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
    hidden : list[int], default (200, 200)
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
    client : Any, default None
        A ``distributed.Client`` to train and predict on; None: the current client for dask inputs, this
        process for numpy and pandas inputs (as xgboost.dask and lightgbm.dask).
    """

    def __init__(
        self,
        *,
        nfolds: int = 0,
        keep_cross_validation_models: bool = True,
        keep_cross_validation_predictions: bool = False,
        keep_cross_validation_fold_assignment: bool = False,
        fold_assignment: str = 'auto',
        ignore_const_cols: bool = True,
        score_each_iteration: bool = False,
        balance_classes: bool = False,
        class_sampling_factors: tuple[float, ...] | None = None,
        max_after_balance_size: float = 5.0,
        max_confusion_matrix_size: int = 20,
        checkpoint: Any = None,
        pretrained_autoencoder: Any = None,
        overwrite_with_best_model: bool = True,
        use_all_factor_levels: bool = True,
        standardize: bool = True,
        activation: str = 'rectifier',
        hidden: tuple[int, ...] = (200, 200),
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
        hidden_dropout_ratios: tuple[float, ...] | None = None,
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
        client: Any = None,
    ) -> None:
        self.nfolds = nfolds
        self.keep_cross_validation_models = keep_cross_validation_models
        self.keep_cross_validation_predictions = keep_cross_validation_predictions
        self.keep_cross_validation_fold_assignment = keep_cross_validation_fold_assignment
        self.fold_assignment = fold_assignment
        self.ignore_const_cols = ignore_const_cols
        self.score_each_iteration = score_each_iteration
        self.balance_classes = balance_classes
        self.class_sampling_factors = class_sampling_factors
        self.max_after_balance_size = max_after_balance_size
        self.max_confusion_matrix_size = max_confusion_matrix_size
        self.checkpoint = checkpoint
        self.pretrained_autoencoder = pretrained_autoencoder
        self.overwrite_with_best_model = overwrite_with_best_model
        self.use_all_factor_levels = use_all_factor_levels
        self.standardize = standardize
        self.activation = activation
        self.hidden = hidden
        self.epochs = epochs
        self.train_samples_per_iteration = train_samples_per_iteration
        self.target_ratio_comm_to_comp = target_ratio_comm_to_comp
        self.seed = seed
        self.adaptive_rate = adaptive_rate
        self.rho = rho
        self.epsilon = epsilon
        self.rate = rate
        self.rate_annealing = rate_annealing
        self.rate_decay = rate_decay
        self.momentum_start = momentum_start
        self.momentum_ramp = momentum_ramp
        self.momentum_stable = momentum_stable
        self.nesterov_accelerated_gradient = nesterov_accelerated_gradient
        self.input_dropout_ratio = input_dropout_ratio
        self.hidden_dropout_ratios = hidden_dropout_ratios
        self.l1 = l1
        self.l2 = l2
        self.max_w2 = max_w2
        self.initial_weight_distribution = initial_weight_distribution
        self.initial_weight_scale = initial_weight_scale
        self.initial_weights = initial_weights
        self.initial_biases = initial_biases
        self.loss = loss
        self.distribution = distribution
        self.quantile_alpha = quantile_alpha
        self.tweedie_power = tweedie_power
        self.huber_alpha = huber_alpha
        self.score_interval = score_interval
        self.score_training_samples = score_training_samples
        self.score_validation_samples = score_validation_samples
        self.score_duty_cycle = score_duty_cycle
        self.classification_stop = classification_stop
        self.regression_stop = regression_stop
        self.stopping_rounds = stopping_rounds
        self.stopping_metric = stopping_metric
        self.stopping_tolerance = stopping_tolerance
        self.max_runtime_secs = max_runtime_secs
        self.score_validation_sampling = score_validation_sampling
        self.diagnostics = diagnostics
        self.fast_mode = fast_mode
        self.force_load_balance = force_load_balance
        self.variable_importances = variable_importances
        self.replicate_training_data = replicate_training_data
        self.single_node_mode = single_node_mode
        self.shuffle_training_data = shuffle_training_data
        self.missing_values_handling = missing_values_handling
        self.quiet_mode = quiet_mode
        self.sparse = sparse
        self.col_major = col_major
        self.average_activation = average_activation
        self.sparsity_beta = sparsity_beta
        self.max_categorical_features = max_categorical_features
        self.reproducible = reproducible
        self.export_weights_and_biases = export_weights_and_biases
        self.mini_batch_size = mini_batch_size
        self.categorical_encoding = categorical_encoding
        self.elastic_averaging = elastic_averaging
        self.elastic_averaging_moving_rate = elastic_averaging_moving_rate
        self.elastic_averaging_regularization = elastic_averaging_regularization
        self.export_checkpoints_dir = export_checkpoints_dir
        self.auc_type = auc_type
        self.custom_metric_func = custom_metric_func
        self.gainslift_bins = gainslift_bins
        self.model_averaging = model_averaging
        self.client = client


class DeepLearningRegressor(_DeepLearningRegressorBase):
    """H2O-3's Deep Learning as a scikit-learn regressor.

    ``fit(X, y, sample_weight=None)``, ``predict``, ``score`` (R^2); ``X`` is a numpy array, a
    pandas DataFrame, a dask array or a dask DataFrame. Dask in gives dask out, lazily. The
    parameters are H2O's, with H2O's defaults.

    Parameters
    ----------
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
    ignore_const_cols : bool, default True
        Ignore constant columns.
    score_each_iteration : bool, default False
        Whether to score during each iteration of model training.
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
    hidden : list[int], default (200, 200)
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
    client : Any, default None
        A ``distributed.Client`` to train and predict on; None: the current client for dask inputs, this
        process for numpy and pandas inputs (as xgboost.dask and lightgbm.dask).
    """

    def __init__(
        self,
        *,
        nfolds: int = 0,
        keep_cross_validation_models: bool = True,
        keep_cross_validation_predictions: bool = False,
        keep_cross_validation_fold_assignment: bool = False,
        fold_assignment: str = 'auto',
        ignore_const_cols: bool = True,
        score_each_iteration: bool = False,
        balance_classes: bool = False,
        class_sampling_factors: tuple[float, ...] | None = None,
        max_after_balance_size: float = 5.0,
        max_confusion_matrix_size: int = 20,
        checkpoint: Any = None,
        pretrained_autoencoder: Any = None,
        overwrite_with_best_model: bool = True,
        use_all_factor_levels: bool = True,
        standardize: bool = True,
        activation: str = 'rectifier',
        hidden: tuple[int, ...] = (200, 200),
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
        hidden_dropout_ratios: tuple[float, ...] | None = None,
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
        client: Any = None,
    ) -> None:
        self.nfolds = nfolds
        self.keep_cross_validation_models = keep_cross_validation_models
        self.keep_cross_validation_predictions = keep_cross_validation_predictions
        self.keep_cross_validation_fold_assignment = keep_cross_validation_fold_assignment
        self.fold_assignment = fold_assignment
        self.ignore_const_cols = ignore_const_cols
        self.score_each_iteration = score_each_iteration
        self.balance_classes = balance_classes
        self.class_sampling_factors = class_sampling_factors
        self.max_after_balance_size = max_after_balance_size
        self.max_confusion_matrix_size = max_confusion_matrix_size
        self.checkpoint = checkpoint
        self.pretrained_autoencoder = pretrained_autoencoder
        self.overwrite_with_best_model = overwrite_with_best_model
        self.use_all_factor_levels = use_all_factor_levels
        self.standardize = standardize
        self.activation = activation
        self.hidden = hidden
        self.epochs = epochs
        self.train_samples_per_iteration = train_samples_per_iteration
        self.target_ratio_comm_to_comp = target_ratio_comm_to_comp
        self.seed = seed
        self.adaptive_rate = adaptive_rate
        self.rho = rho
        self.epsilon = epsilon
        self.rate = rate
        self.rate_annealing = rate_annealing
        self.rate_decay = rate_decay
        self.momentum_start = momentum_start
        self.momentum_ramp = momentum_ramp
        self.momentum_stable = momentum_stable
        self.nesterov_accelerated_gradient = nesterov_accelerated_gradient
        self.input_dropout_ratio = input_dropout_ratio
        self.hidden_dropout_ratios = hidden_dropout_ratios
        self.l1 = l1
        self.l2 = l2
        self.max_w2 = max_w2
        self.initial_weight_distribution = initial_weight_distribution
        self.initial_weight_scale = initial_weight_scale
        self.initial_weights = initial_weights
        self.initial_biases = initial_biases
        self.loss = loss
        self.distribution = distribution
        self.quantile_alpha = quantile_alpha
        self.tweedie_power = tweedie_power
        self.huber_alpha = huber_alpha
        self.score_interval = score_interval
        self.score_training_samples = score_training_samples
        self.score_validation_samples = score_validation_samples
        self.score_duty_cycle = score_duty_cycle
        self.classification_stop = classification_stop
        self.regression_stop = regression_stop
        self.stopping_rounds = stopping_rounds
        self.stopping_metric = stopping_metric
        self.stopping_tolerance = stopping_tolerance
        self.max_runtime_secs = max_runtime_secs
        self.score_validation_sampling = score_validation_sampling
        self.diagnostics = diagnostics
        self.fast_mode = fast_mode
        self.force_load_balance = force_load_balance
        self.variable_importances = variable_importances
        self.replicate_training_data = replicate_training_data
        self.single_node_mode = single_node_mode
        self.shuffle_training_data = shuffle_training_data
        self.missing_values_handling = missing_values_handling
        self.quiet_mode = quiet_mode
        self.sparse = sparse
        self.col_major = col_major
        self.average_activation = average_activation
        self.sparsity_beta = sparsity_beta
        self.max_categorical_features = max_categorical_features
        self.reproducible = reproducible
        self.export_weights_and_biases = export_weights_and_biases
        self.mini_batch_size = mini_batch_size
        self.categorical_encoding = categorical_encoding
        self.elastic_averaging = elastic_averaging
        self.elastic_averaging_moving_rate = elastic_averaging_moving_rate
        self.elastic_averaging_regularization = elastic_averaging_regularization
        self.export_checkpoints_dir = export_checkpoints_dir
        self.auc_type = auc_type
        self.custom_metric_func = custom_metric_func
        self.gainslift_bins = gainslift_bins
        self.model_averaging = model_averaging
        self.client = client


class DeepLearningAutoEncoder(_DeepLearningAutoEncoderBase):
    """H2O-3's Deep Learning auto-encoder as a scikit-learn transformer.

    ``transform`` gives the activations of a hidden layer (H2O's ``deepfeatures``) and
    ``score_samples`` the reconstruction error per row (H2O's ``anomaly``: the mean squared error
    over the expanded, normalized input).

    Parameters
    ----------
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
    ignore_const_cols : bool, default True
        Ignore constant columns.
    score_each_iteration : bool, default False
        Whether to score during each iteration of model training.
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
    hidden : list[int], default (200, 200)
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
    feature_layer : int | None, default None
        Hidden layer (0-based) whose activations ``transform`` returns; None: the middle hidden layer.
    client : Any, default None
        A ``distributed.Client`` to train and predict on; None: the current client for dask inputs, this
        process for numpy and pandas inputs (as xgboost.dask and lightgbm.dask).
    """

    def __init__(
        self,
        *,
        nfolds: int = 0,
        keep_cross_validation_models: bool = True,
        keep_cross_validation_predictions: bool = False,
        keep_cross_validation_fold_assignment: bool = False,
        fold_assignment: str = 'auto',
        ignore_const_cols: bool = True,
        score_each_iteration: bool = False,
        balance_classes: bool = False,
        class_sampling_factors: tuple[float, ...] | None = None,
        max_after_balance_size: float = 5.0,
        max_confusion_matrix_size: int = 20,
        checkpoint: Any = None,
        pretrained_autoencoder: Any = None,
        overwrite_with_best_model: bool = True,
        use_all_factor_levels: bool = True,
        standardize: bool = True,
        activation: str = 'rectifier',
        hidden: tuple[int, ...] = (200, 200),
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
        hidden_dropout_ratios: tuple[float, ...] | None = None,
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
        feature_layer: int | None = None,
        client: Any = None,
    ) -> None:
        self.nfolds = nfolds
        self.keep_cross_validation_models = keep_cross_validation_models
        self.keep_cross_validation_predictions = keep_cross_validation_predictions
        self.keep_cross_validation_fold_assignment = keep_cross_validation_fold_assignment
        self.fold_assignment = fold_assignment
        self.ignore_const_cols = ignore_const_cols
        self.score_each_iteration = score_each_iteration
        self.balance_classes = balance_classes
        self.class_sampling_factors = class_sampling_factors
        self.max_after_balance_size = max_after_balance_size
        self.max_confusion_matrix_size = max_confusion_matrix_size
        self.checkpoint = checkpoint
        self.pretrained_autoencoder = pretrained_autoencoder
        self.overwrite_with_best_model = overwrite_with_best_model
        self.use_all_factor_levels = use_all_factor_levels
        self.standardize = standardize
        self.activation = activation
        self.hidden = hidden
        self.epochs = epochs
        self.train_samples_per_iteration = train_samples_per_iteration
        self.target_ratio_comm_to_comp = target_ratio_comm_to_comp
        self.seed = seed
        self.adaptive_rate = adaptive_rate
        self.rho = rho
        self.epsilon = epsilon
        self.rate = rate
        self.rate_annealing = rate_annealing
        self.rate_decay = rate_decay
        self.momentum_start = momentum_start
        self.momentum_ramp = momentum_ramp
        self.momentum_stable = momentum_stable
        self.nesterov_accelerated_gradient = nesterov_accelerated_gradient
        self.input_dropout_ratio = input_dropout_ratio
        self.hidden_dropout_ratios = hidden_dropout_ratios
        self.l1 = l1
        self.l2 = l2
        self.max_w2 = max_w2
        self.initial_weight_distribution = initial_weight_distribution
        self.initial_weight_scale = initial_weight_scale
        self.initial_weights = initial_weights
        self.initial_biases = initial_biases
        self.loss = loss
        self.distribution = distribution
        self.quantile_alpha = quantile_alpha
        self.tweedie_power = tweedie_power
        self.huber_alpha = huber_alpha
        self.score_interval = score_interval
        self.score_training_samples = score_training_samples
        self.score_validation_samples = score_validation_samples
        self.score_duty_cycle = score_duty_cycle
        self.classification_stop = classification_stop
        self.regression_stop = regression_stop
        self.stopping_rounds = stopping_rounds
        self.stopping_metric = stopping_metric
        self.stopping_tolerance = stopping_tolerance
        self.max_runtime_secs = max_runtime_secs
        self.score_validation_sampling = score_validation_sampling
        self.diagnostics = diagnostics
        self.fast_mode = fast_mode
        self.force_load_balance = force_load_balance
        self.variable_importances = variable_importances
        self.replicate_training_data = replicate_training_data
        self.single_node_mode = single_node_mode
        self.shuffle_training_data = shuffle_training_data
        self.missing_values_handling = missing_values_handling
        self.quiet_mode = quiet_mode
        self.sparse = sparse
        self.col_major = col_major
        self.average_activation = average_activation
        self.sparsity_beta = sparsity_beta
        self.max_categorical_features = max_categorical_features
        self.reproducible = reproducible
        self.export_weights_and_biases = export_weights_and_biases
        self.mini_batch_size = mini_batch_size
        self.categorical_encoding = categorical_encoding
        self.elastic_averaging = elastic_averaging
        self.elastic_averaging_moving_rate = elastic_averaging_moving_rate
        self.elastic_averaging_regularization = elastic_averaging_regularization
        self.export_checkpoints_dir = export_checkpoints_dir
        self.auc_type = auc_type
        self.custom_metric_func = custom_metric_func
        self.gainslift_bins = gainslift_bins
        self.model_averaging = model_averaging
        self.feature_layer = feature_layer
        self.client = client
# ---- end of generated code ----
