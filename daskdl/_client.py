"""Finding or starting the Dask cluster (H2O's ``h2o.init``)."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager

from .frame.schema import start_releasing_memory, stop_releasing_memory
from .kernels import codes, rowsgd
from .kernels.prep import standardize_columns
from .model.network import Layout, Network

logger = logging.getLogger("daskdl")


def current_client():
    """The current ``distributed.Client`` if one exists, else None (train in this process)."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


@contextmanager
def releasing_memory(client):
    """While the block runs, every worker of ``client`` hands memory its allocators keep cached after
    a partition back to the system once a second (``frame.schema.start_releasing_memory``); a
    no-op without a client. Failures to reach the workers are ignored: this only helps memory."""
    if client is None:
        yield
        return
    try:
        client.run(start_releasing_memory)
    except Exception:  # noqa: BLE001 - a worker leaving now is handled by training itself
        pass
    stop = threading.Event()
    watch = threading.Thread(target=_watch_paused, args=(client, stop), daemon=True, name="daskdl-paused-watch")
    watch.start()
    try:
        yield
    finally:
        stop.set()
        try:
            client.run(stop_releasing_memory)
        except Exception:  # noqa: BLE001 - the client may be closed or the cluster gone
            pass


PAUSED_WARN_S = 30.0


def all_paused(workers: dict) -> str | None:
    """A description of the workers when every one of them is paused (Dask's memory pause), else None.
    ``workers``: ``scheduler_info()["workers"]``."""
    if not workers or any(str(w.get("status", "running")) != "paused" for w in workers.values()):
        return None
    parts = []
    for addr, w in sorted(workers.items())[:4]:
        mem = (w.get("metrics") or {}).get("memory")
        lim = w.get("memory_limit")
        if mem and lim:
            parts.append(f"{addr} {mem / 2 ** 20:.0f} of {lim / 2 ** 20:.0f} MiB")
    more = f" and {len(workers) - 4} more" if len(workers) > 4 else ""
    return ", ".join(parts) + more


def _watch_paused(client, stop, every_s: float = 2.0):
    """Warn (once) when every worker has been paused for memory for ``PAUSED_WARN_S`` seconds:
    training then waits without a word until memory is freed, which may be never."""
    since = None
    while not stop.wait(every_s):
        try:
            workers = client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # noqa: BLE001 - the client is closing; training reports that itself
            return
        what = all_paused(workers)
        if what is None:
            since = None
            continue
        since = since or time.monotonic()
        if time.monotonic() - since >= PAUSED_WARN_S:
            msg = (f"every Dask worker has been paused for {PAUSED_WARN_S:.0f} s because its process memory is "
                   f"above the pause threshold (distributed.worker.memory.pause, 80 % of memory_limit by "
                   f"default): {what}. Training waits until memory is freed. If this lasts, give the workers "
                   f"more memory (memory_limit) or use smaller partitions "
                   f"(frame.repartition(partition_size='16MB')); a daskdl worker itself takes about 300 MiB.")
            logger.warning(msg)
            warnings.warn(msg, UserWarning, stacklevel=1)
            return


def init(address_or_cluster=None, n_workers=None, threads_per_worker=None, *, scheduler_file=None,
         **cluster_kwargs):
    """Connect to (or start) a Dask cluster and return its ``distributed.Client``.

    Parameters
    ----------
    address_or_cluster : str, Cluster or Client, optional
        A scheduler address (``"tcp://host:8786"``), a cluster object (``LocalCluster``,
        a dask-jobqueue ``SLURMCluster``, ...) or a ``Client`` (returned as is).
    n_workers, threads_per_worker : int, optional
        Layout of the ``LocalCluster`` started when nothing is given. By default it has one
        worker process whose threads train one shared model (HOGWILD!), H2O's single-node mode.
    scheduler_file : str, optional
        A scheduler file written by ``dask scheduler --scheduler-file`` or dask-mpi.
    **cluster_kwargs
        Passed to ``LocalCluster``.

    With nothing given and a current client, that client is returned. Called at the top level
    of a script without an ``if __name__ == "__main__":`` guard, the local cluster's worker runs
    in this process (threads; the kernels release the GIL), because worker processes would
    re-run the script; a guarded call gets worker processes.
    """
    from distributed import Client, LocalCluster

    if "address" in cluster_kwargs:  # the former name of the first argument
        address_or_cluster = cluster_kwargs.pop("address")
    _refuse_in_bootstrapping_child()
    if isinstance(address_or_cluster, Client):
        return address_or_cluster
    client = current_client()
    if client is not None and address_or_cluster is None and scheduler_file is None:
        return client
    if address_or_cluster is not None or scheduler_file is not None:
        if address_or_cluster is not None and scheduler_file is not None:
            raise ValueError("give either address_or_cluster or scheduler_file, not both")
        client = Client(scheduler_file=scheduler_file) if scheduler_file is not None else Client(address_or_cluster)
        client.run(warm_up)
        return client
    ncores = os.cpu_count() or 1
    if n_workers is None:
        n_workers = 1
    if threads_per_worker is None:
        threads_per_worker = max(1, ncores // n_workers)
    cluster_kwargs.setdefault("dashboard_address", ":0")
    if "processes" not in cluster_kwargs:
        unguarded = _called_from_unguarded_script(sys._getframe(1))
        if unguarded:
            logger.warning("daskdl.init() is called at the top level of %s without an `if __name__ == "
                           "\"__main__\":` guard: worker processes would re-run the script, so the worker runs "
                           "in this process (threads). Put the script's code under the guard for worker "
                           "processes.", unguarded)
        cluster_kwargs["processes"] = not unguarded
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **cluster_kwargs)
    client = Client(cluster)
    client.run(warm_up)
    return client


_GUARD_HINT = ("daskdl.init() was called while a new process re-imports the main script (the script has no "
               "`if __name__ == \"__main__\":` guard around the code that starts the cluster). Put that code "
               "under the guard, or start the cluster with processes=False.")


def _refuse_in_bootstrapping_child():
    """In a process that is still importing the parent's main module (multiprocessing's spawn),
    starting a cluster cannot work: say why, instead of multiprocessing's bootstrapping trace."""
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(_GUARD_HINT)


def _called_from_unguarded_script(frame) -> str | None:
    """The script's path when ``frame`` runs the top level of ``__main__`` outside an
    ``if __name__ == "__main__":`` block, else None."""
    import ast

    if frame.f_globals.get("__name__") != "__main__" or frame.f_code.co_name != "<module>":
        return None
    path = frame.f_globals.get("__file__")
    if not path or not os.path.isfile(path):
        return None  # an interactive session or python -c: nothing re-imports it
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    line = frame.f_lineno
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            if node.lineno <= line <= (node.end_lineno or node.lineno):
                return None
    return path


def _is_main_guard(test) -> bool:
    import ast

    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1


def warm_up():
    """Import the kernels and load their compiled code in this process (run on every worker by
    :func:`init`, as H2O's cluster start-up does its own, so that the first fit does not pay it)."""
    import numpy as np

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
