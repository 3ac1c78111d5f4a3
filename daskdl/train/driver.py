"""The client-side training loop (spec sections 5 and 6).

Iterations, each a training pass over ~``train_samples_per_iteration`` rows on
every worker that holds data (HOGWILD! over the worker's threads), models
averaged across workers, then scoring when due, early stopping, the best-model
copy and the time limit.  The model stays on the cluster as a future between
iterations; only (W, B) travel to the client, and only when scoring.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple
from uuid import uuid4

import numpy as np
import pandas as pd

from ..frame.encode import Block, encode_part_samples, encode_partition
from ..frame.io import persisted_partitions
from ..frame.schema import FrameSchema
from ..frame.source import parquet_parts
from ..kernels import codes
from ..metrics import compute_metrics
from ..model.network import Layout, Network
from ..model.predict import output, reconstruction_error
from ..model.state import ClassBalance, History, Scored, _mval, identity_standardized, metric_kind
from ..params import Resolved
from .progress import Progress
from .stopping import resolve_stopping_metric, stop_early
from .task import (Combined, KernelConfig, average_models, block_momentum, block_rows, combine_models,
                   concat_blocks, consensus_model, cursor_of, elastic_consensus, momentum_coefficients,
                   stream_pass, summary_of, train_pass)

logger = logging.getLogger("daskdl")


class TrainingError(RuntimeError):
    """Training could not produce a usable model (e.g. the weights diverged)."""


# ------------------------------------------------------------------------------------- config
def make_layout(res: Resolved, schema: FrameSchema) -> Layout:
    n_out = schema.n_in if res.autoencoder else (res.n_classes if res.classification else 1)
    units = np.array([schema.n_in, *res.hidden, n_out], dtype=np.int64)
    dist = codes.SOFTMAX if res.classification else codes.DISTRIBUTIONS[res.distribution]
    return Layout(units, codes.ACTIVATIONS[res.activation], dist, res.autoencoder)


def kernel_config(res: Resolved, schema: FrameSchema, layout: Layout, balance: ClassBalance | None = None
                  ) -> KernelConfig:
    hp = np.zeros(codes.HP_SIZE, np.float64)
    hp[codes.HP_RHO] = res.rho
    hp[codes.HP_EPS] = res.epsilon
    hp[codes.HP_RATE] = res.rate
    hp[codes.HP_RATE_ANNEALING] = res.rate_annealing
    hp[codes.HP_RATE_DECAY] = res.rate_decay
    hp[codes.HP_MOM_START] = res.momentum_start
    hp[codes.HP_MOM_RAMP] = res.momentum_ramp
    hp[codes.HP_MOM_STABLE] = res.momentum_stable
    hp[codes.HP_L1] = res.l1
    hp[codes.HP_L2] = res.l2
    hp[codes.HP_MAX_W2] = min(res.max_w2, 3.4028234e38)
    hp[codes.HP_INPUT_DROPOUT] = res.input_dropout_ratio
    hp[codes.HP_QUANTILE_ALPHA] = res.quantile_alpha
    hp[codes.HP_TWEEDIE_POWER] = res.tweedie_power
    hp[codes.HP_HUBER_DELTA] = 1.0  # spec Q4: training Huber delta is 1 in standardized units
    hp[codes.HP_SPARSITY_BETA] = res.sparsity_beta if res.autoencoder else 0.0
    hp[codes.HP_AVG_ACTIVATION] = res.average_activation
    hp[codes.HP_EA_LAMBDA] = res.elastic_averaging_regularization if res.elastic_averaging else 0.0
    ip = np.zeros(codes.IP_SIZE, np.int64)
    ip[codes.IP_ACT] = layout.act
    ip[codes.IP_DIST] = layout.out_dist
    ip[codes.IP_LOSS] = codes.QUADRATIC if res.loss == "quadratic" and res.classification else codes.CROSS_ENTROPY
    ip[codes.IP_ADAPTIVE] = int(res.adaptive_rate)
    ip[codes.IP_NESTEROV] = int(res.nesterov)
    ip[codes.IP_FAST_MODE] = int(res.fast_mode)
    ip[codes.IP_DROPOUT] = int(res.dropout)
    ip[codes.IP_AUTOENCODER] = int(res.autoencoder)
    ip[codes.IP_NUM_OFFSET] = schema.num_offset
    momentum = (not res.adaptive_rate) and (res.momentum_start != 0 or res.momentum_stable != 0)
    ip[codes.IP_MOMENTUM] = int(momentum)
    ip[codes.IP_HAS_MAXW2] = int(res.max_w2 < 3.4028234e38)
    ip[codes.IP_SPARSE] = int(bool(res.autoencoder) and res.sparsity_beta > 0)
    hdrop = np.asarray(res.hidden_dropout_ratios if res.dropout else [0.0] * len(res.hidden), np.float32)
    if len(hdrop) == 0:
        hdrop = np.zeros(1, np.float32)
    return KernelConfig(layout=layout, hdrop=hdrop, hp=hp, ip=ip, seed=int(res.seed) & 0x7FFFFFFFFFFFFFFF,
                        mini_batch_size=int(res.mini_batch_size), reproducible=bool(res.reproducible),
                        shuffle=bool(res.shuffle_training_data),
                        class_factors=None if balance is None else np.asarray(balance.factors, np.float64))


def has_momentum(cfg: KernelConfig) -> bool:
    return bool(cfg.ip[codes.IP_MOMENTUM])


def is_sparse(cfg: KernelConfig) -> bool:
    return bool(cfg.ip[codes.IP_SPARSE])


# ------------------------------------------------------------------------------------- data
def encode_frame(frame, schema: FrameSchema, *, training: bool, standardize_response: bool) -> Block:
    """Encode a whole (pandas or dask) frame into one block in this process."""
    import dask

    if isinstance(frame, pd.DataFrame):
        return encode_partition(frame, schema, training=training, standardize_response=standardize_response)
    parts = frame.to_delayed()
    enc = [dask.delayed(encode_partition)(p, schema, training=training, standardize_response=standardize_response)
           for p in parts]
    blocks = dask.compute(*enc)
    return concat_blocks(*blocks)


def score_sample(frame, schema: FrameSchema, max_rows: int, seed: int, training: bool) -> Block:
    """Encoded Bernoulli sample of about ``max_rows`` rows of a frame (0 = all rows).

    Sampling happens before encoding, where the data lives, so only the sample
    reaches this process."""
    n = max(int(schema.n_rows or 0), 1)
    if max_rows > 0 and max_rows < n:
        frac, state = min(1.0, 1.05 * max_rows / n), int(seed) & 0x7FFFFFFF
        parts = None if isinstance(frame, pd.DataFrame) else parquet_parts(frame)
        if parts:  # the same rows, each partition read a batch of columns at a time
            import dask

            blocks = dask.compute(*encode_part_samples(parts, frac, state, schema, training=training,
                                                       standardize_response=False))
            return sample_block(concat_blocks(*blocks), max_rows, seed)
        frame = frame.sample(frac=frac, random_state=state)
    block = encode_frame(frame, schema, training=training, standardize_response=False)
    return sample_block(block, max_rows, seed)


def sample_block(block: Block, max_rows: int, seed: int) -> Block:
    """Bernoulli sample of about ``max_rows`` rows (0 = all), as H2O's score frames."""
    n = block_rows(block)
    if max_rows <= 0 or max_rows >= n:
        return block
    rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, 17])
    keep = np.flatnonzero(rng.random(n) < max_rows / n)
    if len(keep) == 0:
        keep = np.array([0])
    return Block(*(getattr(block, f)[keep] for f in Block._fields))


# ------------------------------------------------------------------------------------- scoring
class Scorer:
    def __init__(self, schema: FrameSchema, res: Resolved, layout: Layout, train_block: Block,
                 valid_block: Block | None, correction=None, custom=None):
        self.schema, self.res, self.layout = schema, res, layout
        self.custom = custom  # custom_metric_func (a CustomMetric), or None
        self.correction = correction
        self.kind = metric_kind(res)
        self.train_block = train_block
        self.valid_block = valid_block
        self.idstd = identity_standardized(res, schema)
        self.hidden_dropout = res.hidden_dropout_ratios if res.dropout else None

    def metrics_on(self, net: Network, block: Block, description: str):
        if block is None:
            return None
        s, r = self.schema, self.res
        if self.kind == "autoencoder":
            err = reconstruction_error(net, block, s)
            return compute_metrics("autoencoder", None, err, block.w, description=description)
        pred = output(net, block, s, self.hidden_dropout, self.idstd, correction=self.correction)
        ckw = {} if self.custom is None else dict(custom=self.custom, offset=block.offset)
        if self.kind == "regression":
            return compute_metrics("regression", block.y.astype(np.float64), pred, block.w,
                                   distribution=r.distribution, tweedie_power=r.tweedie_power,
                                   quantile_alpha=r.quantile_alpha, huber_alpha=r.huber_alpha,
                                   description=description, **ckw)
        return compute_metrics(self.kind, block.y.astype(np.float64), pred.astype(np.float64), block.w,
                               n_classes=r.n_classes, classes=s.classes, description=description,
                               auc_type=r.auc_type if self.kind == "multinomial" else None, **ckw)

    def score(self, net: Network) -> Scored:
        t0 = time.time()
        n_t = block_rows(self.train_block)
        tr = self.metrics_on(net, self.train_block,
                             f"Metrics reported on temporary training frame with {n_t} samples")
        va = self.metrics_on(net, self.valid_block, "Metrics reported on full validation frame") \
            if self.valid_block is not None else None
        return Scored(tr, va, time.time() - t0)


# ------------------------------------------------------------------------------------- loop
@dataclass
class TrainResult:
    net: Network
    layout: Layout
    history: History
    train_metrics: object
    valid_metrics: object
    epochs: float
    iterations: int
    samples: float
    train_seconds: float
    n_rows: int
    stopped_reason: str


def rows_per_iteration(res: Resolved, n: int, n_workers: int, row_cost_s: float, replicated: bool = False) -> int:
    """H2O's train_samples_per_iteration, resolved to a global row count (spec 5.2)."""
    tspi = res.train_samples_per_iteration
    total = res.epochs * n
    if tspi == 0:  # one epoch per iteration
        return max(1, n)
    if tspi == -1:  # every worker makes a pass over its rows: all of them when data is replicated
        return max(1, n * (max(1, n_workers) if replicated else 1))
    if tspi > 0:
        return int(min(max(tspi, 1), max(total, 1)))
    # -2: auto-tune: >= 10 iterations per run, each at most ~10 s of compute, at least one
    # row; single node keeps communication negligible by construction.
    t = min(total / 10.0, 10.0 * n * max(1, n_workers))
    if row_cost_s > 0:
        t = min(t, 10.0 / row_cost_s)
    if t > n and (t % n) / n < 0.2:
        t -= t % n
    if n_workers > 1:
        t = min(t, combine_cap(n, n_workers))
    return int(max(1, min(t, 100000 * max(1, n_workers) if n_workers > 1 else t)))


def combine_cap(n: int, n_workers: int) -> int:
    """The most rows per iteration (over all workers) that keeps the accuracy per epoch of one
    worker when ``k = n_workers`` models are combined: at least ``2 k`` combinations per epoch
    (block momentum reaches its full k-fold step after about k / 2 of them; measured on MNIST,
    16 workers: 30 combinations per epoch kept the 1-worker error after 5 epochs within 0.2
    points, 15 per epoch lost 0.7), and at least 32 rows per worker and iteration."""
    k = max(1, int(n_workers))
    return int(max(32 * k, n / (2 * k)))


def retune_rows(rows: int, t_iteration: float, t_compute: float, target_ratio: float, max_rows: int) -> int:
    """H2O's multi-node auto-tuning of the rows per iteration (spec 5.2) from measured times:
    communication = the iteration's wall time minus the longest worker computation. When
    communication takes more than 10 ms and its share of the iteration is off the target ratio
    by more than 20 %, scale the rows so that the share moves toward the target (at most 2x per
    iteration)."""
    t_comm = max(0.0, t_iteration - t_compute)
    if t_comm <= 0.01 or t_iteration <= 0:
        return rows
    ratio = t_comm / t_iteration
    c = min(2.0, max(0.5, target_ratio / ratio))
    if 0.8 <= c <= 1.2:
        return rows
    return int(min(max(1, rows / c), max(1, max_rows)))


_INFRA_ERRORS = ("KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError", "TimeoutError",
                 "StreamClosedError", "OSError", "ConnectionError", "BrokenPipeError")


def _worker_room(info: dict) -> float:
    """Bytes a worker can take on for training data (inf without a memory limit): the smaller of
    half its memory limit and what is left below Dask's pause threshold
    (``distributed.worker.memory.pause``, 80 % by default) after the process memory it uses now."""
    import dask

    limit = float(info.get("memory_limit") or 0)
    if limit <= 0:
        return float("inf")
    pause = dask.config.get("distributed.worker.memory.pause", 0.8)
    frac = float(pause) if pause else 0.95  # no pause: the nanny restarts a worker at 95 %
    used = float((info.get("metrics") or {}).get("memory") or 0)
    return min(0.5 * limit, frac * limit - used)


def _lost_data_error(e: BaseException) -> bool:
    chain = [x for x in (e, e.__cause__, e.__context__) if x is not None]
    return any("lost dependencies" in str(x) or type(x).__name__ in ("FutureCancelledError", "CancelledError")
               for x in chain)


def _infrastructure_error(e: BaseException) -> bool:
    return any(type(x).__name__ in _INFRA_ERRORS for x in (e, e.__cause__, e.__context__) if x is not None) or \
        "lost dependencies" in str(e)


class Trainer:
    """Runs the iterations either on a Dask cluster or in this process.

    On a cluster: the encoded blocks stay on the workers that hold them (one
    joined block per worker) or, in local-only mode, each worker streams its own
    partitions; one training task per worker and iteration; models averaged by a
    tree reduction. The client keeps the last model it received so that an
    iteration lost with a worker is retried from it (its rows are not counted).
    """

    max_retries = 5

    def __init__(self, res: Resolved, schema: FrameSchema, cfg: KernelConfig, client=None, workers=None):
        self.res, self.schema, self.cfg, self.client = res, schema, cfg, client
        # the workers this model trains on (None: all of the client's); a set that has left the
        # cluster falls back to all workers
        self.only_workers = None if workers is None else frozenset(workers)
        self.retries = 0
        self.out_of_core = False
        self.row_scale = 1.0  # balanced rows per training row (balance_classes)
        self.replicated = False  # every training worker holds all rows (replicate_training_data)
        self.last_compute_s = 0.0  # longest worker computation of the last iteration
        self.elastic = bool(res.elastic_averaging)
        self.locals = {}  # elastic averaging: each worker's own model (a future, or a Network in-process)
        self.ea_started = False
        self.averaging = res.model_averaging
        self.snapshot = None  # the last combined model the client holds (retries start from it)
        self.snapshot_time = 0.0
        self.snapshot_every_s = 10.0
        # the next iteration's passes, submitted before this iteration's summary reaches the client
        self.pending: _Ahead | None = None
        self.last_rows = 0  # the rows per iteration the last iteration's passes were given

    # -- data placement -------------------------------------------------------------------
    def place(self, frame, out_of_core=None):
        """Encode the training frame where it lives; one joined block per worker."""
        try:
            self._place(frame, out_of_core)
        except Exception as e:
            if self.client is not None and "connection" in str(e).lower() and "scheduler" in str(e).lower():
                raise TrainingError(f"training stopped: the Dask client lost its connection to the scheduler while "
                                    f"the training data was being placed; check that the scheduler is alive and "
                                    f"reachable, then train again ({type(e).__name__}: {e})") from e
            if self.client is not None and _lost_data_error(e):
                raise TrainingError(
                    "the training frame's data is no longer on the cluster: its persisted partitions were "
                    "lost (after client.restart(), a worker loss or a cluster shutdown). Load or persist the "
                    f"frame again, then train. ({type(e).__name__}: {e})") from e
            raise

    def _place(self, frame, out_of_core=None):
        std = identity_standardized(self.res, self.schema)
        self.std = std
        if self.client is None:
            self.local = encode_frame(frame, self.schema, training=True, standardize_response=std)
            self.workers = [None]
            self.n_rows = block_rows(self.local)
            return
        import dask

        client = self.client
        if isinstance(frame, pd.DataFrame):
            # a local frame is scattered in pieces (not embedded in the task graph)
            nparts = max(1, len(self._live_workers()))
            bounds = np.linspace(0, len(frame), nparts + 1).astype(int)
            pieces = client.scatter([frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])], hash=False)
            self._pieces = pieces  # held for the whole fit: the source of every rebuild
            held = pieces
        else:
            held = persisted_partitions(frame)
        if out_of_core is None:
            out_of_core = self._needs_out_of_core()
        self.out_of_core = bool(out_of_core)
        if self.out_of_core:
            # partitions already in the cluster's memory (a persisted or scattered frame) stream
            # from the worker that holds them; the others are read by the worker that trains on them
            self._place_streaming(held if held is not None else parquet_parts(frame) or frame.to_delayed())
        else:
            workers = self._live_workers()
            replicated = self._replicate(workers)
            # every worker holding every row needs no balancing of rows across workers
            parts = ([dask.delayed(_identity)(f) for f in held] if isinstance(frame, pd.DataFrame)
                     else (frame if replicated else self._load_balanced(frame)).to_delayed())
            self._place_persisted(parts, workers)

    def _load_balanced(self, frame):
        """force_load_balance (spec 5.4): a frame with fewer than 4 partitions per worker is split
        into 4 per worker (at most one per row), so that every worker gets a similar share."""
        n_workers = len(self._live_workers())
        if not self.res.force_load_balance or n_workers <= 1 or self.res.single_node_mode:
            return frame
        target = int(min(4 * n_workers, max(int(self.schema.n_rows or 0), 1)))
        if frame.npartitions >= target:
            return frame
        return frame.repartition(npartitions=target)

    def _encoded_bytes(self) -> float:
        s = self.schema
        return float(4 * (s.n_num + s.n_cat) + 24) * max(int(s.n_rows or 0), 1)

    def _needs_out_of_core(self) -> bool:
        """Encoded data (held twice while joined) must fit in half the workers' memory limits."""
        info = self._worker_info()
        limits = [w.get("memory_limit") or 0 for w in info.values()]
        if not limits or min(limits) <= 0:
            return False
        need = 2.0 * self._encoded_bytes()
        if self.res.single_node_mode:  # all rows on one worker
            return need > 0.5 * max(limits)
        return need > 0.5 * sum(limits)

    def _can_replicate(self, workers) -> bool:
        """replicate_training_data (spec 5.4): on by default with several workers, off with
        reproducible=True, and switched off (with a warning, as H2O does) when a full copy of the
        encoded data, held twice while it is joined, would not fit on every worker: in half its
        memory limit, and below Dask's pause threshold on top of what the worker process uses now
        (a worker above it is paused until its memory falls, which a held copy never does)."""
        if not self.res.replicate_training_data or len(workers) <= 1 or self.res.reproducible:
            return False
        info = self._worker_info()
        need = 2.0 * self._encoded_bytes()
        room = min((_worker_room(info[w]) for w in workers), default=float("inf"))
        if need > room:
            warnings.warn(f"replicate_training_data: the encoded training data "
                          f"(~{self._encoded_bytes() / 2**20:.0f} MiB) does not fit on every worker "
                          f"(the smallest has ~{max(room, 0.0) / 2**20:.0f} MiB to spare); each worker trains on "
                          f"its own share of the rows instead", RuntimeWarning, stacklevel=2)
            return False
        return True

    def _replicate(self, workers) -> bool:
        """Decide replicate_training_data on these workers; replicated, each worker samples its
        own random rows (spec 5.4)."""
        self.replicated = not self.res.single_node_mode and self._can_replicate(workers)
        if self.replicated:
            self.cfg = dataclasses.replace(self.cfg, shuffle=True)
        return self.replicated

    def _place_persisted(self, parts, workers):
        # contiguous runs of partitions per worker, in a fixed order, so that the grouping of rows
        # (and with reproducible=True the model) does not depend on where tasks happen to run
        self._parts = parts
        self.assignment = self._assign(workers, len(parts))
        self._build()

    def _assign(self, workers, n_parts):
        """Partitions per training worker: contiguous runs; every partition on every worker when the
        data is replicated; everything on the first worker in single_node_mode."""
        everything = list(range(n_parts))
        if self.res.single_node_mode:
            return {workers[0]: everything}
        if self.replicated:
            return {w: everything for w in workers}
        bounds = np.linspace(0, n_parts, len(workers) + 1).astype(int)
        return {w: list(range(a, b)) for w, a, b in zip(workers, bounds[:-1], bounds[1:])}

    def _build(self):
        """Encode each worker's partitions there and join them into one block per worker.

        The per-partition blocks are released once joined (the data is held once); a joined
        block lost with its worker is rebuilt from the source partitions by :meth:`_recover`."""
        import dask

        client = self.client
        self.data = {}

        def encoded(i, w):
            return client.compute(dask.delayed(encode_partition)(
                self._parts[i], self.schema, training=True, standardize_response=self.std),
                workers=[w], allow_other_workers=True)

        if self.replicated:
            # each partition is encoded once, by one worker (contiguous runs), and every worker
            # joins all the encoded partitions into its copy
            workers = list(self.assignment)
            n = len(self._parts)
            futs = [encoded(i, workers[i * len(workers) // n]) for i in range(n)]
            joins = {w: futs for w in workers}
        else:
            joins = {w: [encoded(i, w) for i in idx] for w, idx in self.assignment.items() if idx}
        for w, parts in joins.items():
            self.data[w] = client.submit(concat_blocks, *parts, workers=[w], allow_other_workers=True, pure=False)
        del joins  # the encoded partitions are released once joined
        counts = client.gather([client.submit(block_rows, d, workers=[w], allow_other_workers=True, pure=False)
                                for w, d in self.data.items()])
        self.rows_by_worker = dict(zip(self.data.keys(), counts))
        self.workers = [w for w, c in self.rows_by_worker.items() if c > 0]
        self.n_rows = int(max(counts, default=0)) if self.replicated else int(sum(counts))

    def _place_streaming(self, parts):
        """Local-only mode: nothing is persisted; partitions are assigned in contiguous runs to
        the workers (to the first worker only in single_node_mode), partitions already held in the
        cluster's memory to a worker that holds them. Data is never replicated here."""
        from distributed import Future

        workers = self._live_workers()
        if self.res.single_node_mode:
            workers = workers[:1]
        self.replicated = False
        if not self.res.single_node_mode and parts and all(isinstance(p, Future) for p in parts):
            by_worker = self._by_holder(parts, workers)
        else:
            bounds = np.linspace(0, len(parts), len(workers) + 1).astype(int)
            by_worker = {w: parts[a:b] for w, a, b in zip(workers, bounds[:-1], bounds[1:])}
        self.stream_parts = {w: p for w, p in by_worker.items() if p}
        self.workers = list(self.stream_parts)
        self.cursors = {w: 0 for w in self.workers}
        self.n_rows = int(self.schema.n_rows or 0)

    def _by_holder(self, futures, workers):
        """Partitions held in the cluster's memory, each given to a worker that holds it (at most
        an even share each, the rest to the workers with the fewest), so none is copied."""
        holders = self.client.who_has(futures)
        cap = -(-len(futures) // max(1, len(workers)))
        out = {w: [] for w in workers}
        spill = []
        for f in futures:
            here = [w for w in holders.get(f.key, ()) if w in out and len(out[w]) < cap]
            (out[here[0]].append(f) if here else spill.append(f))
        for f in spill:
            min(out.values(), key=len).append(f)
        return out

    # -- one iteration ----------------------------------------------------------------------
    def iterate(self, model, it: int, rows_global: int, samples_before: float, weighted: bool,
                ahead: bool = False):
        """One iteration: returns (model handle, rows processed, loss sum).

        The handle is a :class:`Combined` in-process, a future of one on a cluster; the client
        keeps a snapshot of the last model it fetched, from which a lost iteration is retried.
        With ``ahead`` (another iteration will follow), the next iteration's passes are submitted
        on a cluster as soon as this one's combination is, so that the workers start them without
        waiting for the client; the next call takes them up (the rows per iteration it asks for
        then apply one iteration later)."""
        self.last_rows = rows_global
        if self.client is None:
            frac = self._fraction(rows_global)
            if self.elastic:  # the local model persists; the consensus is scored and returned
                start = self.locals.get(None, model)
                res = train_pass(start, self.local, self.cfg, it, frac, samples_before, weighted, 0, model)
                if res.net is not None:
                    self.locals[None] = res
                out = elastic_consensus(Combined(res.net, res.net, res.rows, res.loss, res.seconds), model,
                                        self.res.elastic_averaging_moving_rate, not self.ea_started)
                self.ea_started = True
            else:
                res = train_pass(model, self.local, self.cfg, it, frac, samples_before, weighted)
                out = Combined(res.net, res.net, res.rows, res.loss, res.seconds)
            self.last_compute_s = out.seconds
            if out.model is None:
                return model, 0, 0.0
            self.snapshot = out
            return out, out.rows, out.loss
        while True:
            try:
                return self._iterate_cluster(model, it, rows_global, samples_before, weighted, ahead)
            except Exception as e:  # a worker died: retry this iteration from the last snapshot
                self.cancel_pending()
                if not _infrastructure_error(e) or self.retries >= self.max_retries or self.snapshot is None:
                    raise
                self.retries += 1
                self._recover()
                self.locals = {}  # elastic averaging: the workers restart from the consensus
                model = self.client.scatter(self.snapshot, hash=False)

    def _fraction(self, rows_global: int) -> float:
        frac = rows_global / max(self.n_rows * self.row_scale, 1)
        if self.replicated:  # every worker holds all rows and trains on its share of the iteration
            frac /= max(1, len(self.workers))
        return frac

    def _pipelined(self) -> bool:
        """Whether the next iteration's passes may be submitted ahead: in memory, without elastic
        averaging (each worker's own model) and on a cluster."""
        return self.client is not None and not self.out_of_core and not self.elastic

    def cancel_pending(self):
        p, self.pending = self.pending, None
        if p is not None:
            try:
                self.client.cancel(p.futures)
            except Exception:  # the client or cluster is gone: nothing is left to cancel
                pass

    def _take_pending(self, model, it):
        """The passes submitted ahead for iteration ``it`` from ``model`` (else they are cancelled)."""
        p = self.pending
        if p is not None and p.start is model and p.iteration == it:
            self.pending = None
            self.last_rows = p.rows
            return p.futures
        self.cancel_pending()
        return None

    def _passes(self, model, it, rows_global, samples_before, weighted, tag, after_start=False):
        """Submit one iteration's in-memory training passes, one per worker."""
        frac = self._fraction(rows_global)
        consensus = model if self.elastic else None
        out = []
        for i, w in enumerate(self.workers):
            share = (i, len(self.workers)) if self.replicated else None
            out.append(self.client.submit(train_pass, self.locals.get(w, model), self.data[w], self.cfg, it,
                                          frac, samples_before, weighted, i, consensus, share, after_start,
                                          workers=[w], allow_other_workers=True, pure=False,
                                          key=f"daskdl-train-{tag}-{i}"))
        return out

    def _recover(self):
        time.sleep(0.5)
        live = self._live_workers()
        if not live:
            raise TrainingError("training stopped: the cluster has no workers left (was the client closed "
                                "or the cluster shut down during train()?)")
        if not self.out_of_core:
            if self.replicated:  # every live worker holds everything again
                everything = list(range(len(self._parts)))
                self.assignment = {w: everything for w in live}
            else:
                groups = [idx for idx in self.assignment.values() if idx]
                self.assignment = {}
                for k, idx in enumerate(groups):  # same row groups, on the workers alive now
                    self.assignment.setdefault(live[k % len(live)], []).extend(idx)
            self._build()
        else:
            self._place_streaming([p for ps in self.stream_parts.values() for p in ps])

    def _combine(self, items, previous, tag):
        """The root task: sums at most 8 pass results or partial sums and combines them into the
        next model (one task, one hop fewer between iterations)."""
        if self.averaging == "average" or self.elastic:
            return self.client.submit(_average_task, *items, pure=False, key=f"daskdl-average-{tag}")
        return self.client.submit(_block_momentum_task, previous, *items, pure=False, key=f"daskdl-combine-{tag}")

    def _iterate_cluster(self, model, it, rows_global, samples_before, weighted, ahead):
        client = self.client
        results = []
        tag = f"{it}-{self.retries}-{uuid4().hex[:8]}"
        consensus = model if self.elastic else None
        if self.out_of_core:
            quota = max(1, int(round(rows_global / max(1, len(self.workers)))))
            for i, w in enumerate(self.workers):
                results.append(client.submit(stream_pass, self.locals.get(w, model), self.stream_parts[w],
                                             self.schema, self.std, self.cfg, it, quota, self.cursors[w],
                                             samples_before, weighted, i, consensus,
                                             workers=[w], allow_other_workers=True, pure=False,
                                             key=f"daskdl-train-stream-{tag}-{i}"))
            cursors = client.gather([client.submit(cursor_of, r, pure=False) for r in results])
            self.cursors.update(zip(self.workers, cursors))
        else:
            results = self._take_pending(model, it) or self._passes(model, it, rows_global, samples_before,
                                                                     weighted, tag)
        if self.elastic:  # every worker keeps training its own model
            self.locals = dict(zip(self.workers, results))
        if len(results) == 1 and not self.elastic:  # one worker: its model is the next model
            merged = results[0]
        else:
            level = 0
            while len(results) > 8:  # tree reduce, 8 at a time; the root sums the last 8 and divides
                results = [client.submit(combine_models, *results[i:i + 8], pure=False,
                                         key=f"daskdl-reduce-{tag}-{level}-{i}")
                           for i in range(0, len(results), 8)]
                level += 1
            merged = self._combine(results, model, tag)
        if self.elastic:
            merged = client.submit(elastic_consensus, merged, model, self.res.elastic_averaging_moving_rate,
                                   not self.ea_started, pure=False, key=f"daskdl-elastic-{tag}")
            self.ea_started = True
        summary = client.submit(summary_of, merged, pure=False, key=f"daskdl-summary-{tag}")
        if ahead and self._pipelined():
            nxt = f"{it + 1}-{self.retries}-{uuid4().hex[:8]}"
            # with the rows the client asked for now (with -2, tuned from the iteration before)
            self.pending = _Ahead(merged, it + 1, rows_global,
                                  self._passes(merged, it + 1, rows_global, samples_before, weighted, nxt,
                                               after_start=True))
        rows, loss, secs, trained = summary.result()
        self.last_compute_s = float(secs)
        if not trained or rows == 0:
            return model, 0, 0.0
        now = time.time()
        if now - self.snapshot_time > self.snapshot_every_s:
            self.fetch(merged)
        return merged, rows, loss

    def _worker_info(self) -> dict:
        """The scheduler's record of every worker (all of them: ``n_workers=-1``)."""
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except Exception as e:
            raise TrainingError(f"training stopped: the Dask client cannot reach the scheduler ({e!r}); was the "
                                f"client closed or the cluster shut down during train()?") from e
        workers = (info or {}).get("workers", {})
        if self.only_workers is not None:
            mine = {w: d for w, d in workers.items() if w in self.only_workers}
            if mine:
                return mine
        return workers

    def _live_workers(self):
        return sorted(self._worker_info())

    def fetch(self, model) -> Network:
        """The consensus model of ``model`` (fetched from the cluster; the client's snapshot)."""
        if self.client is None or isinstance(model, (Network, Combined)):
            return consensus_model(model)
        obj = model.result()
        if not isinstance(obj, Combined):  # one worker's pass, or the uploaded model itself
            net = consensus_model(obj)
            obj = Combined(net, net, 0, 0.0, 0.0)
        self.snapshot, self.snapshot_time = obj, time.time()
        return obj.model

    def upload(self, net: Network):
        self.snapshot = Combined(net, net, 0, 0.0, 0.0)
        self.snapshot_time = time.time()
        if self.client is None:
            return net
        if len(self.workers) > 1:
            try:
                return self.client.scatter(net, broadcast=True, hash=False)
            except ValueError:  # no worker running right now (all paused for memory): the tasks fetch it
                pass
        return self.client.scatter(net, hash=False)

    def release(self):
        self.cancel_pending()
        self.locals = {}
        if self.client is not None:
            for name in ("data", "_parts", "_pieces", "stream_parts"):
                if hasattr(self, name):
                    delattr(self, name)


class _Ahead(NamedTuple):
    """Passes submitted ahead: the model they start from, their iteration, rows and futures."""
    start: object
    iteration: int
    rows: int
    futures: list


def _identity(x):
    return x


def _average_task(*items):
    """H2O's plain average of the pass results or partial sums ``items``."""
    return average_models(combine_models(*items))


def _block_momentum_task(previous, *items):
    """Block momentum over the pass results or partial sums ``items``, with the coefficients for
    the number of models that trained."""
    partial = combine_models(*items)
    eta, zeta = momentum_coefficients(partial.count)
    return block_momentum(partial, previous, eta, zeta)


def fit(res: Resolved, schema: FrameSchema, train_frame, valid_frame, client=None, init_net: Network = None,
        quiet: bool = True, out_of_core=None, show_progress: bool = True, start=None,
        on_score=None, balance: ClassBalance | None = None, custom=None, workers=None) -> TrainResult:
    """The training loop: iterations, scoring, early stopping and the best model, on ``client``
    (None: in this process) restricted to ``workers`` when given. ``init_net`` and
    ``start=(samples, iterations, history_rows)`` continue a checkpoint."""
    t_start = time.time()
    layout = make_layout(res, schema)
    cfg = kernel_config(res, schema, layout, balance)
    if layout.n_weights + layout.n_biases > 1e8:
        raise ValueError(f"the network has {layout.n_weights + layout.n_biases} weights and biases, more than "
                         f"the limit of 1e8; reduce hidden (got {list(res.hidden)}) or the input width "
                         f"({schema.n_in} after one-hot expansion)")
    trainer = Trainer(res, schema, cfg, client, workers=workers)
    trainer.place(train_frame, out_of_core)
    if balance is not None:  # spec 9.2: the epoch is the balanced row count
        trainer.row_scale = balance.expanded / max(balance.n, 1)
    N = int(round(trainer.n_rows * trainer.row_scale))
    if N == 0:
        raise ValueError("no training rows left: every row has a missing response, a zero weight or (with "
                         "missing_values_handling='skip') a missing predictor")
    # score frames, drawn once
    kind = metric_kind(res)
    score_train = score_sample(train_frame, schema, res.score_training_samples, res.seed, True)
    valid_block = None
    if valid_frame is not None:
        valid_block = score_sample(valid_frame, schema, res.score_validation_samples, res.seed + 1, False)
        keep = ~np.isnan(valid_block.y) if kind != "autoencoder" else slice(None)
        valid_block = Block(*(getattr(valid_block, f)[keep] for f in Block._fields))
    scorer = Scorer(schema, res, layout, score_train, valid_block,
                    correction=None if balance is None else balance.correction, custom=custom)

    if init_net is None:
        net = Network(layout, momentum=has_momentum(cfg), sparse=is_sparse(cfg))
        net.initialize(res.initial_weight_distribution, res.initial_weight_scale, res.seed, res.classification)
    else:
        net = init_net
    weighted = bool(schema.weights_column) and _real_weights(score_train.w)
    stop_name, higher, lower_bounded = (None, False, True)
    if res.stopping_rounds > 0:
        stop_name, higher, lower_bounded = resolve_stopping_metric(res.stopping_metric or "auto", kind)
    best_name = stop_name or {"binomial": "logloss", "multinomial": "logloss", "regression": "deviance",
                              "autoencoder": "mse"}[kind]
    best_higher = stop_name is not None and higher

    history = History(kind, valid_block is not None, custom=custom is not None)
    samples = 0.0
    it = 0
    if start is not None:
        samples, it, rows = start
        history.rows.extend(rows)
    elif kind != "autoencoder":
        history.add(duration=0.0, speed=None, epochs=0, iterations=0, samples=0, scored=None)
    model = trainer.upload(net)
    scoring_time = 0.0
    last_score_start = time.time()
    last_score_dur = 0.0
    best = None  # (loss, Network)
    last_scored = None
    stop_values = []
    t_train0 = time.time()
    samples0 = samples
    if kind == "autoencoder" and start is None:
        scored = scorer.score(trainer.fetch(model) if client is None else net)
        history.add(duration=time.time() - t_start, speed=None, epochs=0, iterations=0, samples=0, scored=scored)
        stop_values.append(_stop_value(scored, stop_name) if stop_name else float("nan"))
        last_scored = scored
    row_cost = 0.0
    tuned_rows = None  # train_samples_per_iteration=-2 on several workers: tuned from measured times
    total_target = res.epochs * N
    progress = Progress(res.epochs, enabled=not res.quiet_mode and show_progress, start=samples / max(N, 1))
    stopped = "epochs"
    try:
        while samples < total_target:
            it += 1
            rows = tuned_rows or rows_per_iteration(res, N, max(1, len(trainer.workers)), row_cost,
                                                    trainer.replicated)
            t_it = time.time()
            # the next iteration's passes go ahead when another iteration follows this one and no
            # scoring is expected after it (H2O scores while training waits: the duty cycle and the
            # training speed count the scoring apart)
            t_next = t_it + row_cost * rows  # this iteration's expected end
            ahead = (samples + rows < total_target and
                     not (res.max_runtime_secs > 0 and (t_next - t_start) >= res.max_runtime_secs) and
                     not _scoring_due(res, it, t_next, last_score_start, last_score_dur))
            model, done, loss = trainer.iterate(model, it, rows, samples, weighted, ahead)
            dt_it = time.time() - t_it
            if done == 0:
                break
            row_cost = dt_it / done
            if res.train_samples_per_iteration == -2 and len(trainer.workers) > 1 and it >= 2:
                # never fewer than the 10 synchronisations per run that the first value guarantees
                tuned_rows = retune_rows(trainer.last_rows, dt_it, trainer.last_compute_s, res.target_ratio_comm_to_comp,
                                         max(1, int(min(N * len(trainer.workers) * 10, total_target / 10,
                                                        combine_cap(N, len(trainer.workers))))))
            samples += done
            finishing = samples >= total_target
            timed_out = res.max_runtime_secs > 0 and (time.time() - t_start) >= res.max_runtime_secs
            now = time.time()
            if not (finishing or timed_out or _scoring_due(res, it, now, last_score_start, last_score_dur)):
                continue
            last_score_start = now
            cur = trainer.fetch(model)
            if cur.unstable():
                raise TrainingError(
                    "training diverged: the network's weights became non-finite or exploded at epoch "
                    f"{samples / N:.2f}. Try a smaller learning rate (rate, or adaptive_rate=True with a larger "
                    "rho / smaller epsilon), enable standardize, add l1/l2 or max_w2 regularization, or check the "
                    "response for extreme values")
            scored = scorer.score(cur)
            last_score_dur = time.time() - now
            scoring_time += last_score_dur
            last_scored = scored
            elapsed = time.time() - t_train0
            speed = (samples - samples0) / max(elapsed - scoring_time, 1e-9)
            history.add(duration=time.time() - t_start, speed=speed, epochs=samples / N, iterations=it,
                        samples=samples, scored=scored)
            progress.update(samples / N, speed, _short_metric(scored, best_name))
            if on_score is not None:  # e.g. export_checkpoints_dir: a resumable model at every scoring
                on_score(TrainResult(net=cur, layout=layout, history=history, train_metrics=scored.train,
                                     valid_metrics=scored.valid, epochs=samples / N, iterations=it, samples=samples,
                                     train_seconds=time.time() - t_train0, n_rows=N, stopped_reason="checkpoint"))
            (logger.debug if quiet else logger.info)("%s", _progress_line(history.rows[-1], kind))
            # best model
            loss_val = _stop_value(scored, best_name)
            if best_higher:
                loss_val = -loss_val
            if res.overwrite_with_best_model and not finishing and math.isfinite(loss_val):
                if best is None or loss_val < best[0]:
                    best = (loss_val, cur.copy())
            # stopping rules
            if finishing:
                break
            m_tr = scored.train
            if kind in ("binomial", "multinomial") and res.classification_stop >= 0:
                err = _mval(m_tr, "misclassification")
                if err <= res.classification_stop:
                    stopped = "classification_stop"
                    break
            if kind in ("regression", "autoencoder") and res.regression_stop >= 0:
                mse = m_tr.mse() if m_tr is not None else float("nan")
                if mse is not None and mse <= res.regression_stop:
                    stopped = "regression_stop"
                    break
            if stop_name is not None:
                stop_values.append(_stop_value(scored, stop_name))
                hist_vals = ([float("nan")] if kind != "autoencoder" else []) + stop_values
                if stop_early(hist_vals, res.stopping_rounds, res.stopping_tolerance, higher, lower_bounded):
                    stopped = "early_stopping"
                    break
            if timed_out:
                stopped = "max_runtime_secs"
                break
        final = trainer.fetch(model)
        train_seconds = time.time() - t_train0
        if final.unstable():
            raise TrainingError("training diverged: the final weights are non-finite or exploded; try a smaller "
                                "learning rate, standardize=True, or l1/l2/max_w2 regularization")
        if last_scored is None:
            last_scored = scorer.score(final)
        if res.overwrite_with_best_model and best is not None:
            final_loss = _stop_value(last_scored, best_name)
            if best_higher:
                final_loss = -final_loss
            if best[0] < final_loss:
                final = best[1]
                last_scored = scorer.score(final)
                history.add(duration=time.time() - t_start, speed=(samples - samples0) / max(train_seconds - scoring_time, 1e-9),
                            epochs=samples / N, iterations=it, samples=samples, scored=last_scored)
        trainer.release()
        return TrainResult(net=final, layout=layout, history=history, train_metrics=last_scored.train,
                           valid_metrics=last_scored.valid, epochs=samples / N, iterations=it, samples=samples,
                           train_seconds=train_seconds, n_rows=N, stopped_reason=stopped)
    finally:
        trainer.cancel_pending()
        progress.close()


def _scoring_due(res: Resolved, it: int, now: float, last_start: float, last_duration: float) -> bool:
    """H2O's scoring schedule after iteration ``it`` at time ``now``: the first iteration, every
    iteration with score_each_iteration, else once score_interval has passed and the last scoring
    took less than score_duty_cycle of the time since it began."""
    since = now - last_start
    return (it == 1 or res.score_each_iteration or
            (since > res.score_interval and last_duration / max(since, 1e-9) < res.score_duty_cycle))


def _short_metric(scored: Scored, name: str) -> str:
    which = "validation" if scored.valid is not None else "training"
    return f"{which} {name} {_stop_value(scored, name):.4g}"


def _real_weights(w: np.ndarray) -> bool:
    """Observation weights change sampling only when they are not constant and not {0, 1}."""
    if w.size == 0:
        return False
    u = np.unique(w)
    return not (len(u) == 1 or set(u.tolist()) <= {0.0, 1.0})


def _stop_value(scored: Scored, name: str) -> float:
    m = scored.valid if scored.valid is not None else scored.train
    return _mval(m, name)


def _progress_line(row: dict, kind: str) -> str:
    keys = [k for k in row if k.startswith(("training_", "validation_")) and k != "training_speed"]
    vals = ", ".join(f"{k}={row[k]:.4g}" for k in keys if isinstance(row[k], float))
    return f"epochs={row['epochs']:.2f} iterations={row['iterations']} {row['training_speed']} {vals}"
