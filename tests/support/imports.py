"""The import graph of a source tree, read with ``ast`` (nothing is imported): which modules each
module imports, at its top or inside a function, ``TYPE_CHECKING`` blocks included, since an
arrow a type checker follows is still an arrow a reader must follow."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Arrow:
    """One import: the importing module, the imported one, and the line."""

    source: str
    target: str
    line: int


def module_name(path: Path, root: Path) -> str:
    """The dotted name of ``path`` under ``root`` (the folder that holds the top package)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def arrows(path: Path, name: str, prefix: str) -> list[Arrow]:
    """Every import in the file at ``path`` (module ``name``) of a module under ``prefix``;
    ``from package import module`` names the module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == prefix or node.module.startswith(prefix + "."):
                found += [Arrow(name, f"{node.module}.{alias.name}", node.lineno)
                          for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [Arrow(name, alias.name, node.lineno) for alias in node.names
                      if alias.name == prefix or alias.name.startswith(prefix + ".")]
    return found


def graph(package: Path) -> tuple[set[str], list[Arrow]]:
    """The modules of ``package`` (a folder) and the arrows between them, each target
    narrowed to a module that exists (``from m import name`` points at ``m``)."""
    root = package.parent
    files = {module_name(path, root): path for path in sorted(package.rglob("*.py"))}
    out = []
    for name, path in files.items():
        for arrow in arrows(path, name, package.name):
            target = arrow.target
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.append(Arrow(name, target, arrow.line))
    return set(files), out


def cycles(modules: set[str], edges: list[Arrow]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    following: dict[str, set[str]] = {m: set() for m in modules}
    for edge in edges:
        following[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(following[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(modules):
        if node not in index:
            visit(node)
    return found
