"""FitState (daskdl/model/state.py): what a fitted model is, and the same predictions from every
form of it (in memory, saved and loaded, a checkpoint restart, the Python and ONNX exports),
including the class-balance correction of ``balance_classes``."""
import dataclasses
import gc
import importlib.util
import json
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl.io import export_onnx, export_python, load_model, onnx_input, save_model
from daskdl.io.zarr_store import _manifest
from daskdl.model.network import Network
from daskdl.model.state import ClassBalance, FitState

X = ["AGE", "RACE", "DPROS", "DCAPS", "PSA", "VOL", "GLEASON"]


@pytest.fixture(scope="module")
def rare(prostate):
    """prostate with class 1 of CAPSULE made rare (30 of 257 rows)."""
    df = prostate().drop(columns=["ID"])
    return pd.concat([df[df["CAPSULE"].astype(int) == 0], df[df["CAPSULE"].astype(int) == 1].head(30)])


@pytest.fixture(scope="module")
def balanced(rare, tmp_path_factory):
    """A balance_classes model trained in this process, writing a checkpoint at every scoring."""
    ckdir = tmp_path_factory.mktemp("checkpoints")
    m = daskdl.DeepLearningEstimator(hidden=[8], epochs=3, seed=1, reproducible=True, balance_classes=True,
                                     overwrite_with_best_model=False, export_checkpoints_dir=str(ckdir),
                                     model_id="balanced_state")
    m.train(x=X, y="CAPSULE", training_frame=rare, client=False)
    return m, ckdir


def _import(path):
    spec = importlib.util.spec_from_file_location("scorer_" + Path(path).stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fit_state_holds_no_frames_futures_or_clients(balanced):
    m, _ = balanced
    fs = m.fit_state
    assert isinstance(fs, FitState) and isinstance(fs.balance, ClassBalance)
    import dask
    from distributed import Client, Future

    def walk(v, path):
        assert not dask.is_dask_collection(v), path
        assert not isinstance(v, (Future, Client)), path
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                walk(getattr(v, f.name), f"{path}.{f.name}")
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}[{k!r}]")
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")

    walk(fs, "fit_state")
    assert "training_frame" not in fs.params and fs.params["balance_classes"] is True
    # the correction is the ratio of the training class distribution to the balanced one
    prior = np.asarray(fs.balance.counts) / fs.balance.n
    bal = np.asarray(fs.balance.factors) * np.asarray(fs.balance.counts) / fs.balance.expanded
    np.testing.assert_allclose(fs.balance.correction, prior / bal)


def test_balance_correction_is_applied_at_prediction(balanced, rare):
    m, _ = balanced
    p = m.predict(rare)
    fs = m.fit_state
    uncorrected = daskdl.DeepLearningEstimator.from_fit_state(dataclasses.replace(fs, balance=None)).predict(rare)
    # the balanced network overestimates the rare class; the correction brings it back
    assert p["p1"].mean() < uncorrected["p1"].mean()
    c = np.asarray(fs.balance.correction)
    want = uncorrected[["p0", "p1"]].to_numpy() * c
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p[["p0", "p1"]].to_numpy(), want, rtol=0, atol=1e-6)


def test_balanced_model_predicts_the_same_after_save_and_load(balanced, rare, tmp_path):
    m, _ = balanced
    back = load_model(save_model(m, str(tmp_path)))
    assert back.fit_state.balance == m.fit_state.balance
    pd.testing.assert_frame_equal(back.predict(rare), m.predict(rare))
    assert back.logloss() == m.logloss()
    assert back.model_performance(rare).logloss() == pytest.approx(m.model_performance(rare).logloss(), rel=1e-12)


def test_balanced_model_predicts_the_same_from_its_checkpoint_and_after_restart(balanced, rare, tmp_path):
    m, ckdir = balanced
    ck = load_model(ckdir / m.model_id)  # written at the last scoring, which is the final model here
    assert ck.fit_state.balance == m.fit_state.balance
    pd.testing.assert_frame_equal(ck.predict(rare), m.predict(rare))
    # restart from the checkpoint: the class factors keep shaping the epochs and the correction stays
    more = daskdl.DeepLearningEstimator(hidden=[8], epochs=5, seed=1, reproducible=True, balance_classes=True,
                                        checkpoint=str(ckdir / m.model_id))
    more.train(x=X, y="CAPSULE", training_frame=rare, client=False)
    assert more.fit_state.balance == m.fit_state.balance
    assert more.fit_state.n_rows == pytest.approx(2 * 227, abs=2)  # an epoch is the balanced row count
    assert more.fit_state.epochs >= 5
    p = more.predict(rare)
    assert p["p1"].mean() < 0.35
    back = load_model(save_model(more, str(tmp_path)))
    pd.testing.assert_frame_equal(back.predict(rare), p)


def test_balanced_model_python_and_onnx_exports_predict_the_same(balanced, rare, tmp_path):
    m, _ = balanced
    want = m.predict(rare)
    s = _import(export_python(m, tmp_path / "balanced_scorer.py"))
    got = s.predict(rare)
    np.testing.assert_allclose(np.column_stack([got["p0"], got["p1"]]), want[["p0", "p1"]].to_numpy(),
                               rtol=0, atol=1e-6)
    # labels: the same, but for a row whose p1 is the max-F1 threshold itself (float32 rounding of
    # numpy's matrix products against the kernels' decides which side of it the row falls)
    at_threshold = np.abs(want["p1"].to_numpy() - m.fit_state.threshold()) < 1e-6
    same = np.asarray(got["predict"]).astype(int) == want["predict"].astype(int).to_numpy()
    assert (same | at_threshold).all() and at_threshold.sum() <= 2
    ort = pytest.importorskip("onnxruntime")
    path = export_onnx(m, tmp_path / "balanced.onnx")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (probs,) = sess.run(["probabilities"], {"input": onnx_input(m, rare)})
    np.testing.assert_allclose(probs, want[["p0", "p1"]].to_numpy(), rtol=0, atol=1e-5)


def test_format_version_2_model_loads_without_its_correction_and_says_so(balanced, tmp_path):
    m, _ = balanced
    p = Path(save_model(m, str(tmp_path)))
    meta_path = p / "zarr.json"
    meta = json.loads(meta_path.read_text())
    attrs = meta["attributes"]
    attrs["format_version"] = 2
    attrs.pop("balance")
    attrs["manifest"] = _manifest(attrs)
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="before the class-balance correction was stored"):
        old = load_model(p)
    assert old.fit_state.balance is None
    np.testing.assert_array_equal(old.fit_state.net.W, m.fit_state.net.W)


def test_a_saved_balance_that_does_not_fit_the_model_is_refused(balanced, tmp_path):
    m, _ = balanced
    p = Path(save_model(m, str(tmp_path)))
    meta_path = p / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta["attributes"]["balance"]["correction"] = [1.0, 1.0, 1.0]
    meta["attributes"]["manifest"] = _manifest(meta["attributes"])
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="'balance' has 3 class corrections for a model with 2 classes"):
        load_model(p)


def test_scoring_state_carries_what_prediction_needs(balanced):
    from daskdl.model.state import scoring_state

    m, _ = balanced
    st = scoring_state(m.fit_state)
    assert st["correction"] == m.fit_state.balance.correction
    assert st["threshold"] == m.fit_state.threshold()
    assert isinstance(st["net"], Network) and st["net"].Aw.size <= 1  # no optimizer state for scoring


# ------------------------------------------------------------------------------------ lifetime
def test_registry_holds_models_weakly(rare):
    m = daskdl.DeepLearningEstimator(hidden=[3], epochs=1, seed=1, reproducible=True, model_id="weakly_held")
    m.train(x=X, y="CAPSULE", training_frame=rare, client=False)
    assert daskdl.get_model("weakly_held") is m
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None
    with pytest.raises(KeyError, match="no model with model_id 'weakly_held'"):
        daskdl.get_model("weakly_held")


@pytest.mark.parametrize("keep", [True, False])
def test_fold_models_are_freed_unless_kept(rare, monkeypatch, keep):
    from daskdl.train import cv

    states = []
    real_fit = cv.fit

    def recording_fit(*args, **kwargs):
        fs = real_fit(*args, **kwargs)
        states.append(weakref.ref(fs))
        return fs

    monkeypatch.setattr(cv, "fit", recording_fit)
    m = daskdl.DeepLearningEstimator(hidden=[3], epochs=1, seed=1, reproducible=True, nfolds=2,
                                     keep_cross_validation_models=keep)
    m.train(x=X, y="CAPSULE", training_frame=rare, client=False)
    gc.collect()
    assert len(states) == 2
    if keep:
        folds = m.cross_validation_models()
        assert [f.fit_state for f in folds] == [r() for r in states]
        assert daskdl.get_model(f"{m.model_id}_cv_1") is folds[0]
    else:
        assert m.cross_validation_models() is None
        assert [r() for r in states] == [None, None]
    assert m.logloss(xval=True) > 0
