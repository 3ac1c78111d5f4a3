"""What runs where the data lives: joining a worker's blocks, one training pass
over a sample of them, and merging models.

Everything here is a plain function of plain objects (numpy arrays, Network,
KernelConfig), so the same code runs inside a Dask task and in-process.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ..frame.encode import Block
from ..kernels import rowsgd
from ..kernels.codes import HP_SAMPLES, IP_SPARSE
from ..model.network import Layout, Network

_numba_lock = threading.Lock()


@dataclass
class KernelConfig:
    """Everything a training pass needs besides the model and the data."""

    layout: Layout
    hdrop: np.ndarray  # float32 (H,)
    hp: np.ndarray  # float64 hyper-parameters (codes.HP_*)
    ip: np.ndarray  # int64 options (codes.IP_*)
    seed: int
    mini_batch_size: int = 1
    reproducible: bool = False
    shuffle: bool = False
    # >0: each thread trains a private copy and the copies' weight changes are summed every sync_rows
    # rows per thread (measured on the booklet MNIST net, 2 cores: 37k samples/s and the same accuracy
    # per epoch as one thread; shared-weight HOGWILD! ran 22k); 0: shared-weight HOGWILD!
    sync_rows: int = 1000
    n_threads: int = 0  # 0: the worker's threads
    class_factors: np.ndarray | None = None  # balance_classes: per-class sampling factors (spec 9.2)
    sum_workers: bool = False  # across workers: False = H2O's plain average; True = summed changes


def concat_blocks(*blocks: Block) -> Block:
    """Join encoded blocks into one (a worker's local training data)."""
    blocks = [b for b in blocks if b is not None]
    if not blocks:
        raise ValueError("no blocks to join")
    if len(blocks) == 1:
        return blocks[0]
    return Block(*(np.concatenate([getattr(b, f) for b in blocks]) for f in Block._fields))


def block_rows(block: Block) -> int:
    return int(block.y.shape[0])


def _n_threads(cfg: KernelConfig) -> int:
    if cfg.reproducible:
        return 1
    if cfg.n_threads > 0:
        return cfg.n_threads
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except Exception:  # not on a worker: all numba threads
        import numba

        return max(1, numba.config.NUMBA_NUM_THREADS)


def sample_order(n: int, fraction: float, weights: np.ndarray | None, rng: np.random.Generator,
                 shuffle: bool) -> np.ndarray:
    """Rows to visit in one pass (H2O spec 5.3): ``fraction`` of the ``n`` rows.

    Fractions above 1 make several passes; a fraction below 1 keeps each row with
    that probability; real observation weights draw rows with probability
    proportional to their weight.
    """
    if n == 0 or fraction <= 0:
        return np.empty(0, np.int64)
    if weights is not None:
        m = max(1, int(round(fraction * n)))
        p = weights.astype(np.float64)
        p /= p.sum()
        return rng.choice(n, size=m, p=p).astype(np.int64)
    passes = int(np.ceil(fraction - 1e-9))
    q = fraction / passes
    parts = []
    for _ in range(passes):
        if q < 0.999 or shuffle:
            perm = rng.permutation(n)
            if q < 0.999:
                perm = perm[rng.random(n) < q]
            parts.append(perm)
        else:
            parts.append(np.arange(n))
    return np.concatenate(parts).astype(np.int64)


def balanced_order(y: np.ndarray, factors: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Class balancing (spec 9.2): each row of class k appears floor(s_k) + Bernoulli(frac(s_k))
    times in the balanced rows, which are shuffled; ``fraction`` of them is visited."""
    s = factors[y.astype(np.int64)]
    reps = np.floor(s).astype(np.int64) + (rng.random(len(y)) < (s - np.floor(s)))
    idx = np.repeat(np.arange(len(y), dtype=np.int64), reps)
    if len(idx) == 0:
        return idx
    sub = sample_order(len(idx), fraction, None, rng, True)
    return idx[sub]


def run_kernel(net: Network, block: Block, order: np.ndarray, cfg: KernelConfig, samples_before: float,
               stream: int, n_threads: int) -> float:
    """One pass of the training kernel over ``order`` (in place on ``net``)."""
    hp = cfg.hp.copy()
    hp[HP_SAMPLES] = samples_before
    lay = cfg.layout
    if cfg.ip[IP_SPARSE] and net.Ra.shape[0] != int(lay.aoff[-1]):  # e.g. continued from a dense model
        net.Ra = np.zeros(int(lay.aoff[-1]), np.float32)
    args = (order, block.xnum, block.xcat, block.y, block.offset, lay.units, lay.woff, lay.boff, lay.aoff,
            cfg.hdrop, *net.arrays(), hp, cfg.ip, cfg.seed, stream)
    if cfg.mini_batch_size > 1:
        from ..kernels import minibatch

        return float(minibatch.train_minibatch(*args, cfg.mini_batch_size, n_threads))
    if n_threads <= 1:
        return float(rowsgd.train_serial(*args))
    # Private copies need many distinct rows per round: when a pass revisits the same few rows
    # within a round (small data, several passes per iteration), summing the copies' changes
    # overshoots (measured: prostate, 297 rows, diverged); shared-weight HOGWILD! is used there.
    # A pass of at least 4 rounds over a block of at least 16 rounds' rows has no such repeats.
    if cfg.sync_rows > 0 and len(order) >= 4 * n_threads * cfg.sync_rows and \
            len(order) <= block.y.shape[0] and block.y.shape[0] >= 16 * n_threads * cfg.sync_rows:
        return float(rowsgd.train_copies(*args, n_threads, cfg.sync_rows))
    return float(rowsgd.train_hogwild(*args, n_threads))


def train_pass(net: Network, block: Block, cfg: KernelConfig, iteration: int, fraction: float,
               samples_before: float, weighted: bool, part: int = 0, consensus=None, share=None):
    """Train a copy of ``net`` on ``fraction`` of ``block``'s rows (pulled toward ``consensus``,
    a Network or a pass result, with elastic averaging).

    Returns ``(net, rows_processed, loss_sum, compute_seconds)``; a worker without rows
    returns ``(None, 0, 0.0, 0.0)`` so that it does not take part in averaging.
    """
    if isinstance(net, tuple):  # the (net, rows, loss, seconds) result of the previous iteration
        net = net[0]
    if isinstance(consensus, tuple):
        consensus = consensus[0]
    n = block_rows(block)
    if n == 0:
        return None, 0, 0.0, 0.0
    if share is not None:
        # replicated data: every worker draws the same sample of the iteration's rows and trains on
        # its own slice of it, so that no row is trained twice in one iteration (whose changes are
        # summed) and the slices are reshuffled every iteration
        k, n_share = share
        rng = np.random.default_rng([cfg.seed & 0xFFFFFFFFFFFFFFFF, iteration, 0x5EED])
        if cfg.class_factors is not None:
            order = balanced_order(block.y, cfg.class_factors, fraction * n_share, rng)
        else:
            order = sample_order(n, fraction * n_share, block.w if weighted else None, rng, True)
        order = np.array_split(order, n_share)[k]
    else:
        rng = np.random.default_rng([cfg.seed & 0xFFFFFFFFFFFFFFFF, iteration, part])
        if cfg.class_factors is not None:
            order = balanced_order(block.y, cfg.class_factors, fraction, rng)
        else:
            order = sample_order(n, fraction, block.w if weighted else None, rng, cfg.shuffle)
    out = net.copy()
    if len(order) == 0:
        return None, 0, 0.0, 0.0
    out.consensus = consensus
    n_threads = _n_threads(cfg)
    import numba

    t0 = time.perf_counter()
    with _numba_lock:  # one parallel kernel at a time per process
        prev = numba.get_num_threads()
        try:
            numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
            loss = run_kernel(out, block, order, cfg, samples_before, iteration * 65536 + part,
                              n_threads)
        finally:
            numba.set_num_threads(prev)
            out.consensus = None
    return out, int(len(order)), loss, time.perf_counter() - t0


def elastic_consensus(avg, previous, moving_rate: float, first: bool):
    """Elastic averaging (spec 5.5): ``consensus <- m * average + (1 - m) * consensus`` (the first
    time, the average itself). ``avg`` is a finished average ``(net, rows, loss, seconds)``; the
    consensus is what is scored and returned, with the average's optimizer state."""
    net, rows, loss, secs = avg
    if net is None:
        return avg
    if isinstance(previous, tuple):
        previous = previous[0]
    if not first and previous is not None:
        m = np.float32(moving_rate)
        net = net.copy()
        for a in ("W", "B"):
            arr = getattr(net, a)
            arr *= m
            arr += (np.float32(1.0) - m) * getattr(previous, a)
    return net, rows, loss, secs


def combine_models(*items):
    """Associative combine of training results for a tree reduction.

    Items are ``(net, rows, loss, ..., seconds)`` pass results or ``("sum", net_sum, rows,
    loss, count, seconds)`` partial sums. Returns a partial sum: element-wise sums of every
    state array over the models that trained, their count, summed rows and losses, and the
    longest compute time of a worker (the iteration's computation, for auto-tuning).
    The division happens once, in :func:`finalize_models` (H2O's plain average of
    the nodes that processed rows).
    """
    acc = None
    count = 0
    rows = 0
    loss = 0.0
    secs = 0.0
    for it in items:
        if isinstance(it, tuple) and len(it) == 6 and isinstance(it[0], str) and it[0] == "sum":
            _, net, r, l, c, t = it
        else:
            net, r, l, t = it[0], it[1], it[2], it[-1]
            c = 0 if net is None else 1
        rows += r
        loss += l
        secs = max(secs, float(t))
        if net is None or c == 0:
            continue
        if acc is None:
            acc = net.copy()
        else:
            for a in Network.ARRAYS:
                getattr(acc, a)[...] += getattr(net, a)
        count += c
    return ("sum", acc, rows, loss, count, secs)


def finalize_models(partial, base=None):
    """Finish a combined partial sum: ``(net, rows, loss, compute_seconds)``.

    Without ``base``: the plain average of the models (H2O). With ``base`` (the model every
    worker started from): the weights and biases become ``base + sum_i (net_i - base)``, so every
    worker's progress is kept, and the optimizer state is averaged."""
    _, net, rows, loss, count, secs = partial
    if net is None or count == 0:
        return None, rows, loss, secs
    if isinstance(base, tuple):
        base = base[0]
    if count > 1:
        k = np.float32(count)
        for a in Network.ARRAYS:
            arr = getattr(net, a)
            if base is not None and a in ("W", "B"):
                arr -= (k - np.float32(1.0)) * getattr(base, a)
            else:
                arr /= k
    return net, rows, loss, secs


def cursor_of(result):
    return result[3]


_STREAM_BLOCK_BYTES = 8 * 2 ** 20  # encoded bytes per row block when a partition is streamed


def _row_blocks(pdf, schema):
    """Row blocks of a partition whose encoded rows take at most ``_STREAM_BLOCK_BYTES`` (the whole
    partition when it is smaller), so that out-of-core training holds one raw partition and the
    encoding of one block."""
    width = 4 * (int(schema.n_num) + int(schema.n_cat)) + 24
    step = max(1, _STREAM_BLOCK_BYTES // width)
    if len(pdf) <= step:
        yield pdf
        return
    for a in range(0, len(pdf), step):
        yield pdf.iloc[a:a + step]


def stream_pass(net: Network, parts, schema, standardize_response: bool, cfg: KernelConfig, iteration: int,
                quota: int, cursor: int, samples_before: float, weighted: bool, part: int = 0, consensus=None):
    """Local-only (out-of-core) training: read this worker's partitions one at a time,
    starting at ``cursor``, encode each and train on it, passing the model from
    partition to partition, until ``quota`` rows were processed.

    ``parts`` are Dask delayed partitions; each is computed here with the synchronous
    scheduler and encoded and trained in row blocks (see ``_row_blocks``), so at most one raw
    partition and the encoding of one of its blocks are in memory.
    Returns ``(net, rows, loss, next_cursor, compute_seconds)``.
    """
    import dask

    from ..frame.encode import encode_partition
    from ..frame.schema import release_arrow_memory

    if isinstance(net, tuple):
        net = net[0]
    if not parts:
        return None, 0, 0.0, cursor, 0.0
    t0 = time.perf_counter()
    cur = net
    rows = 0
    loss = 0.0
    visited = 0
    k = cursor % len(parts)
    while rows < quota and visited < len(parts) * 8:
        pdf = dask.compute(parts[k], scheduler="sync")[0]
        visited += 1
        for j, sub in enumerate(_row_blocks(pdf, schema)):
            if rows >= quota:
                break
            block = encode_partition(sub, schema, training=True, standardize_response=standardize_response)
            n = block_rows(block)
            if n:
                frac = min(1.0, (quota - rows) / n)
                out, done, l, _ = train_pass(cur, block, cfg, iteration, frac, samples_before + rows, weighted,
                                             part * 100003 + visited + 7919 * j, consensus)
                if out is not None:
                    cur = out
                    rows += done
                    loss += l
            del block
        del pdf, sub
        release_arrow_memory()
        k = (k + 1) % len(parts)
    if rows == 0:
        return None, 0, 0.0, k, time.perf_counter() - t0
    return cur, rows, loss, k, time.perf_counter() - t0
