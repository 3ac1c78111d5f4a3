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
import pandas as pd

from ..frame.encode import Block, encode_part_rows, encode_partition
from ..frame.source import ParquetPart
from ..frame.schema import release_arrow_memory
from ..kernels import minibatch, rowsgd
from ..kernels.rowsgd import momentum_coefficients
from ..kernels.codes import HP_SAMPLES, IP_SPARSE
from ..model.network import Layout, Network

_numba_lock = threading.Lock()


@dataclass(frozen=True)
class KernelConfig:
    """Everything a training pass needs besides the model and the data (immutable: build a
    changed copy with ``dataclasses.replace``)."""

    layout: Layout
    hdrop: np.ndarray  # float32 (H,)
    hp: np.ndarray  # float64 hyper-parameters (codes.HP_*)
    ip: np.ndarray  # int64 options (codes.IP_*)
    seed: int
    mini_batch_size: int = 1
    reproducible: bool = False
    shuffle: bool = False
    # each thread trains a private copy and the copies are combined with block momentum every
    # sync_rows rows per thread (see rowsgd.train_copies); -1: chosen from the thread count
    # (copy_sync_rows); 0: shared-weight HOGWILD!
    sync_rows: int = -1
    n_threads: int = 0  # 0: the worker's threads
    class_factors: np.ndarray | None = None  # balance_classes: per-class sampling factors (spec 9.2)


@dataclass
class PassResult:
    """One worker's training pass: the trained copy (None when the worker had no rows), the rows
    it processed, their loss sum, its compute time and (local-only mode) the next partition."""

    net: Network | None
    rows: int
    loss: float
    seconds: float
    cursor: int = 0


@dataclass
class PartialSum:
    """A node of the tree reduction: element-wise sums of every state array of ``count`` trained
    models, their rows and losses, and the longest compute time among them."""

    net: Network | None
    rows: int
    loss: float
    count: int
    seconds: float


@dataclass
class Combined:
    """The workers' models of one iteration combined.

    ``model`` is the consensus model (scored, checkpointed, returned); ``start`` is the model the
    next iteration's passes start from (with block momentum, the consensus plus the momentum
    look-ahead; else ``model`` itself); ``momentum`` is the block momentum of (W, B)."""

    model: Network | None
    start: Network | None
    rows: int
    loss: float
    seconds: float
    momentum: tuple | None = None


def start_model(x) -> Network | None:
    """The model a pass starts from: a Network, a PassResult's trained copy or a Combined's start."""
    return x.start if isinstance(x, Combined) else consensus_model(x)


def consensus_model(x) -> Network | None:
    """The consensus (scored) model of a Network, a PassResult or a Combined."""
    if isinstance(x, Combined):
        return x.model
    return x.net if isinstance(x, PassResult) else x


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


def pass_shuffled(cfg: KernelConfig, fraction: float) -> bool:
    """Whether the whole passes of a training pass visit their rows in a random order.

    Always, except with ``reproducible=True`` and ``shuffle_training_data=False`` when an
    iteration is several whole passes (``fraction`` 2, 3, ...): that is the one case where H2O
    trains its rows in file order (``reproducible`` keeps one chunk, and H2O switches shuffling
    on by itself when an iteration is exactly one pass over one chunk). Without ``reproducible``,
    H2O's threads interleave several chunks, which file order on one block does not reproduce;
    on rows that come in runs (sorted by place, time or class) file order costs accuracy.
    Fractional passes are always sampled in a random order (``sample_order``).
    """
    if cfg.shuffle or not cfg.reproducible:
        return True
    return abs(fraction - 1.0) < 1e-9


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


def copy_sync_rows(n_threads: int) -> int:
    """Rows per thread between merges of the private copies: about 2,048 rows per round over all
    threads, at least 128 per thread (the merge costs one pass over the model per round)."""
    return max(128, 2048 // max(1, n_threads))


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
        return float(minibatch.train_minibatch(*args, cfg.mini_batch_size, n_threads))
    if n_threads <= 1:
        return float(rowsgd.train_serial(*args))
    # Private copies need many distinct rows per round: when a pass revisits the same few rows
    # within a round (small data, several passes per iteration), the combined copies overshoot
    # (measured: prostate, 297 rows, diverged). And block momentum over T copies needs about 2 T
    # rounds per pass and per epoch to keep the accuracy per epoch of one thread (as across
    # workers, see driver.combine_cap). Elsewhere the threads share one model (HOGWILD!).
    sync = copy_sync_rows(n_threads) if cfg.sync_rows < 0 else cfg.sync_rows
    rounds = max(4, 2 * n_threads)
    if sync > 0 and len(order) >= rounds * n_threads * sync and len(order) <= block.y.shape[0] and \
            block.y.shape[0] >= max(16, rounds) * n_threads * sync:
        return float(rowsgd.train_copies(*args, n_threads, sync))
    return float(rowsgd.train_hogwild(*args, n_threads))


def train_pass(net, block: Block, cfg: KernelConfig, iteration: int, fraction: float,
               samples_before: float, weighted: bool, part: int = 0, consensus=None, share=None,
               after_start: bool = False) -> PassResult:
    """Train a copy of ``net`` (a Network, or the previous iteration's PassResult / Combined) on
    ``fraction`` of ``block``'s rows, pulled toward ``consensus`` with elastic averaging.

    ``samples_before`` counts the rows trained before this iteration; with ``after_start`` it
    counts them before the iteration that produced ``net``, whose rows are added here (a pass
    submitted before the previous iteration's row count reached the client).

    A worker without rows returns a PassResult whose ``net`` is None, so that it does not take
    part in the combination.
    """
    if after_start:
        samples_before = samples_before + getattr(net, "rows", 0)
    net = start_model(net)
    consensus = consensus_model(consensus)
    n = block_rows(block)
    if n == 0:
        return PassResult(None, 0, 0.0, 0.0)
    if share is not None:
        # replicated data: every worker draws the same sample of the iteration's rows and trains on
        # its own slice of it, so that no row is trained twice in one iteration and the slices are
        # reshuffled every iteration
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
            order = sample_order(n, fraction, block.w if weighted else None, rng, pass_shuffled(cfg, fraction))
    if len(order) == 0:
        return PassResult(None, 0, 0.0, 0.0)
    out = net.copy()
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
    return PassResult(out, int(len(order)), loss, time.perf_counter() - t0)


def elastic_consensus(avg: Combined, previous, moving_rate: float, first: bool) -> Combined:
    """Elastic averaging (spec 5.5): ``consensus <- m * average + (1 - m) * consensus`` (the first
    time, the average itself). The consensus is what is scored and returned, with the average's
    optimizer state."""
    net = avg.model
    if net is None:
        return avg
    previous = consensus_model(previous)
    if not first and previous is not None:
        m = np.float32(moving_rate)
        net = net.copy()
        for a in ("W", "B"):
            arr = getattr(net, a)
            arr *= m
            arr += (np.float32(1.0) - m) * getattr(previous, a)
    return Combined(net, net, avg.rows, avg.loss, avg.seconds)


def combine_models(*items) -> PartialSum:
    """Associative combine of PassResults and PartialSums for a tree reduction: element-wise sums
    of every state array over the models that trained, their count, summed rows and losses, and
    the longest compute time of a worker (the iteration's computation, for auto-tuning). The
    division happens once, at the root (:func:`average_models`)."""
    acc = None
    count = rows = 0
    loss = secs = 0.0
    for it in items:
        c = it.count if isinstance(it, PartialSum) else int(it.net is not None)
        rows += it.rows
        loss += it.loss
        secs = max(secs, float(it.seconds))
        if it.net is None or c == 0:
            continue
        if acc is None:
            acc = it.net.copy()
        else:
            for a in Network.ARRAYS:
                getattr(acc, a)[...] += getattr(it.net, a)
        count += c
    return PartialSum(acc, rows, loss, count, secs)


def average_models(partial: PartialSum) -> Combined:
    """H2O's plain average of the models that trained (spec 5.1)."""
    net = partial.net
    if net is None or partial.count == 0:
        return Combined(None, None, partial.rows, partial.loss, partial.seconds)
    if partial.count > 1:
        k = np.float32(partial.count)
        for a in Network.ARRAYS:
            getattr(net, a)[...] /= k
    return Combined(net, net, partial.rows, partial.loss, partial.seconds)


def block_momentum(partial: PartialSum, previous, eta: float, zeta: float) -> Combined:
    """Block momentum over the average of the workers' models (Chen & Huo 2016, with the
    Nesterov look-ahead): with ``d`` the average minus the model the passes started from,
    ``G <- eta G + zeta d``, the consensus moves by ``G`` and the next passes start from the
    consensus plus ``eta G``. Optimizer state (ADADELTA accumulators, momentum) is the average's.
    ``previous`` is the last Combined (or the first model, a Network)."""
    avg = average_models(partial)
    if avg.model is None:
        return avg
    start = start_model(previous)
    cons = consensus_model(previous)
    gw, gb = (None, None) if not isinstance(previous, Combined) or previous.momentum is None \
        else previous.momentum
    e, z = np.float32(eta), np.float32(zeta)
    model = avg.model
    nxt = model.sharing_state()  # the passes copy the model they start from: the state is only read
    dw = model.W - start.W
    db = model.B - start.B
    gw = z * dw if gw is None else e * gw + z * dw
    gb = z * db if gb is None else e * gb + z * db
    model.W[...] = cons.W + gw
    model.B[...] = cons.B + gb
    nxt.W[...] = model.W + e * gw
    nxt.B[...] = model.B + e * gb
    return Combined(model, nxt, avg.rows, avg.loss, avg.seconds, (gw, gb))


def cursor_of(result: PassResult) -> int:
    return result.cursor


def summary_of(result) -> tuple:
    """What the client needs of an iteration (a Combined, or one worker's PassResult) besides the
    model: (rows, loss sum, compute seconds, whether a model was trained)."""
    return result.rows, result.loss, result.seconds, consensus_model(result) is not None


_STREAM_BLOCK_BYTES = 8 * 2 ** 20  # encoded bytes per row block when a partition is streamed


def _row_step(schema) -> int:
    width = 4 * (int(schema.n_num) + int(schema.n_cat)) + 24
    return max(1, _STREAM_BLOCK_BYTES // width)


def _row_blocks(pdf, schema):
    """Row blocks of a partition whose encoded rows take at most ``_STREAM_BLOCK_BYTES`` (the whole
    partition when it is smaller), so that out-of-core training holds one raw partition and the
    encoding of one block."""
    step = _row_step(schema)
    if len(pdf) <= step:
        yield pdf
        return
    for a in range(0, len(pdf), step):
        yield pdf.iloc[a:a + step]


def _rows_between(block: Block, a: int, b: int) -> Block:
    """The encoded rows of ``block`` that came from partition rows ``a:b``, as ``encode_partition``
    of those rows alone returns them (positions counted from ``a``; slices, not copies)."""
    i, j = np.searchsorted(block.index, [a, b])
    return Block(block.xnum[i:j], block.xcat[i:j], block.y[i:j], block.w[i:j], block.offset[i:j],
                 block.index[i:j] - a)


def _encoded_row_blocks(part, schema, standardize_response: bool):
    """The encoded row blocks of one partition (those of ``_row_blocks``, in order, empty ones
    included). A Parquet-backed partition is encoded whole, a batch of columns at a time (the raw
    partition is never held, see ``frame.encode.encode_part_rows``), and then cut into the same blocks."""
    if isinstance(part, ParquetPart):
        block, n = encode_part_rows(part, schema, training=True, standardize_response=standardize_response)
        step = _row_step(schema)
        if n <= step:
            yield block
            return
        for a in range(0, n, step):
            yield _rows_between(block, a, a + step)
        return
    pdf = _read_partition(part)
    for sub in _row_blocks(pdf, schema):
        yield encode_partition(sub, schema, training=True, standardize_response=standardize_response)


def _read_partition(part):
    """One partition as a pandas frame, read in this process with the synchronous scheduler;
    a partition computed from data held in the cluster's memory (a frame derived from a
    persisted one) is computed through the cluster instead, which holds its inputs."""
    import dask

    if isinstance(part, pd.DataFrame):
        return part
    from distributed import futures_of

    if futures_of(part):
        from distributed import worker_client

        with worker_client() as c:
            return c.compute(part).result()
    return dask.compute(part, scheduler="sync")[0]


def stream_pass(net: Network, parts, schema, standardize_response: bool, cfg: KernelConfig, iteration: int,
                quota: int, cursor: int, samples_before: float, weighted: bool, part: int = 0, consensus=None):
    """Local-only (out-of-core) training: read this worker's partitions one at a time,
    starting at ``cursor``, encode each and train on it, passing the model from
    partition to partition, until ``quota`` rows were processed.

    ``parts`` are Dask delayed partitions, each computed here (see ``_read_partition``) and
    encoded and trained in row blocks (see ``_row_blocks``), so at most one raw partition and
    the encoding of one of its blocks are in memory; or the partitions themselves, where the
    frame is held in the cluster's memory (persisted or scattered) and this worker holds them;
    or the partitions of a Parquet-backed frame (``frame.source.ParquetPart``), each encoded a
    batch of columns at a time (no raw partition is held) and trained in the same row blocks.
    Returns a PassResult whose ``cursor`` is the partition to read next.
    """
    net = start_model(net)
    if not parts:
        return PassResult(None, 0, 0.0, 0.0, cursor)
    t0 = time.perf_counter()
    cur = net
    rows = 0
    loss = 0.0
    visited = 0
    k = cursor % len(parts)
    while rows < quota and visited < len(parts) * 8:
        visited += 1
        blocks = _encoded_row_blocks(parts[k], schema, standardize_response)
        for j, block in enumerate(blocks):
            if rows >= quota:
                break
            n = block_rows(block)
            if n:
                frac = min(1.0, (quota - rows) / n)
                res = train_pass(cur, block, cfg, iteration, frac, samples_before + rows, weighted,
                                 part * 100003 + visited + 7919 * j, consensus)
                if res.net is not None:
                    cur = res.net
                    rows += res.rows
                    loss += res.loss
            del block
        blocks.close()  # the partition's encoding is released before the next one is read
        del blocks
        release_arrow_memory()
        k = (k + 1) % len(parts)
    if rows == 0:
        return PassResult(None, 0, 0.0, time.perf_counter() - t0, k)
    return PassResult(cur, rows, loss, time.perf_counter() - t0, k)
