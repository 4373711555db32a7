"""The diagram's work grows about linearly with the network, at every level of detail.

Nothing here is timed (benchmarks/render_scaling.py times it): the work is counted, as the
calls of netgen's own functions the drawing makes (cProfile's count, which counts each item a
generator yields, so an `any(...)` over every frame drawn so far shows) and, each on its own, the
entries read by iterating the view's boxes and frames and the graph's scopes. A network 8 times
larger may cost at most 8^1.35 times each of these: a step quadratic in the size costs 64 times as
much (the frames read on the tree of blocks before, exponent 1.8 at these sizes; the scopes read
by the overview of distinct blocks, 1.8); linear work measures 0.9-1.05 here.
"""

from __future__ import annotations

import cProfile
import math
import pstats
from pathlib import Path

import pytest

import netgen
from netgen import render
from netgen.render import choose_view, refusal, slide_views, to_dot
from netgen.render import structure as render_structure
from netgen.render.style import theme
from netgen.render.view import View

# a block calling itself twice per level, the calls parallel branches: 2^(d+1) - 1 ops, nested d deep
TREE = """netgen: 1
name: tree
input: [3, 8, 8]
blocks:
  tree:
    params: {{d: int}}
    body:
      - if: ${{d > 0}}
        then:
          - parallel:
              merge: add
              branches: [{{tree: {{d: '${{d-1}}'}}}}, {{tree: {{d: '${{d-1}}'}}}}]
        else: [relu]
network:
  - tree: {{d: {n}}}
"""
# residual blocks whose widths all differ: none folds into a run, so each is a box of its own
DISTINCT = """netgen: 1
name: distinct
input: [8, 8, 8]
network:
  - repeat: {n}
    as: i
    body:
      residual:
        body:
          - conv: {{out: '${{9 + i}}', k: 1}}
          - relu
          - conv: {{out: 8, k: 1}}
"""
# (blueprint, small n, large n): the large network has about 8 times the ops
SIZES = {"tree": (TREE, 4, 7), "distinct": (DISTINCT, 8, 64)}
MOST = 1.35  # the growth exponent allowed: work(8x ops) <= 8^MOST * work


class CountingDict(dict):
    """A dict that counts, under its name in `reads`, the entries read by iterating it."""

    reads: dict[str, int] = {}

    def __init__(self, name: str, *args):
        super().__init__(*args)
        self.name = name

    def __iter__(self):
        for key in super().__iter__():
            CountingDict.reads[self.name] = CountingDict.reads.get(self.name, 0) + 1
            yield key

    def values(self):
        return [self[k] for k in self]

    def items(self):
        return [(k, self[k]) for k in self]


def counted_view(*args, **kwargs) -> View:
    view = View(*args, **kwargs)
    view.nodes, view.clusters = CountingDict("boxes"), CountingDict("frames")
    return view


def work(text: str, level: str, monkeypatch) -> tuple[int, dict[str, int]]:
    """(the ops, the work of drawing them at `level` as `netgen render` does: the calls of netgen's
    functions, and the entries read from the view's boxes and frames and the graph's scopes)."""
    graph = netgen.compile_text(text, source="tree.yaml")
    graph.scopes = CountingDict("scopes", graph.scopes)
    monkeypatch.setattr(render_structure, "View", counted_view)
    CountingDict.reads = {"boxes": 0, "frames": 0, "scopes": 0}
    profile = cProfile.Profile()
    profile.enable()
    try:
        if level == "full":
            views = [choose_view(graph, level)]
            refusal(views[0])
        else:
            views = slide_views(graph, level)
        for view in views:
            to_dot(view, theme("light"))
    except render.TooLarge:  # more slides than a picture may have: the CLI's refusal, after the same work
        pass
    finally:
        profile.disable()
    package = str(Path(netgen.__file__).parent)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    calls = sum(ncalls for (filename, _, _), (_, ncalls, *_) in stats.items() if filename.startswith(package))
    return sum(1 for _ in graph.ops()), {"calls": calls, **CountingDict.reads}


def growth(text: str, small: int, large: int, level: str, monkeypatch) -> dict[str, float]:
    """Each measure's growth exponent from the small network to the large one."""
    ops_a, work_a = work(text.format(n=small), level, monkeypatch)
    ops_b, work_b = work(text.format(n=large), level, monkeypatch)
    assert 7 <= ops_b / ops_a <= 9  # the sizes are what the exponents are measured over
    return {k: math.log(max(work_b[k], 1) / max(work_a[k], 1)) / math.log(ops_b / ops_a) for k in work_a}


# the distinct blocks at --detail blocks are one slide at the small size and several at the large,
# where the picture tries up to 11 variants (unframed stages, compact boxes), each cut into up to 12
# slides: that pair would measure the number of variants and slides tried too, bounded but not linear
CASES = [(shape, level) for shape in SIZES for level in ("overview", "blocks", "full")
         if (shape, level) != ("distinct", "blocks")]


@pytest.mark.parametrize(("shape", "level"), CASES)
def test_the_drawing_work_grows_about_linearly_with_the_ops(shape, level, monkeypatch):
    text, small, large = SIZES[shape]
    exponents = growth(text, small, large, level, monkeypatch)
    assert max(exponents.values()) <= MOST, (f"{shape} at --detail {level}: growth exponents {exponents} "
                                             f"(1.0 is linear, 2.0 quadratic)")


def test_the_count_sees_a_scan_of_every_frame_per_frame(monkeypatch):
    """The count above would have failed before: a frame's check for frames inside it read every
    frame drawn so far (11.7 million reads at 2,047 ops, --detail blocks). Put that scan back and the
    frames read grow far past the bound."""
    from netgen.render.fold import _Folder

    place_cluster = _Folder.place_cluster

    def scanning(self, *args, **kwargs):
        drawn = place_cluster(self, *args, **kwargs)
        sum(1 for c in self.view.clusters.values() if c.parent == "none")
        return drawn

    monkeypatch.setattr(_Folder, "place_cluster", scanning)
    text, small, large = SIZES["tree"]
    assert growth(text, small, large, "blocks", monkeypatch)["frames"] > 1.8
