"""Hyper-parameter grid search (Cartesian / RandomDiscrete)."""
import numpy as np
import pytest

from daskdl import DeepLearningEstimator, GridSearch

BOOKLET = {"hidden": [[20, 20], [50, 50]], "l1": [1e-5, 1e-3]}


def _base(**kw):
    p = dict(epochs=3, seed=1, reproducible=True, quiet_mode=True)
    p.update(kw)
    return DeepLearningEstimator(**p)


@pytest.fixture(scope="module")
def split(prostate):
    df = prostate(factors=("CAPSULE",), drop_id=True)
    return df.iloc[:300], df.iloc[300:]


@pytest.mark.parametrize("parallelism", [1, 2])
def test_booklet_grid_is_sorted(split, parallelism):
    tr, va = split
    g = GridSearch(_base(), BOOKLET, grid_id="g_prostate", parallelism=parallelism)
    g.train(y="CAPSULE", training_frame=tr, validation_frame=va)
    assert len(g) == 4 and not g.failed_params
    assert sorted(g.model_ids) == [f"g_prostate_model_{i}" for i in range(1, 5)]
    # every combination once, with the base parameters kept
    combos = {(tuple(g.get_hyperparams(i)["hidden"]), g.get_hyperparams(i)["l1"]) for i in g.model_ids}
    assert combos == {((20, 20), 1e-5), ((20, 20), 1e-3), ((50, 50), 1e-5), ((50, 50), 1e-3)}
    for m in g.models:
        assert m.actual_params["epochs"] == 3 and m.actual_params["hidden"] == list(g.get_hyperparams(m.model_id)["hidden"])
    # default: logloss on the validation frame, increasing
    s = g.get_grid()
    t = s.summary_table
    assert list(t.columns) == ["hidden", "l1", "model_ids", "logloss", "metrics_source"]
    assert (t["metrics_source"] == "valid").all()
    assert t["logloss"].is_monotonic_increasing
    np.testing.assert_allclose(t["logloss"], [m.logloss(valid=True) for m in s.models])
    assert s.model_ids == list(t["model_ids"])
    # AUC: decreasing by default
    a = g.get_grid(sort_by="auc").sorted_metric_table()
    assert a["auc"].is_monotonic_decreasing
    assert g.get_grid(sort_by="auc", decreasing=False).sorted_metric_table()["auc"].is_monotonic_increasing


def test_parallel_grid_matches_sequential(split):
    tr, va = split
    seq = GridSearch(_base(epochs=1), {"hidden": [[5], [8]]}, parallelism=1).train(
        y="CAPSULE", training_frame=tr, validation_frame=va)
    par = GridSearch(_base(epochs=1), {"hidden": [[5], [8]]}, parallelism=0).train(
        y="CAPSULE", training_frame=tr, validation_frame=va)
    assert par._n_parallel() == 2 or par._n_parallel() == 1
    ls = {tuple(seq.get_hyperparams(i)["hidden"]): seq[k].logloss(valid=True) for k, i in enumerate(seq.model_ids)}
    lp = {tuple(par.get_hyperparams(i)["hidden"]): par[k].logloss(valid=True) for k, i in enumerate(par.model_ids)}
    assert ls.keys() == lp.keys()
    for k in ls:  # reproducible=True: concurrency does not change the models
        assert lp[k] == pytest.approx(ls[k], rel=1e-6)


def test_failed_model_is_recorded(split):
    tr, _ = split
    g = GridSearch(DeepLearningEstimator, {"hidden": [[4]], "epochs": [1, -1]})
    g.train(y="CAPSULE", training_frame=tr, quiet_mode=True)
    assert len(g) == 1
    assert g.failed_params == [{"hidden": [4], "epochs": -1}]
    assert "epochs" in g.failure_details[0]
    t = g.get_grid().summary_table
    assert (t["metrics_source"] == "train").all()  # no validation frame, no CV


def test_random_discrete_max_models_and_regression_default_sort(split):
    tr, va = split
    tr = tr.drop(columns=["CAPSULE"])
    va = va.drop(columns=["CAPSULE"])
    hp = {"hidden": [[3], [4], [5]], "l2": [0.0, 1e-4, 1e-3]}
    g = GridSearch(_base(epochs=1), hp, search_criteria={"strategy": "RandomDiscrete", "max_models": 3, "seed": 7})
    g.train(y="VOL", training_frame=tr, validation_frame=va)
    assert len(g) == 3
    t = g.get_grid().sorted_metric_table()
    assert "residual_deviance" in t.columns and t["residual_deviance"].is_monotonic_increasing
    g2 = GridSearch(_base(epochs=1), hp, search_criteria={"strategy": "RandomDiscrete", "max_models": 3, "seed": 7})
    g2.train(y="VOL", training_frame=tr, validation_frame=va)
    assert [g.get_hyperparams(i) for i in g.model_ids] == [g2.get_hyperparams(i) for i in g2.model_ids]


def test_grid_with_cross_validation_sorts_on_xval(split):
    tr, _ = split
    g = GridSearch(_base(epochs=1, nfolds=2), {"hidden": [[3], [6]]})
    g.train(y="CAPSULE", training_frame=tr)
    t = g.get_grid().summary_table
    assert (t["metrics_source"] == "xval").all()
    np.testing.assert_allclose(t["logloss"], [m.logloss(xval=True) for m in g.get_grid().models])


@pytest.mark.parametrize("kw,match", [
    (dict(hyper_params={"nope": [1]}), "nope"),
    (dict(hyper_params={}), "non-empty"),
    (dict(hyper_params={"l1": []}), "at least one"),
    (dict(search_criteria={"strategy": "Bayes"}), "strategy"),
    (dict(search_criteria={"max_modles": 3}), "max_modles"),
    (dict(parallelism=-1), "parallelism"),
])
def test_grid_argument_errors(kw, match):
    args = dict(hyper_params={"l1": [0.0]})
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        GridSearch(DeepLearningEstimator, **args)


def test_untrained_grid_and_bad_sort(split):
    g = GridSearch(DeepLearningEstimator, {"l1": [0.0]})
    with pytest.raises(ValueError, match="not trained"):
        g.get_grid()
    tr, _ = split
    g.train(y="CAPSULE", training_frame=tr, epochs=1, hidden=[3], quiet_mode=True)
    with pytest.raises(ValueError, match="sort_by"):
        g.get_grid(sort_by="speed")
    with pytest.raises(ValueError, match="both"):
        g.train(y="CAPSULE", training_frame=tr, l1=0.1)


def test_random_discrete_early_stopping_and_time_limit(split):
    tr, va = split
    hp = {"l2": [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]}
    # k = 1 and a tolerance of 10: stops as soon as two models give a moving average
    g = GridSearch(_base(epochs=1, hidden=[3]), hp, search_criteria={
        "strategy": "RandomDiscrete", "seed": 1, "stopping_rounds": 1, "stopping_tolerance": 10.0})
    g.train(y="CAPSULE", training_frame=tr, validation_frame=va)
    assert len(g) == 2
    full = GridSearch(_base(epochs=1, hidden=[3]), hp, search_criteria={"strategy": "RandomDiscrete", "seed": 1})
    full.train(y="CAPSULE", training_frame=tr, validation_frame=va)
    assert len(full) == 6
    t = GridSearch(_base(epochs=1, hidden=[3]), hp, search_criteria={
        "strategy": "RandomDiscrete", "seed": 1, "max_runtime_secs": 1e-6})
    t.train(y="CAPSULE", training_frame=tr, validation_frame=va)
    assert len(t) + len(t.failed_params) < 6
