"""Differential harness: daskdl against the real H2O-3 (the ``h2o`` package and its JVM).

Both sides start from the same weights (H2O's ``initial_weights`` / ``initial_biases``, which
daskdl takes too), train with ``reproducible=True`` on one thread, without shuffling and without
dropout, on small real frames (``/work/shared/data``), and are compared:

* the preprocessed input rows: H2O's DataInfo expansion (column order, one-hot blocks with the
  missing slot, standardization, imputation, unseen levels) is read back through H2O's own
  scoring path with a probe network (hidden layer ``[I; -I]``, zero biases, Rectifier, learning
  rate 0: ``relu(x) - relu(-x) = x``), against daskdl's ``encode_partition`` / ``encode_dense``;
* weights and biases after training (relative difference, see ``rel_diff``) and the predictions.

Row order and random numbers.  H2O with ``reproducible=True`` re-chunks the training frame into
one chunk and visits its rows in order when ``shuffle_training_data=False`` and an iteration is one
pass (``train_samples_per_iteration=-1``, ``epochs=1``): that order is daskdl's too, so both sides
see the same rows in the same order.  Anything that draws random numbers cannot agree (the two
generators differ): dropout masks, row sampling for fractional epochs or real (non 0/1)
observation weights, shuffling.  The harness therefore trains exactly one pass over a frame, and
compares "after 1 row" and "after 10 rows" on frames of 1 and 10 rows: those frames hold the
inputs already expanded by the full frame's preprocessing (checked separately), with
``standardize=False`` and ``ignore_const_cols=False`` so that the few rows' statistics do not
enter.  A frame of a few hundred real rows trains with the full preprocessing.

Command line::

    python benchmarks/h2o_diff.py              # every case, a table of relative differences
    python benchmarks/h2o_diff.py --case tanh  # cases whose name contains "tanh"
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

DATA_DIR = os.environ.get("DASKDL_DATA", os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared", "data"))
TOL = 1e-4  # weights after training: max |a - b| / max |b| per matrix, where both sides are deterministic

# parameters shared by every case (the same dict goes to both libraries)
BASE = dict(reproducible=True, seed=1234, shuffle_training_data=False, epochs=2, input_dropout_ratio=0.0, score_training_samples=0, score_validation_samples=0,
            stopping_rounds=0, export_weights_and_biases=True)


# --------------------------------------------------------------------------------------------- #
# H2O session
# --------------------------------------------------------------------------------------------- #
def java_available() -> bool:
    import shutil

    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def _free_port() -> int:
    """A port p with p and p + 1 free (H2O listens on both), so that this process starts its own
    H2O instead of attaching to one that another process runs on the default port."""
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p > 65000:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
        return p
    raise RuntimeError("no free port pair for H2O")


def start_h2o(nthreads=1):
    """Start a private H2O (one thread, 2 GB heap) on a free port; ``stop_h2o`` shuts it down."""
    import h2o

    with contextlib.redirect_stdout(io.StringIO()):
        h2o.init(ip="127.0.0.1", port=_free_port(), nthreads=nthreads, max_mem_size="2G", verbose=False)
    h2o.no_progress()
    warnings.filterwarnings("ignore", module="h2o")
    return h2o


def stop_h2o():
    import h2o

    with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
        h2o.cluster().shutdown()


def h2o_frame(df: pd.DataFrame, factors=()):
    import h2o

    types = {c: ("enum" if c in factors else "real") for c in df.columns}
    pdf = df.copy()
    for c in factors:  # string levels so that both sides see the same level names
        pdf[c] = pdf[c].astype(object).where(pdf[c].notna(), None)
    return h2o.H2OFrame(pdf, column_types=types, na_strings=[""] * len(pdf.columns))


def daskdl_frame(df: pd.DataFrame, factors=()):
    pdf = df.copy()
    for c in factors:
        pdf[c] = pdf[c].astype("category")
    return pdf


# --------------------------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------------------------- #
def prostate() -> pd.DataFrame:
    df = pd.read_csv(os.path.join(DATA_DIR, "prostate.csv"))
    df["RACE"] = df["RACE"].map({0: "r0", 1: "r1", 2: "r2"})
    df["DPROS"] = df["DPROS"].map(lambda v: f"d{v}")
    df["CAPSULE"] = df["CAPSULE"].map({0: "no", 1: "yes"})
    return df.drop(columns=["ID"])


def adult(n=300) -> pd.DataFrame:
    df = pd.read_csv(os.path.join(DATA_DIR, "adult.csv.gz"), na_values="?", skipinitialspace=True)
    return df.iloc[16281:16281 + n].reset_index(drop=True)


def airlines(n=300) -> pd.DataFrame:
    df = pd.read_csv(os.path.join(DATA_DIR, "airlines_train.csv.gz"), nrows=n)
    return df


def iris() -> pd.DataFrame:
    return pd.read_csv(os.path.join(DATA_DIR, "iris.csv")).rename(columns={"Species": "class"})


def diabetes(n=300) -> pd.DataFrame:
    return pd.read_csv(os.path.join(DATA_DIR, "sklearn_diabetes.csv.gz")).iloc[:n].reset_index(drop=True)


def covtype_like(n=20000, seed=0, run_length=300):
    """A generated 7-class table shaped like forest-cover data: 10 integer columns with ranges up
    to about 7,000 and 44 0/1 indicator columns (4 one-hot "area" columns, 40 one-hot "soil"
    columns, several very rare and some never set), imbalanced classes, and rows ordered as such
    files are, in long runs of neighbouring records (mostly one class per run). Returns a frame
    with response ``Cover_Type`` (labels 1..7)."""
    rng = np.random.default_rng(seed)
    prior = np.array([0.36, 0.49, 0.06, 0.005, 0.016, 0.03, 0.035])
    prior = prior / prior.sum()
    # class of each run, run lengths geometric around ``run_length``
    labels = []
    while len(labels) < n:
        k = rng.choice(7, p=prior)
        labels += [k] * int(rng.geometric(1.0 / run_length))
    y = np.array(labels[:n])
    noise = rng.random(n) < 0.15  # a share of rows inside a run belongs to another class
    y[noise] = rng.choice(7, size=int(noise.sum()), p=prior)
    elev_mu = np.array([3150, 2950, 2400, 2200, 2750, 2450, 3350])
    cols = {}
    cols["Elevation"] = np.round(rng.normal(elev_mu[y], 160)).astype(int)
    cols["Aspect"] = np.round(rng.uniform(0, 360, n) + 40 * (y == 2)).astype(int) % 360
    cols["Slope"] = np.clip(np.round(rng.gamma(3 + (y == 2) + 2 * (y == 5), 4.5, n)), 0, 66).astype(int)
    cols["Horizontal_Distance_To_Hydrology"] = np.round(rng.gamma(1.5, 180 + 40 * (y == 0), n)).astype(int)
    cols["Vertical_Distance_To_Hydrology"] = np.round(rng.normal(45 - 10 * (y == 3), 55, n)).astype(int)
    cols["Horizontal_Distance_To_Roadways"] = np.clip(np.round(rng.gamma(2.0, 1100 + 600 * (y == 0), n)),
                                                      0, 7100).astype(int)
    cols["Hillshade_9am"] = np.clip(np.round(rng.normal(212 + 8 * (y == 2), 27, n)), 0, 255).astype(int)
    cols["Hillshade_Noon"] = np.clip(np.round(rng.normal(223 - 6 * (y == 5), 20, n)), 0, 255).astype(int)
    cols["Hillshade_3pm"] = np.clip(np.round(rng.normal(142, 38, n)), 0, 255).astype(int)
    cols["Horizontal_Distance_To_Fire_Points"] = np.clip(np.round(rng.gamma(2.0, 1000 + 500 * (y == 1), n)),
                                                         0, 7100).astype(int)
    area_p = np.array([[.55, .05, .38, .02], [.45, .05, .40, .10], [0, 0, .10, .90], [0, 0, 0, 1.],
                       [.40, 0, .60, 0], [0, 0, .30, .70], [.30, .10, .60, 0]])
    area = np.array([rng.choice(4, p=area_p[k]) for k in y])
    for a in range(4):
        cols[f"Wilderness_Area{a + 1}"] = (area == a).astype(int)
    # soil types: a class-specific profile over 40 types, several rare, two never used
    base = rng.dirichlet(np.full(40, 0.3), size=7)
    base[:, [6, 14]] = 0.0  # never set -> constant columns
    base[:, [7, 8, 24, 27, 35]] *= 0.002  # very rare
    base /= base.sum(axis=1, keepdims=True)
    u = rng.random(n)
    soil = (u[:, None] > np.cumsum(base[y], axis=1)).sum(axis=1).clip(0, 39)
    for s_ in range(40):
        cols[f"Soil_Type{s_ + 1}"] = (soil == s_).astype(int)
    df = pd.DataFrame(cols)
    df["Cover_Type"] = (y + 1).astype(str)
    return df


def factor_columns(df):
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c].dtype)]


# --------------------------------------------------------------------------------------------- #
# Comparisons
# --------------------------------------------------------------------------------------------- #
def rel_diff(a, b, scale=None) -> float:
    """max |a - b| / max |b| (b the H2O side; biases: over the larger of the layer's largest bias
    and largest weight, since output biases start at 0 and stay small); 0 when both are zero."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: daskdl {a.shape} vs H2O {b.shape}")
    if scale is None:
        scale = float(np.abs(b).max()) if b.size else 0.0
    d = float(np.abs(a - b).max()) if b.size else 0.0
    return d / scale if scale > 0 else d


def h2o_inputs(hf, x, y=None, autoencoder=False, score=None, **kw):
    """H2O's expanded (preprocessed) input rows of ``score`` (default ``hf``) with the DataInfo
    fitted on ``hf``, read through H2O's scoring path, and the coefficient names; see the module
    docstring for the probe network."""
    from h2o.estimators import H2ODeepLearningEstimator

    yy = None if autoencoder else y
    probe = H2ODeepLearningEstimator(hidden=[1], epochs=1, reproducible=True, seed=1,
                                     export_weights_and_biases=True, autoencoder=autoencoder, **kw)
    probe.train(x=x, y=yy, training_frame=hf)
    names = list(probe.weights(0).columns)
    n_in = len(names)
    n_out = probe.weights(1).shape[0]
    eye = np.eye(n_in)
    iw, ib = _h2o_matrices([np.vstack([eye, -eye]), np.zeros((n_out, 2 * n_in))],
                           [np.zeros((2 * n_in, 1)), np.zeros((n_out, 1))])
    m = H2ODeepLearningEstimator(hidden=[2 * n_in], activation="Rectifier", epochs=1, reproducible=True, seed=1,
                                 adaptive_rate=False, rate=0.0, momentum_start=0.0, momentum_stable=0.0,
                                 autoencoder=autoencoder, initial_weights=iw, initial_biases=ib, **kw)
    m.train(x=x, y=yy, training_frame=hf)
    f = m.deepfeatures(hf if score is None else score, 0).as_data_frame().to_numpy(np.float64)
    return f[:, :n_in] - f[:, n_in:], names


def daskdl_inputs(train_df, score_df, x, y=None, autoencoder=False, **kw):
    """daskdl's expanded input rows of ``score_df`` with the schema fitted on ``train_df``."""
    from daskdl.frame.encode import encode_dense, encode_partition
    from daskdl.frame.schema import FrameSchema

    schema = FrameSchema.fit(train_df, x, None if autoencoder else y, autoencoder=autoencoder,
                             classification=None if autoencoder else isinstance(train_df[y].dtype, pd.CategoricalDtype), **kw)
    blk = encode_partition(score_df, schema, training=False, standardize_response=False)
    return encode_dense(blk, schema).astype(np.float64), list(schema.coef_names), schema


def _h2o_matrices(ws, bs):
    import h2o

    return ([h2o.H2OFrame(np.asarray(w, np.float64)) for w in ws],
            [h2o.H2OFrame(np.asarray(b, np.float64).reshape(-1, 1)) for b in bs])


def random_start(units, activation, classification, seed, maxout=False):
    """H2O's UniformAdaptive starting weights and default biases (spec 2) as numpy arrays, in H2O's
    layout (Maxout: the (2 * units, fan-in) matrix whose flat buffer is [unit][input][channel])."""
    rng = np.random.default_rng(seed)
    L = len(units) - 1
    ws, bs = [], []
    for l in range(1, L + 1):
        k = 2 if (maxout and l < L) else 1
        r = np.sqrt(6.0 / (units[l - 1] + units[l])) * (4.0 if (l == L and classification) else 1.0)
        ws.append(rng.uniform(-r, r, size=(k * units[l], units[l - 1])).astype(np.float32).astype(np.float64))
        if l < L and activation.startswith(("Rectifier", "Maxout")):
            bs.append(np.full(k * units[l], 0.5 if l == 1 else 1.0))
        else:
            bs.append(np.zeros(k * units[l]))
    return ws, bs


def train_h2o(hf, x, y, params, ws, bs):
    from h2o.estimators import H2ODeepLearningEstimator

    iw, ib = _h2o_matrices(ws, bs)
    p = {k: v for k, v in params.items() if k not in ("weights_column", "offset_column")}
    m = H2ODeepLearningEstimator(initial_weights=iw, initial_biases=ib, **p)
    kw = {k: params[k] for k in ("weights_column", "offset_column") if k in params}
    m.train(x=x, y=None if params.get("autoencoder") else y, training_frame=hf, **kw)
    L = len(ws)
    W = [m.weights(i).as_data_frame().to_numpy(np.float64) for i in range(L)]
    B = [m.biases(i).as_data_frame().to_numpy(np.float64)[:, 0] for i in range(L)]
    pred = m.predict(hf).as_data_frame()
    return W, B, pred, m


def train_daskdl(df, x, y, params, ws, bs):
    import daskdl

    p = {k: v for k, v in params.items() if k not in ("weights_column", "offset_column")}
    m = daskdl.DeepLearningEstimator(initial_weights=ws, initial_biases=bs, **p)
    kw = {k: params[k] for k in ("weights_column", "offset_column") if k in params}
    # in this process with one thread, as H2O: not on a Dask client that may be the default one
    m.train(x=x, y=None if params.get("autoencoder") else y, training_frame=df, client=False, **kw)
    L = len(ws)
    W = [m.weights(i).to_numpy(np.float64) for i in range(L)]
    B = [m.biases(i).to_numpy(np.float64)[:, 0] for i in range(L)]
    if params.get("activation", "").startswith("Maxout"):
        W = [to_h2o_maxout(w) if i < L - 1 else w for i, w in enumerate(W)]
    pred = m.predict(df)
    return W, B, pred, m


def to_h2o_maxout(w):
    """daskdl's Maxout rows (channel q of unit r in row 2r+q) -> H2O's buffer layout."""
    rows, cols = w.shape
    return w.reshape(rows // 2, 2, cols).transpose(0, 2, 1).reshape(rows, cols)


def prediction_values(pred: pd.DataFrame, autoencoder: bool, classification: bool) -> np.ndarray:
    if autoencoder or not classification:
        cols = [c for c in pred.columns if c != "predict"] if autoencoder else ["predict"]
    else:
        cols = [c for c in pred.columns if c != "predict"]
    return pred[cols].to_numpy(np.float64)


# --------------------------------------------------------------------------------------------- #
# Cases
# --------------------------------------------------------------------------------------------- #
def _case(name, data, y, params=None, hidden=(5,), rows=None, x=None, exact=True, note=""):
    return dict(name=name, data=data, y=y, params=dict(params or {}), hidden=list(hidden), rows=rows, x=x,
                exact=exact, note=note)


CASES = [
    # activations (prostate: 2 categoricals, numerics, binomial)
    _case("tanh", prostate, "CAPSULE", dict(activation="Tanh", distribution="bernoulli")),
    _case("rectifier", prostate, "CAPSULE", dict(activation="Rectifier")),
    _case("maxout", prostate, "CAPSULE", dict(activation="Maxout")),
    _case("rectifier_2layers", prostate, "CAPSULE", dict(activation="Rectifier"), hidden=(6, 4)),
    # distributions
    _case("multinomial", iris, "class", dict(activation="Tanh", distribution="multinomial")),
    _case("gaussian", diabetes, "target", dict(activation="Tanh", distribution="gaussian")),
    _case("poisson", diabetes, "target", dict(activation="Tanh", distribution="poisson")),
    _case("gamma", diabetes, "target", dict(activation="Tanh", distribution="gamma")),
    _case("tweedie", diabetes, "target", dict(activation="Tanh", distribution="tweedie", tweedie_power=1.5)),
    _case("laplace", diabetes, "target", dict(activation="Tanh", distribution="laplace")),
    _case("quantile", diabetes, "target", dict(activation="Tanh", distribution="quantile", quantile_alpha=0.3)),
    _case("huber", diabetes, "target", dict(activation="Tanh", distribution="huber", huber_alpha=0.9)),
    # optimizers
    _case("manual_momentum", prostate, "CAPSULE",
          dict(activation="Tanh", adaptive_rate=False, rate=0.01, momentum_start=0.5, momentum_stable=0.5,
               nesterov_accelerated_gradient=False)),
    _case("manual_momentum_ramp", prostate, "CAPSULE",
          dict(activation="Tanh", adaptive_rate=False, rate=0.01, momentum_start=0.5, momentum_ramp=1e9,
               momentum_stable=0.9, nesterov_accelerated_gradient=False),
          note="H2O never advances the ramp (uses start - (stable-start)/ramp); a 1e9-row ramp keeps both at start"),
    _case("nesterov", prostate, "CAPSULE",
          dict(activation="Tanh", adaptive_rate=False, rate=0.01, momentum_start=0.5, momentum_stable=0.5,
               nesterov_accelerated_gradient=True)),
    _case("annealing_decay", prostate, "CAPSULE",
          dict(activation="Tanh", adaptive_rate=False, rate=0.01, rate_annealing=1e-3, rate_decay=0.5),
          hidden=(5, 4)),
    # regularization
    _case("l1_l2", prostate, "CAPSULE", dict(activation="Rectifier", l1=1e-3, l2=1e-3)),
    _case("max_w2", prostate, "CAPSULE", dict(activation="Tanh", max_w2=0.5)),
    # categoricals with missing values and unseen levels, real data
    _case("adult_categoricals", adult, "income", dict(activation="Rectifier"), hidden=(8,)),
    _case("airlines_categoricals", airlines, "IsDepDelayed", dict(activation="Tanh"), hidden=(8,)),
    # 0/1 weights (H2O treats binary weights as a row filter, no sampling) and an offset
    _case("weights01", prostate, "CAPSULE", dict(activation="Tanh", weights_column="W")),
    _case("offset", diabetes, "target", dict(activation="Tanh", distribution="poisson", offset_column="OFF")),
    # autoencoder
    _case("autoencoder", prostate, None, dict(activation="Tanh", autoencoder=True)),
    # one row and ten rows (inputs expanded beforehand, see the module docstring)
    _case("rows1_gaussian", diabetes, "target", dict(activation="Rectifier", distribution="gaussian"), rows=1),
    _case("rows10_binomial", prostate, "CAPSULE", dict(activation="Tanh"), rows=10),
    _case("rows10_multinomial", iris, "class", dict(activation="Rectifier"), rows=10),
]


def _prepare(case):
    df = case["data"]()
    y = case["y"]
    p = dict(BASE)
    p.update(case["params"])
    p["hidden"] = case["hidden"]
    if "weights_column" in p:
        df = df.copy()
        df["W"] = (np.arange(len(df)) % 3 != 0).astype(np.float64)
    if "offset_column" in p:
        df = df.copy()
        df["OFF"] = np.log1p(np.arange(len(df)) % 5) * 0.1
    factors = factor_columns(df)
    x = case["x"] or [c for c in df.columns if c not in (y, "W", "OFF")]
    if case["rows"]:
        # expand with the full frame's preprocessing, then keep the first rows
        dfd = daskdl_frame(df, factors)
        X, names, schema = daskdl_inputs(dfd, dfd, x, y, autoencoder=bool(p.get("autoencoder")))
        k = case["rows"]
        # the first k rows, or k rows spread over the frame (every class present)
        idx = np.arange(k) if y not in factors else np.linspace(0, len(df) - 1, k).round().astype(int)
        dense = pd.DataFrame(X[idx], columns=[f"c{i}" for i in range(X.shape[1])])
        if y is not None:
            dense[y] = df[y].iloc[idx].to_numpy()
        if k == 1:  # one trained row: a second row with weight 0 keeps the response non-constant
            dense = pd.DataFrame(X[:2], columns=dense.columns[:X.shape[1]])
            if y is not None:
                dense[y] = df[y].iloc[:2].to_numpy()
            dense["W"] = [1.0, 0.0]
            p["weights_column"] = "W"
        df = dense
        x = [f"c{i}" for i in range(X.shape[1])]
        factors = [y] if y in factors else []
        p.update(standardize=False, ignore_const_cols=False)
    return df, x, y, factors, p


def run_case(case, verbose=False) -> dict:
    """Train one case on both sides from the same start; the relative differences."""
    df, x, y, factors, p = _prepare(case)
    # one iteration of two ordered passes (see the module docstring: with one pass per iteration
    # on one chunk H2O switches shuffling on)
    p["train_samples_per_iteration"] = 2 * len(df)
    p_h, p_d = dict(p), dict(p)
    if "weights_column" in p:
        # H2O counts epochs over the rows of nonzero weight but takes an iteration's fraction of
        # all rows, and limits the rows per iteration to epochs x nonzero rows: an iteration of two
        # ordered passes needs epochs >= 2 * rows / nonzero rows, and H2O then runs
        # ceil(rows / nonzero rows) such iterations
        n1 = int((df[p["weights_column"]] != 0).sum())
        p_h["epochs"] = 2.0 * len(df) / n1
        p_d.update(epochs=2 * int(np.ceil(len(df) / n1)), train_samples_per_iteration=2 * n1)
    ae = bool(p.get("autoencoder"))
    classification = (y is not None) and (y in factors)
    hf = h2o_frame(df, factors)
    dfd = daskdl_frame(df, factors)
    # input width and classes from daskdl's schema (compared with H2O's coefficient names below)
    fit_kw = {k: p[k] for k in ("standardize", "ignore_const_cols") if k in p}
    if "weights_column" in p:
        fit_kw["weights_column"] = p["weights_column"]
    Xd, names_d, schema = daskdl_inputs(dfd, dfd, x, y, autoencoder=ae, **fit_kw)
    n_in = Xd.shape[1]
    n_out = n_in if ae else (schema.n_classes if classification else 1)
    units = [n_in] + list(case["hidden"]) + [n_out]
    maxout = p.get("activation", "").startswith("Maxout")
    ws, bs = random_start(units, p.get("activation", "Rectifier"), classification, 7, maxout)
    t0 = time.perf_counter()
    Wh, Bh, ph, mh = train_h2o(hf, x, y, p_h, ws, bs)
    t1 = time.perf_counter()
    Wd, Bd, pd_, md = train_daskdl(dfd, x, y, p_d, ws, bs)  # daskdl takes H2O's Maxout layout too
    t2 = time.perf_counter()
    out = {"case": case["name"], "rows": len(df), "n_in": n_in, "h2o_s": round(t1 - t0, 2),
           "daskdl_s": round(t2 - t1, 2)}
    names_h = list(mh.weights(0).columns)
    out["names_equal"] = len(names_h) == len(names_d)
    for l in range(len(Wh)):
        out[f"W{l + 1}"] = rel_diff(Wd[l], Wh[l])
        out[f"b{l + 1}"] = rel_diff(Bd[l], Bh[l], scale=max(np.abs(Bh[l]).max(), np.abs(Wh[l]).max()))
        out[f"W{l + 1}_moved"] = rel_diff(Wh[l], ws[l])  # how far H2O's weights moved from the start
    out["pred"] = rel_diff(prediction_values(pd_, ae, classification), prediction_values(ph, ae, classification))
    out["max_w"] = max(max(out[f"W{l + 1}"], out[f"b{l + 1}"]) for l in range(len(Wh)))
    out["exact"] = case["exact"]
    out["note"] = case["note"]
    return out


def dropout_scoring(activation="RectifierWithDropout", epochs=5) -> dict:
    """Test-time dropout, from identical weights: H2O trains with input and hidden dropout (masks
    from its own generator), then daskdl scores with H2O's trained weights and biases
    (``initial_weights`` / ``initial_biases``, ``epochs=0``, the same parameters) and must predict
    what H2O predicts: hidden activations scaled by ``1 - ratio``, inputs not scaled (H2O builds
    no input dropout for scoring)."""
    df = prostate()
    y = "CAPSULE"
    factors = factor_columns(df)
    x = [c for c in df.columns if c != y]
    p = dict(BASE, activation=activation, hidden=[8, 6], input_dropout_ratio=0.2, hidden_dropout_ratios=[0.5, 0.3],
             epochs=epochs)
    hf = h2o_frame(df, factors)
    dfd = daskdl_frame(df, factors)
    Xd, _, schema = daskdl_inputs(dfd, dfd, x, y)
    units = [Xd.shape[1], 8, 6, schema.n_classes]
    ws, bs = random_start(units, activation, True, 7, activation.startswith("Maxout"))
    Wh, Bh, ph, _ = train_h2o(hf, x, y, p, ws, bs)
    Wd, Bd, pd_, _ = train_daskdl(dfd, x, y, dict(p, epochs=0), Wh, Bh)
    out = {"case": f"dropout_scoring_{activation}",
           "pred": rel_diff(prediction_values(pd_, False, True), prediction_values(ph, False, True)),
           "W_kept": max(rel_diff(a, b) for a, b in zip(Wd, Wh)),
           "W_moved": min(rel_diff(a, b) for a, b in zip(Wh, ws))}
    # without the scaling, daskdl's predictions would differ by this much (the check is not vacuous)
    Wd2, Bd2, pd2, _ = train_daskdl(dfd, x, y, dict(p, epochs=0, activation=activation.replace("WithDropout", ""),
                                                     hidden_dropout_ratios=None), Wh, Bh)
    out["pred_unscaled"] = rel_diff(prediction_values(pd2, False, True), prediction_values(ph, False, True))
    return out


def to_daskdl_maxout(w):
    """H2O's Maxout weight matrix (buffer [unit][input][channel]) -> daskdl rows 2r+q."""
    rows, cols = w.shape
    return w.reshape(rows // 2, cols, 2).transpose(0, 2, 1).reshape(rows, cols)


def compare_inputs(df, x, y, factors, score_df=None, **kw):
    """Expanded rows of ``score_df`` (default: ``df``) with the preprocessing fitted on ``df``, on
    both sides: (relative difference, daskdl names, H2O names, daskdl rows, H2O rows)."""
    score_df = df if score_df is None else score_df
    ae = y is None
    sf = [c for c in factors if c in score_df.columns]
    hf = h2o_frame(df, factors)
    Xh, names_h = h2o_inputs(hf, x, y, autoencoder=ae, score=None if score_df is df else h2o_frame(score_df, sf),
                             **kw)
    Xd, names_d, _ = daskdl_inputs(daskdl_frame(df, factors), daskdl_frame(score_df, sf), x, y, autoencoder=ae, **kw)
    return rel_diff(Xd, Xh), names_d, names_h, Xd, Xh


# --------------------------------------------------------------------------------------------- #
# Statistics over seeds (both libraries, default parameters, one invocation)
# --------------------------------------------------------------------------------------------- #
def stats_cases(mnist_rows=20000):
    """name -> (train, test, x, y, factors, params, metric).

    prostate, airlines and adult train H2O's default net (Rectifier [200, 200], 10 epochs);
    ``*_2ep`` variants train the same net for 2 epochs and ``*_small`` variants [50, 50]
    (prostate 50 epochs, airlines / adult 2 epochs), lighter for a shared machine. mnist: the booklet net, 3 epochs, the first ``mnist_rows`` rows."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_h2o import load_case

    out = {}
    cov = covtype_like(20000, seed=0)
    test = np.random.default_rng(1).random(len(cov)) < 0.2
    out["covtype_like"] = (cov[~test].reset_index(drop=True), cov[test].reset_index(drop=True),
                           [c for c in cov.columns if c != "Cover_Type"], "Cover_Type", ["Cover_Type"],
                           dict(epochs=10), "error")
    # the same rows in random order (control: no runs of one class)
    tr = out["covtype_like"][0]
    out["covtype_like_permuted"] = (tr.sample(frac=1.0, random_state=5).reset_index(drop=True),) + \
        out["covtype_like"][1:]
    for name, small in (("prostate", dict(hidden=[50, 50], epochs=50)), ("airlines", dict(hidden=[50, 50], epochs=2)),
                        ("adult", dict(hidden=[50, 50], epochs=2))):
        c = load_case(name)
        params = dict(c["params"])
        params.pop("seed", None)
        out[name] = (c["train"], c["test"], c["x"], c["y"], c["factors"],
                     dict(params, hidden=[200, 200], epochs=10), "auc")
        out[name + "_small"] = out[name][:5] + (dict(params, **small), "auc")
        out[name + "_2ep"] = out[name][:5] + (dict(params, hidden=[200, 200], epochs=2), "auc")
    c = load_case("mnist")
    params = dict(c["params"], epochs=3)
    out["mnist"] = (c["train"].iloc[:mnist_rows].reset_index(drop=True), c["test"], c["x"], c["y"], c["factors"],
                    params, "error")
    return out


def _metric_h2o(m, test, y, factors, metric):
    hf = h2o_frame(test, factors)
    perf = m.model_performance(hf)
    if metric == "auc":
        return float(perf.auc())
    pred = m.predict(hf).as_data_frame()["predict"].astype(str).to_numpy()
    return float((pred != test[y].astype(str).to_numpy()).mean())


def _metric_daskdl(m, test, y, factors, metric):
    td = daskdl_frame(test, factors)
    if metric == "auc":
        return float(m.model_performance(td).auc())
    pred = m.predict(td)["predict"].astype(str).to_numpy()
    return float((pred != test[y].astype(str).to_numpy()).mean())


LIB_EXTRA = {"h2o": {}, "daskdl": {}, "daskdl_shuffle": {"shuffle_training_data": True}}


def seed_stats(names, seeds, out_path, mnist_rows=20000, libs=("h2o", "daskdl")):
    """Train every lib of ``libs`` (H2O, daskdl, daskdl with shuffle_training_data=True) on every case
    and seed; one JSON line per run in ``out_path``."""
    import json

    import daskdl
    from h2o.estimators import H2ODeepLearningEstimator

    cases = stats_cases(mnist_rows)
    for name in names:
        train, test, x, y, factors, params, metric = cases[name]
        htr = h2o_frame(train, factors)
        dtr = daskdl_frame(train, factors)
        for seed in seeds:
            for lib, extra in ((lib, LIB_EXTRA[lib]) for lib in libs):
                t0 = time.perf_counter()
                if lib == "h2o":
                    m = H2ODeepLearningEstimator(seed=seed, **params)
                    m.train(x=x, y=y, training_frame=htr)
                    v = _metric_h2o(m, test, y, factors, metric)
                    h2o_remove_all_but(htr)
                else:
                    m = daskdl.DeepLearningEstimator(seed=seed, **params, **extra)
                    m.train(x=x, y=y, training_frame=dtr)
                    v = _metric_daskdl(m, test, y, factors, metric)
                rec = dict(case=name, lib=lib, seed=seed, metric=metric, value=v,
                           seconds=round(time.perf_counter() - t0, 1), n_train=len(train), n_test=len(test),
                           params=params)
                with open(out_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(json.dumps(rec), flush=True)


def mnist_booklet(runs, out_path, with_h2o=False, epochs=10, libs=("daskdl",), first_seed=1):
    """The booklet's MNIST trial run (784-200-200-200-10, RectifierWithDropout, input dropout 0.2,
    l1 1e-5) ``runs`` times (seeds ``first_seed``, ``first_seed + 1``, ...) for each daskdl variant
    of ``libs`` (daskdl, daskdl_shuffle: with shuffle_training_data=True) and, with ``with_h2o``,
    H2O; test error per run as JSON lines in ``out_path``."""
    import json

    import daskdl
    from bench_h2o import load_case

    c = load_case("mnist")
    params = dict(c["params"], epochs=epochs)
    train, test, x, y, factors = c["train"], c["test"], c["x"], c["y"], c["factors"]
    libs = [(lib, extra) for lib, extra in (("daskdl", {}), ("daskdl_shuffle", {"shuffle_training_data": True}))
            if lib in libs]
    if with_h2o:
        libs.insert(0, ("h2o", {}))
        htr = h2o_frame(train, factors)
    dtr = daskdl_frame(train, factors)
    for run in range(first_seed, first_seed + runs):
        for lib, extra in libs:
            t0 = time.perf_counter()
            if lib == "h2o":
                from h2o.estimators import H2ODeepLearningEstimator

                m = H2ODeepLearningEstimator(seed=run, **params)
                m.train(x=x, y=y, training_frame=htr)
                v = _metric_h2o(m, test, y, factors, "error")
                h2o_remove_all_but(htr)
            else:
                m = daskdl.DeepLearningEstimator(seed=run, **params, **extra)
                m.train(x=x, y=y, training_frame=dtr)
                v = _metric_daskdl(m, test, y, factors, "error")
            rec = dict(case=f"mnist_booklet_{epochs}ep", lib=lib, seed=run, metric="error", value=v,
                       seconds=round(time.perf_counter() - t0, 1), n_train=len(train), n_test=len(test),
                       params=params)
            with open(out_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(json.dumps(rec), flush=True)


def h2o_remove_all_but(*keep):
    import h2o

    ids = {f.frame_id for f in keep}
    for k in h2o.ls()["key"]:
        if k not in ids:
            with contextlib.suppress(Exception):
                h2o.remove(k)


def stats_table(path) -> str:
    """Markdown table (mean ± sd over seeds) of a seed_stats JSON-lines file."""
    import json

    recs = [json.loads(line) for line in open(path) if line.strip()]
    df = pd.DataFrame(recs)
    libs = [lib for lib in ("h2o", "daskdl", "daskdl_shuffle") if (df["lib"] == lib).any()]
    heads = {"h2o": "H2O", "daskdl": "daskdl", "daskdl_shuffle": "daskdl shuffled"}
    rows = ["| data set | metric | " + " | ".join(f"{heads[lib]} mean ± sd" for lib in libs) + " | seeds |",
            "|---|---|" + "---|" * len(libs) + "---|"]
    for name in dict.fromkeys(df["case"]):
        d = df[df["case"] == name]
        cells = []
        for lib in libs:
            v = d[d["lib"] == lib]["value"]
            cells.append(f"{v.mean():.4f} ± {v.std(ddof=1):.4f} (n={len(v)})" if len(v) > 1 else
                         (f"{v.mean():.4f} (n=1)" if len(v) else "—"))
        rows.append(f"| {name} | {d['metric'].iloc[0]} | " + " | ".join(cells) +
                    f" | {sorted(set(d['seed']))} |")
    return "\n".join(rows)


def booklet_table(*paths) -> str:
    """Markdown table (runs and their median) of --mnist-booklet JSON-lines files."""
    import json

    recs = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    df = pd.DataFrame(recs)
    rows = ["| library | test error, runs (seed: error) | median |", "|---|---|---:|"]
    for lib in dict.fromkeys(df["lib"]):
        d = df[df["lib"] == lib].sort_values("seed")
        runs = ", ".join(f"{s}: {100 * v:.2f} %" for s, v in zip(d["seed"], d["value"]))
        rows.append(f"| {lib} | {runs} | {100 * d['value'].median():.2f} % |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", default="", help="run the cases whose name contains this text")
    ap.add_argument("--stats", default=None,
                    help="comma-separated data sets (covtype_like,prostate,airlines,adult,mnist): test metric "
                         "over seeds for H2O and daskdl instead of the differential cases")
    ap.add_argument("--seeds", default="1,2,3,4,5", help="--stats: the seeds; --mnist-booklet: the first seed")
    ap.add_argument("--out", default="benchmarks/results/h2o_seed_stats.jsonl")
    ap.add_argument("--threads", type=int, default=2, help="H2O threads for --stats (the cases use 1)")
    ap.add_argument("--mnist-rows", type=int, default=20000)
    ap.add_argument("--table", action="store_true", help="print the table of --out and exit")
    ap.add_argument("--booklet-table", action="store_true",
                    help="print the runs and medians of --out (comma-separated --mnist-booklet files) and exit")
    ap.add_argument("--mnist-booklet", type=int, default=0,
                    help="N runs of the booklet MNIST trial run (daskdl in file order and shuffled)")
    ap.add_argument("--with-h2o", action="store_true", help="--mnist-booklet: H2O too")
    ap.add_argument("--libs", default=None,
                    help="libraries to run (h2o, daskdl, daskdl_shuffle); --stats: default h2o,daskdl; "
                         "--mnist-booklet: default daskdl (H2O with --with-h2o)")
    ap.add_argument("--epochs", type=float, default=10)
    ap.add_argument("--json", default=None, help="write the cases' differences to this JSON file")
    args = ap.parse_args(argv)
    if args.mnist_booklet:
        libs = (args.libs or "daskdl").split(",")
        with_h2o = args.with_h2o or "h2o" in libs
        if with_h2o:
            start_h2o(nthreads=args.threads)
        try:
            mnist_booklet(args.mnist_booklet, args.out, with_h2o, args.epochs, libs, int(args.seeds.split(",")[0]))
        finally:
            if with_h2o:
                stop_h2o()
        print(stats_table(args.out))
        return None
    if args.booklet_table:
        print(booklet_table(*args.out.split(",")))
        return None
    if args.table:
        print(stats_table(args.out))
        return None
    if args.stats:
        start_h2o(nthreads=args.threads)
        try:
            seed_stats(args.stats.split(","), [int(s) for s in args.seeds.split(",")], args.out, args.mnist_rows,
                       (args.libs or "h2o,daskdl").split(","))
        finally:
            stop_h2o()
        print(stats_table(args.out))
        return None
    start_h2o()
    try:
        rows = []
        json_out = args.json
        for case in CASES:
            if args.case not in case["name"]:
                continue
            try:
                r = run_case(case)
            except Exception as e:  # report and go on
                r = {"case": case["name"], "error": f"{type(e).__name__}: {e}"[:300]}
            rows.append(r)
            keys = [k for k in r if k.startswith(("W", "b")) and not k.endswith("moved")] + ["pred"]
            print(f"{r['case']:24s} " + ("  ".join(f"{k}={r[k]:.2e}" for k in keys if k in r)
                                        if "error" not in r else r["error"]), flush=True)
        if json_out:
            import json

            with open(json_out, "w") as f:
                json.dump(rows, f, indent=1)
        return rows
    finally:
        stop_h2o()


if __name__ == "__main__":
    main(sys.argv[1:])
