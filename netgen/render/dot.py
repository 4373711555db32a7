"""DOT emission: a folded, planned view becomes graphviz source text, deterministically.

The text is written by hand (not through `graphviz.Digraph`) so that every byte is under our
control: ids come from the view, attributes are written in a fixed order, and nothing
depends on the machine or on whether `dot` is installed. Segments of the snake that run
backwards declare their edges reversed with `dir=back`, so arrows still point the way the
data flows. Splines stay curved: graphviz drops edge labels with `splines=ortho`.
"""

from __future__ import annotations

from html import escape

from .layout import plan
from .style import CLUSTER_PT, EDGE_PT, FONT, LEGEND_PT, TITLE_PT, Theme, family_name, html_lines, node_lines
from .view import VEdge, View


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def legend_label(view: View, t: Theme, title: str) -> str:
    """The graph label: the model name, then one swatch per family drawn (and nothing else)."""
    cells = []
    for family in view.families():
        cells.append(f'<td bgcolor="{t.fill(family)}" color="{t.line(family)}" border="1" width="14" height="14"></td>'
                     f'<td align="left"><font point-size="{LEGEND_PT}">{escape(family_name(family))}</font></td>')
    row = "<tr>" + '<td width="10"></td>'.join(cells) + "</tr>"
    span = max(1, 3 * len(cells) - 1)
    head = (f'<tr><td colspan="{span}"><font point-size="{TITLE_PT + 3}"><b>{escape(title)}</b></font></td></tr>')
    return f'<<table border="0" cellspacing="2" cellpadding="2">{head}{row}</table>>'


RANKDIRS = ("TB", "LR")  # graphviz flow directions the layout knows


def to_dot(view: View, t: Theme, rankdir: str = "TB", title: str | None = None) -> str:
    if rankdir not in RANKDIRS:
        raise ValueError(f"Expected rankdir TB or LR; received rankdir={rankdir!r}")
    layout = plan(view, rankdir)
    seg = layout.segment_of
    out = [f"digraph {quote(view.name)} {{"]
    out.append(f"  graph [rankdir={rankdir}, bgcolor={quote(t.background)}, fontname={quote(FONT)}, "
               f"fontcolor={quote(t.text)}, labelloc=t, labeljust=c, splines=spline, nodesep=0.25, ranksep=0.3, "
               f"pad=0.2, label={legend_label(view, t, title or view.name)}];")
    out.append(f"  node [shape=box, style={quote('rounded,filled')}, fontname={quote(FONT)}, "
               f"fontcolor={quote(t.text)}, margin={quote('0.12,0.05')}, penwidth=1.2];")
    out.append(f"  edge [fontname={quote(FONT)}, fontsize={EDGE_PT}, fontcolor={quote(t.muted)}, "
               f"color={quote(t.edge)}, arrowsize=0.7];")

    children: dict[str | None, list[str]] = {}
    for cid, cluster in view.clusters.items():
        children.setdefault(cluster.parent, []).append(cid)
    nodes_in: dict[str | None, list[str]] = {}
    for nid, node in view.nodes.items():
        nodes_in.setdefault(node.cluster, []).append(nid)

    def emit(cluster: str | None, indent: str) -> None:
        for nid in nodes_in.get(cluster, []):
            node = view.nodes[nid]
            style = "rounded,filled,dashed" if node.inserted else "rounded,filled"
            line = t.inserted if node.inserted else t.line(node.family)
            extra = ", peripheries=2" if node.count > 1 else ""
            out.append(f"{indent}{nid} [id={quote(nid)}, label={html_lines(node_lines(node), t)}, "
                       f"fillcolor={quote(t.fill(node.family))}, color={quote(line)}, style={quote(style)}{extra}];")
        for cid in children.get(cluster, []):
            c = view.clusters[cid]
            label = html_lines([(c.title, CLUSTER_PT, False)] + ([(c.sub, EDGE_PT, True)] if c.sub else []), t)
            style = "rounded,filled,dashed" if c.inserted else "rounded,filled"
            out.append(f"{indent}subgraph {cid} {{")
            out.append(f"{indent}  graph [id={quote(cid)}, label={label}, style={quote(style)}, "
                       f"fillcolor={quote(t.cluster_fill)}, color={quote(t.cluster_line)}, labeljust=l, margin=10];")
            emit(cid, indent + "  ")
            out.append(f"{indent}}}")

    emit(None, "  ")
    turns: dict[tuple[int, int], VEdge] = {}
    for e in view.edges:
        a, b = seg.get(e.src, 0), seg.get(e.dst, 0)
        if b == a + 1 and (a, b) not in turns:
            turns[(a, b)] = e
    flat_turns = all(view.nodes[e.src].cluster is None and view.nodes[e.dst].cluster is None for e in turns.values())
    anchored = len(layout.segments) > 1 and rankdir == "TB" and not flat_turns
    if anchored:
        # invisible anchors on the top rank, chained left to right, each tied to the top box
        # of its segment, keep the segments in reading order (mincross may mirror them);
        # only without flat turn edges, whose labels dot would then drop
        anchors = [f"anchor_{i}" for i in range(len(layout.segments))]
        out.append("  { rank=min; " + " ".join(f"{a} [style=invis, label=\"\", width=0.01, height=0.01];"
                                               for a in anchors) + " }")
        out.append("  " + " -> ".join(anchors) + " [style=invis];")
        for i, segment in enumerate(layout.segments):
            if not segment:
                continue
            item = view.spine[segment[-1] if i % 2 else segment[0]]
            top = item[-1] if i % 2 else item[0]
            out.append(f"  {anchors[i]} -> {top} [style=invis];")
    row_of = {n: r for r, row in enumerate(layout.rows) for n in row}
    for row in layout.rows:
        out.append("  { rank=same; " + " ".join(f"{n};" for n in row) + " }")
    for upper, lower in zip(layout.rows[1:], layout.rows, strict=False):
        # each decoder row starts under the one above, so the rows stack into the U's right arm
        out.append(f"  {upper[1]} -> {lower[1]} [style=invis, weight=8];")
    linked: set[tuple[int, int]] = set()
    for e in view.edges:
        a, b = seg.get(e.src, 0), seg.get(e.dst, 0)
        attrs = [f"label={quote(e.label)}"]
        if e.skip:
            attrs.append('style="dashed"')
            attrs.append(f"color={quote(t.inserted if e.inserted else t.skip)}")
        src, dst = e.src, e.dst
        if e.src in row_of and row_of[e.src] == row_of.get(e.dst):
            if a != b:
                attrs.append("constraint=false")  # the skip into a row: flat, left to right
        elif a == b:
            if a % 2:
                src, dst = dst, src
                attrs.append("dir=back")
        elif b == a + 1:
            # the turn to the next segment: the first such edge sits level with the end of the
            # previous segment, which also keeps segments in reading order. dot fails on that
            # inside clusters (and when the others of a turn are constraint=false, so those stay
            # ordinary edges); there, with TB, invisible anchors keep the order instead
            if (a, b) not in linked and (flat_turns or rankdir == "LR" and view.nodes[e.src].cluster is None
                                         and view.nodes[e.dst].cluster is None):
                attrs.append("minlen=0")
                if any(s.skip and seg.get(s.src, 0) <= a < seg.get(s.dst, 0) for s in view.edges):
                    # a skip edge crossing the same turn: dot then drops the flat edge's label
                    # (FCN's overview lost its 2048×65×65), while an xlabel is placed after layout
                    attrs[0] = f"xlabel={quote(e.label)}"
            elif anchored:
                # drawn the way the next column runs: one rank across from the end of this one,
                # so that dot ranks the turn instead of floating it (a floating bottom turn looped
                # around ResNet-18's full drawing and tangled the four edges into an Inception
                # block). A top turn at the full level floats (the anchors hold it): ranked, it
                # looped around MobileNet-v2's full drawing; above it, floating looped DenseNet's
                if b % 2:
                    src, dst = dst, src
                    attrs.append("dir=back")
                elif view.level == "full":
                    attrs.append("constraint=false")
            linked.add((a, b))
        else:
            attrs.append("constraint=false")
        out.append(f"  {src} -> {dst} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


__all__ = ["to_dot", "quote"]
