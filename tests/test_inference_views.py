"""The inference build in `summary --inference` and in diagrams (`render --inference`).

Oracles: ResNet-18's batch norms written out (torchvision's layout: 20 norms over 4,800
channels, each after a conv), so folding each into its conv removes 2C weights and 2C + 1
buffers and adds a C-entry bias; and the training build's own full diagram, whose norm boxes
the inference diagram must not draw.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT
from typer.testing import CliRunner

import netgen
from netgen.cli.main import app
from netgen.passes import inference_graph
from netgen.render import build_view

runner = CliRunner()
# ResNet-18's norms: the stem's, two per basic block (2 × 2 blocks × 4 stages), three downsamples
NORM_CHANNELS = [64] + [64] * 4 + [128] * 4 + [256] * 4 + [512] * 4 + [128, 256, 512]
TORCHVISION_PARAMS, TORCHVISION_BUFFERS = 11_689_512, 2 * sum(NORM_CHANNELS) + len(NORM_CHANNELS)


def test_summary_inference_counts_the_folded_build():
    assert len(NORM_CHANNELS) == 20 and sum(NORM_CHANNELS) == 4800
    plain = json.loads(runner.invoke(app, ["summary", "resnet18", "--json"]).output)
    folded = runner.invoke(app, ["summary", "resnet18", "--json", "--inference"])
    assert folded.exit_code == 0, folded.output
    folded = json.loads(folded.output)
    assert (plain["params"], plain["buffers"]) == (TORCHVISION_PARAMS, TORCHVISION_BUFFERS)
    # each norm's weight and bias (2C) go, its conv gains a bias (C); the running stats go
    assert folded["params"] == TORCHVISION_PARAMS - sum(NORM_CHANNELS)
    assert folded["buffers"] == 0
    assert folded["macs"] == plain["macs"]  # MACs exclude the bias
    table = runner.invoke(app, ["summary", "resnet18", "--inference"]).output
    assert "resnet18_inference" in table


def test_the_inference_diagram_draws_no_folded_norm():
    training = netgen.compile_blueprint("resnet18")
    graph = inference_graph(training)
    for level in ("overview", "blocks", "full"):
        view = build_view(graph, level)
        titles = [n.title for n in view.nodes.values()]
        assert not any("Identity" in t or "BN" in t or "BatchNorm" in t for t in titles), (level, titles)
        assert set(view.owner) == set(graph.nx.nodes)  # every op drawn, or folded into the box it passed on
    full = [n.title for n in build_view(graph, "full").nodes.values()]
    before = [n.title for n in build_view(training, "full").nodes.values()]
    # the training build's boxes without its 20 norms, each conv before one marked
    expected = [f"{t}, norm folded" if later == "BN" else t
                for t, later in zip(before, [*before[1:], None], strict=True) if t != "BN"]
    assert len(expected) == len(before) - 20 and full == expected
    assert sum(t.endswith("norm folded") for t in full) == 20
    overview = [n.title for n in build_view(graph, "overview").nodes.values()]
    assert overview[1] == "Conv 7×7 /2, 64, norm folded · ReLU"


def test_render_inference_writes_the_folded_diagram_without_torch(tmp_path):
    out = tmp_path / "r.gv"
    code = ("import sys; from netgen.cli.main import app; from typer.testing import CliRunner; "
            f"r = CliRunner().invoke(app, ['render', 'resnet18', '--inference', '--detail', 'full', '--poster', "
            f"'-o', {str(out)!r}]); "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
            "print(r.output); sys.exit(r.exit_code or (4 if bad else 0))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    assert text.count("norm folded") == 20 and "Identity" not in text and "BatchNorm" not in text
