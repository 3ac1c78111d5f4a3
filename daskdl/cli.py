"""The ``daskdl`` command: train from files and score files, for batch and HPC jobs.

::

    daskdl train --train train.csv --y label --factor label --params params.json \\
                 --hidden "[200, 200]" --epochs 10 --scheduler-file scheduler.json --model-dir models/
    daskdl predict --model models/DeepLearning_model_python_1 --data test.csv --output predictions.csv

Every H2O Deep Learning parameter is a flag (``--epochs 10``, ``--hidden "[100, 100]"``,
``--activation RectifierWithDropout``); values are read as JSON when they parse as JSON, else as
text. ``--params`` takes a JSON file of parameters (flags win). The cluster is a scheduler
address (``--scheduler-address``), a scheduler file (``--scheduler-file``, as written by
``dask scheduler`` / dask-mpi / a dask-jobqueue job), a local cluster (``--local-cluster``) or
this process (the default). What is said during training goes to standard error through the
``"daskdl"`` logger.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ._client import init
from .frame import asfactor, import_file
from .io import load_model
from .model.estimator import DeepLearningEstimator
from .params import PARAMS

logger = logging.getLogger("daskdl")

# parameters that name frames or columns: given by the data options instead
_DATA_PARAMS = {"training_frame", "validation_frame", "response_column"}


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _add_cluster_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster (default: train in this process)")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--scheduler-address", metavar="ADDR", help="address of a running Dask scheduler")
    x.add_argument("--scheduler-file", metavar="FILE",
                   help="scheduler file of a running Dask cluster (dask scheduler, dask-mpi, dask-jobqueue)")
    x.add_argument("--local-cluster", action="store_true", help="start a LocalCluster on this machine")
    g.add_argument("--storage-options", metavar="JSON", type=json.loads, default=None,
                   help="fsspec storage options for the input files (JSON), e.g. '{\"anon\": true}'")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="daskdl", description="H2O-3 Deep Learning on Dask: train and score from files.")
    ap.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                    help="level of the daskdl logger (default INFO)")
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from files and save it",
                       description="Train a Deep Learning model with H2O's parameters and save it as a Zarr store.")
    t.add_argument("--train", required=True, metavar="PATH", help="training data (CSV, Parquet, Zarr; any fsspec URL)")
    t.add_argument("--valid", metavar="PATH", help="validation data")
    t.add_argument("--y", metavar="COLUMN", help="response column (omit with --autoencoder true)")
    t.add_argument("--x", metavar="COLUMNS", help="predictor columns, comma separated (default: all others)")
    t.add_argument("--factor", metavar="COLUMNS", default="",
                   help="columns to turn into factors (categoricals), comma separated; the response of a "
                        "classification given as numbers goes here")
    t.add_argument("--params", metavar="FILE", help="JSON file of H2O parameters ({\"epochs\": 10, ...})")
    t.add_argument("--model-dir", metavar="DIR", default=".", help="directory the model is saved into (default .)")
    t.add_argument("--force", action="store_true", help="overwrite a saved model of the same id")
    t.add_argument("--verbose", action="store_true", help="log a line per scoring event")
    h = t.add_argument_group("H2O Deep Learning parameters (JSON or text values)")
    for p in PARAMS:
        if p.name in _DATA_PARAMS:
            continue
        h.add_argument(f"--{p.name}", type=_value, default=argparse.SUPPRESS, metavar="V",
                       help=f"{p.doc} (default {p.default!r})")
    _add_cluster_options(t)

    s = sub.add_parser("predict", help="score a file with a saved model",
                       description="Score a file with a saved model; writes the prediction frame (CSV or Parquet "
                                   "by the output's extension) and, when the file holds the response, logs the "
                                   "metrics.")
    s.add_argument("--model", required=True, metavar="PATH", help="a saved model (daskdl train's output)")
    s.add_argument("--data", required=True, metavar="PATH", help="data to score")
    s.add_argument("--output", required=True, metavar="PATH", help="predictions: .csv (one file) or .parquet")
    s.add_argument("--factor", metavar="COLUMNS", default="", help="columns to turn into factors")
    s.add_argument("--keep", metavar="COLUMNS", default="",
                   help="input columns copied next to the predictions (e.g. an id), comma separated")
    s.add_argument("--metrics", metavar="FILE", help="also write the metrics (JSON) when the response is present")
    _add_cluster_options(s)
    return ap


def _connect(args):
    if args.scheduler_address:
        return init(args.scheduler_address)
    if args.scheduler_file:
        return init(scheduler_file=args.scheduler_file)
    if args.local_cluster:
        return init()
    return None


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _read(path, factors, storage_options):
    frame = import_file(path, storage_options=storage_options)
    present = [c for c in factors if c in frame.columns]
    return asfactor(frame, present) if present else frame


def _train(args) -> int:
    params = {}
    if args.params:
        params.update(json.loads(Path(args.params).read_text()))
    known = {p.name for p in PARAMS}
    unknown = sorted(set(params) - known)
    if unknown:
        raise SystemExit(f"daskdl train: unknown parameter(s) {unknown} in {args.params}; parameters are H2O's "
                         "Deep Learning parameter names")
    for p in PARAMS:
        if p.name in vars(args) and p.name not in _DATA_PARAMS:
            params[p.name] = getattr(args, p.name)
    for k in _DATA_PARAMS:
        params.pop(k, None)
    factors = _columns(args.factor)
    train = _read(args.train, factors, args.storage_options)
    valid = _read(args.valid, factors, args.storage_options) if args.valid else None
    x = _columns(args.x) if args.x else None
    logger.info("training on %s%s with %d parameter(s) set: %s", args.train,
                f" (validation {args.valid})" if args.valid else "", len(params), json.dumps(params, default=str))
    model = DeepLearningEstimator(**params)
    model.train(x=x, y=args.y, training_frame=train, validation_frame=valid, verbose=args.verbose)
    path = model.save(str(args.model_dir), force=args.force)
    logger.info("model %s saved to %s", model.model_id, path)
    summary = {"model_id": model.model_id, "path": str(path)}
    for name in ("logloss", "mse", "rmse", "auc", "classification_error"):
        try:
            v = getattr(model, name)(train=True)
        except Exception:  # a metric the model's kind does not have
            v = None
        if isinstance(v, (int, float)):
            summary[f"training_{name}"] = v
    print(json.dumps(summary))
    return 0


def _predict(args) -> int:
    model = load_model(args.model)
    frame = _read(args.data, _columns(args.factor), args.storage_options)
    pred = model.predict(frame)
    keep = _columns(args.keep)
    if keep:
        missing = [c for c in keep if c not in frame.columns]
        if missing:
            raise SystemExit(f"daskdl predict: --keep names columns {missing} that {args.data} does not have")
        pred = pred.assign(**{c: frame[c] for c in keep})[keep + list(pred.columns)]
    out = str(args.output)
    if out.lower().endswith((".parquet", ".pq")):
        pred.to_parquet(out)
    else:
        pred.to_csv(out, single_file=True, index=False) if hasattr(pred, "dask") else pred.to_csv(out, index=False)
    logger.info("predictions of %s written to %s", model.model_id, out)
    y = model.fit_state.y
    if y is not None and y in frame.columns:
        perf = model.model_performance(frame)
        logger.info("metrics on %s:\n%s", args.data, perf)
        if args.metrics:
            Path(args.metrics).write_text(json.dumps(perf.to_dict(), default=lambda v: None, indent=1))
    elif args.metrics:
        logger.warning("%s has no response column %r: no metrics written", args.data, y)
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("daskdl").setLevel(args.log_level)
    client = _connect(args)
    try:
        return _train(args) if args.command == "train" else _predict(args)
    finally:
        if client is not None:
            if args.local_cluster:
                cluster = client.cluster
                client.close()
                if cluster is not None:
                    cluster.close()
            else:
                client.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
