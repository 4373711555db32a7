#!/usr/bin/env python3
"""Render every library blueprint at each level of detail into docs/gallery/ (SVG + PNG).

    .venv/bin/python scripts/gallery.py                 # all blueprints/*.yaml
    .venv/bin/python scripts/gallery.py resnet50 vgg16  # only these
    .venv/bin/python scripts/gallery.py --levels overview

Writes docs/gallery/<name>.<level>.svg and .png (PNG through `dot -Tpng`) and
docs/gallery/README.md, an index with each picture's measured aspect ratio and smallest
text size at 1920 px wide. Needs graphviz's `dot`. Look at every PNG before committing:
a cramped, overlapping or unreadable diagram is a bug.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netgen.api import compile_blueprint, library_blueprints  # noqa: E402
from netgen.errors import NetgenError  # noqa: E402
from netgen.render import LEVELS, choose_view, render_source, run_dot  # noqa: E402

OUT = ROOT / "docs" / "gallery"
PNG_DPI = "80"
FULL_LIMIT = 250  # graph nodes; beyond this a full drawing is no slide and dot takes minutes
MAX_RATIO, MIN_PX = 3.0, 12.0  # the slide rule tests/test_render_fit.py holds overview and blocks to


def measure(svg: bytes) -> tuple[float, float, float]:
    """(width, height, smallest text in px at 1920 px wide) of an SVG made by graphviz."""
    text = svg.decode("utf-8")
    _, _, width, height = (float(v) for v in re.search(r'viewBox="([^"]+)"', text).group(1).split())
    smallest = min(float(v) for v in re.findall(r'font-size="([\d.]+)"', text))
    return width, height, smallest * 1920 / width


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="library model names (default: all)")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated levels of detail")
    args = parser.parse_args(argv)
    levels = [lv for lv in args.levels.split(",") if lv]
    paths = [p for p in library_blueprints() if not args.names or p.stem in args.names]
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        try:
            graph = compile_blueprint(path)
        except NetgenError as exc:
            print(f"skip {path.name}: does not compile ({len(exc.diagnostics)} errors)", file=sys.stderr)
            continue
        cells = []
        for level in levels:
            if level == "full" and len(graph) > FULL_LIMIT:
                cells.append(f"full: {len(graph)} ops, too many for one slide (use `--expand`)")
                print(f"{graph.name:24s} {level:8s} skipped: {len(graph)} graph nodes > {FULL_LIMIT}")
                continue
            source = render_source(graph, level)
            svg = run_dot(source, "svg")
            width, height, px = measure(svg)
            nodes = len(choose_view(graph, level).nodes)
            ratio = max(width / height, height / width)
            if level == "full" and (ratio > MAX_RATIO or px < MIN_PX):
                # a full drawing that fails the slide rule is a poster, not a slide: not committed
                cells.append(f"full: {nodes} boxes measure {ratio:.2f}:1, {px:.1f} px, not a slide (use `--expand`)")
                print(f"{graph.name:24s} {level:8s} skipped: {ratio:.2f}:1, {px:.1f} px")
                for suffix in ("svg", "png"):
                    (OUT / f"{graph.name}.{level}.{suffix}").unlink(missing_ok=True)
                continue
            png = _png(source)
            (OUT / f"{graph.name}.{level}.svg").write_bytes(svg)
            (OUT / f"{graph.name}.{level}.png").write_bytes(png)
            cells.append(f"[{level}]({graph.name}.{level}.svg) ({nodes} boxes, {ratio:.2f}:1, {px:.0f} px)")
            print(f"{graph.name:24s} {level:8s} {nodes:4d} boxes  {width:6.0f}x{height:6.0f} pt  ratio {ratio:4.2f}  "
                  f"min text {px:4.1f} px")
        rows.append(f"| {graph.name} | " + " | ".join(cells) + " |")
    write_index(rows, levels)
    return 0


def _png(source: str) -> bytes:
    """PNG at a fixed resolution; with Pillow available, reduced to a 256-colour palette so
    that the committed gallery stays small (the pictures have a handful of flat colours)."""
    png = run_dot(source.replace("  graph [", f"  graph [dpi={PNG_DPI}, ", 1), "png")
    try:
        from PIL import Image
    except ImportError:
        return png
    import io

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write_index(rows: list[str], levels: list[str]) -> None:
    existing = OUT / "README.md"
    keep: dict[str, str] = {}
    if existing.exists():  # a partial run keeps the other models' rows
        for line in existing.read_text(encoding="utf-8").splitlines():
            if line.startswith("| ") and not line.startswith("| model") and not line.startswith("| ---"):
                keep[line.split("|")[1].strip()] = line
    for row in rows:
        keep[row.split("|")[1].strip()] = row
    head = ["# Diagram gallery", "",
            "Every library blueprint at each level of detail, drawn by `netgen render` with the default",
            "options (light theme, top to bottom). Regenerate with `.venv/bin/python scripts/gallery.py`;",
            "each cell gives the number of boxes, the aspect ratio and the smallest text size when the",
            "picture is scaled to 1920 px wide. PNG versions sit beside each SVG. A full drawing that fails the",
            "slide rule (over 3:1, or text under 12 px) is left out and the cell says why. Every PNG was looked",
            "at before it was committed; what that review found and fixed is in docs/diagrams.md (Gallery review).",
            "",
            "| model | " + " | ".join(levels) + " |", "| --- | " + " | ".join("---" for _ in levels) + " |"]
    OUT.joinpath("README.md").write_text("\n".join(head + [keep[k] for k in sorted(keep)]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
