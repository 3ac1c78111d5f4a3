"""Standalone exports: the numpy-only Python scorer and the ONNX graph agree with model.predict."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import daskdl
from conftest import data_path
from daskdl.io import export_onnx, export_python, onnx_input

PROSTATE_X = ["AGE", "RACE", "DPROS", "DCAPS", "PSA", "VOL", "GLEASON"]


def _import(path):
    name = "scorer_" + os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod




@pytest.fixture(scope="module")
def mnist_model():
    from daskdl.datasets import mnist

    train = mnist("train", as_pandas=True).iloc[:5000]
    test = mnist("test", as_pandas=True)
    m = daskdl.DeepLearningEstimator(hidden=[32], epochs=1, reproducible=True, seed=1,
                                     activation="RectifierWithDropout", hidden_dropout_ratios=[0.2])
    m.train(y="C785", training_frame=train)
    return m, test


@pytest.fixture(scope="module")
def ecg_model(ecg):
    m = daskdl.H2OAutoEncoderEstimator(hidden=[20], epochs=20, reproducible=True, seed=1, activation="Tanh")
    m.train(training_frame=ecg("ecg_discord_train.csv"))
    return m, ecg("ecg_discord_test.csv")


def test_python_export_mnist(mnist_model, tmp_path):
    m, test = mnist_model
    s = _import(export_python(m, tmp_path / "mnist_scorer.py"))
    want = m.predict(test)
    got = s.predict(test)
    assert list(got) == list(want.columns)
    np.testing.assert_allclose(np.column_stack([got[c] for c in want.columns[1:]]),
                               want.iloc[:, 1:].to_numpy(), rtol=0, atol=1e-5)
    # labels are the response's values (not their text), in the scorer as in the model
    agree = (np.asarray(got["predict"]) == want["predict"].to_numpy()).mean()
    assert agree > 0.999  # labels can only differ on argmax near-ties
    np.testing.assert_allclose(s.predict_proba(test[s.COLUMNS].iloc[:50].to_numpy()), want.iloc[:50, 1:].to_numpy(),
                               atol=1e-5)
    assert 0.5 < (want["predict"].astype(int).to_numpy() == test["C785"].astype(int).to_numpy()).mean()


def test_python_export_prostate_categoricals(prostate, tmp_path):
    df = prostate()
    m = daskdl.DeepLearningEstimator(hidden=[6], epochs=3, reproducible=True, seed=5, activation="Maxout")
    m.train(y="CAPSULE", x=PROSTATE_X, training_frame=df)
    s = _import(export_python(m, tmp_path / "prostate_scorer.py"))
    # unseen levels, missing categoricals and missing numerics
    test = df.copy()
    test["RACE"] = test["RACE"].cat.add_categories([7])
    test.loc[:9, "RACE"] = 7
    test.loc[10:19, "DPROS"] = np.nan
    test.loc[20:29, "PSA"] = np.nan
    want = m.predict(test)
    for rows in (test, {c: test[c].tolist() for c in test.columns},
                 np.array([test[c].astype(object).to_numpy() for c in s.COLUMNS], dtype=object).T):
        got = s.predict(rows)
        np.testing.assert_allclose(np.column_stack([got["p0"], got["p1"]]), want[["p0", "p1"]].to_numpy(),
                                   rtol=0, atol=1e-5)
        # labels agree except where p1 lies within float rounding of the decision threshold
        near = np.abs(want["p1"].to_numpy() - float(m._state()["threshold"])) < 1e-5
        assert (np.asarray(got["predict"]) == want["predict"].to_numpy())[~near].all()
    assert s.COLUMNS == PROSTATE_X


def test_python_export_regression_without_first_level(prostate, tmp_path):
    df = prostate()
    m = daskdl.DeepLearningEstimator(hidden=[5, 3], epochs=2, reproducible=True, seed=2, use_all_factor_levels=False,
                                     activation="TanhWithDropout", hidden_dropout_ratios=[0.1, 0.3])
    m.train(y="VOL", x=["AGE", "RACE", "DPROS", "PSA", "GLEASON"], training_frame=df)
    s = _import(export_python(m, tmp_path / "reg_scorer.py"))
    want = m.predict(df)["predict"].to_numpy()
    np.testing.assert_allclose(s.predict(df)["predict"], want, rtol=1e-5, atol=1e-5)
    pm = daskdl.DeepLearningEstimator(hidden=[4], epochs=2, reproducible=True, seed=2, distribution="poisson")
    pm.train(y="GLEASON", x=["AGE", "PSA", "VOL"], training_frame=pd.read_csv(data_path("prostate.csv")))
    ps = _import(export_python(pm, tmp_path / "poisson_scorer.py"))
    raw = pd.read_csv(data_path("prostate.csv"))
    np.testing.assert_allclose(ps.predict(raw)["predict"], pm.predict(raw)["predict"].to_numpy(), rtol=1e-5)


def test_python_export_ecg_autoencoder_in_clean_process(ecg_model, tmp_path):
    """The generated file runs in an isolated interpreter that never imports daskdl, dask or pandas."""
    m, test = ecg_model
    path = export_python(m, tmp_path / "ecg_scorer.py")
    X = test.to_numpy(np.float64)
    np.save(tmp_path / "x.npy", X)
    code = (
        "import importlib.util, sys, json, numpy as np\n"
        f"spec = importlib.util.spec_from_file_location('s', {path!r})\n"
        "s = importlib.util.module_from_spec(spec); spec.loader.exec_module(s)\n"
        f"X = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'mse.npy')!r}, s.anomaly(X))\n"
        f"np.save({str(tmp_path / 'se.npy')!r}, s.anomaly(X, per_feature=True))\n"
        "rec = s.predict(X)\n"
        f"np.save({str(tmp_path / 'rec.npy')!r}, np.column_stack(list(rec.values())))\n"
        "print(json.dumps(sorted(m for m in ('daskdl', 'dask', 'pandas') if m in sys.modules)))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []
    np.testing.assert_allclose(np.load(tmp_path / "mse.npy"), m.anomaly(test)["Reconstruction.MSE"].to_numpy(),
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "se.npy"), m.anomaly(test, per_feature=True).to_numpy(),
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "rec.npy"), m.predict(test).to_numpy(), rtol=1e-5, atol=1e-5)
    mse = np.load(tmp_path / "mse.npy")
    assert mse[20:].min() > np.median(mse[:20])  # the three anomalous beats stand out


def test_python_export_bad_rows(ecg_model, tmp_path):
    m, test = ecg_model
    s = _import(export_python(m, tmp_path / "ecg2.py"))
    with pytest.raises(ValueError, match="210 columns"):
        s.anomaly(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="needs a classification model"):
        s.predict_proba(test)


def test_untrained_model_cannot_be_exported(tmp_path):
    with pytest.raises(ValueError, match="not trained"):
        export_python(daskdl.DeepLearningEstimator(), tmp_path / "x.py")


# ------------------------------------------------------------------------------------ ONNX
def _ort():
    pytest.importorskip("onnx", reason="the onnx package is not installed (pip install onnx)")
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)")


def test_onnx_mnist(mnist_model, tmp_path):
    ort = _ort()
    m, test = mnist_model
    sess = ort.InferenceSession(export_onnx(m, tmp_path / "mnist.onnx"))
    X = onnx_input(m, test)
    assert X.dtype == np.float32 and X.flags.c_contiguous and X.shape == (len(test), m.fit_state.schema.n_in)
    (p,) = sess.run(None, {"input": X})
    np.testing.assert_allclose(p, m.predict(test).iloc[:, 1:].to_numpy(), rtol=0, atol=1e-5)


def test_onnx_ecg_autoencoder(ecg_model, tmp_path):
    ort = _ort()
    m, test = ecg_model
    sess = ort.InferenceSession(export_onnx(m, tmp_path / "ecg.onnx"))
    rec, err = sess.run(None, {"input": onnx_input(m, test)})
    np.testing.assert_allclose(err, m.anomaly(test)["Reconstruction.MSE"].to_numpy(), rtol=0, atol=1e-5)
    assert rec.shape == (len(test), 210)


def test_onnx_regression_and_maxout(prostate, tmp_path):
    ort = _ort()
    df = prostate()
    m = daskdl.DeepLearningEstimator(hidden=[4, 3], epochs=2, reproducible=True, seed=3, activation="Maxout")
    m.train(y="VOL", x=["AGE", "RACE", "DPROS", "PSA", "GLEASON"], training_frame=df)
    sess = ort.InferenceSession(export_onnx(m, tmp_path / "reg.onnx"))
    (p,) = sess.run(None, {"input": onnx_input(m, df)})
    np.testing.assert_allclose(p, m.predict(df)["predict"].to_numpy(), rtol=1e-5, atol=1e-4)


def test_python_export_feature_hashing(prostate, tmp_path):
    df = prostate()
    m = daskdl.DeepLearningEstimator(hidden=[4], epochs=2, reproducible=True, seed=7, max_categorical_features=5)
    m.train(y="CAPSULE", x=PROSTATE_X, training_frame=df)
    assert m.fit_state.schema.hashing
    s = _import(export_python(m, tmp_path / "hashed_scorer.py"))
    want = m.predict(df)
    np.testing.assert_allclose(s.predict_proba(df), want[["p0", "p1"]].to_numpy(), rtol=0, atol=1e-5)
