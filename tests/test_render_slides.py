"""`netgen slides`: the lecture deck (overview, then each distinct block definition's inside), every
slide fitting 1920x1080 with 12 px text; and what keeps renders from hanging (refusal, dot's time
bound, one-line errors, progress)."""

from __future__ import annotations

import re
import time

import pytest
from conftest import BLUEPRINTS
from test_render_svgtools import compiled, parse_svg
from typer.testing import CliRunner

import netgen
from netgen.cli.main import app
from netgen.render import DotFailed, dot_available, run_dot, to_dot
from netgen.render.deck import block_definitions, deck_slides
from netgen.render.layout import plan
from netgen.render.output import summarise
from netgen.render.style import theme

pytestmark = pytest.mark.skipif(not dot_available(), reason="graphviz `dot` is not installed")
MODELS = sorted(p.stem for p in BLUEPRINTS.glob("*.yaml"))


@pytest.fixture(scope="module")
def resnet50_deck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deck")
    result = CliRunner().invoke(app, ["slides", "resnet50", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    return folder, result


def test_resnet50_deck_files_in_lecture_order(resnet50_deck):
    folder, _ = resnet50_deck
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["01-overview.png", "01-overview.svg", "02-bottleneck.png", "02-bottleneck.svg", "deck.pdf",
                     "deck.pptx"]
    from PIL import Image
    from pptx import Presentation
    from pypdf import PdfReader

    assert len(PdfReader(folder / "deck.pdf").pages) == 2
    assert len(Presentation(folder / "deck.pptx").slides) == 2
    for png in ("01-overview.png", "02-bottleneck.png"):
        width, height = Image.open(folder / png).size
        # scaled to fit the slide: inside 1920x1080, touching one side
        assert width <= 1921 and height <= 1081 and (width >= 1915 or height >= 1075), (png, width, height)


def test_the_bottleneck_slide_shows_its_inside_with_shapes(resnet50_deck):
    folder, _ = resnet50_deck
    facts = parse_svg((folder / "02-bottleneck.svg").read_bytes())
    assert facts.fits_a_slide()
    texts = {t for n in facts.nodes for t in facts.texts(n)}
    assert {"Conv 1×1, 64 · BN · ReLU", "Conv 3×3, 64 · BN · ReLU", "Conv 1×1, 256 · BN", "Input", "Output"} <= texts
    # layer1.0 at 224x224: the stem (/2) and max-pool (/2) leave 56x56; 64 channels in, 256 out
    labels = set(facts.edge_labels())
    assert {"64×56×56", "256×56×56"} <= labels
    assert len(facts.edges) == len(facts.edge_labels())  # every arrow carries its shape


def test_the_deck_is_the_same_bytes_every_time(resnet50_deck, tmp_path):
    folder, _ = resnet50_deck
    time.sleep(1.1)  # a different second: no date may leak into the PDF or PPTX
    again = CliRunner().invoke(app, ["slides", "resnet50", "-o", str(tmp_path)])
    assert again.exit_code == 0
    for path in folder.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_block_definitions_in_lecture_order():
    graph = netgen.compile_blueprint(BLUEPRINTS / "densenet121.yaml")
    # an enclosing block before the blocks inside it, each from its first instance
    assert block_definitions(graph) == [("dense_block", ("features", "denseblock1")),
                                        ("dense_layer", ("features", "denseblock1", "denselayer1")),
                                        ("transition", ("features", "transition1"))]


@pytest.mark.parametrize("name", MODELS)
def test_every_deck_slide_fits(name):
    graph = compiled(name)
    slides = deck_slides(graph)
    assert slides[0].name == "01-overview"
    blocks = {b for b, _ in block_definitions(graph)}
    assert len(slides) >= 1 + len(blocks)  # one slide per definition, or more where one is split
    for slide in slides:
        facts = parse_svg(run_dot(to_dot(slide.view, theme("light")), "svg"))
        assert facts.fits_a_slide(), f"{name} {slide.name}: {facts.width:.0f}x{facts.height:.0f} pt, " \
                                     f"{facts.min_text_px:.1f} px"
        assert len(facts.edges) == len(facts.edge_labels())


# -- nothing hangs ------------------------------------------------------------------------
def test_a_poster_is_refused_before_any_layout_work():
    started = time.monotonic()
    result = CliRunner().invoke(app, ["render", "preact_resnet1001", "--detail", "full", "-o", "x.svg"])
    assert result.exit_code == 2
    assert "3,341 boxes" in result.stderr and "12 px" in result.stderr and "--poster" in result.stderr
    assert time.monotonic() - started < 60  # it ran 20 minutes before the partition was made linear


def test_the_layout_is_near_linear_in_the_boxes():
    # preact_resnet1001 at the full level: 3341 boxes, planned in seconds (the cut was O(n^3) per column count)
    graph = compiled("preact_resnet1001")
    from netgen.render import choose_view

    view = choose_view(graph, "full")
    started = time.monotonic()
    layout = plan(view)
    assert time.monotonic() - started < 30 and len(view.nodes) == 3341 and layout.segments


def test_dot_runs_under_a_time_bound():
    many = "digraph g {\n" + "".join(f"  a{i} -> a{i + 1} [label=\"{i}\"];\n  a{i} -> a{(i * 7) % 900};\n"
                                     for i in range(900)) + "}\n"
    with pytest.raises(DotFailed, match="did not finish within"):
        run_dot(many, "svg", timeout=0.05)


def test_dot_errors_are_one_line():
    with pytest.raises(DotFailed) as caught:
        run_dot("digraph g { a -> ; }\n", "svg")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("graphviz's dot failed: ")
    noise = "\n".join(["Warning: a"] * 40 + ["Error: trouble in init_rank"] + ["Warning: b"] * 300)
    assert summarise(noise) == "Error: trouble in init_rank (and 340 more lines)"


def test_a_split_picture_says_so_and_shows_progress(tmp_path):
    result = CliRunner().invoke(app, ["render", "resnet50", "--detail", "blocks", "-o", str(tmp_path / "r.svg")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    count = int(re.search(r"drawn as (\d+) slides", result.stderr).group(1))
    assert written == [f"r-{k + 1}.svg" for k in range(count)] and count > 1
    assert all(f"slide {k + 1}/{count}" in result.stderr for k in range(count))
    for name in written:
        assert parse_svg((tmp_path / name).read_bytes()).fits_a_slide()


def test_an_opened_stage_splits_the_overview_into_slides_that_fit(tmp_path):
    result = CliRunner().invoke(app, ["render", "resnet50", "--expand", "layer3", "-o", str(tmp_path / "r.svg")])
    assert result.exit_code == 0, result.output
    pictures = sorted(tmp_path.iterdir())
    assert pictures and all(parse_svg(p.read_bytes()).fits_a_slide() for p in pictures)
    texts = {t for p in pictures for facts in [parse_svg(p.read_bytes())] for n in facts.nodes for t in facts.texts(n)}
    assert "Conv 3×3 /2, 256 · BN · ReLU" in texts  # layer3.0's strided conv, drawn because layer3 is open


@pytest.mark.parametrize("name", [m for m in ("resnet50", "googlenet") if m in MODELS])
def test_golden_deck_dot(name):
    # the deck's layout: each block's inside in its frame, one column where it fits (regenerate
    # with NETGEN_UPDATE_GOLDEN=1 and review the diff, as for tests/test_render.py's golden files)
    import os
    from pathlib import Path

    text = "\n".join(to_dot(s.view, theme("light")) for s in deck_slides(compiled(name)))
    golden = Path(__file__).parent / "golden" / "render" / f"{name}.deck.TB.light.gv"
    if os.environ.get("NETGEN_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_left_to_right_is_refused_where_it_cannot_promise_a_slide(tmp_path):
    runner = CliRunner()
    target = str(tmp_path / "r.svg")
    for args in (["--detail", "blocks"], ["--expand", "layer3"]):
        result = runner.invoke(app, ["render", "resnet18", "--rankdir", "LR", "-o", target, *args])
        assert result.exit_code == 2 and "top to bottom only" in result.stderr, args
    assert runner.invoke(app, ["slides", "resnet18", "--rankdir", "LR", "-o", str(tmp_path / "d")]).exit_code == 2
    assert not any(tmp_path.iterdir())  # nothing written
    ok = runner.invoke(app, ["render", "resnet18", "--rankdir", "LR", "-o", target])  # the overview is offered
    assert ok.exit_code == 0 and parse_svg((tmp_path / "r.svg").read_bytes()).fits_a_slide()
