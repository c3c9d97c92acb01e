"""The package layout: no import circles, imports flow one way (cli -> capabilities -> compile -> matrix -> leaves).

The graph is read from the source with `ast`, so every import counts: module level, inside functions (the
lazy imports that keep start-up fast) and under `TYPE_CHECKING`. The allowed edges below are the same
promises each package's `__init__` docstring makes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import envgen

SRC = Path(envgen.__file__).resolve().parent
LEAVES = {"errors", "models", "fileio", "shell", "compat", "redact", "__init__"}
CAPABILITIES = {"lock", "migrate", "doctor", "build", "site"}
# unit -> the units it may import (besides itself). A unit is a subpackage or a shared leaf module.
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "errors": set(),
    "compat": set(),
    "models": {"errors"},
    "fileio": {"errors", "__init__"},
    "shell": {"errors"},
    "redact": set(),
    "matrix": LEAVES,
    "compile": LEAVES | {"matrix"},
    "lock": LEAVES | {"matrix", "compile"},
    "doctor": LEAVES | {"matrix", "compile"},
    "build": LEAVES | {"matrix", "compile"},
    "site": LEAVES | {"matrix", "compile"},
    "migrate": LEAVES | {"matrix", "compile", "lock"},
    "cli": LEAVES | {"matrix", "compile"} | CAPABILITIES,
    "__main__": {"cli"},
}
# where one capability uses another, it goes through that capability's public module, never its internals
PUBLIC_ACROSS: dict[tuple[str, str], set[str]] = {("migrate", "lock"): {"envgen.lock.read"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every envgen module `name` imports, wherever the import statement sits."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "envgen"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "envgen":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in modules else base)
    out.discard(name)
    return out


def unit_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_top_level_holds_only_packages_and_shared_leaves() -> None:
    files = {p.stem for p in SRC.glob("*.py")}
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert files == LEAVES | {"__main__"}
    assert packages == {"matrix", "compile", "cli"} | CAPABILITIES
    for package in packages:
        doc = ast.get_docstring(ast.parse((SRC / package / "__init__.py").read_text()))
        assert doc and "May import" in doc, f"envgen/{package}/__init__.py must say what it owns and may import"


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    cycles = strongly_connected(graph)
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_imports_flow_one_way(graph: dict[str, set[str]]) -> None:
    wrong = []
    for module, targets in graph.items():
        here = unit_of(module)
        for target in targets:
            there = unit_of(target)
            if there == here:
                continue
            if there not in ALLOWED[here]:
                wrong.append(f"{module} -> {target} ({here} may not import {there})")
            elif (here, there) in PUBLIC_ACROSS and target not in PUBLIC_ACROSS[here, there]:
                wrong.append(f"{module} -> {target} (only {sorted(PUBLIC_ACROSS[here, there])} is public to {here})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The graph would be worthless if a function-level or relative import escaped it."""
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from envgen.doctor import probe\n    from . import shell\n    import envgen.errors\n")
    modules = all_modules()
    found = imports_of("envgen.compile.m", mod, modules)
    assert found == {"envgen.doctor.probe", "envgen.compile", "envgen.errors"}
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that import each other (directly or around a circle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.add(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
