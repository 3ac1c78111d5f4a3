"""H2O's function-style entry point, as used by the booklet's Python examples."""
from __future__ import annotations

from .estimator import DeepLearningEstimator


def deeplearning(x=None, y=None, training_frame=None, validation_frame=None, **params):
    """Train a Deep Learning model in one call (H2O's ``h2o.deeplearning``); returns the model.

    When ``y`` is omitted for a supervised model and exactly one column of the
    training frame is not among ``x``, that column is the response.
    """
    if y is None and not params.get("autoencoder") and x is not None and training_frame is not None:
        xs = [x] if isinstance(x, str) else list(x)
        rest = [c for c in map(str, training_frame.columns) if c not in set(map(str, xs))
                and c not in {params.get("weights_column"), params.get("offset_column"), params.get("fold_column")}]
        if len(rest) == 1:
            y = rest[0]
        else:
            raise ValueError(f"y (the response column) is required: the training frame has {len(rest)} columns "
                             f"that are not predictors ({rest[:10]})")
    train_kw = {k: params.pop(k) for k in ("offset_column", "weights_column", "fold_column", "ignored_columns")
                if k in params}
    model = DeepLearningEstimator(**params)
    model.train(x=x, y=y, training_frame=training_frame, validation_frame=validation_frame, **train_kw)
    return model
