"""The words a diagram's boxes carry: block titles, the span of a run (`layer1.1 – layer1.2`),
what sets a block apart from its neighbours (a stride, a shortcut), and twins told apart."""

from __future__ import annotations

from ..graph import OpNode
from .skips import under_any
from .structure import _Entry, _Structure


def pretty(name: str) -> str:
    """`dense_block` -> `Dense block`, `se_bottleneck` -> `SE bottleneck`."""
    words = name.replace("_", " ").split()
    # short letter words are initials or variants: `se_bottleneck` -> `SE bottleneck`, `inception_a` -> `Inception A`
    words = [w.upper() if len(w) <= 2 and w.isalpha() else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def short_label(label: str) -> str:
    return {"BatchNorm": "BN"}.get(label, label)


class _Labels(_Structure):
    """The text of boxes and frames, read off the graph."""

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
        inner = self.roles_under.get(entry.scope, {})
        if "projection" in inner.values():
            return stride, "projection shortcut"
        # a shortcut spelled out as ops (an empty one is the identity); one op says what it is in
        # its own label (CIFAR ResNets' "Shortcut A /2, 32"), so the renderer names no op kind
        spelled = {path for path, role in inner.items() if role == "shortcut"}
        ops = [n for n in entry.ops if under_any(self.g[n].path, spelled)] if spelled else []
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
