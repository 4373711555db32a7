"""Colours, fonts and label text: how a folded view looks, in a light and a dark theme.

Colour encodes the op family (`Op.family`); composite boxes (a whole block or stage) have
their own `block` colour. Fonts are Helvetica, which graphviz writes as
`font-family="Helvetica,sans-Serif"` and which every OS maps to a sans-serif it has.
Sizes are chosen for slides: nothing is smaller than 11 pt, and the layout keeps the
picture narrow enough that 11 pt stays at least 12 px at 1920 px wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape

FONT = "Helvetica"
TITLE_PT = 15
SUB_PT = 11
EDGE_PT = 11
CLUSTER_PT = 13
LEGEND_PT = 12
WRAP_PT = 13  # the second line of a wrapped chain title

FAMILY_ORDER = ("io", "conv", "norm", "activation", "pool", "linear", "merge", "reshape", "regularization",
                "block", "other")
FAMILY_NAMES = {"io": "input/output", "regularization": "dropout"}


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    text: str
    muted: str
    edge: str
    skip: str
    inserted: str
    cluster_fill: str
    cluster_line: str
    families: dict  # family -> (fill, line)

    def fill(self, family: str) -> str:
        return self.families.get(family, self.families["other"])[0]

    def line(self, family: str) -> str:
        return self.families.get(family, self.families["other"])[1]


LIGHT = Theme(
    "light", background="#ffffff", text="#111827", muted="#6b7280", edge="#374151", skip="#6b7280",
    inserted="#b45309", cluster_fill="#f8fafc", cluster_line="#94a3b8",
    families={
        "io": ("#e5e7eb", "#374151"), "conv": ("#dbeafe", "#2563eb"), "norm": ("#fef3c7", "#b45309"),
        "activation": ("#dcfce7", "#15803d"), "pool": ("#fce7f3", "#be185d"), "linear": ("#ede9fe", "#6d28d9"),
        "merge": ("#fee2e2", "#b91c1c"), "reshape": ("#f1f5f9", "#475569"), "regularization": ("#f5f5f4", "#57534e"),
        "block": ("#e0f2fe", "#0369a1"), "other": ("#f3f4f6", "#4b5563"),
    },
)

DARK = Theme(
    "dark", background="#0f172a", text="#f1f5f9", muted="#94a3b8", edge="#cbd5e1", skip="#94a3b8",
    inserted="#fbbf24", cluster_fill="#1e293b", cluster_line="#64748b",
    families={
        "io": ("#374151", "#d1d5db"), "conv": ("#1e3a8a", "#93c5fd"), "norm": ("#78350f", "#fcd34d"),
        "activation": ("#14532d", "#86efac"), "pool": ("#831843", "#f9a8d4"), "linear": ("#4c1d95", "#c4b5fd"),
        "merge": ("#7f1d1d", "#fca5a5"), "reshape": ("#334155", "#cbd5e1"), "regularization": ("#44403c", "#d6d3d1"),
        "block": ("#0c4a6e", "#7dd3fc"), "other": ("#374151", "#d1d5db"),
    },
)

THEMES = {"light": LIGHT, "dark": DARK}


def format_count(n: int) -> str:
    """12345678 -> `12.3M`, 4608 -> `4.6k`."""
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def theme(name: str) -> Theme:
    if name not in THEMES:
        raise ValueError(f"Expected a theme in {sorted(THEMES)}; received theme={name!r}")
    return THEMES[name]


def family_name(family: str) -> str:
    return FAMILY_NAMES.get(family, family)


def node_lines(node) -> list[tuple[str, int, bool]]:
    """The text lines of a box: (text, point size, muted)."""
    mark = f"  ×{node.count}" if node.count > 1 else ""
    if getattr(node, "wrap", False) and " · " in node.title:
        head, rest = node.title.split(" · ", 1)
        lines = [(head + mark, TITLE_PT, False), (rest, WRAP_PT, False)]
    else:
        lines = [(node.title + mark, TITLE_PT, False)]
    if node.detail:
        lines.append((node.detail, SUB_PT, False))
    if node.sub:
        lines.append((node.sub, SUB_PT, True))
    if node.params:
        lines.append((f"{format_count(node.params)} params", SUB_PT, True))
    return lines


def html_lines(lines: list[tuple[str, int, bool]], t: Theme) -> str:
    parts = []
    for text, size, muted in lines:
        colour = f' color="{t.muted}"' if muted else ""
        parts.append(f'<font point-size="{size}"{colour}>{escape(text, quote=False)}</font>')
    return "<" + "<br/>".join(parts) + ">"


@lru_cache(maxsize=1 << 16)  # every layout plan measures every box again: a picture's few distinct lines, once
def text_width(text: str, size: int) -> float:
    """Rough Helvetica advance width in points (used only to plan the layout)."""
    wide = sum(1 for c in text if c.isupper() or c in "mwMW×→")
    narrow = sum(1 for c in text if c in "il.,:;|!'ftjr ")
    return size * (0.56 * len(text) + 0.12 * wide - 0.22 * narrow)
