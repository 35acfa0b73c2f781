"""No import cycles inside :mod:`tls_adapter`, lazy imports included.

Every module under ``tls_adapter/`` is parsed with :mod:`ast` (nothing is imported), and
every import of a module of the package becomes an edge of a graph that must have no
cycle:

* Imports at module level and inside functions (lazy) both count; imports under
  ``if TYPE_CHECKING:`` do not (its ``else:`` does).
* Relative imports are resolved as Python resolves them: ``from . import x`` is an edge
  to the submodule ``x`` if there is one, else to the package; ``from ..y import z``
  likewise. Absolute self-imports (``tls_adapter.x``) count too.
* ``importlib.import_module(name, anchor)`` counts when it can be resolved statically: a
  literal name, or an f-string such as ``f".{module_name}"`` (how
  ``backends/__init__.py`` loads backends by name from its ``_KNOWN`` table), whose
  placeholder may be any string literal of the calling module that looks like a
  module name. A call that cannot be
  resolved fails :func:`test_dynamic_imports_are_resolved`.
* Importing from one's own parent package (``from . import Backend`` in a backend) is
  not an edge of the full graph: Python imports a module's parent packages before the
  module itself, so every module depends on them anyway, and a package that loads its
  submodules lazily (``backends`` loading ``openssl`` on demand) is a plugin registry,
  not a cycle. Among module-level imports such an import does count
  (:func:`test_no_module_level_import_cycles`): a package that imports a submodule
  while it is being initialised, from a submodule that imports from the half-built
  package, is a real cycle.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "tls_adapter"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``where`` (``path:line``)."""

    source: str
    target: str
    where: str
    #: Inside a function: runs when called, not when ``source`` is imported.
    lazy: bool

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.where}{', lazy' if self.lazy else ''})"


@dataclass(frozen=True)
class ImportGraph:
    """Every module of a package and the imports between them."""

    modules: frozenset[str]
    edges: tuple[Edge, ...]
    #: Dynamic imports that could not be resolved statically (``path:line: source``).
    unresolved: tuple[str, ...]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST, lazy: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node that can run, with whether it runs only when a function is called."""
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for stmt in node.orelse:
            yield from _runtime_nodes(stmt, lazy)
        return
    yield node, lazy
    inner = lazy or isinstance(node, _FUNCTIONS)
    for child in ast.iter_child_nodes(node):
        yield from _runtime_nodes(child, inner)


def _parent(name: str) -> str:
    return name.rpartition(".")[0]


def _up(base: str, levels: int) -> str | None:
    """*base* with *levels* trailing components removed; ``None`` if that leaves nothing."""
    for _ in range(levels):
        if "." not in base:
            return None
        base = _parent(base)
    return base


def _is_ancestor(package: str, module: str) -> bool:
    return module.startswith(package + ".")


class _ModuleImports:
    """Collects the edges out of one module."""

    def __init__(self, graph_modules: frozenset[str], name: str, path: Path, root: Path) -> None:
        self.modules = graph_modules
        self.name = name
        self.is_package = path.name == "__init__.py"
        self.package = name if self.is_package else _parent(name)
        self.top = name.split(".", maxsplit=1)[0]
        self.rel = path.relative_to(root.parent).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.edges: list[Edge] = []
        self.unresolved: list[str] = []

    def _add(self, target: str | None, node: ast.stmt | ast.expr, lazy: bool) -> None:
        if target is not None and target in self.modules and target != self.name:
            self.edges.append(Edge(self.name, target, f"{self.rel}:{node.lineno}", lazy))

    def _in_package(self, name: str) -> bool:
        return name == self.top or name.startswith(self.top + ".")

    def _from_import(self, node: ast.ImportFrom, lazy: bool) -> None:
        if node.level == 0:
            if node.module is None or not self._in_package(node.module):
                return
            base: str | None = node.module
        else:
            base = _up(self.package, node.level - 1)
            if base is not None and node.module:
                base = f"{base}.{node.module}"
        if base is None:
            return
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.modules else base, node, lazy)

    def _anchor(self, call: ast.Call) -> str | None:
        arg = call.args[1] if len(call.args) > 1 else None
        for keyword in call.keywords:
            if keyword.arg == "package":
                arg = keyword.value
        if arg is None:
            return ""
        if isinstance(arg, ast.Name) and arg.id == "__name__":
            return self.name
        if isinstance(arg, ast.Name) and arg.id == "__package__":
            return self.package
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        return None

    def _literals(self) -> list[str]:
        return sorted(
            {
                n.value
                for n in ast.walk(self.tree)
                if isinstance(n, ast.Constant)
                and isinstance(n.value, str)
                and _MODULE_NAME.fullmatch(n.value)
            }
        )

    def _candidate_names(self, arg: ast.expr) -> list[str] | None:
        """Every name the first argument of ``import_module`` can be, or ``None``."""
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [arg.value]
        if isinstance(arg, ast.Name):
            return self._literals()
        if isinstance(arg, ast.JoinedStr):
            # One placeholder between literal parts: f".{name}" and the like.
            texts = [str(v.value) if isinstance(v, ast.Constant) else None for v in arg.values]
            if texts.count(None) != 1:
                return None
            hole = texts.index(None)
            prefix = "".join(t for t in texts[:hole] if t is not None)
            suffix = "".join(t for t in texts[hole + 1 :] if t is not None)
            return [f"{prefix}{literal}{suffix}" for literal in self._literals()]
        return None

    def _import_module(self, call: ast.Call, lazy: bool) -> None:
        anchor = self._anchor(call)
        names = self._candidate_names(call.args[0]) if call.args else None
        if anchor is None or names is None:
            self.unresolved.append(f"{self.rel}:{call.lineno}: {ast.unparse(call)}")
            return
        for name in names:
            if not name.startswith("."):
                self._add(name if self._in_package(name) else None, call, lazy)
                continue
            rest = name.lstrip(".")
            base = _up(anchor, len(name) - len(rest) - 1) if anchor else None
            if base is not None:
                self._add(f"{base}.{rest}" if rest else base, call, lazy)

    def collect(self) -> None:
        for node, lazy in _runtime_nodes(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if self._in_package(alias.name):
                        self._add(alias.name, node, lazy)
            elif isinstance(node, ast.ImportFrom):
                self._from_import(node, lazy)
            elif isinstance(node, ast.Call):
                func = node.func
                if (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
                    isinstance(func, ast.Name) and func.id == "import_module"
                ):
                    self._import_module(node, lazy)


def import_graph(package_dir: Path) -> ImportGraph:
    """The import graph of the package in *package_dir*, from its source alone."""
    paths: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    modules = frozenset(paths)
    edges: list[Edge] = []
    unresolved: list[str] = []
    for name, path in sorted(paths.items()):
        collector = _ModuleImports(modules, name, path, package_dir)
        collector.collect()
        edges += collector.edges
        unresolved += collector.unresolved
    return ImportGraph(modules, tuple(edges), tuple(unresolved))


def find_cycles(edges: Iterable[Edge]) -> list[list[Edge]]:
    """One shortest cycle per strongly connected component with more than one module."""
    graph: dict[str, dict[str, Edge]] = {}
    for edge in edges:
        graph.setdefault(edge.source, {}).setdefault(edge.target, edge)
        graph.setdefault(edge.target, {})
    # Tarjan's algorithm (the graph is small: recursion is fine).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first from start, inside the component, back to start.
        came_from: dict[str, Edge | None] = {start: None}
        queue = [start]
        closing: Edge | None = None
        while queue and closing is None:
            current = queue.pop(0)
            for succ, edge in sorted(graph[current].items()):
                if succ == start:
                    closing = edge
                    break
                if succ in component and succ not in came_from:
                    came_from[succ] = edge
                    queue.append(succ)
        assert closing is not None
        path = [closing]
        step = came_from[closing.source]
        while step is not None:
            path.append(step)
            step = came_from[step.source]
        cycles.append(path[::-1])
    return sorted(cycles, key=lambda c: c[0].source)


def _report(cycles: list[list[Edge]]) -> str:
    blocks = ["\n".join(f"  {edge}" for edge in cycle) for cycle in cycles]
    return f"{len(cycles)} import cycle(s):\n" + "\n\n".join(blocks)


def _without_parent_imports(edges: Iterable[Edge]) -> list[Edge]:
    return [e for e in edges if not _is_ancestor(e.target, e.source)]


# -- the checker itself ---------------------------------------------------------------------
def test_checker_finds_cycles(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import A\n",
        "a.py": "from . import b\nA = 1\n",
        "b.py": "def f():\n    from .a import A\n    return A\n",
        "c.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import d\n"
            "else:\n    from .sub import e\n"
        ),
        "d.py": "from . import c\n",
        "sub/__init__.py": (
            "import importlib\n_NAMES = {'x': 'e'}\n"
            "def load(n):\n    return importlib.import_module(f'.{_NAMES[n]}', __name__)\n"
        ),
        "sub/e.py": "from .. import c\nfrom . import load\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph(pkg)
    assert not graph.unresolved
    pairs = {(e.source, e.target, e.lazy) for e in graph.edges}
    assert ("pkg.b", "pkg.a", True) in pairs
    assert ("pkg.c", "pkg.sub.e", False) in pairs
    assert ("pkg.sub", "pkg.sub.e", True) in pairs  # resolved through the literal "e"
    assert not any(e.source == "pkg.c" and e.target == "pkg.d" for e in graph.edges)
    cycles = find_cycles(_without_parent_imports(graph.edges))
    found = sorted(sorted(e.source for e in cycle) for cycle in cycles)
    # a <-> b (lazy), c <-> sub.e; sub <-> sub.e goes through the parent package: allowed.
    assert found == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.e"]], _report(cycles)
    eager = find_cycles(e for e in graph.edges if not e.lazy)
    assert [sorted(e.source for e in c) for c in eager] == [["pkg.c", "pkg.sub.e"]]


# -- tls_adapter -----------------------------------------------------------------------------
def test_graph_is_complete() -> None:
    graph = import_graph(PACKAGE_DIR)
    pairs = {(e.source, e.target) for e in graph.edges}
    assert ("tls_adapter", "tls_adapter._api") in pairs
    # backends/__init__.py loads backend modules by name: resolved through _KNOWN.
    assert ("tls_adapter.backends", "tls_adapter.backends.openssl") in pairs
    assert any(e.lazy for e in graph.edges)


def test_dynamic_imports_are_resolved() -> None:
    unresolved = import_graph(PACKAGE_DIR).unresolved
    assert not unresolved, "cannot resolve statically:\n" + "\n".join(unresolved)


def test_no_import_cycles() -> None:
    cycles = find_cycles(_without_parent_imports(import_graph(PACKAGE_DIR).edges))
    if cycles:
        print(_report(cycles))
    assert not cycles, _report(cycles)


def test_no_module_level_import_cycles() -> None:
    cycles = find_cycles(e for e in import_graph(PACKAGE_DIR).edges if not e.lazy)
    if cycles:
        print(_report(cycles))
    assert not cycles, _report(cycles)
