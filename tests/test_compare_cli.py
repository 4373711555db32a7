"""`netgen compare`: two blueprints, or one and a `--set` variant, totals and per stage."""

from __future__ import annotations

import json

from conftest import BLUEPRINTS, ROOT
from typer.testing import CliRunner

from netgen.cli.main import app

EXAMPLES = ROOT / "docs" / "examples"


def invoke(*args, code=0):
    result = CliRunner().invoke(app, ["compare", *map(str, args)])
    assert result.exit_code == code, result.output
    return result.output


def test_variant_of_one_blueprint_shows_what_the_change_cost():
    data = json.loads(invoke(EXAMPLES / "conv5x5_bottleneck.yaml", "--set", "reduce=16", "--json"))
    assert data["totals"]["macs"] == {"a": 120_422_400, "b": 12_443_648, "delta": 12_443_648 - 120_422_400}
    stages = {s["path"]: s for s in data["stages"]}
    assert stages["bottleneck"]["a"] is None and stages["bottleneck"]["b"]["macs"] == 2_408_448
    assert stages["conv5x5"]["delta"]["macs"] == 10_035_200 - 120_422_400
    assert [s["path"] for s in data["stages"]] == ["bottleneck", "conv5x5"]


def test_two_files_side_by_side():
    data = json.loads(invoke(BLUEPRINTS / "vgg16.yaml", BLUEPRINTS / "vgg16_bn.yaml", "--json"))
    totals = data["totals"]
    assert totals["params"]["a"] == 138_357_544
    assert totals["params"]["delta"] == 2 * sum([64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512])
    assert totals["buffers"]["delta"] == 2 * 4224 + 13  # running mean/var + num_batches_tracked per BN
    assert totals["macs"]["delta"] == 0  # BN's work is other_flops, not MACs
    assert totals["other_flops"]["delta"] > 0
    stages = {s["path"]: s for s in data["stages"]}
    assert stages["classifier"]["delta"] == {"params": 0, "macs": 0, "activation_bytes": 0}
    assert stages["features"]["delta"]["params"] == totals["params"]["delta"]


def test_terminal_and_markdown_output():
    out = invoke(BLUEPRINTS / "resnet18.yaml", BLUEPRINTS / "resnet34.yaml")
    for text in ("totals", "per stage", "Δ", "layer3", "+", "MACs"):
        assert text in out
    md = invoke(EXAMPLES / "stacked_3x3.yaml", "--set", "single=true", "--markdown")
    lines = [line for line in md.splitlines() if line.startswith("| params (trainable)")]
    assert lines == ["| params (trainable) | 110,592 | 200,704 | +90.1 k | +81.5% |"]
    assert "| conv7x7 | — → 64×56×56 |" in md


def test_set_a_and_input_change_each_side():
    args = ("--input", "3x112x112", "--set-a", "num_classes=10", "--json")
    data = json.loads(invoke(BLUEPRINTS / "resnet18.yaml", *args))
    assert data["a"]["output"] == [10] and data["b"]["output"] == [1000]
    assert data["b"]["input"] == [3, 112, 112]
    assert "input=3x112x112" in data["b"]["label"]


def test_nothing_to_compare_or_bad_blueprint_exits_2():
    invoke(BLUEPRINTS / "resnet18.yaml", code=2)
    invoke(BLUEPRINTS / "resnet18.yaml", "no_such.yaml", code=2)
