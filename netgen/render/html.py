"""A self-contained HTML page for exploring a network in a browser (no network access needed).

The page shows the overview picture. Every box that stands for a block or stage opens in place:
clicking it swaps in the overview drawn with that block one level finer (`--expand PATH`, drawn
ahead of time by graphviz), and clicking the block's frame, the Collapse button or Escape folds
it again. Hovering a box lists its layers with shapes, parameters and MACs; the side table holds
every layer, the same rows as `netgen summary --json`, and the search box filters it by layer
path and marks the boxes that hold the matches. Everything, pictures included, is inlined.
"""

from __future__ import annotations

import json
from html import escape

from ..graph import Graph
from .dot import to_dot
from .output import DOT_TIMEOUT_S, run_dot
from .style import theme
from .view import View


def _picture(graph: Graph, view: View, rankdir: str, theme_name: str, path_index: dict[str, int],
             timeout: float) -> dict:
    """One picture: its SVG, which layers each box holds, and which boxes open."""
    svg = run_dot(to_dot(view, theme(theme_name), rankdir), "svg", timeout).decode("utf-8")
    svg = svg[svg.index("<svg"):]  # the XML prologue and doctype do not belong inside a page
    boxes: dict[str, list[int]] = {}
    for node, box in view.owner.items():
        key = ".".join(graph[node].path)
        if graph[node].kind == "op" and key in path_index:
            boxes.setdefault(box, []).append(path_index[key])
    units = {n.id: ".".join(n.scope) for n in view.nodes.values() if n.kind == "unit" and n.scope}
    return {"svg": svg, "boxes": {k: sorted(v) for k, v in sorted(boxes.items())}, "units": units, "frame": None}


def html_page(graph: Graph, rankdir: str = "TB", theme_name: str = "light", timeout: float = DOT_TIMEOUT_S,
              progress=None) -> str:
    """The page for `graph`; needs graphviz's `dot` (raises DotMissing/DotFailed like `run_dot`)."""
    from ..analysis import summarize
    from . import choose_view

    layers = summarize(graph).as_json(None)["layers"]
    rows = [{"path": r["path"], "op": r["op"], "shape": r["output_shape"], "params": r["params"], "macs": r["macs"]}
            for r in layers]
    path_index = {r["path"]: i for i, r in enumerate(rows)}
    overview = choose_view(graph, "overview", rankdir)
    pictures = {"": _picture(graph, overview, rankdir, theme_name, path_index, timeout)}
    units = pictures[""]["units"]
    for k, path in enumerate(sorted(set(units.values()))):
        if progress:
            progress(f"drawing {path} opened ({k + 1}/{len(set(units.values()))})")
        view = choose_view(graph, "overview", rankdir, [path])
        picture = _picture(graph, view, rankdir, theme_name, path_index, timeout)
        scope = tuple(path.split("."))
        picture["frame"] = next((c.id for c in view.clusters.values() if c.path == scope), None)
        pictures[path] = picture
    data = {"name": graph.name, "layers": rows, "pictures": pictures}
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
    title = escape(graph.name)
    return _TEMPLATE.replace("@TITLE@", title).replace("@DATA@", payload)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>@TITLE@ · netgen</title>
<link rel="icon" href="data:,">
<style>
  body { margin: 0; font-family: Helvetica, Arial, sans-serif; color: #111827; display: flex; height: 100vh; }
  #main { flex: 1 1 auto; overflow: auto; padding: 12px; }
  #side { flex: 0 0 34em; overflow: auto; border-left: 1px solid #e5e7eb; padding: 12px; font-size: 13px; }
  #bar { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }
  #picture svg { max-width: 100%; height: auto; }
  #picture g.node.opens { cursor: zoom-in; }
  #picture g.cluster.frame { cursor: zoom-out; }
  #picture g.node.hit path, #picture g.node.hit polygon { stroke: #dc2626; stroke-width: 4; }
  #tip { position: fixed; display: none; background: #fff; border: 1px solid #94a3b8; padding: 6px 8px;
         font-size: 12px; box-shadow: 0 2px 6px rgba(0,0,0,.2); max-width: 40em; pointer-events: none; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #f1f5f9; white-space: nowrap; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  tr.lit { background: #fef3c7; }
  input[type=search] { flex: 1; padding: 4px; }
</style>
</head>
<body>
<div id="main">
  <div id="bar"><strong id="name"></strong><button id="collapse" disabled>Collapse</button>
    <span id="hint">Click a block to open it; click its frame to close it.</span></div>
  <div id="picture"></div>
</div>
<div id="side">
  <div id="bar2" style="display:flex;gap:8px;margin-bottom:8px">
    <input id="search" type="search" placeholder="Search layers by path, e.g. layer3.1">
    <span id="count"></span></div>
  <table id="layers"><thead><tr><th>path</th><th>op</th><th>output</th><th>params</th><th>MACs</th></tr></thead>
  <tbody></tbody></table>
</div>
<div id="tip"></div>
<script id="netgen-data" type="application/json">@DATA@</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("netgen-data").textContent);
const picture = document.getElementById("picture");
const tip = document.getElementById("tip");
const body = document.querySelector("#layers tbody");
const search = document.getElementById("search");
const collapse = document.getElementById("collapse");
let current = "";
const grouped = n => n.toLocaleString("en-US");
const shape = s => s.join("\\u00d7");

function cell(row, text, numeric) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "n";
  row.appendChild(td);
}

const rows = DATA.layers.map((layer, i) => {
  const tr = document.createElement("tr");
  tr.dataset.index = i;
  tr.dataset.path = layer.path;
  cell(tr, layer.path); cell(tr, layer.op); cell(tr, shape(layer.shape));
  cell(tr, grouped(layer.params), true); cell(tr, grouped(layer.macs), true);
  tr.addEventListener("mouseenter", () => mark(new Set([i])));
  tr.addEventListener("mouseleave", () => applySearch());
  body.appendChild(tr);
  return tr;
});

function boxesOf(indices) {
  const found = [];
  const boxes = DATA.pictures[current].boxes;
  for (const id in boxes) if (boxes[id].some(i => indices.has(i))) found.push(id);
  return found;
}

function mark(indices) {
  picture.querySelectorAll("g.node.hit").forEach(g => g.classList.remove("hit"));
  if (!indices) return;
  for (const id of boxesOf(indices)) {
    const g = document.getElementById(id);
    if (g) g.classList.add("hit");
  }
}

function showTip(event, id) {
  const indices = DATA.pictures[current].boxes[id] || [];
  if (!indices.length) return;
  tip.textContent = "";
  const table = document.createElement("table");
  for (const i of indices.slice(0, 14)) {
    const layer = DATA.layers[i];
    const tr = document.createElement("tr");
    cell(tr, layer.path); cell(tr, layer.op); cell(tr, shape(layer.shape));
    cell(tr, grouped(layer.params) + " params", true); cell(tr, grouped(layer.macs) + " MACs", true);
    table.appendChild(tr);
  }
  tip.appendChild(table);
  if (indices.length > 14) tip.appendChild(document.createTextNode("\\u2026 and " + (indices.length - 14) + " more"));
  tip.style.display = "block";
  tip.style.left = Math.min(event.clientX + 14, window.innerWidth - 420) + "px";
  tip.style.top = (event.clientY + 14) + "px";
  rows.forEach((tr, i) => tr.classList.toggle("lit", indices.includes(i)));
}

function show(key) {
  current = key in DATA.pictures ? key : "";
  const pic = DATA.pictures[current];
  picture.innerHTML = pic.svg;
  picture.dataset.open = current;
  collapse.disabled = current === "";
  picture.querySelectorAll("g.node").forEach(g => {
    g.addEventListener("mousemove", e => showTip(e, g.id));
    g.addEventListener("mouseleave", () => {
      tip.style.display = "none";
      rows.forEach(tr => tr.classList.remove("lit"));
    });
    const path = pic.units[g.id];
    if (path !== undefined && path in DATA.pictures && path !== current) {
      g.classList.add("opens");
      g.dataset.opens = path;
      g.addEventListener("click", () => show(path));
    }
  });
  if (pic.frame) {
    const frame = document.getElementById(pic.frame);
    if (frame) {
      frame.classList.add("frame");
      frame.addEventListener("click", e => { if (e.target.closest("g.node") === null) show(""); });
    }
  }
  applySearch();
}

function applySearch() {
  const query = search.value.trim().toLowerCase();
  let shown = 0;
  const hits = new Set();
  rows.forEach((tr, i) => {
    const match = query === "" || DATA.layers[i].path.toLowerCase().includes(query);
    tr.style.display = match ? "" : "none";
    if (match) { shown += 1; if (query) hits.add(i); }
    tr.classList.remove("lit");
  });
  document.getElementById("count").textContent = shown + " of " + rows.length + " layers";
  mark(query ? hits : null);
}

search.addEventListener("input", applySearch);
collapse.addEventListener("click", () => show(""));
document.addEventListener("keydown", e => { if (e.key === "Escape") show(""); });
document.getElementById("name").textContent = DATA.name;
show("");
</script>
</body>
</html>
"""

__all__ = ["html_page"]
