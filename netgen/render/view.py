"""What a diagram is: a `View` of boxes (`VNode`), frames (`VCluster`) and arrows (`VEdge`),
built by fold.py from the graph at a level of detail and read by layout.py, dot.py, pages.py
and the pages and slides; it knows nothing of the graph's nodes but their ids (`View.owner`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .style import FAMILY_ORDER


@dataclass
class VNode:
    """One box: an op, a folded chain, a whole block/stage, or the input/output."""

    id: str
    title: str
    sub: str
    family: str
    cluster: str | None
    kind: str  # "op" | "chain" | "unit" | "io"
    count: int = 1
    inserted: bool = False
    params: int = 0
    members: list[str] = field(default_factory=list)
    detail: str = ""
    wrap: bool = False  # title on two lines: the first op, then the rest of the chain
    scope: tuple[str, ...] = ()  # for a box that stands for a block or stage: its path (what --expand takes)


@dataclass
class VCluster:
    """A framed group: a block drawn with its inside, or a stage of blocks."""

    id: str
    title: str
    sub: str
    parent: str | None
    path: tuple[str, ...]
    count: int = 1
    inserted: bool = False


@dataclass
class VEdge:
    src: str
    dst: str
    label: str
    skip: bool = False
    inserted: bool = False


@dataclass
class View:
    name: str
    level: str
    nodes: dict[str, VNode] = field(default_factory=dict)
    clusters: dict[str, VCluster] = field(default_factory=dict)
    edges: list[VEdge] = field(default_factory=list)
    spine: list[list[str]] = field(default_factory=list)  # top-level items, each its node ids
    owner: dict[str, str] = field(default_factory=dict)  # graph node -> view node
    side: dict[int, bool] = field(default_factory=dict)  # spine items off the main path (auxiliary heads)
    compact: int = 0  # 1: chain titles on two lines; 2: also nested blocks as boxes; 3: also alternating runs' blocks
    straight: bool = False  # one column wherever that fits a slide (a block's inside reads top to bottom)

    def families(self) -> list[str]:
        present = {n.family for n in self.nodes.values()}
        return [f for f in FAMILY_ORDER if f in present] + sorted(present - set(FAMILY_ORDER))
