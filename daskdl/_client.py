"""Finding or starting the Dask cluster (H2O's ``h2o.init``)."""
from __future__ import annotations

import os


def current_client():
    """The current ``distributed.Client`` if one exists, else None (train in this process)."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def init(address=None, n_workers=None, threads_per_worker=None, **cluster_kwargs):
    """Connect to (or start) a Dask cluster and return its ``distributed.Client``.

    - a current client exists: return it;
    - ``address`` given (``"tcp://host:8786"``, or a cluster object): connect to it;
    - otherwise start a ``LocalCluster`` using every core. By default it has one worker
      process whose threads train one shared model (HOGWILD!), H2O's single-node mode;
      pass ``n_workers``/``threads_per_worker`` for other layouts.
    """
    from distributed import Client, LocalCluster

    client = current_client()
    if client is not None and address is None:
        return client
    if address is not None:
        client = Client(address)
        client.run(warm_up)
        return client
    ncores = os.cpu_count() or 1
    if n_workers is None:
        n_workers = 1
    if threads_per_worker is None:
        threads_per_worker = max(1, ncores // n_workers)
    cluster_kwargs.setdefault("dashboard_address", ":0")
    cluster_kwargs.setdefault("processes", True)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **cluster_kwargs)
    client = Client(cluster)
    client.run(warm_up)
    return client


def warm_up():
    """Import the kernels and load their compiled code in this process (run on every worker by
    :func:`init`, as H2O's cluster start-up does its own, so that the first fit does not pay it)."""
    import numpy as np

    from .kernels import codes, rowsgd
    from .model.network import Layout, Network

    lay = Layout(np.array([3, 2, 2]), codes.RECTIFIER, codes.SOFTMAX, False)
    net = Network(lay)
    hp = np.zeros(codes.HP_SIZE)
    hp[codes.HP_RHO], hp[codes.HP_EPS], hp[codes.HP_MAX_W2] = 0.99, 1e-8, 3.4e38
    ip = np.zeros(codes.IP_SIZE, np.int64)
    ip[codes.IP_ADAPTIVE], ip[codes.IP_ACT], ip[codes.IP_FAST_MODE] = 1, codes.RECTIFIER, 1
    x = np.zeros((4, 3), np.float32)
    args = (np.arange(4, dtype=np.int64), x, np.zeros((4, 0), np.int32), np.zeros(4, np.float32),
            np.zeros(4, np.float32), lay.units, lay.woff, lay.boff, lay.aoff, np.zeros(1, np.float32),
            *net.arrays(), hp, ip, 1, 0)
    rowsgd.train_serial(*args)
    rowsgd.train_copies(*args, 2, 2)
    from .kernels.prep import standardize_columns

    v = np.zeros(3, np.float32)
    na = np.zeros((4, 3), bool, order="F")
    for src in (np.zeros((4, 3), np.float32), np.zeros((4, 3), np.float32, order="F")):
        for dst in (np.zeros((4, 3), np.float32), np.zeros((4, 3), np.float32, order="F")):
            standardize_columns(src.T, dst.T, na.T, v, v, v)
    # The compiled kernels and the libraries loaded so far live as long as the process: move
    # them out of the collector's reach, so that full collections (which otherwise stall a
    # task for ~70 ms on every few computations) only walk the objects made by later work.
    import gc

    gc.collect()
    gc.freeze()
    return True
