"""Attention models drawn for slides: a transformer's encoder of N identical layers is one box
marked ×N at the overview, and the blocks level shows one layer's inside (its norms, the
attention, the two residual adds, the MLP) on one slide with text of at least 12 px.

The layer counts, widths and head counts are torchvision's (`torchvision/models/vision_transformer.py`:
`vit_b_16` num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072; `vit_l_16` 24 layers;
`vit_h_14` 32), which are the paper's Table 1 (arXiv:2010.11929), written here, not read from netgen.
"""

from __future__ import annotations

import pytest
from test_render_svgtools import compiled, parse_svg

from netgen.render import choose_view, dot_available, render_source, run_dot, slide_views, to_dot
from netgen.render.style import theme

LAYERS = {"vit_b_16": 12, "vit_l_16": 24, "vit_h_14": 32}
needs_dot = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")


def draw(view):
    return parse_svg(run_dot(to_dot(view, theme("light")), "svg"))


@pytest.mark.parametrize(("name", "layers"), sorted(LAYERS.items()))
def test_the_encoder_is_one_box_marked_with_its_layer_count(name, layers):
    graph = compiled(name)
    view = choose_view(graph, "overview")
    encoder = {view.owner[n] for n in graph.nodes_under(("encoder",))}
    assert len(encoder) == 1  # position embedding, every layer and the final norm: one box
    box = view.nodes[encoder.pop()]
    assert box.title == "Vit encoder" and box.detail == f"Vit layer ×{layers}"
    assert f"Vit layer ×{layers}" in render_source(graph)  # the DOT text the slide is drawn from


@needs_dot
def test_the_vit_b_16_overview_svg_shows_x12():
    facts = parse_svg(run_dot(render_source(compiled("vit_b_16")), "svg"))
    assert facts.fits_a_slide()
    assert any("Vit layer ×12" in facts.texts(n) for n in facts.nodes)


@needs_dot
def test_the_vit_b_16_blocks_level_shows_a_layer_inside_on_one_slide():
    graph = compiled("vit_b_16")
    pages = slide_views(graph, "blocks")
    assert len(pages) == 1
    view = pages[0]
    facts = draw(view)
    assert facts.fits_a_slide(), f"{facts.width:.0f}x{facts.height:.0f} pt, {facts.min_text_px:.1f} px"
    # one frame, the run of 12 identical layers drawn once
    layer = [c for c in view.clusters.values() if c.title == "Vit layer ×12"]
    assert len(layer) == 1 and layer[0].count == 12
    inside = [n for n in view.nodes.values() if n.cluster == layer[0].id]
    titles = sorted(n.title for n in inside)
    # pre-norm: LayerNorm, attention (its dropout folded in), residual add; LayerNorm, the MLP, residual add
    assert titles == sorted(["LayerNorm", "Attention 12 heads · Dropout 0", "+", "LayerNorm",
                             "Linear 768→3072 · GELU · Dropout 0", "Linear 3072→768 · Dropout 0", "+"])
    # every op of the 12 layers maps onto a box of the one drawn
    assert {view.owner[n] for n in graph.nodes_under(("encoder", "layers"))} == {n.id for n in inside}
    # the two residuals are the dashed skips inside the frame, drawn as such in the SVG
    skips = [e for e in view.edges if e.skip and view.nodes[e.dst].cluster == layer[0].id]
    assert sorted(view.nodes[e.dst].title for e in skips) == ["+", "+"]
    texts = {t for n in facts.nodes for t in facts.texts(n)}
    assert {"Attention 12 heads · Dropout 0", "Linear 768→3072 · GELU · Dropout 0", "LayerNorm"} <= texts
    assert facts.dashed_edges() == 2


# A stage whose blocks alternate two settings of one structure, as Swin's alternate plain and
# shifted windows: here a dilation, so that the test needs no Swin op. Each block is tall (eight
# boxes), so that a framed pair is taller than a slide.
ALTERNATING = """
netgen: 1
name: alternating
input: [16, 32, 32]
blocks:
  tall:
    params: {d: 1}
    residual:
      body:
        - conv: {out: 16, k: 3, pad: $d, dilation: $d}
        - bn
        - relu
        - conv: {out: 64, k: 1}
        - relu
        - dropout: {p: 0.1}
        - conv: {out: 64, k: 1}
        - bn
        - relu
        - dropout: {p: 0.1}
        - conv: {out: 16, k: 1}
        - bn
        - relu
        - conv: {out: 16, k: 1}
        - bn
network:
  - seq:
      name: stage
      body:
        repeat: 6
        as: j
        body: {tall: {d: "${1 if j % 2 == 0 else 2}"}}
  - gap
  - flatten
  - linear: {out: 10}
"""


def test_a_stage_of_alternating_blocks_is_one_box_at_the_overview(tmp_path):
    from conftest import write_blueprint

    import netgen

    graph = netgen.compile_blueprint(write_blueprint(tmp_path, ALTERNATING))
    view = choose_view(graph, "overview")
    boxes = [n for n in view.nodes.values() if n.scope and n.scope[0] == "stage"]
    assert [(n.title, n.count) for n in boxes] == [("Tall", 6)]  # "Tall ×6", as the paper draws a Swin stage
    assert {view.owner[n] for n in graph.nodes_under(("stage",))} == {boxes[0].id}


@needs_dot
def test_a_run_of_alternating_tall_blocks_is_boxed_to_fit_the_slides(tmp_path):
    from conftest import write_blueprint

    import netgen

    graph = netgen.compile_blueprint(write_blueprint(tmp_path, ALTERNATING))
    pages = slide_views(graph, "blocks")
    for page in pages:
        assert draw(page).fits_a_slide()
    # the pair of blocks is framed once "×3", each drawn as a box saying what sets it apart
    frames = [c for page in pages for c in page.clusters.values() if c.title == "×3"]
    assert len(frames) == 1
    inside = sorted((n.title, n.detail) for page in pages for n in page.nodes.values() if n.cluster == frames[0].id)
    assert inside == [("Tall", "Conv 3×3, 16"), ("Tall", "Conv 3×3, 16, d2")]
    assert sorted(n for page in pages for n in page.owner) == sorted(graph.nx.nodes)


# torchvision's swin_t: depths [2, 2, 6, 2], heads [3, 6, 12, 24], window 7; swin_s and swin_b,
# and their v2 versions, depths [2, 2, 18, 2] (torchvision/models/swin_transformer.py; the papers'
# Table 1). A stage's blocks alternate plain and shifted windows.
SWIN_DEPTHS = {"swin_t": [2, 2, 6, 2], "swin_s": [2, 2, 18, 2], "swin_b": [2, 2, 18, 2],
               "swin_v2_t": [2, 2, 6, 2], "swin_v2_s": [2, 2, 18, 2], "swin_v2_b": [2, 2, 18, 2]}


@pytest.mark.parametrize(("name", "depths"), sorted(SWIN_DEPTHS.items()))
def test_each_swin_stage_is_one_box_marked_with_its_depth(name, depths):
    graph = compiled(name)
    view = choose_view(graph, "overview")
    block = "Swin v2 block" if "v2" in name else "Swin block"
    stages = [n for n in view.nodes.values() if n.kind == "unit"]
    assert [(n.title, n.count) for n in stages] == [(block, d) for d in depths]
    for k, node in enumerate(stages):  # every op of stage k (features.1, .3, .5, .7) in its one box
        assert {view.owner[n] for n in graph.nodes_under(("features", str(2 * k + 1)))} == {node.id}
    assert all(f"{block}  ×{d}" in render_source(graph) for d in set(depths))


@needs_dot
def test_swin_t_blocks_slides_fit_and_show_both_kinds_of_block():
    graph = compiled("swin_t")
    pages = slide_views(graph, "blocks")
    titles = set()
    for page in pages:
        facts = draw(page)
        assert facts.fits_a_slide(), f"{page.name}: {facts.min_text_px:.1f} px"
        titles |= {t for n in facts.nodes for t in facts.texts(n)}
    # the first stage draws both blocks' insides: plain windows, then shifted by half a window
    assert {"Window attention 7×7, 3 heads", "Window attention 7×7, shift 3, 3 heads", "LayerNorm", "+"} <= titles
    # the third stage's six blocks: the pair framed once, ×3, each box saying how it differs
    frames = [(page, c) for page in pages for c in page.clusters.values() if c.title == "×3"]
    assert len(frames) == 1
    page, frame = frames[0]
    assert sorted(n.detail for n in page.nodes.values() if n.cluster == frame.id) == [
        "Window attention 7×7, 12 heads", "Window attention 7×7, shift 3, 12 heads"]
    assert sorted(n for p in pages for n in p.owner) == sorted(graph.nx.nodes)


# torchvision's maxvit_t: 4 stages of depths [2, 2, 5, 2], each MaxVit layer an MBConv, then block
# ("window") attention, then grid attention, 7×7 partitions, head_dim 32 on widths 64, 128, 256, 512
# (torchvision/models/maxvit.py; the paper's Table 1)
MAXVIT_T_HEADS = [64 // 32, 128 // 32, 256 // 32, 512 // 32]


def test_maxvit_window_and_grid_attention_boxes_say_which_partition():
    """Both attention layers of a MaxViT layer are the same block (maxvit_attention_layer), so
    their boxes share a title; the detail line, from the attention op's own label, tells them apart."""
    graph = compiled("maxvit_t")
    boxes = [n for page in slide_views(graph, "blocks") for n in page.nodes.values()
             if n.title == "Maxvit attention layer"]
    for box in boxes:
        partition = box.scope[-1].removesuffix("_attention")  # the layer's member: window or grid
        stage = int(box.scope[1])
        heads = MAXVIT_T_HEADS[stage]
        assert box.detail == f"{partition.capitalize()} attention 7×7, {heads} heads", (box.scope, box.detail)
    for stage in range(4):  # every stage shows both kinds (runs may fold its repeated layers)
        assert {b.scope[-1] for b in boxes if int(b.scope[1]) == stage} == {"window_attention", "grid_attention"}
