"""Saving and loading models: the Zarr store of :mod:`daskdl.io.zarr_store`, plus the response's
labels (their values and dtype, so that a loaded model predicts the same labels as the saved
one), kept in the group's ``response_labels`` attribute."""
from __future__ import annotations

from . import zarr_store

LABELS_ATTR = "response_labels"


def save_model(model, path=None, force: bool = False, filename: str | None = None) -> str:
    """Save a trained model as ``<path or cwd>/<filename or model_id>`` (a Zarr group); returns the path.

    An existing target raises FileExistsError unless ``force=True``. See
    :func:`daskdl.io.zarr_store.save_model` for the format.
    """
    import zarr

    from ..model.labels import to_json

    out = zarr_store.save_model(model, path=path, force=force, filename=filename)
    info = (getattr(model, "_fit", None) or {}).get("labels")
    record = to_json(info) if info else None
    if record is not None:
        zarr.open_group(str(out), mode="r+").attrs[LABELS_ATTR] = record
    return out


def load_model(path):
    """Load a model saved by :func:`save_model` (no pickle: arrays and JSON attributes only)."""
    import zarr

    from ..model.labels import from_json

    model = zarr_store.load_model(path)
    record = zarr.open_group(str(path), mode="r").attrs.get(LABELS_ATTR)
    if record is not None:
        try:
            model._fit["labels"] = from_json(record)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path}: attribute {LABELS_ATTR!r} is malformed ({e})") from e
    return model
