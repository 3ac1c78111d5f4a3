"""The plots notebook (notebooks/h2o_plots.ipynb) runs in a fresh kernel and shows H2O's four plots."""
import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="executing the notebook needs nbformat")
nbclient = pytest.importorskip("nbclient", reason="executing the notebook needs nbclient")
pytest.importorskip("ipykernel", reason="executing the notebook needs an ipykernel kernel")
pytest.importorskip("matplotlib", reason="the notebook draws its plots with matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "h2o_plots.ipynb"


def _kernel_manager(tmp_path):
    """A kernel manager whose ``python3`` kernel is this interpreter, with this checkout importable."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kdir = tmp_path / "kernels" / "python3"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python",
        "env": {"PYTHONPATH": str(ROOT), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name="python3", kernel_spec_manager=ksm)


def test_plots_notebook_shows_the_four_plots(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, km=_kernel_manager(tmp_path), timeout=240,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises on the first failing cell
    for tag in ("scoring-history", "varimp", "roc", "learning-curve"):
        cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
        assert len(cells) == 1, tag
        images = [o for o in cells[0].outputs if o["output_type"] == "display_data" and "image/png" in o["data"]]
        assert len(images) == 1, f"cell {tag!r} shows {len(images)} images"
    text = "".join(o.get("text", "") for o in nb.cells[1].outputs if o["output_type"] == "stream")
    assert float(text.split("validation AUC:")[1].split()[0]) > 0.7
