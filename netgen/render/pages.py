"""Splitting a picture that cannot keep its text readable on one slide into several slides.

A view's spine is cut, between top-level items, into pages that each fit the slide by the
layout's estimate (`layout.fits`). Each page is a view of its own: the items it holds, the
frames around them, the arrows among them, and for an arrow that leaves or enters the page a
small input/output box naming the page and the box at the other end ("to page 2 · layer3.0").
Every cost here is linear in the boxes, times the logarithm of a slide's items for the search.
"""

from __future__ import annotations

from collections.abc import Callable

from .layout import fits, plan
from .view import VEdge, View, VNode

MAX_PAGES = 12  # more slides than this is no longer one picture split, it is a poster: refuse instead


class TooLarge(ValueError):
    """The picture cannot be drawn to fit a slide at this level of detail (the CLI exits 2)."""


class _Index:
    """Where each box's arrows and graph nodes, and each frame, sit in a view: a page is then cut out
    in time proportional to the page, not to the whole view (paginate tries many candidate pages)."""

    def __init__(self, view: View):
        self.edges_at: dict[str, list[int]] = {}
        for k, e in enumerate(view.edges):
            self.edges_at.setdefault(e.src, []).append(k)
            if e.dst != e.src:
                self.edges_at.setdefault(e.dst, []).append(k)
        self.frame_at = {cid: k for k, cid in enumerate(view.clusters)}
        self.owned: dict[str, list[tuple[int, str, str]]] = {}
        for k, (node, box) in enumerate(view.owner.items()):
            self.owned.setdefault(box, []).append((k, node, box))


def page_view(view: View, items: list[int], number: int, total: int, page_of: dict[str, int] | None = None,
              index: _Index | None = None) -> View:
    """The part of `view` made of the spine items `items` (indices, in order), as its own view;
    `page_of` (view node -> page number) names the page at the other end of a link box. `index`
    (of this view; made here if not given) lets the page be read from its own boxes only."""
    page_of = page_of or {}
    index = index or _Index(view)
    page = View(f"{view.name} ({number}/{total})", view.level, compact=view.compact, straight=view.straight)
    nodes = {n for i in items for n in view.spine[i]}
    frames: set[str] = set()
    for n in nodes:
        c = view.nodes[n].cluster
        while c is not None and c not in frames:
            frames.add(c)
            c = view.clusters[c].parent
    crossing_in: dict[str, str] = {}  # outside source -> entry box
    crossing_out: dict[tuple[str, int], str] = {}  # (inside source, other slide) -> exit box
    exit_targets: dict[str, list[str]] = {}
    edges: list[VEdge] = []
    seen: set[tuple[str, str, str]] = set()

    def add(edge: VEdge) -> None:  # one arrow per value's shape, as the view draws them (fold.py)
        if (edge.src, edge.dst, edge.label) not in seen:
            seen.add((edge.src, edge.dst, edge.label))
            edges.append(edge)

    # the arrows with an end on the page, in the view's order
    touching = [view.edges[k] for k in sorted({k for n in nodes for k in index.edges_at.get(n, ())})]
    for e in touching:
        inside_src, inside_dst = e.src in nodes, e.dst in nodes
        if inside_src and inside_dst:
            add(e)
        elif inside_dst:
            entry = crossing_in.get(e.src)
            if entry is None:
                entry = crossing_in[e.src] = f"page_from_{len(crossing_in) + 1}"
            add(VEdge(entry, e.dst, e.label, e.skip, e.inserted))
        elif inside_src:
            # one exit box per box and slide: an Inception module's four branches start from one arrow
            key = (e.src, page_of.get(e.dst, number + 1))
            exit_ = crossing_out.get(key)
            if exit_ is None:
                exit_ = crossing_out[key] = f"page_to_{len(crossing_out) + 1}"
            exit_targets.setdefault(exit_, []).append(e.dst)
            add(VEdge(e.src, exit_, e.label, e.skip, e.inserted))
    for outside, box in crossing_in.items():
        page.nodes[box] = _link_box(box, "from", view, outside, page_of.get(outside, number - 1))
        page.spine.append([box])
    alone = all(view.side.get(i) for i in items)  # a slide of an auxiliary head only: it is the main path there
    for i in items:
        page.spine.append(list(view.spine[i]))
        if view.side.get(i) and not alone:
            page.side[len(page.spine) - 1] = True
    for n in (n for i in items for n in view.spine[i]):
        page.nodes[n] = view.nodes[n]
    for (_, other), box in crossing_out.items():
        targets = exit_targets[box]
        page.nodes[box] = _link_box(box, "to", view, targets[0], other)
        if len(targets) > 1:
            page.nodes[box].sub += " …"
        page.spine.append([box])
    page.clusters = {cid: view.clusters[cid] for cid in sorted(frames, key=index.frame_at.__getitem__)}
    page.owner = {g: v for _, g, v in sorted(entry for n in nodes for entry in index.owned.get(n, ()))}
    page.edges = edges
    return page


def _link_box(box: str, direction: str, view: View, other: str, number: int) -> VNode:
    node = view.nodes[other]
    where = node.sub or node.title
    if node.cluster is not None:  # inside a block: name the block ("layer2.1 – layer2.3"), not its op
        frame = view.clusters[node.cluster]
        where = ".".join(frame.path) or frame.sub or frame.title  # the whole path: features.denseblock2
    return VNode(box, f"{direction} slide {number}", where, "io", None, "io")


def paginate(view: View, rankdir: str = "TB") -> list[View]:
    """`view` as one page when it fits the slide, else as the fewest pages that each fit
    (by estimate), cut between spine items; raises TooLarge past MAX_PAGES."""
    whole = plan(view, rankdir)
    if fits(whole.width, whole.height):
        return [view]
    groups = _groups(view)
    index = _Index(view)

    def page_fits(chunk: list[list[int]]) -> bool:
        layout = plan(page_view(view, [i for group in chunk for i in group], 1, 2, index=index), rankdir)
        return fits(layout.width, layout.height)

    # an auxiliary head (and its own output) travels with the item that feeds it, unless together
    # they are too large for a slide; then it may open the next one
    groups = [part for group in groups for part in ([group] if len(group) == 1 or page_fits([group])
                                                    else [group[:1], group[1:]])]
    main = groups
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < len(main):
        # the largest end with main[start:end] fitting, at least one item: a slide's worth found by
        # doubling (so no candidate is much longer than the slide), then bisection below the first
        # that did not fit; a bisection over all the remaining items planned pages of half the network
        lo, hi, size = start + 1, len(main), 2
        while start + size <= hi:
            if not page_fits(main[start:start + size]):
                hi = start + size - 1
                break
            lo, size = start + size, 2 * size
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if page_fits(main[start:mid]):
                lo = mid
            else:
                hi = mid - 1
        bounds.append((start, lo))
        start = lo
        if len(bounds) > MAX_PAGES:
            raise TooLarge(f"{view.name} at --detail {view.level} needs more than {MAX_PAGES} slides")
    bounds = _even_out(bounds, len(main), page_fits, main)
    total = len(bounds)
    chunks = [[i for group in main[a:b] for i in group] for a, b in bounds]
    page_of = {n: k + 1 for k, chunk in enumerate(chunks) for i in chunk for n in view.spine[i]}
    return [page_view(view, chunk, k + 1, total, page_of, index) for k, chunk in enumerate(chunks)]


def _groups(view: View) -> list[list[int]]:
    """Spine items grouped for cutting: each main item, with the auxiliary items it feeds after it."""
    item_of = {n: i for i, item in enumerate(view.spine) for n in item}
    sources: dict[str, list[str]] = {}
    for e in view.edges:
        sources.setdefault(e.dst, []).append(e.src)
    groups: list[list[int]] = []
    group_of: dict[int, int] = {}
    for i, item in enumerate(view.spine):
        if view.side.get(i):
            feeders = [group_of[item_of[src]] for n in item for src in sources.get(n, [])
                       if src in item_of and item_of[src] in group_of]
            if feeders:
                group_of[i] = max(feeders)
                groups[group_of[i]].append(i)
                continue
        group_of[i] = len(groups)
        groups.append([i])
    return groups


def _even_out(bounds: list[tuple[int, int]], n: int, page_fits: Callable[[list[list[int]]], bool],
              main: list[list[int]]) -> list[tuple[int, int]]:
    """The greedy cut leaves a short last slide: with the same number of slides, try an even
    share of the items; else move each cut back, from the last, while the later slide still fits
    and stays the shorter one. O(n) plans at most."""
    if len(bounds) < 2:
        return bounds
    total = len(bounds)
    share = n / total
    even = [(round(k * share), round((k + 1) * share)) for k in range(total)]
    if all(b > a for a, b in even) and all(page_fits(main[a:b]) for a, b in even):
        return even
    cuts = [a for a, _ in bounds[1:]]  # where slides 2.. start
    for k in range(len(cuts) - 1, -1, -1):
        start = cuts[k - 1] if k else 0
        end = cuts[k + 1] if k + 1 < len(cuts) else n
        while cuts[k] - 1 > start and end - (cuts[k] - 1) <= (cuts[k] - 1) - start \
                and page_fits(main[cuts[k] - 1:end]):
            cuts[k] -= 1
    edges = [0, *cuts, n]
    return list(zip(edges, edges[1:], strict=False))


__all__ = ["paginate", "page_view", "TooLarge", "MAX_PAGES"]
