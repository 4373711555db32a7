"""`netgen summary` as scripts and users meet it: the JSON schema, CSV and Markdown that
parse, `--depth` folding that preserves the sums, memory options, and no torch import."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import BLUEPRINTS, ROOT
from typer.testing import CliRunner

import netgen
from netgen.analysis import summarize
from netgen.cli.main import app

EXAMPLES = ROOT / "docs" / "examples"
RESNET50 = str(BLUEPRINTS / "resnet50.yaml")


def invoke(*args):
    result = CliRunner().invoke(app, ["summary", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_has_the_stable_keys():
    data = json.loads(invoke(RESNET50, "--json"))
    assert data["name"] == "resnet50"
    assert data["input"] == [3, 224, 224] and data["output"] == [1000]
    assert isinstance(data["params"], int) and data["params"] == 25_557_032
    assert isinstance(data["macs"], int) and data["macs"] == 4_089_184_256  # torchvision: 4.089 GFLOPS
    assert data["flops"] == 2 * data["macs"]
    assert data["schema"] == "netgen.summary/2"
    for key in ("buffers", "non_trainable_params", "other_flops", "param_bytes", "activation_bytes",
                "training_bytes", "memory", "batch", "dtype"):
        assert key in data
    layer = data["layers"][0]
    assert {"path", "op", "output_shape", "params", "macs"} <= set(layer)
    assert layer == {**layer, "path": "conv1", "op": "conv", "output_shape": [64, 112, 112], "params": 9408}
    assert layer["receptive_field"] == {"size": [7, 7], "size_min": [7, 7], "size_max": [7, 7], "stride": [2, 2],
                                        "global": False}
    assert sum(row["params"] for row in data["layers"]) == data["params"]
    assert sum(row["macs"] for row in data["layers"]) == data["macs"]


def test_json_memory_figures_follow_batch_and_dtype():
    one = json.loads(invoke(RESNET50, "--json"))
    big = json.loads(invoke(RESNET50, "--json", "--batch", 8, "--dtype", "float16"))
    assert big["activation_bytes"] == one["activation_bytes"] * 8 // 2
    # float16 halves the float tensors; ResNet-50's 53 BatchNorms each keep num_batches_tracked as int64
    assert one["int64_buffers"] == big["int64_buffers"] == 1 + 16 * 3 + 4  # stem, 16 blocks × 3, 4 projections
    integer = 8 * one["int64_buffers"]
    assert big["param_bytes"] - integer == (one["param_bytes"] - integer) // 2
    t = big["memory"]["training"]
    parts = ("weights", "buffers", "gradients", "optimizer_state", "saved_activations", "transient")
    assert t["total"] == sum(t[k] for k in parts)
    # mixed precision keeps float32 weights: 4 bytes per parameter, whatever --dtype is
    assert t["weights"] == t["gradients"] == 4 * big["params"]
    assert t["optimizer_state"] == 2 * t["weights"] and t["optimizer"] == "adam"
    sgd = json.loads(invoke(RESNET50, "--json", "--optimizer", "sgd"))["memory"]["training"]
    assert sgd["optimizer_state"] == 0


def test_csv_parses_and_sums_to_the_totals():
    text = invoke(RESNET50, "--csv")
    table = list(csv.DictReader(io.StringIO(text)))
    data = json.loads(invoke(RESNET50, "--json"))
    assert len(table) == len(data["layers"])
    assert sum(int(r["params"]) for r in table) == data["params"]
    assert sum(int(r["macs"]) for r in table) == data["macs"]
    assert table[0]["kernel"] == "7x7" and table[0]["stride"] == "2x2" and table[0]["output_shape"] == "64x112x112"
    assert table[0]["rf_size"] == "7x7"


def test_markdown_tables_parse():
    text = invoke(EXAMPLES / "inception_naive.yaml", "--markdown")
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    layers, totals = tables
    assert layers[0][:4] == ["layer", "op", "kernel/stride", "output"]
    assert all(set(c) <= set("-:") for c in layers[1])
    assert all(len(row) == len(layers[0]) for row in layers)
    assert [row[0] for row in layers[2:]] == ["inception.b1x1", "inception.b3x3", "inception.b5x5",
                                              "inception.pool", "inception.concat"]
    assert any(row[0] == "MACs" and row[1].startswith("854,196,224") for row in totals)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_depth_folding_keeps_the_sums(depth):
    s = summarize(netgen.compile_blueprint(RESNET50))
    folded = s.rows_at_depth(depth)
    for key in ("params", "buffers", "macs", "other_flops", "activation_bytes"):
        assert sum(getattr(r, key) for r in folded) == sum(getattr(r, key) for r in s.rows), key
    assert sum(r.count for r in folded) == len(s.rows)
    assert all(len(r.path.split(".")) <= depth for r in folded)


def test_depth_one_shows_stages_with_their_outputs():
    data = json.loads(invoke(RESNET50, "--json", "--depth", 1))
    assert [r["path"] for r in data["layers"]] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3",
                                                   "layer4", "avgpool", "flatten", "fc"]
    stages = {r["path"]: r for r in data["layers"]}
    assert stages["layer3"]["output_shape"] == [1024, 14, 14]
    assert stages["layer3"]["ops"] > 1
    assert stages["layer4"]["receptive_field"]["size"] == [427, 427]
    assert data["depth"] == 1


def test_depth_two_folds_blocks():
    out = invoke(RESNET50, "--depth", 2)
    assert "layer1.0" in out and "layer1.0.conv1" not in out


def test_terminal_table_shows_columns_and_totals():
    out = invoke(EXAMPLES / "alexnet_2012.yaml")
    for text in ("kernel/stride", "receptive field", "11×11/4", "96×55×55", "34,944", "195/32", "global",
                 "shared", "FLOPs", "training memory", "non-trainable"):
        assert text in out, text


def test_errors_exit_2():
    result = CliRunner().invoke(app, ["summary", "no_such_model"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["summary", RESNET50, "--json", "--csv"])
    assert result.exit_code == 2


def test_summary_does_not_import_torch():
    code = (
        "import sys\n"
        "from netgen.cli.main import app\n"
        "try:\n"
        f"    app(['summary', {RESNET50!r}, '--json'], standalone_mode=False)\n"
        f"    app(['summary', {RESNET50!r}, '--depth', '2'], standalone_mode=False)\n"
        f"    app(['compare', {RESNET50!r}, '--set', 'num_classes=10'], standalone_mode=False)\n"
        "finally:\n"
        "    print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "NO-TORCH"


def test_cli_choices_are_the_registries():
    """The --dtype/--optimizer/--detail/--rankdir/--theme choices are read from the registries the
    analysis and the renderer use, so a new entry there (adamw) is accepted here."""
    import typing

    from netgen.analysis.memory import DTYPES, OPTIMIZERS
    from netgen.cli import choices
    from netgen.render.fold import LEVELS
    from netgen.render.style import THEMES

    assert typing.get_args(choices.DType)[:len(DTYPES)] == tuple(DTYPES)  # then bf16, fp16... aliases
    assert typing.get_args(choices.Optimizer) == tuple(OPTIMIZERS) and "adamw" in OPTIMIZERS
    assert typing.get_args(choices.Detail) == tuple(LEVELS)
    assert typing.get_args(choices.ThemeName) == tuple(THEMES)
    adamw = CliRunner().invoke(app, ["summary", "lenet5", "--json", "--optimizer", "adamw"])
    assert adamw.exit_code == 0, adamw.output
    result = json.loads(adamw.stdout)
    # AdamW keeps two float32 states (m and v) per parameter
    assert result["memory"]["training"]["optimizer_state"] == 2 * result["params"] * 4


def test_train_prints_the_plan_and_fit_the_largest_batch():
    text = invoke(RESNET50, "--train", "--batch", 128, "--optimizer", "adamw", "--dtype", "bf16")
    assert "batch 128, bfloat16 autocast, adamw" in text and "saved activations" in text
    assert "layer" not in text  # the plan alone, no per-layer table
    fit = json.loads(invoke(RESNET50, "--json", "--fit", "24GB", "--dtype", "bf16", "--optimizer", "adamw"))
    best = fit["memory"]["training"]["fit"]["largest_batch"]
    assert fit["memory"]["training"]["fit"]["budget"] == 24 * 10**9
    # the plan at that batch fits and the next one does not (each read from its own summary)
    at = json.loads(invoke(RESNET50, "--json", "--batch", best, "--dtype", "bf16", "--optimizer", "adamw"))
    after = json.loads(invoke(RESNET50, "--json", "--batch", best + 1, "--dtype", "bf16", "--optimizer", "adamw"))
    assert at["memory"]["training"]["total"] <= 24 * 10**9 < after["memory"]["training"]["total"]
    assert f"batch {best:,}" in invoke(RESNET50, "--fit", "24GB", "--dtype", "bf16", "--optimizer", "adamw")
    gib = json.loads(invoke(RESNET50, "--json", "--fit", "1GiB"))["memory"]["training"]["fit"]
    assert gib["budget"] == 2**30


def test_fit_refuses_a_size_it_cannot_read():
    result = CliRunner().invoke(app, ["summary", str(RESNET50), "--fit", "lots"])
    assert result.exit_code == 2 and "24GB" in result.output
