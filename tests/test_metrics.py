import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import data_path
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

from daskdl.metrics import (
    ModelMetrics,
    combine,
    combine_all,
    compute_metrics,
    finalize,
    huber_delta,
    metric_value,
    partial_metrics,
)

_need = data_path  # the shared data sets (skips with the reason when absent)


@pytest.fixture(scope="module")
def breast_cancer_probs():
    df = pd.read_csv(_need("sklearn_breast_cancer.csv.gz"))
    y = df["target"].to_numpy(np.float64)
    X = StandardScaler().fit_transform(df.drop(columns="target").to_numpy())
    # weak model (few features, strong regularisation) so that classes overlap
    p1 = LogisticRegression(C=0.01).fit(X[:, :3], y).predict_proba(X[:, :3])[:, 1]
    return y, p1


@pytest.fixture(scope="module")
def digits_probs():
    df = pd.read_csv(_need("sklearn_digits.csv.gz"))
    y = df["target"].to_numpy(np.float64)
    X = df.drop(columns="target").to_numpy(np.float64) / 16.0
    P = LogisticRegression(C=0.005, max_iter=300).fit(X, y).predict_proba(X)
    return y, P


@pytest.fixture(scope="module")
def diabetes_preds():
    df = pd.read_csv(_need("sklearn_diabetes.csv.gz"))
    y = df["target"].to_numpy(np.float64)
    X = df.drop(columns="target").to_numpy(np.float64)
    f = LinearRegression().fit(X, y).predict(X)
    return y, np.maximum(f, 5.0)           # keep predictions positive for poisson/gamma/tweedie


def _weights(n, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 2.0, n)


# ------------------------------------------------------------------------------------- regression
def test_regression_matches_sklearn_weighted(diabetes_preds):
    y, f = diabetes_preds
    w = _weights(y.size)
    m = compute_metrics("regression", y, f, w)
    assert m.mse() == pytest.approx(skm.mean_squared_error(y, f, sample_weight=w), rel=1e-12)
    assert m.rmse() == pytest.approx(math.sqrt(skm.mean_squared_error(y, f, sample_weight=w)), rel=1e-12)
    assert m.mae() == pytest.approx(skm.mean_absolute_error(y, f, sample_weight=w), rel=1e-12)
    assert m.rmsle() == pytest.approx(math.sqrt(skm.mean_squared_log_error(y, f, sample_weight=w)), rel=1e-12)
    assert m.r2() == pytest.approx(skm.r2_score(y, f, sample_weight=w), rel=1e-12)
    assert m.mean_residual_deviance() == pytest.approx(m.mse(), rel=1e-12)     # gaussian
    assert m.nobs() == y.size
    for name in ("logloss", "auc", "aucpr", "pr_auc", "gini", "confusion_matrix", "hit_ratio_table",
                 "classification_error", "mean_per_class_error"):
        assert getattr(m, name)() is None, name
    assert m.find_threshold_by_max_metric("f1") is None


@pytest.mark.parametrize("dist,kw,ref", [
    ("poisson", {}, lambda y, f, w: skm.mean_poisson_deviance(y, f, sample_weight=w)),
    ("gamma", {}, lambda y, f, w: skm.mean_gamma_deviance(y, f, sample_weight=w)),
    ("tweedie", {"tweedie_power": 1.3}, lambda y, f, w: skm.mean_tweedie_deviance(y, f, sample_weight=w, power=1.3)),
    ("tweedie", {"tweedie_power": 1.8}, lambda y, f, w: skm.mean_tweedie_deviance(y, f, sample_weight=w, power=1.8)),
    ("laplace", {}, lambda y, f, w: skm.mean_absolute_error(y, f, sample_weight=w)),
    ("quantile", {"quantile_alpha": 0.2},
     lambda y, f, w: skm.mean_pinball_loss(y, f, sample_weight=w, alpha=0.2)),
])
def test_regression_deviances_match_sklearn(diabetes_preds, dist, kw, ref):
    y, f = diabetes_preds
    w = _weights(y.size, 1)
    m = compute_metrics("regression", y, f, w, distribution=dist, **kw)
    assert m.mean_residual_deviance() == pytest.approx(ref(y, f, w), rel=1e-10)


def test_huber_deviance_and_delta(diabetes_preds):
    y, f = diabetes_preds
    w = _weights(y.size, 2)
    d = huber_delta(y, f, w, huber_alpha=0.9)
    r = np.abs(y - f)
    # weighted 0.9-quantile: smallest |r| whose cumulative weight reaches 90 %
    order = np.argsort(r)
    cw = np.cumsum(w[order])
    assert d == r[order][np.argmax(cw >= 0.9 * cw[-1])]
    expect = sum(wi * (ri * ri if ri <= d else d * (2 * ri - d)) for wi, ri in zip(w, r)) / w.sum()
    m = compute_metrics("regression", y, f, w, distribution="huber", huber_delta=d)
    assert m.mean_residual_deviance() == pytest.approx(expect, rel=1e-12)
    m2 = compute_metrics("regression", y, f, w, distribution="huber")   # delta derived from the block
    assert m2.mean_residual_deviance() == pytest.approx(expect, rel=1e-12)


def test_regression_log_floor_and_rmsle_domain():
    y = np.array([0.0, 2.0, 3.0])
    f = np.array([1e-12, 2.0, 3.0])
    m = compute_metrics("regression", y, f, distribution="poisson")
    assert m.mean_residual_deviance() == pytest.approx(2 * 1e-12 / 3)
    # y = 3, f -> 0: y*log(y/f) is large but finite; log floor only bites below e^-19
    m = compute_metrics("regression", np.array([1e-12]), np.array([1.0]), distribution="gamma")
    assert m.mean_residual_deviance() == pytest.approx(2 * (math.log(1e12) + 1e-12 - 1))
    m = compute_metrics("regression", np.array([1.0]), np.array([1e-12]), distribution="gamma")
    assert m.mean_residual_deviance() == pytest.approx(2 * (-19 + 1e12 - 1))
    m = compute_metrics("regression", np.array([-2.0, 1.0]), np.array([1.0, 1.0]))
    assert math.isnan(m.rmsle()) and m.mse() == pytest.approx(4.5)


def test_missing_response_and_zero_weight_are_excluded():
    y = np.array([1.0, np.nan, 3.0, 4.0])
    f = np.array([1.5, 100.0, 2.0, 50.0])
    w = np.array([1.0, 1.0, 2.0, 0.0])
    m = compute_metrics("regression", y, f, w)
    assert m.nobs() == 2
    assert m.mse() == pytest.approx((0.25 + 2 * 1.0) / 3)
    yb = np.array([0.0, 1.0, np.nan, 1.0])
    pb = np.array([0.2, 0.7, 0.5, 0.1])
    mb = compute_metrics("binomial", yb, pb, np.array([1.0, 1.0, 1.0, 0.0]))
    assert mb.nobs() == 2 and mb.auc() == 1.0


# ------------------------------------------------------------------------------------- binomial
def test_binomial_matches_sklearn_on_real_data(breast_cancer_probs):
    y, p1 = breast_cancer_probs
    w = _weights(y.size, 3)
    P = np.column_stack([1 - p1, p1])
    m = compute_metrics("binomial", y, P, w, classes=["malignant", "benign"])
    assert m.logloss() == pytest.approx(skm.log_loss(y, p1, sample_weight=w), rel=1e-10)
    py = np.where(y == 1, p1, 1 - p1)
    assert m.mse() == pytest.approx(np.average((1 - py) ** 2, weights=w), rel=1e-12)
    auc = skm.roc_auc_score(y, p1, sample_weight=w)
    assert 0.8 < auc < 0.999
    assert abs(m.auc() - auc) < 1e-3
    assert m.gini() == pytest.approx(2 * m.auc() - 1)
    assert abs(m.aucpr() - skm.average_precision_score(y, p1, sample_weight=w)) < 5e-3
    assert m.pr_auc() == m.aucpr()
    var = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    assert m.r2() == pytest.approx(1 - m.mse() / var, rel=1e-10)

    # confusion matrix at the reported max-F1 threshold agrees with sklearn's
    thr = m.find_threshold_by_max_metric("f1")
    cm = m.confusion_matrix()
    ref = skm.confusion_matrix(y, (p1 >= thr).astype(float), sample_weight=w)
    np.testing.assert_allclose(cm.iloc[:2, :2].to_numpy(np.float64), ref, rtol=1e-12)
    assert list(cm.columns) == ["malignant", "benign", "Error", "Rate"]
    assert list(cm.index) == ["malignant", "benign", "Total"]
    err = (ref[0, 1] + ref[1, 0]) / ref.sum()
    assert m.classification_error() == pytest.approx(err)
    assert cm.loc["Total", "Error"] == pytest.approx(err)
    assert m.mean_per_class_error() == pytest.approx(1 - skm.balanced_accuracy_score(
        y, (p1 >= thr).astype(float), sample_weight=w))
    # the binned max F1 is within a hair of the exact max over all distinct thresholds
    f1_exact = max(skm.f1_score(y, (p1 >= t).astype(float), sample_weight=w) for t in np.unique(p1))
    f1_binned = skm.f1_score(y, (p1 >= thr).astype(float), sample_weight=w)
    assert f1_binned == pytest.approx(f1_exact, abs=2e-3)
    # confusion matrix at a user threshold
    cm5 = m.confusion_matrix(threshold=0.5)
    ref5 = skm.confusion_matrix(y, (p1 >= 0.5).astype(float), sample_weight=w)
    np.testing.assert_allclose(cm5.iloc[:2, :2].to_numpy(np.float64), ref5, rtol=1e-12)
    assert m.hit_ratio_table() is None and m.mae() is None and m.mean_residual_deviance() is None


def test_binomial_auc_extreme_probabilities():
    # probabilities squeezed towards 0 and 1: a uniform [0, 1] histogram would merge them
    rng = np.random.default_rng(5)
    n = 20000
    y = (rng.random(n) < 0.4).astype(float)
    z = rng.normal(size=n) * 2 + 3 * (2 * y - 1) * 2.5
    p1 = 1 / (1 + np.exp(-z))
    m = compute_metrics("binomial", y, p1)
    assert abs(m.auc() - skm.roc_auc_score(y, p1)) < 1e-3
    assert abs(m.aucpr() - skm.average_precision_score(y, p1)) < 5e-3
    thr = m.find_threshold_by_max_metric("accuracy")
    acc = skm.accuracy_score(y, (p1 >= thr).astype(float))
    tab = m.thresholds_and_metric_scores()
    assert tab["accuracy"].max() == pytest.approx(acc)


def test_binomial_threshold_metric_name_checked(breast_cancer_probs):
    y, p1 = breast_cancer_probs
    m = compute_metrics("binomial", y, p1)
    with pytest.raises(ValueError, match="metric must be one of"):
        m.find_threshold_by_max_metric("bogus")


# ------------------------------------------------------------------------------------- multinomial
def test_multinomial_matches_sklearn_on_real_data(digits_probs):
    y, P = digits_probs
    w = _weights(y.size, 4)
    classes = [f"d{i}" for i in range(10)]
    m = compute_metrics("multinomial", y, P, w, classes=classes)
    assert m.logloss() == pytest.approx(skm.log_loss(y, P, sample_weight=w), rel=1e-10)
    py = P[np.arange(y.size), y.astype(int)]
    assert m.mse() == pytest.approx(np.average((1 - py) ** 2, weights=w), rel=1e-12)
    var = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
    assert m.r2() == pytest.approx(1 - m.mse() / var, rel=1e-10)
    pred = P.argmax(axis=1)
    ref = skm.confusion_matrix(y, pred, sample_weight=w)
    cm = m.confusion_matrix()
    np.testing.assert_allclose(cm.iloc[:10, :10].to_numpy(np.float64), ref, rtol=1e-12)
    assert list(cm.columns) == classes + ["Error", "Rate"]
    acc = skm.accuracy_score(y, pred, sample_weight=w)
    assert 0.5 < acc < 0.999
    assert m.classification_error() == pytest.approx(1 - acc)
    assert m.error() == m.classification_error()
    assert m.mean_per_class_error() == pytest.approx(1 - skm.balanced_accuracy_score(y, pred, sample_weight=w))
    hr = m.hit_ratio_table()
    assert list(hr.columns) == ["k", "hit_ratio"] and list(hr["k"]) == list(range(1, 11))
    assert hr["hit_ratio"].iloc[0] == pytest.approx(acc)
    for k in (2, 3, 5):
        assert hr["hit_ratio"].iloc[k - 1] == pytest.approx(
            skm.top_k_accuracy_score(y, P, k=k, sample_weight=w, labels=np.arange(10)))
    assert hr["hit_ratio"].iloc[-1] == pytest.approx(1.0)
    assert np.all(np.diff(hr["hit_ratio"]) >= 0)
    assert m.auc() is None and m.aucpr() is None and m.mae() is None


def test_multinomial_hit_ratio_table_capped_at_10():
    rng = np.random.default_rng(1)
    K = 13
    P = rng.dirichlet(np.ones(K), 200)
    y = rng.integers(0, K, 200).astype(float)
    assert len(compute_metrics("multinomial", y, P).hit_ratio_table()) == 10
    assert len(compute_metrics("multinomial", y % 3, P[:, :3] / P[:, :3].sum(1, keepdims=True))
               .hit_ratio_table()) == 3


# ------------------------------------------------------------------------------------- autoencoder
def test_autoencoder_metrics():
    e = np.array([0.1, 0.4, 0.2, 0.3])
    m = compute_metrics("autoencoder", None, e, np.array([1.0, 1.0, 0.0, 2.0]))
    assert m.mse() == pytest.approx((0.1 + 0.4 + 0.6) / 4)
    assert m.rmse() == pytest.approx(math.sqrt(m.mse()))
    assert m.nobs() == 3
    assert m.logloss() is None and m.r2() is None and m.confusion_matrix() is None
    assert repr(m).startswith("ModelMetricsAutoEncoder: deeplearning")


# ------------------------------------------------------------------------------------- partials
def _split_check(kind, y, pred, w, **kw):
    one = compute_metrics(kind, y, pred, w, **kw)
    idx = np.array_split(np.arange(len(pred)), [len(pred) // 5, len(pred) // 2])
    parts = [partial_metrics(kind, None if y is None else y[i], pred[i], w[i], **kw) for i in idx]
    a = finalize(kind, combine(combine(parts[0], parts[1]), parts[2]))
    b = finalize(kind, combine(parts[2], combine(parts[1], parts[0])))
    c = finalize(kind, combine_all(parts))
    for m in (a, b, c):
        d1, d2 = one.to_dict(), m.to_dict()
        for key, v in d1["values"].items():
            if isinstance(v, float):
                assert d2["values"][key] == pytest.approx(v, rel=1e-9, abs=1e-12), (kind, key)
            else:
                assert d2["values"][key] == v, (kind, key)
        arrays = [(k, d1[k], d2[k]) for k in ("cm", "hit_ratios") if k in d1]
        arrays += [("roc." + k, d1["roc"][k], d2["roc"][k]) for k in d1.get("roc", {})]
        for key, x1, x2 in arrays:
            np.testing.assert_allclose(np.asarray(x2, dtype=float), np.asarray(x1, dtype=float),
                                       rtol=1e-12, err_msg=key)


def test_partials_combine_to_the_same_result(breast_cancer_probs, digits_probs, diabetes_preds):
    y, p1 = breast_cancer_probs
    _split_check("binomial", y, np.column_stack([1 - p1, p1]), _weights(y.size, 6))
    y, P = digits_probs
    _split_check("multinomial", y, P, _weights(y.size, 7))
    y, f = diabetes_preds
    for dist in ("gaussian", "poisson", "tweedie", "quantile"):
        _split_check("regression", y, f, _weights(y.size, 8), distribution=dist)
    _split_check("regression", y, f, _weights(y.size, 8), distribution="huber", huber_delta=40.0)
    _split_check("autoencoder", None, np.abs(f - y) / 100, _weights(y.size, 9))


def test_combine_rejects_mismatched_partials():
    a = partial_metrics("regression", np.ones(3), np.ones(3))
    b = partial_metrics("regression", np.ones(3), np.ones(3), distribution="poisson")
    with pytest.raises(ValueError, match="different distribution"):
        combine(a, b)
    with pytest.raises(ValueError, match="kind"):
        combine(a, partial_metrics("autoencoder", None, np.ones(3)))


def test_empty_partial_combines_cleanly():
    y = np.array([0.0, 1.0, 1.0])
    p = np.array([0.1, 0.8, 0.6])
    empty = partial_metrics("binomial", np.array([np.nan]), np.array([0.3]))
    m = finalize("binomial", combine(empty, partial_metrics("binomial", y, p)))
    assert m.nobs() == 3 and m.auc() == 1.0
    assert math.isnan(finalize("regression", partial_metrics("regression", np.array([np.nan]),
                                                             np.array([1.0]))).mse())


# ------------------------------------------------------------------------------------- object API
def test_to_dict_roundtrip_is_json_safe(breast_cancer_probs, digits_probs):
    y, p1 = breast_cancer_probs
    yd, P = digits_probs
    ms = [compute_metrics("binomial", y, p1, description="validation data"),
          compute_metrics("multinomial", yd, P),
          compute_metrics("regression", np.array([-5.0, 2.0]), np.array([1.0, 2.5]), distribution="laplace"),
          compute_metrics("autoencoder", None, np.array([0.5, 0.25]))]
    for m in ms:
        s = json.dumps(m.to_dict(), allow_nan=False)
        r = ModelMetrics.from_dict(json.loads(s))
        assert repr(r) == repr(m)
        for acc in ("mse", "rmse", "mae", "rmsle", "r2", "logloss", "auc", "aucpr", "gini",
                    "mean_residual_deviance", "mean_per_class_error", "classification_error", "nobs"):
            a, b = getattr(m, acc)(), getattr(r, acc)()
            assert (a is None and b is None) or (a == b) or (math.isnan(a) and math.isnan(b)), acc
        if m.kind == "binomial":
            assert r.find_threshold_by_max_metric("f1") == m.find_threshold_by_max_metric("f1")
            pd.testing.assert_frame_equal(r.confusion_matrix(), m.confusion_matrix())


def test_repr_like_h2o(breast_cancer_probs):
    y, p1 = breast_cancer_probs
    m = compute_metrics("binomial", y, p1, description="validation data")
    text = repr(m)
    lines = text.splitlines()
    assert lines[0] == "ModelMetricsBinomial: deeplearning"
    assert lines[1] == "** Reported on validation data. **"
    for label in ("MSE: ", "RMSE: ", "LogLoss: ", "AUC: ", "AUCPR: ", "Gini: ", "Mean Per-Class Error: "):
        assert any(line.startswith(label) for line in lines), label
    assert "Confusion Matrix (Act/Pred) for max f1 @ threshold = " in text
    assert f"AUC: {m.auc():.10g}" in lines


def test_metric_value_by_h2o_name(breast_cancer_probs, diabetes_preds):
    y, p1 = breast_cancer_probs
    m = compute_metrics("binomial", y, p1)
    assert metric_value(m, "logloss") == m.logloss()
    assert metric_value(m, "AUC") == m.auc()
    assert metric_value(m, "aucpr") == m.aucpr()
    assert metric_value(m, "misclassification") == m.classification_error()
    assert metric_value(m, "mean_per_class_error") == m.mean_per_class_error()
    assert metric_value(m, "lift_top_group") > 1.0
    assert math.isnan(metric_value(m, "deviance"))
    yr, f = diabetes_preds
    r = compute_metrics("regression", yr, f, distribution="poisson")
    assert metric_value(r, "deviance") == r.mean_residual_deviance()
    for name in ("mse", "rmse", "mae", "rmsle"):
        assert metric_value(r, name) == getattr(r, name)()
    with pytest.raises(ValueError, match="stopping metric must be one of"):
        metric_value(r, "r2")


def test_lift_top_group_exact_when_groups_align():
    # 1000 rows, distinct scores; the top 1 % are the 10 highest scores
    rng = np.random.default_rng(3)
    p1 = np.linspace(0.001, 0.999, 1000)
    y = (rng.random(1000) < p1).astype(float)
    top = np.argsort(-p1)[:10]
    expect = y[top].mean() / y.mean()
    assert metric_value(compute_metrics("binomial", y, p1), "lift_top_group") == pytest.approx(expect)


@pytest.mark.parametrize("call,match", [
    (lambda: compute_metrics("ranking", np.ones(2), np.ones(2)), "kind must be one of"),
    (lambda: compute_metrics("regression", np.ones(2), np.ones(2), distribution="bernoulli"),
     "distribution must be one of"),
    (lambda: compute_metrics("binomial", np.array([0.0, 2.0]), np.full((2, 2), 0.5)), "class indices 0..1"),
    (lambda: compute_metrics("multinomial", np.array([0.0, 1.5]), np.full((2, 3), 1 / 3)), "class indices"),
    (lambda: compute_metrics("regression", np.ones(3), np.ones(2)), "y has 3 rows"),
    (lambda: compute_metrics("regression", np.ones(2), np.ones(2), np.array([1.0, -1.0])), "must be >= 0"),
    (lambda: compute_metrics("binomial", np.ones(2), np.full((2, 2), 0.5), classes=["a"]), "classes has 1"),
])
def test_errors_are_clear(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("auc_type,multi_class,average", [("macro_ovr", "ovr", "macro"),
                                                          ("weighted_ovr", "ovr", "weighted"),
                                                          ("macro_ovo", "ovo", "macro"),
                                                          ("weighted_ovo", "ovo", "weighted")])
def test_multinomial_auc_matches_sklearn(digits_probs, auc_type, multi_class, average):
    y, P = digits_probs
    # merged from 3 partials, as a frame scored partition by partition
    parts = [partial_metrics("multinomial", y[s], P[s], n_classes=10, auc_type=auc_type)
             for s in (slice(0, 500), slice(500, 1200), slice(1200, None))]
    m = finalize("multinomial", combine_all(parts))
    ref = skm.roc_auc_score(y, P, multi_class=multi_class, average=average)
    assert m.auc() == pytest.approx(ref, abs=2e-3)
    # one-vs-rest average precision per class
    t = m.multinomial_aucpr_table()
    for k in range(10):
        ap = skm.average_precision_score(y == k, P[:, k])
        assert t.loc[t["type"] == f"{k} vs Rest", "pr_auc"].item() == pytest.approx(ap, abs=5e-3)
    ta = m.multinomial_auc_table()
    assert list(ta.columns) == ["type", "first_class_domain", "second_class_domain", "auc"]
    assert len(ta) == 10 + 2 + 45 + 2
    # JSON round trip (saved models)
    back = ModelMetrics.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back.auc() == pytest.approx(m.auc())
    pd.testing.assert_frame_equal(back.multinomial_auc_table(), ta)


def test_multinomial_auc_not_computed_by_default(digits_probs):
    y, P = digits_probs
    for t in (None, "auto", "none"):
        m = compute_metrics("multinomial", y, P, n_classes=10, auc_type=t)
        assert m.multinomial_auc_table() is None
        assert m.auc() is None or math.isnan(m.auc())


def test_max_confusion_matrix_size_limits_the_printout():
    import daskdl

    df = pd.read_csv(data_path("sklearn_digits.csv.gz")).head(400)
    df["target"] = df["target"].astype("category")
    m = daskdl.DeepLearningEstimator(hidden=[8], epochs=1, seed=1, reproducible=True, quiet_mode=True,
                                     max_confusion_matrix_size=5)
    m.train(y="target", training_frame=df)
    text = repr(m.model_performance(train=True))
    assert "Confusion Matrix not shown: 10 classes > max_confusion_matrix_size = 5" in text
    assert m.confusion_matrix().shape[0] >= 10  # still available on request
    m2 = daskdl.DeepLearningEstimator(hidden=[8], epochs=1, seed=1, reproducible=True, quiet_mode=True)
    m2.train(y="target", training_frame=df)
    assert "Row labels: Actual class" in repr(m2.model_performance(train=True))
