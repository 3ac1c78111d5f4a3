"""End-to-end tests of DeepLearningEstimator on real data sets (in-process and on a cluster)."""
import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl import DeepLearningEstimator

from conftest import data_path


def test_iris_multinomial_in_process(iris):
    df = iris()
    y = df.columns[-1]
    m = DeepLearningEstimator(hidden=[20, 20], epochs=40, seed=1, reproducible=True)
    m.train(y=y, training_frame=df)
    pred = m.predict(df)
    classes = sorted(df[y].unique())
    assert list(pred.columns) == ["predict"] + classes
    assert np.allclose(pred[classes].sum(axis=1), 1.0, atol=1e-5)
    acc = (pred["predict"].astype(str).to_numpy() == df[y].to_numpy()).mean()
    assert acc > 0.9
    assert m.model_performance(train=True).kind == "multinomial"
    assert m.mse() < 0.2
    assert m.logloss() is not None and m.auc() is None
    hist = m.scoring_history()
    for col in ("timestamp", "duration", "training_speed", "epochs", "iterations", "samples", "training_rmse",
                "training_logloss", "training_classification_error"):
        assert col in hist.columns
    vi = m.varimp(use_pandas=True)
    assert list(vi.columns) == ["variable", "relative_importance", "scaled_importance", "percentage"]
    assert vi["scaled_importance"].max() == pytest.approx(1.0)
    assert "Status of Neuron Layers" in repr(m)
    assert m.params["hidden"]["actual"] == [20, 20] and m.params["hidden"]["default"] == [200, 200]


def test_reproducible_is_bit_identical(prostate):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS"))
    kw = dict(hidden=[10, 10], epochs=3, seed=42, reproducible=True, activation="RectifierWithDropout",
              input_dropout_ratio=0.1)
    a = DeepLearningEstimator(**kw).train(y="CAPSULE", training_frame=df.drop(columns=["ID"]))
    b = DeepLearningEstimator(**kw).train(y="CAPSULE", training_frame=df.drop(columns=["ID"]))
    assert np.array_equal(a.fit_state.net.W, b.fit_state.net.W)
    assert np.array_equal(a.fit_state.net.B, b.fit_state.net.B)
    c = DeepLearningEstimator(**{**kw, "seed": 43}).train(y="CAPSULE", training_frame=df.drop(columns=["ID"]))
    assert not np.array_equal(a.fit_state.net.W, c.fit_state.net.W)


def test_prostate_binomial_on_cluster(prostate, client, tmp_path):
    import dask.dataframe as dd

    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    path = tmp_path / "prostate.parquet"
    df.to_parquet(path)
    frame = daskdl.import_file(str(path))
    frame = daskdl.asfactor(frame, "CAPSULE")
    train, valid = daskdl.split_frame(frame, [0.8], seed=1)
    m = DeepLearningEstimator(hidden=[50, 50], epochs=20, seed=1)
    m.train(y="CAPSULE", training_frame=train, validation_frame=valid)
    assert m.auc(valid=True) > 0.7
    pred = m.predict(valid)
    assert isinstance(pred, dd.DataFrame)
    out = pred.compute()
    assert list(out.columns) == ["predict", "p0", "p1"]
    assert len(out) == len(valid.compute())
    perf = m.model_performance(test_data=valid)
    assert perf.auc() == pytest.approx(m.auc(valid=True), abs=0.02)
    cm = perf.confusion_matrix()
    assert cm is not None


def test_regression_gaussian_and_offsets():
    df = pd.read_csv(data_path("sklearn_diabetes.csv.gz"))
    m = DeepLearningEstimator(hidden=[32], epochs=50, seed=1, reproducible=True)
    m.train(y="target", training_frame=df)
    pred = m.predict(df)
    assert list(pred.columns) == ["predict"]
    r2 = 1 - ((pred["predict"] - df["target"]) ** 2).mean() / df["target"].var(ddof=0)
    assert r2 > 0.4
    assert m.r2() == pytest.approx(r2, abs=0.05)
    # an offset shifts the predictions by itself (identity link)
    df2 = df.assign(off=5.0)
    mo = DeepLearningEstimator(hidden=[8], epochs=2, seed=1, reproducible=True, offset_column="off")
    mo.train(y="target", training_frame=df2)
    p_a = mo.predict(df2)["predict"].to_numpy()
    p_b = mo.predict(df2.assign(off=15.0))["predict"].to_numpy()
    assert np.allclose(p_b - p_a, 10.0, atol=1e-3)


@pytest.mark.parametrize("dist", ["poisson", "gamma", "tweedie", "laplace", "quantile", "huber"])
def test_regression_distributions_train(dist):
    df = pd.read_csv(data_path("sklearn_diabetes.csv.gz"))
    m = DeepLearningEstimator(hidden=[16], epochs=5, seed=1, distribution=dist, reproducible=True)
    m.train(y="target", training_frame=df)
    p = m.predict(df)["predict"].to_numpy()
    assert np.isfinite(p).all()
    if dist in ("poisson", "gamma", "tweedie"):
        assert (p > 0).all()
    assert m.mean_residual_deviance() is not None


def test_ecg_autoencoder_ranks_anomalies():
    train = pd.read_csv(data_path("ecg_discord_train.csv"), header=None)
    test = pd.read_csv(data_path("ecg_discord_test.csv"), header=None)
    train.columns = test.columns = [f"C{i + 1}" for i in range(train.shape[1])]
    m = DeepLearningEstimator(activation="Tanh", autoencoder=True, hidden=[50, 20, 50], l1=1e-4, epochs=100,
                              seed=1, reproducible=True)
    m.train(x=list(train.columns), training_frame=train)
    err = m.anomaly(test)
    assert list(err.columns) == ["Reconstruction.MSE"]
    top3 = set(np.argsort(-err["Reconstruction.MSE"].to_numpy())[:3])
    assert top3 == {20, 21, 22}
    per = m.anomaly(test, per_feature=True)
    assert per.shape == (23, 210)
    assert np.allclose(per.mean(axis=1).to_numpy(), err["Reconstruction.MSE"].to_numpy(), rtol=1e-5)
    recon = m.predict(test)
    assert recon.shape == (23, 210) and recon.columns[0] == "reconstr_C1"
    feats = m.deepfeatures(test, 1)
    assert list(feats.columns) == [f"DF.L2.C{j + 1}" for j in range(20)]


def test_bad_input_errors(prostate):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS"))
    with pytest.raises(ValueError, match="NOPE"):
        DeepLearningEstimator(epochs=1).train(x=["AGE", "NOPE"], y="CAPSULE", training_frame=df)
    with pytest.raises(ValueError, match="distribution"):
        DeepLearningEstimator(epochs=1, distribution="gaussian").train(y="CAPSULE", training_frame=df)
    with pytest.raises(ValueError, match="hidden_dropout_ratios"):
        DeepLearningEstimator(activation="RectifierWithDropout", hidden=[5, 5],
                              hidden_dropout_ratios=[0.5]).train(y="CAPSULE", training_frame=df)
    with pytest.raises(ValueError, match="epochs"):
        DeepLearningEstimator(epochs=-1).train(y="CAPSULE", training_frame=df)
    with pytest.raises(TypeError, match="hiddn"):
        DeepLearningEstimator(hiddn=[5])
    # several problems are reported together
    with pytest.raises(ValueError) as e:
        DeepLearningEstimator(epochs=-1, l1=-2, rho=3).train(y="CAPSULE", training_frame=df)
    msg = str(e.value)
    assert "epochs" in msg and "l1" in msg and "rho" in msg


def test_messy_data_is_normal_input(prostate):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    df["ALLNA"] = np.nan
    df["CONST"] = 3.0
    df.loc[::7, "PSA"] = np.nan
    df.loc[::11, "VOL"] = np.inf
    df["RACE"] = df["RACE"].cat.add_categories([9])
    m = DeepLearningEstimator(hidden=[8], epochs=3, seed=1, reproducible=True)
    m.train(y="CAPSULE", training_frame=df)
    assert "ALLNA" not in m.fit_state.schema.num_cols and "CONST" not in m.fit_state.schema.num_cols
    test = df.head(20).copy()
    test["RACE"] = test["RACE"].astype(object)
    test.loc[test.index[:3], "RACE"] = 7  # unseen level
    test = test.drop(columns=["VOL"])  # missing column
    p = m.predict(test)
    assert len(p) == 20 and np.isfinite(p[["p0", "p1"]].to_numpy()).all()


def test_empty_partition_and_uneven_partitions(prostate, client):
    import dask.dataframe as dd

    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    parts = [df.iloc[:0], df.iloc[:10], df.iloc[10:]]
    frame = dd.from_delayed([__import__("dask").delayed(p) for p in parts], meta=df.iloc[:0])
    m = DeepLearningEstimator(hidden=[8], epochs=2, seed=1)
    m.train(y="CAPSULE", training_frame=frame)
    out = m.predict(frame).compute()
    assert len(out) == len(df)


def test_weights_column_trains_and_scores(prostate):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    df["w"] = np.where(df["CAPSULE"].astype(int) == 1, 2.0, 0.5)
    m = DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True, weights_column="w")
    m.train(y="CAPSULE", training_frame=df)
    assert "w" not in m.fit_state.schema.num_cols
    assert m.auc() > 0.6


def test_booklet_trial_run_small():
    """The booklet's MNIST trial run, on a slice of the bundled data (the full run is a benchmark)."""
    from daskdl.datasets import mnist

    train = mnist("train", as_pandas=True).iloc[:6000]
    test = mnist("test", as_pandas=True).iloc[:2000]
    m = DeepLearningEstimator(distribution="multinomial", activation="RectifierWithDropout",
                              hidden=[200, 200, 200], input_dropout_ratio=0.2, l1=1e-5, epochs=2, seed=1)
    m.train(x=[f"C{i + 1}" for i in range(784)], y="C785", training_frame=train, validation_frame=test)
    err = m.model_performance(valid=True).classification_error()
    assert err < 0.2
    assert m.predict(test).shape == (2000, 11)


def test_initial_weights_pretrained_autoencoder_and_checkpoint_export(prostate, tmp_path):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    x = [c for c in df.columns if c != "CAPSULE"]
    base = DeepLearningEstimator(hidden=[6], epochs=1, seed=1, reproducible=True).train(y="CAPSULE",
                                                                                       training_frame=df)
    W = [base.weights(0), base.weights(1)]
    B = [base.biases(0), base.biases(1)]
    # epochs=0: the network is exactly the supplied one
    m = DeepLearningEstimator(hidden=[6], epochs=0, seed=2, initial_weights=W, initial_biases=B)
    m.train(y="CAPSULE", training_frame=df)
    assert np.allclose(m.weights(0).to_numpy(), W[0].to_numpy()) and np.allclose(m.biases(1), B[1])
    with pytest.raises(ValueError, match="initial_weights"):
        DeepLearningEstimator(hidden=[6], epochs=1, initial_weights=[W[0]], initial_biases=[B[0]]).train(
            y="CAPSULE", training_frame=df)
    # a supervised model starts from an autoencoder's hidden layers
    ae = DeepLearningEstimator(autoencoder=True, hidden=[5], epochs=2, seed=1, reproducible=True)
    ae.train(x=x, training_frame=df)
    sup = DeepLearningEstimator(hidden=[5], epochs=0, seed=3, pretrained_autoencoder=ae.model_id)
    sup.train(x=x, y="CAPSULE", training_frame=df)
    assert np.allclose(sup.weights(0).to_numpy(), ae.weights(0).to_numpy())
    with pytest.raises(ValueError, match="hidden"):
        DeepLearningEstimator(hidden=[7], epochs=1, pretrained_autoencoder=ae).train(x=x, y="CAPSULE",
                                                                                    training_frame=df)
    # export_checkpoints_dir writes a resumable model at every scoring
    ck = tmp_path / "ck"
    m1 = DeepLearningEstimator(hidden=[6], epochs=2, seed=1, reproducible=True, export_checkpoints_dir=str(ck),
                               model_id="ck_model")
    m1.train(y="CAPSULE", training_frame=df)
    saved = daskdl.load_model(str(ck / "ck_model"))
    assert saved.fit_state.epochs >= 1
    m2 = DeepLearningEstimator(hidden=[6], epochs=4, seed=1, reproducible=True, checkpoint=str(ck / "ck_model"))
    m2.train(y="CAPSULE", training_frame=df)
    assert m2.fit_state.epochs >= 4


def test_balance_classes_oversamples_the_minority_and_corrects_probabilities(prostate):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    # make class 1 rare
    rare = pd.concat([df[df["CAPSULE"].astype(int) == 0], df[df["CAPSULE"].astype(int) == 1].head(30)])
    m = DeepLearningEstimator(hidden=[8], epochs=3, seed=1, reproducible=True, balance_classes=True)
    m.train(y="CAPSULE", training_frame=rare)
    bal = m.fit_state.balance
    assert bal.factors[0] == pytest.approx(1.0) and bal.factors[1] == pytest.approx(227 / 30)
    # an epoch is the balanced row count
    res = m.fit_state
    assert res.n_rows == pytest.approx(2 * 227, abs=2)
    p = m.predict(rare)
    assert np.allclose(p[["p0", "p1"]].sum(axis=1), 1.0, atol=1e-5)
    # the mean predicted p1 follows the training distribution, not the balanced one
    assert p["p1"].mean() < 0.35
    capped = DeepLearningEstimator(hidden=[8], epochs=1, seed=1, reproducible=True, balance_classes=True,
                                   max_after_balance_size=1.1)
    capped.train(y="CAPSULE", training_frame=rare)
    assert capped.fit_state.balance.expanded == pytest.approx(1.1 * len(rare))


def test_multinomial_auc_type():
    df = pd.read_csv(data_path("iris.csv"))
    y = df.columns[-1]
    df[y] = df[y].astype("category")
    m = DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True, auc_type="weighted_ovo")
    m.train(y=y, training_frame=df, validation_frame=df)
    h = m.scoring_history()
    assert np.isfinite(h["validation_auc"].iloc[-1]) and np.isfinite(h["training_pr_auc"].iloc[-1])
    assert 0.5 < m.auc(valid=True) <= 1.0
    t = m.model_performance(test_data=df).multinomial_auc_table()
    assert t["type"].iloc[-1] == "Weighted OVO" and t["auc"].iloc[-1] == pytest.approx(m.auc(valid=True))
    # default: not computed, as in H2O
    d = DeepLearningEstimator(hidden=[8], epochs=1, seed=1, reproducible=True)
    d.train(y=y, training_frame=df)
    assert d.model_performance(test_data=df).multinomial_auc_table() is None
    assert np.isnan(d.scoring_history()["training_auc"].iloc[-1])


def test_elastic_averaging_in_process(prostate):
    df = prostate(factors=("CAPSULE", "RACE", "DPROS", "DCAPS")).drop(columns=["ID"])
    kw = dict(hidden=[16], epochs=10, seed=1, reproducible=True, train_samples_per_iteration=50)
    ea = DeepLearningEstimator(elastic_averaging=True, elastic_averaging_regularization=0.01, **kw)
    ea.train(y="CAPSULE", training_frame=df)
    plain = DeepLearningEstimator(**kw)
    plain.train(y="CAPSULE", training_frame=df)
    assert not np.array_equal(ea.fit_state.net.W, plain.fit_state.net.W)
    assert ea.auc() > 0.7
    # in this process (no cluster): a moving rate of 1 and no pull make the consensus the local
    # model itself, so training is exactly the plain one
    from daskdl.frame.schema import FrameSchema
    from daskdl.params import default_parameters, validate
    from daskdl.train.driver import fit

    schema = FrameSchema.fit(df, [c for c in df.columns if c != "CAPSULE"], "CAPSULE")
    nets = []
    for extra in ({}, dict(elastic_averaging=True, elastic_averaging_moving_rate=1.0,
                           elastic_averaging_regularization=0.0)):
        res = validate({**default_parameters(), **kw, **extra}, response_kind="categorical", n_classes=2)
        nets.append(fit(res, schema, df, None, client=None).net)
    np.testing.assert_array_equal(nets[0].W, nets[1].W)
