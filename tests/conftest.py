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
