import os
from pathlib import Path

import dask
import pytest

# The suite tries hundreds of kernel configurations: one generic kernel (the configuration a
# run-time argument, compiled once) serves them all, where the specialized kernels would compile
# one kernel per configuration. test_kernels_specialized.py checks that the specialized kernels
# compute the same as the generic ones; DASK_DASKDL__KERNELS=specialized runs everything on them.
# The environment variable carries the choice to every process the tests start: LocalCluster
# workers, notebook kernels, command-line runs (Dask reads DASK_* variables when it is imported).
os.environ.setdefault("DASK_DASKDL__KERNELS", "generic")
dask.config.set({"daskdl.kernels": os.environ["DASK_DASKDL__KERNELS"]})

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_path(name: str) -> Path:
    """A file of the shared real data sets (``../shared/data`` beside the checkout, or
    ``$DASKDL_DATA``). They are not part of the package: in a checkout without them the tests that
    need one are skipped with the file's name; in CI (``CI`` set), where they are always laid out,
    a missing file fails the test instead, so that nothing is skipped silently there."""
    p = Path(os.environ.get("DASKDL_DATA", DATA)) / name
    if not p.exists():
        if os.environ.get("CI"):
            pytest.fail(f"data file {p} is missing (CI lays out ../shared/data)")
        # Skipped outside CI only, for this reason: the shared real data sets are not part of the
        # package, and a checkout without them still runs every test that does not need one.
        pytest.skip(  # reason: the shared data sets are not part of the package (outside CI only)
            f"data file {p} is not available: the shared real data sets are not part of the package "
            f"(outside CI, tests that need one are skipped); lay out ../shared/data or set DASKDL_DATA")
    return p


def pytest_collection_modifyitems(items):
    """scikit-learn estimator checks that train H2O's default network several times (3-5 s each)
    are marked slow: the default run leaves them out (``-m 'not slow'``), ``-m slow`` runs them."""
    from test_sklearn import SLOW_CHECKS

    for item in items:
        if item.originalname == "test_sklearn_estimator_checks" and any(c in item.name for c in SLOW_CHECKS):
            item.add_marker(pytest.mark.slow)


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


# ---- data loaders: fixtures giving a function that reads a fresh frame (change it freely) -------
PROSTATE_FACTORS = ("CAPSULE", "RACE", "DPROS", "DCAPS", "GLEASON")


@pytest.fixture(scope="session")
def prostate():
    """``prostate(factors=PROSTATE_FACTORS, drop_id=False)``: prostate.csv with ``factors`` as
    categoricals (and without its ID column with ``drop_id=True``)."""
    import pandas as pd

    def load(factors=PROSTATE_FACTORS, drop_id=False):
        df = pd.read_csv(data_path("prostate.csv"))
        for c in factors:
            df[c] = df[c].astype("category")
        return df.drop(columns=["ID"]) if drop_id else df

    return load


@pytest.fixture(scope="session")
def ecg():
    """``ecg(name)``: an ECG file (no header) with H2O's column names C1..C210."""
    return ecg_frame


@pytest.fixture(scope="session")
def iris():
    """``iris()``: iris.csv (species as text)."""
    import pandas as pd

    return lambda: pd.read_csv(data_path("iris.csv"))
