"""H2O Deep Learning parameter table, validation and resolution.

``PARAMETERS`` lists the 91 parameters of H2O's ``H2ODeepLearningEstimator`` in
the same order and with the same defaults. :func:`validate` checks a full
parameter dictionary against the problem at hand and returns a :class:`Resolved`
object holding the *effective* values training uses (after H2O's automatic
adjustments: distribution/loss resolution, manual-rate values zeroed under
ADADELTA, dropout-ratio defaults, reproducibility switches, ...).

Enum values are accepted in H2O's Java spelling (``"RectifierWithDropout"``) and
Python spelling (``"rectifier_with_dropout"``), case-insensitively, and are
normalised to lowercase snake case. ``None`` for a parameter whose default is
not ``None`` means "use the default".
"""

from __future__ import annotations

import copy
import random
import warnings
from dataclasses import dataclass

from daskdl.metrics.custom import resolve_custom_metric
from daskdl._validation import (
    Problems,
    check_bool,
    check_enum,
    check_hidden,
    check_int,
    check_number,
    check_number_list,
    check_optional_str,
    check_str_list,
)

__all__ = [
    "DASKDL_ONLY",
    "PARAMS",
    "Param",
    "PARAMETERS",
    "NOT_YET",
    "ENUMS",
    "CHECKPOINT_MODIFIABLE",
    "CHECKPOINT_NOT_MODIFIABLE",
    "CHECKPOINT_IRRELEVANT",
    "ParameterError",
    "FeatureNotAvailableError",
    "Resolved",
    "default_parameters",
    "validate",
]

FLOAT_MAX = 3.4028235e38  # Java Float.MAX_VALUE, H2O's max_w2 default
INT_MAX = 2147483647  # Java Integer.MAX_VALUE

@dataclass(frozen=True)
class Range:
    """The allowed interval of a number (or of each number of a list): ``lo`` / ``hi`` bounds
    (None: unbounded), open or closed; ``allow_inf`` admits infinity; ``rule`` is the message's
    wording where the default one (``must be >= 0``) would not say it well."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    allow_inf: bool = False
    rule: str | None = None


@dataclass(frozen=True)
class Param:
    """One H2O Deep Learning parameter: its name, H2O's default, its type (as annotated in
    ``DeepLearningEstimator.__init__``), the allowed values of an enum (canonical lowercase
    snake case, ``None`` for other parameters), a one-line description and the allowed range of
    a number. :func:`validate` checks every value against its type, values and range."""

    name: str
    default: object
    type: str
    values: tuple[str, ...] | None
    doc: str
    range: Range | None = None


def _p(name, default, type_, *rest, **range_):
    values, doc = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
    return Param(name, default, type_, tuple(values) if values is not None else None, doc,
                 Range(**range_) if range_ else None)


#: The 91 parameters of h2o 3.46's ``H2ODeepLearningEstimator``, in H2O's order, with H2O's
#: defaults. ``DeepLearningEstimator.__init__`` is generated from this table
#: (``python -m daskdl._codegen``), as are ``PARAMETERS`` and ``ENUMS``.
PARAMS: tuple[Param, ...] = (
    _p('model_id', None, 'str | None',
          'Model identifier.'),
    _p('training_frame', None, 'Any',
          'Training data: a dask or pandas DataFrame.'),
    _p('validation_frame', None, 'Any',
          'Validation data (a dask or pandas DataFrame), scored during training.'),
    _p('nfolds', 0, 'int',
          'Number of folds for K-fold cross-validation (0 to disable or >= 2).',
          lo=0),
    _p('keep_cross_validation_models', True, 'bool',
          'Whether to keep the cross-validation models.'),
    _p('keep_cross_validation_predictions', False, 'bool',
          'Whether to keep the predictions of the cross-validation models.'),
    _p('keep_cross_validation_fold_assignment', False, 'bool',
          'Whether to keep the cross-validation fold assignment.'),
    _p('fold_assignment', 'auto', 'str', ('auto', 'random', 'modulo', 'stratified'),
          'Cross-validation fold assignment scheme if fold_column is not given (Stratified for classification).'),
    _p('fold_column', None, 'str | None',
          'Column with cross-validation fold index assignment per observation.'),
    _p('response_column', None, 'str | None',
          'Response variable column.'),
    _p('ignored_columns', None, 'list[str] | None',
          'Names of columns to ignore for training.'),
    _p('ignore_const_cols', True, 'bool',
          'Ignore constant columns.'),
    _p('score_each_iteration', False, 'bool',
          'Whether to score during each iteration of model training.'),
    _p('weights_column', None, 'str | None',
          'Column with observation weights (0 excludes a row; 2 counts it twice).'),
    _p('offset_column', None, 'str | None',
          'Offset column, added to the combination of columns before the link function (regression only).'),
    _p('balance_classes', False, 'bool',
          'Balance training data class counts via over/under-sampling (for imbalanced data).'),
    _p('class_sampling_factors', None, 'list[float] | None',
          'Desired over/under-sampling ratios per class (in lexicographic order); requires balance_classes.',
          lo=0.0, rule='must all be >= 0'),
    _p('max_after_balance_size', 5.0, 'float',
          'Maximum relative size of the training data after balancing class counts (can be less than 1.0). '
          'Requires balance_classes.',
          lo=0.0, lo_open=True),
    _p('max_confusion_matrix_size', 20, 'int',
          '[Deprecated] Maximum number of classes for confusion matrices to be printed.',
          lo=1),
    _p('checkpoint', None, 'Any',
          'Model checkpoint to resume training with (a model, a model_id or a saved model path).'),
    _p('pretrained_autoencoder', None, 'Any',
          'Pretrained autoencoder model (or model_id) to initialize this model with.'),
    _p('overwrite_with_best_model', True, 'bool',
          'If enabled, override the final model with the best model found during training.'),
    _p('use_all_factor_levels', True, 'bool',
          'Use all factor levels of categorical variables (else the first level is dropped); forced on for '
          'autoencoders.'),
    _p('standardize', True, 'bool',
          'Automatically standardize the data (else the user must provide properly scaled inputs).'),
    _p('activation', 'rectifier', 'str',
          ('tanh', 'tanh_with_dropout', 'rectifier', 'rectifier_with_dropout', 'maxout', 'maxout_with_dropout'),
          'Activation function.'),
    _p('hidden', [200, 200], 'list[int]',
          'Hidden layer sizes (e.g. [100, 100]).'),
    _p('epochs', 10.0, 'float',
          'How many times the dataset should be iterated (streamed), can be fractional.',
          lo=0.0),
    _p('train_samples_per_iteration', -2, 'int',
          'Training samples (globally) per iteration: 0 one epoch, -1 all available data, -2 automatic.',
          lo=-2, rule='must be -2 (auto-tune), -1 (all rows on every node), 0 (one epoch) or >= 1'),
    _p('target_ratio_comm_to_comp', 0.05, 'float',
          'Target ratio of communication overhead to computation (train_samples_per_iteration=-2 auto-tuning).',
          lo=0.0),
    _p('seed', -1, 'int',
          'Seed for random numbers (-1: random); reproducible only with reproducible=True.',
          lo=-(2 ** 63), hi=2 ** 63 - 1, rule='must fit in a signed 64-bit integer'),
    _p('adaptive_rate', True, 'bool',
          'Adaptive learning rate.'),
    _p('rho', 0.99, 'float',
          'Adaptive learning rate time decay factor (similarity to prior updates).',
          lo=0.0, hi=1.0, hi_open=True),
    _p('epsilon', 1e-08, 'float',
          'Adaptive learning rate smoothing factor (to avoid divisions by zero and allow progress).',
          lo=0.0, lo_open=True),
    _p('rate', 0.005, 'float',
          'Learning rate (higher => less stable, lower => slower convergence).',
          lo=0.0),
    _p('rate_annealing', 1e-06, 'float',
          'Learning rate annealing: rate / (1 + rate_annealing * samples).',
          lo=0.0),
    _p('rate_decay', 1.0, 'float',
          'Learning rate decay factor between layers (N-th layer: rate * rate_decay ^ (n - 1)).',
          lo=0.0),
    _p('momentum_start', 0.0, 'float',
          'Initial momentum at the beginning of training (try 0.5).',
          lo=0.0, hi=1.0, hi_open=True),
    _p('momentum_ramp', 1000000.0, 'float',
          'Number of training samples for which momentum increases.',
          lo=0.0),
    _p('momentum_stable', 0.0, 'float',
          'Final momentum after the ramp is over (try 0.99).',
          lo=0.0, hi=1.0, hi_open=True),
    _p('nesterov_accelerated_gradient', True, 'bool',
          'Use Nesterov accelerated gradient (recommended).'),
    _p('input_dropout_ratio', 0.0, 'float',
          'Input layer dropout ratio (can improve generalization, try 0.1 or 0.2).',
          lo=0.0, hi=1.0, hi_open=True),
    _p('hidden_dropout_ratios', None, 'list[float] | None',
          'Hidden layer dropout ratios, one per hidden layer (default 0.5 for the activations with dropout).',
          lo=0.0, hi=1.0, hi_open=True),
    _p('l1', 0.0, 'float',
          'L1 regularization (can add stability and improve generalization, causes many weights to become 0).',
          lo=0.0),
    _p('l2', 0.0, 'float',
          'L2 regularization (can add stability and improve generalization, causes many weights to be small).',
          lo=0.0),
    _p('max_w2', FLOAT_MAX, 'float',
          'Constraint for squared sum of incoming weights per unit (e.g. for Rectifier).',
          lo=0.0, lo_open=True, allow_inf=True),
    _p('initial_weight_distribution', 'uniform_adaptive', 'str', ('uniform_adaptive', 'uniform', 'normal'),
          'Initial weight distribution.'),
    _p('initial_weight_scale', 1.0, 'float',
          'Uniform: -value...value, Normal: stddev.',
          lo=0.0),
    _p('initial_weights', None, 'Any',
          'Weight matrices to initialize the network with (one per layer: arrays or DataFrames).'),
    _p('initial_biases', None, 'Any',
          'Bias vectors to initialize the network with (one per layer: arrays or DataFrames).'),
    _p('loss', 'automatic', 'str', ('automatic', 'cross_entropy', 'quadratic', 'huber', 'absolute', 'quantile'),
          'Loss function.'),
    _p('distribution', 'auto', 'str',
          ('auto', 'bernoulli', 'multinomial', 'gaussian', 'poisson', 'gamma', 'tweedie', 'laplace',
           'quantile', 'huber'),
          'Distribution function.'),
    _p('quantile_alpha', 0.5, 'float',
          'Desired quantile for Quantile regression, must be between 0 and 1.',
          lo=0.0, hi=1.0),
    _p('tweedie_power', 1.5, 'float',
          'Tweedie power for Tweedie regression, must be between 1 and 2.',
          lo=1.0, hi=2.0, lo_open=True, hi_open=True),
    _p('huber_alpha', 0.9, 'float',
          'Desired quantile for Huber/M-regression (threshold between quadratic and linear loss, in [0, 1]).',
          lo=0.0, hi=1.0),
    _p('score_interval', 5.0, 'float',
          'Shortest time interval (in seconds) between model scoring.',
          lo=0.0),
    _p('score_training_samples', 10000, 'int',
          'Number of training set samples for scoring (0 for all).',
          lo=0, rule='must be >= 0 (0 = all rows)'),
    _p('score_validation_samples', 0, 'int',
          'Number of validation set samples for scoring (0 for all).',
          lo=0, rule='must be >= 0 (0 = all rows)'),
    _p('score_duty_cycle', 0.1, 'float',
          'Maximum duty cycle fraction for scoring (lower: more training, higher: more scoring).',
          lo=0.0, hi=1.0),
    _p('classification_stop', 0.0, 'float',
          'Stopping criterion for classification error fraction on training data (-1 to disable).'),
    _p('regression_stop', 1e-06, 'float',
          'Stopping criterion for regression error (MSE) on training data (-1 to disable).'),
    _p('stopping_rounds', 5, 'int',
          'Stop if the moving average of length k of stopping_metric does not improve for k scoring events (0 '
          'to disable).',
          lo=0, rule='must be >= 0 (0 disables early stopping)'),
    _p('stopping_metric', 'auto', 'str',
          ('auto', 'deviance', 'logloss', 'mse', 'rmse', 'mae', 'rmsle', 'auc', 'aucpr', 'lift_top_group',
           'misclassification', 'mean_per_class_error', 'custom', 'custom_increasing'),
          'Metric to use for early stopping (AUTO: logloss for classification, deviance for regression).'),
    _p('stopping_tolerance', 0.0, 'float',
          'Relative tolerance for metric-based stopping (stop if the relative improvement is below this).',
          lo=0.0),
    _p('max_runtime_secs', 0.0, 'float',
          'Maximum allowed runtime in seconds for model training. Use 0 to disable.',
          lo=0.0, rule='must be >= 0 (0 = unlimited)'),
    _p('score_validation_sampling', 'uniform', 'str', ('uniform', 'stratified'),
          'Method used to sample validation dataset for scoring.'),
    _p('diagnostics', True, 'bool',
          'Enable diagnostics for hidden layers.'),
    _p('fast_mode', True, 'bool',
          'Enable fast mode (minor approximation in back-propagation).'),
    _p('force_load_balance', True, 'bool',
          'Force extra load balancing to increase training speed for small datasets (to keep all cores busy).'),
    _p('variable_importances', True, 'bool',
          'Compute variable importances for input features (Gedeon method) - can be slow for large networks.'),
    _p('replicate_training_data', True, 'bool',
          'Replicate the entire training dataset onto every node for faster training on small datasets.'),
    _p('single_node_mode', False, 'bool',
          'Run on a single node for fine-tuning of model parameters.'),
    _p('shuffle_training_data', False, 'bool',
          'Enable shuffling of training data (recommended with replicated data or balance_classes).'),
    _p('missing_values_handling', 'mean_imputation', 'str', ('mean_imputation', 'skip'),
          'Handling of missing values. Either MeanImputation or Skip.'),
    _p('quiet_mode', False, 'bool',
          'Enable quiet mode for less output during training.'),
    _p('autoencoder', False, 'bool',
          'Train an auto-encoder (no response).'),
    _p('sparse', False, 'bool',
          'Sparse data handling (more efficient for data with lots of 0 values).'),
    _p('col_major', False, 'bool',
          'Deprecated: a column-major input weight matrix (True is an error).'),
    _p('average_activation', 0.0, 'float',
          'Average activation for sparse auto-encoder (experimental).'),
    _p('sparsity_beta', 0.0, 'float',
          'Sparsity regularization (experimental).',
          lo=0.0),
    _p('max_categorical_features', INT_MAX, 'int',
          'Max. number of categorical features, enforced via hashing (experimental).',
          lo=1),
    _p('reproducible', False, 'bool',
          'Force reproducibility on small data (will be slow - only uses 1 thread).'),
    _p('export_weights_and_biases', False, 'bool',
          "Keep the network's weights and biases available as frames (model.weights(), model.biases())."),
    _p('mini_batch_size', 1, 'int',
          'Mini-batch size (smaller leads to better fit, larger can speed up and generalize better).',
          lo=1),
    _p('categorical_encoding', 'auto', 'str',
          ('auto', 'enum', 'one_hot_internal', 'one_hot_explicit', 'binary', 'eigen', 'label_encoder',
           'sort_by_response', 'enum_limited'),
          'Encoding scheme for categorical features.'),
    _p('elastic_averaging', False, 'bool',
          'Elastic averaging between compute nodes can improve distributed model convergence (experimental).'),
    _p('elastic_averaging_moving_rate', 0.9, 'float',
          'Elastic averaging moving rate (only if elastic averaging is enabled).',
          lo=0.0, hi=1.0),
    _p('elastic_averaging_regularization', 0.001, 'float',
          'Elastic averaging regularization strength (only if elastic averaging is enabled).',
          lo=0.0),
    _p('export_checkpoints_dir', None, 'str | None',
          'Automatically export generated models to this directory.'),
    _p('auc_type', 'auto', 'str', ('auto', 'none', 'macro_ovr', 'weighted_ovr', 'macro_ovo', 'weighted_ovo'),
          'Set default multinomial AUC type.'),
    _p('custom_metric_func', None, 'Any',
          "Custom evaluation metric: H2O's map/reduce/metric class or its reference (daskdl.upload_custom_metric)."),
    _p('gainslift_bins', -1, 'int',
          'Gains/lift table number of bins (0 disables, -1 automatic binning).',
          lo=-1, rule='must be -1 (automatic), 0 (disabled) or >= 1'),
    # daskdl's own parameters (not in H2O): listed in DASKDL_ONLY
    _p('model_averaging', 'block_momentum', 'str', ('block_momentum', 'average'),
          "daskdl only: how the workers' models are combined each iteration: 'block_momentum' (block "
          "momentum over their average, the default) or 'average' (H2O's plain average)."),
)

#: Parameters of daskdl that H2O does not have.
DASKDL_ONLY: frozenset[str] = frozenset({"model_averaging"})


_DEFAULTS: tuple[tuple[str, object], ...] = tuple((p.name, p.default) for p in PARAMS)

#: Ordered ``name -> default`` for all 91 parameters. Treat as read-only; use
#: :func:`default_parameters` for a private, mutable copy.
PARAMETERS: dict[str, object] = {name: copy.deepcopy(default) for name, default in _DEFAULTS}


def for_validation(parms: dict) -> dict:
    """The parameters of ``parms`` as :func:`validate` takes them: frames are not parameters to check."""
    p = {k: v for k, v in parms.items() if k in PARAMETERS}
    p["training_frame"] = None
    p["validation_frame"] = None
    return p


def default_parameters() -> dict[str, object]:
    """A fresh ``name -> default`` dict (mutable values are not shared)."""
    return {name: copy.deepcopy(default) for name, default in _DEFAULTS}


#: Canonical (lowercase snake case) values accepted for each enum parameter.
ENUMS: dict[str, tuple[str, ...]] = {p.name: p.values for p in PARAMS if p.values is not None}

# Recognised values that deep learning refuses, with the reason.
_REJECTED: dict[str, dict[str, str]] = {
    "loss": {"modified_huber": "deep learning does not support the ModifiedHuber loss; "
                               "use cross_entropy or quadratic for classification"},
    "distribution": {
        "quasibinomial": "deep learning does not support the quasibinomial distribution",
        "ordinal": "deep learning does not support the ordinal distribution",
        "custom": "deep learning does not support custom distributions",
        "fractionalbinomial": "deep learning does not support the fractionalbinomial distribution",
        "negativebinomial": "deep learning does not support the negativebinomial distribution",
        "modified_huber": "deep learning does not support the modified_huber distribution",
    },
    "activation": {
        "exp_rectifier": "ExpRectifier is not an H2O deep learning activation in this version",
        "exp_rectifier_with_dropout": "ExpRectifierWithDropout is not an H2O deep learning activation "
                                      "in this version",
    },
}

#: Parameters whose non-default values ask for a feature that is not available yet
#: (``name -> feature``). Remove an entry once the feature exists.
NOT_YET: dict[str, str] = {}

# For NOT_YET enum parameters: values (canonical) that are available now.
_NOT_YET_OK_VALUES: dict[str, frozenset[str]] = {}

# --- checkpoint restart (spec §9.1), mapped to the Python names ------------------------------
#: Parameters that may be changed when restarting from a checkpoint.
CHECKPOINT_MODIFIABLE: frozenset[str] = frozenset({
    "seed", "epochs", "score_interval", "train_samples_per_iteration", "target_ratio_comm_to_comp",
    "score_duty_cycle", "score_training_samples", "score_validation_samples",
    "score_validation_sampling", "classification_stop", "regression_stop", "stopping_rounds",
    "stopping_metric", "stopping_tolerance", "quiet_mode", "max_confusion_matrix_size", "diagnostics",
    "variable_importances", "initial_weight_distribution", "initial_weight_scale",
    "force_load_balance", "replicate_training_data", "shuffle_training_data", "single_node_mode",
    "fast_mode", "l1", "l2", "max_w2", "input_dropout_ratio", "hidden_dropout_ratios", "loss",
    "overwrite_with_best_model", "missing_values_handling", "average_activation", "reproducible",
    "export_weights_and_biases", "elastic_averaging", "elastic_averaging_moving_rate",
    "elastic_averaging_regularization", "mini_batch_size", "pretrained_autoencoder",
    # generic model-builder parameters, not checked by the restart logic
    "max_runtime_secs", "score_each_iteration", "weights_column", "offset_column", "balance_classes",
    "class_sampling_factors", "max_after_balance_size", "export_checkpoints_dir", "auc_type",
    "custom_metric_func", "gainslift_bins", "model_averaging",
})

#: Parameters that must equal the checkpoint's values.
CHECKPOINT_NOT_MODIFIABLE: frozenset[str] = frozenset({
    "response_column", "activation", "use_all_factor_levels", "standardize", "adaptive_rate",
    "autoencoder", "rho", "epsilon", "sparse", "sparsity_beta", "col_major", "rate", "rate_annealing",
    "rate_decay", "momentum_start", "momentum_ramp", "momentum_stable", "nesterov_accelerated_gradient",
    "ignore_const_cols", "max_categorical_features", "nfolds", "distribution", "quantile_alpha",
    "huber_alpha", "tweedie_power",
    # must match the checkpoint as well (network shape / expanded input layout)
    "hidden", "ignored_columns", "categorical_encoding",
})

#: Parameters that play no part in the restart comparison: identifiers, frames, the checkpoint
#: itself, initial weights (an error together with a checkpoint) and cross-validation settings
#: (cross-validation is not allowed with a checkpoint).
CHECKPOINT_IRRELEVANT: frozenset[str] = frozenset(PARAMETERS) - CHECKPOINT_MODIFIABLE - CHECKPOINT_NOT_MODIFIABLE

_CHECKPOINT_IRRELEVANT_EXPECTED = frozenset({
    "model_id", "training_frame", "validation_frame", "checkpoint", "initial_weights", "initial_biases",
    "fold_assignment", "fold_column", "keep_cross_validation_models",
    "keep_cross_validation_predictions", "keep_cross_validation_fold_assignment",
})
assert CHECKPOINT_IRRELEVANT == _CHECKPOINT_IRRELEVANT_EXPECTED, CHECKPOINT_IRRELEVANT ^ _CHECKPOINT_IRRELEVANT_EXPECTED


# ----------------------------------------------------------------------------------------------
class ParameterError(ValueError):
    """Invalid parameters; the message lists every problem found, one per line."""

    header = "DeepLearningEstimator parameters are invalid:"

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(self.header + "\n" + "\n".join(f" - {p}" for p in self.problems))


class FeatureNotAvailableError(NotImplementedError):
    """Parameters ask for features that are not available yet (one per line)."""

    header = "DeepLearningEstimator parameters ask for features that are not available yet:"

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(self.header + "\n" + "\n".join(f" - {p}" for p in self.problems))


@dataclass(frozen=True)
class Resolved:
    """Effective parameter values used by training (plain Python values only)."""

    # problem kind
    classification: bool
    autoencoder: bool
    n_classes: int  # 1 for regression and autoencoder
    distribution: str
    loss: str
    link: str
    # network
    activation: str  # "tanh", "rectifier" or "maxout"
    dropout: bool
    hidden: tuple[int, ...]
    input_dropout_ratio: float
    hidden_dropout_ratios: tuple[float, ...]
    # optimiser
    adaptive_rate: bool
    rho: float
    epsilon: float
    rate: float
    rate_annealing: float
    rate_decay: float
    momentum_start: float
    momentum_ramp: float
    momentum_stable: float
    nesterov: bool
    l1: float
    l2: float
    max_w2: float
    initial_weight_distribution: str
    initial_weight_scale: float
    # training loop
    epochs: float
    train_samples_per_iteration: int
    target_ratio_comm_to_comp: float
    seed: int
    reproducible: bool
    mini_batch_size: int
    fast_mode: bool
    replicate_training_data: bool
    shuffle_training_data: bool
    single_node_mode: bool
    force_load_balance: bool
    # scoring and stopping
    score_each_iteration: bool
    score_interval: float
    score_training_samples: int
    score_validation_samples: int
    score_validation_sampling: str
    score_duty_cycle: float
    classification_stop: float
    regression_stop: float
    stopping_rounds: int
    stopping_metric: str | None
    stopping_tolerance: float
    max_runtime_secs: float
    overwrite_with_best_model: bool
    variable_importances: bool
    quiet_mode: bool
    max_confusion_matrix_size: int
    gainslift_bins: int
    # data handling
    missing_values_handling: str
    standardize: bool
    use_all_factor_levels: bool
    ignore_const_cols: bool
    sparse: bool
    max_categorical_features: int
    categorical_encoding: str
    weights_column: str | None
    offset_column: str | None
    response_column: str | None
    ignored_columns: tuple[str, ...] | None
    # distribution parameters
    quantile_alpha: float
    tweedie_power: float
    huber_alpha: float
    # sparse autoencoder (defaults: fields added after format version 1 files were written)
    sparsity_beta: float = 0.0
    average_activation: float = 0.0
    auc_type: str = "auto"  # multinomial AUC: auto / none (not computed) or macro/weighted ovr/ovo
    custom_metric: str | None = None  # reference of custom_metric_func ("python:<name>=<module>.<Class>")
    model_averaging: str = "block_momentum"  # how worker models are combined (daskdl only)
    elastic_averaging: bool = False  # spec 5.5
    elastic_averaging_moving_rate: float = 0.9
    elastic_averaging_regularization: float = 0.001


# ----------------------------------------------------------------------------------------------
_CLASSIFICATION_DISTRIBUTIONS = ("bernoulli", "multinomial")
_REGRESSION_DISTRIBUTIONS = ("gaussian", "poisson", "gamma", "tweedie", "laplace", "quantile", "huber")
_AUTOENCODER_DISTRIBUTIONS = ("gaussian", "laplace", "quantile", "huber")
_LOSS_TO_DISTRIBUTION = {"automatic": "gaussian", "quadratic": "gaussian", "absolute": "laplace",
                         "quantile": "quantile", "huber": "huber"}
_DISTRIBUTION_TO_LOSS = {"gaussian": "quadratic", "laplace": "absolute", "quantile": "quantile",
                         "huber": "huber", "poisson": "automatic", "gamma": "automatic",
                         "tweedie": "automatic", "bernoulli": "cross_entropy",
                         "multinomial": "cross_entropy"}
_REGRESSION_LOSSES_FOR = {"poisson": ("automatic",), "gamma": ("automatic",), "tweedie": ("automatic",),
                          "laplace": ("automatic", "absolute"), "quantile": ("automatic", "quantile"),
                          "huber": ("automatic", "huber")}
_CLASSIFICATION_LOSSES = ("automatic", "cross_entropy", "quadratic")
_CLASSIFICATION_METRICS = ("logloss", "mse", "rmse", "auc", "aucpr", "lift_top_group",
                           "misclassification", "mean_per_class_error")
_BINOMIAL_ONLY_METRICS = ("auc", "aucpr", "lift_top_group")
_REGRESSION_METRICS = ("deviance", "mse", "rmse", "mae", "rmsle")
_AUTOENCODER_METRICS = ("mse",)
_MANUAL_RATE = ("rate", "rate_annealing", "rate_decay", "momentum_start", "momentum_ramp",
                "momentum_stable")

# Parameters holding frames, models or callables: their type is not checked here.
_OPAQUE = ("model_id", "training_frame", "validation_frame", "checkpoint", "pretrained_autoencoder",
           "initial_weights", "initial_biases", "custom_metric_func")


def _is_default(name: str, value) -> bool:
    default = PARAMETERS[name]
    if default is None:
        return value is None
    if isinstance(default, float) or isinstance(value, float):
        try:
            return float(value) == float(default)
        except (TypeError, ValueError):
            return False
    return value == default


def check_each(pb: Problems, p: dict, skip=()) -> dict:
    """Check every parameter of ``p`` against its row of :data:`PARAMS`: booleans, enums (with
    the refused values of ``_REJECTED`` named), optional strings, lists of column names, lists of
    numbers, the hidden layer sizes, integers and numbers within their :class:`Range`. Returns
    ``name -> checked value`` (None where the value is refused; the problem is recorded in
    ``pb``); parameters holding frames, models or callables (``_OPAQUE``) pass through."""
    out = {}
    for par in PARAMS:
        name, v = par.name, p[par.name]
        if name in skip or name in _OPAQUE:
            out[name] = v
            continue
        r = par.range or Range()
        if par.type == "bool":
            out[name] = check_bool(pb, name, v)
        elif par.values is not None:
            out[name] = check_enum(pb, name, v, par.values, rejected=_REJECTED.get(name))
        elif par.type == "str | None":
            out[name] = check_optional_str(pb, name, v)
        elif par.type == "list[str] | None":
            out[name] = check_str_list(pb, name, v)
        elif par.type == "list[float] | None":
            out[name] = check_number_list(pb, name, v, lo=r.lo, hi=r.hi, hi_open=r.hi_open, rule=r.rule)
        elif par.type == "list[int]":
            out[name] = check_hidden(pb, name, v)
        elif par.type == "int":
            out[name] = check_int(pb, name, v, lo=r.lo, hi=r.hi, rule=r.rule)
        elif par.type == "float":
            out[name] = check_number(pb, name, v, lo=r.lo, hi=r.hi, lo_open=r.lo_open, hi_open=r.hi_open,
                                     allow_inf=r.allow_inf, rule=r.rule)
        else:
            raise AssertionError(f"parameter {name}: no check for type {par.type!r} in PARAMS")
    return out


def validate(params: dict, *, response_kind: str | None, n_classes: int | None = None,
             y_min: float | None = None, has_validation: bool = False,
             n_rows: int | None = None) -> Resolved:
    """Check ``params`` (all 91 names; missing names take their defaults) and resolve them.

    ``response_kind`` is ``"categorical"``, ``"numeric"`` or ``None`` (autoencoder);
    ``n_classes`` is the number of response levels (categorical responses);
    ``y_min`` the smallest response value (numeric responses; used by poisson, gamma, tweedie);
    ``n_rows`` the number of training rows (checked against ``nfolds``). ``has_validation`` says
    whether a validation frame is present; no rule in the current table depends on it.

    Raises :class:`ParameterError` (a ``ValueError``) listing every invalid value, or
    :class:`FeatureNotAvailableError` (a ``NotImplementedError``) when only features that are
    not available yet were requested. Issues ``UserWarning`` for settings H2O ignores.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of parameter name -> value, got {type(params).__name__}")
    pb = Problems()
    unknown = [k for k in params if k not in PARAMETERS]
    for k in unknown:
        pb.error(f"unknown parameter {k!r}; see daskdl.params.PARAMETERS for the {len(PARAMETERS)} "
                 f"valid names")
    p = default_parameters()
    for k, v in params.items():
        if k in PARAMETERS and not (v is None and PARAMETERS[k] is not None):
            p[k] = v

    # ---- problem kind --------------------------------------------------------------------
    autoencoder = check_bool(pb, "autoencoder", p["autoencoder"])
    if response_kind not in ("categorical", "numeric", None):
        raise ValueError(f"response_kind must be 'categorical', 'numeric' or None (autoencoder), "
                         f"got {response_kind!r}")
    if autoencoder is False and response_kind is None:
        pb.error("response_column is required unless autoencoder=True (no response was given)")
    if autoencoder and response_kind is not None:
        pb.error(f"autoencoder=True takes no response column, but a {response_kind} response was given")
    classification = response_kind == "categorical" and not autoencoder
    nclass = 1
    if classification:
        if n_classes is None:
            nclass = 2  # pre-check before the data pass: class-count rules run again with the real count
        elif not isinstance(n_classes, int) or isinstance(n_classes, bool):
            pb.error(f"a categorical response needs its number of classes (n_classes), got {n_classes!r}")
        elif n_classes < 2:
            pb.error(f"response_column must have at least 2 classes for classification, got {n_classes}")
        else:
            nclass = n_classes
    if n_rows is not None and n_rows < 1:
        pb.error(f"training_frame must have at least 1 row, got {n_rows}")

    # ---- each parameter against its type, allowed values and range (the table PARAMS) ------
    n = check_each(pb, p, skip=("autoencoder",))
    b = e = n
    ignored_columns = n["ignored_columns"]
    class_sampling_factors = n["class_sampling_factors"]
    hidden_dropout_ratios = n["hidden_dropout_ratios"]
    hidden = n["hidden"]
    # ... and the rules a range does not express
    if n["nfolds"] == 1:
        pb.error("nfolds must be 0 (no cross-validation) or >= 2, got 1")
    if n["nfolds"] and n_rows is not None and n["nfolds"] > n_rows:
        pb.error(f"nfolds must not exceed the number of training rows ({n_rows}), got {n['nfolds']}")
    if hidden is not None and len(hidden) == 0:  # as H2O: "There must be at least one hidden layer."
        pb.error("hidden must give at least one hidden layer (H2O: there must be at least one hidden layer), "
                 "e.g. [200, 200]; got []")
        hidden = None
    for name in ("classification_stop", "regression_stop"):
        v = n[name]
        if v is not None and v < 0 and v != -1:
            pb.error(f"{name} must be -1 (disabled) or >= 0, got {v!r}")
            n[name] = None

    # ---- combination rules ---------------------------------------------------------------
    activation = e["activation"]
    with_dropout = activation is not None and activation.endswith("_with_dropout")
    if hidden is not None and hidden_dropout_ratios is not None and activation is not None:
        if not with_dropout:
            pb.error(f"hidden_dropout_ratios is given but activation={p['activation']!r} has no dropout; "
                     f"use tanh_with_dropout, rectifier_with_dropout or maxout_with_dropout, or leave "
                     f"hidden_dropout_ratios unset")
        elif len(hidden_dropout_ratios) != len(hidden):
            pb.error(f"hidden_dropout_ratios has {len(hidden_dropout_ratios)} entries but hidden has "
                     f"{len(hidden)} layers; give one ratio per hidden layer")
    if autoencoder and activation in ("maxout", "maxout_with_dropout"):
        pb.error(f"activation={p['activation']!r} is not supported with autoencoder=True; "
                 f"use tanh or rectifier (optionally with dropout)")
    if b["col_major"]:
        pb.error("col_major=True is not supported (deprecated column-major data handling); "
                 "leave col_major=False")
    if e["categorical_encoding"] in ("enum", "one_hot_explicit"):
        pb.error(f"categorical_encoding={p['categorical_encoding']!r} is not allowed for deep learning "
                 f"(inputs must be numeric one-hot); use 'auto' or 'one_hot_internal'")
    if b["sparse"] and b["elastic_averaging"]:
        pb.error("elastic_averaging=True cannot be combined with sparse=True")
    if autoencoder is False and n["sparsity_beta"]:
        pb.error(f"sparsity_beta is only used with autoencoder=True, got sparsity_beta="
                 f"{n['sparsity_beta']!r} with a supervised model")
    if autoencoder and n["sparsity_beta"] and activation is not None and n["average_activation"] is not None:
        rho = n["average_activation"]
        if activation.startswith("tanh") and not -1.0 < rho < 1.0:
            pb.error(f"average_activation must be in (-1, 1) for a sparse autoencoder with activation="
                     f"{p['activation']!r}; got {rho!r}")
        if activation.startswith("rectifier") and not rho > 0.0:
            pb.error(f"average_activation must be > 0 for a sparse autoencoder with activation="
                     f"{p['activation']!r} (sparsity_beta={n['sparsity_beta']!r}); got {rho!r}")
    if autoencoder and n["nfolds"]:
        pb.error("nfolds must be 0 with autoencoder=True (cross-validation needs a response)")
    if autoencoder and p["custom_metric_func"] is not None:
        pb.error("custom_metric_func cannot be used with autoencoder=True")
    if p["offset_column"] is not None and classification:
        pb.error(f"offset_column is only supported for regression, but the response is categorical "
                 f"({nclass} classes)")
    if p["fold_column"] is not None and n["nfolds"]:
        pb.error(f"give either nfolds or fold_column, not both (got nfolds={n['nfolds']!r} and "
                 f"fold_column={p['fold_column']!r})")
    if p["fold_column"] is not None and autoencoder:
        pb.error("fold_column cannot be used with autoencoder=True (cross-validation needs a response)")
    fa = e.get("fold_assignment")
    if fa not in (None, "auto"):
        if p["fold_column"] is not None:
            pb.error(f"fold_assignment={p['fold_assignment']!r} cannot be combined with fold_column "
                     f"(the fold column gives the folds); leave fold_assignment='AUTO'")
        elif not n["nfolds"]:
            pb.error(f"fold_assignment={p['fold_assignment']!r} is only used with cross-validation; set "
                     f"nfolds >= 2 or leave fold_assignment='AUTO'")
        elif fa == "stratified" and response_kind == "numeric":
            pb.error("fold_assignment='Stratified' needs a categorical response (classification), but the "
                     "response is numeric; use AUTO, Random or Modulo")
    if p["fold_column"] is not None and p["fold_column"] in (p["response_column"], p["weights_column"],
                                                             p["offset_column"]):
        pb.error(f"fold_column {p['fold_column']!r} must not be the response, weights or offset column")
    if class_sampling_factors is not None and b["balance_classes"] is False:
        pb.error("class_sampling_factors requires balance_classes=True")
    if b["balance_classes"] and response_kind is not None and not classification:
        pb.error("balance_classes=True requires a categorical response (classification)")
    if (class_sampling_factors is not None and classification and nclass > 1
            and len(class_sampling_factors) != nclass):
        pb.error(f"class_sampling_factors has {len(class_sampling_factors)} entries but the response has "
                 f"{nclass} classes; give one factor per class")

    # ---- distribution and loss -----------------------------------------------------------
    distribution, loss = e["distribution"], e["loss"]
    if loss is not None:
        if loss == "cross_entropy" and autoencoder:
            pb.error("loss='cross_entropy' cannot be used with autoencoder=True; use automatic, quadratic, "
                     "absolute, huber or quantile")
        elif loss == "cross_entropy" and response_kind == "numeric":
            pb.error("loss='cross_entropy' needs a categorical response, but the response is numeric")
        elif classification and loss not in _CLASSIFICATION_LOSSES:
            pb.error(f"loss={p['loss']!r} is not allowed for a categorical response; use one of "
                     f"{', '.join(_CLASSIFICATION_LOSSES)}")
    if distribution is not None and distribution != "auto" and autoencoder is not None:
        if classification:
            if distribution not in _CLASSIFICATION_DISTRIBUTIONS:
                pb.error(f"distribution={p['distribution']!r} is not allowed for a categorical response "
                         f"(classification); use auto, bernoulli or multinomial")
            elif distribution == "bernoulli" and nclass > 2:
                pb.error(f"distribution='bernoulli' needs a response with 2 classes, got {nclass} classes; "
                         f"use multinomial or auto")
        elif autoencoder:
            if distribution not in _AUTOENCODER_DISTRIBUTIONS:
                pb.error(f"distribution={p['distribution']!r} is not allowed with autoencoder=True; use "
                         f"auto, {', '.join(_AUTOENCODER_DISTRIBUTIONS)}")
        elif response_kind == "numeric":
            if distribution not in _REGRESSION_DISTRIBUTIONS:
                pb.error(f"distribution={p['distribution']!r} needs a categorical response, but the "
                         f"response is numeric (regression); use auto or one of "
                         f"{', '.join(_REGRESSION_DISTRIBUTIONS)}")
        if (not classification and distribution in _REGRESSION_LOSSES_FOR and loss is not None
                and loss not in _REGRESSION_LOSSES_FOR[distribution]):
            pb.error(f"distribution={p['distribution']!r} only allows loss "
                     f"{' or '.join(_REGRESSION_LOSSES_FOR[distribution])}, got loss={p['loss']!r}")
        if (response_kind == "numeric" and not autoencoder and distribution in ("poisson", "gamma", "tweedie")
                and y_min is not None and y_min < 0):
            pb.error(f"distribution={p['distribution']!r} needs a response >= 0, but the response has "
                     f"minimum {y_min!r}")

    resolved_distribution = resolved_loss = None
    if distribution is not None and loss is not None:
        if distribution == "auto":
            if classification:
                resolved_distribution = "bernoulli" if nclass == 2 else "multinomial"
            elif loss in _LOSS_TO_DISTRIBUTION:
                resolved_distribution = _LOSS_TO_DISTRIBUTION[loss]
        else:
            resolved_distribution = distribution
        if resolved_distribution is not None:
            resolved_loss = _DISTRIBUTION_TO_LOSS[resolved_distribution] if loss == "automatic" else loss

    # ---- stopping metric -----------------------------------------------------------------
    metric = e["stopping_metric"]
    if metric is not None and metric not in ("auto", "custom", "custom_increasing"):
        if autoencoder:
            if metric not in _AUTOENCODER_METRICS:
                pb.error(f"stopping_metric={p['stopping_metric']!r} is not available with autoencoder=True; "
                         f"use auto or mse")
        elif classification:
            if metric not in _CLASSIFICATION_METRICS:
                pb.error(f"stopping_metric={p['stopping_metric']!r} is not available for a categorical "
                         f"response; use auto or one of {', '.join(_CLASSIFICATION_METRICS)}")
            elif metric in _BINOMIAL_ONLY_METRICS and nclass > 2:
                pb.error(f"stopping_metric={p['stopping_metric']!r} needs a response with 2 classes, got "
                         f"{nclass} classes")
        elif response_kind == "numeric":
            if metric not in _REGRESSION_METRICS:
                pb.error(f"stopping_metric={p['stopping_metric']!r} is not available for a numeric response "
                         f"(regression); use auto or one of {', '.join(_REGRESSION_METRICS)}")
    custom_ref = None
    if p["custom_metric_func"] is not None and not autoencoder:
        try:
            custom_ref = resolve_custom_metric(p["custom_metric_func"]).ref
        except ValueError as err:
            pb.error(str(err))
    if metric in ("custom", "custom_increasing") and p["custom_metric_func"] is None:
        pb.error(f"stopping_metric={p['stopping_metric']!r} needs custom_metric_func (a class with map, reduce "
                 f"and metric methods)")

    # ---- features not available yet -------------------------------------------------------
    for name, feature in NOT_YET.items():
        value = p[name]
        if any(m.startswith((f"{name} ", f"{name}=")) for m in pb.errors):
            continue  # already reported as invalid
        if name in _NOT_YET_OK_VALUES:
            canonical = e.get(name)
            if canonical is None or canonical in _NOT_YET_OK_VALUES[name]:
                continue
        elif _is_default(name, value):
            continue
        pb.missing_feature(f"{name}={value!r} needs {feature}, which is not available yet")

    if pb.errors:
        raise ParameterError(pb.errors + pb.not_yet)
    if pb.not_yet:
        raise FeatureNotAvailableError(pb.not_yet)

    # ---- warnings for ignored settings -----------------------------------------------------
    adaptive = b["adaptive_rate"]
    if adaptive:
        ignored = [f"{k}={p[k]!r}" for k in _MANUAL_RATE if not _is_default(k, p[k])]
        if not _is_default("nesterov_accelerated_gradient", p["nesterov_accelerated_gradient"]):
            ignored.append(f"nesterov_accelerated_gradient={p['nesterov_accelerated_gradient']!r}")
        if ignored:
            warnings.warn(f"adaptive_rate=True ignores the manual learning-rate settings "
                          f"{', '.join(ignored)}; set adaptive_rate=False to use them", UserWarning,
                          stacklevel=2)
    else:
        ignored = [f"{k}={p[k]!r}" for k in ("rho", "epsilon") if not _is_default(k, p[k])]
        if ignored:
            warnings.warn(f"adaptive_rate=False ignores the ADADELTA settings {', '.join(ignored)}",
                          UserWarning, stacklevel=2)
    if not b["diagnostics"]:
        warnings.warn("diagnostics=False is deprecated and has no effect", UserWarning, stacklevel=2)

    # ---- effective values --------------------------------------------------------------------
    base_activation = activation.replace("_with_dropout", "")
    if with_dropout:
        hdr = hidden_dropout_ratios if hidden_dropout_ratios is not None else (0.5,) * len(hidden)
    else:
        hdr = (0.0,) * len(hidden)
    if autoencoder:
        link = "none"
    elif classification:
        link = "softmax"
    elif resolved_distribution in ("poisson", "gamma", "tweedie"):
        link = "log"
    else:
        link = "identity"

    if metric == "auto":
        metric = "mse" if autoencoder else "logloss" if classification else "deviance"
    if n["stopping_rounds"] == 0:
        metric = None

    reproducible = b["reproducible"]
    tspi = n["train_samples_per_iteration"]
    if reproducible and tspi == -2:
        tspi = -1
    seed = n["seed"]
    if seed == -1:
        seed = random.SystemRandom().getrandbits(63)

    zero_manual = bool(adaptive)
    return Resolved(
        classification=classification,
        autoencoder=bool(autoencoder),
        n_classes=nclass,
        distribution=resolved_distribution,
        loss=resolved_loss,
        link=link,
        activation=base_activation,
        dropout=with_dropout,
        hidden=hidden,
        input_dropout_ratio=n["input_dropout_ratio"],
        hidden_dropout_ratios=tuple(float(x) for x in hdr),
        adaptive_rate=bool(adaptive),
        rho=n["rho"] if adaptive else 0.0,
        epsilon=n["epsilon"] if adaptive else 0.0,
        rate=0.0 if zero_manual else n["rate"],
        rate_annealing=0.0 if zero_manual else n["rate_annealing"],
        rate_decay=0.0 if zero_manual else n["rate_decay"],
        momentum_start=0.0 if zero_manual else n["momentum_start"],
        momentum_ramp=0.0 if zero_manual else n["momentum_ramp"],
        momentum_stable=0.0 if zero_manual else n["momentum_stable"],
        nesterov=b["nesterov_accelerated_gradient"],
        l1=n["l1"],
        l2=n["l2"],
        max_w2=n["max_w2"],
        initial_weight_distribution=e["initial_weight_distribution"],
        initial_weight_scale=n["initial_weight_scale"],
        sparsity_beta=n["sparsity_beta"] if autoencoder else 0.0,
        auc_type=e["auc_type"] or "auto",
        custom_metric=custom_ref,
        elastic_averaging=b["elastic_averaging"],
        elastic_averaging_moving_rate=n["elastic_averaging_moving_rate"],
        elastic_averaging_regularization=n["elastic_averaging_regularization"],
        average_activation=n["average_activation"],
        epochs=n["epochs"],
        train_samples_per_iteration=tspi,
        target_ratio_comm_to_comp=n["target_ratio_comm_to_comp"],
        seed=int(seed),
        reproducible=reproducible,
        mini_batch_size=n["mini_batch_size"],
        fast_mode=b["fast_mode"],
        replicate_training_data=False if reproducible else b["replicate_training_data"],
        shuffle_training_data=b["shuffle_training_data"],
        single_node_mode=b["single_node_mode"],
        force_load_balance=True if reproducible else b["force_load_balance"],
        score_each_iteration=True if reproducible else b["score_each_iteration"],
        score_interval=n["score_interval"],
        score_training_samples=n["score_training_samples"],
        score_validation_samples=n["score_validation_samples"],
        score_validation_sampling=e["score_validation_sampling"],
        score_duty_cycle=n["score_duty_cycle"],
        classification_stop=n["classification_stop"],
        regression_stop=n["regression_stop"],
        stopping_rounds=n["stopping_rounds"],
        stopping_metric=metric,
        stopping_tolerance=n["stopping_tolerance"],
        max_runtime_secs=n["max_runtime_secs"],
        overwrite_with_best_model=b["overwrite_with_best_model"] and n["nfolds"] == 0,
        variable_importances=b["variable_importances"],
        quiet_mode=b["quiet_mode"],
        max_confusion_matrix_size=n["max_confusion_matrix_size"],
        gainslift_bins=n["gainslift_bins"],
        model_averaging=e["model_averaging"],
        missing_values_handling=e["missing_values_handling"],
        standardize=b["standardize"],
        use_all_factor_levels=True if autoencoder else b["use_all_factor_levels"],
        ignore_const_cols=b["ignore_const_cols"],
        sparse=b["sparse"],
        max_categorical_features=n["max_categorical_features"],
        categorical_encoding=("one_hot_internal" if e["categorical_encoding"] in (None, "auto", "one_hot_internal")
                              else e["categorical_encoding"]),
        weights_column=p["weights_column"],
        offset_column=p["offset_column"],
        response_column=p["response_column"],
        ignored_columns=ignored_columns,
        quantile_alpha=n["quantile_alpha"],
        tweedie_power=n["tweedie_power"],
        huber_alpha=n["huber_alpha"],
    )
