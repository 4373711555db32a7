"""`netgen render` refuses a picture it will not draw with a located error (file:line:col,
NG018, exit 2, JSON with --format json), and refuses a full-detail picture too large for any
slide from the graph's size alone, before a view is built or laid out.

The bound: a box is at least 26×36 pt (layout.node_size's floor), and a slide keeps 12 px text
for a picture of at most FIT_W·0.9 × FIT_H·0.84 pt (1584×831.6), so no slide holds more than
1584·831.6 / (26·36) = 1407 boxes; at the full level every node is a box.
"""

from __future__ import annotations

import json
import re

from conftest import write_blueprint
from typer.testing import CliRunner

import netgen
import netgen.render
from netgen.cli.main import app
from netgen.render import build_view, refusal
from netgen.render.layout import MAX_SLIDE_BOXES

runner = CliRunner()

# a binary recursion: tree(d) adds two tree(d - 1) -> 2^(d+1) - 1 ops
TREE = """netgen: 1
name: tree
input: [4, 8, 8]
blocks:
  tree:
    params: {d: 1}
    if: "${d > 0}"
    then:
      parallel:
        merge: add
        branches:
          a: {tree: {d: "${d - 1}"}}
          b: {tree: {d: "${d - 1}"}}
    else:
      relu
network:
  - tree: {d: DEPTH}
"""
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error\[NG018\]: ", re.M)


def test_the_bound_is_the_arithmetic():
    assert MAX_SLIDE_BOXES == int(1760 * 0.9 * 990 * 0.84 // (26 * 36)) == 1407


def test_a_full_picture_too_large_is_refused_before_any_view(tmp_path, monkeypatch):
    path = write_blueprint(tmp_path, TREE.replace("DEPTH", "10"))  # 2047 ops + input + output
    built = []
    for name in ("choose_view", "slide_views", "build_view"):
        monkeypatch.setattr(netgen.render, name, lambda *a, _n=name, **k: built.append(_n))
    result = runner.invoke(app, ["render", str(path), "--detail", "full", "-o", str(tmp_path / "t.gv")])
    assert result.exit_code == 2 and built == []
    where = LOCATED.search(result.stderr)
    assert where and where["file"] == str(path) and "2,049 boxes" in result.stderr and "1,407" in result.stderr
    assert "--poster" in result.stderr and not (tmp_path / "t.gv").exists()
    as_json = runner.invoke(app, ["render", str(path), "--detail", "full", "--format", "json",
                                  "-o", str(tmp_path / "t.gv")])
    (error,) = json.loads(as_json.stderr)["errors"]
    assert as_json.exit_code == 2 and error["code"] == "NG018" and error["file"] == str(path)


def test_the_early_bound_agrees_with_the_layout_estimate(tmp_path):
    """One box over the bound (a chain of 1,406 ReLUs with its input and output) is also
    refused by the slower estimate made from the built view."""
    path = write_blueprint(tmp_path, "netgen: 1\nname: chain\ninput: [1, 4, 4]\nnetwork:\n"
                                     "  - repeat: 1406\n    body: relu\n")
    graph = netgen.compile_blueprint(path)
    view = build_view(graph, "full")
    assert len(view.nodes) == len(graph) == MAX_SLIDE_BOXES + 1
    assert refusal(view) is not None


def test_every_render_refusal_is_located(tmp_path):
    small = write_blueprint(tmp_path, TREE.replace("DEPTH", "5"))  # 63 ops: too wide for a slide at full
    out = str(tmp_path / "t.gv")
    cases = {
        "network": (["render", str(small), "--detail", "full", "-o", out], str(small)),
        "rankdir": (["render", str(small), "--detail", "blocks", "--rankdir", "LR", "-o", out], "<--rankdir>"),
        "expand": (["render", str(small), "--expand", "nowhere", "-o", out], "<--expand>"),
        "slides": (["slides", str(small), "--rankdir", "LR", "-o", str(tmp_path / "deck")], "<--rankdir>"),
    }
    for case, (args, file) in cases.items():
        result = runner.invoke(app, args)
        where = LOCATED.search(result.stderr)
        assert result.exit_code == 2 and where and where["file"] == file, (case, result.stderr)
    assert not (tmp_path / "t.gv").exists()
