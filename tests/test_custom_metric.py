"""custom_metric_func: H2O's map / reduce / metric user metrics."""
import numpy as np
import pytest

import daskdl
from daskdl import DeepLearningEstimator


class WeightedMae:
    """Weighted mean absolute error, written as H2O's CustomMetricFunc (state: (sum, weight))."""

    def map(self, pred, act, w, o, model):
        err = abs(act[0] - pred[0])
        return (w * err, w)

    def reduce(self, l, r):
        return tuple(a + b for a, b in zip(l, r))

    def metric(self, state):
        total, weight = state
        return total / weight


class Accuracy:
    def map(self, pred, act, weight, offset, model):
        return [weight * (pred[0] == act[0]), weight]

    def reduce(self, left, right):
        return [left[0] + right[0], left[1] + right[1]]

    def metric(self, last):
        return last[0] / last[1]


def test_regression_custom_mae_equals_builtin_mae(prostate):
    df = prostate(drop_id=True)
    ref = daskdl.upload_custom_metric(WeightedMae, func_name="mae_custom")
    m = DeepLearningEstimator(hidden=[8], epochs=3, seed=1, reproducible=True, custom_metric_func=ref)
    m.train(y="VOL", training_frame=df, validation_frame=df)
    perf = m.model_performance(test_data=df)
    assert perf.custom_metric_name() == "mae_custom"
    assert perf.custom_metric_value() == pytest.approx(perf.mae(), rel=1e-9)
    h = m.scoring_history()
    assert "training_custom" in h.columns and "validation_custom" in h.columns
    assert h["validation_custom"].iloc[-1] == pytest.approx(h["validation_mae"].iloc[-1], rel=1e-9)


def test_classification_custom_metric_on_dask_frame_and_stopping(prostate):
    import dask.dataframe as dd

    df = dd.from_pandas(prostate(drop_id=True), npartitions=3)
    m = DeepLearningEstimator(hidden=[8], epochs=20, seed=1, custom_metric_func=Accuracy,
                              stopping_metric="custom_increasing", stopping_rounds=2, score_each_iteration=True,
                              train_samples_per_iteration=100)
    m.train(y="CAPSULE", training_frame=df, validation_frame=df)
    perf = m.model_performance(test_data=df)
    # the label given to map is the model's prediction at its max-F1 threshold
    p = m.predict(df).compute()
    acc = float((p["predict"].astype(int).to_numpy() == df["CAPSULE"].compute().astype(int).to_numpy()).mean())
    assert perf.custom_metric_value() == pytest.approx(acc, abs=1e-12)
    assert perf.custom_metric_name() == "Accuracy"
    assert np.isfinite(m.scoring_history()["validation_custom"].to_numpy()[1:]).all()


def test_custom_metric_is_saved_by_reference(prostate, tmp_path):
    df = prostate(drop_id=True)
    m = DeepLearningEstimator(hidden=[4], epochs=1, seed=1, reproducible=True, custom_metric_func=WeightedMae())
    m.train(y="VOL", training_frame=df)
    path = daskdl.save_model(m, str(tmp_path))
    with pytest.warns(UserWarning, match="never imports code named in a model file"):
        back = daskdl.load_model(path)
    assert back.params["custom_metric_func"]["input"].startswith("python:WeightedMae=")
    assert back.model_performance(train=True).custom_metric_value() == \
        pytest.approx(m.model_performance(train=True).custom_metric_value())
    # the stored reference is not imported: new data is scored without the custom metric...
    assert back.model_performance(test_data=df).custom_metric_value() is None
    want = m.model_performance(test_data=df).custom_metric_value()
    # ...unless the caller passes the class again or asks for the reference to be imported
    again = daskdl.load_model(path, custom_metric_func=WeightedMae)
    assert again.model_performance(test_data=df).custom_metric_value() == pytest.approx(want)
    trusted = daskdl.load_model(path, trust_custom_metric=True)
    assert trusted.model_performance(test_data=df).custom_metric_value() == pytest.approx(want)


@pytest.mark.parametrize("kw,needle", [
    (dict(custom_metric_func=object()), "map(pred, act, weight"),
    (dict(custom_metric_func="python:x=no_such_module_here.Metric"), "cannot import"),
    (dict(stopping_metric="custom", stopping_rounds=2), "needs custom_metric_func"),
])
def test_custom_metric_errors(prostate, kw, needle):
    m = DeepLearningEstimator(hidden=[4], epochs=1, **kw)
    with pytest.raises(ValueError) as ei:
        m.train(y="VOL", training_frame=prostate(drop_id=True))
    assert needle in str(ei.value)
