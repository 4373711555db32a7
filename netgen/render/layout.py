"""Wrapping long networks so that the picture fits a 16:9 slide.

A deep network drawn top to bottom is a thin strip (torchview's ResNet-50 is ~100:1). The
top-level items of a view (the spine) are cut into consecutive segments laid side by side as
a snake: segment 0 runs down (or right, with rankdir LR), segment 1 back up, and so on, so
that the edge joining two segments is short. The number of segments is chosen from an
estimate of each item's size made here, without running graphviz, so the `.gv` text depends
only on the blueprint: the same blueprint gives the same bytes whether or not `dot` exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .fold import View
from .style import EDGE_PT, node_lines, text_width

TARGET_ASPECT = 1.6  # width / height; a 16:9 slide minus a title
MAX_SKEW = 2.4
CROSSING_COST = 0.2  # per segment a long skip edge crosses  # estimates are rough: keep them well inside the 3:1 limit
MAX_WIDTH_PT = 1550.0  # 11 pt text stays >= 12 px when the picture is scaled to 1920 px
RANKSEP_PT = 24.0
NODESEP_PT = 18.0
CLUSTER_PAD_PT = 12.0
CLUSTER_LABEL_PT = 40.0
U_ROW = 3  # boxes in a U's decoder row: skip target, merge, and the first box after them
U_MAX_SKEW = 3.2  # the estimate overstates a U's height (U-Net full: 3.0:1 estimated, 2.4:1 drawn)
CUT_SLACK = 0.12  # a segment may be this much longer than the shortest cut allows, for a cleaner turn


@dataclass
class Plan:
    segments: list[list[int]]  # spine item indices per segment
    segment_of: dict[str, int]  # view node id -> segment
    width: float  # estimated, in points
    height: float
    score: float = 0.0  # 0 is a perfect slide; lower is better
    rows: list[list[str]] = field(default_factory=list)  # nodes drawn side by side, left to right (a U's levels)


def fit_score(width: float, height: float) -> float:
    """How far an estimated picture is from the target aspect, plus a penalty past the width
    at which the smallest text would drop under 12 px on a 1920 px slide."""
    lopsided = max(0.0, abs(math.log(width / height)) - math.log(MAX_SKEW))
    return (abs(math.log(width / height / TARGET_ASPECT)) + 3 * max(0.0, math.log(width / MAX_WIDTH_PT))
            + 6 * lopsided)


def node_size(node) -> tuple[float, float]:
    lines = node_lines(node)
    w = max(text_width(text, size) for text, size, _ in lines) + 26
    h = sum(size * 1.25 for _, size, _ in lines) + 14
    return w, max(h, 36.0)


def item_extent(view: View, item: list[str], rankdir: str) -> tuple[float, float]:
    """(length along the flow, breadth across it) of one spine item, in points."""
    members = set(item)
    edges = [e for e in view.edges if e.src in members and e.dst in members]
    level = {n: 0 for n in item}
    for _ in range(len(item)):  # longest-path layering; items are small DAGs in topological order
        changed = False
        for e in edges:
            if level[e.dst] < level[e.src] + 1:
                level[e.dst] = level[e.src] + 1
                changed = True
        if not changed:
            break
    label_w = max((text_width(e.label, EDGE_PT) for e in edges), default=0.0)
    by_level: dict[int, list[tuple[float, float]]] = {}
    for n in item:
        w, h = node_size(view.nodes[n])
        along, across = (h, w) if rankdir == "TB" else (w, h)
        by_level.setdefault(level[n], []).append((along, across))
    gap = RANKSEP_PT + (EDGE_PT * 1.4 if rankdir == "TB" else label_w + 30)
    length = sum(max(a for a, _ in sizes) for sizes in by_level.values()) + gap * (len(by_level) - 1)
    breadth = max(sum(c for _, c in sizes) + NODESEP_PT * (len(sizes) - 1) for sizes in by_level.values())
    if rankdir == "TB" and edges:
        breadth += label_w
    depth = max((_cluster_depth(view, view.nodes[n].cluster) for n in item), default=0)
    frames = len({c for n in item for c in _cluster_chain(view, view.nodes[n].cluster)})
    # each frame adds its label and margins along the flow (nested frames stack)
    return length + CLUSTER_LABEL_PT * frames + 2 * CLUSTER_PAD_PT * depth, breadth + 2 * CLUSTER_PAD_PT * depth


def _cluster_chain(view: View, cluster: str | None) -> list[str]:
    chain = []
    while cluster is not None:
        chain.append(cluster)
        cluster = view.clusters[cluster].parent
    return chain


def _cluster_depth(view: View, cluster: str | None) -> int:
    depth = 0
    while cluster is not None:
        depth += 1
        cluster = view.clusters[cluster].parent
    return depth


def _partition(lengths: list[float], k: int, gap: float, fan: list[int] | None = None) -> list[list[int]]:
    """Cut the sequence into k contiguous parts minimising the longest part (linear partition);
    among cuts whose longest part is within CUT_SLACK of that, prefer the ones crossed by the
    fewest edges (`fan[i]`: edges from items before i to items from i on), since every edge of a
    turn but one is routed freely by dot and a many-edge turn (into an Inception block's four
    branches) tangles."""
    n = len(lengths)
    prefix = [0.0]
    for x in lengths:
        prefix.append(prefix[-1] + x)

    def cost(i: int, j: int) -> float:  # items i..j-1
        return prefix[j] - prefix[i] + gap * (j - i - 1)

    def solve(limit: float | None) -> tuple[float, list[list[int]]]:
        best = [[math.inf] * (n + 1) for _ in range(k + 1)]
        cut = [[0] * (n + 1) for _ in range(k + 1)]
        best[0][0] = 0.0
        for parts in range(1, k + 1):
            for j in range(1, n + 1):
                for i in range(parts - 1, j):
                    if limit is None:
                        value = max(best[parts - 1][i], cost(i, j))
                    elif cost(i, j) > limit:
                        continue
                    else:  # the extra edges of this turn
                        value = best[parts - 1][i] + (max(0, fan[i] - 1) if i else 0)
                    if value < best[parts][j] - 1e-9:
                        best[parts][j], cut[parts][j] = value, i
        return best[k][n], cut

    def bounds_of(cut: list[list[int]]) -> list[list[int]]:
        bounds, j = [], n
        for parts in range(k, 0, -1):
            i = cut[parts][j]
            bounds.append(list(range(i, j)))
            j = i
        return list(reversed(bounds))

    longest, cut = solve(None)
    if fan is not None and k > 1:
        extra, relaxed = solve(longest * (1 + CUT_SLACK) + 1e-6)
        now = sum(max(0, fan[part[0]] - 1) for part in bounds_of(cut)[1:] if part)
        if extra < now:  # only for a cleaner turn, never just another cut
            cut = relaxed
    return bounds_of(cut)


def _crossings(view: View, main: list[int], segments: list[list[int]]) -> int:
    """Segments spanned by edges other than the one turn between neighbouring segments (long
    skips such as U-Net's, which cross the picture when the snake cuts them apart)."""
    where = {n: s for s, segment in enumerate(segments) for i in segment for n in view.spine[main[i]]}
    turns: set[tuple[int, int]] = set()
    total = 0
    for e in view.edges:
        a, b = where.get(e.src), where.get(e.dst)
        if a is None or b is None or a == b:
            continue
        if b == a + 1 and (a, b) not in turns:
            turns.add((a, b))
            continue
        total += abs(b - a)
    return total


def _u_plan(view: View, main: list[int], lengths: list[float], extents: list[tuple[float, float]], gap: float,
            rankdir: str, header_pt: float) -> Plan | None:
    """An encoder-decoder whose skips nest like brackets (U-Net: enc1 feeds the last decoder
    level, enc4 the first) is drawn as the paper draws it, a U: the encoder runs down on the
    left, and each decoder level is a row beside the encoder level that feeds it (skip target,
    merge, the next box), the rest of the level climbing to the next row on the right. Top to
    bottom, unframed boxes only (rank=same across frames makes dot drop the frames), and only
    when the U fits a slide."""
    if rankdir != "TB":
        return None
    item_of = {n: pos for pos, i in enumerate(main) for n in view.spine[i]}
    skips = sorted((item_of[e.src], item_of[e.dst], e.src, e.dst) for e in view.edges
                   if e.skip and e.src in item_of and e.dst in item_of and item_of[e.src] < item_of[e.dst])
    if len(skips) < 3 or any(b[1] >= a[1] or b[0] <= a[0] for a, b in zip(skips, skips[1:], strict=False)):
        return None  # fewer than three skips, or not nested
    if any(len(view.spine[i]) != 1 or view.nodes[view.spine[i][0]].cluster is not None for i in main):
        return None  # single unframed boxes only: rank=same across frames makes dot drop the frames
    targets = [t for _, t, _, _ in reversed(skips)]  # decoder order: innermost skip first
    cut = targets[0] - 1 if targets[0] - 1 > skips[-1][0] else targets[0]  # the up-sampling starts the decoder
    rows: list[list[int]] = []
    for k, t in enumerate(targets):
        stop = targets[k + 1] - 1 if k + 1 < len(targets) else len(main)  # one item (the up-sampling) between rows
        row = list(range(t, min(stop, t + U_ROW)))  # the rest of a level climbs on to the next row
        if k + 1 == len(targets):  # the last row ends like the others; the head climbs on above it
            row = row[: len(rows[-1])] if rows else row[:1]
        rows.append(row)
    label_w = max((text_width(e.label, EDGE_PT) for e in view.edges), default=0.0)
    source = {t: a for a, t, _, _ in skips}
    width = max(extents[source[r[0]]][1] + sum(extents[i][1] for i in r) + (label_w + 40) * len(r) for r in rows)
    width = max(width, max(extents[i][1] for i in range(cut)) + max(extents[i][1] for i in range(cut, len(main))))
    height = sum(lengths[i] for i in range(cut)) + gap * (cut - 1) + header_pt
    if max(width / height, height / width) > U_MAX_SKEW:
        return None
    result = Plan([[main[i] for i in range(cut)], [main[i] for i in range(cut, len(main))]], {}, width, height,
                  fit_score(width, height))
    result.rows = [[view.spine[main[source[r[0]]]][0]] + [view.spine[main[i]][0] for i in r] for r in rows]
    return result


def plan(view: View, rankdir: str = "TB", header_pt: float = 70.0) -> Plan:
    """Choose how many segments to cut the spine into, from estimated sizes."""
    main = [i for i in range(len(view.spine)) if not view.side.get(i)]
    extents = [item_extent(view, view.spine[i], rankdir) for i in main]
    lengths = [a for a, _ in extents]
    label_w = max((text_width(e.label, EDGE_PT) for e in view.edges), default=0.0)
    gap = RANKSEP_PT + (EDGE_PT * 1.4 if rankdir == "TB" else label_w + 30)
    between = NODESEP_PT * 2 + label_w if rankdir == "TB" else NODESEP_PT
    best: tuple[float, Plan] | None = None
    item_of = {n: pos for pos, i in enumerate(main) for n in view.spine[i]}
    fan = [0] * (len(main) + 1)
    for e in view.edges:
        a, b = item_of.get(e.src), item_of.get(e.dst)
        if a is not None and b is not None and a < b:
            for i in range(a + 1, b + 1):
                fan[i] += 1
    for k in range(1, max(1, len(main)) + 1):
        segments = _partition(lengths, k, gap, fan) if main else [[]]
        if any(not s for s in segments):
            break
        along = max(sum(lengths[i] for i in s) + gap * (len(s) - 1) for s in segments)
        across = sum(max(extents[i][1] for i in s) for s in segments) + between * (len(segments) - 1)
        width, height = (across, along + header_pt) if rankdir == "TB" else (along, across + header_pt)
        score = fit_score(width, height) + CROSSING_COST * _crossings(view, main, segments)
        candidate = Plan(segments, {}, width, height, score)
        if best is None or score < best[0] - 1e-9:
            best = (score, candidate)
    result = best[1] if best else Plan([[]], {}, 0.0, 0.0)
    u = _u_plan(view, main, lengths, extents, gap, rankdir, header_pt)
    if u is not None:
        result = u
    if u is None:
        result.segments = [[main[i] for i in segment] for segment in result.segments]
    for s, segment in enumerate(result.segments):
        for i in segment:
            for n in view.spine[i]:
                result.segment_of[n] = s
    # an auxiliary head joins the segment of the item that feeds it
    for i in range(len(view.spine)):
        if view.side.get(i):
            feeders = [result.segment_of[e.src] for e in view.edges if e.dst in view.spine[i]
                       and e.src in result.segment_of]
            for n in view.spine[i]:
                result.segment_of[n] = feeders[0] if feeders else 0
    return result


__all__ = ["Plan", "plan", "fit_score", "item_extent", "node_size", "TARGET_ASPECT", "MAX_WIDTH_PT"]
