"""The training driver (daskdl/train/driver.py) on an in-process cluster (``gen_cluster``): where
the encoded data is placed, the explicit worker set of a model, and the reduction of the workers'
passes into the next model. The driver uses a synchronous client; it runs in a thread beside
the test's event loop."""
import asyncio
import dataclasses

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client
from distributed.utils_test import gen_cluster

from daskdl.frame.schema import FrameSchema
from daskdl.model.network import Network
from daskdl.params import default_parameters, validate
from daskdl.train import driver
from daskdl.train.task import KernelConfig, average_models, combine_models, train_pass

ONE_THREAD_EACH = [("127.0.0.1", 1), ("127.0.0.1", 1)]
# the suite's shared LocalCluster (tests/conftest.py ``client``) keeps worker processes and threads
# alive beside these in-process clusters: they are not this test's leaks
CLEAN = {"processes": False, "threads": False}


def _problem(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": pd.Categorical(y)})
    p = default_parameters()
    p.update(hidden=[4], epochs=1, seed=7, reproducible=True, replicate_training_data=False,
             force_load_balance=False, model_averaging="average", response_column="y", training_frame=None)
    schema = FrameSchema.fit(df, ["a", "b", "c"], "y", classification=True)
    res = validate(p, response_kind="categorical", n_classes=2, n_rows=n)
    return dd.from_pandas(df, npartitions=4), schema, res


def _trainer(client, schema, res, workers=None):
    layout = driver.make_layout(res, schema)
    cfg = driver.kernel_config(res, schema, layout)
    return driver.Trainer(res, schema, cfg, client, workers=workers), layout


def _placed(client, frame, schema, res):
    """A trainer with ``frame`` placed on the cluster, and the initial network."""
    t, layout = _trainer(client, schema, res)
    t.place(frame)
    net0 = Network(layout)
    net0.initialize(res.initial_weight_distribution, res.initial_weight_scale, res.seed, True)
    return t, net0


async def _in_thread(fn, address):
    def run():
        with Client(address) as c:
            return fn(c)

    return await asyncio.to_thread(run)


@gen_cluster(client=False, nthreads=ONE_THREAD_EACH, timeout=180, clean_kwargs=CLEAN)
async def test_blocks_are_placed_on_their_workers_in_contiguous_runs(s, a, b):
    frame, schema, res = _problem()

    def run(c):
        t, _ = _trainer(c, schema, res)
        t.place(frame)
        return t.assignment, {w: c.who_has(f)[f.key] for w, f in t.data.items()}, t.rows_by_worker, t.n_rows

    assignment, holders, rows, n_rows = await _in_thread(run, s.address)
    workers = sorted([a.address, b.address])
    # contiguous runs of partitions (so that the grouping of rows does not depend on where tasks
    # happened to run), in worker order, half each
    runs = [assignment[w] for w in workers]
    assert sorted(assignment) == workers and runs[0] + runs[1] == list(range(len(runs[0]) + len(runs[1])))
    assert len(runs[0]) == len(runs[1]) >= 2
    assert holders == {w: (w,) for w in workers}  # each block is held by its own worker only
    assert sum(rows.values()) == n_rows == 400


@gen_cluster(client=False, nthreads=ONE_THREAD_EACH, timeout=180, clean_kwargs=CLEAN)
async def test_an_explicit_worker_set_keeps_the_data_on_it(s, a, b):
    frame, schema, res = _problem()

    def run(c):
        t, _ = _trainer(c, schema, res, workers=[b.address])
        t.place(frame)
        gone, _ = _trainer(c, schema, res, workers=["tcp://127.0.0.1:1"])  # not in the cluster: all
        gone.place(frame)
        return t.assignment, {w: c.who_has(f)[f.key] for w, f in t.data.items()}, sorted(gone.assignment)

    assignment, holders, fallback = await _in_thread(run, s.address)
    assert list(assignment) == [b.address] and assignment[b.address] == list(range(len(assignment[b.address])))
    assert holders == {b.address: (b.address,)}
    assert fallback == sorted([a.address, b.address])


@gen_cluster(client=False, nthreads=ONE_THREAD_EACH, timeout=180, clean_kwargs=CLEAN)
async def test_one_iteration_is_the_average_of_the_workers_passes(s, a, b):
    frame, schema, res = _problem()

    def run(c):
        t, net0 = _placed(c, frame, schema, res)
        handle, rows, _ = t.iterate(t.upload(net0.copy()), 1, t.n_rows, 0.0, False)
        got = t.fetch(handle)
        blocks = [c.gather(t.data[w]) for w in t.workers]
        cfg = t.cfg
        t.release()
        return net0, got, rows, blocks, cfg

    net0, got, rows, blocks, cfg = await _in_thread(run, s.address)
    assert isinstance(cfg, KernelConfig)
    # the same passes in this process, combined by the same reduction: the same model
    passes = [train_pass(net0.copy(), blk, cfg, 1, 1.0, 0.0, False, i) for i, blk in enumerate(blocks)]
    want = average_models(combine_models(*passes)).model
    assert rows == sum(p.rows for p in passes) == 400
    np.testing.assert_array_equal(got.W, want.W)
    np.testing.assert_array_equal(got.B, want.B)
    # and it is the plain mean of the two trained copies, not either one
    np.testing.assert_allclose(got.W, (passes[0].net.W + passes[1].net.W) / 2, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(got.W, passes[0].net.W)


@gen_cluster(client=False, nthreads=ONE_THREAD_EACH, timeout=180, clean_kwargs=CLEAN)
async def test_passes_submitted_ahead_take_the_rows_asked_for_last(s, a, b):
    """A pass submitted ahead is given the rows per iteration the client asked for in the call that
    submitted it (with -2, tuned from the iteration before); the call that takes it up reports
    the rows it was given."""
    frame, schema, res = _problem()

    def run(c):
        t, net0 = _placed(c, frame, schema, res)
        m = t.upload(net0)
        seen = []
        samples = 0.0
        for it, ask in enumerate([100, 200, 300, 300], start=1):
            m, done, _ = t.iterate(m, it, ask, samples, False, ahead=it < 4)
            samples += done
            seen.append((t.last_rows, done))
        assert t.pending is None  # the last call submitted nothing ahead
        t.release()
        return seen

    seen = await _in_thread(run, s.address)
    # iteration 1 as asked; 2 was submitted by call 1 with its 100 rows, 3 by call 2 with 200, ...
    assert [r for r, _ in seen] == [100, 100, 200, 300]
    # each worker samples its share of the rows (rounded at random): about the rows it was given
    assert all(abs(d - r) <= 0.15 * r for r, d in seen), seen


def test_kernel_config_is_immutable_and_replicated_data_builds_a_new_one():
    frame, schema, res = _problem()
    layout = driver.make_layout(res, schema)
    cfg = driver.kernel_config(res, schema, layout)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.shuffle = True
    t = driver.Trainer(dataclasses.replace(res, replicate_training_data=True), schema, cfg, client=None)
    t._can_replicate = lambda workers: True
    assert t._replicate(["w1", "w2"])
    assert t._assign(["w1", "w2"], 4) == {"w1": [0, 1, 2, 3], "w2": [0, 1, 2, 3]}
    assert t.cfg.shuffle and not cfg.shuffle and t.cfg is not cfg
