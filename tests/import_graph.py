"""Build timebok's import graph as installed (`timebok.*`) and print its import circles, one per line.

grimp (under import-linter) finds a package's modules by walking its folder, but the repository's
folders install under `timebok` through setuptools' package-dir mapping, so there is no one folder to
walk. `mirror()` builds one: a temporary `timebok/` of links to the mapped folders, read from
pyproject.toml so it follows the real mapping.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mirror(into: Path) -> Path:
    """Lay out `into/timebok/...` as links to the folders pyproject.toml maps; return `into`."""
    mapping = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(mapping.items()):
        target = into.joinpath(*package.split("."))
        if package == "timebok":
            target.mkdir(parents=True)
            (target / "__init__.py").write_text((REPO / folder / "__init__.py").read_text())
        else:
            target.symlink_to(REPO / folder, target_is_directory=True)
    return into


def circles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted; a module importing itself counts too."""
    edges = {m: sorted(x for x in graph.find_modules_directly_imported_by(m) if x.startswith("timebok")) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges[node]:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for module in sorted(edges):
        if module not in index:
            visit(module)
    return sorted(found)


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    import grimp

    graph = grimp.build_graph("timebok")
    print(len(graph.modules))
    for group in circles(graph):
        print(" ".join(group))
