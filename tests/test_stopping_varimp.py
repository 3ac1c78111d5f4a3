import math

import numpy as np
import pandas as pd
import pytest

from daskdl.model.varimp import gedeon_varimp
from daskdl.train.stopping import resolve_stopping_metric, stop_early

NAN = float("nan")


# ------------------------------------------------------------------------------------- stop_early
def lower(hist, k=2, tol=0.0, bounded=True):
    return stop_early(hist, k, tol, higher_is_better=False, lower_bounded=bounded)


def higher(hist, k=2, tol=0.0, bounded=True):
    return stop_early(hist, k, tol, higher_is_better=True, lower_bounded=bounded)


def test_disabled_and_too_short():
    assert not lower([NAN, 5, 5, 5, 5], k=0)
    # need L - 1 >= 2k: 4 rows after the placeholder for k = 2
    assert not lower([NAN, 5, 5, 5])
    assert lower([NAN, 5, 5, 5, 5])


def test_lower_is_better_improving_and_plateau():
    assert not lower([NAN, 10, 9, 8, 7])            # MA = 9.5, 8.5, 7.5 -> improved
    assert lower([NAN, 5, 5, 5, 5])                 # ratio 1 >= 1 - 0
    assert lower([NAN, 5, 4, 5, 6])                 # MA = 4.5, 4.5, 5.5: best/ref = 1, no strict gain
    assert not lower([NAN, 5, 4, 4.4, 4.4])         # MA = 4.5, 4.2, 4.4: best 4.2 < 4.5


def test_tolerance():
    hist = [NAN, 10, 10, 9.9, 9.9]                  # MA = 10, 9.95, 9.9 -> best/ref = 0.99
    assert not lower(hist, tol=0.0)
    assert not lower(hist, tol=0.005)               # 0.99 < 0.995: still an improvement
    assert lower(hist, tol=0.02)                    # 0.99 >= 0.98: stop
    up = [NAN, 0.9, 0.9, 0.909, 0.909]              # MA = .9, .9045, .909 -> ratio 1.01
    assert not higher(up, tol=0.0)
    assert higher(up, tol=0.02)


def test_higher_is_better():
    assert not higher([NAN, 0.7, 0.8, 0.9, 0.95])
    assert higher([NAN, 0.9, 0.9, 0.89, 0.88])      # best MA .895 / ref .9 <= 1
    assert higher([NAN, 0.8, 0.8, 0.8, 0.8])


def test_only_last_2k_rows_matter():
    # a big early improvement outside the window is ignored
    assert lower([NAN, 100, 50, 10, 5, 5, 5, 5])
    # the placeholder row may be NaN; a NaN inside the window keeps training going
    assert not lower([NAN, 5, NAN, 5, 5])
    assert lower([NAN, NAN, 5, 5, 5, 5])
    assert not lower([None, 5, 5, None, 5])


def test_ref_zero_rule():
    assert lower([NAN, 0, 0, 0, 0], bounded=True)                # lower-bounded metric at 0: stop
    assert higher([NAN, 0, 0, 0.5, 0.5], bounded=True)           # even if it rises afterwards
    # not lower-bounded (deviance): signs all 0, ratio 0/0 is NaN -> continue
    assert not lower([NAN, 0, 0, 0, 0], bounded=False)
    assert not lower([NAN, 0, 0, -1, -1], bounded=False)         # sign(max) 0 != sign(min) -1


def test_sign_checks():
    assert not lower([NAN, 2, 1, -1, -2], bounded=False)         # MAs cross zero
    # all negative: ratio rule applied as is (H2O): -1 -> -2 gives best/ref = 2 >= 1 -> stop
    assert lower([NAN, -1, -1, -2, -2], bounded=False)
    assert not lower([NAN, -2, -2, -1, -1], bounded=False)       # ratio 0.5 < 1
    assert lower([NAN, -1, -1, -1, -1], bounded=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="stopping_rounds"):
        lower([NAN, 1, 1], k=-1)
    with pytest.raises(ValueError, match="stopping_tolerance"):
        lower([NAN, 1, 1], tol=-0.1)


def test_resolve_stopping_metric():
    assert resolve_stopping_metric("auto", "binomial") == ("logloss", False, True)
    assert resolve_stopping_metric("AUTO", "multinomial") == ("logloss", False, True)
    assert resolve_stopping_metric(None, "regression") == ("deviance", False, False)
    assert resolve_stopping_metric("auto", "autoencoder") == ("mse", False, True)
    assert resolve_stopping_metric("AUC", "binomial") == ("auc", True, True)
    assert resolve_stopping_metric("aucpr", "binomial") == ("aucpr", True, True)
    assert resolve_stopping_metric("lift_top_group", "binomial") == ("lift_top_group", True, False)
    assert resolve_stopping_metric("misclassification", "multinomial") == ("misclassification", False, True)
    assert resolve_stopping_metric("RMSLE", "regression") == ("rmsle", False, True)
    with pytest.raises(ValueError, match="not available for autoencoder"):
        resolve_stopping_metric("mae", "autoencoder")
    with pytest.raises(ValueError, match="not available for regression"):
        resolve_stopping_metric("logloss", "regression")
    with pytest.raises(ValueError, match="stopping_metric must be 'auto' or one of"):
        resolve_stopping_metric("r2", "regression")
    with pytest.raises(ValueError, match="kind must be one of"):
        resolve_stopping_metric("auto", "clustering")


# ------------------------------------------------------------------------------------- Gedeon varimp
def _loop_varimp(W1, W2):
    n1, n0 = W1.shape
    if W2 is None:
        v = [sum(abs(W1[k, i]) for k in range(n1)) for i in range(n0)]
    else:
        n2 = W2.shape[0]
        Q = np.zeros((n0, n2))
        for k in range(n2):
            u = sum(abs(W2[k, j]) for j in range(n1))
            for i in range(n0):
                for j in range(n1):
                    s = sum(abs(W1[j, ii]) for ii in range(n0))
                    Q[i, k] += abs(W1[j, i]) / s * abs(W2[k, j]) / u
            Q[:, k] /= Q[:, k].sum()
        v = [Q[i, :].sum() for i in range(n0)]
    v = np.array(v)
    return v / v.max()


@pytest.mark.parametrize("with_hidden", [True, False])
def test_varimp_matches_loop(with_hidden):
    rng = np.random.default_rng(11)
    W1 = rng.normal(size=(7, 9)).astype(np.float32)
    W2 = rng.normal(size=(3, 7)).astype(np.float32) if with_hidden else None
    names = [f"x{i}" for i in range(9)]
    df = gedeon_varimp(W1, W2, names)
    expect = _loop_varimp(W1.astype(np.float64), None if W2 is None else W2.astype(np.float64))
    got = dict(zip(df["variable"], df["relative_importance"]))
    np.testing.assert_allclose([got[n] for n in names], expect, rtol=1e-12)
    assert list(df.columns) == ["variable", "relative_importance", "scaled_importance", "percentage"]
    assert np.all(np.diff(df["relative_importance"].to_numpy()) <= 0)
    assert df["relative_importance"].iloc[0] == 1.0
    np.testing.assert_allclose(df["scaled_importance"], df["relative_importance"])
    assert df["percentage"].sum() == pytest.approx(1.0)


def test_varimp_hand_computed():
    # one hidden layer: s = [1, 2], u = [2]; Q = [.75, .25]
    df = gedeon_varimp(np.array([[1.0, 0.0], [1.0, -1.0]]), np.array([[1.0, -1.0]]), ["a", "b"])
    assert list(df["variable"]) == ["a", "b"]
    np.testing.assert_allclose(df["relative_importance"], [1.0, 1 / 3])
    np.testing.assert_allclose(df["percentage"], [0.75, 0.25])
    # no hidden layer: column sums of |W| = [4, 2] -> [1, .5]; sorted descending
    df = gedeon_varimp(np.array([[1.0, -2.0], [-1.0, 6.0]]), None, ["p", "q"])
    assert list(df["variable"]) == ["q", "p"]
    np.testing.assert_allclose(df["relative_importance"], [1.0, 0.25])
    np.testing.assert_allclose(df["percentage"], [0.8, 0.2])


def test_varimp_na_slot_zeroed_after_scaling():
    W1 = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 5.0]])
    names = ["C.a", "C.b", "C.missing(NA)"]
    df = gedeon_varimp(W1, None, names, na_slot_zero_mask=[False, False, True])
    got = dict(zip(df["variable"], df["relative_importance"]))
    # scaled by the max before zeroing: v = [2, 4, 8] / 8
    assert got == pytest.approx({"C.a": 0.25, "C.b": 0.5, "C.missing(NA)": 0.0})
    assert df["variable"].iloc[-1] == "C.missing(NA)"
    np.testing.assert_allclose(df["percentage"], [2 / 3, 1 / 3, 0.0])


def test_varimp_degenerate_and_errors():
    W1 = np.zeros((2, 3))
    W1[0, 1] = 1.0                                     # hidden unit 1 has no incoming weight
    df = gedeon_varimp(W1, np.array([[0.0, 2.0]]), ["a", "b", "c"])   # output only reads unit 1
    assert np.all(np.isfinite(df["relative_importance"]))
    assert df["relative_importance"].sum() == 0.0
    with pytest.raises(ValueError, match="coef_names has 2 names but W1 has 3"):
        gedeon_varimp(np.ones((2, 3)), None, ["a", "b"])
    with pytest.raises(ValueError, match="W2 must be a 2-D"):
        gedeon_varimp(np.ones((2, 3)), np.ones((1, 4)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="na_slot_zero_mask has 2"):
        gedeon_varimp(np.ones((2, 3)), None, None, na_slot_zero_mask=[True, False])
    assert list(gedeon_varimp(np.ones((2, 3))).columns)[0] == "variable"


def test_varimp_maxout_channel_mean_is_accepted():
    # maxout: the caller passes (|W_a| + |W_b|) / 2 per weight
    rng = np.random.default_rng(2)
    Wa, Wb = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    V2 = rng.normal(size=(2, 4))
    mean_abs = (np.abs(Wa) + np.abs(Wb)) / 2
    df = gedeon_varimp(mean_abs, V2)
    np.testing.assert_allclose(df.set_index("variable").loc[[f"C{i + 1}" for i in range(5)],
                                                           "relative_importance"],
                               _loop_varimp(mean_abs, V2), rtol=1e-12)
    assert isinstance(df, pd.DataFrame) and not math.isnan(df["percentage"].sum())
