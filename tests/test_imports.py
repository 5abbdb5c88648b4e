"""The package's import graph, read from the source (AST), not by importing it.

Layers import downwards only (docs/architecture.md). The walker records, for every module of
``src/pushforward``:

- its module-level imports of pushforward modules: statements executed when the module is
  imported (module body, ``if``/``try`` blocks and class bodies; not function bodies, not
  ``if TYPE_CHECKING:`` blocks). ``from .a import b`` counts as importing ``a`` and, when ``b``
  is a submodule, ``a.b``; importing ``a.b`` also runs ``a/__init__.py``, so the package counts
  too unless it encloses the importing module (a package's own ``__init__`` is already running);
- every import of a pushforward module, function-level ones included, for the private-name rule.

A private name is one that starts with a single underscore. ``from X import _name`` across
modules, or ``X._name`` on a module bound by an import, is refused unless ``_name`` is itself a
module (``_io``, ``_random``, ``_state`` are modules private to the package, not to one file).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "pushforward"


def _modules() -> dict[str, Path]:
    """{dotted name: file} for every module of the package."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement names."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _walk(body, module_level: bool):
    """Yield (import node, is module level), descending into blocks but not decorators."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, module_level
        elif isinstance(node, ast.If) and _type_checking(node):
            continue
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _walk(node.body, False)
        elif isinstance(node, ast.ClassDef):
            yield from _walk(node.body, module_level)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _walk(getattr(node, field, []) or [], module_level)


def _targets(module: str, node) -> list[tuple[str, list[str]]]:
    """[(imported pushforward module, names taken from it)] for one import statement."""
    if isinstance(node, ast.Import):
        return [(a.name, []) for a in node.names if a.name.split(".")[0] == PACKAGE]
    target = _resolve(module, node)
    if target.split(".")[0] != PACKAGE:
        return []
    out = [(target, [a.name for a in node.names if f"{target}.{a.name}" not in MODULES])]
    out += [(f"{target}.{a.name}", []) for a in node.names if f"{target}.{a.name}" in MODULES]
    return out


def _with_packages(importer: str, target: str) -> list[str]:
    """``target`` and the enclosing packages its import runs (not those enclosing importer)."""
    parts = target.split(".")
    chain = [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
    return [m for m in chain if m in MODULES and not importer.startswith(m + ".")
            and m != importer]


def import_graph(*, lazy: bool = False) -> tuple[dict[str, set[str]], list[str]]:
    """(import edges, private-name violations as readable lines).

    The edges are the module-level imports, or with ``lazy=True`` every import statement
    (function-level ones too: a lazy import must still point down the layers).
    """
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    private: list[str] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        aliases: dict[str, str] = {}
        for node, top in _walk(tree.body, True):
            for target, names in _targets(module, node):
                if top or lazy:
                    edges[module].update(_with_packages(module, target))
                if target == module:
                    continue
                private += [f"{module} imports {target}.{n} (line {node.lineno})"
                            for n in names if n.startswith("_") and not n.startswith("__")]
            if isinstance(node, ast.ImportFrom):
                base = _resolve(module, node)
                for a in node.names:
                    if f"{base}.{a.name}" in MODULES:
                        aliases[a.asname or a.name] = f"{base}.{a.name}"
            else:
                for a in node.names:
                    if a.asname and a.name in MODULES:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and f"{aliases[node.value.id]}.{node.attr}" not in MODULES):
                private.append(f"{module} uses {aliases[node.value.id]}.{node.attr} "
                               f"(line {node.lineno})")
    return edges, private


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_walker_sees_a_cycle_and_a_private_import():
    """The checks below would fail on a circle: the walker finds one in a made-up graph."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    node = ast.parse("from ..learned import _split, fit").body[0]
    assert _targets("pushforward.evaluation.floors", node) == [
        ("pushforward.learned", ["_split", "fit"])]
    node = ast.parse("from . import _io, model").body[0]
    assert _targets("pushforward.cli", node) == [
        ("pushforward", []), ("pushforward._io", []), ("pushforward.model", [])]


def test_the_walker_reads_the_real_package():
    edges, _ = import_graph()
    assert "pushforward.model" in edges["pushforward.learned"]
    assert "pushforward.errors" in edges["pushforward.model"]
    # a function-level import is not a module-level edge: the CLI imports the api lazily
    assert "pushforward.api" not in edges["pushforward.cli"]


def test_no_import_cycle_at_module_level():
    edges, _ = import_graph()
    assert find_cycle(edges) is None, " → ".join(find_cycle(edges))


def test_no_import_cycle_even_through_function_level_imports():
    """Lazy imports are for start-up time, not for hiding a circle."""
    edges, _ = import_graph(lazy=True)
    assert find_cycle(edges) is None, " → ".join(find_cycle(edges))


def test_no_private_name_imported_across_modules():
    _, private = import_graph()
    assert private == [], "\n".join(private)


def _heavy_imports(module: str) -> set[str]:
    """The heavy third-party packages a module imports at module level."""
    tree = ast.parse(MODULES[module].read_text())
    names = set()
    for node, top in _walk(tree.body, True):
        if top and isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif top and isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.split(".")[0] in ("torch", "sklearn", "torchdiffeq")
            or n.startswith("scipy.stats")}


@pytest.mark.parametrize("module", ["pushforward.methods", "pushforward.model",
                                    "pushforward.losses", "pushforward.nets",
                                    "pushforward.evaluation", "pushforward.registries"])
def test_registries_import_no_method_module(module):
    """The tables are literal: importing them loads no method's code, and nothing heavy."""
    edges, _ = import_graph()
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += edges[m]
    assert not seen & {"pushforward.exact", "pushforward.learned", "pushforward.flow_map",
                       "pushforward.objectives", "pushforward.losses.kernel",
                       "pushforward.nets.mlp"}
    assert not {m: _heavy_imports(m) for m in seen if _heavy_imports(m)}


def test_the_tables_name_what_the_code_defines():
    """Every loss is a learned method; every table entry resolves to the object it claims."""
    import torch

    from pushforward.evaluation import METRICS, Metric
    from pushforward.losses import LOSSES
    from pushforward.methods import _DIVERGENCE, BASELINES, EXACT, LEARNED, METHODS
    from pushforward.model import MAP_KINDS
    from pushforward.nets import NETS
    from pushforward.registry import resolve

    assert [k for k, (t, _) in LEARNED.items() if t == _DIVERGENCE] == list(LOSSES)
    for key, (target, _) in LOSSES.items():
        assert LOSSES.get(key) is resolve(target) and callable(LOSSES.get(key))
    for key in NETS:
        assert issubclass(NETS.get(key), torch.nn.Module)
    for key in METRICS:
        assert isinstance(METRICS.get(key), Metric)
    for key, (target, _) in LEARNED.items():
        if target != _DIVERGENCE:
            assert resolve(target).name == key
        assert METHODS.get(key).__doc__ == METHODS[key].description
    for key, (target, _) in {**EXACT, **BASELINES}.items():
        assert METHODS.get(key) is resolve(target)
    for key in MAP_KINDS:
        assert MAP_KINDS.get(key).kind == key


_NO_TORCH = """
import sys, pushforward
from pushforward.methods import METHODS
from pushforward.registries import all_registries
keys = list(METHODS); METHODS.describe(); all_registries()
try:
    METHODS.get("nope")
except pushforward.PushforwardError as e:
    assert "sliced-js" in str(e), e
m = pushforward.load(sys.argv[1])
print(float(m.sample(1, seed=0)[0, 0]))
assert not {"torch", "scipy.stats", "sklearn"} & set(sys.modules), "heavy import"
"""


@pytest.mark.parametrize("method, dim", [("quantile", 1), ("copula", 3)])
def test_an_exact_map_loads_and_samples_without_torch(tmp_path, method, dim):
    """Listing every registry (``pushforward list``), and loading and sampling a quantile or
    copula map, import neither torch nor scipy.stats nor scikit-learn: that is what keeps
    ``pushforward sample`` under a second."""
    import pushforward

    m = pushforward.fit(np.random.default_rng(0).gamma(2.0, size=(200, dim)), method=method,
                        seed=0)
    path = m.save(tmp_path / "m")
    out = subprocess.run([sys.executable, "-c", _NO_TORCH, str(path)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == float(m.sample(1, seed=0)[0, 0])


def _documented_layers() -> dict[str, int]:
    """{module name or package prefix: layer} from the layer table of docs/architecture.md.

    Each row is ``| N. title | `mod`, `pkg/` (notes with `names`) |``; text in parentheses is a
    note, not a module.
    """
    import re

    text = (SRC.parent / "docs" / "architecture.md").read_text()
    table = text[text.index("| layer | modules |"):].split("\n\n")[0]
    layers = {}
    for row in table.splitlines()[2:]:
        title, cell = row.strip("|").split("|")[:2]
        number = int(title.strip().split(".")[0])
        while re.search(r"\([^()]*\)", cell):
            cell = re.sub(r"\([^()]*\)", "", cell)
        for name in re.findall(r"`([^`]+)`", cell):
            layers[f"{PACKAGE}.{name.rstrip('/').replace('/', '.')}"] = number
    return layers


def _layer_of(module: str, layers: dict[str, int]) -> int | None:
    parts = module.split(".")
    for i in range(len(parts), 1, -1):
        if ".".join(parts[:i]) in layers:
            return layers[".".join(parts[:i])]
    return None


def test_docs_architecture_shows_the_layers_as_they_are():
    """Every module sits in one row of the doc's layer table and imports (at any level) only
    from its own layer or those above it; the package's ``__init__`` (lazy names) is exempt."""
    layers = _documented_layers()
    assert len(layers) > 20, "the layer table of docs/architecture.md was not found"
    missing = [m for m in MODULES if m != PACKAGE and _layer_of(m, layers) is None]
    assert not missing, f"not in docs/architecture.md's layer table: {missing}"
    edges, _ = import_graph(lazy=True)
    upward = [f"{a} (layer {_layer_of(a, layers)}) imports {b} (layer {_layer_of(b, layers)})"
              for a in edges if a != PACKAGE for b in edges[a]
              if b != PACKAGE and _layer_of(b, layers) > _layer_of(a, layers)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("package", ["pushforward.exact", "pushforward.losses",
                                     "pushforward.nets", "pushforward.evaluation"])
def test_lazy_names_are_the_objects_not_submodules(package):
    """A package that loads its names on first use must not share a name with a submodule:
    once the submodule is imported, the package attribute would be the module instead."""
    import importlib

    pkg = importlib.import_module(package)
    subs = {m.rsplit(".", 1)[1] for m in MODULES if m.startswith(package + ".")}
    for m in sorted(subs):
        importlib.import_module(f"{package}.{m}")
    assert not set(pkg.__all__) & subs
    for name in pkg.__all__:
        assert not isinstance(getattr(pkg, name), type(pkg)), name
