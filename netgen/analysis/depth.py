"""Rows summed by depth, as torchinfo's `depth`: ops nested deeper than N levels of the
module tree are summed into their enclosing scope at depth N.

Depth counts path components: `conv1` is depth 1, `layer1.0.conv1` depth 3. With depth 1,
ResNet-50 shows conv1, bn1, relu, maxpool, layer1..layer4, avgpool, flatten and fc, each
stage one row. A summed row adds up params, buffers, MACs (and their activation-product part),
other FLOPs and allocated activation
bytes of its ops; its output shape and receptive field are those of the scope's output (the
last of its ops, in topological order, that something outside the scope reads).
"""

from __future__ import annotations

from ..graph import Graph
from .layers import Row


def scope_label(graph: Graph | None, key: tuple[str, ...]) -> str:
    scope = graph.scopes.get(key) if graph is not None else None
    if scope is None:
        return "block"
    return scope.block or scope.kind


def rows_at_depth(rows: list[Row], depth: int | None, graph: Graph | None = None) -> list[Row]:
    """Rows summed to at most `depth` path levels; `None` (or 0) keeps every op."""
    if not depth or depth < 0:
        return list(rows)
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        parts = tuple(row.path.split("."))
        groups.setdefault(parts[:depth], []).append(row)
    rows_out = []
    for key, members in groups.items():
        if len(members) == 1 and tuple(members[0].path.split(".")) == key:
            rows_out.append(members[0])
            continue
        out = _scope_output(members, graph)
        rows_out.append(Row(
            path=".".join(key), op=scope_label(graph, key), output_shape=out.output_shape,
            params=sum(r.params for r in members), buffers=sum(r.buffers for r in members),
            int64_buffers=sum(r.int64_buffers for r in members),
            macs=sum(r.macs for r in members), product_macs=sum(r.product_macs for r in members),
            other_flops=sum(r.other_flops for r in members),
            output_bytes=out.output_bytes, activation_bytes=sum(r.activation_bytes for r in members),
            saved_bytes=sum(r.saved_bytes for r in members),
            rf=out.rf, depth=len(key), count=sum(r.count for r in members),
            training_only=all(r.training_only for r in members),
            inserted=all(r.inserted for r in members), nodes=[n for r in members for n in r.nodes],
        ))
    return rows_out


def _scope_output(members: list[Row], graph: Graph | None) -> Row:
    if graph is None:
        return members[-1]
    inside = {n for r in members for n in r.nodes}
    leaving = [r for r in members if any(u not in inside for n in r.nodes for u in graph.users_of(n))]
    return leaving[-1] if leaving else members[-1]
