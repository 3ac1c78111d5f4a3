"""Models of this session by ``model_id`` (H2O's ``h2o.get_model``), held through weak references:
a model the user no longer holds is freed with everything it refers to.

Also the estimator classes by name, so that a saved model is loaded as the class that trained it
without the store importing the estimator module.
"""
from __future__ import annotations

import threading
import weakref

_MODELS: "weakref.WeakValueDictionary[str, object]" = weakref.WeakValueDictionary()
_CLASSES: dict[str, type] = {}
_LOCK = threading.Lock()

__all__ = ["register", "lookup", "known_ids", "register_class", "estimator_class"]


def register(model) -> None:
    """Record ``model`` under its ``model_id`` (replacing an earlier model of the same id)."""
    with _LOCK:
        _MODELS[model.model_id] = model


def lookup(model_id: str):
    """The live model with ``model_id``, or None."""
    with _LOCK:
        return _MODELS.get(model_id)


def known_ids() -> list[str]:
    with _LOCK:
        return sorted(_MODELS.keys())


def register_class(cls: type) -> type:
    """Class decorator: the estimator class ``cls`` can be named in a saved model."""
    _CLASSES[cls.__name__] = cls
    return cls


def estimator_class(name: str | None) -> type:
    """The estimator class named ``name`` (the default estimator when unknown or None)."""
    if name in _CLASSES:
        return _CLASSES[name]
    return _CLASSES["DeepLearningEstimator"]
