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
        return Client(address)
    ncores = os.cpu_count() or 1
    if n_workers is None:
        n_workers = 1
    if threads_per_worker is None:
        threads_per_worker = max(1, ncores // n_workers)
    cluster_kwargs.setdefault("dashboard_address", ":0")
    cluster_kwargs.setdefault("processes", True)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **cluster_kwargs)
    return Client(cluster)
