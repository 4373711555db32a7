"""A lecture deck: the overview, then the inside of each distinct block definition, each a slide.

    slides = deck_slides(graph)               # [Slide("overview", view), Slide("bottleneck", view), ...]

A block definition is drawn once, from its first instance in the network (which usually carries
the stride and the projection shortcut, the most instructive one), as its own graph: the block's
ops with paths relative to it, an input box per value that enters it and an output box per value
that leaves it, so every arrow carries its shape. That graph is drawn at the blocks level (chains
folded, nested blocks framed, runs ×N) and split into several slides when it cannot fit one.
Slides come in lecture order: the overview, then blocks in the order the data meets them (an
enclosing block before the blocks inside it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..graph import Graph, Node, NodeKind, Scope
from .fold import pretty
from .view import View


@dataclass
class Slide:
    name: str  # file stem: "01-overview", "02-bottleneck"
    title: str
    view: View


def block_definitions(graph: Graph) -> list[tuple[str, tuple[str, ...]]]:
    """(block name, path of its first instance) for every block definition used, in lecture order."""
    index = {n: i for i, n in enumerate(graph.topological())}
    first: dict[str, tuple[int, int, tuple[str, ...]]] = {}
    for path, scope in graph.scopes.items():
        if not scope.block or not path:
            continue
        ops = graph.nodes_under(path)
        if not ops:
            continue
        key = (index[ops[0]], len(path), path)
        if scope.block not in first or key < first[scope.block]:
            first[scope.block] = key
    return [(block, key[2]) for block, key in sorted(first.items(), key=lambda kv: kv[1])]


def block_graph(graph: Graph, path: tuple[str, ...], framed: bool = True) -> Graph:
    """The inside of the block at `path` as a graph of its own (shapes already inferred). Framed,
    the block keeps its own scope, so it is drawn as one frame (the branches of an Inception
    module side by side, as in the network's picture); unframed, its children are the top level."""
    graph = graph.written()
    scope = graph.scopes[path]
    base = len(path) - 1 if framed else len(path)
    sub = Graph(f"{graph.name} · {pretty(scope.block or scope.name)} ({'.'.join(path)})")
    inside = graph.nodes_under(path)
    members = set(inside)
    entering: list[str] = []
    for node in inside:
        for source in graph.inputs_of(node):
            if source not in members and source not in entering:
                entering.append(source)
    names: dict[str, str] = {}
    for k, source in enumerate(entering):
        names[source] = f"in_{k}"
        where = ("input",) if len(entering) == 1 else ("input", ".".join(graph[source].path) or f"{k}")
        _add(sub, names[source], graph, source, kind="input", path=where, inputs=[])
    for node in inside:
        data = graph[node]
        _add(sub, node, graph, node, kind="op", path=data.path[base:],
             inputs=[names.get(p, p) for p in graph.inputs_of(node)])
        names[node] = node
    leaving = [n for n in inside if any(u not in members for u in graph.users_of(n))]
    for k, node in enumerate(leaving or inside[-1:]):
        _add(sub, f"out_{k}", graph, node, kind="output", path=("output",), inputs=[node])
    for p, s in graph.scopes.items():
        if len(p) >= base + (0 if framed else 1) and p[: len(path)] == path and p[base:]:
            sub.add_scope(Scope(p[base:], s.kind, s.block, s.span, s.doc, dict(s.meta)))
    return sub


def _add(sub: Graph, node_id: str, graph: Graph, like: str, *, kind: NodeKind, path: tuple[str, ...],
         inputs: list[str]) -> None:
    """Node `like` of `graph` copied into `sub` as `node_id`: the op itself at `path`, or an
    input or output of the block with its shape."""
    data = graph[like]
    copy = replace(graph.op_node(like), path=path) if kind == "op" else \
        Node(kind=kind, path=path, shape=data.shape, span=data.span, training_only=data.training_only)
    sub.add_node(node_id, copy, inputs)


def deck_slides(graph: Graph, rankdir: str = "TB") -> list[Slide]:
    """Every slide of the deck, in lecture order, each fitting 1920x1080 with 12 px text."""
    from . import refusal, slide_views

    slides: list[Slide] = []

    def add(stem: str, title: str, views: list[View]) -> None:
        for k, view in enumerate(views):
            suffix = f"-{k + 1}" if len(views) > 1 else ""
            slides.append(Slide(f"{len(slides) + 1:02d}-{stem}{suffix}", title, view))

    add("overview", f"{graph.name}: overview", slide_views(graph, "overview", rankdir))
    for block, path in block_definitions(graph):
        inside = block_graph(graph, path)
        views = slide_views(inside, "blocks", rankdir, straight=True)
        if any(refusal(v, rankdir) for v in views):  # one frame too large for a slide: its parts, split
            inside = block_graph(graph, path, framed=False)
            views = slide_views(inside, "blocks", rankdir, straight=True)
        if len(views) == 1 and sum(n.kind != "io" for n in views[0].nodes.values()) <= 1:
            # the inside folds to one box ("Conv 7×7 /2, 64 · BN · ReLU"): show its ops one by one
            views = slide_views(inside, "full", rankdir, straight=True)
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in block)
        add(stem, inside.name, views)
    return slides





def slide_files(slides: list[Slide], theme_name: str = "light", rankdir: str = "TB",
                timeout: float | None = None, progress=None) -> dict[str, bytes]:
    """File name -> bytes for a deck: each slide as SVG and as PNG scaled to fit 1920x1080, all
    of them as one PDF (`deck.pdf`), and as `deck.pptx` where python-pptx is installed.
    Deterministic: the same graph gives the same bytes (PDF and PPTX carry no dates)."""
    import re

    from .dot import to_dot
    from .output import DOT_TIMEOUT_S, DotFailed, run_dot
    from .style import theme

    files: dict[str, bytes] = {}
    pdf_pages: list[bytes] = []
    pngs: list[tuple[bytes, float, float]] = []
    for k, slide in enumerate(slides):
        if progress:
            progress(f"slide {k + 1}/{len(slides)}: {slide.name} ({len(slide.view.nodes)} boxes)")
        source = to_dot(slide.view, theme(theme_name), rankdir)
        svg = run_dot(source, "svg", timeout or DOT_TIMEOUT_S)
        box = re.search(rb'viewBox="([^"]+)"', svg)
        if box is None:
            raise DotFailed(f"dot wrote an SVG without a viewBox for slide {slide.name}")
        _, _, width, height = (float(v) for v in box.group(1).split())
        scale = min(1920 / width, 1080 / height)
        png = run_dot(source.replace("  graph [", f"  graph [dpi={72 * scale:.2f}, ", 1), "png",
                      timeout or DOT_TIMEOUT_S)
        files[f"{slide.name}.svg"] = svg
        files[f"{slide.name}.png"] = png
        pngs.append((png, width * scale, height * scale))
        pdf_pages.append(run_dot(source, "pdf", timeout or DOT_TIMEOUT_S))
    files["deck.pdf"] = _one_pdf(pdf_pages)
    pptx = _pptx(pngs, [s.title for s in slides])
    if pptx is not None:
        files["deck.pptx"] = pptx
    return files


def _one_pdf(pages: list[bytes]) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in pages:
        for p in PdfReader(io.BytesIO(page)).pages:
            writer.add_page(p)
    writer.add_metadata({"/Producer": "netgen", "/Creator": "netgen slides"})
    out = io.BytesIO()
    writer.write(out)
    return _without_dates(out.getvalue())


def _without_dates(pdf: bytes) -> bytes:
    """Drop the creation dates cairo writes, and the random file identifier, for same-bytes output."""
    import re

    pdf = re.sub(rb"/(CreationDate|ModDate) \(D:[^)]*\)", lambda m: b"/" + m.group(1) + b" (D:19800101000000Z)", pdf)
    return re.sub(rb"/ID \[ ?<[0-9a-fA-F]+> ?<[0-9a-fA-F]+> ?\]", lambda m: b" " * len(m.group(0)), pdf)


def _pptx(pngs: list[tuple[bytes, float, float]], titles: list[str]) -> bytes | None:
    """A 16:9 PowerPoint file, one picture per slide, centred and fitted; None without python-pptx."""
    try:
        from pptx import Presentation
        from pptx.util import Emu
    except ImportError:
        return None
    import datetime
    import io
    import zipfile

    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(12192000), Emu(6858000)  # 13.333 x 7.5 in
    per_px = 12192000 / 1920
    blank = deck.slide_layouts[6]
    for (png, w, h), title in zip(pngs, titles, strict=True):
        slide = deck.slides.add_slide(blank)
        left, top = (1920 - w) / 2 * per_px, (1080 - h) / 2 * per_px
        picture = slide.shapes.add_picture(io.BytesIO(png), Emu(int(left)), Emu(int(top)), Emu(int(w * per_px)),
                                           Emu(int(h * per_px)))
        picture.name = title[:200]
    fixed = datetime.datetime(1980, 1, 1)
    deck.core_properties.created = deck.core_properties.modified = fixed
    deck.core_properties.last_printed = fixed
    deck.core_properties.title = titles[0] if titles else ""
    raw = io.BytesIO()
    deck.save(raw)
    # zip entries carry the time they were written: rewrite them with a fixed date
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            z.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), source.read(info.filename),
                       zipfile.ZIP_DEFLATED)
    return out.getvalue()

__all__ = ["Slide", "deck_slides", "block_definitions", "block_graph", "slide_files"]
