"""The daskdl command: training from files, saving the model and scoring a file."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import daskdl

ROOT = Path(__file__).resolve().parents[1]


def _cmd():
    exe = shutil.which("daskdl")
    return [exe] if exe else [sys.executable, "-m", "daskdl"]


def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(_cmd() + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.arange(400), "a": rng.normal(size=400), "b": rng.normal(size=400),
                       "c": rng.choice(["p", "q"], size=400)})
    df["y"] = ((df["a"] + df["b"] + (df["c"] == "p")) > 0.5).astype(int)
    df.iloc[:300].to_csv(tmp_path / "train.csv", index=False)
    df.iloc[300:].to_csv(tmp_path / "test.csv", index=False)
    (tmp_path / "params.json").write_text(json.dumps({"hidden": [8], "epochs": 100, "activation": "Tanh"}))
    return tmp_path, df


def test_train_and_predict_from_files(files):
    d, df = files
    r = _run(["train", "--train", "train.csv", "--valid", "test.csv", "--y", "y", "--x", "a,b,c", "--factor", "y",
              "--params", "params.json", "--epochs", "4", "--seed", "7", "--reproducible", "true",
              "--model_id", "cli_model", "--model-dir", "models"], d)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["model_id"] == "cli_model" and summary["training_auc"] > 0.8
    assert "daskdl" in r.stderr and "saved to" in r.stderr  # logged through the daskdl logger
    model = daskdl.load_model(d / "models" / "cli_model")
    p = model.params
    assert p["epochs"]["input"] == 4 and p["hidden"]["input"] == [8] and p["activation"]["input"] == "Tanh"
    assert p["seed"]["input"] == 7 and p["reproducible"]["input"] is True
    r = _run(["predict", "--model", "models/cli_model", "--data", "test.csv", "--factor", "y", "--keep", "id",
              "--output", "pred.csv", "--metrics", "metrics.json"], d)
    assert r.returncode == 0, r.stderr[-3000:]
    pred = pd.read_csv(d / "pred.csv")
    assert list(pred.columns) == ["id", "predict", "p0", "p1"] and len(pred) == 100
    assert pred["id"].tolist() == list(range(300, 400))
    ref = model.predict(daskdl.asfactor(df.iloc[300:], "y"))
    np.testing.assert_allclose(pred["p1"].to_numpy(), ref["p1"].to_numpy(), rtol=1e-6)
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["kind"] == "binomial" and metrics["values"]["auc"] > 0.8
    # bad input: a clear message, not a trace
    r = _run(["train", "--train", "train.csv", "--y", "y", "--params", "params.json", "--no_such_param", "1"], d)
    assert r.returncode != 0 and "unrecognized arguments: --no_such_param" in r.stderr


def test_train_on_a_scheduler_file(files):
    from distributed import LocalCluster

    d, _ = files
    sched = d / "scheduler.json"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=":0", scheduler_kwargs={"scheduler_file": str(sched)}) as cluster:
        assert sched.exists() and cluster.scheduler.transition_counter == 0
        r = _run(["train", "--train", "train.csv", "--y", "y", "--factor", "y", "--hidden", "[4]", "--epochs", "2",
                  "--model_id", "on_cluster", "--scheduler-file", str(sched)], d)
        assert r.returncode == 0, r.stderr[-3000:]
        assert cluster.scheduler.transition_counter > 0  # the command's tasks ran on this cluster
    assert (d / "on_cluster").exists()
