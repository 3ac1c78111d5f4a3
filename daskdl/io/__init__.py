"""Model persistence (a versioned Zarr group, no pickle) and standalone exports (numpy-only Python, ONNX)."""
from .export import export_onnx, export_python, onnx_input
from .zarr_store import FORMAT, FORMAT_VERSION, load_model, save_model

__all__ = ["save_model", "load_model", "export_python", "export_onnx", "onnx_input", "FORMAT",
           "FORMAT_VERSION"]
