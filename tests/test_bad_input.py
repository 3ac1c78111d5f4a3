"""Bad input: every case is refused with a clear error, or warned about, naming the column, parameter,
field or path; saved models cannot run code or be silently altered; out-of-core passes fit small workers."""
import json
import os
import shutil
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl import DeepLearningEstimator
from daskdl.io.zarr_store import _manifest
from daskdl.model.predict import UnstableModelError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Mae:
    def map(self, pred, act, w, o, model):
        return [w * abs(act[0] - pred[0]), w]

    def reduce(self, left, right):
        return [left[0] + right[0], left[1] + right[1]]

    def metric(self, last):
        return last[0] / last[1]


def _frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "c": pd.Categorical(rng.choice(["x", "y", "z"], n))})
    df["y"] = 2 * df["a"] - df["b"] + rng.normal(scale=0.1, size=n)
    df["cls"] = pd.Categorical(np.where(df["a"] > 0, "pos", "neg"))
    return df


def _model(**kw):
    return DeepLearningEstimator(**{"hidden": [3], "epochs": 1, "seed": 1, "reproducible": True, **kw})


@pytest.fixture(scope="module")
def reg():
    df = _frame()
    return _model(custom_metric_func=Mae).train(x=["a", "b", "c"], y="y", training_frame=df), df


@pytest.fixture(scope="module")
def clf():
    df = _frame()
    return _model().train(x=["a", "b", "c"], y="cls", training_frame=df), df


@pytest.fixture(scope="module")
def saved_clf(clf, tmp_path_factory):
    return daskdl.save_model(clf[0], str(tmp_path_factory.mktemp("clf")))


def _copy(src, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(src, dst)
    return dst


def _edit(path, fn, reseal=False):
    meta_path = Path(path) / "zarr.json"
    meta = json.loads(meta_path.read_text())
    fn(meta["attributes"])
    if reseal:
        meta["attributes"]["manifest"] = _manifest(meta["attributes"])
    meta_path.write_text(json.dumps(meta))


def _messages(record):
    return [str(w.message) for w in record]


# ------------------------------------------------------------------------------------ security
PLANTED = '''
import pathlib
pathlib.Path({marker!r}).write_text("imported")

class Evil:
    def map(self, pred, act, w, o, model):
        return [0.0, 1.0]
    def reduce(self, left, right):
        return left
    def metric(self, last):
        return 0.0
'''


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A module beside the working directory that records being imported."""
    name = "daskdl_planted_metric_mod"
    marker = tmp_path / "imported.txt"
    (tmp_path / f"{name}.py").write_text(PLANTED.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield name, marker
    sys.modules.pop(name, None)


def _point_metric_at(path, ref):
    def fn(a):
        a["params"]["custom_metric_func"] = ref
        a["resolved"]["custom_metric"] = ref
    _edit(path, fn, reseal=True)  # a planted file whose manifest was recomputed: loads, must not import


def test_loading_and_scoring_never_import_a_module_named_in_the_model(reg, planted, tmp_path):
    name, marker = planted
    m, df = reg
    path = _copy(daskdl.save_model(m, str(tmp_path / "s")), tmp_path)
    _point_metric_at(path, f"python:evil={name}.Evil")
    with pytest.warns(UserWarning, match="never imports code named in a model file") as rec:
        back = daskdl.load_model(path)
    assert any(name in msg for msg in _messages(rec))
    perf = back.model_performance(test_data=df)
    back.predict(df)
    assert perf.custom_metric_value() is None and np.isfinite(perf.mse())
    # re-training from the loaded parameters refuses the stored reference instead of importing it
    with pytest.raises(ValueError, match="never imports code named in a model file"):
        DeepLearningEstimator(**{**back.get_params(), "epochs": 1}).train(x=["a", "b"], y="y", training_frame=df)
    assert not marker.exists() and name not in sys.modules
    # the standard library's `this` prints text on import: not imported either
    was = "this" in sys.modules
    _point_metric_at(path, "python:zen=this.Zen")
    with pytest.warns(UserWarning, match="this.Zen"):
        daskdl.load_model(path).model_performance(test_data=df)
    assert ("this" in sys.modules) == was


def test_custom_metric_is_attached_only_on_request(reg, planted, tmp_path):
    name, marker = planted
    m, df = reg
    path = daskdl.save_model(m, str(tmp_path / "s"))
    want = m.model_performance(test_data=df).custom_metric_value()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # passing the class again: no warning
        back = daskdl.load_model(path, custom_metric_func=Mae)
    assert back.model_performance(test_data=df).custom_metric_value() == pytest.approx(want)
    with pytest.raises(ValueError, match="trained without a custom metric"):
        daskdl.load_model(daskdl.save_model(_model().train(x=["a"], y="y", training_frame=df),
                                            str(tmp_path / "plain")), custom_metric_func=Mae)
    # trust_custom_metric=True imports the stored reference: the caller's explicit choice
    p2 = _copy(path, tmp_path)
    _point_metric_at(p2, f"python:evil={name}.Evil")
    daskdl.load_model(p2, trust_custom_metric=True)
    assert marker.exists()


@pytest.mark.parametrize("field,edit", [
    ("schema.classes", lambda a: a["schema"].__setitem__("classes", a["schema"]["classes"][::-1])),
    ("schema.num_cols", lambda a: a["schema"].__setitem__("num_cols", a["schema"]["num_cols"][::-1])),
    ("schema.cat_levels", lambda a: a["schema"].__setitem__("cat_levels", [lv[::-1] for lv in a["schema"]["cat_levels"]])),
    ("resolved.activation", lambda a: a["resolved"].__setitem__("activation", "tanh")),
    ("layout.act", lambda a: a["layout"].__setitem__("act", (a["layout"]["act"] + 1) % 3)),
    ("train_metrics.values.mse", lambda a: a["train_metrics"]["values"].__setitem__("mse", 0.0)),
    ("params.epochs", lambda a: a["params"].__setitem__("epochs", 99.0)),
    ("model_id", lambda a: a.__setitem__("model_id", "other")),
    ("schema.extra_field", lambda a: a["schema"].__setitem__("extra_field", 1)),
    ("result.epochs", lambda a: a["result"].pop("epochs")),
])
def test_tampered_attributes_are_refused_naming_the_field(saved_clf, tmp_path, field, edit):
    path = _copy(saved_clf, tmp_path)
    _edit(path, edit)
    with pytest.raises(ValueError, match="is not a valid daskdl model: its attributes do not match the manifest") as ei:
        daskdl.load_model(path)
    assert repr(field) in str(ei.value)


def test_tampered_arrays_and_manifest_are_refused(saved_clf, tmp_path):
    import zarr

    from daskdl.io.zarr_store import _sha256

    path = _copy(saved_clf, tmp_path)
    g = zarr.open_group(str(path), mode="r+")
    w = np.asarray(g["schema/normmul"][...])[::-1].copy()  # swapped scales, checksum updated to match
    g["schema/normmul"][...] = w
    _edit(path, lambda a: a["checksums"].__setitem__("schema/normmul", _sha256(w)))
    with pytest.raises(ValueError, match="'checksums.schema/normmul'"):
        daskdl.load_model(path)
    shutil.rmtree(path)
    path = _copy(saved_clf, tmp_path)
    _edit(path, lambda a: a["manifest"]["fields"].__setitem__("model_id", "0" * 64))
    with pytest.raises(ValueError, match="the manifest was modified"):
        daskdl.load_model(path)
    shutil.rmtree(path)
    path = _copy(saved_clf, tmp_path)
    _edit(path, lambda a: a.pop("manifest"))
    with pytest.raises(ValueError, match="attribute 'manifest' is missing"):
        daskdl.load_model(path)


def test_old_format_loads_with_a_warning():
    with pytest.warns(UserWarning, match="format version 1: its arrays are checked but its JSON attributes"):
        daskdl.load_model(FIXTURES / "prostate_dl_v1")


# ------------------------------------------------------------------------------------ numeric guards
@pytest.mark.parametrize("col,values", [("y", [1e300]), ("a", [1e300, -1e300]), ("b", [5e38])])
def test_values_whose_spread_overflows_are_refused_by_name(col, values):
    df = _frame()
    for i, v in enumerate(values):
        df.loc[i, col] = v
    with pytest.raises(ValueError, match=f"'{col}' .*cannot be scaled") as ei:
        _model().train(x=["a", "b", "c"], y="y", training_frame=df)
    assert "float32" in str(ei.value)


def test_non_finite_predictions_raise_unstable_model(clf):
    m, df = clf
    import copy

    import dataclasses

    bad = copy.copy(m)
    net = m.fit_state.net.copy()
    net.W[:] = np.float32(1e30)
    object.__setattr__(bad, "_fit_state", dataclasses.replace(m.fit_state, net=net))
    with pytest.raises(UnstableModelError, match=r"Trying to predict with an unstable model: \d+ of 300 rows gave non-finite"):
        bad.predict(df)
    with pytest.raises(UnstableModelError, match="unstable model"):
        bad.model_performance(test_data=df)


# ------------------------------------------------------------------------------------ warnings
def test_missing_predictor_at_predict_and_validation(clf, reg):
    m, df = clf
    with pytest.warns(UserWarning, match=r"the scoring frame lacks the predictor column\(s\) \['b'\]"):
        m.predict(df.drop(columns=["b"]))
    with pytest.warns(UserWarning, match=r"validation_frame lacks the predictor column\(s\) \['c'\]"):
        _model().train(x=["a", "b", "c"], y="cls", training_frame=df, validation_frame=df.drop(columns=["c"]))
    with pytest.warns(UserWarning, match=r"test_data lacks the predictor column\(s\) \['a'\]"):
        m.model_performance(test_data=df.drop(columns=["a"]))


def test_text_in_numeric_column_at_predict(clf):
    import dask.dataframe as dd

    m, df = clf
    t = df.copy()
    t["a"] = t["a"].astype(object)
    t.loc[[3, 7], "a"] = "abc"
    with pytest.warns(UserWarning, match=r"column 'a' is numeric in training but 2 row\(s\) here hold non-numeric "
                                         r"values \['abc'\]"):
        m.predict(t)
    with pytest.warns(UserWarning, match="column 'a' is numeric in training but holds text"):
        m.predict(dd.from_pandas(t.astype({"a": str}), npartitions=2))


def test_unseen_response_level_in_validation_and_test(clf):
    m, df = clf
    v = df.copy()
    v["cls"] = v["cls"].cat.add_categories(["zero"])
    v.loc[[0, 1, 2], "cls"] = "zero"
    with pytest.warns(UserWarning, match=r"test_data response column 'cls' has level\(s\) \['zero'\] not seen in "
                                         r"training \(3 rows\)"):
        m.model_performance(test_data=v)
    with pytest.warns(UserWarning, match=r"validation_frame response column 'cls' has level\(s\) \['zero'\]"):
        _model().train(x=["a", "b"], y="cls", training_frame=df, validation_frame=v)


def test_stray_token_in_numeric_csv_column(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.integers(0, 1000, 400).astype(float), "y": rng.normal(size=400)})
    df["x"] = df["x"].astype(object)
    df.loc[17, "x"] = "abc"
    p = tmp_path / "stray.csv"
    df.to_csv(p, index=False)
    with pytest.warns(UserWarning, match=r"column 'x' of .* is read as a factor \(text\) because 1 of its 400 "
                                         r"non-missing values .* \['abc'\]"):
        fr = daskdl.import_file(str(p))
    assert not pd.api.types.is_numeric_dtype(fr.dtypes["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fr = daskdl.import_file(str(p), na_strings=["abc"])  # the suggested fix: numeric, no warning
    assert pd.api.types.is_float_dtype(fr.dtypes["x"])


# ------------------------------------------------------------------------------------ clear errors
def test_hidden_empty_is_refused():
    with pytest.raises(ValueError, match=r"hidden must give at least one hidden layer .* got \[\]"):
        _model(hidden=[]).train(x=["a"], y="y", training_frame=_frame())


def test_save_where_a_parent_is_a_file(clf, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=f"{tmp_path / 'afile'} exists and is a file"):
        daskdl.save_model(clf[0], str(tmp_path / "afile" / "sub"))
    with pytest.raises(NotADirectoryError, match="is a file"):
        daskdl.save_model(clf[0], str(tmp_path / "afile"))
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("kw,needles", [
    (dict(epochs=-1), ["epochs"]),
    (dict(activation="bogus", rate=-0.5), ["activation", "bogus", "rate"]),
    (dict(hidden=[4, 0]), ["hidden", "positive"]),
    (dict(distribution="poisson"), ["distribution", "poisson"]),
])
def test_parameter_errors_name_the_parameter(kw, needles):
    with pytest.raises(ValueError) as ei:
        _model(**kw).train(x=["a", "b"], y="cls", training_frame=_frame())
    for n in needles:
        assert n in str(ei.value)


def test_bad_columns_are_named():
    df = _frame()
    with pytest.raises(ValueError, match="response column 'nope' is not a column of training_frame"):
        _model().train(x=["a"], y="nope", training_frame=df)
    with pytest.raises(ValueError, match=r"predictor column\(s\) \['zz'\] are not columns of training_frame"):
        _model().train(x=["a", "zz"], y="y", training_frame=df)


def test_corrupt_model_files_name_the_path_and_part(saved_clf, tmp_path):
    path = _copy(saved_clf, tmp_path)
    (path / "zarr.json").write_text((path / "zarr.json").read_text()[:100])
    with pytest.raises(ValueError, match=f"{path} is not a valid daskdl model: cannot read the Zarr group metadata"):
        daskdl.load_model(path)
    shutil.rmtree(path)
    path = _copy(saved_clf, tmp_path)
    for chunk in (path / "net" / "W" / "c").iterdir():
        chunk.write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="'net/W'"):
        daskdl.load_model(path)
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        daskdl.load_model(tmp_path / "nothing")


def test_concurrent_saves_leave_one_complete_model(clf, reg, tmp_path):
    models = [clf[0], reg[0]] * 3
    errors = []

    def save(m):
        try:
            daskdl.save_model(m, str(tmp_path), filename="same", force=True)
        except Exception as e:  # noqa: BLE001 - collected and checked below
            errors.append(e)

    threads = [threading.Thread(target=save, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(e, (FileExistsError, OSError)) for e in errors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = daskdl.load_model(tmp_path / "same")  # complete and verified, whichever won
    assert back.model_id in (clf[0].model_id, reg[0].model_id)
    assert sorted(os.listdir(tmp_path)) == ["same"]


class _Rows:
    """Partition ``k`` of a frame; partition 1 kills the worker process that reads it."""

    def __init__(self, df):
        self.df = df

    def __call__(self, k):
        if k == 1:
            os._exit(3)
        return self.df


def test_worker_killed_during_predict_is_reported(clf):
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    m, df = clf
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl):
        frame = dd.from_map(_Rows(df), [0, 1], meta=df.iloc[:0])
        with pytest.raises((KilledWorker, FutureCancelledError)) as ei:
            m.predict(frame).compute()
    msg = str(ei.value)
    assert "died" in msg or "cancelled" in msg  # the failure is reported with the task's key, never silent


# ------------------------------------------------------------------------------------ small workers
def test_statistics_pass_in_row_blocks_matches_one_block(monkeypatch):
    from daskdl.frame import schema as sch

    df = _frame(2000)
    df.loc[5, "a"] = np.nan
    whole = sch.FrameSchema.fit(df, ["a", "b", "c"], "y", weights_column=None)
    monkeypatch.setattr(sch, "_BLOCK_BYTES", 8 * 6 * 37)  # 37 rows per block
    blocks = sch.FrameSchema.fit(df, ["a", "b", "c"], "y")
    np.testing.assert_allclose(blocks.normmul, whole.normmul, rtol=1e-12)
    np.testing.assert_allclose(blocks.normsub, whole.normsub, rtol=1e-12)
    assert blocks.resp_sd == pytest.approx(whole.resp_sd, rel=1e-12)
    assert blocks.cat_levels == whole.cat_levels and blocks.n_rows == whole.n_rows


def test_stream_pass_row_blocks(monkeypatch):
    from daskdl.train import task

    df = _frame(1000)
    s = daskdl.frame.schema.FrameSchema.fit(df, ["a", "b", "c"], "y")
    monkeypatch.setattr(task, "_STREAM_BLOCK_BYTES", 100 * (4 * (s.n_num + s.n_cat) + 24))
    sizes = [len(b) for b in task._row_blocks(df, s)]
    assert sizes == [100] * 10
    monkeypatch.setattr(task, "_STREAM_BLOCK_BYTES", 2 ** 30)
    assert [len(b) for b in task._row_blocks(df, s)] == [1000]


def test_workers_release_memory_while_a_model_trains(client):
    """While train() runs, every worker hands memory cached after a partition back to the system once
    a second (a worker paused above Dask's threshold runs nothing that would release it); the
    periodic callback is gone afterwards, also when training fails."""
    from daskdl.frame.schema import _TRIM_KEY

    def present():
        return set(client.run(lambda dask_worker: _TRIM_KEY in dask_worker.periodic_callbacks).values())

    df = pd.DataFrame({"a": np.arange(4000.0) % 7, "b": np.arange(4000.0) % 5})
    df["y"] = df["a"] * 2.0 + df["b"]
    seen = []
    m = DeepLearningEstimator(hidden=[8], epochs=1, seed=1, quiet_mode=True, score_each_iteration=True,
                              train_samples_per_iteration=500)
    done = threading.Event()
    th = threading.Thread(target=lambda: (m.train(y="y", training_frame=df), done.set()), daemon=True)
    th.start()
    while not done.is_set() and th.is_alive():
        seen.append(present())
        time.sleep(0.05)
    th.join()
    assert {True} in seen, "the callback ran on every worker during training"
    assert present() == {False}
    with pytest.raises(ValueError):
        DeepLearningEstimator(hidden=[8], epochs=1).train(y="y", training_frame=df.assign(y=np.inf))
    assert present() == {False}


def test_out_of_core_on_small_workers(tmp_path):
    """Two workers with a small memory limit train out of core on a Parquet set; no worker dies and
    the peak RSS stays under the limit (the 1.08M-row run is benchmarks/bench_small_workers.py)."""
    import dask
    import psutil
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(0)
    d = tmp_path / "pq"
    d.mkdir()
    for k in range(4):  # 4 files x 3000 rows x 60 float64 columns: 1.4 MB per partition
        X = rng.normal(size=(3000, 60))
        part = pd.DataFrame(X, columns=[f"C{i}" for i in range(60)])
        part["label"] = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
        part.to_parquet(d / f"part.{k}.parquet")
    limit = 600 * 2 ** 20
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
                         dashboard_address=":0") as cl, Client(cl) as c:
        pids = list(c.run(os.getpid).values())
        peaks = {p: 0 for p in pids}
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                for p in pids:
                    try:
                        peaks[p] = max(peaks[p], psutil.Process(p).memory_info().rss)
                    except psutil.Error:
                        pass
                stop.wait(0.05)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        fr = daskdl.asfactor(daskdl.import_file(str(d)), "label")
        m = DeepLearningEstimator(hidden=[8], epochs=1, seed=1, quiet_mode=True, stopping_rounds=0,
                                  score_training_samples=1000)
        m.train(y="label", training_frame=fr, out_of_core=True)
        stop.set()
        th.join()
        assert sorted(c.run(os.getpid).values()) == sorted(pids)  # no worker was restarted
    assert m.fit_state.epochs >= 1
    assert m.model_performance().auc() > 0.9
    assert max(peaks.values()) < 0.95 * limit, {p: v / 2 ** 20 for p, v in peaks.items()}


def _start_rss_peak():
    """(worker) Sample this process's RSS every 2 ms; ``_rss_peak`` returns the peak since the last call."""
    import builtins

    import psutil

    proc, st = psutil.Process(), {"peak": 0}

    def run():
        while True:
            st["peak"] = max(st["peak"], proc.memory_info().rss)
            time.sleep(0.002)

    threading.Thread(target=run, daemon=True).start()
    builtins._daskdl_test_peak = st
    return True


def _rss_peak():
    import builtins

    import psutil

    st = builtins._daskdl_test_peak
    now = psutil.Process().memory_info().rss
    out, st["peak"] = (max(st["peak"], now), now), now
    return out


def _batch_bytes(n):
    import daskdl.frame.source as source

    source.BATCH_BYTES = n
    return True


def test_out_of_core_holds_less_than_a_raw_partition(tmp_path):
    """Local-only training on a Parquet-backed frame reads each partition a batch of columns at a
    time straight into the encoded block: a training pass over wide partitions raises the worker's
    memory by less than one raw (float64) partition. (Read whole, as Dask reads it, a partition is
    held as Arrow and as pandas data at once, plus its encoding: about 2.5 times that.)"""
    import dask
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(1)
    d = tmp_path / "wide"
    d.mkdir()
    n, p = 12000, 400
    for k in range(2):  # 2 files x 12,000 rows x 400 float64 columns: 38.4 MB raw per partition
        X = rng.normal(size=(n, p))
        part = pd.DataFrame(X, columns=[f"C{i}" for i in range(p)])
        part["label"] = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
        part.to_parquet(d / f"part.{k}.parquet")
        del X, part
    raw = 8 * n * p
    with dask.config.set({"distributed.worker.memory.pause": False, "distributed.worker.memory.terminate": False}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as c:
        c.run(_start_rss_peak)
        c.run(_batch_bytes, 2 ** 20)
        fr = daskdl.asfactor(daskdl.import_file(str(d)), "label")
        kw = dict(hidden=[8], seed=1, quiet_mode=True, stopping_rounds=0, score_training_samples=500,
                  train_samples_per_iteration=n)
        DeepLearningEstimator(epochs=0.2, **kw).train(y="label", training_frame=fr, out_of_core=True)  # kernels
        time.sleep(1.5)  # the worker hands freed memory back once a second while it trains
        (_, before), = c.run(_rss_peak).values()
        m = DeepLearningEstimator(epochs=1, **kw)
        m.train(y="label", training_frame=fr, out_of_core=True)
        (peak, _), = c.run(_rss_peak).values()
    assert m.fit_state.epochs >= 1
    assert m.model_performance().auc() > 0.9
    assert peak - before < raw, f"training raised the worker's RSS by {(peak - before) / 2 ** 20:.1f} MiB; a raw " \
                                f"partition is {raw / 2 ** 20:.1f} MiB"


def test_every_worker_paused_for_memory_is_told():
    """A worker above Dask's pause threshold runs no task; when every worker is paused, training waits
    without end, so daskdl says so (naming the workers' memory) after PAUSED_WARN_S seconds."""
    from daskdl._client import all_paused

    mib = 2 ** 20
    paused = {"tcp://a:1": {"status": "paused", "memory_limit": 429 * mib, "metrics": {"memory": 346 * mib}},
              "tcp://b:2": {"status": "paused", "memory_limit": 429 * mib, "metrics": {"memory": 344 * mib}}}
    assert all_paused(paused) == "tcp://a:1 346 of 429 MiB, tcp://b:2 344 of 429 MiB"
    one_running = {**paused, "tcp://b:2": {**paused["tcp://b:2"], "status": "running"}}
    assert all_paused(one_running) is None
    assert all_paused({}) is None


def test_paused_watch_warns_once(monkeypatch, caplog):
    import daskdl._client as cl

    class FakeClient:
        calls = 0

        def scheduler_info(self, n_workers=-1):
            FakeClient.calls += 1
            return {"workers": {"tcp://a:1": {"status": "paused", "memory_limit": 100 * 2 ** 20,
                                              "metrics": {"memory": 90 * 2 ** 20}}}}

    monkeypatch.setattr(cl, "PAUSED_WARN_S", 0.05)
    stop = threading.Event()
    with pytest.warns(UserWarning, match="every Dask worker has been paused.*tcp://a:1 90 of 100 MiB"):
        cl._watch_paused(FakeClient(), stop, every_s=0.01)  # returns after warning once
    assert FakeClient.calls >= 2
