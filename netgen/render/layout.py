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
from collections import deque
from dataclasses import dataclass, field

from .style import EDGE_PT, LEGEND_PT, SUB_PT, TITLE_PT, node_lines, text_width
from .view import View

SLIDE_W_PX, SLIDE_H_PX = 1920.0, 1080.0  # the slide a picture is scaled to fit inside (16:9)
MIN_TEXT_PX = 12.0  # the smallest text on that slide
SMALLEST_PT = float(SUB_PT)  # the smallest font a picture uses
# the largest picture, in points, whose smallest text is still MIN_TEXT_PX once it is scaled to fit the slide
FIT_W_PT = SLIDE_W_PX * SMALLEST_PT / MIN_TEXT_PX  # 1760
FIT_H_PT = SLIDE_H_PX * SMALLEST_PT / MIN_TEXT_PX  # 990
# estimates are rough (measured against dot on the library: widths 0.7-1.07x, heights 0.85-1.2x what dot
# draws): a plan counts as fitting only this far inside the limit
WIDTH_MARGIN, HEIGHT_MARGIN = 0.9, 0.84
LR_STAGGER = 1.5  # measured on the library's LR overviews: rows drawn up to 1.78x the estimated length
MAX_SEGMENTS = 24  # more side-by-side columns than this is never a slide
CROSSING_COST = 0.2  # per segment a long skip edge crosses
RANKSEP_PT = 24.0
NODESEP_PT = 18.0
CLUSTER_PAD_PT = 12.0
CLUSTER_LABEL_PT = 40.0
U_ROW = 3  # boxes in a U's decoder row: skip target, merge, and the first box after them
U_MAX_SKEW = 3.2
U_HEIGHT_FACTOR = 0.8  # the estimate overstates a U's height (U-Net full: 3.0:1 estimated, 2.4:1 drawn)
# node_size's floor: the padding around the narrowest title, and the least height of a box; no
# picture of more boxes than this keeps MIN_TEXT_PX on one slide, since their areas alone exceed it
MIN_BOX_W_PT, MIN_BOX_H_PT = 26.0, 36.0
MAX_SLIDE_BOXES = int(FIT_W_PT * WIDTH_MARGIN * FIT_H_PT * HEIGHT_MARGIN // (MIN_BOX_W_PT * MIN_BOX_H_PT))
CUT_SLACK = 0.12  # a segment may be this much longer than the shortest cut allows, for a cleaner turn


@dataclass
class Plan:
    segments: list[list[int]]  # spine item indices per segment
    segment_of: dict[str, int]  # view node id -> segment
    width: float  # estimated, in points
    height: float
    score: float = 0.0  # 0 is a perfect slide; lower is better
    rows: list[list[str]] = field(default_factory=list)  # nodes drawn side by side, left to right (a U's levels)


def slide_scale(width: float, height: float) -> float:
    """The factor that scales a picture of width x height points to fit inside the slide."""
    return min(SLIDE_W_PX / max(width, 1.0), SLIDE_H_PX / max(height, 1.0))


def text_px(width: float, height: float) -> float:
    """The smallest text, in px, of a width x height pt picture scaled to fit the slide."""
    return SMALLEST_PT * slide_scale(width, height)


def fits(width: float, height: float) -> bool:
    """Whether an estimated picture keeps MIN_TEXT_PX on the slide, with a margin for the estimate."""
    return width <= FIT_W_PT * WIDTH_MARGIN and height <= FIT_H_PT * HEIGHT_MARGIN


def fit_score(width: float, height: float) -> float:
    """0 for a picture that exactly fills the slide at scale 1; lower is better: the log of how
    much the picture must shrink to fit inside the slide, so the best plan has the largest text."""
    return math.log(max(width / SLIDE_W_PX, height / SLIDE_H_PX, 1e-9))


def legend_width(view: View) -> float:
    """The graph label (title and legend swatches) is a floor on the picture's width."""
    from .style import family_name

    title = text_width(view.name, TITLE_PT + 3)
    swatches = sum(text_width(family_name(f), LEGEND_PT) + 30 for f in view.families())
    return max(title, swatches) + 20


def node_size(node) -> tuple[float, float]:
    lines = node_lines(node)
    w = max(text_width(text, size) for text, size, _ in lines) + MIN_BOX_W_PT
    h = sum(size * 1.25 for _, size, _ in lines) + 14
    return w, max(h, MIN_BOX_H_PT)


def item_extent(view: View, item: list[str], rankdir: str, edges: list | None = None) -> tuple[float, float]:
    """(length along the flow, breadth across it) of one spine item, in points. `edges`: the
    view's edges inside the item, when the caller has them (plan does, to stay linear)."""
    members = set(item)
    if edges is None:
        edges = [e for e in view.edges if e.src in members and e.dst in members]
    level = _longest_path_levels(item, edges)
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
        breadth = max(breadth, breadth / 2 + label_w)  # a shape label sits beside its arrow, mid-column
    depth = max((_cluster_depth(view, view.nodes[n].cluster) for n in item), default=0)
    frames = len({c for n in item for c in _cluster_chain(view, view.nodes[n].cluster)})
    # each frame adds its label and margins along the flow (nested frames stack)
    return length + CLUSTER_LABEL_PT * frames + 2 * CLUSTER_PAD_PT * depth, breadth + 2 * CLUSTER_PAD_PT * depth


def _longest_path_levels(item: list[str], edges: list) -> dict[str, int]:
    """Longest-path layering of a small DAG (Kahn's order): O(boxes + edges)."""
    succ: dict[str, list[str]] = {n: [] for n in item}
    indegree = {n: 0 for n in item}
    for e in edges:
        succ[e.src].append(e.dst)
        indegree[e.dst] += 1
    level = {n: 0 for n in item}
    ready = deque(n for n in item if indegree[n] == 0)
    while ready:
        n = ready.popleft()
        for m in succ[n]:
            level[m] = max(level[m], level[n] + 1)
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    return level


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


def _min_longest(prefix: list[float], k: int, gap: float) -> float:
    """The smallest possible longest part when cutting the sequence into at most k contiguous
    parts: bisection on the limit with a greedy check, O(n) per step."""
    n = len(prefix) - 1
    lo = max(prefix[i + 1] - prefix[i] for i in range(n))
    hi = prefix[n] + gap * (n - 1)
    for _ in range(40):
        if hi - lo <= 1e-3 * max(1.0, lo):
            break
        mid = (lo + hi) / 2
        parts, start = 1, 0
        for j in range(1, n + 1):
            if prefix[j] - prefix[start] + gap * (j - start - 1) > mid:
                parts, start = parts + 1, j - 1
        if parts <= k:
            hi = mid
        else:
            lo = mid
    return hi


def _cut(prefix: list[float], k: int, gap: float, limit: float, penalty: list[int]) -> list[list[int]] | None:
    """Exactly k contiguous parts, each at most `limit` long, with the fewest extra turn edges
    (`penalty[i]` for a cut before item i): a dynamic programme whose inner minimum runs over a
    sliding window (a monotone deque), so it costs O(k n), not O(k n^2)."""
    n = len(prefix) - 1
    inf = math.inf
    prev = [inf] * (n + 1)
    prev[0] = 0.0
    choice = [[0] * (n + 1) for _ in range(k + 1)]
    for part in range(1, k + 1):
        cur = [inf] * (n + 1)
        window: deque[tuple[float, int]] = deque()
        lo = 0
        for j in range(1, n + 1):
            i = j - 1
            if prev[i] < inf:
                value = prev[i] + (penalty[i] if i else 0)
                while window and window[-1][0] >= value:
                    window.pop()
                window.append((value, i))
            while prefix[j] - prefix[lo] + gap * (j - lo - 1) > limit:
                lo += 1
            while window and window[0][1] < lo:
                window.popleft()
            if window:
                cur[j], choice[part][j] = window[0]
        prev = cur
    if prev[n] == inf:
        return None
    bounds, j = [], n
    for part in range(k, 0, -1):
        i = choice[part][j]
        bounds.append(list(range(i, j)))
        j = i
    return list(reversed(bounds))


def _partition(lengths: list[float], k: int, gap: float, fan: list[int] | None = None) -> list[list[int]]:
    """Cut the sequence into k contiguous parts minimising the longest part (linear partition);
    among cuts whose longest part is within CUT_SLACK of that, prefer the ones crossed by the
    fewest edges (`fan[i]`: edges from items before i to items from i on), since every edge of a
    turn but one is routed freely by dot and a many-edge turn (into an Inception block's four
    branches) tangles. O(n log) for the limit, O(k n) for the cuts."""
    prefix = [0.0]
    for x in lengths:
        prefix.append(prefix[-1] + x)
    penalty = [max(0, f - 1) for f in fan] if fan is not None else [0] * (len(lengths) + 1)
    longest = _min_longest(prefix, k, gap)
    tight = _cut(prefix, k, gap, longest * (1 + 1e-6) + 1e-6, penalty)
    if tight is None:
        return [[] for _ in range(k)]
    if fan is None or k == 1:
        return tight
    relaxed = _cut(prefix, k, gap, longest * (1 + CUT_SLACK) + 1e-6, penalty)
    extra = lambda parts: sum(penalty[p[0]] for p in parts[1:])  # noqa: E731
    return relaxed if relaxed is not None and extra(relaxed) < extra(tight) else tight


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
    if any(not r for r in rows):
        return None
    label_w = max((text_width(e.label, EDGE_PT) for e in view.edges), default=0.0)
    source = {t: a for a, t, _, _ in skips}
    width = max(extents[source[r[0]]][1] + sum(extents[i][1] for i in r) + (label_w + 40) * len(r) for r in rows)
    width = max(width, max(extents[i][1] for i in range(cut)) + max(extents[i][1] for i in range(cut, len(main))))
    height = (sum(lengths[i] for i in range(cut)) + gap * (cut - 1)) * U_HEIGHT_FACTOR + header_pt
    if max(width / height, height / width) > U_MAX_SKEW:
        return None
    result = Plan([[main[i] for i in range(cut)], [main[i] for i in range(cut, len(main))]], {}, width, height,
                  fit_score(width, height))
    result.rows = [[view.spine[main[source[r[0]]]][0]] + [view.spine[main[i]][0] for i in r] for r in rows]
    return result


def _with_side_items(view: View, main: list[int], segments: list[list[int]], side_extents: dict, lengths: list[float],
                     gap: float, along: float, across: float, between: float) -> tuple[float, float]:
    """An auxiliary head hangs beside the segment of the item that feeds it, starting level with
    that item: it widens the picture by its breadth and may reach past the segment's end."""
    if not side_extents:
        return along, across
    where = {main[i]: (s, k) for s, segment in enumerate(segments) for k, i in enumerate(segment)}
    for i, (length, breadth) in side_extents.items():
        feeder = max((m for m in main if m < i), default=main[0] if main else 0)
        if feeder not in where:
            continue
        s, k = where[feeder]
        reach = sum(lengths[j] for j in segments[s][: k + 1]) + gap * (k + 1) + length
        along, across = max(along, reach), across + breadth + between
    return along, across


def plan(view: View, rankdir: str = "TB", header_pt: float = 70.0) -> Plan:
    """Choose how many segments to cut the spine into, from estimated sizes: the plan whose
    picture, scaled to fit the slide, has the largest text (fewest crossings breaking ties).
    Linear in the boxes and edges per segment count tried (at most MAX_SEGMENTS)."""
    main = [i for i in range(len(view.spine)) if not view.side.get(i)]
    item_of = {n: pos for pos, i in enumerate(main) for n in view.spine[i]}
    inside: dict[int, list] = {pos: [] for pos in range(len(main))}
    fan_delta = [0] * (len(main) + 2)
    for e in view.edges:
        a, b = item_of.get(e.src), item_of.get(e.dst)
        if a is not None and a == b:
            inside[a].append(e)
        elif a is not None and b is not None and a < b:  # crosses every cut a+1..b
            fan_delta[a + 1] += 1
            fan_delta[b + 1] -= 1
    fan, running = [], 0
    for pos in range(len(main) + 1):
        running += fan_delta[pos]
        fan.append(running)
    extents = [item_extent(view, view.spine[i], rankdir, inside[pos]) for pos, i in enumerate(main)]
    side_extents = {i: item_extent(view, view.spine[i], rankdir) for i in range(len(view.spine)) if view.side.get(i)}
    lengths = [a for a, _ in extents]
    label_w = max((text_width(e.label, EDGE_PT) for e in view.edges), default=0.0)
    gap = RANKSEP_PT + (EDGE_PT * 1.4 if rankdir == "TB" else label_w + 30)
    between = NODESEP_PT * 2 + label_w if rankdir == "TB" else NODESEP_PT
    floor_w = legend_width(view)
    best: tuple[float, Plan] | None = None
    for k in range(1, min(len(main), MAX_SEGMENTS) + 1):
        segments = _partition(lengths, k, gap, fan)
        if any(not s for s in segments):
            break
        along = max(sum(lengths[i] for i in s) + gap * (len(s) - 1) for s in segments)
        across = sum(max(extents[i][1] for i in s) for s in segments) + between * (len(segments) - 1)
        along, across = _with_side_items(view, main, segments, side_extents, lengths, gap, along, across, between)
        if rankdir == "LR" and len(segments) > 1:
            along *= LR_STAGGER  # dot staggers the rows of an LR snake: each starts under the last one's end
        width, height = (across, along + header_pt) if rankdir == "TB" else (along, across + header_pt)
        width = max(width, floor_w)
        score = fit_score(width, height) + CROSSING_COST * _crossings(view, main, segments)
        candidate = Plan(segments, {}, width, height, score)
        # a plan that keeps 12 px text beats one that does not, whatever it crosses
        rank = score - (100.0 if fits(width, height) else 0.0)
        if view.straight and k == 1 and fits(width, height):
            rank -= 1000.0  # asked for one column, and it fits
        if best is None or rank < best[0] - 1e-9:
            best = (rank, candidate)
        if across / (SLIDE_W_PX if rankdir == "TB" else SLIDE_H_PX) > 2 * along / (
                SLIDE_H_PX if rankdir == "TB" else SLIDE_W_PX):
            break  # the segments side by side already far exceed the slide: more only shrink it further
    result = best[1] if best else Plan([[]], {}, floor_w, header_pt)
    u = _u_plan(view, main, lengths, extents, gap, rankdir, header_pt)
    if u is not None and (fits(u.width, u.height) or u.score <= result.score + 0.2):
        result = u  # the U reads like the paper's figure: worth a little text size
    else:
        u = None
        result.segments = [[main[i] for i in segment] for segment in result.segments]
    for s, segment in enumerate(result.segments):
        for i in segment:
            for n in view.spine[i]:
                result.segment_of[n] = s
    # an auxiliary head joins the segment of the item that feeds it
    sources: dict[str, list[str]] = {}
    for e in view.edges:
        sources.setdefault(e.dst, []).append(e.src)
    for i in range(len(view.spine)):  # in spine order, so a head's own output follows the head
        if view.side.get(i):
            first = next((result.segment_of[src] for n in view.spine[i] for src in sources.get(n, [])
                          if src in result.segment_of), 0)
            for n in view.spine[i]:
                result.segment_of[n] = first
    return result


__all__ = ["Plan", "plan", "fit_score", "fits", "text_px", "slide_scale", "item_extent", "node_size", "FIT_W_PT",
           "FIT_H_PT", "SLIDE_W_PX", "SLIDE_H_PX", "MIN_TEXT_PX"]
