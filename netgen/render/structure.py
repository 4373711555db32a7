"""What the diagram's folding reads off the graph: the scope tree (parents, stages, straight
blocks), conv → norm → activation chains, and the signature that says when two neighbours are
alike (runs.py folds them; fold.py draws them)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from weakref import WeakKeyDictionary

import networkx as nx

from ..graph import Graph, OpNode
from ..shapes import axes_of
from .inference import FOLDED, drawn_inference
from .view import View

LEVELS = ("overview", "blocks", "full")
# per drawn graph: (op labels, op signature parts, entry signatures), for as long as the graph lives
_MEMOS: WeakKeyDictionary[Graph, tuple[dict, dict, dict]] = WeakKeyDictionary()
# a layer as a lecturer draws it: its dropout (or drop-path) goes with it, "Linear · GELU · Dropout"
_CHAIN_STEPS = {"conv": 0, "linear": 0, "norm": 1, "activation": 2, "regularization": 3}


@dataclass
class _Entry:
    kind: str  # "op" | "chain" | "unit"
    ops: list[str]  # graph node ids in topological order
    scope: tuple[str, ...] = ()  # the scope it stands for; () for an op, or a chain folded from ops
    mode: str = ""  # for units: "node" | "cluster"


def resampling(in_shapes: list[tuple[int, ...]], shape: tuple[int, ...]) -> tuple:
    """How an op changes the positions of its first input (H and W of a map, N of a token
    sequence: every axis but the channels), as out/in per axis; the axes when they change."""
    def positions(s: tuple[int, ...]) -> tuple[tuple[str, int], ...]:
        return tuple((axis, size) for size, axis in zip(s, axes_of(s), strict=True) if axis != "C")

    ins, outs = positions(in_shapes[0]) if in_shapes else (), positions(shape)
    if [a for a, _ in ins] != [a for a, _ in outs]:
        return tuple(a for a, _ in ins), tuple(a for a, _ in outs)
    return tuple(Fraction(o, i) for (_, i), (_, o) in zip(ins, outs, strict=True))


class _Structure:
    """The graph as the folder reads it: its scope tree, ops in topological order, the main path."""

    def __init__(self, graph: Graph, level: str, expand: list[tuple[str, ...]], params: bool, frame_stages: bool,
                 compact: int = 0):
        if level not in LEVELS:
            raise ValueError(f"Expected a detail level in {LEVELS}; received level={level!r}")
        # the diagrams draw a dense block's connections as written, and an inference build
        # without the ops it left out (render/inference.py)
        graph, self.carriers, self.spliced = drawn_inference(graph)
        graph = graph.written()
        self.g, self.level, self.expand, self.with_params = graph, level, expand, params
        self.frame_stages, self.compact = frame_stages, compact
        self.view = View(graph.name, level, compact=compact)
        self.topo = graph.topological()
        self.index = {n: i for i, n in enumerate(self.topo)}
        self.children: dict[tuple, list] = {p: [] for p in graph.scopes}
        self.ops_in: dict[tuple, list[str]] = {p: graph.nodes_under(p) for p in graph.scopes}
        for node in self.topo:
            data = graph[node]
            parent = self._scope_parent(data.path[:-1]) if data.kind == "op" else ()
            self.children[parent].append(("op", node))
        for path in sorted(graph.scopes, key=len):
            if path and self.ops_in[path]:
                self.children[self._scope_parent(path[:-1])].append(("scope", path))
        for kids in self.children.values():
            kids.sort(key=lambda c: self.index[c[1]] if c[0] == "op" else self.index[self.ops_in[c[1]][0]])
        outputs = graph.outputs or [self.topo[-1]]
        main_out = max(outputs, key=lambda o: (len(nx.ancestors(graph.nx, o)), -outputs.index(o)))
        self.main = nx.ancestors(graph.nx, main_out) | {main_out}
        self.membership: dict[str, dict[int, int]] = {}
        self.runs = 0
        self.ids: set[str] = set()
        self.repeats: dict[tuple[str, ...], tuple[str, int] | None] = {}
        self.frames_in: dict[str | None, int] = {}  # frames (clusters) drawn so far in each frame, by id
        # what the folding asks of a scope or an op more than once (each level of frames around it
        # asks again), answered once: without these a deep tree of blocks costs its ops times its depth
        self.modes: dict[tuple[str, ...], str] = {}
        self.linear: dict[tuple[str, ...], bool] = {}
        self.entries_of: dict[tuple[str, ...], list[_Entry]] = {}
        # what depends on the drawn graph alone is shared by every view of it (a slide picture tries
        # up to 11 variants): op labels, and signatures of entries and of ops in them
        memo = _MEMOS.get(graph)
        if memo is None:
            memo = _MEMOS[graph] = ({}, {}, {})
        self.labels: dict[str, str] = memo[0]
        self.op_signatures: dict[tuple[str, bool], tuple] = memo[1]
        self.signatures: dict[tuple, tuple] = memo[2]
        self.roles_under: dict[tuple[str, ...], dict[tuple[str, ...], str | None]] = {}
        for path, scope in graph.scopes.items():  # each scope with a role, under every scope around it
            role = scope.meta.get("role")
            if role is not None:
                for k in range(len(path)):
                    self.roles_under.setdefault(path[:k], {})[path] = role

    # -- the module tree ---------------------------------------------------------------
    def _scope_parent(self, path: tuple[str, ...]) -> tuple[str, ...]:
        while path not in self.g.scopes:
            path = path[:-1]
        return path

    def _prefixes(self, path: tuple[str, ...]):
        path = self._scope_parent(path)
        while True:
            yield path
            if not path:
                return
            path = self._scope_parent(path[:-1])

    def level_of(self, path: tuple[str, ...]) -> str:
        base = LEVELS.index(self.level)
        if any(path[: len(e)] == e for e in self.expand):
            base = min(base + 1, len(LEVELS) - 1)
        return LEVELS[base]

    def is_linear(self, path: tuple[str, ...]) -> bool:
        """Whether the scope's ops are one straight line, each reading the one before."""
        if path not in self.linear:
            self.linear[path] = self._is_linear(path)
        return self.linear[path]

    def _is_linear(self, path: tuple[str, ...]) -> bool:
        ops = self.ops_in[path]
        inside = set(ops)
        for i, node in enumerate(ops):
            preds = self.g.inputs_of(node)
            if len(preds) != 1:
                return False
            if i > 0 and preds[0] != ops[i - 1]:
                return False
            if i < len(ops) - 1 and [u for u in self.g.users_of(node) if u in inside] != [ops[i + 1]]:
                return False
        return True

    def stage_block(self, path: tuple[str, ...]) -> str | None:
        """The block a stage repeats (a scope of two or more calls of one block), else None."""
        kids = self.children[path]
        if len(kids) < 2 or any(k[0] != "scope" for k in kids):
            return None
        blocks = {self.g.scopes[k[1]].block for k in kids}
        return blocks.pop() if len(blocks) == 1 else None

    def is_stage(self, path: tuple[str, ...]) -> bool:
        return self.stage_block(path) is not None

    def is_backbone(self, path: tuple[str, ...]) -> bool:
        """A block whose members are mostly blocks or stages of blocks (torchvision's segmentation
        backbones, MobileNetV3's features): framed whole it can be taller than a slide."""
        kids = self.children[path]
        scopes = [k[1] for k in kids if k[0] == "scope"]
        nested = [q for q in scopes if self.g.scopes[q].block is not None or self.is_stage(q)]
        return self.g.scopes[path].block is not None and len(nested) >= 4 and 2 * len(nested) > len(kids)

    def in_line(self, path: tuple[str, ...], part: tuple[str, ...]) -> bool:
        """Whether every op of `path` outside `part` runs before part's first op or after its last."""
        ops = self.ops_in[part]
        before, after = nx.ancestors(self.g.nx, ops[0]), nx.descendants(self.g.nx, ops[-1])
        inside = set(ops)
        return all(n in inside or n in before or n in after for n in self.ops_in[path])

    def chain_of(self, ops: list[str], dropout: bool = True) -> bool:
        """A conv/linear → norm → activation → dropout chain (any two or three in that order)."""
        if not 2 <= len(ops) <= 3:
            return False
        steps = [_CHAIN_STEPS.get(self.g.op_node(n).op.family, -1) for n in ops]
        if not dropout and _CHAIN_STEPS["regularization"] in steps:
            return False
        return -1 not in steps and all(a < b for a, b in zip(steps, steps[1:], strict=False))

    def signature(self, entry: _Entry, structural: bool = False) -> tuple:
        """What makes neighbours a run: the same ops, labels and wiring; `structural`: the same
        ops and wiring whatever their labels (the blocks of a stage at the overview)."""
        key = (entry.kind, entry.scope, tuple(entry.ops), structural)
        sig = self.signatures.get(key)
        if sig is None:
            sig = self.signatures[key] = self._signature(entry, structural)
        return sig

    def _signature(self, entry: _Entry, structural: bool) -> tuple:
        base = len(entry.scope)
        sig = []
        unit = entry.kind == "unit"
        inside = set(entry.ops) if unit else set()
        for node in entry.ops:
            data = self.g[node]
            refs = tuple(self.g[p].path[base:] if p in inside else None for p in self.g.inputs_of(node)) if unit else ()
            sig.append((data.path[base:] if entry.scope else None, *self._op_signature(node, structural), refs))
        block = self.g.scopes[entry.scope].block if entry.scope else None
        return (entry.kind, block, tuple(sig))

    def _op_signature(self, node: str, structural: bool) -> tuple:
        """(label, family, structure, inserted) of one node in a signature, worked out once: a
        node is in the signature of every scope around it."""
        key = (node, structural)
        part = self.op_signatures.get(key)
        if part is not None:
            return part
        data = self.g[node]
        label: str = data.kind
        family: str = data.kind
        structure: tuple = ()
        if isinstance(data, OpNode):
            label, family = self.op_label(node), data.op.family
            if structural or family == "regularization":
                label = data.op.kind  # a per-block drop rate (stochastic depth) does not break a run
            if structural:
                # labels aside, the geometry still must match: kernel, stride and how the
                # positions change (a strided block is not one of a run of plain ones); a
                # dilation, like a window's shift, is a setting that may alternate in a run
                window = data.op.table_kernel()
                structure = (window[:2] if window else None, resampling(data.in_shapes, data.shape))
        part = self.op_signatures[key] = (label, family, structure, data.inserted)
        return part

    def op_label(self, node: str) -> str:
        """An op's own label, saying so where the inference build folded a norm into it."""
        label = self.labels.get(node)
        if label is None:
            data = self.g.op_node(node)
            label = self.labels[node] = data.op.label(data.in_shapes, data.shape) + (
                FOLDED if node in self.carriers else "")
        return label
