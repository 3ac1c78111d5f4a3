"""daskdl against the real H2O-3 (differential harness ``benchmarks/h2o_diff.py``).

One private one-thread H2O JVM per session. Both sides start from the same weights, train one
iteration of two ordered passes with ``reproducible=True`` and no dropout, and must agree: the
expanded input rows to 1e-6 and every weight matrix, bias vector and prediction to
``h2o_diff.TOL`` (1e-4 relative).
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import h2o_diff as H  # noqa: E402

pytestmark = [
    pytest.mark.h2o,
    pytest.mark.skipif(not H.java_available(), reason="Java is not installed: the h2o package needs a JVM"),
    pytest.mark.skipif(not os.path.exists(os.path.join(H.DATA_DIR, "prostate.csv")),
                       reason=f"real data sets not found in {H.DATA_DIR}"),
]


@pytest.fixture(scope="session")
def h2o_session():
    H.start_h2o()
    try:
        yield
    finally:
        H.stop_h2o()


@pytest.mark.parametrize("name", ["prostate", "adult", "airlines"])
def test_expanded_inputs_match_h2o(h2o_session, name):
    """Column order, one-hot blocks with the missing slot, standardization and imputation."""
    df = {"prostate": H.prostate, "adult": H.adult, "airlines": H.airlines}[name]()
    y = {"prostate": "CAPSULE", "adult": "income", "airlines": "IsDepDelayed"}[name]
    f = H.factor_columns(df)
    x = [c for c in df.columns if c != y]
    d, names_d, names_h, Xd, Xh = H.compare_inputs(df, x, y, f)
    assert names_d == names_h
    assert d < 1e-6, d
    if name == "adult":  # missing categoricals go to the missing slot on both sides
        assert df["workclass"].isna().any()
        col = names_d.index("workclass.missing(NA)")
        assert np.array_equal(Xd[:, col] == 1, df["workclass"].isna().to_numpy())


def test_unseen_levels_and_missing_numerics_match_h2o(h2o_session):
    """Scoring rows with levels the training rows never had, and missing numerics."""
    df = H.adult(600)
    train, score = df.iloc[:300].reset_index(drop=True), df.iloc[300:].reset_index(drop=True).copy()
    score.loc[::7, "age"] = np.nan
    score.loc[::5, "hours_per_week"] = np.nan
    f = H.factor_columns(df)
    x = [c for c in df.columns if c != "income"]
    unseen = set(score["native_country"].dropna()) - set(train["native_country"].dropna())
    assert unseen, "the score rows must hold a level unseen in training"
    d, names_d, names_h, Xd, Xh = H.compare_inputs(train, x, "income", f, score_df=score)
    assert names_d == names_h
    assert d < 1e-6, d


def test_autoencoder_inputs_match_h2o(h2o_session):
    """Autoencoders normalize with (x - mean) / (max - min)."""
    df = H.prostate()
    d, names_d, names_h, _, _ = H.compare_inputs(df, list(df.columns), None, H.factor_columns(df))
    assert names_d == names_h
    assert d < 1e-6, d


@pytest.mark.parametrize("case", H.CASES, ids=[c["name"] for c in H.CASES])
def test_training_matches_h2o(h2o_session, case):
    r = H.run_case(case)
    assert r["names_equal"]
    moved = max(v for k, v in r.items() if k.endswith("_moved"))
    assert moved > 1e-3, f"the weights barely moved ({moved}): the comparison would be vacuous"
    assert r["max_w"] <= H.TOL, r
    assert r["pred"] <= H.TOL, r


@pytest.mark.parametrize("activation", ["RectifierWithDropout", "TanhWithDropout", "MaxoutWithDropout"])
def test_dropout_scoring_matches_h2o(h2o_session, activation):
    """H2O trains with input dropout 0.2 and hidden dropout 0.5 / 0.3; daskdl scores with H2O's
    weights (epochs=0) and predicts what H2O predicts (hidden layers scaled by 1 - ratio, inputs
    not scaled)."""
    r = H.dropout_scoring(activation)
    assert r["W_moved"] > 1e-3  # H2O trained
    assert r["W_kept"] < 1e-6  # epochs=0: daskdl kept H2O's weights
    assert r["pred"] < H.TOL, r
    assert r["pred_unscaled"] > 100 * H.TOL, r  # the scaling matters on these weights
