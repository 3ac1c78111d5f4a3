import inspect
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import data_path

from daskdl.params import (
    DASKDL_ONLY,
    CHECKPOINT_IRRELEVANT,
    CHECKPOINT_MODIFIABLE,
    CHECKPOINT_NOT_MODIFIABLE,
    NOT_YET,
    PARAMETERS,
    FeatureNotAvailableError,
    ParameterError,
    Resolved,
    default_parameters,
    validate,
)



def mk(**overrides):
    p = default_parameters()
    for k, v in overrides.items():
        assert k in p, k
        p[k] = v
    return p


def reg(**kw):
    return validate(mk(**kw), response_kind="numeric", y_min=0.0)


def clf(n_classes=2, **kw):
    return validate(mk(**kw), response_kind="categorical", n_classes=n_classes)


def ae(**kw):
    return validate(mk(autoencoder=True, **kw), response_kind=None)


# ---------------------------------------------------------------- table
def test_table_matches_h2o_signature():
    from h2o.estimators import H2ODeepLearningEstimator  # the h2o client is in the test extra

    sig = inspect.signature(H2ODeepLearningEstimator.__init__)
    theirs = [(n, p.default) for n, p in sig.parameters.items() if n != "self"]
    ours = [(n, d) for n, d in PARAMETERS.items() if n not in DASKDL_ONLY]
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    assert len(ours) == 91 and list(PARAMETERS)[91:] == sorted(DASKDL_ONLY)  # daskdl's own come last
    for (name, mine), (_, h2o_default) in zip(ours, theirs):
        assert type(mine) is type(h2o_default), name
        assert mine == h2o_default, name


def test_table_special_defaults_and_copies():
    assert PARAMETERS["hidden"] == [200, 200]
    assert PARAMETERS["max_w2"] == 3.4028235e38
    assert PARAMETERS["max_categorical_features"] == 2147483647
    a, b = default_parameters(), default_parameters()
    a["hidden"].append(5)
    assert b["hidden"] == [200, 200] and PARAMETERS["hidden"] == [200, 200]


def test_checkpoint_sets_partition_all_names():
    sets = (CHECKPOINT_MODIFIABLE, CHECKPOINT_NOT_MODIFIABLE, CHECKPOINT_IRRELEVANT)
    for name in PARAMETERS:
        assert sum(name in s for s in sets) == 1, name
    assert set().union(*sets) == set(PARAMETERS)
    # spot checks from spec §9.1
    assert {"epochs", "seed", "l1", "loss", "hidden_dropout_ratios"} <= CHECKPOINT_MODIFIABLE
    assert {"activation", "rho", "distribution", "nfolds", "hidden", "response_column"} <= \
        CHECKPOINT_NOT_MODIFIABLE
    assert {"model_id", "training_frame", "validation_frame"} <= CHECKPOINT_IRRELEVANT


# ---------------------------------------------------------------- defaults resolve
def test_defaults_regression():
    r = reg()
    assert isinstance(r, Resolved)
    assert (r.distribution, r.loss, r.link) == ("gaussian", "quadratic", "identity")
    assert r.classification is False and r.autoencoder is False
    assert r.activation == "rectifier" and r.dropout is False
    assert r.hidden == (200, 200) and r.hidden_dropout_ratios == (0.0, 0.0)
    assert r.stopping_metric == "deviance"
    # ADADELTA: manual-rate values zeroed, rho/epsilon kept
    assert (r.rate, r.rate_annealing, r.rate_decay) == (0.0, 0.0, 0.0)
    assert (r.momentum_start, r.momentum_ramp, r.momentum_stable) == (0.0, 0.0, 0.0)
    assert (r.rho, r.epsilon) == (0.99, 1e-8)
    assert 0 <= r.seed < 2 ** 63
    assert r.mini_batch_size == 1 and r.categorical_encoding == "one_hot_internal"
    with pytest.raises(Exception):
        r.epochs = 3  # frozen


def test_seed_kept_and_random_seed_drawn():
    assert reg(seed=1234).seed == 1234
    seeds = {reg().seed for _ in range(3)}
    assert len(seeds) == 3


def test_manual_rate_keeps_values_and_zeroes_adadelta():
    r = reg(adaptive_rate=False, rate=0.01, momentum_start=0.5, momentum_stable=0.9, momentum_ramp=100.0)
    assert (r.rate, r.momentum_start, r.momentum_stable, r.momentum_ramp) == (0.01, 0.5, 0.9, 100.0)
    assert r.rate_annealing == 1e-6 and r.rate_decay == 1.0
    assert (r.rho, r.epsilon) == (0.0, 0.0)
    assert r.adaptive_rate is False


def test_reproducible_switches():
    r = reg(reproducible=True)
    assert r.train_samples_per_iteration == -1
    assert r.score_each_iteration is True and r.replicate_training_data is False
    assert reg(reproducible=True, train_samples_per_iteration=100).train_samples_per_iteration == 100
    assert reg().train_samples_per_iteration == -2


# ---------------------------------------------------------------- enum spellings
@pytest.mark.parametrize("spelling,expected", [
    ("RectifierWithDropout", ("rectifier", True)),
    ("rectifier_with_dropout", ("rectifier", True)),
    ("Rectifier", ("rectifier", False)),
    ("TANH", ("tanh", False)),
    ("TanhWithDropout", ("tanh", True)),
    ("maxout", ("maxout", False)),
    ("MaxoutWithDropout", ("maxout", True)),
])
def test_activation_spellings(spelling, expected):
    r = reg(activation=spelling)
    assert (r.activation, r.dropout) == expected


def test_other_enum_spellings():
    assert reg(initial_weight_distribution="UniformAdaptive").initial_weight_distribution == "uniform_adaptive"
    assert reg(initial_weight_distribution="Normal").initial_weight_distribution == "normal"
    assert reg(missing_values_handling="MeanImputation").missing_values_handling == "mean_imputation"
    assert reg(missing_values_handling="Skip").missing_values_handling == "skip"
    assert clf(loss="CrossEntropy").loss == "cross_entropy"
    assert reg(loss="Quadratic", distribution="AUTO").distribution == "gaussian"
    assert reg(distribution="Gaussian").distribution == "gaussian"
    assert reg(stopping_metric="MSE").stopping_metric == "mse"
    assert clf(stopping_metric="AUCPR").stopping_metric == "aucpr"
    assert clf(stopping_metric="mean_per_class_error").stopping_metric == "mean_per_class_error"
    assert reg(categorical_encoding="OneHotInternal").categorical_encoding == "one_hot_internal"
    assert reg(score_validation_sampling="Uniform").score_validation_sampling == "uniform"
    assert reg(loss="Automatic").loss == "quadratic"


def test_none_means_default():
    r = reg(activation=None, epochs=None, hidden=None)
    assert r.activation == "rectifier" and r.epochs == 10.0 and r.hidden == (200, 200)


# ---------------------------------------------------------------- distribution / loss resolution
@pytest.mark.parametrize("loss,dist,loss_out,link", [
    ("automatic", "gaussian", "quadratic", "identity"),
    ("quadratic", "gaussian", "quadratic", "identity"),
    ("absolute", "laplace", "absolute", "identity"),
    ("quantile", "quantile", "quantile", "identity"),
    ("huber", "huber", "huber", "identity"),
])
def test_regression_auto_distribution_from_loss(loss, dist, loss_out, link):
    r = reg(loss=loss)
    assert (r.distribution, r.loss, r.link) == (dist, loss_out, link)


@pytest.mark.parametrize("dist,loss_out,link", [
    ("gaussian", "quadratic", "identity"),
    ("laplace", "absolute", "identity"),
    ("quantile", "quantile", "identity"),
    ("huber", "huber", "identity"),
    ("poisson", "automatic", "log"),
    ("gamma", "automatic", "log"),
    ("tweedie", "automatic", "log"),
])
def test_regression_automatic_loss_from_distribution(dist, loss_out, link):
    r = reg(distribution=dist)
    assert (r.distribution, r.loss, r.link) == (dist, loss_out, link)


def test_classification_resolution():
    r = clf(2)
    assert (r.distribution, r.loss, r.link, r.n_classes) == ("bernoulli", "cross_entropy", "softmax", 2)
    assert r.stopping_metric == "logloss" and r.classification
    r = clf(5)
    assert (r.distribution, r.loss) == ("multinomial", "cross_entropy")
    r = clf(3, loss="Quadratic")
    assert (r.distribution, r.loss) == ("multinomial", "quadratic")
    r = clf(2, distribution="multinomial")
    assert r.distribution == "multinomial"


def test_autoencoder_resolution():
    r = ae()
    assert r.autoencoder and not r.classification
    assert (r.distribution, r.loss, r.link) == ("gaussian", "quadratic", "none")
    assert r.stopping_metric == "mse"
    assert ae(use_all_factor_levels=False).use_all_factor_levels is True
    assert ae(loss="Absolute").distribution == "laplace"


def test_stopping_metric_none_when_rounds_zero():
    assert reg(stopping_rounds=0).stopping_metric is None
    assert clf(stopping_rounds=0, stopping_metric="auc").stopping_metric is None
    assert clf(stopping_metric="misclassification").stopping_metric == "misclassification"
    assert reg(stopping_metric="mae").stopping_metric == "mae"


def test_hidden_dropout_ratio_defaults():
    assert reg(activation="RectifierWithDropout").hidden_dropout_ratios == (0.5, 0.5)
    assert reg(activation="TanhWithDropout", hidden=[3, 4, 5]).hidden_dropout_ratios == (0.5, 0.5, 0.5)
    assert reg(activation="tanh", hidden=[3]).hidden_dropout_ratios == (0.0,)
    assert reg(activation="MaxoutWithDropout", hidden=[3, 4],
               hidden_dropout_ratios=[0.1, 0.2]).hidden_dropout_ratios == (0.1, 0.2)
    assert reg(hidden=(np.int64(7),)).hidden == (7,)


# ---------------------------------------------------------------- bad values
def _err(exc_info):
    return str(exc_info.value)


@pytest.mark.parametrize("name,value", [
    ("epochs", -1), ("epochs", "ten"), ("epochs", float("nan")),
    ("hidden", [200, 0]), ("hidden", [200, 2.5]), ("hidden", 200), ("hidden", [True]),
    ("rho", 1.0), ("rho", -0.1), ("epsilon", 0.0), ("epsilon", -1e-8),
    ("input_dropout_ratio", 1.0), ("input_dropout_ratio", -0.1),
    ("l1", -1e-5), ("l2", -1.0), ("max_w2", 0.0), ("max_w2", -1.0),
    ("train_samples_per_iteration", -3), ("train_samples_per_iteration", 1.5),
    ("quantile_alpha", 1.5), ("tweedie_power", 1.0), ("tweedie_power", 2.0), ("huber_alpha", -0.1),
    ("score_interval", -1.0), ("score_training_samples", -1), ("score_validation_samples", -5),
    ("score_duty_cycle", 1.5), ("stopping_rounds", -1), ("stopping_tolerance", -0.1),
    ("max_runtime_secs", -1.0), ("mini_batch_size", 0), ("max_categorical_features", 0),
    ("elastic_averaging_moving_rate", 1.5), ("elastic_averaging_regularization", -1.0),
    ("seed", 1.5), ("seed", True), ("seed", "42"), ("stopping_rounds", True), ("nfolds", 1),
    ("standardize", 1), ("adaptive_rate", "yes"), ("activation", "relu"), ("activation", 3),
    ("loss", "hinge"), ("distribution", "binomial"), ("stopping_metric", "r2"),
    ("initial_weight_distribution", "xavier"), ("missing_values_handling", "drop"),
    ("ignored_columns", "a"), ("weights_column", 3), ("hidden_dropout_ratios", [0.5, 1.0]),
    ("classification_stop", -0.5), ("gainslift_bins", -2), ("momentum_start", 1.0),
])
def test_bad_value_names_parameter(name, value):
    with pytest.raises(ParameterError) as ei:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg(**{name: value})
    msg = _err(ei)
    assert name in msg
    assert isinstance(ei.value, ValueError)
    assert len(ei.value.problems) == 1, ei.value.problems


def test_several_problems_reported_together():
    with pytest.raises(ParameterError) as ei:
        reg(epochs=-1, rho=2.0, hidden=[5, -1], activation="nonsense", l1=-1.0, col_major=True)
    msg = _err(ei)
    assert msg.startswith("DeepLearningEstimator parameters are invalid:\n - ")
    for name in ("epochs", "rho", "hidden", "activation", "l1", "col_major"):
        assert name in msg
    assert len(ei.value.problems) == 6
    assert len(msg.splitlines()) == 7


def test_unknown_parameter():
    p = mk()
    p["hiden"] = [10]
    with pytest.raises(ParameterError, match="hiden"):
        validate(p, response_kind="numeric")


# ---------------------------------------------------------------- combination rules
def test_combination_errors():
    cases = [
        (dict(distribution="gaussian"), dict(response_kind="categorical", n_classes=2),
         ["distribution", "categorical"]),
        (dict(distribution="poisson"), dict(response_kind="categorical", n_classes=3), ["distribution"]),
        (dict(distribution="bernoulli"), dict(response_kind="categorical", n_classes=3),
         ["bernoulli", "3 classes"]),
        (dict(distribution="multinomial"), dict(response_kind="numeric"), ["distribution", "numeric"]),
        (dict(distribution="bernoulli"), dict(response_kind="numeric"), ["distribution", "numeric"]),
        (dict(distribution="poisson"), dict(response_kind="numeric", y_min=-1.0), ["poisson", ">= 0"]),
        (dict(distribution="gamma"), dict(response_kind="numeric", y_min=-0.5), ["gamma"]),
        (dict(distribution="tweedie"), dict(response_kind="numeric", y_min=-2.0), ["tweedie"]),
        (dict(distribution="poisson", loss="quadratic"), dict(response_kind="numeric"), ["loss"]),
        (dict(distribution="laplace", loss="huber"), dict(response_kind="numeric"), ["laplace", "absolute"]),
        (dict(distribution="quantile", loss="absolute"), dict(response_kind="numeric"), ["quantile"]),
        (dict(distribution="huber", loss="quadratic"), dict(response_kind="numeric"), ["huber"]),
        (dict(loss="cross_entropy"), dict(response_kind="numeric"), ["cross_entropy", "categorical"]),
        (dict(loss="huber"), dict(response_kind="categorical", n_classes=2), ["loss"]),
        (dict(loss="CrossEntropy", autoencoder=True), dict(response_kind=None), ["cross_entropy", "autoencoder"]),
        (dict(activation="Maxout", autoencoder=True), dict(response_kind=None), ["activation", "autoencoder"]),
        (dict(activation="MaxoutWithDropout", autoencoder=True), dict(response_kind=None), ["activation"]),
        (dict(distribution="poisson", autoencoder=True), dict(response_kind=None), ["distribution"]),
        (dict(hidden_dropout_ratios=[0.1, 0.1]), dict(response_kind="numeric"),
         ["hidden_dropout_ratios", "dropout"]),
        (dict(activation="TanhWithDropout", hidden_dropout_ratios=[0.1, 0.1, 0.1]),
         dict(response_kind="numeric"), ["hidden_dropout_ratios has 3 entries but hidden has 2 layers"]),
        (dict(offset_column="off"), dict(response_kind="categorical", n_classes=2), ["offset_column"]),
        (dict(col_major=True), dict(response_kind="numeric"), ["col_major"]),
        (dict(categorical_encoding="Enum"), dict(response_kind="numeric"), ["categorical_encoding"]),
        (dict(categorical_encoding="one_hot_explicit"), dict(response_kind="numeric"),
         ["categorical_encoding"]),
        (dict(distribution="quasibinomial"), dict(response_kind="categorical", n_classes=2), ["quasibinomial"]),
        (dict(distribution="ordinal"), dict(response_kind="categorical", n_classes=3), ["ordinal"]),
        (dict(distribution="custom"), dict(response_kind="numeric"), ["custom"]),
        (dict(loss="ModifiedHuber"), dict(response_kind="categorical", n_classes=2), ["loss", "ModifiedHuber"]),
        (dict(stopping_metric="auc"), dict(response_kind="numeric"), ["stopping_metric", "auc"]),
        (dict(stopping_metric="logloss"), dict(response_kind="numeric"), ["stopping_metric"]),
        (dict(stopping_metric="deviance"), dict(response_kind="categorical", n_classes=2), ["stopping_metric"]),
        (dict(stopping_metric="auc"), dict(response_kind="categorical", n_classes=4), ["auc", "2 classes"]),
        (dict(stopping_metric="logloss", autoencoder=True), dict(response_kind=None), ["stopping_metric"]),
        (dict(sparsity_beta=0.1), dict(response_kind="numeric"), ["sparsity_beta", "autoencoder"]),
        (dict(), dict(response_kind=None), ["response_column"]),
        (dict(autoencoder=True), dict(response_kind="numeric"), ["autoencoder"]),
        (dict(), dict(response_kind="categorical", n_classes=1), ["2 classes"]),
    ]
    for overrides, kw, needles in cases:
        with pytest.raises(ParameterError) as ei:
            validate(mk(**overrides), **kw)
        msg = _err(ei)
        for needle in needles:
            assert needle in msg, (overrides, kw, msg)


def test_allowed_combinations():
    assert reg(distribution="laplace", loss="Absolute").loss == "absolute"
    assert reg(distribution="huber", loss="huber").loss == "huber"
    assert reg(distribution="poisson").link == "log"
    assert clf(2, distribution="bernoulli", loss="quadratic").loss == "quadratic"
    assert reg(offset_column="off").offset_column == "off"
    # unknown y_min is not checked
    assert validate(mk(distribution="gamma"), response_kind="numeric").distribution == "gamma"


def test_bad_response_kind_argument():
    with pytest.raises(ValueError, match="response_kind"):
        validate(mk(), response_kind="text")


# ---------------------------------------------------------------- not yet available
_ALL_LATER_VALUES = {  # a non-default value for every parameter that was ever "not yet"
    "nfolds": 5,
    "fold_column": "fold",
    "fold_assignment": "Modulo",
    "keep_cross_validation_models": False,
    "keep_cross_validation_predictions": True,
    "keep_cross_validation_fold_assignment": True,
    "checkpoint": "model_1",
    "pretrained_autoencoder": "ae_1",
    "initial_weights": ["w1", "w2", "w3"],
    "initial_biases": ["b1", "b2", "b3"],
    "export_weights_and_biases": True,
    "export_checkpoints_dir": "/tmp/cp",
    "balance_classes": True,
    "class_sampling_factors": [1.0, 2.0],
    "max_after_balance_size": 2.0,
    "elastic_averaging": True,
    "sparsity_beta": 0.1,
    "average_activation": 0.2,
    "custom_metric_func": "python:metric",
    "auc_type": "macro_ovr",
    "categorical_encoding": "eigen",
    "single_node_mode": True,
}
def test_every_feature_is_available():
    """No H2O parameter asks for a feature that is not built (NOT_YET is empty)."""
    assert NOT_YET == {}


def test_not_yet_mechanism_raises_not_implemented(monkeypatch):
    """A feature listed in NOT_YET raises NotImplementedError naming it (the mechanism that keeps an
    unfinished feature from being silently ignored)."""
    import daskdl.params as P

    monkeypatch.setitem(P.NOT_YET, "elastic_averaging", "a demonstration feature")
    with pytest.raises(NotImplementedError) as ei:
        validate(mk(elastic_averaging=True), response_kind="categorical", n_classes=2)
    assert isinstance(ei.value, FeatureNotAvailableError)
    assert not isinstance(ei.value, ValueError)
    assert "elastic_averaging" in str(ei.value) and "a demonstration feature" in str(ei.value)
    # value errors and not-yet features are reported together
    with pytest.raises(ParameterError) as ei:
        validate(mk(elastic_averaging=True, epochs=-1), response_kind="categorical", n_classes=2)
    msg = _err(ei)
    assert "epochs" in msg and "a demonstration feature" in msg


_BUILT_LATER = ("elastic_averaging", "single_node_mode", "sparsity_beta", "average_activation",
                "custom_metric_func", "auc_type", "categorical_encoding")


@pytest.mark.parametrize("name", _BUILT_LATER)
def test_later_features_are_accepted(name):
    """Every feature that once raised NotImplementedError now validates."""
    p = mk(**{name: _ALL_LATER_VALUES[name]})
    if name == "class_sampling_factors":
        p["balance_classes"] = True
    if name in ("sparsity_beta", "average_activation"):
        p.update(autoencoder=True, sparsity_beta=0.1, average_activation=0.2)
        kw = dict(response_kind=None)
    else:
        kw = dict(response_kind="categorical", n_classes=2)
    if name == "custom_metric_func":
        p[name] = "python:m=daskdl.metrics.custom.CustomMetric"  # importable, though not a metric class
        with pytest.raises(ParameterError, match="cannot be created without arguments"):
            validate(p, **kw)
        p[name] = "python:mae=collections.Counter"  # importable, creatable, but no map/reduce/metric
        with pytest.raises(ParameterError, match="map\\(pred, act"):
            validate(p, **kw)
        return
    validate(p, **kw)


def test_array_values_are_accepted():
    clf(balance_classes=True, class_sampling_factors=np.array([1.0, 3.0]))
    with pytest.raises(ValueError, match="class_sampling_factors"):
        clf(balance_classes=True, class_sampling_factors=np.array([1.0, 3.0, 2.0]))


def test_not_yet_defaults_and_allowed_values_pass():
    assert reg(auc_type="NONE").classification is False
    assert reg(categorical_encoding="AUTO").categorical_encoding == "one_hot_internal"
    assert reg(fold_assignment="AUTO").autoencoder is False


def test_custom_stopping_metric_needs_a_custom_metric():
    with pytest.raises(ParameterError, match="needs custom_metric_func"):
        reg(stopping_metric="custom")
    with pytest.raises(ParameterError, match="cannot import"):
        reg(custom_metric_func="python:m=not_a_module_anywhere.M")


# ---------------------------------------------------------------- warnings
def test_manual_rate_params_warn_with_adaptive_rate():
    with pytest.warns(UserWarning, match="rate=0.1"):
        r = reg(rate=0.1, momentum_start=0.5)
    assert r.rate == 0.0 and r.momentum_start == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg()  # defaults: no warning
        reg(adaptive_rate=False, rate=0.1)


def test_mini_batch_size_is_kept():
    # H2O resets mini_batch_size > 1 to 1; daskdl trains on mini-batches of that size
    assert reg(mini_batch_size=32).mini_batch_size == 32


# ---------------------------------------------------------------- real data
def _read(name, **kw):
    return pd.read_csv(data_path(name), **kw)


def test_real_iris_multinomial():
    df = _read("iris.csv")
    y = df.iloc[:, -1].astype("category")
    k = len(y.cat.categories)
    assert k == 3
    r = validate(mk(response_column=df.columns[-1]), response_kind="categorical", n_classes=k,
                 n_rows=len(df))
    assert (r.distribution, r.loss, r.stopping_metric) == ("multinomial", "cross_entropy", "logloss")
    with pytest.raises(ParameterError, match="bernoulli"):
        validate(mk(distribution="bernoulli"), response_kind="categorical", n_classes=k)
    with pytest.raises(ParameterError, match="(?i)auc.*2 classes"):
        validate(mk(stopping_metric="AUC"), response_kind="categorical", n_classes=k)


def test_real_prostate_binomial_and_count_regression():
    df = _read("prostate.csv")
    k = df["CAPSULE"].nunique()
    assert k == 2
    r = validate(mk(response_column="CAPSULE"), response_kind="categorical", n_classes=k)
    assert r.distribution == "bernoulli"
    vol_min = float(df["VOL"].min())
    assert vol_min >= 0 and not math.isnan(vol_min)
    r = validate(mk(response_column="VOL", distribution="tweedie", tweedie_power=1.2),
                 response_kind="numeric", y_min=vol_min, n_rows=len(df))
    assert (r.distribution, r.loss, r.link, r.tweedie_power) == ("tweedie", "automatic", "log", 1.2)
    centred = float((df["VOL"] - df["VOL"].mean()).min())
    with pytest.raises(ParameterError, match="tweedie"):
        validate(mk(distribution="tweedie"), response_kind="numeric", y_min=centred)
