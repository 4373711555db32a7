#!/usr/bin/env python3
"""Render every library blueprint into docs/gallery/ under the slide rule, plus decks and a page.

    .venv/bin/python scripts/gallery.py                 # all blueprints/*.yaml
    .venv/bin/python scripts/gallery.py resnet50 vgg16  # only these
    .venv/bin/python scripts/gallery.py --levels overview

For each model and level, what `netgen render` gives a lecturer: the overview (one slide), the
blocks level (one slide, or the slides it is split into: <name>.blocks-1.svg, ...), and the full
level where the CLI draws it (it refuses a full picture that cannot fit a slide; the cell gives
the estimate). Each as SVG and a small PNG. The slide rule: scaled to fit inside 1920x1080, the
smallest text is at least 12 px. The index (docs/gallery/README.md) gives each picture's size and
that text size. Then the decks of DECKS (`netgen slides`) in docs/gallery/decks/<name>/ and the
`netgen view` page of VIEW with a screenshot of it in headless Chromium (when it is installed).
Needs graphviz's `dot`. Look at every PNG before committing: a cramped, overlapping or unreadable
diagram is a bug.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netgen.api import compile_blueprint, library_blueprints  # noqa: E402
from netgen.errors import NetgenError  # noqa: E402
from netgen.render import LEVELS, choose_view, refusal, run_dot, slide_views, to_dot  # noqa: E402
from netgen.render.style import theme  # noqa: E402

OUT = ROOT / "docs" / "gallery"
PNG_DPI = "80"
DECKS = ("resnet50", "googlenet", "densenet121", "fractalnet")
VIEW = "resnet50"


def measure(svg: bytes) -> tuple[float, float, float]:
    """(width, height, smallest text in px with the picture scaled to fit 1920x1080) of a dot SVG."""
    text = svg.decode("utf-8")
    _, _, width, height = (float(v) for v in re.search(r'viewBox="([^"]+)"', text).group(1).split())
    smallest = min(float(v) for v in re.findall(r'font-size="([\d.]+)"', text))
    return width, height, smallest * min(1920 / width, 1080 / height)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="library model names (default: all)")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated levels of detail")
    parser.add_argument("--no-extras", action="store_true", help="skip the decks and the HTML page")
    parser.add_argument("--review", action="store_true",
                        help="render nothing: print the totals of docs/diagrams.md's Gallery review from the gallery")
    args = parser.parse_args(argv)
    if args.review:
        print(review_totals())
        return 0
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
            for old in OUT.glob(f"{graph.name}.{level}*"):
                if re.fullmatch(rf"{re.escape(graph.name)}\.{level}(-\d+)?\.(svg|png)", old.name):
                    old.unlink()
            if level == "full":
                view = choose_view(graph, level)
                problem = refusal(view)
                if problem:
                    px = re.search(r"as small as ([\d.]+) px", problem).group(1)
                    cells.append(f"{len(view.nodes)} boxes: refused (text down to {px} px on a slide)")
                    print(f"{graph.name:24s} {level:8s} refused: {len(view.nodes)} boxes, text down to {px} px")
                    continue
                views = [view]
            else:
                views = slide_views(graph, level)
            parts = []
            for k, view in enumerate(views):
                stem = f"{graph.name}.{level}" + (f"-{k + 1}" if len(views) > 1 else "")
                source = to_dot(view, theme("light"))
                svg = run_dot(source, "svg")
                width, height, px = measure(svg)
                (OUT / f"{stem}.svg").write_bytes(svg)
                (OUT / f"{stem}.png").write_bytes(_png(source))
                label = "slide" if len(views) == 1 else f"{k + 1}/{len(views)}"
                parts.append(f"[{label}]({stem}.svg) {px:.0f} px")
                print(f"{stem:34s} {len(view.nodes):4d} boxes  {width:6.0f}x{height:6.0f} pt  {px:4.1f} px on a slide")
            cells.append(", ".join(parts))
        rows.append(f"| {graph.name} | " + " | ".join(cells) + " |")
    write_index(rows, levels)
    if not args.no_extras:
        for name in DECKS:
            if not args.names or name in args.names:
                write_deck(name)
        if not args.names or VIEW in args.names:
            write_view(VIEW)
    return 0


def _png(source: str) -> bytes:
    """PNG at a fixed resolution; with Pillow available, reduced to a 256-colour palette so
    that the committed gallery stays small (the pictures have a handful of flat colours)."""
    png = run_dot(source.replace("  graph [", f"  graph [dpi={PNG_DPI}, ", 1), "png")
    return _small(png)


def _small(png: bytes) -> bytes:
    try:
        from PIL import Image
    except ImportError:
        return png
    import io

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write_deck(name: str) -> None:
    """docs/gallery/decks/<name>/: what `netgen slides` writes, the PNGs at gallery size."""
    from netgen.render.deck import deck_slides, slide_files

    folder = OUT / "decks" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    graph = compile_blueprint(name)
    slides = deck_slides(graph)
    files = slide_files(slides)
    for file, content in files.items():
        if file.endswith(".png"):
            stem = file[:-4]
            source = to_dot(next(s.view for s in slides if s.name == stem), theme("light"))
            content = _png(source)
        if file != "deck.pptx":  # the PDF shows the same slides; keep the repository small
            (folder / file).write_bytes(content)
    print(f"deck {name}: {len(slides)} slides in {folder.relative_to(ROOT)}")


def write_view(name: str) -> None:
    """docs/gallery/<name>.view.html, and a screenshot with a block opened (needs chromium)."""
    from netgen.render.html import html_page

    page = OUT / f"{name}.view.html"
    page.write_text(html_page(compile_blueprint(name)), encoding="utf-8")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        print("no chromium: the view page is written without a screenshot", file=sys.stderr)
        return
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,900"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        browser.get(page.resolve().as_uri())
        browser.find_element(By.CSS_SELECTOR, "#picture g.node[data-opens='layer2.0']").click()
        browser.find_element(By.ID, "search").send_keys("layer2.0.conv")
        box = browser.find_element(By.CSS_SELECTOR, "#picture g.node.hit")
        ActionChains(browser).move_to_element(box).perform()
        (OUT / f"{name}.view.png").write_bytes(_small(browser.get_screenshot_as_png()))
    finally:
        browser.quit()
    print(f"view {name}: {page.relative_to(ROOT)} and its screenshot")


def index_rows() -> dict[str, list[str]]:
    """{model: its cells (overview, blocks, full)} of docs/gallery/README.md."""
    rows = {}
    for line in (OUT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith(("| model", "| ---")):
            name, *cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[name] = cells
    return rows


def review_totals() -> str:
    """The Gallery review table (docs/diagrams.md), counted from the index and measured on the
    SVGs it links: pictures per level, how many keep the slide rule, the smallest text."""
    rows = index_rows()
    lines = [f"{len(rows)} library models", "| level | pictures | fit the rule | smallest text |",
             "| --- | --- | --- | --- |"]
    for column, level in enumerate(LEVELS):
        files = {name: re.findall(r"\]\(([^)]+\.svg)\)", cells[column]) for name, cells in rows.items()}
        sizes = [measure((OUT / f).read_bytes())[2] for fs in files.values() for f in fs]
        fit = sum(px >= 12 for px in sizes)
        drawn = sum(1 for fs in files.values() if fs)
        split = sum(1 for fs in files.values() if len(fs) > 1)
        refused = [float(px) for cells in rows.values()
                   for px in re.findall(r"text down to ([\d.]+) px", cells[column])]
        what = f"{len(sizes)} pictures of {drawn} models"
        if split:
            what += f": {drawn - split} on one slide, {split} split into 2–{max(map(len, files.values()))}"
        if refused:
            what += f"; {len(refused)} refused by the CLI (worst-case estimate {min(refused)}–{max(refused)} px)"
        lines.append(f"| {level} | {what} | {fit} | {min(sizes):.1f} px |" if sizes else f"| {level} | {what} | | |")
    return "\n".join(lines)


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
            "Every library blueprint at each level of detail, as `netgen render` draws it with the default",
            "options (light theme, top to bottom); regenerate with `.venv/bin/python scripts/gallery.py`.",
            "Each picture obeys the slide rule: scaled to fit inside a 1920×1080 slide, its smallest text is",
            "at least 12 px (the number in each cell) and nothing is cut. A blocks picture too large for one",
            "slide is split into slides (1/3, 2/3, …); a full picture that cannot fit is refused, and the cell",
            "gives the estimate. PNG versions sit beside each SVG. Every PNG was looked at before it was",
            "committed; what that review found is in docs/diagrams.md (Gallery review).",
            "",
            "Decks (`netgen slides`, one PDF each): [ResNet-50](decks/resnet50/deck.pdf),",
            "[GoogLeNet](decks/googlenet/deck.pdf), [DenseNet-121](decks/densenet121/deck.pdf),",
            "[FractalNet](decks/fractalnet/deck.pdf); their slides as SVG and PNG sit beside each PDF.",
            "",
            "The page `netgen view resnet50` writes: [resnet50.view.html](resnet50.view.html) (download it",
            "and open it: it needs no network). With layer2.0 opened in place, the search for `layer2.0.conv`",
            "marking its boxes, and the pointer on one of them:",
            "",
            "![netgen view resnet50](resnet50.view.png)",
            "",
            "| model | " + " | ".join(levels) + " |", "| --- | " + " | ".join("---" for _ in levels) + " |"]
    OUT.joinpath("README.md").write_text("\n".join(head + [keep[k] for k in sorted(keep)]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
