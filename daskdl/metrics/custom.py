"""User-defined metrics in H2O's form (``custom_metric_func``).

H2O's Python client uploads a class with three methods and refers to it by a string::

    class CustomMae:
        def map(self, pred, act, weight, offset, model):
            return [weight * abs(act[0] - pred[0]), weight]
        def reduce(self, left, right):
            return [left[0] + right[0], left[1] + right[1]]
        def metric(self, last):
            return last[0] / last[1]

    ref = h2o.upload_custom_metric(CustomMae, func_name="mae")
    H2ODeepLearningEstimator(custom_metric_func=ref, ...)

daskdl takes the same class (or an instance), or the object returned by
:func:`upload_custom_metric`, or H2O's reference string ``"python:<name>=<module>.<Class>"`` of an
importable class. ``map`` is called once per scored row with ``pred`` = ``[prediction]``
(regression) or ``[label, p0, p1, ...]`` (classification, label as a class index), ``act`` =
``[response]`` (class index for classification), the row's weight and offset, and ``model=None``;
rows with a missing response or zero weight are skipped, as in H2O. Partial results of
partitions are combined with ``reduce``; ``metric`` gives the value, reported as
``custom_metric_value()`` and in the scoring history as ``training_custom`` /
``validation_custom``, and usable as ``stopping_metric="custom"`` (lower is better) or
``"custom_increasing"``.

A reference stored in a saved model is never imported when the model is loaded or scored: it
comes back as a :class:`StoredReference`, which :func:`resolve_custom_metric` refuses.
``daskdl.load_model(path, custom_metric_func=cls)`` attaches the metric again, and
``trust_custom_metric=True`` imports the stored reference on request.
"""
from __future__ import annotations

import importlib
import math

import numpy as np

__all__ = ["CustomMetric", "StoredReference", "resolve_custom_metric", "upload_custom_metric"]


class StoredReference(str):
    """A custom-metric reference read from a saved model file. It names code that daskdl does
    not import on its own: :func:`resolve_custom_metric` refuses it with a message that says how
    to attach the metric."""

    def refusal(self) -> str:
        return (f"custom_metric_func {str(self)!r} was read from a saved model; daskdl never imports code "
                f"named in a model file. Pass the metric class again (daskdl.load_model(path, "
                f"custom_metric_func=<class>)) or load with trust_custom_metric=True to import it")


class CustomMetric:
    """A metric given by ``map`` / ``reduce`` / ``metric`` methods (H2O's CustomMetricFunc)."""

    def __init__(self, func, name: str | None = None):
        try:
            obj = func() if isinstance(func, type) else func
        except Exception as e:  # noqa: BLE001 - the user's class: report it as a parameter problem
            raise ValueError(f"custom_metric_func: the class {getattr(func, '__name__', func)!r} cannot be created "
                             f"without arguments ({type(e).__name__}: {e})") from None
        missing = [m for m in ("map", "reduce", "metric") if not callable(getattr(obj, m, None))]
        if missing:
            raise ValueError(f"custom_metric_func must be a class (or instance) with map(pred, act, weight, "
                             f"offset, model), reduce(left, right) and metric(last) methods; "
                             f"{type(obj).__name__} lacks {missing}")
        cls = func if isinstance(func, type) else type(obj)
        self.obj = obj
        self.name = str(name or getattr(cls, "__name__", "custom"))
        self.ref = f"python:{self.name}={cls.__module__}.{cls.__qualname__}"

    def __repr__(self):
        return f"CustomMetric({self.ref!r})"

    def partial(self, pred: np.ndarray, y: np.ndarray, w: np.ndarray | None, offset: np.ndarray | None):
        """Reduce the rows of one block: ``pred`` (n, m) rows as passed to ``map``."""
        acc = None
        n = pred.shape[0]
        w = np.ones(n) if w is None else np.asarray(w, np.float64)
        offset = np.zeros(n) if offset is None else np.asarray(offset, np.float64)
        for i in range(n):
            if not (w[i] != 0 and math.isfinite(y[i])):
                continue
            r = self.obj.map(pred[i].tolist(), [float(y[i])], float(w[i]), float(offset[i]), None)
            acc = r if acc is None else self.obj.reduce(acc, r)
        return acc

    def reduce(self, a, b):
        if a is None:
            return b
        if b is None:
            return a
        return self.obj.reduce(a, b)

    def value(self, state) -> float:
        if state is None:
            return float("nan")
        v = self.obj.metric(state)
        try:
            return float(v)
        except (TypeError, ValueError):
            raise ValueError(f"custom metric {self.name!r}: metric() must return a number; got {v!r}") from None


def upload_custom_metric(func, func_file: str | None = None, func_name: str | None = None,
                         class_name: str | None = None, source_provider=None) -> CustomMetric:
    """H2O's ``h2o.upload_custom_metric``: nothing is uploaded (the metric runs in the Python
    workers); returns the reference to pass as ``custom_metric_func``. ``func_file``,
    ``class_name`` and ``source_provider`` are accepted for compatibility and not needed."""
    return CustomMetric(func, func_name)


def resolve_custom_metric(value) -> CustomMetric | None:
    """The CustomMetric for a ``custom_metric_func`` value (None stays None)."""
    if value is None or isinstance(value, CustomMetric):
        return value
    if isinstance(value, StoredReference):
        raise ValueError(value.refusal())
    if isinstance(value, str):
        spec = value[len("python:"):] if value.startswith("python:") else value
        name, _, target = spec.partition("=")
        if not target:
            name, target = None, spec
        module, _, attr = target.rpartition(".")
        if not module:
            raise ValueError(f"custom_metric_func={value!r}: expected 'python:<name>=<module>.<Class>' naming an "
                             f"importable class, or the class itself")
        try:
            cls = importlib.import_module(module)
            for part in attr.split("."):
                cls = getattr(cls, part)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"custom_metric_func={value!r}: cannot import {target!r} ({e}); pass the class "
                             f"itself or daskdl.upload_custom_metric(cls)") from None
        return CustomMetric(cls, name)
    return CustomMetric(value)
