"""Reading frames (CSV / gz / Parquet / Zarr), split_frame and asfactor."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from conftest import data_path
import dask.dataframe as dd

from daskdl.frame import asfactor, import_file, split_frame

data_file = data_path  # the shared data sets (skips with the reason when absent)


# ----------------------------------------------------------------------------------------------- CSV
def test_csv_header_guessed_on_prostate():
    df = import_file(str(data_file("prostate.csv")))
    assert isinstance(df, dd.DataFrame)
    pdf = df.compute()
    assert list(pdf.columns) == ["ID", "CAPSULE", "AGE", "RACE", "DPROS", "DCAPS", "PSA", "VOL", "GLEASON"]
    assert pdf.shape == (380, 9)
    assert pdf["CAPSULE"].sum() == 153
    assert pdf["PSA"].iloc[0] == pytest.approx(1.4)


def test_csv_header_forced_off_keeps_first_row_as_data():
    pdf = import_file(str(data_file("prostate.csv")), header=-1).compute()
    assert list(pdf.columns) == [f"C{i}" for i in range(1, 10)]
    assert pdf.shape == (381, 9)
    assert pdf["C1"].iloc[0] == "ID"


def test_csv_no_header_on_ecg():
    pdf = import_file(str(data_file("ecg_discord_train.csv"))).compute()
    assert list(pdf.columns) == [f"C{i}" for i in range(1, 211)]
    assert pdf.shape == (20, 210)
    assert (pdf.dtypes == np.float64).all()
    assert pdf["C1"].iloc[0] == pytest.approx(2.10)


def test_gz_csv_adult_with_na_strings():
    p = str(data_file("adult.csv.gz"))
    pdf = import_file(p, na_strings=["?"]).compute()
    assert pdf.shape == (48842, 15)
    assert pdf.columns[0] == "age" and pdf.columns[-1] == "income"
    assert pdf["workclass"].isna().sum() == 2799
    assert pdf["occupation"].isna().sum() == 2809
    assert pdf["native_country"].isna().sum() == 857
    assert pd.api.types.is_string_dtype(pdf["workclass"].dtype)
    # without "?" as NA the question marks stay values
    raw = import_file(p).compute()
    assert raw["workclass"].isna().sum() == 0
    assert (raw["workclass"] == "?").sum() == 2799


def test_gz_csv_mnist_without_header():
    pdf = import_file(str(data_file("h2o_mnist_test_shuffled.csv.gz"))).compute()
    assert pdf.shape == (10000, 785)
    assert pdf.columns[0] == "C1" and pdf.columns[-1] == "C785"
    assert sorted(pdf["C785"].value_counts().tolist()) == sorted(
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


def test_latin1_airlines_reads_and_keeps_na():
    pdf = import_file(str(data_file("airlines_allyears2k_headers.csv.gz"))).compute()
    assert pdf.shape == (43978, 31)
    assert pdf["UniqueCarrier"].nunique() == 10
    assert pdf["Origin"].nunique() == 132
    # some tail numbers hold non-ASCII (Latin-1) characters, decoded without replacement characters
    tails = pdf["TailNum"].dropna()
    assert tails.str.contains(r"[^\x00-\x7f]").any()
    assert not tails.str.contains("\ufffd").any()
    assert pdf["DepTime"].isna().sum() > 0


def test_quoted_header_airlines_train():
    pdf = import_file(str(data_file("airlines_train.csv.gz"))).compute()
    assert pdf.shape == (24421, 12)
    assert pdf.columns[0] == "fYear"
    assert pdf["fYear"].iloc[0] == "f1987"
    assert pdf["Distance"].dtype == np.float64


def test_small_csv_col_names_types_and_blocks(tmp_path):
    p = tmp_path / "t.csv"
    rows = ["a;b;c"] + [f"{i};{'x' if i % 2 else 'y'};{i * 0.5}" for i in range(200)]
    p.write_text("\n".join(rows) + "\n")
    df = import_file(str(p), blocksize=500)
    assert df.npartitions > 1
    pdf = df.compute()
    assert list(pdf.columns) == ["a", "b", "c"] and len(pdf) == 200
    df2 = import_file(str(p), col_names=["u", "v", "w"], col_types={"u": "enum"}).compute()
    assert list(df2.columns) == ["u", "v", "w"]
    assert pd.api.types.is_string_dtype(df2["u"].dtype)
    with pytest.raises(ValueError, match="col_types"):
        import_file(str(p), col_types={"a": "bogus"})
    with pytest.raises(ValueError, match="header"):
        import_file(str(p), header=2)
    with pytest.raises(FileNotFoundError):
        import_file(str(tmp_path / "nope.csv"))


# ------------------------------------------------------------------------------------- Parquet / Zarr
def test_parquet_round_trip_file_and_dir(tmp_path):
    src = import_file(str(data_file("prostate.csv"))).compute()
    f = tmp_path / "p.parquet"
    src.to_parquet(f)
    back = import_file(str(f)).compute()
    pd.testing.assert_frame_equal(back.reset_index(drop=True), src.reset_index(drop=True))
    d = tmp_path / "pdir"
    dd.from_pandas(src, npartitions=3).to_parquet(str(d))
    back2 = import_file(str(d))
    assert back2.npartitions == 3
    pd.testing.assert_frame_equal(back2.compute().reset_index(drop=True), src.reset_index(drop=True))


def test_zarr_group_and_2d_array(tmp_path):
    import zarr

    g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    a = np.arange(10, dtype=np.float64) * 1.5
    b = np.arange(10, dtype=np.int32)[::-1].copy()
    za = g.create_array("zz", shape=(10,), chunks=(4,), dtype="f8")
    za[:] = a
    zb = g.create_array("aa", shape=(10,), chunks=(4,), dtype="i4")
    zb[:] = b
    g.attrs["columns"] = ["zz", "aa"]
    df = import_file(str(tmp_path / "g.zarr"))
    assert df.npartitions == 3
    pdf = df.compute()
    assert list(pdf.columns) == ["zz", "aa"]
    np.testing.assert_array_equal(pdf["zz"].to_numpy(), a)
    np.testing.assert_array_equal(pdf["aa"].to_numpy(), b)

    m = np.arange(24, dtype=np.float32).reshape(6, 4)
    arr = zarr.open_array(str(tmp_path / "m.zarr"), mode="w", shape=m.shape, chunks=(4, 4), dtype="f4")
    arr[:] = m
    pm = import_file(str(tmp_path / "m.zarr")).compute()
    assert list(pm.columns) == ["C1", "C2", "C3", "C4"]
    np.testing.assert_array_equal(pm.to_numpy(), m)


# ------------------------------------------------------------------------------------------ split_frame
def _ids(frames):
    return [set(f["ID"].astype(int)) for f in frames]


def test_split_frame_ratios_disjoint_and_deterministic():
    pdf = import_file(str(data_file("prostate.csv"))).compute()
    ddf = dd.from_pandas(pdf, npartitions=3)
    parts = [p.compute() for p in split_frame(ddf, [0.6, 0.2], seed=42)]
    assert len(parts) == 3
    ids = _ids(parts)
    assert sum(len(s) for s in ids) == 380
    assert ids[0].isdisjoint(ids[1]) and ids[0].isdisjoint(ids[2]) and ids[1].isdisjoint(ids[2])
    assert abs(len(ids[0]) - 228) < 40 and abs(len(ids[1]) - 76) < 30
    again = _ids([p.compute() for p in split_frame(ddf, [0.6, 0.2], seed=42)])
    assert again == ids
    other = _ids([p.compute() for p in split_frame(ddf, [0.6, 0.2], seed=7)])
    assert other != ids
    # pandas input returns pandas frames, deterministic too
    pp = split_frame(pdf, 0.75, seed=3)
    assert all(isinstance(p, pd.DataFrame) for p in pp) and sum(map(len, pp)) == 380
    assert _ids(pp) == _ids(split_frame(pdf, 0.75, seed=3))
    with pytest.raises(ValueError, match="ratios"):
        split_frame(pdf, [0.7, 0.5])
    with pytest.raises(ValueError, match="destination_frames"):
        split_frame(pdf, [0.5], destination_frames=["a"])


# -------------------------------------------------------------------------------------------- asfactor
def test_asfactor_pandas_and_dask():
    pdf = import_file(str(data_file("prostate.csv"))).compute()
    f = asfactor(pdf, ["GLEASON", "RACE"])
    assert isinstance(f["GLEASON"].dtype, pd.CategoricalDtype)
    assert list(f["GLEASON"].cat.categories) == [0.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert pdf["GLEASON"].dtype == np.float64  # the input is untouched
    np.testing.assert_array_equal(f["GLEASON"].astype(float).to_numpy(), pdf["GLEASON"].to_numpy())
    s = asfactor(pd.DataFrame({"s": ["b", "a", None, "c"]}), "s")
    assert list(s["s"].cat.categories) == ["a", "b", "c"] and s["s"].isna().sum() == 1
    d = asfactor(dd.from_pandas(pdf, npartitions=2), "DPROS")
    assert isinstance(d.dtypes["DPROS"], pd.CategoricalDtype)
    assert sorted(d.compute()["DPROS"].astype(float).unique()) == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="NOPE"):
        asfactor(pdf, "NOPE")
