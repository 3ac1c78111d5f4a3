"""save_model / load_model: a versioned Zarr group, no pickle, atomic writes, clear errors."""
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl.io import load_model, save_model
from daskdl.io.zarr_store import _manifest, _sha256

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROSTATE_X = ["AGE", "RACE", "DPROS", "DCAPS", "PSA", "VOL", "GLEASON"]




@pytest.fixture(scope="module")
def models(ecg, iris, prostate):
    """Four small trained models with the frame they are scored on."""
    pros = prostate()
    ir = iris()
    ecg_tr, ecg_te = ecg("ecg_discord_train.csv"), ecg("ecg_discord_test.csv")
    out = {
        "binomial": (daskdl.DeepLearningEstimator(hidden=[4], epochs=2, reproducible=True, seed=1,
                                                  model_id="io_binomial")
                     .train(y="CAPSULE", x=PROSTATE_X, training_frame=pros, validation_frame=pros), pros),
        "multinomial": (daskdl.DeepLearningEstimator(hidden=[6, 5], epochs=3, reproducible=True, seed=2,
                                                     activation="Maxout", model_id="io_multinomial")
                        .train(y=ir.columns[-1], training_frame=ir), ir),
        "regression": (daskdl.DeepLearningEstimator(hidden=[5], epochs=2, reproducible=True, seed=3,
                                                    activation="RectifierWithDropout", momentum_start=0.5,
                                                    adaptive_rate=False, model_id="io_regression")
                       .train(y="VOL", x=["AGE", "RACE", "DPROS", "PSA", "GLEASON"], training_frame=pros), pros),
        "autoencoder": (daskdl.H2OAutoEncoderEstimator(hidden=[10], epochs=5, reproducible=True, seed=4,
                                                       activation="Tanh", model_id="io_autoencoder")
                        .train(training_frame=ecg_tr), ecg_te),
    }
    return out


@pytest.fixture(scope="module")
def saved(models, tmp_path_factory):
    d = tmp_path_factory.mktemp("saved")
    return {k: save_model(m, str(d)) for k, (m, _) in models.items()}


def _assert_same_model(m, m2, frame):
    pd.testing.assert_frame_equal(m.predict(frame), m2.predict(frame), check_exact=True)
    for a in ("W", "B", "Aw", "Bw", "Ab", "Bb", "Vw", "Vb"):
        np.testing.assert_array_equal(getattr(m.fit_state.net, a), getattr(m2.fit_state.net, a))
    assert m2.fit_state.resolved == m.fit_state.resolved
    assert m2.fit_state.schema == m.fit_state.schema
    pd.testing.assert_frame_equal(m.scoring_history(), m2.scoring_history())
    assert m2.model_performance(train=True).to_dict() == m.model_performance(train=True).to_dict()
    assert m2.model_id == m.model_id
    assert m2.actual_params == m.actual_params


@pytest.mark.parametrize("kind", ["binomial", "multinomial", "regression", "autoencoder"])
def test_round_trip_in_process(models, saved, kind):
    m, frame = models[kind]
    m2 = load_model(saved[kind])
    assert type(m2) is type(m)
    _assert_same_model(m, m2, frame)
    if kind == "autoencoder":
        pd.testing.assert_frame_equal(m.anomaly(frame), m2.anomaly(frame), check_exact=True)
        pd.testing.assert_frame_equal(m.anomaly(frame, per_feature=True), m2.anomaly(frame, per_feature=True),
                                      check_exact=True)
    else:
        assert m2.varimp() == m.varimp()
    pd.testing.assert_frame_equal(m.deepfeatures(frame, 0), m2.deepfeatures(frame, 0), check_exact=True)
    assert m2.model_performance(frame).to_dict() == m.model_performance(frame).to_dict()
    if kind == "binomial":
        assert m2.model_performance(valid=True).auc() == m.model_performance(valid=True).auc()
    assert "Model Key: " + m.model_id in repr(m2)
    assert daskdl.get_model(m.model_id) is m2


def test_round_trip_fresh_process(models, saved, tmp_path):
    """A new interpreter loads every saved model and reproduces the predictions bit for bit."""
    frames = {}
    for kind, (_, frame) in models.items():
        f = tmp_path / f"{kind}.parquet"
        frame.to_parquet(f)
        frames[kind] = str(f)
    code = (
        "import sys, json, numpy as np, pandas as pd\n"
        "from daskdl.io import load_model\n"
        "spec = json.loads(sys.argv[1])\n"
        "for kind, (path, frame, out) in spec.items():\n"
        "    m = load_model(path)\n"
        "    p = m.predict(pd.read_parquet(frame))\n"
        "    np.save(out, p.select_dtypes('number').to_numpy(np.float64), allow_pickle=False)\n"
    )
    spec = {k: (saved[k], frames[k], str(tmp_path / f"{k}.npy")) for k in models}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    r = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True,
                       timeout=120, cwd=str(tmp_path), env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    for kind, (m, frame) in models.items():
        want = m.predict(frame).select_dtypes("number").to_numpy(np.float64)
        got = np.load(tmp_path / f"{kind}.npy", allow_pickle=False)
        np.testing.assert_array_equal(got, want)


def test_no_pickle_anywhere(models, tmp_path, monkeypatch):
    m, frame = models["binomial"]

    def refuse(*a, **k):
        raise AssertionError("pickle used while saving")

    monkeypatch.setattr(pickle, "dumps", refuse)
    monkeypatch.setattr(pickle, "dump", refuse)
    monkeypatch.setattr(pickle, "Pickler", refuse)
    path = save_model(m, str(tmp_path))
    monkeypatch.undo()
    files = [p for p in Path(path).rglob("*") if p.is_file()]
    assert files
    for p in files:
        head = p.read_bytes()[:2]
        assert not (len(head) == 2 and head[0] == 0x80 and head[1] <= 5), f"{p} looks like a pickle"
        if p.name == "zarr.json":
            json.loads(p.read_text())
        else:
            with pytest.raises(Exception):
                pickle.loads(p.read_bytes())
    meta = json.loads((Path(path) / "zarr.json").read_text())
    assert meta["attributes"]["format"] == "daskdl-model"
    assert meta["attributes"]["format_version"] == daskdl.io.FORMAT_VERSION


def test_force_semantics(models, tmp_path):
    m, frame = models["binomial"]
    other, _ = models["regression"]
    path = save_model(m, str(tmp_path), filename="model")
    assert path == str(tmp_path / "model")
    with pytest.raises(FileExistsError, match="force=True"):
        save_model(other, str(tmp_path), filename="model")
    assert load_model(path).model_id == m.model_id  # untouched
    path2 = save_model(other, str(tmp_path), filename="model", force=True)
    assert path2 == path
    assert load_model(path).model_id == other.model_id
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no temporary siblings left behind


def test_default_path_is_cwd(models, tmp_path, monkeypatch):
    m, _ = models["autoencoder"]
    monkeypatch.chdir(tmp_path)
    assert save_model(m) == str(tmp_path / m.model_id)


def test_untrained_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not trained"):
        save_model(daskdl.DeepLearningEstimator(), str(tmp_path))


# ------------------------------------------------------------------------------------ corruption
@pytest.fixture
def copy_of(saved, tmp_path):
    def make(kind="binomial"):
        dst = tmp_path / "copy"
        shutil.copytree(saved[kind], dst)
        return dst
    return make


def _edit_attrs(path, fn, reseal=True):
    """Edit the attributes; ``reseal`` recomputes the manifest (as someone who wants the edit to load would),
    so that the structural checks behind the manifest are exercised."""
    meta_path = Path(path) / "zarr.json"
    meta = json.loads(meta_path.read_text())
    fn(meta["attributes"])
    if reseal and isinstance(meta["attributes"].get("manifest"), dict):
        meta["attributes"]["manifest"] = _manifest(meta["attributes"])
    meta_path.write_text(json.dumps(meta))


def _rewrite_array(path, key, data, fix_checksum=True):
    import zarr

    g = zarr.open_group(str(path), mode="r+")
    parent, name = key.split("/")
    del g[parent][name]
    a = g[parent].create_array(name, shape=data.shape, dtype=data.dtype, chunks=(max(1, len(data)),))
    a[...] = data
    if fix_checksum:
        _edit_attrs(path, lambda at: at["checksums"].__setitem__(key, _sha256(data)))


def _invalid(path, match):
    with pytest.raises(ValueError, match="is not a valid daskdl model: .*" + match):
        load_model(path)


def test_newer_and_unknown_format(copy_of):
    p = copy_of()
    _edit_attrs(p, lambda a: a.__setitem__("format_version", 99))
    _invalid(p, "format_version 99 is newer")
    _edit_attrs(p, lambda a: a.__setitem__("format", "something-else"))
    _invalid(p, "'format' is 'something-else'")


def test_missing_and_mistyped_attributes(copy_of):
    p = copy_of()
    _edit_attrs(p, lambda a: a.pop("layout"))
    _invalid(p, "attribute 'layout' is missing")
    shutil.rmtree(p)
    p = copy_of()
    _edit_attrs(p, lambda a: a.__setitem__("schema", "oops"))
    _invalid(p, "attribute 'schema' must be a dict")
    shutil.rmtree(p)
    p = copy_of()
    _edit_attrs(p, lambda a: a["resolved"].__setitem__("hidden", [4, 4]))
    _invalid(p, "do not match resolved.hidden")


def test_tampered_and_missing_arrays(copy_of):
    p = copy_of()
    w = np.asarray(load_model(p).fit_state.net.W)
    _rewrite_array(p, "net/W", w + np.float32(1.0), fix_checksum=False)
    _invalid(p, "'net/W' does not match its recorded SHA-256")
    bad = w.copy()
    bad[0] = np.nan
    _rewrite_array(p, "net/W", bad)
    _invalid(p, "'net/W' holds non-finite values")
    _rewrite_array(p, "net/W", w[:-3].copy())
    _invalid(p, "'net/W' has .* values; the layout")
    _rewrite_array(p, "net/W", w.astype(np.float64))
    _invalid(p, "'net/W' has dtype float64")
    shutil.rmtree(p)
    p = copy_of()
    shutil.rmtree(p / "net" / "Aw")
    _invalid(p, "array 'net/Aw' is missing")
    shutil.rmtree(p)
    p = copy_of()
    for chunk in (p / "net" / "B" / "c").iterdir():
        chunk.unlink()  # a missing chunk reads as zeros: caught by the checksum
    _invalid(p, "'net/B' does not match")


def test_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    _invalid(tmp_path / "empty", "no zarr.json")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "zarr.json").write_text("{not json")
    _invalid(tmp_path / "junk", "cannot read the Zarr group metadata")


# ------------------------------------------------------------------------------------ committed fixture
def test_committed_fixture_still_loads_and_predicts(prostate):
    """A model saved with format version 1 (prostate, hidden [4]) keeps loading and predicting."""
    frame = prostate()
    m = load_model(FIXTURES / "prostate_dl_v1")
    want = pd.read_csv(FIXTURES / "prostate_dl_v1_predictions.csv")
    got = m.predict(frame)
    assert list(got.columns) == ["predict", "p0", "p1"]
    np.testing.assert_allclose(got[["p0", "p1"]].to_numpy(), want[["p0", "p1"]].to_numpy(), rtol=0, atol=1e-6)
    assert (got["predict"].astype(int).to_numpy() == want["predict"].to_numpy()).all()
    assert m.model_id == "prostate_dl_v1"
    assert m.varimp(use_pandas=True).shape[0] == m.fit_state.schema.n_in
    assert len(m.scoring_history()) >= 1
