"""The package's imports go one way: kernels <- frame, metrics <- parameters <- model state <- io
<- train <- estimator <- grid, scikit-learn, command line. Read from the source with ``ast``."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "daskdl"

# lowest first; a module may import modules of its own layer or of a lower one
LAYERS = [
    ("daskdl._version", "daskdl._validation", "daskdl.kernels"),
    ("daskdl.frame", "daskdl.metrics", "daskdl.plot", "daskdl.datasets"),
    ("daskdl.params",),
    ("daskdl.model.network", "daskdl.model.labels", "daskdl.model.varimp", "daskdl.model.predict",
     "daskdl.model.state", "daskdl.model.registry"),
    ("daskdl.io",),
    ("daskdl.model.init", "daskdl.train", "daskdl._client"),
    ("daskdl.model.estimator",),
    ("daskdl.model.api", "daskdl.grid", "daskdl.sklearn", "daskdl.cli", "daskdl.__main__", "daskdl._codegen"),
    ("daskdl", "daskdl.demo"),
]
MAX_FUNCTION_IMPORTS = 5


def _modules() -> dict:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _imports():
    """(module, imported own module, line, inside a function) for every import of the package's own
    modules; ``from a import b`` names the module ``a.b`` when that is a module, else ``a``."""
    out = []
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_function = set()
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                in_function.update(id(n) for n in ast.walk(f) if n is not f)
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] != "daskdl":
                    continue
                while name not in MODULES:
                    name = name.rsplit(".", 1)[0]
                if name != mod:
                    out.append((mod, name, node.lineno, id(node) in in_function))
    return out


IMPORTS = _imports()


def _layer(mod: str) -> int:
    best, rank = -1, None
    for i, names in enumerate(LAYERS):
        for n in names:
            if (mod == n or mod.startswith(n + ".")) and len(n) > best:
                best, rank = len(n), i
    assert rank is not None, f"module {mod} is in no layer of tests/test_architecture.py: add it"
    return rank


def _cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return comps


def test_the_graph_is_read():
    # the reader sees the imports it must see (a broken reader would pass every other test)
    edges = {(a, b) for a, b, _, _ in IMPORTS}
    assert ("daskdl.model.estimator", "daskdl.train.api") in edges
    assert ("daskdl.train.driver", "daskdl.train.task") in edges
    assert ("daskdl.io.zarr_store", "daskdl.model.state") in edges
    assert len(MODULES) > 40


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    edges: dict = {}
    for a, b, _, _ in IMPORTS:
        edges.setdefault(a, set()).add(b)
    assert _cycles(edges) == []


def test_imports_go_one_way():
    wrong = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)}) at line {line}"
             for a, b, line, _ in IMPORTS if _layer(b) > _layer(a)]
    assert wrong == []


def test_few_function_level_imports_and_each_says_why():
    inner = [(a, b, line) for a, b, line, inside in IMPORTS if inside]
    assert len(inner) <= MAX_FUNCTION_IMPORTS, inner
    for a, b, line in inner:
        src = MODULES[a].read_text(encoding="utf-8").splitlines()
        around = " ".join(src[max(0, line - 3):line])
        assert "#" in around, f"{a}:{line} imports {b} inside a function without a comment saying why"


@pytest.mark.parametrize("pattern", [r"\._fit\b", r"[\"']_fit[\"']", r"_client_override", r"_WorkerSubsetClient"])
def test_no_untyped_fit_dict_or_fake_client(pattern):
    hits = [f"{p.relative_to(ROOT)}:{i + 1}" for p in MODULES.values()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines()) if re.search(pattern, line)]
    assert hits == []
