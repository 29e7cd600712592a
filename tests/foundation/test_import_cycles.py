"""No import cycles between txassist's modules (imports at module level; ``TYPE_CHECKING`` blocks aside).

A cycle makes import order matter and ties two capabilities into one; issue 18 removed the last one.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _module_name(path: Path, src: Path) -> str:
    name = ".".join(path.relative_to(src).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _runtime_imports(body: list[ast.stmt], known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in known:
                found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known}
        elif isinstance(node, ast.If | ast.Try):
            found |= _runtime_imports(node.body + node.orelse, known)
            if isinstance(node, ast.Try):
                found |= _runtime_imports(node.finalbody, known)
                for handler in node.handlers:
                    found |= _runtime_imports(handler.body, known)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Each module and the package modules it imports when it is imported."""
    paths = {_module_name(p, src): p for p in src.rglob("*.py")}
    # A package importing its own submodules (``from txassist.cli import serve``) is no edge to itself.
    return {
        name: _runtime_imports(ast.parse(path.read_text()).body, set(paths)) - {name} for name, path in paths.items()
    }


def first_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (its modules in order, the first repeated at the end), or [] when there is none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return []


def test_no_module_imports_itself_back() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the walk found the package
    assert first_cycle(graph) == []


def test_a_cycle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("import pkg.a\nthing = 1\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n")
    cycle = first_cycle(import_graph(tmp_path))
    assert sorted(set(cycle)) == ["pkg.a", "pkg.b"]  # pkg.c's import is for type checking only
