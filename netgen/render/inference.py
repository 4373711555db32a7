"""How a diagram draws the inference build (netgen/passes/inference.py): what the pass left out
is not drawn, and an op that absorbed a batch norm says so.

The pass keeps a left-out op (a folded norm, dropout, drop-path) as an identity so that the
module numbering stays the training build's; a diagram has no such reason, and an "Identity"
box would only hide that the norm now lives in the conv before it. So the picture splices the
plan's left-out ops out (their readers read their input) and labels each op a norm folded into
with ", norm folded". Read from the plan, by module path: the renderer names no op kind.
"""

from __future__ import annotations

from ..graph import Graph

FOLDED = ", norm folded"  # appended to the label of an op that absorbed a batch norm


def drawn_inference(graph: Graph) -> tuple[Graph, set[str], dict[str, str]]:
    """(the graph a diagram draws, the ops that carry a folded norm, each op spliced out -> the
    node it passed on, whose box stands for it); `graph` itself when it is no inference build."""
    plan = graph.meta.get("inference")
    if plan is None:
        return graph, set(), {}
    by_path = {".".join(data.path): node for node, data in graph.ops()}
    carriers = {by_path[f.into] for f in plan.folds if f.into in by_path}
    left_out = [by_path[p] for p in [f.norm for f in plan.folds] + list(plan.identities) if p in by_path]
    g = graph.copy(graph.name)
    spliced: dict[str, str] = {}
    for node in left_out:
        sources, users = g.inputs_of(node), g.users_of(node)
        if len(sources) != 1 or any(sources[0] in g.inputs_of(u) for u in users):
            continue  # a reader that also reads the input (x + identity(x)): keep the box
        for user in users:
            g.nx.add_edge(sources[0], user, index=g.nx.edges[node, user]["index"])
        g.remove_nodes([node])
        spliced[node] = sources[0]
    g.scopes = {p: s for p, s in g.scopes.items() if not p or g.nodes_under(p)}
    return g, carriers, spliced
