"""The booklet notebook (notebooks/deep_learning_booklet.ipynb) runs end to end.

The notebook is executed in fast mode (``DASKDL_NOTEBOOK_FAST=1``: an MNIST slice, 1 epoch,
2 folds, a small grid) in a fresh Python kernel of this interpreter, then a few of its outputs
are checked: the anomaly ranking, the test error, cross-validation, grid search, checkpoint
restart and the plots.
"""
import json
import re
import sys
from pathlib import Path

import pytest

from conftest import data_path

nbformat = pytest.importorskip("nbformat", reason="executing the notebook needs nbformat")
nbclient = pytest.importorskip("nbclient", reason="executing the notebook needs nbclient")
pytest.importorskip("ipykernel", reason="executing the notebook needs an ipykernel kernel")
pytest.importorskip("matplotlib", reason="the notebook draws its plots with matplotlib")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "deep_learning_booklet.ipynb"


def _kernel_manager(tmp_path):
    """A kernel manager whose ``python3`` kernel is this interpreter (not whatever is on PATH)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kdir = tmp_path / "kernels" / "python3"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name="python3", kernel_spec_manager=ksm)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    ecg = data_path("ecg_discord_train.csv")
    data_path("ecg_discord_test.csv")
    tmp = tmp_path_factory.mktemp("notebook")
    mp = pytest.MonkeyPatch()
    mp.setenv("DASKDL_NOTEBOOK_FAST", "1")
    mp.setenv("DASKDL_DATA", str(ecg.parent))
    mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        # allow_errors: every cell runs, so that one failing feature does not hide the others;
        # test_every_cell_runs reports the failing cells.
        client = nbclient.NotebookClient(nb, km=_kernel_manager(tmp), timeout=240, allow_errors=True,
                                         resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    finally:
        mp.undo()
    return nb


def _cell(nb, tag):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream" and o["name"] == "stdout":
            out.append(o["text"])
        elif o["output_type"] == "execute_result":
            out.append(o["data"].get("text/plain", ""))
    return "\n".join(out)


def test_notebook_is_valid_and_stored_with_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("outputs") for c in code if "tags" in c.get("metadata", {})), \
        "the stored notebook should carry the outputs of a fast run"
    assert "client.close()" in code[-1].source


def test_every_cell_runs(executed):
    errors = [f"cell {i} ({c.source.splitlines()[0]!r}): {o['ename']}: {o['evalue'][:300]}"
              for i, c in enumerate(executed.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, "cells raised:\n" + "\n".join(errors)


def test_anomaly_ranking_finds_the_three_bad_heartbeats(executed):
    text = _text(_cell(executed, "anomaly-ranking"))
    assert "most anomalous heartbeats (rows): [21, 22, 23]" in text


def test_trial_run_beats_chance(executed):
    m = re.search(r"test set error: ([0-9.]+) %", _text(_cell(executed, "test-error")))
    assert m, "the test-error cell printed no error"
    assert float(m.group(1)) < 40.0  # 10 classes: chance is 90 %; 1 epoch on 3,000 images gives ~20 %


def test_cross_validated_mse_is_reported(executed):
    text = _text(_cell(executed, "xval-mse")).strip()
    assert text and text != "None", "model_cv.mse(xval=True) returned nothing"
    assert 0.0 < float(text) < 1.0


def test_grid_models_are_retrieved_by_id(executed):
    mses = re.findall(r"Test set MSE: ([0-9.]+)", _text(_cell(executed, "grid-mse")))
    assert len(mses) == 2  # fast mode: hidden [[50, 50], [100]] x l1 [1e-5]
    assert all(0.0 < float(v) < 1.0 for v in mses)


def test_checkpoint_restart_continues_training(executed):
    m = re.search(r"epochs trained in all: ([0-9.]+)", _text(_cell(executed, "checkpoint")))
    assert m, "the checkpoint cell printed no epoch count"
    assert float(m.group(1)) > 1.5  # 1 epoch in the checkpoint, 2 in all


def test_plots_are_drawn(executed):
    images = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o["output_type"] == "display_data" and "image/png" in o.get("data", {})]
    assert len(images) >= 3  # scoring history, variable importances, reconstruction error
