"""categorical_encoding other than the internal one-hot: binary, label_encoder, sort_by_response,
enum_limited and eigen (H2O's encodings for deep learning)."""
import numpy as np
import pandas as pd
import pytest

import daskdl
from daskdl import DeepLearningEstimator
from daskdl.frame.catenc import OTHER, fit_transform


def _toy():
    return pd.DataFrame({
        "c": pd.Categorical(["b", "a", "c", "a", None, "b", "a", "d"]),
        "x": np.arange(8, dtype=float),
        "y": [1.0, 0.0, 5.0, 0.0, 2.0, 1.0, 0.0, 9.0],
    })


def test_label_and_binary_codes():
    df = _toy()
    t = fit_transform(df, ["c"], "label_encoder")
    assert t.levels["c"] == ["a", "b", "c", "d"]
    new = pd.DataFrame({"c": pd.Categorical(["d", "zz", None, "a"]), "x": [1.0, 2, 3, 4]})
    out = t.apply(new)
    np.testing.assert_array_equal(out["c"].to_numpy(), [3.0, np.nan, np.nan, 0.0])  # unseen -> missing
    assert list(out.columns) == ["c", "x"]
    b = fit_transform(df, ["c"], "binary")
    ob = b.apply(new)
    assert list(ob.columns) == ["c:0", "c:1", "c:2", "x"]  # 4 levels + missing -> 3 bits
    # level index + 1 in binary, least significant bit first; unseen and missing -> all zeros
    np.testing.assert_array_equal(ob[["c:0", "c:1", "c:2"]].to_numpy(), [[0, 0, 1], [0, 0, 0], [0, 0, 0], [1, 0, 0]])


def test_sort_by_response_and_enum_limited():
    df = _toy()
    t = fit_transform(df, ["c"], "sort_by_response", y="y", y_kind="numeric")
    assert t.levels["c"] == ["a", "b", "c", "d"]  # means 0, 1, 5, 9
    df2 = df.assign(y=[1.0, 7.0, 5.0, 7.0, 2.0, 1.0, 7.0, 0.0])
    assert fit_transform(df2, ["c"], "sort_by_response", y="y", y_kind="numeric").levels["c"] == ["d", "b", "c", "a"]
    e = fit_transform(df, ["c"], "enum_limited", max_levels=2)
    assert e.levels["c"] == ["a", "b"]  # the two most frequent
    out = e.apply(df)
    assert list(out["c"].cat.categories) == ["a", "b", OTHER]
    vals = out["c"].astype(object).tolist()
    assert vals[:4] == ["b", "a", OTHER, "a"] and pd.isna(vals[4]) and vals[7] == OTHER


@pytest.mark.parametrize("enc", ["Binary", "LabelEncoder", "SortByResponse", "EnumLimited"])
def test_encodings_train_predict_save_and_continue(prostate, enc, tmp_path):
    import dask.dataframe as dd

    pdf = prostate().drop(columns=["ID"])
    df = dd.from_pandas(pdf, npartitions=3)
    kw = dict(hidden=[8], epochs=4, seed=1, reproducible=True, categorical_encoding=enc, quiet_mode=True)
    m = DeepLearningEstimator(**kw)
    m.train(y="CAPSULE", training_frame=df)
    names = m.fit_state.schema.coef_names
    if enc == "Binary":
        assert "RACE:0" in names and "RACE" not in names
    elif enc in ("LabelEncoder", "SortByResponse"):
        assert "RACE" in names and not any(n.startswith("RACE.") for n in names)
    else:
        assert any(n.startswith("RACE.") for n in names)
    assert m.model_performance(test_data=df).auc() > 0.6
    # an unseen level at predict time is normal input
    odd = pdf.head(5).copy()
    odd["RACE"] = odd["RACE"].cat.add_categories([9])
    odd.loc[odd.index[0], "RACE"] = 9
    p = m.predict(odd)
    assert p.shape == (5, 3) and np.isfinite(p[["p0", "p1"]].to_numpy()).all()
    # saved and loaded in the same process: identical predictions
    back = daskdl.load_model(daskdl.save_model(m, str(tmp_path)))
    pd.testing.assert_frame_equal(back.predict(pdf), m.predict(pdf))
    # continued from the checkpoint on the same (raw) frame
    c = DeepLearningEstimator(**{**kw, "epochs": 6}, checkpoint=m)
    c.train(y="CAPSULE", training_frame=df)
    assert c.fit_state.epochs >= 6
    # the standalone scorer reproduces the encoding (unseen level included); ONNX refuses it
    import importlib.util

    path = m.export_python(str(tmp_path / "m.py"))
    spec = importlib.util.spec_from_file_location("scorer_" + enc, path)
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    for frame in (pdf, odd):
        got = scorer.predict(frame)
        want = m.predict(frame)
        np.testing.assert_allclose(np.asarray(got["p1"], np.float64), want["p1"].to_numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError, match="categorical_encoding"):
        m.export_onnx(str(tmp_path / "m.onnx"))


def test_eigen_projection_is_an_eigenvector_of_h2os_matrix():
    from daskdl.frame.catenc import eigen_projection

    counts = np.array([50.0, 30.0, 15.0, 5.0])
    v = eigen_projection(counts)
    # H2O takes a row of the (orthogonal) eigenvector matrix: unit length, whatever the basis chosen
    # inside the degenerate top eigenspace of U = I - sqrt(p) sqrt(p)^T
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(v, eigen_projection(counts))  # deterministic
    # two levels: U has the simple eigenvalues 0 and 1, so the row is fixed up to signs:
    # (sqrt(p_2), sqrt(p_1)) in magnitude
    v2 = eigen_projection(np.array([30.0, 70.0]))
    np.testing.assert_allclose(np.abs(v2), [np.sqrt(0.7), np.sqrt(0.3)], rtol=1e-6)
    # missing values count in the most frequent level (H2O imputes them with the mode)
    np.testing.assert_allclose(eigen_projection(counts, 10), eigen_projection(counts + [10.0, 0, 0, 0]))
    df = _toy()
    t = fit_transform(df, ["c"], "eigen")
    out = t.apply(pd.DataFrame({"c": pd.Categorical(["a", "zz", None, "d"]), "x": [1.0, 2, 3, 4]}))
    assert list(out.columns) == ["c.Eigen", "x"]
    lv = t.levels["c"]
    assert out["c.Eigen"].iloc[0] == pytest.approx(t.values["c"][lv.index("a")])
    assert np.isnan(out["c.Eigen"].iloc[1]) and np.isnan(out["c.Eigen"].iloc[2])  # unseen, missing


def test_eigen_trains_and_bad_uses_are_refused(prostate, tmp_path):
    df = prostate().drop(columns=["ID"])
    m = DeepLearningEstimator(categorical_encoding="Eigen", hidden=[8], epochs=5, seed=1, reproducible=True,
                              quiet_mode=True)
    m.train(y="CAPSULE", training_frame=df)
    assert "RACE.Eigen" in m.fit_state.schema.coef_names and m.auc() > 0.6
    back = daskdl.load_model(daskdl.save_model(m, str(tmp_path)))
    pd.testing.assert_frame_equal(back.predict(df), m.predict(df))
    import importlib.util

    spec = importlib.util.spec_from_file_location("scorer_eigen", m.export_python(str(tmp_path / "e.py")))
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    np.testing.assert_allclose(np.asarray(scorer.predict(df)["p1"], np.float64), m.predict(df)["p1"].to_numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="two-class"):
        DeepLearningEstimator(categorical_encoding="SortByResponse", epochs=1).train(y="GLEASON", training_frame=df)
