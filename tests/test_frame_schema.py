"""FrameSchema (H2O's DataInfo) and the partition encoder."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import data_path
import dask.dataframe as dd

from daskdl.frame import FrameSchema, asfactor, encode_dense, encode_partition, import_file
from daskdl.frame.schema import murmur2_slots

data_file = data_path  # the shared data sets (skips with the reason when absent)
FACTORS = ["RACE", "DPROS", "DCAPS", "GLEASON"]


@pytest.fixture(scope="module")
def prostate():
    return asfactor(pd.read_csv(data_file("prostate.csv")), FACTORS)


def fit(df, y="CAPSULE", **kw):
    kw.setdefault("ignored_columns", ["ID"])
    return FrameSchema.fit(df, None, y, **kw)


def test_prostate_layout_and_stats(prostate):
    s = fit(asfactor(prostate, "CAPSULE"))
    assert s.classification and s.classes == ["0", "1"]
    assert s.prediction_columns() == ["predict", "p0", "p1"]
    # decreasing cardinality: GLEASON 7, DPROS 4, RACE 3, DCAPS 2
    assert s.cat_cols == ["GLEASON", "DPROS", "RACE", "DCAPS"]
    assert s.cat_levels[0] == ["0", "4", "5", "6", "7", "8", "9"]
    assert s.cat_levels[2] == ["0", "1", "2"]
    assert s.cat_offsets.tolist() == [0, 8, 13, 17, 20]
    assert s.cat_offsets.dtype == np.int32
    assert s.num_cols == ["AGE", "PSA", "VOL"]
    assert s.num_offset == 20 and s.n_in == 23
    assert s.coef_names[:2] == ["GLEASON.0", "GLEASON.4"] and s.coef_names[7] == "GLEASON.missing(NA)"
    assert s.coef_names[-3:] == ["AGE", "PSA", "VOL"] and len(s.coef_names) == s.n_in
    sd = prostate[s.num_cols].std(ddof=1).to_numpy()
    mean = prostate[s.num_cols].mean().to_numpy()
    np.testing.assert_allclose(s.normmul, 1.0 / sd, rtol=1e-12)
    np.testing.assert_allclose(s.normsub, mean, rtol=1e-12)
    assert s.transform == "standardize"
    assert s.n_rows == 380 and s.sum_w == 380
    assert s.ignored == ["ID"] and s.cat_na_seen == [False] * 4
    assert s.input_columns() == s.cat_cols + s.num_cols + ["CAPSULE"]
    # JSON round trip
    s2 = FrameSchema.from_dict(json.loads(json.dumps(s.to_dict())))
    assert s2 == s
    np.testing.assert_array_equal(s2.cat_offsets, s.cat_offsets)


def test_numeric_response_is_regression_and_standardized(prostate):
    s = fit(prostate, y="CAPSULE")
    assert not s.classification and s.classes is None
    assert s.prediction_columns() == ["predict"]
    sv = fit(prostate, y="VOL")
    assert sv.resp_mean == pytest.approx(prostate["VOL"].mean(), rel=1e-12)
    assert sv.resp_sd == pytest.approx(prostate["VOL"].std(ddof=1), rel=1e-12)
    assert sv.respmul == pytest.approx(1 / sv.resp_sd) and sv.respsub == sv.resp_mean
    assert (sv.resp_min, sv.resp_max) == (prostate["VOL"].min(), prostate["VOL"].max())
    b = encode_partition(prostate, sv, training=True, standardize_response=True)
    np.testing.assert_allclose(b.y, (prostate["VOL"] - sv.resp_mean) / sv.resp_sd, rtol=1e-5, atol=1e-6)
    braw = encode_partition(prostate, sv, training=True, standardize_response=False)
    np.testing.assert_allclose(braw.y, prostate["VOL"], rtol=1e-6)


def test_encode_training_rows(prostate):
    s = fit(asfactor(prostate, "CAPSULE"))
    b = encode_partition(prostate, s, training=True, standardize_response=False)
    assert b.xnum.dtype == np.float32 and b.xnum.flags.c_contiguous and b.xnum.shape == (380, 3)
    assert b.xcat.dtype == np.int32 and b.xcat.flags.c_contiguous and b.xcat.shape == (380, 4)
    assert b.index.dtype == np.int64 and b.index.tolist() == list(range(380))
    np.testing.assert_array_equal(b.y, prostate["CAPSULE"].to_numpy(np.float32))
    np.testing.assert_array_equal(b.w, 1.0)
    np.testing.assert_array_equal(b.offset, 0.0)
    # row 0: GLEASON 6 -> level 3, DPROS 2 -> 1, RACE 1 -> 1, DCAPS 1 -> 0
    assert b.xcat[0].tolist() == [0 + 3, 8 + 1, 13 + 1, 17 + 0]
    exp = (prostate.loc[0, ["AGE", "PSA", "VOL"]].to_numpy(float) - s.normsub) * s.normmul
    np.testing.assert_allclose(b.xnum[0], exp, rtol=1e-6)
    dense = encode_dense(b, s)
    assert dense.shape == (380, 23) and dense.dtype == np.float32
    np.testing.assert_array_equal(dense[:, :20].sum(axis=1), 4.0)
    np.testing.assert_allclose(dense[:, 20:], b.xnum)


def test_ignore_const_cols(prostate):
    df = prostate.assign(CONST=3.0, ALLNA=np.nan, CCAT="a", SNA=pd.Series([None] * 380, dtype=object))
    df.loc[5, "CONST"] = np.nan  # constant plus some NAs is still constant
    s = fit(df)
    assert "CONST" not in s.num_cols and "ALLNA" not in s.num_cols and "CCAT" not in s.cat_cols
    assert s.dropped_reasons["CONST"] == "constant" and s.dropped_reasons["ALLNA"] == "all NA"
    assert s.dropped_reasons["CCAT"] == "constant" and s.dropped_reasons["SNA"] == "all NA"
    k = fit(df, ignore_const_cols=False)
    assert "CONST" in k.num_cols and "CCAT" in k.cat_cols
    assert k.normmul[k.num_cols.index("CONST")] == 1.0
    b = encode_partition(df, k, training=True, standardize_response=False)
    assert np.isfinite(b.xnum).all()


def test_unseen_level_and_na_go_to_na_slot(prostate):
    s = fit(asfactor(prostate, "CAPSULE"))
    score = prostate.head(4).copy()
    score["RACE"] = pd.Series([5, np.nan, 2, 0], index=score.index)  # numeric dtype drift, unseen 5
    score["AGE"] = ["70", "oops", None, "65"]                          # numbers read as text
    score = score.drop(columns=["DCAPS"])                               # absent column -> all NA
    score["CAPSULE"] = ["1", "7", None, "0"]                            # unseen / missing response
    b = encode_partition(score, s, training=False, standardize_response=False)
    race_na = int(s.cat_offsets[3]) - 1
    assert b.xcat[:, 2].tolist() == [race_na, race_na, 13 + 2, 13 + 0]
    assert (b.xcat[:, 3] == int(s.cat_offsets[4]) - 1).all()
    assert b.xnum[1, 0] == 0.0 and b.xnum[2, 0] == 0.0
    assert b.xnum[0, 0] == pytest.approx((70 - s.normsub[0]) * s.normmul[0], rel=1e-6)
    assert b.y[0] == 1.0 and np.isnan(b.y[1]) and np.isnan(b.y[2]) and b.y[3] == 0.0
    nores = encode_partition(prostate.drop(columns=["CAPSULE"]).head(3), s, training=False,
                             standardize_response=False)
    assert np.isnan(nores.y).all() and len(nores.index) == 3
    # NA in training goes to the NA slot too, and is recorded
    tr = prostate.copy()
    tr.loc[[1, 2], "DPROS"] = np.nan
    s2 = fit(tr)
    assert s2.cat_na_seen[s2.cat_cols.index("DPROS")]
    b2 = encode_partition(tr, s2, training=True, standardize_response=False)
    j = s2.cat_cols.index("DPROS")
    assert b2.xcat[1, j] == s2.cat_offsets[j + 1] - 1


def test_use_all_factor_levels_false(prostate):
    s = fit(asfactor(prostate, "CAPSULE"), use_all_factor_levels=False)
    assert s.cat_offsets.tolist() == [0, 7, 11, 14, 16]
    assert s.coef_names[:2] == ["GLEASON.4", "GLEASON.5"] and s.coef_names[6] == "GLEASON.missing(NA)"
    df = prostate.head(3).copy()
    df["DCAPS"] = df["DCAPS"].astype(float)
    df.loc[0, "DCAPS"] = 1.0     # level 0 -> no active slot
    df.loc[1, "DCAPS"] = 2.0     # level 1 -> slot 0
    df.loc[2, "DCAPS"] = np.nan  # NA -> NA slot (FIX of Q1, also in training)
    b = encode_partition(df, s, training=True, standardize_response=False)
    assert b.xcat[:, 3].tolist() == [-1, 14, 15]
    dense = encode_dense(b, s)
    assert dense[0, 14:16].sum() == 0.0 and dense[1, 14] == 1.0 and dense[2, 15] == 1.0
    ae = FrameSchema.fit(prostate, None, None, autoencoder=True, use_all_factor_levels=False,
                         ignored_columns=["ID"])
    assert ae.use_all_factor_levels


def test_skip_and_mean_imputation(prostate):
    df = prostate.copy()
    df.loc[[3, 10], "PSA"] = np.nan
    df.loc[20, "RACE"] = np.nan
    df.loc[30, "CAPSULE"] = np.nan
    s = fit(df, missing_values_handling="Skip")
    assert s.missing_values_handling == "skip"
    b = encode_partition(df, s, training=True, standardize_response=False)
    assert len(b.index) == 380 - 4 and not {3, 10, 20, 30} & set(b.index.tolist())
    sc = encode_partition(df, s, training=False, standardize_response=False)
    assert len(sc.index) == 380 and sc.xnum[3, 1] == 0.0 and np.isnan(sc.y[30])
    m = fit(df)
    bm = encode_partition(df, m, training=True, standardize_response=False)
    assert len(bm.index) == 379 and bm.xnum[3, 1] == 0.0
    assert m.n_rows == 379
    # standardize=False: the raw mean is imputed at training and scoring time
    raw = fit(df, standardize=False)
    assert raw.transform == "none"
    np.testing.assert_array_equal(raw.normmul, 1.0)
    br = encode_partition(df, raw, training=False, standardize_response=False)
    assert br.xnum[3, 1] == pytest.approx(df["PSA"].mean(), rel=1e-6)
    assert br.xnum[0, 1] == pytest.approx(df["PSA"].iloc[0], rel=1e-6)
    with pytest.raises(ValueError, match="missing_values_handling"):
        fit(df, missing_values_handling="drop")


def test_autoencoder_normalize_on_ecg():
    ecg = pd.read_csv(data_file("ecg_discord_train.csv"), header=None)
    ecg.columns = [f"C{i + 1}" for i in range(ecg.shape[1])]
    s = FrameSchema.fit(ecg, None, None, autoencoder=True)
    assert s.transform == "normalize" and s.n_in == 210 and s.num_offset == 0
    np.testing.assert_allclose(s.normmul, 1.0 / (ecg.max() - ecg.min()).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(s.normsub, ecg.mean().to_numpy(), rtol=1e-12)
    assert s.prediction_columns()[0] == "reconstr_C1" and len(s.prediction_columns()) == 210
    b = encode_partition(ecg, s, training=True, standardize_response=False)
    assert (b.y == 0).all() and b.xnum.shape == (20, 210)
    width = b.xnum.max(axis=0) - b.xnum.min(axis=0)
    np.testing.assert_allclose(width, 1.0, rtol=1e-5)
    assert np.abs(b.xnum).max() <= 1.0
    with pytest.raises(ValueError, match="autoencoder"):
        FrameSchema.fit(ecg, None, "C1", autoencoder=True)


def test_weighted_stats(prostate):
    rng = np.random.default_rng(0)
    w = rng.integers(0, 4, len(prostate)).astype(float)
    df = prostate.assign(W=w)
    s = fit(df, y="VOL", weights_column="W")
    x = df["AGE"].to_numpy()
    nz = w != 0
    wm = np.sum(w[nz] * x[nz]) / w[nz].sum()
    m2 = np.sum(w[nz] * (x[nz] - wm) ** 2)
    n = nz.sum()
    var = n / (n - 1) * m2 / w[nz].sum()
    j = s.num_cols.index("AGE")
    assert "W" not in s.num_cols
    assert s.normsub[j] == pytest.approx(wm, rel=1e-12)
    assert s.normmul[j] == pytest.approx(1 / np.sqrt(var), rel=1e-12)
    assert s.num_means[j] == pytest.approx(x.mean(), rel=1e-12)
    assert s.n_rows == n and s.sum_w == pytest.approx(w.sum())
    yv = df["VOL"].to_numpy()
    assert s.resp_mean == pytest.approx(np.sum(w * yv) / w.sum(), rel=1e-12)
    b = encode_partition(df, s, training=True, standardize_response=True)
    assert len(b.index) == n and (b.w > 0).all()
    sc = encode_partition(df, s, training=False, standardize_response=True)
    assert len(sc.index) == len(df) and (sc.w == w.astype(np.float32)).all()
    # with an offset column too, the unweighted statistics are kept
    so = fit(df.assign(O=0.5), y="VOL", weights_column="W", offset_column="O")
    assert so.normsub[j] == pytest.approx(x.mean(), rel=1e-12)
    bo = encode_partition(df.assign(O=0.5), so, training=True, standardize_response=False)
    assert (bo.offset == 0.5).all()
    with pytest.raises(ValueError, match="negative"):
        fit(df.assign(W=w - 1), y="VOL", weights_column="W")


def test_feature_hashing_width(prostate):
    s = fit(prostate, max_categorical_features=5, seed=1234)
    assert s.hashing and s.num_offset == 5 and s.n_in == 5 + 3
    assert s.coef_names == [f"hash.{i}" for i in range(5)] + ["AGE", "PSA", "VOL"]
    b = encode_partition(prostate, s, training=True, standardize_response=False)
    assert b.xcat.min() >= 0 and b.xcat.max() < 5
    dense = encode_dense(b, s)
    np.testing.assert_array_equal(dense[:, :5].sum(axis=1), 4.0)  # collisions accumulate
    lut = murmur2_slots(20, 5, 1234)
    plain = encode_partition(prostate, fit(prostate), training=True, standardize_response=False)
    np.testing.assert_array_equal(b.xcat, lut[plain.xcat])  # hashed position of the global slot index
    assert not fit(prostate, max_categorical_features=20).hashing
    # different seeds give a different hashing
    assert not np.array_equal(murmur2_slots(200, 50, 0), murmur2_slots(200, 50, 1))


def _close(a: FrameSchema, b: FrameSchema):
    da, db = a.to_dict(), b.to_dict()
    for k in da:
        if k in ("normmul", "normsub", "num_means", "num_impute"):
            np.testing.assert_allclose(da[k], db[k], rtol=1e-10, err_msg=k)
        elif k in ("resp_mean", "resp_sd", "respmul", "respsub", "sum_w"):
            assert (da[k] is None and db[k] is None) or da[k] == pytest.approx(db[k], rel=1e-10), k
        else:
            assert da[k] == db[k], k


def test_dask_partitions_with_empty_one_match_pandas(prostate):
    df = prostate.assign(W=np.arange(380) % 3)
    df.loc[[7, 200], "PSA"] = np.nan
    bounds = [(0, 100), (100, 100), (100, 250), (250, 380)]
    ddf = dd.from_map(lambda b: df.iloc[b[0]:b[1]], bounds)
    assert ddf.npartitions == 4
    for kw in ({"y": "VOL"}, {"y": "VOL", "weights_column": "W"}, {"y": "CAPSULE", "classification": True}):
        _close(fit(ddf, **kw), fit(df, **kw))
    # factors made lazily in dask (unknown categories per partition) give the same levels
    raw = pd.read_csv(data_file("prostate.csv"))
    lazy = asfactor(dd.from_pandas(raw, npartitions=3), FACTORS)
    _close(fit(lazy, y="VOL"), fit(prostate, y="VOL"))
    # encoding an empty partition gives empty arrays of the right shapes and dtypes
    s = fit(prostate, y="VOL")
    e = encode_partition(prostate.iloc[0:0], s, training=True, standardize_response=True)
    assert e.xnum.shape == (0, 3) and e.xcat.shape == (0, 4) and e.y.shape == (0,)
    assert e.xnum.dtype == np.float32 and e.xcat.dtype == np.int32 and e.index.dtype == np.int64


def test_string_response_and_categoricals_iris_adult():
    iris = pd.read_csv(data_file("iris.csv"))
    s = FrameSchema.fit(iris, None, "Species")
    assert s.classes == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert s.prediction_columns() == ["predict"] + s.classes
    b = encode_partition(iris, s, training=True, standardize_response=False)
    assert sorted(np.unique(b.y).tolist()) == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="regression"):
        FrameSchema.fit(iris, None, "Species", classification=False)
    adult = import_file(str(data_file("adult.csv.gz")), na_strings=["?"])
    sa = FrameSchema.fit(adult, None, "income")
    assert sa.classes == ["<=50K", ">50K"]
    assert sa.cat_cols[0] == "native_country"  # the widest factor comes first
    assert sa.cat_na_seen[sa.cat_cols.index("workclass")]
    assert not sa.cat_na_seen[sa.cat_cols.index("sex")]
    assert sa.n_in == int(sa.cat_offsets[-1]) + 6


def test_bool_column_levels():
    df = pd.DataFrame({"b": [True, False, True, True], "x": [1.0, 2.0, 3.0, 5.0], "y": [0.1, 0.5, 0.3, 0.9]})
    s = FrameSchema.fit(df, None, "y")
    assert s.cat_cols == ["b"] and s.cat_levels == [["False", "True"]]
    b = encode_partition(df, s, training=True, standardize_response=False)
    assert b.xcat[:, 0].tolist() == [1, 0, 1, 1]


def test_bad_inputs(prostate):
    with pytest.raises(ValueError, match="NOPE.*available columns"):
        FrameSchema.fit(prostate, ["AGE", "NOPE"], "CAPSULE")
    with pytest.raises(ValueError, match="response column y 'ZZ'"):
        FrameSchema.fit(prostate, None, "ZZ")
    with pytest.raises(ValueError, match="weights_column"):
        FrameSchema.fit(prostate, None, "CAPSULE", weights_column="WW")
    with pytest.raises(ValueError, match="must not be among"):
        FrameSchema.fit(prostate, ["AGE", "CAPSULE"], "CAPSULE")
    with pytest.raises(ValueError, match="constant"):
        FrameSchema.fit(prostate.assign(K=1.0), None, "K")
    with pytest.raises(ValueError, match="constant"):
        FrameSchema.fit(prostate.assign(K="a"), None, "K")
    with pytest.raises(ValueError, match="all NA"):
        FrameSchema.fit(prostate.assign(K=np.nan), None, "K")
    with pytest.raises(ValueError, match="no predictor"):
        FrameSchema.fit(prostate.assign(K=1.0), ["K"], "AGE")
    with pytest.raises(ValueError, match="offset_column"):
        FrameSchema.fit(asfactor(prostate, "CAPSULE"), None, "CAPSULE", offset_column="AGE")
    with pytest.raises(ValueError, match="response column 'CAPSULE' is missing"):
        encode_partition(prostate.drop(columns=["CAPSULE"]), fit(prostate), training=True,
                         standardize_response=False)
