"""Print timebok's import circles, one per line, after the number of modules in its import graph (grimp, under import-linter)."""

from __future__ import annotations

import sys


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
    import grimp

    # Imports made only for type annotations (under TYPE_CHECKING) never run, so they cannot make a circle at import time.
    graph = grimp.build_graph("timebok", exclude_type_checking_imports=True)
    print(len(graph.modules))
    for group in circles(graph):
        print(" ".join(group))
