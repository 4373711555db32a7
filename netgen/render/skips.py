"""Skip edges: the arrows of a diagram a reader sees as skips (residual identities, dense
connections, U-Net's skips, projection shortcuts), drawn apart from the main flow.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from ..graph import Graph


def skip_edges(graph: Graph) -> set[tuple[str, str]]:
    """Edges a reader sees as skips: an input u of a multi-input op v that also reaches v the
    long way, through another of v's inputs, at least three ops deep (residual identities,
    dense connections, U-Net skips, squeeze-and-excitation scales; not U-Net's two-step
    `up → crop → concat`), and every edge into, out of or inside a projection shortcut.
    Computed once per graph (the folder asks for it per view)."""
    graph = graph.written()  # the diagrams draw a dense block's connections as written
    cached = _SKIPS.get(graph)
    if cached is None:
        cached = _SKIPS[graph] = _skip_edges(graph)
    return set(cached)


_SKIPS: WeakKeyDictionary = WeakKeyDictionary()


def _skip_edges(graph: Graph) -> set[tuple[str, str]]:
    # reachability as bit sets, one pass in reverse topological order: O(nodes x edges / word)
    # instead of a breadth-first search per input (which took seconds on DenseNet-201)
    g = graph.nx
    order = graph.topological()
    bit = {n: 1 << i for i, n in enumerate(order)}
    reach: dict[str, int] = {}
    for n in reversed(order):
        mask = 0
        for s in g.successors(n):
            mask |= bit[s] | reach[s]
        reach[n] = mask
    skips: set[tuple[str, str]] = set()
    for node in order:
        preds = graph.inputs_of(node)
        if len(preds) < 2:
            continue
        for u in preds:
            # u -> w -> ... -> q -> node, with w != q: a path of at least two edges to another input q
            for q in preds:
                if q != u and any(w != q and reach[w] & bit[q] for w in g.successors(u)):
                    skips.add((u, node))
                    break
    projection = {p for p, s in graph.scopes.items() if s.meta.get("role") == "projection" or
                  (p and p[-1] == "shortcut" and graph.scopes.get(p[:-1]) is not None)}
    if projection:
        for u, v in g.edges():
            if under_any(graph[u].path, projection) or under_any(graph[v].path, projection):
                skips.add((u, v))
    return skips


def strictly_under(path: tuple[str, ...], scope: tuple[str, ...]) -> bool:
    """Whether `path` lies inside `scope` (not `scope` itself)."""
    return len(path) > len(scope) and path[: len(scope)] == scope


def under_any(path: tuple[str, ...], scopes: set[tuple[str, ...]] | dict) -> bool:
    """Whether `path` lies strictly inside any of `scopes`: its proper prefixes looked up, so the
    cost is the path's depth, not the number of scopes (a ResNet has a projection per stage)."""
    return any(path[:k] in scopes for k in range(len(path)))
