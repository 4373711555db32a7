"""The inference build (netgen/passes/inference.py): what it folds and what it must refuse, that
its eval outputs equal torchvision's (the weights converted by the emitted file's own
`inference_state_dict`), and that its file stays ruff-clean, deterministic and torch-only.

Outputs are compared in float64 at reduced input sizes, so that a 1e-5 relative tolerance tests
the rewrite and not float32 rounding."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
import torch
from conftest import BLUEPRINTS, perturb

import netgen
from netgen.analysis import summarize
from netgen.codegen import generate_source
from netgen.passes import inference_graph


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / a.abs().max()).item()


def eval_outputs(reference, inference, size: int, batch: int = 2):
    """Eval outputs of a reference module and an inference build on one float64 input. The
    reference runs in channels_last (the same numbers): torch's float64 grouped convs are 4x
    faster so than looping over the groups in the default layout."""
    reference.eval().double().to(memory_format=torch.channels_last)
    inference.eval().double()
    x = torch.randn(batch, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        return reference(x), inference(x)


def norm_keys(state_dict, prefix: str) -> set[str]:
    return {f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
            if f"{prefix}.{k}" in state_dict}


# -- against torchvision: its weights, converted, give its eval outputs ---------------------------
@pytest.mark.parametrize(("name", "channels_last"), [("resnet50", False), ("mobilenet_v2", True),
                                                     ("efficientnet_b0", True)])
def test_inference_build_computes_what_torchvision_computes(torchvision, name, channels_last):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    perturb(reference)  # non-trivial statistics and affine terms, so each fold's arithmetic shows
    fast = netgen.load(name, input=(3, 32, 32), inference=True, channels_last=channels_last)
    converted = netgen.inference_state_dict(fast, reference.state_dict())
    fast.load_state_dict(converted, strict=True)
    # the converter removed exactly the folded norms' entries and gave each folded conv a bias
    graph = inference_graph(netgen.compile_blueprint(name, input=(3, 32, 32)))
    plan = graph.meta["inference"]
    # the analyses and the diagram read this graph: it counts what the emitted module holds
    summary = summarize(graph)
    assert summary.params == sum(p.numel() for p in fast.parameters())
    assert summary.buffers == sum(b.numel() for b in fast.buffers())
    trained = reference.state_dict()
    dropped = set().union(*(norm_keys(trained, f.norm) for f in plan.folds))
    biases = {f"{f.into}.bias" for f in plan.folds}
    assert set(converted) == (set(trained) - dropped) | biases
    assert len(plan.folds) == sum(isinstance(m, torch.nn.BatchNorm2d) for m in reference.modules())
    expected, actual = eval_outputs(reference, fast, 32, batch=1)
    assert relative_error(expected, actual) < 1e-5
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_training_only_heads_are_left_out_and_their_weights_dropped(torchvision):
    torch.manual_seed(0)
    reference = torchvision.models.googlenet(aux_logits=True, init_weights=True)
    perturb(reference)
    fast = netgen.load("googlenet", input=(3, 64, 64), inference=True)
    converted = netgen.inference_state_dict(fast, reference.state_dict())
    assert not [k for k in converted if k.startswith(("aux1.", "aux2."))]
    fast.load_state_dict(converted, strict=True)
    # torchvision's eval forward returns the logits alone (the aux heads run in training only)
    expected, actual = eval_outputs(reference, fast, 64, batch=1)
    assert relative_error(expected, actual) < 1e-5
    assert "self.aux1" not in fast.netgen_source and "self.training" not in fast.netgen_source
    assert sum(p.numel() for p in fast.parameters()) == 6_624_904 - sum(
        m.num_features for n, m in reference.named_modules()
        if isinstance(m, torch.nn.BatchNorm2d) and not n.startswith("aux"))  # each fold: -weight -bias +bias


# -- folding refuses what it cannot do exactly ----------------------------------------------------
def test_pre_activation_norms_stay_and_the_rest_fold():
    # preact_resnet164: 3 stages of 18 bottleneck units (BN-ReLU-conv x3) and a final BN. In each
    # unit bn2 and bn3 follow a conv; bn1 follows the block input (an addition), except in the
    # first unit, whose input is the stem conv, read by nothing else (the shortcut reads relu1)
    plan = inference_graph(netgen.compile_blueprint("preact_resnet164")).meta["inference"]
    assert len(plan.folds) == 54 * 2 + 1
    assert ("conv1", "layer1.0.bn1") in {(f.into, f.norm) for f in plan.folds}
    kept = dict(plan.kept_norms)
    assert len(kept) == 53 + 1 and "bn" in kept
    assert "cannot absorb" in kept["layer2.1.bn1"]


def test_densenet_norms_after_a_concatenation_stay():
    # DenseNet-121: 6+12+24+16 = 58 dense layers (norm1 after the concatenation, norm2 after conv1),
    # 3 transitions (a norm after the concatenation), norm0 after conv0, norm5 at the end
    plan = inference_graph(netgen.compile_blueprint("densenet121")).meta["inference"]
    assert len(plan.folds) == 58 + 1
    assert {f.norm.rsplit(".", 1)[-1] for f in plan.folds} == {"norm0", "norm2"}
    assert len(plan.kept_norms) == 58 + 3 + 1


def test_densenet_and_preact_outputs_equal_their_training_builds():
    for name in ("densenet_bc100_k12", "preact_resnet164"):
        torch.manual_seed(0)
        trained = netgen.load(name)
        perturb(trained)
        fast = netgen.load(name, inference=True, channels_last=True)
        fast.load_state_dict(netgen.inference_state_dict(fast, trained.state_dict()), strict=True)
        expected, actual = eval_outputs(trained, fast, 32, batch=1)
        assert relative_error(expected, actual) < 1e-5, name


# -- the emitted file's block classes hold the rewrite ----------------------------------------------
def classes_of(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


@pytest.mark.parametrize("channels_last", [False, True])
def test_an_inference_build_has_one_class_per_block_with_the_folds_in_it(channels_last):
    """ResNet-50's inference build: the one Bottleneck class of the training build, its convs
    with the bias the folded norm gives them (torch's default, so no `bias=False`), each norm an
    nn.Identity(), the projection's too; with channels_last the convs keep packed weights."""
    source = netgen.python_source("resnet50", inference=True, channels_last=channels_last)
    classes = set(classes_of(source)) - {"PackedConv2d"}
    assert classes == {"Bottleneck", "Resnet50Inference"}
    conv = "PackedConv2d" if channels_last else "nn.Conv2d"
    for line in (f"self.conv1 = {conv}(in_channels, width, kernel_size=1)", "self.bn1 = nn.Identity()",
                 f"self.conv3 = {conv}(width, planes * 4, kernel_size=1)", "self.bn3 = nn.Identity()",
                 f"{conv}(in_channels, planes * 4, kernel_size=1, stride=stride),\n                nn.Identity(),",
                 "Bottleneck(256, planes=128, stride=2, downsample=True),"):
        assert line in source, line
    assert "BatchNorm2d" not in source and "bias=False" not in source  # every norm of ResNet-50 folds


def test_a_norm_folded_in_some_instances_of_a_block_is_a_flag():
    """A pre-activation bottleneck's bn1 folds into the stem conv in the first unit only (the
    others read an addition): one class, the choice a flag named for it, set at that call."""
    source = netgen.python_source("preact_resnet164", inference=True)
    classes = classes_of(source)
    assert set(classes) == {"PreactBottleneck", "PreactResnet164Inference"}
    assert "self.bn1 = nn.Identity() if bn1_folded else nn.BatchNorm2d(in_channels)" in source
    plan = inference_graph(netgen.compile_blueprint("preact_resnet164")).meta["inference"]
    folded_units = {f.norm.removesuffix(".bn1") for f in plan.folds if f.norm.endswith(".bn1")}
    assert folded_units == {"layer1.0"}
    assert source.count("bn1_folded=True") == 1 and "PreactBottleneck(16, planes=16, bn1_folded=True)," in source
    model = netgen.load("preact_resnet164", inference=True)
    norms = {n for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert norms == {norm for norm, _ in plan.kept_norms}


NET = {"netgen": 1, "name": "small", "input": [3, 8, 8]}


def small(network, **extra):
    return netgen.compile_text(_yaml({**NET, "network": network, **extra}))


def _yaml(data) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def test_a_conv_read_by_another_op_keeps_its_norm():
    graph = small([
        {"conv": {"out": 4, "k": 3, "pad": 1, "name": "c"}},
        {"bn": {"name": "n"}},
        {"add": {"from": ["n", "c"], "name": "sum"}},
        {"conv": {"out": 4, "k": 3, "pad": 1, "name": "d"}},
        {"bn": {"name": "m"}},
        {"bn": {"name": "m2"}},  # a norm of a norm: the first folds, the second has no conv left
        "relu",
    ])
    plan = inference_graph(graph).meta["inference"]
    assert [(f.into, f.norm) for f in plan.folds] == [("d", "m")]
    kept = dict(plan.kept_norms)
    assert set(kept) == {"n", "m2"} and "also read by `sum`" in kept["n"]


def test_a_norm_on_the_input_stays():
    plan = inference_graph(small([{"bn": {"name": "n"}}, {"conv": {"out": 2, "k": 1}}])).meta["inference"]
    assert not plan.folds and plan.kept_norms == [("n", "its input is the network's input")]


def test_biased_conv_and_plain_norm_fold_exactly():
    blueprint = {**NET, "network": [
        {"conv": {"out": 6, "k": 3, "pad": 1, "bias": True, "name": "c"}},
        {"bn": {"affine": False, "eps": 1e-3, "name": "n"}},
        {"dwconv": {"k": 3, "pad": 1, "bias": False, "name": "dw"}},
        {"bn": {"name": "m"}},
        {"dropout": {"p": 0.5, "name": "drop"}},
        {"hardsigmoid": {"name": "gate"}},
    ]}
    torch.manual_seed(0)
    trained = netgen.load(blueprint)
    with torch.no_grad():  # every weight, bias and statistic away from its initial value
        for key, value in trained.state_dict().items():
            if value.is_floating_point():
                value.copy_(torch.rand_like(value) + 0.5 if key.endswith("running_var") else torch.randn_like(value))
    fast = netgen.load(blueprint, inference=True).double()
    # converted in float64 and stored so: the fold itself is exact up to float64 rounding
    fast.load_state_dict(netgen.inference_state_dict(fast, trained.double().state_dict()), strict=True)
    expected, actual = eval_outputs(trained, fast, 8)
    assert relative_error(expected, actual) < 1e-12
    plan = inference_graph(netgen.compile_text(_yaml(blueprint))).meta["inference"]
    assert [(f.into, f.norm, f.eps) for f in plan.folds] == [("c", "n", 1e-3), ("dw", "m", 1e-5)]
    assert plan.identities == ["drop"] and plan.in_place == ["gate"]  # its input is a fresh tensor


def test_in_place_only_where_nothing_else_reads_the_input():
    graph = small([
        {"conv": {"out": 4, "k": 1, "name": "c"}},
        {"hardsigmoid": {"name": "g1"}},  # c is also read by `mul`: stays out of place
        {"multiply": {"from": ["g1", "c"], "name": "mul"}},
        {"flatten": {"name": "flat"}},
        {"hardsigmoid": {"name": "g2"}},  # reads a view of `mul`, which nothing else reads
    ], outputs=["g2"])
    plan = inference_graph(graph).meta["inference"]
    assert plan.in_place == ["g2"]
    first = small([{"hardsigmoid": {"name": "g"}}])  # the caller's tensor is never overwritten
    assert inference_graph(first).meta["inference"].in_place == []


def test_the_pass_leaves_the_training_graph_alone():
    graph = netgen.compile_blueprint("efficientnet_b0")
    before = generate_source(graph)[0]
    ops = {n: d.op for n, d in graph.ops()}
    inference_graph(graph, channels_last=True)
    assert {n: d.op for n, d in graph.ops()} == ops and "inference" not in graph.meta
    assert generate_source(graph)[0] == before


def test_channels_last_needs_the_inference_build():
    with pytest.raises(ValueError, match="inference=True"):
        netgen.python_source("resnet18", channels_last=True)


def test_a_training_build_has_no_converter():
    with pytest.raises(TypeError, match="not an inference build"):
        netgen.inference_state_dict(torch.nn.Linear(2, 2), {})


# -- the emitted file -----------------------------------------------------------------------------
def test_inference_files_are_torch_only_ruff_clean_and_deterministic(tmp_path):
    # inception_v3 leaves out one module (a one-item table); `one_fold` folds one norm
    one_fold = {**NET, "name": "one_fold", "network": [{"conv": {"out": 4, "k": 3}}, "bn", "relu"]}
    for name in ("resnet50", "googlenet", "efficientnet_b0", "densenet121", "preact_resnet164", "inception_v3",
                 "one_fold"):
        blueprint = one_fold if name == "one_fold" else BLUEPRINTS / f"{name}.yaml"
        source = netgen.python_source(blueprint, inference=True, channels_last=True)
        assert source == netgen.python_source(blueprint, inference=True, channels_last=True)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] == "torch" for a in node.names), name
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in ("torch", "typing"), name
        (tmp_path / f"{name}_inference.py").write_text(source)
    check = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", str(tmp_path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "--isolated",
                          "--line-length", "120", str(tmp_path)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_build_inference_writes_the_inference_file(tmp_path):
    from typer.testing import CliRunner

    from netgen.cli.main import app

    result = CliRunner().invoke(app, ["build", "resnet18", "--inference", "--channels-last", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    source = (tmp_path / "resnet18_inference.py").read_text()
    assert "def inference_state_dict(state_dict):" in source and "torch.channels_last" in source
    assert "20 batch norms folded" in result.output  # ResNet-18: 1 + 8 blocks x 2 + 3 projections
    # ResNet-18's 20 convs (1 + 8 x 2 + 3), all packed with channels_last
    assert "channels_last with 20 convs' weights packed" in result.output
    assert "class PackedConv2d(nn.Conv2d):" in source and "nn.Conv2d(" not in source
    refused = CliRunner().invoke(app, ["build", "resnet18", "--channels-last", "-o", str(tmp_path / "b")])
    assert refused.exit_code == 2
