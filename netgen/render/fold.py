"""Levels of detail: fold the annotated graph into the boxes, clusters and arrows a diagram draws.

A diagram is a `View`, built from the graph alone (no torch): its nodes are single ops, folded
chains (conv → norm → activation), whole blocks or stages, and runs of identical neighbours
folded into one representative marked ×N. Three levels:

    overview  one node per top-level block or stage; plain sequences are spliced in, long
              straight blocks (VGG's `features`) show their folded chains; a block that is
              mostly N identical blocks (a transformer's encoder) says "Layer ×N"
    blocks    each block a cluster; a run of identical blocks shows one representative ×N;
              conv → norm → activation → dropout chains fold into one node
    full      every op; non-linear blocks (residual, parallel, dense) are clusters

`expand` names scope paths drawn one level finer than the rest. Every graph node maps to the
view node that shows it (`View.owner`), so counts can be checked against the graph. What a
view holds is in view.py; which arrows read as skips, in skips.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import networkx as nx

from ..graph import Graph, OpNode
from ..shapes import axes_of, format_shape
from ..values import unique_name
from .inference import FOLDED, drawn_inference
from .skips import skip_edges, strictly_under
from .style import format_count
from .view import VCluster, VEdge, View, VNode

LEVELS = ("overview", "blocks", "full")
# a layer as a lecturer draws it: its dropout (or drop-path) goes with it, "Linear · GELU · Dropout"
_CHAIN_STEPS = {"conv": 0, "linear": 0, "norm": 1, "activation": 2, "regularization": 3}
_MAX_PERIOD = 3
_WRAP_OVER = 16  # characters; a short chain title ("BN · ReLU") stays on one line


@dataclass
class _Entry:
    kind: str  # "op" | "chain" | "unit"
    ops: list[str]  # graph node ids in topological order
    scope: tuple[str, ...] = ()  # the scope it stands for; () for an op, or a chain folded from ops
    mode: str = ""  # for units: "node" | "cluster"


def pretty(name: str) -> str:
    """`dense_block` -> `Dense block`, `se_bottleneck` -> `SE bottleneck`."""
    words = name.replace("_", " ").split()
    # short letter words are initials or variants: `se_bottleneck` -> `SE bottleneck`, `inception_a` -> `Inception A`
    words = [w.upper() if len(w) <= 2 and w.isalpha() else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def resampling(in_shapes: list[tuple[int, ...]], shape: tuple[int, ...]) -> tuple:
    """How an op changes the positions of its first input (H and W of a map, N of a token
    sequence: every axis but the channels), as out/in per axis; the axes when they change."""
    def positions(s: tuple[int, ...]) -> tuple[tuple[str, int], ...]:
        return tuple((axis, size) for size, axis in zip(s, axes_of(s), strict=True) if axis != "C")

    ins, outs = positions(in_shapes[0]) if in_shapes else (), positions(shape)
    if [a for a, _ in ins] != [a for a, _ in outs]:
        return tuple(a for a, _ in ins), tuple(a for a, _ in outs)
    return tuple(Fraction(o, i) for (_, i), (_, o) in zip(ins, outs, strict=True))


def short_label(label: str) -> str:
    return {"BatchNorm": "BN"}.get(label, label)


class _Folder:
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

    def repeated_stage(self, path: tuple[str, ...]) -> tuple[str, int] | None:
        """(block name, N) when the block at `path` is mostly one stage of N identical blocks, in
        line with the rest of it (a transformer's encoder: a position embedding, N layers, a
        norm), else None. Not a fractal: its stage of two fractals runs beside a shallow branch."""
        if path in self.repeats:
            return self.repeats[path]
        found = None
        block = self.g.scopes[path].block
        if block is not None:
            stages = [k[1] for k in self.children[path] if k[0] == "scope" and self.is_stage(k[1])]
            if len(stages) == 1 and 2 * len(self.ops_in[stages[0]]) >= len(self.ops_in[path]):
                kids = [k[1] for k in self.children[stages[0]]]
                inner = self.g.scopes[kids[0]].block
                sigs = {self.signature(_Entry("unit", list(self.ops_in[k]), k, "node")) for k in kids}
                if len(sigs) == 1 and inner is not None and inner != block and self.in_line(path, stages[0]):
                    found = (inner, len(kids))
        self.repeats[path] = found
        return found

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

    def mode(self, path: tuple[str, ...]) -> str:
        scope = self.g.scopes[path]
        level = self.level_of(path)
        if scope.meta.get("role") == "projection":
            return "transparent"
        linear = self.is_linear(path)
        if linear and self.chain_of(self.ops_in[path]) and level != "full":
            return "chain"
        plain = scope.kind == "seq" and scope.block is None
        stage = self.is_stage(path)
        side = not any(n in self.main for n in self.ops_in[path])  # an auxiliary head
        if level == "full":
            return "transparent" if (linear or plain or stage) else "cluster"
        if level == "overview" and not side:
            if stage:
                # a stage is its blocks: the first (which usually carries the stride and the
                # projection) and runs of identical ones folded ×N, as a lecturer draws them
                return "transparent"
            parent = self._scope_parent(path[:-1])
            if self.level_of(parent) == "overview" and self.is_stage(parent):
                return "node"  # a block of a stage is one box, even a long straight one
        outer = {self.g.scopes[q].block for q in self._prefixes(path[:-1]) if q} - {None}
        if self.compact >= 2 and level == "blocks" and scope.block is not None and not linear and outer \
                and scope.block not in outer:
            return "node"  # compact: a block in another block (an SE gate; not a fractal in a fractal) is a box
        if plain and not stage and not side or stage and not self.frame_stages:
            return "transparent"
        if not self.frame_stages and level == "blocks" and not side and (
                self.is_backbone(path) or self.repeated_stage(path) is not None):
            # a block that is a run of blocks (a backbone, a transformer's encoder): pages may cut inside it
            return "transparent"
        if linear and not stage and not side and len(self.fold_chains(self.entries(path), path, dropout=False)) > 3:
            # a long straight block (VGG's features and classifier) reads best as its chains; its
            # length counted without folding dropouts in, which would make VGG's classifier one box
            return "transparent"
        return "cluster" if level == "blocks" else "node"

    def entries(self, path: tuple[str, ...]) -> list[_Entry]:
        out: list[_Entry] = []
        for kind, ref in self.children[path]:
            if kind == "op":
                out.append(_Entry("op", [ref]))
                continue
            mode = self.mode(ref)
            if mode == "transparent":
                out.extend(self.entries(ref))
            elif mode == "chain":
                out.append(_Entry("chain", list(self.ops_in[ref]), ref))
            else:
                out.append(_Entry("unit", list(self.ops_in[ref]), ref, mode))
        return out

    def fold_chains(self, entries: list[_Entry], path: tuple[str, ...] = (), dropout: bool = True) -> list[_Entry]:
        if self.level_of(path) == "full":
            return entries
        out: list[_Entry] = []
        for entry in entries:
            last = out[-1] if out else None
            if (entry.kind == "op" and last is not None and last.kind in ("op", "chain") and not last.scope
                    and self.g[entry.ops[0]].kind == "op" and self.g[last.ops[-1]].kind == "op"
                    and self.g.inputs_of(entry.ops[0]) == [last.ops[-1]]
                    and self.g.users_of(last.ops[-1]) == [entry.ops[0]]
                    and self.g[entry.ops[0]].inserted == self.g[last.ops[-1]].inserted
                    and self.chain_of(last.ops + entry.ops, dropout)):
                out[-1] = _Entry("chain", last.ops + entry.ops)
            else:
                out.append(entry)
        return out

    # -- runs of identical neighbours ------------------------------------------------------
    def signature(self, entry: _Entry, structural: bool = False) -> tuple:
        """What makes neighbours a run: the same ops, labels and wiring; `structural`: the same
        ops and wiring whatever their labels (the blocks of a stage at the overview)."""
        base = entry.scope or ()
        sig = []
        inside = set(entry.ops)
        for node in entry.ops:
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
            refs = tuple(self.g[p].path[len(base):] if p in inside else None for p in self.g.inputs_of(node))
            sig.append((data.path[len(base):] if entry.scope else None, label, family, structure,
                        data.inserted, refs if entry.kind == "unit" else ()))
        block = self.g.scopes[entry.scope].block if entry.scope else None
        return (entry.kind, block, tuple(sig))

    def run_key(self, entry: _Entry) -> tuple:
        """The signature runs are found by. At the overview a stage's blocks that differ only in
        their labels are one run (Swin's blocks alternate plain and shifted windows: "Swin block
        ×6", as the paper draws a stage); a block whose ops differ (ResNet's first, with its
        projection) still stands alone, and the blocks level draws each kind of block."""
        if entry.kind == "unit" and entry.mode == "node" and entry.scope:
            parent = self._scope_parent(entry.scope[:-1])
            if self.level_of(entry.scope) == "overview" and self.is_stage(parent):
                return ("stage", parent, self.signature(entry, structural=True))
        return self.signature(entry)

    def linked(self, a: list[_Entry], b: list[_Entry]) -> bool:
        left = {n for e in a for n in e.ops}
        return any(p in left for e in b for n in e.ops for p in self.g.inputs_of(n))

    def runs_of(self, entries: list[_Entry]) -> list[tuple[list[_Entry], list[list[_Entry]]]]:
        """Group entries into (representative, members); a member is `period` entries."""
        if self.level == "full" and not self.expand:
            return [([e], [[e]]) for e in entries]
        sigs = [self.run_key(e) for e in entries]
        out, i = [], 0
        while i < len(entries):
            best = (1, 1)
            for period in range(1, _MAX_PERIOD + 1):
                m = 1
                while (i + (m + 1) * period <= len(entries)
                       and sigs[i + m * period: i + (m + 1) * period] == sigs[i: i + period]
                       and self.linked(entries[i + (m - 1) * period: i + m * period],
                                       entries[i + m * period: i + (m + 1) * period])):
                    m += 1
                if m > 1 and m * period > best[0] * best[1]:
                    best = (m, period)
            m, period = best
            if any(self.level_of(e.scope or self.g[e.ops[0]].path[:-1]) == "full" for e in entries[i: i + period]):
                m, period = 1, 1
            members = [entries[i + k * period: i + (k + 1) * period] for k in range(m)]
            out.append((members[0], members))
            i += m * period
        return out

    # -- building the view -----------------------------------------------------------------
    def new_id(self, base: str) -> str:
        candidate = "n_" + "".join(c if c.isalnum() else "_" for c in base)
        name = unique_name(candidate, self.ids, first=2)
        self.ids.add(name)
        return name

    def rel(self, path: tuple[str, ...], base: tuple[str, ...]) -> str:
        if path[: len(base)] == base and len(path) > len(base):
            path = path[len(base):]
        return ".".join(path)

    def span_text(self, members: list[list[_Entry]], base: tuple[str, ...], position: int) -> str:
        """`conv1 – relu` for a chain, `layer1.1 – layer1.2` for a run, relative to `base`."""
        first = members[0][position]

        def name(e: _Entry) -> str:
            return self.rel(e.scope if e.scope else self.g[e.ops[0]].path, base)

        start = name(first)
        if len(members) == 1:
            if first.kind == "chain" and not first.scope and len(first.ops) > 1:
                return f"{start} – {self.rel(self.g[first.ops[-1]].path, base)}"
            return start
        return f"{start} – {name(members[-1][position])}"

    def add_node(self, entry: _Entry, members: list[list[_Entry]], position: int, cluster: str | None,
                 base: tuple[str, ...], mark: bool = True) -> str:
        count = len(members)
        every = [n for member in members for n in member[position].ops]
        first = self.g[entry.ops[0]]
        inserted = all(self.g[n].inserted for n in entry.ops)
        if first.kind in ("input", "output"):
            node = VNode(self.new_id(entry.ops[0]), first.kind.capitalize(), "", "io", cluster, "io")
            if len(first.path) > 1:
                node.detail = ".".join(first.path[1:])
        elif entry.kind == "unit":
            scope = self.g.scopes[entry.scope]
            kids = self.children[entry.scope]
            kid_blocks = {self.g.scopes[k[1]].block for k in kids if k[0] == "scope"}
            n_kids = sum(1 for k in kids if k[0] == "scope")
            title = pretty(scope.block or (scope.name if scope.kind == "seq" else scope.kind))
            detail = ""
            staged = self.stage_block(entry.scope)
            only = kid_blocks.pop() if len(kid_blocks) == 1 else None
            if staged is not None:
                title = f"{pretty(staged)} ×{len(kids)}"
            elif only is not None and n_kids > 1:
                detail = f"{n_kids} × {pretty(only)}"
            elif (repeated := self.repeated_stage(entry.scope)) is not None:
                detail = f"{pretty(repeated[0])} ×{repeated[1]}"  # an encoder of N identical layers
            else:
                stride, detail = self.unit_detail(entry)
                title += stride
            node = VNode(self.new_id(".".join(entry.scope)), title, "", "block", cluster, "unit", detail=detail,
                         scope=entry.scope)
        else:
            op_nodes = [self.g.op_node(n) for n in entry.ops]
            labels = [short_label(self.op_label(n)) for n in entry.ops]
            family = op_nodes[0].op.family
            kind = "chain" if len(entry.ops) > 1 else "op"
            node_id = self.new_id(".".join(entry.scope or first.path))
            node = VNode(node_id, " · ".join(labels), "", family, cluster, kind)
            node.wrap = self.compact >= 1 and len(labels) > 1 and len(node.title) > _WRAP_OVER
        node.sub = self.span_text(members if mark else members[:1], base, position) if first.kind == "op" else ""
        if inserted:
            node.sub = (node.sub + " · " if node.sub else "") + "inserted shortcut"
        node.count, node.inserted, node.members = (count if mark else 1), inserted, every
        node.params = self.g.parameter_count(every) if self.with_params else 0
        self.view.nodes[node.id] = node
        for n in every:
            self.view.owner[n] = node.id
        return node.id

    def op_label(self, node: str) -> str:
        """An op's own label, saying so where the inference build folded a norm into it."""
        data = self.g.op_node(node)
        return data.op.label(data.in_shapes, data.shape) + (FOLDED if node in self.carriers else "")

    def unit_detail(self, entry: _Entry) -> tuple[str, str]:
        """What sets a block box apart from its identical neighbours: its stride, written after
        the title as for ops (" /2"), and a shortcut that is not the identity (the detail line):
        a projection, option A (subsample and zero channels) or one the blueprint spells out."""
        stride = ""
        first, last = self.g.op_node(entry.ops[0]), self.g.op_node(entry.ops[-1])
        before = first.in_shapes[0] if first.in_shapes else None
        after = last.shape
        if before is not None and len(before) == 3 == len(after) and after[-1] > 0:
            factor = before[-1] / after[-1]  # a stride, not the border an unpadded conv trims
            if round(factor) >= 2 and abs(factor - round(factor)) < 0.2:
                stride = f" /{round(factor)}"
        inner = {path: scope.meta.get("role") for path, scope in self.g.scopes.items()
                 if strictly_under(path, entry.scope)}
        if "projection" in inner.values():
            return stride, "projection shortcut"
        # a shortcut spelled out as ops (an empty one is the identity); one op says what it is in
        # its own label (CIFAR ResNets' "Shortcut A /2, 32"), so the renderer names no op kind
        spelled = [path for path, role in inner.items() if role == "shortcut"]
        ops = [n for n in entry.ops if any(strictly_under(self.g[n].path, p) for p in spelled)]
        data = self.g[ops[0]] if len(ops) == 1 else None
        if isinstance(data, OpNode):
            label = self.op_label(ops[0])
            return stride, label if "shortcut" in label.lower() else f"shortcut: {label}"
        if ops:
            return stride, "shortcut: own ops"
        return stride, ""

    def distinct_label(self, entry: _Entry, others: list[_Entry]) -> str:
        """The first op label of `entry` that none of `others` has ("Window attention 7×7, shift 3,
        12 heads" beside its unshifted twin), or ""."""
        def labels(e: _Entry) -> list[str]:
            ops = [n for n in e.ops if self.g[n].kind == "op"]
            return [self.op_label(n) for n in ops if self.g.op_node(n).op.family != "regularization"]

        theirs = {label for e in others for label in labels(e)}
        return next((label for label in labels(entry) if label not in theirs), "")

    def tell_named_twins_apart(self, entries: list[_Entry], drawn: list[str]) -> None:
        """Named members of one block kind drawn as boxes in one frame (MaxViT's `window_attention`
        and `grid_attention`, both "Maxvit attention layer") would read the same: each box whose
        title and detail equal another's gets, as its detail, the first op label the other lacks
        ("Window attention 7×7, 2 heads"), so the renderer names no op kind. Numbered members (a
        stage's blocks) are left alone: their differences are the stride and the shortcut."""
        boxes = {self.view.nodes[n].scope: self.view.nodes[n] for n in drawn
                 if self.view.nodes[n].kind == "unit" and self.view.nodes[n].scope}
        named = [e for e in entries if e.kind == "unit" and e.scope in boxes and not e.scope[-1].isdigit()]
        looks = {e.scope: (boxes[e.scope].title, boxes[e.scope].detail) for e in named}
        for entry in named:
            twins = [e for e in named if e is not entry and looks[e.scope] == looks[entry.scope]]
            if twins and not looks[entry.scope][1]:
                boxes[entry.scope].detail = self.distinct_label(entry, twins)

    def build(self) -> View:
        top = self.fold_chains(self.entries(()))
        for rep, members in self.runs_of(top):
            item = self.place(rep, members, None, ())
            self.view.spine.append(item)
            if not any(n in self.main for m in members for e in m for n in e.ops):
                self.view.side[len(self.view.spine) - 1] = True
        self.view.edges = self.edges()
        for node, source in self.spliced.items():  # a left-out op is drawn as what it passed on
            while source in self.spliced:
                source = self.spliced[source]
            self.view.owner[node] = self.view.owner[source]
        return self.view

    def place(self, rep: list[_Entry], members: list[list[_Entry]], cluster: str | None,
              base: tuple[str, ...]) -> list[str]:
        """Draw a representative (and map the other members onto it); return its node ids."""
        run = None
        if len(members) > 1:
            self.runs += 1
            run = self.runs
        drawn: list[str] = []
        mark = True
        if run is not None and len(rep) > 1:
            # a run of several alternating items (dense layer, concat) is framed once, "×N",
            # so that it does not read as N of the first item followed by N of the next
            first, last = rep[0], members[-1][0]
            name = lambda e: self.rel(e.scope if e.scope else self.g[e.ops[0]].path, base)  # noqa: E731
            cid = "cluster_" + self.new_id("repeat." + ".".join(first.scope or self.g[first.ops[0]].path))[2:]
            self.view.clusters[cid] = VCluster(cid, f"×{len(members)}", f"{name(first)} – {name(last)}", cluster,
                                               first.scope, len(members))
            cluster, mark = cid, False
        # compact 3: the blocks of a run of alternating blocks (Swin's plain and shifted-window
        # pair, ×3) are boxes, each saying what sets it apart from the other, when framed with
        # their insides the pair is taller than a slide (the stage before shows their insides)
        boxed = self.compact >= 3 and run is not None and len(rep) > 1
        for position, entry in enumerate(rep):
            if entry.kind == "unit" and entry.mode == "cluster" and not boxed:
                drawn += self.place_cluster(entry, members, position, cluster, base, mark)
            else:
                drawn.append(self.add_node(entry, members, position, cluster, base, mark))
                box = self.view.nodes[drawn[-1]]
                if boxed and entry.kind == "unit" and not box.detail:
                    box.detail = self.distinct_label(entry, [e for e in rep if e is not entry])
            for k, member in enumerate(members):
                for t, node in enumerate(member[position].ops):
                    if k:
                        twin = entry.ops[t]
                        self.view.owner[node] = self.view.owner[twin]
                        self.membership[node] = dict(self.membership.get(twin, {}))
                    if run is not None:
                        self.membership.setdefault(node, {})[run] = k
        return drawn

    def place_cluster(self, entry: _Entry, members: list[list[_Entry]], position: int, parent: str | None,
                      base: tuple[str, ...], mark: bool = True) -> list[str]:
        scope = self.g.scopes[entry.scope]
        count = len(members) if mark else 1
        staged = self.stage_block(entry.scope)
        if staged is not None:
            kids = self.children[entry.scope]
            title = ".".join(entry.scope[-2:]) if entry.scope[-1].isdigit() else entry.scope[-1]  # `features.2`
            sub = f"{len(kids)} × {pretty(staged)}"
        else:
            title = pretty(scope.block or scope.kind) + (f" ×{count}" if count > 1 else "")
            numbered = entry.scope[len(base):][:1] and entry.scope[len(base)].isdigit()
            sub = self.span_text(members if mark else members[:1], base[:-1] if numbered else base,
                                 position)  # `layer1.0`, not `0`
        cid = "cluster_" + self.new_id(".".join(entry.scope))[2:]
        inserted = scope.meta.get("inserted", False)
        self.view.clusters[cid] = VCluster(cid, title, sub, parent, entry.scope, count, inserted)
        inner = self.fold_chains(self.entries(entry.scope), entry.scope)
        drawn: list[str] = []
        for rep, runs in self.runs_of(inner):
            drawn += self.place(rep, runs, cid, entry.scope)
        self.tell_named_twins_apart(inner, drawn)
        if self.with_params:
            every = [n for member in members for n in member[position].ops]
            self.view.clusters[cid].sub += f" · {format_count(self.g.parameter_count(every))} params"
        if len(drawn) == 1 and not any(c.parent == cid for c in self.view.clusters.values()):
            # a frame around one box (U-Net's double conv, folded to "Conv 3×3, 64 · ReLU ×2") says
            # nothing the box does not: the box stands alone and names its block underneath
            frame = self.view.clusters.pop(cid)
            node = self.view.nodes[drawn[0]]
            node.cluster = parent
            node.sub = f"{frame.title} · {frame.sub}" if frame.sub else frame.title
        return drawn

    def edges(self) -> list[VEdge]:
        skips = skip_edges(self.g)
        seen: dict[tuple[str, str], VEdge] = {}
        order: list[tuple[str, str]] = []
        for v in self.topo:
            for u in self.g.inputs_of(v):
                a, b = self.view.owner.get(u), self.view.owner.get(v)
                if a is None or b is None or a == b:
                    continue
                mu, mv = self.membership.get(u, {}), self.membership.get(v, {})
                if any(r in mv and mv[r] != k for r, k in mu.items()):
                    continue
                skip = (u, v) in skips
                inserted = self.g[u].inserted or self.g[v].inserted
                key = (a, b)
                if key in seen:
                    seen[key].skip = seen[key].skip and skip
                    continue
                seen[key] = VEdge(a, b, format_shape(self.g[u].shape), skip, inserted)
                order.append(key)
        return [seen[k] for k in order]


def build_view(graph: Graph, level: str = "overview", expand: list[str] | None = None, params: bool = False,
               frame_stages: bool = True, compact: int = 0) -> View:
    """Fold `graph` to the given level of detail; `expand` lists dotted scope paths drawn one
    level finer. With `frame_stages=False` a stage of blocks is not framed at the blocks level,
    so that the layout may wrap between its blocks. `compact` (blocks level) narrows a wide
    picture: 1 wraps chain titles after their first op, 2 also draws a block nested in another
    block (an SE gate) as one box, 3 also draws the blocks of a run of alternating blocks (Swin's
    plain and shifted pair ×3) as boxes.
    Raises ValueError (naming close matches) for a path that is not a scope."""
    paths = []
    for text in expand or []:
        path = tuple(p for p in text.split(".") if p)
        if path not in graph.scopes:
            from difflib import get_close_matches

            close = get_close_matches(text, [".".join(p) for p in graph.scopes if p], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"Expected a block or stage path for --expand; received {text!r}{hint}")
        paths.append(path)
    return _Folder(graph, level, paths, params, frame_stages, compact).build()


__all__ = ["LEVELS", "build_view", "format_count", "pretty"]
