"""The IR: a networkx DAG of primitive ops, annotated in place and read by every back end.

Node kinds are only `input`, `op` and `output` (torch.fx keeps a similarly tiny set). Each
node is a `Node` (an `OpNode` for an op), a slotted dataclass that the lowering creates and
every back end reads by attribute; each field is written by one pass:

    kind    "input" | "op" | "output"                    (lowering)
    path    module path as a tuple: ("layer1", "0", "conv1")  (lowering)
    shape   output shape without the batch dimension, e.g. (64, 56, 56) (shape inference)
    span    `Span` of the YAML that produced the node       (lowering)
    order   insertion index, the stable tie-break for topological order (Graph.add_node)
    inserted  True for nodes netgen added (auto projection shortcuts) (lowering)
    training_only  True for nodes that feed only training-mode outputs (lowering)
  and on an `OpNode` only:
    op      the `Op` instance (ops/)                        (lowering)
    in_shapes  list of the input shapes, in argument order    (shape inference)

Every node in a graph has its shape: the lowering adds a node only once its shape rule has
answered. Edges carry `index`, the argument position at the consumer. A dense block is held as a
running concatenation (`Graph.running`, below): two inputs per concat, so that its size stays
linear in its layers; `Graph.written()` is the same network with each concat's inputs as written
(every earlier output), which the code generator and the diagrams print. Scopes (the module tree
that state_dict keys follow) are kept in `Graph.scopes`, keyed by path tuple. networkx holds the
structure (edges); the nodes themselves are kept by id in `Graph.nodes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import networkx as nx

from .errors import Span
from .shapes import Shape

if TYPE_CHECKING:
    from .ops.base import Op

NodeKind = Literal["input", "op", "output"]


@dataclass(slots=True, eq=False, kw_only=True)
class Node:
    """A graph input or output (an op is an `OpNode`): what every node has."""

    kind: NodeKind
    path: tuple[str, ...]
    shape: Shape
    span: Span | None = None
    order: int = 0  # set by Graph.add_node
    inserted: bool = False
    training_only: bool = False


@dataclass(slots=True, eq=False, kw_only=True)
class OpNode(Node):
    """An op node: its `Op` and the shapes it was given, beside what every node has."""

    kind: NodeKind = "op"
    op: Op
    in_shapes: list[Shape]


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
        self.nodes: dict[str, Node] = {}  # by id, in insertion order
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
    def add_node(self, node_id: str, node: Node, inputs: Sequence[str] = ()) -> str:
        """Add `node` as `node_id`, fed by `inputs` in argument order; its `order` is set here."""
        if node_id in self.nodes:
            raise ValueError(f"duplicate node id {node_id!r}")  # the lowering checks names first
        node.order = self._order
        self._order += 1
        self.nodes[node_id] = node
        self.nx.add_node(node_id)
        self._topological = self._under = self._written = None
        for index, source in enumerate(inputs):
            self.nx.add_edge(source, node_id, index=index)
        if node.kind == "input":
            self.inputs.append(node_id)
        elif node.kind == "output":
            self.outputs.append(node_id)
        return node_id

    def add_scope(self, scope: Scope) -> None:
        self.scopes.setdefault(scope.path, scope)

    # -- rewriting (netgen/passes/: a pass rewrites a copy, never the graph it was given) ------
    def copy(self, name: str) -> Graph:
        """An independent copy to rewrite: its own nodes (so `graph[n].op = ...` changes only the
        copy), sharing the ops, spans, shapes and scopes, which are not mutated."""
        other = Graph(name)
        other.nx = self.nx.copy()
        other.nodes = {node_id: replace(node) for node_id, node in self.nodes.items()}
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
        for node_id in gone:
            self.nodes.pop(node_id, None)
        self.inputs = [n for n in self.inputs if n not in gone]
        self.outputs = [n for n in self.outputs if n not in gone]
        self.running -= gone
        self._topological = self._under = self._written = None
        self._inputs = {}  # a remaining node may have read a removed one

    # -- reading -----------------------------------------------------------------------
    def __contains__(self, node_id: str) -> bool:
        return node_id in self.nodes

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def op_node(self, node_id: str) -> OpNode:
        """A node that the caller knows is an op, typed as such."""
        node = self.nodes[node_id]
        if not isinstance(node, OpNode):
            raise ValueError(f"node {node_id!r} is not an op")
        return node

    def shape_of(self, node_id: str) -> Shape:
        return self.nodes[node_id].shape

    def __len__(self) -> int:
        return len(self.nodes)

    def inputs_of(self, node_id: str) -> list[str]:
        """Producers of a node's arguments, in argument order. Memoized: a node's in-edges are
        all added with it (add_node), so they never change; the analyses ask thousands of times."""
        known = self._inputs.get(node_id)
        if known is None:
            preds: Iterable[tuple[str, str, int]] = self.nx.in_edges(node_id, data="index")
            known = self._inputs[node_id] = tuple(source for source, _, _ in sorted(preds, key=lambda e: e[2]))
        return list(known)

    def users_of(self, node_id: str) -> list[str]:
        nodes = self.nodes
        return sorted(self.nx.successors(node_id), key=lambda n: nodes[n].order)

    def topological(self) -> list[str]:
        """Nodes in a deterministic topological order (insertion order as tie-break)."""
        if self._topological is None or len(self._topological) != len(self.nodes):
            nodes = self.nodes
            self._topological = list(nx.lexicographical_topological_sort(self.nx, key=lambda n: nodes[n].order))
        return list(self._topological)

    def ops(self) -> Iterator[tuple[str, OpNode]]:
        nodes = self.nodes
        for node_id in self.topological():
            node = nodes[node_id]
            if isinstance(node, OpNode):
                yield node_id, node

    def parameter_count(self, nodes: Iterable[str] | None = None) -> int:
        """Trainable parameters of `nodes` (every op by default): the one definition of a
        parameter total, what `sum(p.numel() for p in module.parameters())` counts."""
        total = 0
        for node_id in self.nodes if nodes is None else nodes:
            node = self.nodes[node_id]
            if isinstance(node, OpNode):
                total += node.op.param_count(node.in_shapes, node.shape)
        return total

    def scope_of(self, node_id: str) -> tuple[str, ...]:
        return self.nodes[node_id].path[:-1]

    def child_scopes(self, path: tuple[str, ...]) -> list[Scope]:
        return [s for p, s in self.scopes.items() if len(p) == len(path) + 1 and p[: len(path)] == path]

    def nodes_under(self, path: tuple[str, ...]) -> list[str]:
        """Op nodes inside a scope (at any depth), in topological order: the one index of the
        module tree's contents (every path prefix, built once per graph)."""
        if self._under is None:
            self._under = {}
            for node_id, node in self.ops():
                for depth in range(len(node.path)):
                    self._under.setdefault(node.path[:depth], []).append(node_id)
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
        """Internal invariants (not user errors): acyclic, unique op paths, an edge only
        between nodes that exist (networkx adds a missing end silently)."""
        problems = []
        if not nx.is_directed_acyclic_graph(self.nx):
            problems.append("graph has a cycle")
        seen: dict[tuple, str] = {}
        for node_id, node in self.nodes.items():
            if node.kind == "op":
                if node.path in seen:
                    problems.append(f"nodes {seen[node.path]} and {node_id} share path {node.path}")
                seen[node.path] = node_id
        if len(self.nx) != len(self.nodes):
            problems.append("an edge names a node that was never added: "
                            + ", ".join(sorted(n for n in self.nx if n not in self.nodes)))
        return problems


def _expand_running(graph: Graph) -> Graph:
    from . import limits
    from .errors import Diagnostic, NetgenError

    out = Graph(graph.name)
    out.inputs, out.outputs, out.scopes, out.meta = list(graph.inputs), list(graph.outputs), graph.scopes, graph.meta
    parts: dict[str, list[str]] = {}
    edges = 0
    for node_id, node in graph.nodes.items():
        inputs = graph.inputs_of(node_id)
        if node_id in graph.running:
            inputs = parts[inputs[0]] + inputs[1:]
        if any(u in graph.running and graph.inputs_of(u)[0] == node_id for u in graph.nx.successors(node_id)):
            parts[node_id] = inputs  # the next concat of the chain lists these
        edges += len(inputs)
        if edges > limits.MAX_EDGES:
            raise NetgenError([Diagnostic(
                "NG013", f"written out, this network has over {limits.MAX_EDGES:,} connections (a dense block's "
                         "layers each read every earlier output): too many to print or draw", node.span,
                hint="check and summary handle it; the code and the diagrams of a dense block this long do not")])
        if node_id in graph.running and isinstance(node, OpNode):  # a running concat is an op
            node = replace(node, in_shapes=[graph.shape_of(i) for i in inputs])
        out.nodes[node_id] = node  # its own order kept: the same tie-break as the graph it writes out
        out.nx.add_node(node_id)
        for index, source in enumerate(inputs):
            out.nx.add_edge(source, node_id, index=index)
    out._order = graph._order
    return out
