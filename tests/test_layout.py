"""Package layout: no import cycle between the modules of captum_surv.

The import graph is read from the source with :mod:`ast` (nothing is imported): an edge
``a -> b`` for every ``import`` / ``from ... import`` in module ``a``, at module level or
inside functions and classes, that names module ``b`` of the package (or a name defined in
package ``b``'s ``__init__``). Imports under ``if TYPE_CHECKING:`` are left out: they never
run. The implicit import of parent packages is not an edge (every submodule would otherwise
form a cycle with a package ``__init__`` that re-exports it).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = "captum_surv"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def _module_names(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module and package of the package."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, at_import: bool = False) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` (any depth) outside ``if TYPE_CHECKING:``; with
    ``at_import`` only those that run when the module is imported (not in functions)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if at_import and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the else branch runs
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The package module that importing ``name`` runs: itself, else its nearest parent."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = ROOT, at_import: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports (see the module docstring); with
    ``at_import`` only by imports that run when the module is imported."""
    modules = _module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _imports(tree, at_import):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:  # relative: from its package (or a parent) on
                    base = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module or ""
                # `from pkg import sub` runs the submodule `sub`; `from pkg import obj` runs pkg
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            for target in targets:
                resolved = _resolve(target, modules) if target.startswith(PACKAGE) else None
                if resolved is not None and resolved != name:
                    graph[name].add(resolved)
    return graph


@functools.cache
def package_graph(at_import: bool = False) -> dict[str, set[str]]:
    """:func:`import_graph` of captum_surv (parsed once per test session)."""
    return import_graph(ROOT, at_import)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path ``[a, b, ..., a]`` per strongly connected component with a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_cycle_in(graph, set(component)) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")  # unreachable


def _describe(cycles: list[list[str]]) -> str:
    return "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def _in(prefix: str, cycle: list[str]) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in cycle)


def test_the_graph_sees_function_level_imports_and_skips_type_checking(tmp_path):
    """The checker itself: a cycle through a lazy import is found, one via TYPE_CHECKING not."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from captum_surv.a import A\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from captum_surv.c import C\n"
        "class A:\n    def f(self):\n        from captum_surv.sub import g\n"
    )
    (pkg / "sub" / "__init__.py").write_text("from .b import g\n")
    (pkg / "sub" / "b.py").write_text("import captum_surv.a\ndef g():\n    pass\n")
    (pkg / "c.py").write_text("from captum_surv import a\n")
    graph = import_graph(pkg)
    assert graph["captum_surv.a"] == {"captum_surv.sub"}  # the lazy import, not the hint
    assert import_graph(pkg, at_import=True)["captum_surv.a"] == set()
    assert graph["captum_surv.sub"] == {"captum_surv.sub.b"}  # relative import
    assert graph["captum_surv.c"] == {"captum_surv.a"}  # `from pkg import submodule`
    assert find_cycles(graph) == [
        ["captum_surv.a", "captum_surv.sub", "captum_surv.sub.b", "captum_surv.a"]
    ]
    (pkg / "sub" / "b.py").write_text("def g():\n    pass\n")
    assert find_cycles(import_graph(pkg)) == []


RESULT_MODULES = (
    f"{PACKAGE}.explanation",
    f"{PACKAGE}.cohort",
    f"{PACKAGE}.effects",
    f"{PACKAGE}.importance",
    f"{PACKAGE}.attr.interactions",
    f"{PACKAGE}.attr.survlime",
)
"""The modules of the result classes, which draw themselves through the figures."""


def test_figures_never_import_the_results_they_draw():
    """Results import their figures (lazily, when plotting), never the other way round."""
    graph = package_graph()
    figure_modules = [m for m in graph if _in(f"{PACKAGE}.plot", [m]) or m.endswith("plot_effects")]
    assert len(figure_modules) > 3  # the plot package exists and was parsed
    for module in figure_modules:
        results = sorted(m for m in graph[module] if any(_in(r, [m]) for r in RESULT_MODULES))
        assert not results, f"{module} imports the result module(s) {results}"


def test_figures_are_imported_only_when_plotting():
    """Matplotlib is slow to import: no module outside the figures imports them at import
    time (the result objects import them inside their plot methods)."""
    graph = package_graph(at_import=True)
    figures = {f"{PACKAGE}.plot", f"{PACKAGE}.plot_effects"}
    for module, targets in graph.items():
        if module in figures or _in(f"{PACKAGE}.plot", [module]):
            continue
        eager = sorted(t for t in targets if t in figures or _in(f"{PACKAGE}.plot", [t]))
        assert not eager, f"{module} imports {eager} when it is imported"


def test_no_import_cycle_in_the_package():
    cycles = find_cycles(package_graph())
    assert not cycles, _describe(cycles)
