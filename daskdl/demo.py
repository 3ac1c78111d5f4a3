"""The booklet's MNIST trial run on a local Dask cluster.

    python -m daskdl.demo [--epochs 10] [--mini-batch-size 1] [--workers 1]

Trains H2O's booklet network (784-200-200-200-10, RectifierWithDropout, input
dropout 0.2, l1 1e-5) on the bundled MNIST training set with the test set as
validation frame, then prints the test error, timings and the model.
"""
from __future__ import annotations

import argparse
import time

import daskdl
from daskdl.datasets import mnist


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=float, default=10.0)
    ap.add_argument("--mini-batch-size", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="worker processes (threads split between them)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)

    client = daskdl.init(n_workers=a.workers)
    print(f"Dask cluster: {client}")
    train, test = mnist("train"), mnist("test", npartitions=2)
    x, y = [f"C{i + 1}" for i in range(784)], "C785"
    model = daskdl.DeepLearningEstimator(
        distribution="multinomial", activation="RectifierWithDropout", hidden=[200, 200, 200],
        input_dropout_ratio=0.2, l1=1e-5, epochs=a.epochs, mini_batch_size=a.mini_batch_size, seed=a.seed)
    t0 = time.time()
    model.train(x=x, y=y, training_frame=train, validation_frame=test, verbose=not a.quiet)
    t_train = time.time() - t0
    t0 = time.time()
    pred = model.predict(test).compute()
    t_pred = time.time() - t0
    truth = test[y].compute().astype(int).to_numpy()
    err = float((pred["predict"].astype(int).to_numpy() != truth).mean())
    samples = model.fit_state.samples
    print(model)
    print()
    print(f"MNIST test error: {100 * err:.2f} %  (epochs {model.fit_state.epochs:.2f})")
    print(f"train time: {t_train:.1f} s  ({samples / t_train:,.0f} samples/s end to end)")
    print(f"predict: {len(pred):,} rows in {t_pred:.2f} s  ({len(pred) / t_pred:,.0f} rows/s)")
    client.close()
    return err


if __name__ == "__main__":
    main()
