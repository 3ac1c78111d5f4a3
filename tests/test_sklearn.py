"""scikit-learn estimators: sklearn's own estimator checks, Pipeline / GridSearchCV, dask in and out."""
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from daskdl import DeepLearningEstimator
from daskdl.params import PARAMS
from daskdl.sklearn import (EXPECTED_FAILED_CHECKS, DeepLearningAutoEncoder, DeepLearningClassifier,
                            DeepLearningRegressor)

# each of these trains H2O's default network several times on a few hundred rows (3-5 s each): marked slow
# by conftest.pytest_collection_modifyitems (run with -m slow)
SLOW_CHECKS = {"check_classifiers_train", "check_regressors_train", "check_regressor_data_not_an_array"}


def _estimators():
    # defaults are H2O's; seed + reproducible make two fits identical, as several checks require
    return [DeepLearningClassifier(seed=1, reproducible=True), DeepLearningRegressor(seed=1, reproducible=True)]


# sklearn's array-API checks skip themselves ("SCIPY_ARRAY_API is not set"): daskdl takes numpy, pandas
# and dask inputs, not other array-API namespaces
@parametrize_with_checks(_estimators(), expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
def test_check_estimator_all():
    for est in _estimators():
        check_estimator(est, expected_failed_checks=EXPECTED_FAILED_CHECKS)


def test_wrapper_defaults_are_h2o_defaults():
    for cls in (DeepLearningClassifier, DeepLearningRegressor, DeepLearningAutoEncoder):
        p = cls().get_params()
        for par in PARAMS:
            if par.name in p:
                want = tuple(par.default) if isinstance(par.default, list) else par.default
                assert p[par.name] == want, (cls.__name__, par.name)
        assert p["client"] is None
    assert DeepLearningClassifier().hidden == (200, 200) and DeepLearningClassifier().epochs == 10.0


def test_pipeline_in_grid_search_on_iris():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), DeepLearningClassifier(hidden=(16,), epochs=20, seed=3, reproducible=True))
    gs = GridSearchCV(pipe, {"deeplearningclassifier__l1": [0.0, 1e-4]}, cv=2)
    gs.fit(X, y)
    assert set(gs.cv_results_["param_deeplearningclassifier__l1"]) == {0.0, 1e-4}
    best = gs.best_estimator_
    assert best[-1].classes_.tolist() == [0, 1, 2]
    assert best.predict(X).dtype == y.dtype and set(best.predict(X)) <= {0, 1, 2}
    assert gs.best_score_ > 0.8
    proba = best.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)


def _blobs(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    return X, y


def test_string_labels_and_pandas_categorical_features():
    X, y = _blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["colour"] = pd.Categorical(np.where(X[:, 2] > 0, "red", "blue"))
    clf = DeepLearningClassifier(hidden=(8,), epochs=10, seed=2, reproducible=True).fit(df, y)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert clf.feature_names_in_.tolist() == ["a", "b", "c", "d", "colour"] and clf.n_features_in_ == 5
    pred = clf.predict(df)
    assert set(pred) <= {"no", "yes"} and (pred == y).mean() > 0.8
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"a": "z"}))


def test_dask_array_in_dask_array_out(client):
    X, y = _blobs()
    Xd, yd = da.from_array(X, chunks=60), da.from_array(y, chunks=60)
    clf = DeepLearningClassifier(hidden=(8,), epochs=10, seed=2, reproducible=True, client=client).fit(Xd, yd)
    assert clf.classes_.tolist() == ["no", "yes"] and clf.n_features_in_ == 4
    pred = clf.predict(Xd)
    proba = clf.predict_proba(Xd)
    assert isinstance(pred, da.Array) and isinstance(proba, da.Array)
    assert pred.chunks == ((60, 60, 60, 60),) and proba.chunks == ((60, 60, 60, 60), (2,))
    assert pred.dtype == y.dtype or pred.dtype == object
    p = pred.compute()
    assert p.shape == (240,) and (p == y).mean() > 0.8
    # the same model on numpy gives the same answers
    np.testing.assert_array_equal(p, clf.predict(X))
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(X), rtol=1e-6)
    assert clone(clf).client is client and clone(clf).get_params()["hidden"] == (8,)
    reg = DeepLearningRegressor(hidden=(8,), epochs=5, seed=2, reproducible=True, client=client)
    reg.fit(Xd, da.from_array(X[:, 0] * 2.0, chunks=60))
    out = reg.predict(Xd)
    assert isinstance(out, da.Array) and out.dtype == np.float64 and out.chunks == ((60, 60, 60, 60),)
    assert np.corrcoef(out.compute(), X[:, 0])[0, 1] > 0.9


def test_dask_dataframe_in_dask_out(client):
    X, _ = _blobs()
    pdf = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    yv = (pdf["a"] - pdf["b"] > 0).astype(np.int64)
    ddf = dd.from_pandas(pdf, npartitions=3)
    ys = dd.from_pandas(yv, npartitions=3)
    clf = DeepLearningClassifier(hidden=(8,), epochs=10, seed=2, reproducible=True).fit(ddf, ys)
    assert clf.feature_names_in_.tolist() == ["a", "b", "c", "d"] and clf.classes_.tolist() == [0, 1]
    pred = clf.predict(ddf)
    assert isinstance(pred, dd.Series) and pred.dtype == np.int64 and pred._meta.dtype == np.int64
    out = pred.compute()
    assert out.index.equals(pdf.index) and (out.to_numpy() == yv.to_numpy()).mean() > 0.8
    proba = clf.predict_proba(ddf)
    assert isinstance(proba, dd.DataFrame) and proba.npartitions == 3


def test_sample_weight_changes_the_fit():
    X, y = _blobs(seed=4)
    w = np.where(y == "yes", 5.0, 1.0)
    a = DeepLearningClassifier(hidden=(8,), epochs=5, seed=2, reproducible=True).fit(X, y)
    b = clone(a).fit(X, y, sample_weight=w)
    pa, pb = a.predict_proba(X)[:, 1].mean(), b.predict_proba(X)[:, 1].mean()
    assert pb > pa  # up-weighted "yes" rows pull the probabilities toward "yes"
    with pytest.raises(ValueError, match="(?i)negative"):
        clone(a).fit(X, y, sample_weight=-w)


def test_autoencoder_transformer():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    X[:, 3:] = X[:, :3] * 2.0  # redundant features: a 3-unit code reconstructs them
    ae = DeepLearningAutoEncoder(hidden=(12, 3, 12), epochs=20, activation="tanh", seed=1, reproducible=True)
    Z = ae.fit(X).transform(X)
    assert ae.layer_ == 1 and Z.shape == (300, 3)
    assert ae.get_feature_names_out().tolist() == ["DF.L2.C1", "DF.L2.C2", "DF.L2.C3"]
    err = ae.score_samples(X)
    outliers = X[:5] * 0 + 8.0
    assert ae.score_samples(outliers).mean() > 10 * np.median(err)
    assert ae.fit_transform(X).shape == (300, 3)


def test_estimator_signature_and_sklearn_params():
    import inspect

    sig = inspect.signature(DeepLearningEstimator)
    assert [p.name for p in sig.parameters.values()] == [p.name for p in PARAMS]
    for p in PARAMS:
        assert sig.parameters[p.name].default == p.default, p.name
        assert sig.parameters[p.name].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    doc = DeepLearningEstimator.__doc__
    for p in PARAMS:
        assert f"\n    {p.name} : " in doc, p.name
    m = DeepLearningEstimator(hidden=[5], epochs=2)
    p = m.get_params(deep=True)
    assert len(p) == 92 and p["hidden"] == [5] and p["epochs"] == 2 and p["model_id"] is None
    c = clone(m)
    assert c.get_params(deep=False)["hidden"] == [5] and c is not m
    assert m.set_params(l1=0.1, hidden=[3]) is m and m.l1 == 0.1 and m.hidden == [3]
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        m.set_params(nope=1)
    with pytest.raises(TypeError):
        DeepLearningEstimator(nope=1)
    from daskdl import H2OAutoEncoderEstimator

    assert H2OAutoEncoderEstimator().get_params()["autoencoder"] is True


def test_generated_code_is_current():
    from daskdl import _codegen

    assert _codegen.is_current(), "run: python -m daskdl._codegen"
