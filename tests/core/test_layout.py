"""The package's shape: no import cycle between files or packages, few top-level files,
the README's layout section naming every package folder, and the public API resolving.

The import graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` and ``from ... import`` statement, at module level or inside a function, absolute
or relative, except those under ``if TYPE_CHECKING:`` (never run). ``from pkg import name``
points at the module ``pkg.name`` when that is a file, else at ``pkg`` itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "clothflow"
PACKAGE = "clothflow"
MAX_TOP_LEVEL_FILES = 6


def module_name(path: Path) -> str:
    """``src/clothflow/data/synth/body.py`` -> ``clothflow.data.synth.body``."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(p): p for p in sorted(SRC.rglob("*.py")) if "__pycache__" not in p.parts}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST):
    """Yield the import statements in ``node``, at any depth, skipping ``if TYPE_CHECKING:`` bodies."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    elif isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.orelse:
            yield from _import_nodes(child)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _import_nodes(child)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """The package's own modules that ``name`` (file ``path``) imports: [(module, line)]."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            targets = [
                f"{parent}.{alias.name}" if f"{parent}.{alias.name}" in modules else parent
                for alias in node.names
            ]
        for target in targets:
            # `import clothflow.a.b` names the module itself; walk up to the nearest file.
            while target and target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                found.append((target, node.lineno))
    return found


def file_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """(module -> imported modules, (from, to) -> ["file:line", ...]) over the package."""
    modules = all_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    where: dict[tuple[str, str], list[str]] = {}
    for name, path in modules.items():
        for target, line in imports_of(name, path, modules):
            graph[name].add(target)
            where.setdefault((name, target), []).append(f"{path.relative_to(ROOT)}:{line}")
    return graph, where


def package_of(module: str) -> str:
    """The top-level package a module belongs to: ``clothflow.data.synth.body`` -> ``data``.

    Files directly in src/clothflow (``__init__``, ``__main__``) belong to ``clothflow``.
    """
    parts = module.split(".")
    if len(parts) >= 2 and (SRC / parts[1]).is_dir():
        return parts[1]
    return PACKAGE


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The file graph collapsed onto top-level packages (self-edges dropped)."""
    out: dict[str, set[str]] = {}
    for src, targets in graph.items():
        a = package_of(src)
        out.setdefault(a, set())
        for dst in targets:
            b = package_of(dst)
            if a != b:
                out[a].add(b)
    return out


def components(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm):
    each is a group of nodes that all reach one another, i.e. lie on a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle ``[a, b, ..., a]`` per group of :func:`components`."""
    cycles = []
    for comp in components(graph):
        members = set(comp)
        start = comp[0]
        # Breadth-first search back to `start` inside the component: a shortest cycle.
        parents: dict[str, str] = {}
        frontier = [start]
        done = False
        while frontier and not done:
            nxt = []
            for v in frontier:
                for w in sorted(graph.get(v, ())):
                    if w not in members or w in parents:
                        continue
                    parents[w] = v
                    if w == start:
                        done = True
                        break
                    nxt.append(w)
                if done:
                    break
            frontier = nxt
        path = [start]
        v = parents[start]
        while v != start:
            path.append(v)
            v = parents[v]
        path.append(start)
        cycles.append(path[::-1])
    return cycles


def describe(graph: dict[str, set[str]], where: dict[tuple[str, str], list[str]]) -> str:
    """Every cycle group as text: one shortest cycle, then each import inside the group
    with the lines that make it (``file:line``)."""
    out = []
    for comp, cycle in zip(components(graph), find_cycles(graph)):
        out.append("cycle: " + " -> ".join(cycle))
        members = set(comp)
        for a in comp:
            for b in sorted(graph[a] & members):
                out.append(f"  {a} -> {b}  ({', '.join(dict.fromkeys(where.get((a, b), [])))})")
    return "\n".join(out)


def package_where(where: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    """The import lines behind each package-level edge."""
    out: dict[tuple[str, str], list[str]] = {}
    for (a, b), lines in where.items():
        pa, pb = package_of(a), package_of(b)
        if pa != pb:
            out.setdefault((pa, pb), []).extend(lines)
    return out


# --- the checks on the helpers themselves (so a broken walker cannot pass silently) ---------


def test_find_cycles_finds_a_cycle_and_passes_a_tree():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_imports_are_read_at_every_level_and_relative(tmp_path):
    graph, where = file_graph()
    # Known edges of the real package, from module-level absolute imports.
    assert "clothflow.core.errors" in graph["clothflow.core.config"]
    assert graph["clothflow.__main__"] == {"clothflow.apps.cli"}
    # Relative imports resolve against the importing file's package.
    modules = {"clothflow.x": tmp_path / "x.py", "clothflow.x.y": tmp_path / "y.py", "clothflow.x.z": tmp_path / "z.py"}
    src = tmp_path / "z.py"
    src.write_text("def f():\n    from . import y\n    from .y import thing\nif TYPE_CHECKING:\n    from .. import x\n")
    assert imports_of("clothflow.x.z", src, modules) == [("clothflow.x.y", 2), ("clothflow.x.y", 3)]


# --- the package's shape ----------------------------------------------------------------------


def test_no_import_cycle_between_files():
    graph, where = file_graph()
    assert not find_cycles(graph), "import cycles between files:\n" + describe(graph, where)


def test_no_import_cycle_between_packages():
    graph, where = file_graph()
    packages = package_graph(graph)
    assert not find_cycles(packages), "import cycles between packages:\n" + describe(packages, package_where(where))


# Lower layers first; a package may import those of its own rank or below (cycles are the
# other test's business). finet/ and animate/ build on the layers below apps/.
LAYERS = {
    "core": 0,
    "data": 1,
    "models": 2,
    "training": 3,
    "evaluation": 3,
    "deploy": 3,
    "estimate": 3,
    "finet": 4,
    "animate": 4,
    "apps": 5,
    PACKAGE: 6,
}


def test_imports_point_down_the_layers():
    graph, where = file_graph()
    packages = package_graph(graph)
    assert set(packages) == set(LAYERS), f"packages without a layer: {sorted(set(packages) ^ set(LAYERS))}"
    pwhere = package_where(where)
    upward = [
        f"  {a} -> {b}  ({', '.join(dict.fromkeys(pwhere[(a, b)]))})"
        for a in sorted(packages)
        for b in sorted(packages[a])
        if LAYERS[b] > LAYERS[a] or (LAYERS[b] == LAYERS[a] and {a, b} == {"finet", "animate"})
    ]
    order = "apps > finet/animate > training/evaluation/deploy/estimate > models > data > core"
    assert not upward, f"imports against the layers ({order}):\n" + "\n".join(upward)


def test_few_files_directly_in_the_package():
    files = sorted(p.name for p in SRC.glob("*.py"))
    assert len(files) <= MAX_TOP_LEVEL_FILES, f"{len(files)} files directly in src/clothflow: {files}"


def package_folders() -> list[str]:
    """Every folder under src/clothflow that holds an ``__init__.py``, relative (``data/synth``)."""
    return sorted(
        str(p.parent.relative_to(SRC)) for p in SRC.rglob("__init__.py") if p.parent != SRC and "__pycache__" not in p.parts
    )


def readme_layout_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Layout of the code\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert match, "README.md has no '## Layout of the code' section"
    return match.group(1)


def test_readme_layout_lists_every_package_folder():
    section = readme_layout_section()
    missing = [f for f in package_folders() if not re.search(rf"(^|\s){re.escape(f.split('/')[-1])}/", section, flags=re.M)]
    assert not missing, f"README's 'Layout of the code' does not list: {missing}"
    # And names no folder that is not there.
    named = set(re.findall(r"^\s+([a-z_]+)/", section, flags=re.M)) - {"src", "tests", "benchmarks", "clothflow"}
    existing = {f.split("/")[-1] for f in package_folders()} | {"pretrained"}
    assert named <= existing, f"README's layout names folders that do not exist: {sorted(named - existing)}"


def test_every_package_has_a_docstring():
    bare = [
        str(p.relative_to(ROOT))
        for p in sorted(SRC.rglob("__init__.py"))
        if "__pycache__" not in p.parts and not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert not bare, f"package folders without a docstring in __init__.py: {bare}"


def test_public_api_resolves():
    import clothflow

    assert clothflow.__all__, "clothflow.__all__ is empty"
    for name in clothflow.__all__:
        assert getattr(clothflow, name) is not None, name
    assert isinstance(clothflow.__version__, str)
    assert issubclass(clothflow.ClothflowError, Exception)
    assert set(clothflow.__all__) <= set(dir(clothflow))
    with pytest.raises(AttributeError, match="no_such_name"):
        clothflow.no_such_name  # noqa: B018


def test_import_clothflow_is_light():
    """``import clothflow`` (and so the command line's start) loads no torch or model code."""
    import subprocess
    import sys

    code = "import sys, clothflow; print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('clothflow.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
