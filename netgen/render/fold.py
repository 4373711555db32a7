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

structure.py holds the scope tree and signatures, runs.py what each scope folds to and the runs,
labels.py the boxes' words; this module draws the view.
"""

from __future__ import annotations

import re

from ..graph import Graph
from ..shapes import format_shape
from ..values import unique_name
from .labels import _Labels, pretty, short_label
from .runs import _Runs
from .skips import skip_edges
from .structure import LEVELS, _Entry
from .style import format_count
from .view import VCluster, VEdge, View, VNode

_NOT_ALNUM = re.compile(r"\W")  # what str.isalnum() refuses, but `_` (which stays `_` anyway)
_WRAP_OVER = 16  # characters; a short chain title ("BN · ReLU") stays on one line


class _Folder(_Runs, _Labels):
    """Draws the entries and runs into a View: nodes, frames, the spine and the arrows."""

    # -- building the view -----------------------------------------------------------------
    def new_id(self, base: str) -> str:
        candidate = "n_" + _NOT_ALNUM.sub("_", base)
        name = unique_name(candidate, self.ids, first=2)
        self.ids.add(name)
        return name

    def add_frame(self, frame: VCluster) -> None:
        """Add a frame to the view, counting the frames in each frame (`frames_in`): whether a frame
        holds another is then one lookup, not a scan of every frame drawn so far (quadratic in a
        deep tree of blocks)."""
        self.view.clusters[frame.id] = frame
        self.frames_in[frame.parent] = self.frames_in.get(frame.parent, 0) + 1

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
            self.add_frame(VCluster(cid, f"×{len(members)}", f"{name(first)} – {name(last)}", cluster, first.scope,
                                    len(members)))
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
        self.add_frame(VCluster(cid, title, sub, parent, entry.scope, count, inserted))
        inner = self.fold_chains(self.entries(entry.scope), entry.scope)
        drawn: list[str] = []
        for rep, runs in self.runs_of(inner):
            drawn += self.place(rep, runs, cid, entry.scope)
        self.tell_named_twins_apart(inner, drawn)
        if self.with_params:
            every = [n for member in members for n in member[position].ops]
            self.view.clusters[cid].sub += f" · {format_count(self.g.parameter_count(every))} params"
        if len(drawn) == 1 and not self.frames_in.get(cid):
            # a frame around one box (U-Net's double conv, folded to "Conv 3×3, 64 · ReLU ×2") says
            # nothing the box does not: the box stands alone and names its block underneath
            frame = self.view.clusters.pop(cid)
            self.frames_in[parent] -= 1
            node = self.view.nodes[drawn[0]]
            node.cluster = parent
            node.sub = f"{frame.title} · {frame.sub}" if frame.sub else frame.title
        return drawn

    def edges(self) -> list[VEdge]:
        skips = skip_edges(self.g)
        # one arrow per value's shape between two boxes: a block reading two of another's values
        # (LR-ASPP's head, the backbone's stride-8 and stride-16 maps) gets an arrow for each (two
        # of one shape would draw alike: one); inside a folded run (×N) the same two boxes stand for
        # every unit's values, so there one arrow is drawn
        seen: dict[tuple[str, str, str | None], VEdge] = {}
        order: list[tuple[str, str, str | None]] = []
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
                label = format_shape(self.g[u].shape)
                key = (a, b, None if mu or mv else label)
                if key in seen:
                    seen[key].skip = seen[key].skip and skip
                    continue
                seen[key] = VEdge(a, b, label, skip, inserted)
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
