"""N-fold cross-validation (nfolds / fold_column), spec section 9.4."""
import numpy as np
import pandas as pd
import pytest

from daskdl import DeepLearningEstimator, ParameterError
from daskdl.train.cv import FoldAssigner
from daskdl.metrics import compute_metrics



def _cv_model(**kw):
    p = dict(hidden=[10, 10], epochs=10, seed=1, reproducible=True, quiet_mode=True, nfolds=5)
    p.update(kw)
    return DeepLearningEstimator(**p)


@pytest.fixture(scope="module")
def prostate_cv(prostate):
    df = prostate(factors=("CAPSULE",), drop_id=True)
    m = _cv_model(keep_cross_validation_predictions=True, keep_cross_validation_fold_assignment=True)
    m.train(y="CAPSULE", training_frame=df)
    return df, m


def test_prostate_5fold_xval_auc(prostate_cv):
    df, m = prostate_cv
    xval = m.model_performance(xval=True)
    assert xval is not None and xval.kind == "binomial"
    assert xval.nobs() == len(df)
    assert m.auc(xval=True) >= 0.70
    both = m.auc(train=True, xval=True)
    assert set(both) == {"train", "xval"} and both["xval"] == m.auc(xval=True)
    assert "5-fold cross-validation" in xval.description


def test_xval_metrics_are_those_of_the_holdout_predictions(prostate_cv):
    df, m = prostate_cv
    hp = m.cross_validation_holdout_predictions()
    assert len(hp) == len(df) and list(hp.index) == list(df.index)
    assert list(hp.columns) == ["predict", "p0", "p1"]
    y = df["CAPSULE"].cat.codes.to_numpy().astype(float)
    ref = compute_metrics("binomial", y, hp[["p0", "p1"]].to_numpy(), n_classes=2)
    assert ref.logloss() == pytest.approx(m.logloss(xval=True), rel=1e-6)
    assert ref.auc() == pytest.approx(m.auc(xval=True), rel=1e-6)


def test_fold_models_predictions_and_assignment(prostate_cv):
    df, m = prostate_cv
    models = m.cross_validation_models()
    assert [x.model_id for x in models] == [f"{m.model_id}_cv_{k}" for k in range(1, 6)]
    assert all(x.nfolds == 0 or x.get_params()["nfolds"] == 0 for x in models)
    fa = m.cross_validation_fold_assignment()["fold_assignment"]
    assert len(fa) == len(df) and set(fa) == set(range(5))
    # AUTO = Random: independent per row, every fold used, not exactly balanced
    assert fa.value_counts().min() > 40
    # each fold model's validation metrics are those of its holdout rows
    for k, fm in enumerate(models):
        assert fm.model_performance(valid=True).nobs() == int((fa == k).sum())
    preds = m.cross_validation_predictions()
    hp = m.cross_validation_holdout_predictions()
    assert len(preds) == 5
    total = sum(p["p1"].to_numpy() for p in preds)
    np.testing.assert_allclose(total, hp["p1"].to_numpy())
    for k, p in enumerate(preds):
        assert (p.loc[fa != k, "p1"] == 0).all()
        np.testing.assert_allclose(p.loc[fa == k, "p1"], hp.loc[fa == k, "p1"])


def test_metrics_summary(prostate_cv):
    _, m = prostate_cv
    s = m.cross_validation_metrics_summary()
    assert list(s.columns) == ["mean", "sd"] + [f"cv_{k}_valid" for k in range(1, 6)]
    for name in ("auc", "logloss", "mse", "err", "f1", "pr_auc"):
        assert name in s.index
    folds = s[[f"cv_{k}_valid" for k in range(1, 6)]]
    np.testing.assert_allclose(s["mean"], folds.mean(axis=1))
    np.testing.assert_allclose(s["sd"], folds.std(axis=1, ddof=1))
    per_fold_auc = [x.auc(valid=True) for x in m.cross_validation_models()]
    np.testing.assert_allclose(folds.loc["auc"], per_fold_auc, rtol=1e-6)


def test_main_model_epochs_are_the_fold_mean(prostate):
    df = prostate(factors=("CAPSULE",), drop_id=True)
    m = _cv_model(nfolds=3, epochs=4, stopping_rounds=1, stopping_tolerance=0.5, hidden=[5])
    m.train(y="CAPSULE", training_frame=df)
    fold_epochs = [x.fit_state.epochs for x in m.cross_validation_models()]
    assert m.actual_params["epochs"] == pytest.approx(np.mean(fold_epochs))
    assert m.actual_params["stopping_rounds"] == 0
    assert m.actual_params["overwrite_with_best_model"] is False
    # not asked: nothing kept
    assert m.cross_validation_holdout_predictions() is None
    assert m.cross_validation_predictions() is None
    assert m.cross_validation_fold_assignment() is None
    m2 = _cv_model(nfolds=2, epochs=2, stopping_rounds=0, hidden=[5], keep_cross_validation_models=False)
    m2.train(y="CAPSULE", training_frame=df)
    assert m2.actual_params["epochs"] == 2
    assert m2.cross_validation_models() is None
    assert m2.auc(xval=True) is not None


def test_regression_fold_column_and_modulo(prostate):
    df = prostate(factors=("CAPSULE",), drop_id=True).drop(columns=["CAPSULE"])
    df["fold"] = np.where(np.arange(len(df)) % 3 == 0, "a", np.where(np.arange(len(df)) % 3 == 1, "b", "c"))
    m = DeepLearningEstimator(hidden=[5], epochs=2, seed=1, reproducible=True, quiet_mode=True,
                              fold_column="fold", keep_cross_validation_fold_assignment=True)
    m.train(y="VOL", training_frame=df)
    assert m.mse(xval=True) > 0
    assert "fold" not in m.fit_state.x  # the fold column is never a predictor
    fa = m.cross_validation_fold_assignment()["fold_assignment"].to_numpy()
    np.testing.assert_array_equal(fa, np.arange(len(df)) % 3)
    s = m.cross_validation_metrics_summary()
    assert {"mae", "mean_residual_deviance", "mse", "r2", "rmse"} <= set(s.index)
    assert len(m.cross_validation_models()) == 3
    for fm in m.cross_validation_models():
        assert "fold" not in fm.fit_state.x
    m2 = DeepLearningEstimator(hidden=[5], epochs=1, seed=1, quiet_mode=True, nfolds=4, fold_assignment="Modulo",
                               keep_cross_validation_fold_assignment=True)
    m2.train(y="VOL", training_frame=df.drop(columns=["fold"]))
    fa2 = m2.cross_validation_fold_assignment()["fold_assignment"].to_numpy()
    np.testing.assert_array_equal(fa2, np.arange(len(df)) % 4)


def test_fold_assigner_schemes_across_partitions():
    df = pd.DataFrame({"y": pd.Categorical(["a"] * 900 + ["b"] * 100 + [None] * 10)})
    a = FoldAssigner("stratified", 5, 42, (0,), "y", classes=("a", "b"))
    f = a(df, 0)
    assert set(f) == set(range(5))
    per_class_b = np.bincount(f[900:1000], minlength=5)
    assert per_class_b.min() > 5  # every fold gets some of the minority class
    np.testing.assert_array_equal(f[1000:], np.arange(1000, 1010) % 5)  # NA: round-robin
    # partition-wise evaluation equals the whole frame (row numbers are global)
    r = FoldAssigner("random", 5, 7, (0, 400), "y")
    whole = FoldAssigner("random", 5, 7, (0,), "y")(df, 0)
    np.testing.assert_array_equal(np.concatenate([r(df.iloc[:400], 0), r(df.iloc[400:], 1)]), whole)
    other = FoldAssigner("random", 5, 8, (0,), "y")(df, 0)
    assert (other != whole).mean() > 0.5  # seeded


@pytest.mark.parametrize("kw,match", [
    (dict(nfolds=1), "nfolds"),
    (dict(nfolds=-2), "nfolds"),
    (dict(nfolds=1000), "nfolds must not exceed"),
    (dict(nfolds=3, fold_column="GLEASON"), "either nfolds or fold_column"),
    (dict(fold_assignment="Modulo"), "fold_assignment"),
    (dict(fold_column="NOPE"), "fold_column"),
])
def test_cv_parameter_errors(prostate, kw, match):
    df = prostate(factors=("CAPSULE",), drop_id=True)
    with pytest.raises(ValueError, match=match):
        DeepLearningEstimator(epochs=1, hidden=[3], **kw).train(y="CAPSULE", training_frame=df)


def test_nfolds_with_autoencoder_is_an_error(prostate):
    df = prostate(factors=("CAPSULE",), drop_id=True).drop(columns=["CAPSULE"])
    with pytest.raises(ParameterError, match="nfolds"):
        DeepLearningEstimator(autoencoder=True, nfolds=3, epochs=1, hidden=[3]).train(training_frame=df)


def test_dask_frame_on_cluster_folds_run_concurrently(prostate, client):
    import dask.dataframe as dd

    df = prostate(factors=("CAPSULE",), drop_id=True)
    ddf = dd.from_pandas(df, npartitions=4)
    m = DeepLearningEstimator(hidden=[5], epochs=2, seed=1, quiet_mode=True, nfolds=3,
                              keep_cross_validation_predictions=True, keep_cross_validation_fold_assignment=True)
    m.train(y="CAPSULE", training_frame=ddf)
    hp = m.cross_validation_holdout_predictions()
    assert isinstance(hp, dd.DataFrame)
    hp = hp.compute()
    assert len(hp) == len(df) and list(hp.index) == list(df.index)
    fa = m.cross_validation_fold_assignment().compute()["fold_assignment"]
    # same seeded assignment as on the pandas frame
    m_pd = DeepLearningEstimator(hidden=[5], epochs=1, seed=1, quiet_mode=True, nfolds=3,
                                 keep_cross_validation_fold_assignment=True)
    m_pd.train(y="CAPSULE", training_frame=df, client=False)
    np.testing.assert_array_equal(fa.to_numpy(), m_pd.cross_validation_fold_assignment()["fold_assignment"])
    y = df["CAPSULE"].cat.codes.to_numpy().astype(float)
    ref = compute_metrics("binomial", y, hp[["p0", "p1"]].to_numpy(), n_classes=2)
    assert ref.logloss() == pytest.approx(m.logloss(xval=True), rel=1e-6)
