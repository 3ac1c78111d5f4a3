"""categorical_encoding other than the internal one-hot: binary, label_encoder, sort_by_response,
enum_limited (H2O's encodings for deep learning; eigen is not available)."""
import numpy as np
import pandas as pd
import pytest
from conftest import prostate_frame

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
def test_encodings_train_predict_save_and_continue(enc, tmp_path):
    import dask.dataframe as dd

    pdf = prostate_frame().drop(columns=["ID"])
    df = dd.from_pandas(pdf, npartitions=3)
    kw = dict(hidden=[8], epochs=4, seed=1, reproducible=True, categorical_encoding=enc, quiet_mode=True)
    m = DeepLearningEstimator(**kw)
    m.train(y="CAPSULE", training_frame=df)
    names = m._fit["schema"].coef_names
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
    assert c._fit["result"].epochs >= 6
    with pytest.raises(NotImplementedError, match="categorical_encoding"):
        m.export_python(str(tmp_path / "m.py"))


def test_eigen_and_bad_uses_are_refused():
    df = prostate_frame().drop(columns=["ID"])
    with pytest.raises(NotImplementedError, match="Eigen"):
        DeepLearningEstimator(categorical_encoding="Eigen", epochs=1).train(y="CAPSULE", training_frame=df)
    with pytest.raises(ValueError, match="two-class"):
        DeepLearningEstimator(categorical_encoding="SortByResponse", epochs=1).train(y="GLEASON", training_frame=df)
