"""The blueprint library as a user meets it (issue 2): every blueprint passes `netgen check`,
cites its paper, exposes its family's knobs as params, and LeNet-5 (which torchvision lacks)
has the parameter and MAC counts that arithmetic on its layer table gives."""

from __future__ import annotations

import pytest
from conftest import BLUEPRINTS
from typer.testing import CliRunner

import netgen
from netgen.cli.main import app

LIBRARY = sorted(BLUEPRINTS.glob("*.yaml"))


def params_of(graph) -> int:
    return sum(d.op.param_count(d.in_shapes, d.shape) for _, d in graph.ops())


def macs_of(graph) -> int:
    return sum(d.op.macs(d.in_shapes, d.shape) for _, d in graph.ops())


def output_shape(graph) -> tuple:
    return tuple(graph[graph.outputs[0]].shape)


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_netgen_check_passes(path):
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok: {path.stem}:")


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_blueprint_is_named_after_its_file_and_documented(path):
    graph = netgen.compile_blueprint(path)
    assert graph.name == path.stem
    assert len(graph.meta["doc"]) > 40  # says what the model is and cites its paper


def test_lenet5_counts_from_its_layer_table():
    graph = netgen.compile_blueprint(BLUEPRINTS / "lenet5.yaml")
    # parameters: weights + biases of each layer
    conv1 = 6 * (1 * 5 * 5) + 6  # 156
    conv2 = 16 * (6 * 5 * 5) + 16  # 2,416
    fc1 = 120 * (16 * 5 * 5) + 120  # 48,120
    fc2 = 84 * 120 + 84  # 10,164
    fc3 = 10 * 84 + 10  # 850
    assert params_of(graph) == conv1 + conv2 + fc1 + fc2 + fc3 == 61_706  # "about 60k"
    # MACs: output elements x (inputs per output), bias excluded
    macs = (6 * 28 * 28) * (1 * 5 * 5) + (16 * 10 * 10) * (6 * 5 * 5) + 120 * 400 + 84 * 120 + 10 * 84
    assert macs_of(graph) == macs == 416_520
    shapes = {node: tuple(d.shape) for node, d in graph.ops()}
    assert shapes["conv1"] == (6, 28, 28)
    assert shapes["pool1"] == (6, 14, 14)
    assert shapes["conv2"] == (16, 10, 10)
    assert shapes["pool2"] == (16, 5, 5)
    assert [shapes[n] for n in ("fc1", "fc2", "fc3")] == [(120,), (84,), (10,)]


def test_lenet5_runs_and_its_softmax_is_optional():
    import torch

    model = netgen.load(BLUEPRINTS / "lenet5.yaml").eval()
    with torch.no_grad():
        probs = model(torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(0)))
    assert probs.shape == (3, 10)
    assert torch.allclose(probs.sum(dim=1), torch.ones(3))
    logits = netgen.compile_blueprint(BLUEPRINTS / "lenet5.yaml", softmax=False, activation="sigmoid")
    kinds = [d.op.kind for _, d in logits.ops()]
    assert "softmax" not in kinds and kinds.count("sigmoid") == 4 and "tanh" not in kinds


@pytest.mark.parametrize(
    "blueprint,overrides,same_as",
    [
        ("resnet50", {"layers": [3, 4, 23, 3]}, "resnet101"),
        ("resnet50", {"layers": [3, 8, 36, 3]}, "resnet152"),
        ("resnet50", {"groups": 32, "width_per_group": 4}, "resnext50_32x4d"),
        ("resnet50", {"width_per_group": 128}, "wide_resnet50_2"),
        ("resnet18", {"layers": [3, 4, 6, 3]}, "resnet34"),
        ("vgg16", {"batch_norm": True}, "vgg16_bn"),
        ("vgg11", {"cfg": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]}, "vgg13"),
    ],
)
def test_family_knobs_reach_the_sibling_models(blueprint, overrides, same_as):
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{blueprint}.yaml", **overrides)
    sibling = netgen.compile_blueprint(BLUEPRINTS / f"{same_as}.yaml")
    assert params_of(graph) == params_of(sibling)
    assert macs_of(graph) == macs_of(sibling)
    assert [(n, d.shape) for n, d in graph.ops()] == [(n, d.shape) for n, d in sibling.ops()]


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet18", "resnext50_32x4d", "lenet5"])
def test_num_classes_is_a_knob(name):
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml", num_classes=7)
    assert output_shape(graph) == (7,)


def test_dropout_is_a_knob():
    for name in ("alexnet", "vgg16"):
        graph = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml", dropout=0.2)
        assert {d.op.p.p for _, d in graph.ops() if d.op.kind == "dropout"} == {0.2}
