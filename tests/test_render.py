"""The diagram back end: folding, labels, determinism, golden DOT, CLI, no torch, no dot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BLUEPRINTS, ROOT, write_blueprint
from test_render_svgtools import count_marks, parse_svg
from typer.testing import CliRunner

import netgen
from netgen.cli.main import app
from netgen.render import build_view, choose_view, dot_available, render, render_pages, render_source
from netgen.render.pages import page_view
from netgen.render.skips import skip_edges

GOLDEN = Path(__file__).parent / "golden" / "render"
# (blueprint, detail, rankdir, theme); regenerate with NETGEN_UPDATE_GOLDEN=1 pytest tests/test_render.py
GOLDEN_CASES = [
    ("resnet50", "overview", "TB", "light"),
    ("resnet18", "blocks", "TB", "light"),
    ("vgg16", "overview", "LR", "dark"),
    ("alexnet", "full", "TB", "light"),
]
needs_dot = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")

BRANCHY = """
netgen: 1
name: branchy
input: [3, 32, 32]
network:
  - conv: {out: 16, k: 3, pad: 1, name: stem}
  - bn
  - relu
  - parallel:
      name: mix
      merge: concat
      branches:
        b1: {conv: {out: 8, k: 1}}
        b2: [{conv: {out: 8, k: 1}}, {relu: {}}, {conv: {out: 8, k: 3, pad: 1}}]
        b3: [{maxpool: {k: 3, stride: 1, pad: 1}}, {conv: {out: 8, k: 1}}]
  - residual:
      name: res
      body: [{conv: {out: 24, k: 3, pad: 1}}, {bn: {}}]
      shortcut: identity
      after: relu
  - residual:
      name: down
      body: [{conv: {out: 48, k: 3, stride: 2, pad: 1}}, {bn: {}}]
      shortcut: auto
  - gap
  - flatten
  - linear: {out: 10, name: fc}
"""


def graph_of(name: str):
    return netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml")


# -- folding ------------------------------------------------------------------------------
def test_resnet50_overview_folds_identical_blocks_only():
    view = build_view(graph_of("resnet50"), "overview")
    drawn = [(n.title, n.count, n.detail) for n in view.nodes.values()]
    # each stage: its first block (stride, projection shortcut) and a run of the identical rest
    stages = []
    for size, first in zip((3, 4, 6, 3), ["Bottleneck"] + ["Bottleneck /2"] * 3, strict=True):
        stages += [(first, 1, "projection shortcut"), ("Bottleneck", size - 1, "")]
    assert drawn == [("Input", 1, ""), ("Conv 7×7 /2, 64 · BN · ReLU", 1, ""), ("MaxPool 3×3 /2", 1, ""), *stages,
                     ("GlobalAvgPool", 1, ""), ("Flatten", 1, ""), ("Linear 2048→1000", 1, ""), ("Output", 1, "")]
    assert [n.sub for n in view.nodes.values() if n.kind == "unit"][:2] == ["layer1.0", "layer1.1 – layer1.2"]
    # input + stem + maxpool + 4 stages × (first block + run of the rest) + gap, flatten, fc + output
    assert len(view.nodes) == 1 + 1 + 1 + 4 * 2 + 3 + 1 == 15
    assert not view.clusters


def test_a_stage_opening_block_says_what_its_shortcut_is(tmp_path):
    # CIFAR ResNet-20 (He et al. 2016, option A): stages 2 and 3 open with a strided block whose
    # shortcut subsamples and pads channels; every other block adds the identity
    view = build_view(graph_of("resnet20"), "overview")
    units = [(n.title, n.count, n.detail) for n in view.nodes.values() if n.kind == "unit"]
    # the shortcut's detail is its op's own label: subsample by 2, pad to 32 (then 64) channels
    assert units == [("Basic block A", 3, ""), ("Basic block A /2", 1, "Shortcut A /2, 32"),
                     ("Basic block A", 2, ""), ("Basic block A /2", 1, "Shortcut A /2, 64"), ("Basic block A", 2, "")]
    path = write_blueprint(tmp_path, """netgen: 1
name: own
input: [4, 8, 8]
blocks:
  unit:
    params: {}
    residual:
      body: [{conv: {out: 8, k: 3, stride: 2, pad: 1}}]
      shortcut: [{avgpool: {k: 2}}, {conv: {out: 8, k: 1}}]
network: [unit, unit]
""")
    view = build_view(netgen.compile_blueprint(path), "overview")
    assert [(n.count, n.detail) for n in view.nodes.values() if n.kind == "unit"] == [(2, "shortcut: own ops")]


STAGE_OF_UNITS = """netgen: 1
name: units
input: [8, 32, 32]
blocks:
  unit:
    params: {stride: 1, k: 3}
    seq:
      - conv: {out: 8, k: $k, stride: $stride, pad: "${k // 2}"}
      - relu
      - conv: {out: 8, k: 3, pad: 1}
      - relu
network:
  - seq: {name: stage, body: [ARGS]}
  - gap
"""


@pytest.mark.parametrize(("args", "second"), [("{stride: 2}", "Unit /2"), ("{k: 5}", "Unit")])
def test_a_stage_does_not_fold_blocks_of_another_stride_or_kernel(tmp_path, args, second):
    """At the overview a stage's blocks that differ only in their labels are one run (Swin's
    shifted and plain windows); blocks that differ in a stride or a kernel are not the same
    block and stay apart (each ×1), however alike their ops."""
    text = STAGE_OF_UNITS.replace("ARGS", f"{{unit: {{}}}}, {{unit: {args}}}, {{unit: {{}}}}")
    view = build_view(netgen.compile_blueprint(write_blueprint(tmp_path, text)), "overview")
    units = [(n.title, n.count, n.sub) for n in view.nodes.values() if n.kind == "unit"]
    assert units == [("Unit", 1, "stage.0"), (second, 1, "stage.1"), ("Unit", 1, "stage.2")]
    same = STAGE_OF_UNITS.replace("ARGS", ", ".join([f"{{unit: {args}}}"] * 3))
    view = build_view(netgen.compile_blueprint(write_blueprint(tmp_path, same)), "overview")
    assert [(n.title, n.count) for n in view.nodes.values() if n.kind == "unit"] == [(second, 3)]


def test_every_graph_node_is_drawn_or_folded():
    for name in ("resnet50", "vgg16", "alexnet"):
        graph = graph_of(name)
        for level in ("overview", "blocks", "full"):
            view = build_view(graph, level)
            assert set(view.owner) == set(graph.nx.nodes), (name, level)


def test_full_detail_draws_every_op_and_edge():
    graph = graph_of("resnet18")
    view = build_view(graph, "full")
    assert len(view.nodes) == len(graph)
    assert len(view.edges) == graph.nx.number_of_edges()
    assert len(view.clusters) == 8  # one per residual block; stages and straight runs are not framed


def test_blocks_detail_folds_identical_blocks():
    view = build_view(graph_of("resnet50"), "blocks")
    blocks = {c.title for c in view.clusters.values()}
    assert {"Bottleneck", "Bottleneck ×2", "Bottleneck ×3", "Bottleneck ×5"} <= blocks
    assert [c.title for c in view.clusters.values() if c.parent is None] == ["layer1", "layer2", "layer3", "layer4"]
    assert len(view.clusters) == 12
    # conv → bn → relu chains are one node; the inserted projection is marked
    assert any(n.title == "Conv 3×3 /2, 128 · BN · ReLU" for n in view.nodes.values())
    inserted = [n for n in view.nodes.values() if n.inserted]
    assert len(inserted) == 4 and all("inserted" in n.sub for n in inserted)


def test_expand_draws_one_path_finer():
    graph = graph_of("resnet50")
    view = build_view(graph, "overview", expand=["layer2"])
    assert "Bottleneck ×3" not in {n.title for n in view.nodes.values() if "layer2" in n.sub}
    assert any(c.path[0] == "layer2" for c in view.clusters.values())
    with pytest.raises(ValueError, match="layer2"):
        build_view(graph, "overview", expand=["layer9"])


def test_a_block_reading_two_values_of_another_gets_an_arrow_for_each():
    # LR-ASPP's head reads the backbone's stride-16 output (960 channels at 33×33 for a 520 input)
    # and its stride-8 map (40 at 65×65): two arrows between the same two boxes, each with its shape
    view = build_view(graph_of("lraspp_mobilenet_v3_large"), "overview")
    into_head = sorted(e.label for e in view.edges if (e.src, e.dst) == ("n_backbone", "n_classifier"))
    assert into_head == ["40×65×65", "960×33×33"]
    # and a slide cut from the view keeps both
    page = page_view(view, list(range(len(view.spine))), 1, 1)
    assert sorted(e.label for e in page.edges if (e.src, e.dst) == ("n_backbone", "n_classifier")) == into_head
    # a folded run draws its units' values as one arrow between two boxes: VGG-11's last two stages,
    # conv-conv-pool at 28×28 and again at 14×14, share their boxes (features.11, features.13)
    vgg = build_view(graph_of("vgg11"), "overview")
    pairs = [(e.src, e.dst) for e in vgg.edges]
    assert len(pairs) == len(set(pairs))


def test_skip_edges_and_branches(tmp_path):
    graph = netgen.compile_blueprint(write_blueprint(tmp_path, BRANCHY))
    skips = skip_edges(graph)
    assert ("stem_relu" not in graph) and any(v == "res.add" for _, v in skips)
    concat = "mix.concat"
    assert all((u, concat) not in skips for u in graph.inputs_of(concat))  # parallel branches are not skips
    view = build_view(graph, "full")
    assert len(view.nodes) == len(graph) and len(view.edges) == graph.nx.number_of_edges()
    assert sum(e.skip for e in view.edges) == len([1 for u, v in graph.nx.edges() if (u, v) in skips])
    assert any(n.inserted for n in view.nodes.values())
    blocks = build_view(graph, "blocks")
    assert {c.title for c in blocks.clusters.values()} >= {"Parallel", "Residual"}


# -- text ------------------------------------------------------------------------------------
def test_same_blueprint_gives_identical_bytes_across_processes():
    code = ("import sys, netgen; from netgen.render import render_source; "
            "sys.stdout.write(render_source(netgen.compile_blueprint('resnet50'), 'blocks'))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


@pytest.mark.parametrize(("name", "detail", "rankdir", "theme"), GOLDEN_CASES)
def test_golden_dot(name, detail, rankdir, theme):
    # the slides a lecturer gets: at the blocks level a picture too large for one slide is several
    text = "\n".join(render_pages(graph_of(name), detail, rankdir, theme))
    golden = GOLDEN / f"{name}.{detail}.{rankdir}.{theme}.gv"
    if os.environ.get("NETGEN_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), "run NETGEN_UPDATE_GOLDEN=1 pytest tests/test_render.py to create it"
    assert text == golden.read_text(encoding="utf-8")


def test_no_orthogonal_splines_and_common_fonts():
    text = render_source(graph_of("resnet50"), "blocks")
    assert "ortho" not in text and "splines=spline" in text
    assert {f for f in __import__("re").findall(r'fontname="([^"]+)"', text)} == {"Helvetica"}


def test_rendering_never_imports_torch():
    code = ("import sys, netgen; from netgen.render import render_source; import netgen.cli.render; "
            "[render_source(netgen.compile_blueprint('resnet50'), d) for d in ('overview', 'blocks', 'full')]; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


@needs_dot
def test_slides_and_view_never_import_torch(tmp_path):
    deck, page = str(tmp_path / "deck"), str(tmp_path / "r.html")
    code = ("import sys; from netgen.cli.main import app; from typer.testing import CliRunner; r = CliRunner(); "
            f"assert r.invoke(app, ['slides', 'resnet18', '-o', {deck!r}]).exit_code == 0; "
            f"assert r.invoke(app, ['view', 'resnet18', '--no-open', '-o', {page!r}]).exit_code == 0; "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# -- SVG -------------------------------------------------------------------------------------
@needs_dot
def test_svg_counts_match_the_view():
    graph = graph_of("resnet50")
    for detail in ("overview", "blocks", "full"):
        view = choose_view(graph, detail)
        facts = parse_svg(render(graph, "svg", detail=detail))
        assert len(facts.nodes) == len(view.nodes)
        assert len(facts.clusters) == len(view.clusters)
        assert len(facts.edges) == len(view.edges)
        assert sorted(facts.edge_labels()) == sorted(e.label for e in view.edges)
        assert facts.dashed_edges() == sum(e.skip for e in view.edges)
    facts = parse_svg(render(graph, "svg"))
    assert sorted(count_marks(facts)) == [2, 2, 3, 5]  # 3, 4, 6, 3 blocks less each stage's first
    assert len(facts.nodes) == 15


@needs_dot
def test_legend_lists_exactly_the_families_drawn(tmp_path):
    graph = netgen.compile_blueprint(write_blueprint(tmp_path, BRANCHY))
    for detail in ("overview", "full"):
        view = build_view(graph, detail)
        facts = parse_svg(render(graph, "svg", detail=detail))
        names = {"io": "input/output", "regularization": "dropout"}
        assert facts.legend == [names.get(f, f) for f in view.families()]
    assert "merge" in parse_svg(render(graph, "svg", detail="full")).legend


# -- command line --------------------------------------------------------------------------
@needs_dot
def test_cli_render_formats(tmp_path):
    runner = CliRunner()
    for suffix, magic in ((".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"), (".gv", b"digraph")):
        target = tmp_path / f"r{suffix}"
        result = runner.invoke(app, ["render", "resnet18", "-o", str(target), "--detail", "blocks", "--theme", "dark",
                                     "--rankdir", "TB", "--expand", "layer2", "--params", "--set", "num_classes=10"])
        assert result.exit_code == 0, result.output
        written = [tmp_path / line.split()[-1] for line in result.stdout.splitlines() if line.startswith("wrote")]
        # the one picture, or the slides it is split into (r-1.svg, r-2.svg, ...), nothing else
        assert written == ([target] if target.exists() else
                           [tmp_path / f"r-{k + 1}{suffix}" for k in range(len(written))])
        assert all(p.read_bytes().startswith(magic) for p in written)
    assert all("params" in p.read_text() for p in tmp_path.glob("r*.gv"))


def test_cli_render_rejects_bad_output_and_paths(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["render", "resnet18", "-o", str(tmp_path / "r.jpg")]).exit_code == 2
    assert runner.invoke(app, ["render", "resnet18", "-o", str(tmp_path / "r.gv"), "--expand", "nope"]).exit_code == 2
    assert runner.invoke(app, ["render", "resnet18", "--detail", "huge"]).exit_code != 0


def _netgen_without_dot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "netgen", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PATH": str(empty)})


def test_without_dot_the_source_is_written_and_the_exit_is_nonzero(tmp_path):
    result = _netgen_without_dot(tmp_path, "render", "resnet18", "-o", str(tmp_path / "r.svg"))
    assert result.returncode == 1
    assert "apt-get install graphviz" in result.stderr
    assert (tmp_path / "r.gv").read_text().startswith("digraph")
    assert not (tmp_path / "r.svg").exists()
    ok = _netgen_without_dot(tmp_path, "render", "resnet18", "-o", str(tmp_path / "only.gv"))
    assert ok.returncode == 0 and (tmp_path / "only.gv").exists()


def test_build_writes_the_diagram(tmp_path):
    result = CliRunner().invoke(app, ["build", "resnet18", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    picture = tmp_path / ("resnet18.svg" if dot_available() else "resnet18.gv")
    assert picture.exists()
    if dot_available():
        # input, stem, maxpool, layer1 (2 identical blocks, one box), layer2-4 (first + second block each),
        # gap, flatten, fc, output
        assert len(parse_svg(picture.read_bytes()).nodes) == 3 + 1 + 3 * 2 + 4


@pytest.mark.skipif(not (BLUEPRINTS / "unet.yaml").exists(), reason="no U-Net blueprint yet")
def test_unet_skips_are_the_encoder_connections():
    graph = graph_of("unet")
    skips = skip_edges(graph)
    assert {v for _, v in skips} == {"crop1", "crop2", "crop3", "crop4"}
    assert all(u.startswith("enc") for u, _ in skips)  # not the decoder's up → crop → concat


@pytest.mark.skipif(not (BLUEPRINTS / "unet.yaml").exists(), reason="no U-Net blueprint yet")
def test_unet_overview_draws_each_decoder_level_beside_its_encoder_level():
    from netgen.render.layout import plan

    view = choose_view(graph_of("unet"), "overview")
    layout = plan(view)
    assert len(layout.segments) == 2  # the encoder down, the decoder back up
    titles = [[view.nodes[n].sub for n in row] for row in layout.rows]
    assert titles == [[f"enc{i}", f"crop{i}", f"cat{i}", f"dec{i}"] for i in (4, 3, 2, 1)]
    text = render_source(graph_of("unet"), "overview")
    assert "{ rank=same; n_enc1; n_crop1; n_cat1; n_dec1; }" in text
    blocks = choose_view(graph_of("unet"), "blocks")
    assert not blocks.clusters  # a frame around one box ("Conv 3×3, 64 · ReLU ×2") is dropped, so the U fits
    assert len(plan(blocks).rows) == 4 and len(plan(choose_view(graph_of("unet"), "full")).rows) == 4


def test_wide_blocks_pictures_are_drawn_compact():
    se = choose_view(graph_of("se_resnet50"), "blocks")
    assert se.compact == 2  # SE gates are boxes, chain titles wrap
    assert sum(n.title == "SE" for n in se.nodes.values()) == 8  # one per distinct bottleneck drawn
    inception = choose_view(graph_of("googlenet"), "blocks")
    assert inception.compact == 1 and not any(n.title == "Inception" for n in inception.nodes.values())
    assert choose_view(graph_of("fractalnet"), "blocks").compact < 2 or not any(
        n.title == "Fractal" for n in choose_view(graph_of("fractalnet"), "blocks").nodes.values())
    assert not choose_view(graph_of("vgg16"), "blocks").compact
