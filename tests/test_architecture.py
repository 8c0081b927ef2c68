"""Architecture rules of src/shotsmith, checked on the source with `ast` (nothing is imported).

(a) The module import graph has no cycle. Every import counts: module-level and function-level, `import x`,
`from x import y`, relative imports resolved; `from pkg import name` is an edge to `pkg.name` when that is a
module and to `pkg` otherwise. Importing `pkg.sub` is an edge to `pkg.sub` only (not to `pkg/__init__`), so a
package `__init__` that imports its own submodules is fine unless one of them imports the package back.
(b) Nothing in src loads pickles: no `allow_pickle=True`, no `torch.load(`.
(c) Stage modules under shotsmith/stages/ do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "shotsmith"


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module under src/shotsmith (a package is its __init__.py)."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of `known` that one import statement in `module` imports."""
    targets: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in known:  # `import a.b.c` of a non-module attribute: its module
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
        return targets
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        if sub in known:
            targets.add(sub)
        elif source in known:
            targets.add(source)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Module -> the shotsmith modules it imports anywhere in its source (self-imports dropped)."""
    files = module_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(node, module, is_package, known)
        edges.discard(module)
        graph[module] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan), each one or more cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(components, key=min)


def shortest_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle a -> ... -> a through the component's first module (breadth first inside it)."""
    start = min(component)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [*reversed(path), start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per import cycle: a shortest cycle of each strongly connected component, and its members."""
    lines = []
    for comp in strongly_connected(graph):
        cycle = shortest_cycle(graph, comp)
        line = " -> ".join(cycle)
        if len(comp) > len(cycle) - 1:
            line += f"   (all of {', '.join(sorted(comp))} import each other round)"
        lines.append(line)
    return lines


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "shotsmith.camera" in graph and "shotsmith.cli" in graph
    assert any(graph.values()), "no imports found: the parser is broken"
    known = set(graph)
    tree = ast.parse("def f():\n    from . import fast\n    from .types import RenderResult\n")
    stmts = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert _imported(stmts[0], "shotsmith.render", True, known) == {"shotsmith.render.fast"}
    assert _imported(stmts[1], "shotsmith.render.fast", False, known) == {"shotsmith.render.types"}
    toy = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(toy) == ["a -> b -> c -> a"]
    toy["b"].add("e")
    toy["e"] = {"a"}
    assert cycles(toy) == ["a -> b -> c -> a   (all of a, b, c, e import each other round)"]


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles in src/shotsmith:\n" + "\n".join(found)


def pickle_loads(source: str) -> list[int]:
    """Lines of code (not strings) that can load a pickle: `torch.load` used at all, or `allow_pickle=`
    anything but the constant False."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "load" and ast.unparse(node.value) == "torch":
            lines.append(node.lineno)
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                lines.append(node.value.lineno)
    return sorted(lines)


def test_pickle_check_sees_calls_not_strings():
    code = "import torch, numpy as np\nx = torch.load(p)\ny = np.load(p, allow_pickle=True)\nz = np.load(p)\n"
    assert pickle_loads(code) == [2, 3]
    assert pickle_loads("hint = 'torch.load(p), allow_pickle=True'\nnp.load(p, allow_pickle=False)\n") == []


def test_no_pickle_loading():
    hits = [
        f"{path.relative_to(SRC)}:{i}: {path.read_text(encoding='utf-8').splitlines()[i - 1].strip()}"
        for path in module_files().values()
        for i in pickle_loads(path.read_text(encoding="utf-8"))
    ]
    assert not hits, "pickle loading in src (weights load from safetensors only):\n" + "\n".join(hits)


def test_stages_do_not_import_each_other():
    prefix = f"{PACKAGE}.stages."
    graph = import_graph()
    bad = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if module.startswith(prefix)
        for target in sorted(targets)
        if target.startswith(prefix)
    ]
    assert not bad, "stage modules importing each other:\n" + "\n".join(bad)
