"""The IR: a networkx DAG of primitive ops, annotated in place and read by every back end.

Node kinds are only `input`, `op` and `output` (torch.fx keeps a similarly tiny set). Every
node's attributes use fixed keys, each written by one pass:

    kind    "input" | "op" | "output"                    (lowering)
    op      the `Op` instance (ops/), None for input/output (lowering)
    path    module path as a tuple: ("layer1", "0", "conv1")  (lowering)
    span    `Span` of the YAML that produced the node       (lowering)
    order   insertion index, the stable tie-break for topological order (lowering)
    inserted  True for nodes netgen added (auto projection shortcuts) (lowering)
    training_only  True for nodes that feed only training-mode outputs (lowering)
    shape   output shape without the batch dimension, e.g. (64, 56, 56) (shape inference)
    in_shapes  list of the input shapes, in argument order    (shape inference)

Edges carry `index`, the argument position at the consumer. A dense block is held as a running
concatenation (`Graph.running`, below): two inputs per concat, so that its size stays linear in
its layers; `Graph.written()` is the same network with each concat's inputs as written (every
earlier output), which the code generator and the diagrams print. Scopes (the module tree that
state_dict keys follow) are kept in `Graph.scopes`, keyed by path tuple. The keys are typed:
`graph[node]` is a `NodeData` (a TypedDict over the same dict); `graph.ops()` and
`graph.op_node(node)` give an `OpNodeData`, whose op and shapes are set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, cast

import networkx as nx

from .errors import Span
from .shapes import Shape

if TYPE_CHECKING:
    from .ops.base import Op


class NodeData(TypedDict):
    """A node's attributes: the fixed keys above, typed (what `graph[node]` returns)."""

    kind: str
    op: Op | None
    path: tuple[str, ...]
    span: Span | None
    order: int
    inserted: bool
    shape: Shape | None
    in_shapes: list[Shape] | None
    training_only: bool


class OpNodeData(TypedDict):
    """An op node's attributes, as `Graph.ops()` yields them: its op and shapes are set."""

    kind: str
    op: Op
    path: tuple[str, ...]
    span: Span | None
    order: int
    inserted: bool
    shape: Shape
    in_shapes: list[Shape]
    training_only: bool


@dataclass
class Scope:
    """A named container in the module tree: a block call, a named sequence, a branch."""

    path: tuple[str, ...]
    kind: str  # "network" | "block" | "seq" | "residual" | "parallel" | "repeat"
    block: str | None = None  # the block definition it instantiates, if any
    span: Span | None = None
    doc: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else ""


class Graph:
    """A DAG of ops with module paths and shapes; a thin, typed wrapper over nx.DiGraph."""

    def __init__(self, name: str):
        self.name = name
        self.nx: nx.DiGraph = nx.DiGraph()
        # node -> its attribute dict: what `self.nx.nodes[n]` returns, without the view's per-call
        # overhead (the lowering and the analyses read nodes hundreds of thousands of times); it is
        # networkx's own store, which its stubs do not declare
        self._data: dict[str, dict] = self.nx._node  # type: ignore[attr-defined]
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.scopes: dict[tuple[str, ...], Scope] = {(): Scope((), "network", None)}
        self.meta: dict = {}
        self._order = 0
        self._topological: list[str] | None = None  # cached; reset by every change
        self._under: dict[tuple[str, ...], list[str]] | None = None  # nodes_under's index; reset likewise
        self._inputs: dict[str, tuple[str, ...]] = {}  # inputs_of, per node: fixed once the node is added
        # Concats that continue a running concatenation: their first input is the previous concat
        # of the same parts, which the network as written (and the code printed) lists part by part.
        self.running: set[str] = set()
        self._written: Graph | None = None

    # -- construction ------------------------------------------------------------------
    def add_node(self, node_id: str, *, kind: str, op=None, path: tuple[str, ...] = (), span: Span | None = None,
                 inputs: Sequence[str] = (), shape: Shape | None = None, inserted: bool = False) -> str:
        if node_id in self.nx:
            raise ValueError(f"duplicate node id {node_id!r}")  # the lowering checks names first
        self.nx.add_node(node_id, kind=kind, op=op, path=tuple(path), span=span, order=self._order,
                         inserted=inserted, shape=shape, in_shapes=None, training_only=False)
        self._order += 1
        self._topological = self._under = self._written = None
        for index, source in enumerate(inputs):
            self.nx.add_edge(source, node_id, index=index)
        if kind == "input":
            self.inputs.append(node_id)
        elif kind == "output":
            self.outputs.append(node_id)
        return node_id

    def add_scope(self, scope: Scope) -> None:
        self.scopes.setdefault(scope.path, scope)

    # -- rewriting (netgen/passes/: a pass rewrites a copy, never the graph it was given) ------
    def copy(self, name: str) -> Graph:
        """An independent copy to rewrite: its own node attribute dicts (so `graph[n]["op"] = ...`
        changes only the copy), sharing the ops, spans, shapes and scopes, which are not mutated."""
        other = Graph(name)
        other.nx = self.nx.copy()
        other._data = other.nx._node  # type: ignore[attr-defined]  # the copy's own store, not ours
        other.inputs, other.outputs = list(self.inputs), list(self.outputs)
        other.scopes = dict(self.scopes)
        other.meta = dict(self.meta)
        other._order = self._order
        other.running = set(self.running)  # a dense block stays a running concat, printed as written
        return other

    def remove_nodes(self, nodes: Iterable[str]) -> None:
        """Remove nodes and their edges (a pass leaving out what an inference build never runs)."""
        gone = set(nodes)
        self.nx.remove_nodes_from(gone)
        self.running -= gone
        self._written = None
        self.inputs = [n for n in self.inputs if n not in gone]
        self.outputs = [n for n in self.outputs if n not in gone]
        self._topological = self._under = None
        self._inputs = {}  # a remaining node may have read a removed one

    # -- reading -----------------------------------------------------------------------
    def __contains__(self, node_id: str) -> bool:
        return node_id in self.nx

    def __getitem__(self, node_id: str) -> NodeData:
        return cast(NodeData, self._data[node_id])

    def op_node(self, node_id: str) -> OpNodeData:
        """An op node's attributes, typed as such (its `op`, `shape` and `in_shapes` are set);
        a back end that knows a node is an op reads it here rather than through `graph[node]`."""
        data = self._data[node_id]
        if data["kind"] != "op" or data["shape"] is None:
            raise ValueError(f"node {node_id!r} is not an op with a shape")
        return cast(OpNodeData, data)

    def shape_of(self, node_id: str) -> Shape:
        """The output shape of a node that has one (every node the lowering hands on does)."""
        shape = self._data[node_id]["shape"]
        if shape is None:
            raise ValueError(f"node {node_id!r} has no shape")
        return shape

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def inputs_of(self, node_id: str) -> list[str]:
        """Producers of a node's arguments, in argument order. Memoized: a node's in-edges are
        all added with it (add_node), so they never change; the analyses ask thousands of times."""
        known = self._inputs.get(node_id)
        if known is None:
            preds: Iterable[tuple[str, str, int]] = self.nx.in_edges(node_id, data="index")
            known = self._inputs[node_id] = tuple(source for source, _, _ in sorted(preds, key=lambda e: e[2]))
        return list(known)

    def users_of(self, node_id: str) -> list[str]:
        return sorted(self.nx.successors(node_id), key=lambda n: self._data[n]["order"])

    def topological(self) -> list[str]:
        """Nodes in a deterministic topological order (insertion order as tie-break)."""
        if self._topological is None or len(self._topological) != len(self.nx):
            order = nx.get_node_attributes(self.nx, "order")
            self._topological = list(nx.lexicographical_topological_sort(self.nx, key=lambda n: order[n]))
        return list(self._topological)

    def ops(self) -> Iterator[tuple[str, OpNodeData]]:
        for node_id in self.topological():
            data = self._data[node_id]
            if data["kind"] == "op":
                yield node_id, cast(OpNodeData, data)

    def parameter_count(self, nodes: Iterable[str] | None = None) -> int:
        """Trainable parameters of `nodes` (every op by default): the one definition of a
        parameter total, what `sum(p.numel() for p in module.parameters())` counts."""
        total = 0
        for node_id in self.nx if nodes is None else nodes:
            data = self._data[node_id]
            if data["op"] is not None and data["shape"] is not None:
                total += data["op"].param_count(data["in_shapes"], data["shape"])
        return total

    def scope_of(self, node_id: str) -> tuple[str, ...]:
        return self._data[node_id]["path"][:-1]

    def child_scopes(self, path: tuple[str, ...]) -> list[Scope]:
        return [s for p, s in self.scopes.items() if len(p) == len(path) + 1 and p[: len(path)] == path]

    def nodes_under(self, path: tuple[str, ...]) -> list[str]:
        """Op nodes inside a scope (at any depth), in topological order: the one index of the
        module tree's contents (every path prefix, built once per graph)."""
        if self._under is None:
            self._under = {}
            for node, data in self.ops():
                for depth in range(len(data["path"])):
                    self._under.setdefault(data["path"][:depth], []).append(node)
        return list(self._under.get(path, ()))

    # -- the network as written ----------------------------------------------------------
    def parts_of(self, node_id: str) -> list[str]:
        """A node's inputs as written: a running concat's first input replaced by that concat's
        own parts (so `concat(concat(x, a), b)` reads `x, a, b`); any other node's inputs."""
        tails = []
        while node_id in self.running:
            inputs = self.inputs_of(node_id)
            tails.append(inputs[1:])
            node_id = inputs[0]
        parts = self.inputs_of(node_id)
        for tail in reversed(tails):
            parts += tail
        return parts

    def written(self) -> Graph:
        """This network with every running concat's inputs as written (`parts_of`): what the code
        generator prints (`torch.cat(features, 1)`) and the diagrams draw. Built once; the graph
        itself when it holds no running concat. Its connections grow with the square of a dense
        block's length, so they are bounded as the lowering bounds its own (limits.MAX_EDGES)."""
        if not self.running:
            return self
        if self._written is None:
            self._written = _expand_running(self)
        return self._written

    # -- checking ----------------------------------------------------------------------
    def lint(self) -> list[str]:
        """Internal invariants (not user errors): acyclic, unique paths, shapes everywhere."""
        problems = []
        if not nx.is_directed_acyclic_graph(self.nx):
            problems.append("graph has a cycle")
        seen: dict[tuple, str] = {}
        for node_id, data in self.nx.nodes(data=True):
            if data["kind"] == "op":
                if data["path"] in seen:
                    problems.append(f"nodes {seen[data['path']]} and {node_id} share path {data['path']}")
                seen[data["path"]] = node_id
            if data["shape"] is None:
                problems.append(f"node {node_id} has no shape")
        return problems


def _expand_running(graph: Graph) -> Graph:
    from . import limits
    from .errors import Diagnostic, NetgenError

    out = Graph(graph.name)
    out.inputs, out.outputs, out.scopes, out.meta = list(graph.inputs), list(graph.outputs), graph.scopes, graph.meta
    parts: dict[str, list[str]] = {}
    edges = 0
    for node_id, data in graph.nx.nodes(data=True):
        inputs = graph.inputs_of(node_id)
        if node_id in graph.running:
            inputs = parts[inputs[0]] + inputs[1:]
        if any(u in graph.running and graph.inputs_of(u)[0] == node_id for u in graph.nx.successors(node_id)):
            parts[node_id] = inputs  # the next concat of the chain lists these
        edges += len(inputs)
        if edges > limits.MAX_EDGES:
            raise NetgenError([Diagnostic(
                "NG013", f"written out, this network has over {limits.MAX_EDGES:,} connections (a dense block's "
                         "layers each read every earlier output): too many to print or draw", data["span"],
                hint="check and summary handle it; the code and the diagrams of a dense block this long do not")])
        attrs = dict(data)
        if node_id in graph.running:
            attrs["in_shapes"] = [graph.shape_of(i) for i in inputs]
        out.nx.add_node(node_id, **attrs)
        for index, source in enumerate(inputs):
            out.nx.add_edge(source, node_id, index=index)
    out._order = graph._order
    return out
