import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_path(name: str) -> Path:
    """A file of the shared real data sets; the test is skipped (with the reason) if absent."""
    p = Path(os.environ.get("DASKDL_DATA", DATA)) / name
    if not p.exists():
        pytest.skip(f"data file {p} is not available")
    return p


@pytest.fixture(scope="session")
def client():
    """A real multi-process LocalCluster shared by the end-to-end tests."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        c = Client(cluster)
        try:
            yield c
        finally:
            c.close()
            cluster.close()


def prostate_frame():
    """prostate.csv with CAPSULE, RACE, DPROS, DCAPS and GLEASON as categoricals."""
    import pandas as pd

    df = pd.read_csv(data_path("prostate.csv"))
    for c in ["CAPSULE", "RACE", "DPROS", "DCAPS", "GLEASON"]:
        df[c] = df[c].astype("category")
    return df


def ecg_frame(name):
    """An ECG file (no header) with H2O's column names C1..C210."""
    import pandas as pd

    df = pd.read_csv(data_path(name), header=None)
    df.columns = [f"C{i + 1}" for i in range(df.shape[1])]
    return df
