"""Checkpoint restart: continue a saved model in a new process; disallowed changes are refused."""
import subprocess
import sys
import textwrap

import pytest

import daskdl
from daskdl import DeepLearningEstimator
from daskdl.params import CHECKPOINT_IRRELEVANT, CHECKPOINT_MODIFIABLE, CHECKPOINT_NOT_MODIFIABLE, PARAMETERS

X = [f"C{i + 1}" for i in range(784)]
KW = dict(distribution="multinomial", activation="RectifierWithDropout", hidden=[64, 64],
          input_dropout_ratio=0.2, l1=1e-5, seed=1, stopping_rounds=0)


def _mnist(n_train=4000, n_test=1000):
    from daskdl.datasets import mnist

    return mnist("train", as_pandas=True).iloc[:n_train], mnist("test", as_pandas=True).iloc[:n_test]


def test_every_parameter_has_a_checkpoint_rule():
    for name in PARAMETERS:
        n = (name in CHECKPOINT_MODIFIABLE) + (name in CHECKPOINT_NOT_MODIFIABLE) + (name in CHECKPOINT_IRRELEVANT)
        assert n == 1, name


def test_continue_in_a_new_process_keeps_or_improves_logloss(tmp_path):
    train, test = _mnist()
    m = DeepLearningEstimator(epochs=1, **KW).train(x=X, y="C785", training_frame=train, validation_frame=test)
    path = daskdl.save_model(m, path=str(tmp_path), force=True)
    before = m.logloss(valid=True)
    script = textwrap.dedent(f"""
        import json, daskdl
        from daskdl.datasets import mnist
        train = mnist("train", as_pandas=True).iloc[:4000]
        test = mnist("test", as_pandas=True).iloc[:1000]
        m0 = daskdl.load_model({path!r})
        m = daskdl.DeepLearningEstimator(checkpoint={path!r}, epochs=2, **{KW!r})
        m.train(x=[f"C{{i + 1}}" for i in range(784)], y="C785", training_frame=train, validation_frame=test)
        h = m.scoring_history()
        print(json.dumps({{"logloss": m.logloss(valid=True), "epochs": m.fit_state.epochs,
                          "rows": len(h), "first_epochs": float(h["epochs"].iloc[1])}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["epochs"] >= 2.0
    assert r["logloss"] <= before * 1.02
    # the history continues the checkpoint's rows
    assert r["rows"] > len(m.scoring_history()) and r["first_epochs"] == pytest.approx(
        float(m.scoring_history()["epochs"].iloc[1]))


def test_disallowed_changes_are_refused_with_both_values():
    train, test = _mnist(2000, 500)
    m = DeepLearningEstimator(epochs=1, **KW).train(x=X, y="C785", training_frame=train, validation_frame=test)
    bad = dict(KW, hidden=[32, 32], activation="Tanh")
    with pytest.raises(ValueError) as e:
        DeepLearningEstimator(checkpoint=m, epochs=2, **bad).train(x=X, y="C785", training_frame=train,
                                                                    validation_frame=test)
    msg = str(e.value)
    assert "hidden" in msg and "[64, 64]" in msg and "[32, 32]" in msg
    assert "activation" in msg and "Tanh" in msg
    with pytest.raises(ValueError, match="epochs"):
        DeepLearningEstimator(checkpoint=m.model_id, epochs=0.5, **KW).train(
            x=X, y="C785", training_frame=train, validation_frame=test)
    # modifiable parameters may change
    m2 = DeepLearningEstimator(checkpoint=m, epochs=1.5, **dict(KW, l1=1e-4, input_dropout_ratio=0.1))
    m2.train(x=X, y="C785", training_frame=train, validation_frame=test)
    assert m2.fit_state.epochs >= 1.5
