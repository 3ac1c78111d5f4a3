"""Saving and loading models: the Zarr store of :mod:`daskdl.io.zarr_store` (which also keeps
the response's label values and dtype, so that a loaded model predicts the same labels as the
saved one)."""
from __future__ import annotations

from .zarr_store import load_model, save_model

__all__ = ["load_model", "save_model"]
