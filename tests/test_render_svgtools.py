"""Measuring rendered SVG the way a slide sees it (shared by the render tests)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = {"s": "http://www.w3.org/2000/svg"}
SLIDE_WIDTH_PX, SLIDE_HEIGHT_PX = 1920, 1080  # the slide a picture is scaled to fit inside
MIN_TEXT_PX = 12.0
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class SvgFacts:
    width: float
    height: float
    nodes: list[ET.Element]
    clusters: list[ET.Element]
    edges: list[ET.Element]
    legend: list[str]
    title: str
    font_sizes: list[float]
    font_families: set[str]
    outside: int = 0  # drawn points (box corners, text anchors) beyond the picture's edge: cut off

    @property
    def aspect(self) -> float:
        return max(self.width / self.height, self.height / self.width)

    @property
    def slide_scale(self) -> float:
        """The factor that fits the whole picture inside a 1920x1080 slide."""
        return min(SLIDE_WIDTH_PX / self.width, SLIDE_HEIGHT_PX / self.height)

    @property
    def min_text_px(self) -> float:
        """The smallest text, in px, with the picture scaled to fit inside the slide."""
        return min(self.font_sizes) * self.slide_scale

    def fits_a_slide(self) -> bool:
        """The slide rule: scaled to fit inside 1920x1080, the smallest text is at least 12 px, nothing cut."""
        return self.min_text_px >= MIN_TEXT_PX and self.outside == 0

    def edge_labels(self) -> list[str]:
        return [t.text for e in self.edges for t in e.iter(f"{{{NS['s']}}}text")]

    def texts(self, element: ET.Element) -> list[str]:
        return [t.text or "" for t in element.iter(f"{{{NS['s']}}}text")]

    def dashed_edges(self) -> int:
        return sum(1 for e in self.edges for p in e.findall("s:path", NS) if p.get("stroke-dasharray"))


_GRAPHS: dict[str, object] = {}


def compiled(name: str):
    """A library model's graph, compiled once per test session (the render test modules share it)."""
    if name not in _GRAPHS:
        from conftest import BLUEPRINTS

        import netgen

        _GRAPHS[name] = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml")
    return _GRAPHS[name]


def parse_svg(svg: bytes | str) -> SvgFacts:
    root = ET.fromstring(svg if isinstance(svg, bytes) else svg.encode())
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    graph = root.find("s:g", NS)
    groups = list(graph.iter(f"{{{NS['s']}}}g"))
    def drawn(g: ET.Element) -> bool:  # invisible layout anchors are not part of the picture
        title = g.find("s:title", NS)
        return title is None or "anchor_" not in (title.text or "")

    by_class = {c: [g for g in groups if g.get("class") == c and drawn(g)] for c in ("node", "cluster", "edge")}
    # the graph label: the title, then one text per legend family (direct children of the graph group)
    label = [t.text or "" for t in graph.findall("s:text", NS)]
    texts = list(root.iter(f"{{{NS['s']}}}text"))
    sizes = [float(t.get("font-size")) for t in texts if t.get("font-size")]
    families = {t.get("font-family") for t in texts if t.get("font-family")}
    return SvgFacts(width, height, by_class["node"], by_class["cluster"], by_class["edge"], label[1:],
                    label[0] if label else "", sizes, families, _outside(graph, width, height))


def _outside(graph: ET.Element, width: float, height: float) -> int:
    """How many drawn points lie beyond the viewBox once the graph group's translate is applied."""
    found = re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", graph.get("transform", ""))
    dx, dy = (float(found.group(1)), float(found.group(2))) if found else (0.0, 0.0)
    points: list[tuple[float, float]] = []
    for element in graph.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in ("polygon", "polyline") and element.get("points"):
            values = [float(v) for v in _NUMBER.findall(element.get("points"))]
            points += list(zip(values[::2], values[1::2], strict=False))
        elif tag == "text" and element.get("x"):
            points.append((float(element.get("x")), float(element.get("y"))))
    return sum(1 for x, y in points if not (-1 <= x + dx <= width + 1 and -1 <= y + dy <= height + 1))


def count_marks(facts: SvgFacts) -> list[int]:
    """The ×N marks on boxes, in drawing order."""
    marks = []
    for node in facts.nodes:
        for text in facts.texts(node):
            found = re.search(r"×(\d+)$", text.strip())
            if found:
                marks.append(int(found.group(1)))
    return marks
