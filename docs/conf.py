"""Sphinx configuration of the daskdl documentation (built with warnings as errors in CI)."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import daskdl  # noqa: E402
from daskdl.params import PARAMS  # noqa: E402

project = "daskdl"
author = "the daskdl authors"
copyright = "the daskdl authors, Apache-2.0"
version = release = daskdl.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "*.md"]
master_doc = "index"
html_theme = "alabaster"
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _parameters_page() -> str:
    """The parameter reference, written from daskdl.params.PARAMS at every build."""
    lines = ["Parameter reference", "===================", "",
             "The 91 parameters of H2O-3's Deep Learning (h2o 3.46), in H2O's order and with H2O's defaults, as",
             "``daskdl.DeepLearningEstimator`` takes them. The scikit-learn estimators take the same names",
             "(without the frame and column parameters, which ``fit(X, y, sample_weight)`` replaces). Enum",
             "values are also accepted in H2O's Java spelling (``RectifierWithDropout``), case-insensitively.", "",
             ".. list-table::", "   :header-rows: 1", "   :widths: 22 18 20 40", "",
             "   * - parameter", "     - default", "     - type / values", "     - description"]
    for p in PARAMS:
        values = ", ".join(p.values) if p.values else p.type
        lines += [f"   * - ``{p.name}``", f"     - ``{p.default!r}``", f"     - {values}", f"     - {p.doc}"]
    return "\n".join(lines) + "\n"


_page = HERE / "parameters.rst"
_text = _parameters_page()
if not _page.exists() or _page.read_text() != _text:
    _page.write_text(_text)
