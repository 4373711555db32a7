"""The slide rule, measured on what graphviz draws, for every library model at every level the
CLI offers for slides: scaled to fit inside a 1920x1080 slide, the smallest text is at least
12 px and nothing is cut (tests/test_render_svgtools.py measures the SVG).

Globs `blueprints/*.yaml`, so every model is measured as it lands. The overview must be one
slide in both flow directions; the blocks level is one slide or, where one picture cannot keep
12 px text, several (`netgen render --detail blocks` writes FILE-1.svg, ...), every one fitting;
the full level is drawn only where its estimate fits (the CLI refuses the rest with exit 2),
and every full picture drawn must fit too. One compile per model for the whole module.
"""

from __future__ import annotations

import pytest
from conftest import BLUEPRINTS, write_blueprint
from test_render_svgtools import compiled, parse_svg

import netgen
from netgen.errors import NetgenError
from netgen.render import choose_view, dot_available, refusal, render, run_dot, slide_views, to_dot
from netgen.render.style import family_name, theme
from netgen.render.view import View

pytestmark = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")

MODELS = sorted(p.stem for p in BLUEPRINTS.glob("*.yaml"))
_graphs: dict[str, object] = {}


def graph_of(name: str):
    if name not in _graphs:
        try:
            _graphs[name] = compiled(name)
        except NetgenError as exc:  # a blueprint still being written elsewhere
            pytest.skip(f"{name} does not compile yet: {exc.diagnostics[0].message}")
    return _graphs[name]


def draw(view: View, rankdir: str = "TB"):
    return parse_svg(run_dot(to_dot(view, theme("light"), rankdir), "svg"))


def check_counts(view: View, facts) -> None:
    assert len(facts.nodes) == len(view.nodes)
    assert len(facts.clusters) == len(view.clusters)
    assert len(facts.edges) == len(view.edges)
    assert sorted(facts.edge_labels()) == sorted(e.label for e in view.edges)  # one shape per edge
    assert facts.legend == [family_name(f) for f in view.families()]
    assert facts.font_families <= {"Helvetica,sans-Serif"}


def assert_fits(name: str, facts) -> None:
    assert facts.outside == 0, f"{name}: {facts.outside} points drawn beyond the picture's edge"
    assert facts.min_text_px >= 12.0, (f"{name}: {facts.width:.0f}x{facts.height:.0f} pt, smallest text "
                                       f"{facts.min_text_px:.1f} px on a 1920x1080 slide")


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
@pytest.mark.parametrize("name", MODELS)
def test_overview_is_one_slide(name, rankdir):
    graph = graph_of(name)
    view = choose_view(graph, "overview", rankdir)
    facts = draw(view, rankdir)
    assert_fits(name, facts)
    check_counts(view, facts)
    assert set(view.owner) == set(graph.nx.nodes)  # every op is drawn or folded into a box
    assert len(facts.nodes) <= 40


@pytest.mark.parametrize("name", MODELS)
def test_blocks_level_fits_slides(name):
    graph = graph_of(name)
    pages = slide_views(graph, "blocks")
    for k, page in enumerate(pages):
        facts = draw(page)
        assert_fits(f"{name} slide {k + 1}/{len(pages)}", facts)
        check_counts(page, facts)
    # the slides together draw every op, each on one slide
    assert sorted(n for page in pages for n in page.owner) == sorted(graph.nx.nodes)
    if len(pages) > 1:  # each arrow that leaves a slide ends in a box naming the next one
        links = [n for page in pages for n in page.nodes.values() if n.id.startswith("page_to")]
        assert links and all(n.title.startswith("to slide ") for n in links)


@pytest.mark.parametrize("name", MODELS)
def test_full_level_fits_where_the_cli_offers_it(name):
    graph = graph_of(name)
    view = choose_view(graph, "full")
    if refusal(view) is not None:
        # refused up front, from the estimate alone: the real picture would indeed not fit
        assert len(view.nodes) > 25, f"{name}: refused a small full picture ({len(view.nodes)} boxes)"
        return
    facts = draw(view)
    assert_fits(name, facts)
    check_counts(view, facts)
    assert len(facts.nodes) == len(graph)  # every op, input and output is a box


@pytest.mark.parametrize("name", [m for m in ("resnet18", "alexnet", "vgg11", "squeezenet1_0") if m in MODELS])
def test_full_level_counts_match_the_graph(name):
    graph = graph_of(name)
    facts = parse_svg(render(graph, "svg", detail="full"))
    assert len(facts.nodes) == len(graph)  # every op, input and output is a box
    assert len(facts.edges) == len(facts.edge_labels()) == graph.nx.number_of_edges()


def test_resnet50_overview_numbers():
    facts = parse_svg(render(graph_of("resnet50"), "svg"))
    assert len(facts.nodes) == 1 + 1 + 1 + 4 * 2 + 3 + 1 and not facts.clusters  # see test_render.py
    assert facts.min_text_px > 12 and facts.outside == 0
    assert facts.legend == ["input/output", "conv", "pool", "linear", "reshape", "block"]


def test_branching_blueprint_fits(tmp_path):
    text = """
netgen: 1
name: wide
input: [3, 64, 64]
blocks:
  mixer:
    params: {c: int}
    parallel:
      merge: concat
      branches:
        b1: {conv: {out: $c, k: 1}}
        b2: [{conv: {out: $c, k: 1}}, {relu: {}}, {conv: {out: $c, k: 3, pad: 1}}]
        b3: [{maxpool: {k: 3, stride: 1, pad: 1}}, {conv: {out: $c, k: 1}}]
network:
  - conv: {out: 32, k: 3, pad: 1}
  - relu
  - repeat: 6
    as: i
    body: {mixer: {c: 16}}
  - gap
  - flatten
  - linear: {out: 10}
"""
    graph = netgen.compile_blueprint(write_blueprint(tmp_path, text))
    for detail in ("overview", "blocks"):
        for page in slide_views(graph, detail):
            facts = draw(page)
            assert_fits(detail, facts)
            check_counts(page, facts)
    view = choose_view(graph, "blocks")
    assert [c.count for c in view.clusters.values()] == [6]  # six identical mixers, one drawn
