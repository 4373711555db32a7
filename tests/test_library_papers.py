"""The paper-exact part of the issue-3 library: each blueprint against the paper it cites.

For every model: the parameter count the paper reports, within the paper's own rounding
(0.27M means |count - 0.27e6| < 0.005e6), computed from netgen's graph and equal to the
emitted module's `sum(p.numel())`; the structure the paper describes (depth formulas, stage
shapes, U-Net's 388x388x2 map, FractalNet's columns and joins); the behaviour of stochastic
depth and of FractalNet's drop-path; and that every model trains (one SGD step on a tiny
batch lowers the loss and every parameter receives a gradient).

Counting conventions. Unless a row says otherwise, "parameters" are all trainable tensors,
batch-norm scales and shifts included. The pre-activation ResNet-1001 figure (10.2M) is only
reached without batch norm's affine parameters (10.18M; 10.33M with them), while ResNet-164's
1.7M holds either way, so that row counts conv and linear weights. FractalNet's paper figures
(38.6M for 20 layers, 22.9M for its narrower 40-layer variant) do not follow from its stated
configuration: the expansion rule with 64-128-256-512-512 channels gives 33.7M for C = 3 (an
independent re-implementation, khanrc/pt.fractalnet, measured the same 33.7M) and 76.1M for
C = 4; the test checks that arithmetic instead.
"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import BLUEPRINTS

import netgen

_GRAPHS: dict = {}
_MODELS: dict = {}


def _key(name: str, overrides: dict, input_shape) -> tuple:
    return (name, tuple(sorted((k, repr(v)) for k, v in overrides.items())), tuple(input_shape or ()))


def graph_of(name: str, input_shape=None, **overrides):
    key = _key(name, overrides, input_shape)
    if key not in _GRAPHS:
        _GRAPHS[key] = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml", input_shape, **overrides)
    return _GRAPHS[key]


def model_of(name: str, input_shape=None, **overrides):
    """The emitted module (built once per configuration for the whole test session)."""
    from netgen.codegen.module import build_module

    key = _key(name, overrides, input_shape)
    if key not in _MODELS:
        graph = graph_of(name, input_shape, **overrides)
        torch.manual_seed(0)  # the same initial weights whatever ran before
        _MODELS[key] = build_module(graph, f"{name}.yaml")
    return _MODELS[key]


def graph_params(graph, skip_kinds: tuple[str, ...] = ()) -> int:
    return sum(d.op.param_count(d.in_shapes, d.shape)
               for _, d in graph.ops() if d.op.kind not in skip_kinds)


def ops_of(graph, *kinds: str) -> list[tuple[str, dict]]:
    return [(node, d) for node, d in graph.ops() if d.op.kind in kinds]


def shape_of(graph, node: str) -> tuple:
    return tuple(graph[node].shape)


def module_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# -- parameter counts the papers report ---------------------------------------------------------
# (blueprint, overrides, paper figure, half a unit of its last digit, what it counts, citation)
ALL, NO_BN = "all", "no_bn"
PAPER_COUNTS = [
    ("resnet20", {}, 0.27e6, 0.005e6, ALL, "He et al. 2016, arXiv:1512.03385, table 6: ResNet-20, 0.27M"),
    ("resnet32", {}, 0.46e6, 0.005e6, ALL, "He et al. 2016, table 6: ResNet-32, 0.46M"),
    ("resnet44", {}, 0.66e6, 0.005e6, ALL, "He et al. 2016, table 6: ResNet-44, 0.66M"),
    ("resnet56", {}, 0.85e6, 0.005e6, ALL, "He et al. 2016, table 6: ResNet-56, 0.85M"),
    ("resnet110", {}, 1.7e6, 0.05e6, ALL, "He et al. 2016, table 6: ResNet-110, 1.7M"),
    ("sd_resnet110", {}, 1.7e6, 0.05e6, ALL, "Huang et al. 2016, arXiv:1603.09382: the 110-layer ResNet, 1.7M"),
    ("preact_resnet164", {}, 1.7e6, 0.05e6, ALL, "He et al. 2016, arXiv:1603.05027: ResNet-164, 1.7M"),
    ("preact_resnet1001", {}, 10.2e6, 0.05e6, NO_BN, "He et al. 2016, arXiv:1603.05027: ResNet-1001, 10.2M"),
    ("wrn28_10", {}, 36.5e6, 0.05e6, ALL, "Zagoruyko & Komodakis 2016, arXiv:1605.07146: WRN-28-10, 36.5M"),
    ("densenet_bc100_k12", {}, 0.8e6, 0.05e6, ALL, "Huang et al. 2017, arXiv:1608.06993, table 2: 0.8M"),
    ("se_resnet50", {}, 28.1e6, 0.05e6, ALL, "Hu et al. 2018, arXiv:1709.01507, SE-ResNet-50 (r = 16): 28.1M"),
    ("mobilenet_v1", {}, 4.2e6, 0.05e6, ALL, "Howard et al. 2017, arXiv:1704.04861, tables 6 and 8: 4.2M"),
    ("mobilenet_v1", {"alpha": 0.75}, 2.6e6, 0.05e6, ALL, "Howard et al. 2017, table 6: 0.75 MobileNet-224, 2.6M"),
    ("mobilenet_v1", {"alpha": 0.5}, 1.3e6, 0.05e6, ALL, "Howard et al. 2017, table 6: 0.5 MobileNet-224, 1.3M"),
    ("mobilenet_v1", {"alpha": 0.25}, 0.5e6, 0.05e6, ALL, "Howard et al. 2017, table 6: 0.25 MobileNet-224, 0.5M"),
]


@pytest.mark.parametrize("name,overrides,reported,half_unit,counted,citation", PAPER_COUNTS,
                         ids=[f"{r[0]}{'-' + '-'.join(f'{k}{v}' for k, v in r[1].items()) if r[1] else ''}"
                              for r in PAPER_COUNTS])
def test_parameter_count_is_the_papers(name, overrides, reported, half_unit, counted, citation):
    graph = graph_of(name, **overrides)
    count = graph_params(graph, skip_kinds=("bn",) if counted == NO_BN else ())
    assert abs(count - reported) < half_unit, f"{name}: {count:,} parameters; {citation}"


@pytest.mark.parametrize("name", sorted({r[0] for r in PAPER_COUNTS} | {"zfnet", "nin", "unet", "fractalnet"}))
def test_graph_count_equals_the_emitted_module(name):
    input_shape = (3, 8, 8) if name == "preact_resnet1001" else None  # the module the training test builds
    assert graph_params(graph_of(name, input_shape)) == module_params(model_of(name, input_shape))


def test_preact_resnet1001_counts_with_and_without_batch_norm():
    """10.2M is the conv + linear weights; batch norm's scales and shifts add 0.15M (see the docstring)."""
    graph = graph_of("preact_resnet1001")
    assert graph_params(graph, skip_kinds=("bn",)) == 10_178_490
    assert graph_params(graph) == 10_327_706


def test_se_resnet50_adds_about_2_5m_to_resnet50():
    """Hu et al. 2018, sec. 'Model and computational complexity': ~2.5 million additional
    parameters beyond ResNet-50's ~25 million; the rest of the network is ResNet-50 exactly."""
    se = graph_of("se_resnet50")
    gates = [n for n, _ in se.ops() if ".se.gate." in n]
    extra = sum(d.op.param_count(d.in_shapes, d.shape) for n, d in se.ops() if ".se.gate." in n)
    assert abs(extra - 2.5e6) < 0.05e6
    assert graph_params(se) - extra == graph_params(netgen.compile_blueprint(BLUEPRINTS / "resnet50.yaml"))
    assert len([n for n in gates if n.endswith("fc1")]) == 16  # one gate per bottleneck
    for node, data in se.ops():
        if node.endswith(".se.gate.fc1"):
            channels = data.in_shapes[0][0]
            assert data.shape[0] == channels // 16  # reduction ratio 16
        if node.endswith(".se.multiply"):
            assert data.in_shapes[1][1:] == (1, 1)  # a C x 1 x 1 gate scales a C x H x W map


# -- structure ---------------------------------------------------------------------------------------
CIFAR_RESNETS = [("resnet20", 3), ("resnet32", 5), ("resnet44", 7), ("resnet56", 9), ("resnet110", 18)]


@pytest.mark.parametrize("name,n", CIFAR_RESNETS)
def test_cifar_resnet_is_6n_plus_2_layers_with_option_a_shortcuts(name, n):
    graph = graph_of(name)
    weighted = ops_of(graph, "conv", "linear")
    assert len(weighted) == 6 * n + 2 == int(name.removeprefix("resnet"))
    # option A: no projection convs; the two widening blocks subsample and pad with zeros
    shortcuts = ops_of(graph, "shortcut_a")
    assert [node for node, _ in shortcuts] == ["layer2.0.shortcut.0", "layer3.0.shortcut.0"]
    assert [shape_of(graph, f"layer{i}.{n - 1}.relu") for i in (1, 2, 3)] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert shape_of(graph, "fc") == (10,)


@pytest.mark.parametrize("name,n", [("preact_resnet164", 18), ("preact_resnet1001", 111)])
def test_preact_resnet_is_9n_plus_2_layers_of_bottlenecks(name, n):
    graph = graph_of(name)
    projections = [node for node, _ in ops_of(graph, "conv") if ".shortcut." in node]
    assert projections == ["layer1.0.unit.shortcut.0", "layer2.0.unit.shortcut.0", "layer3.0.unit.shortcut.0"]
    layers = [node for node, _ in ops_of(graph, "conv", "linear") if ".shortcut." not in node]
    assert len(layers) == 9 * n + 2 == int(name.removeprefix("preact_resnet"))
    assert [shape_of(graph, f"layer{i}.{n - 1}.add") for i in (1, 2, 3)] == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
    # identity units add the untouched input: the add's second input is the unit's input
    assert graph.inputs_of("layer2.1.add")[1] == "layer2.0.unit.add"


def test_wrn28_10_groups_and_widths():
    """depth 28 = 6N + 4: N = 4 B(3,3) blocks per group, 2 convs each, plus conv1, three 1x1
    shortcut convs (16->160, 160->320, 320->640) = 28 convs."""
    graph = graph_of("wrn28_10")
    convs = [node for node, _ in ops_of(graph, "conv")]
    assert len([n for n in convs if ".shortcut." in n]) == 3
    assert len(convs) == 6 * 4 + 4 == 28
    assert len(ops_of(graph, "linear")) == 1
    assert [shape_of(graph, f"block{i}.3.add") for i in (1, 2, 3)] == [(160, 32, 32), (320, 16, 16), (640, 8, 8)]
    assert graph_params(graph_of("wrn28_10", widen=1)) < 0.5e6  # widen factor is a knob (WRN-28-1)


def test_densenet_bc_layout():
    graph = graph_of("densenet_bc100_k12")
    assert len(ops_of(graph, "conv", "linear")) == 100  # L counts convs, transitions and the classifier
    for i in (1, 2, 3):
        layers = [n for n, _ in ops_of(graph, "conv") if n.startswith(f"denseblock{i}.") and n.endswith("conv2")]
        assert len(layers) == 16
    # 2k = 24 input channels, +16 * 12 per block, halved by each transition
    assert shape_of(graph, "denseblock1.concat_15") == (216, 32, 32)
    assert shape_of(graph, "transition1.pool") == (108, 16, 16)
    assert shape_of(graph, "denseblock2.concat_15") == (300, 16, 16)
    assert shape_of(graph, "transition2.pool") == (150, 8, 8)
    assert shape_of(graph, "denseblock3.concat_15") == (342, 8, 8)


def test_nin_is_three_mlpconvs_and_global_average_pooling():
    graph = graph_of("nin")
    convs = ops_of(graph, "conv")
    assert len(convs) == 9 and not ops_of(graph, "linear")  # no fully connected layer
    assert sum(1 for _, d in convs if d.op.p.k == 1) == 6  # two 1x1 "cccp" layers per mlpconv
    assert shape_of(graph, "mlpconv3.cccp2") == (10, 8, 8)  # one map per class
    assert ops_of(graph, "gap")[0][0] == "pool3"


def test_zfnet_layer_sizes_of_figure_3():
    graph = graph_of("zfnet")
    expected = {
        "features.conv1": (96, 110, 110), "features.pool1": (96, 55, 55),
        "features.conv2": (256, 26, 26), "features.pool2": (256, 13, 13),
        "features.conv3": (384, 13, 13), "features.conv4": (384, 13, 13),
        "features.conv5": (256, 13, 13), "features.pool5": (256, 6, 6),
        "classifier.fc6": (4096,), "classifier.fc7": (4096,), "classifier.fc8": (1000,),
    }
    assert {node: shape_of(graph, node) for node in expected} == expected
    assert [d.op.p.k for _, d in ops_of(graph, "conv")] == [7, 5, 3, 3, 3]
    assert all(d.op.p.groups == 1 for _, d in ops_of(graph, "conv"))  # dense connections, unlike AlexNet


def test_mobilenet_v1_has_28_layers_and_scales_width_and_resolution():
    graph = graph_of("mobilenet_v1")
    assert len(ops_of(graph, "conv", "dwconv", "linear")) == 28  # dw and pw counted separately, as the paper does
    assert len(ops_of(graph, "dwconv")) == 13
    assert shape_of(graph, "features.13.pw_relu") == (1024, 7, 7)
    half = graph_of("mobilenet_v1", alpha=0.5, rho=160 / 224)
    assert tuple(half["input"].shape) == (3, 160, 160)
    assert shape_of(half, "features.13.pw_relu") == (512, 5, 5)


def test_unet_output_map_and_skips():
    graph = graph_of("unet")
    assert tuple(graph["input"].shape) == (1, 572, 572)
    assert shape_of(graph, graph.outputs[0]) == (2, 388, 388)
    assert len(ops_of(graph, "conv", "convT")) == 23  # "In total the network has 23 convolutional layers."
    assert all(d.op.p.pad == 0 for _, d in ops_of(graph, "conv"))  # unpadded convs
    crops = {node: (shape_of(graph, graph.inputs_of(node)[0])[1:], shape_of(graph, node)[1:])
             for node, _ in ops_of(graph, "crop")}
    assert crops == {"crop4": ((64, 64), (56, 56)), "crop3": ((136, 136), (104, 104)),
                     "crop2": ((280, 280), (200, 200)), "crop1": ((568, 568), (392, 392))}
    assert graph.inputs_of("crop1") == ["enc1.relu2", "up1"]
    assert shape_of(graph, "bottom.relu2") == (1024, 28, 28)


def test_unet_forward_at_572():
    model = model_of("unet").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 1, 572, 572, generator=torch.Generator().manual_seed(0)))
    assert tuple(out.shape) == (1, 2, 388, 388)


def _deepest_conv_path(graph, nodes) -> int:
    """Longest chain of convs through the given nodes of the graph."""
    depth: dict[str, int] = {}
    for node in graph.topological():
        if node not in nodes:
            continue
        best = max((depth.get(i, 0) for i in graph.inputs_of(node)), default=0)
        depth[node] = best + (graph[node].kind == "op" and graph.op_node(node).op.kind == "conv")
    return max(depth.values())


@pytest.mark.parametrize("columns", [4, 3])
def test_fractalnet_structure(columns):
    graph = graph_of("fractalnet", columns=columns)
    blocks = 5
    convs = ops_of(graph, "conv")
    assert len(convs) == blocks * (2**columns - 1)  # f_C has 2^C - 1 convs
    joins = ops_of(graph, "fractal_join")
    assert len(joins) == blocks * (2 ** (columns - 1) - 1)  # J(C) = 2 J(C-1) + 1
    for b in range(1, blocks + 1):
        in_block = {n for n in graph.nx.nodes if n.startswith(f"block{b}.")}
        assert _deepest_conv_path(graph, in_block) == 2 ** (columns - 1)
        top = graph[f"block{b}.fractal_join"].op
        assert top.input_columns(2) == (tuple(range(columns - 1)), (columns - 1,))  # every column meets here
    assert _deepest_conv_path(graph, set(graph.nx.nodes)) == blocks * 2 ** (columns - 1)  # 40 layers for C = 4
    sizes = [shape_of(graph, f"pool{b}") for b in range(1, 6)]
    assert sizes == [(64, 16, 16), (128, 8, 8), (256, 4, 4), (512, 2, 2), (512, 1, 1)]
    # the expansion rule's arithmetic: per block, C convs read the block input, the rest its output
    chans, c_in, expected = [64, 128, 256, 512, 512], 3, 0
    def per_conv(c_in: int, c_out: int) -> int:
        return c_in * c_out * 9 + c_out + 2 * c_out  # weights, bias, BN scale and shift

    for c_out in chans:
        expected += columns * per_conv(c_in, c_out) + (2**columns - 1 - columns) * per_conv(c_out, c_out)
        c_in = c_out
    expected += 512 * 10 + 10
    assert graph_params(graph) == expected
    assert round(expected / 1e6, 1) == {3: 33.7, 4: 76.1}[columns]


# -- stochastic depth ---------------------------------------------------------------------------
def _drop_paths(model) -> list[tuple[str, torch.nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if type(m).__name__ == "DropPath"]


def test_stochastic_depth_linear_decay_rule():
    """p_l = 1 - l/L (1 - p_L) with p_L = 0.5 over L = 54 blocks, counted across stages."""
    model = model_of("sd_resnet110")
    drops = _drop_paths(model)
    assert len(drops) == 54
    for index, (name, module) in enumerate(drops, start=1):
        assert module.mode == "batch"
        assert math.isclose(1 - module.p, 1 - index / 54 * 0.5), name
    assert drops[-1][1].p == 0.5 and drops[0][0] == "layer1.0.drop_path"


# Behaviour tests run the blueprints with narrow layers and small inputs (same structure, same
# drop-path configuration: widths do not enter the schedule or the joins) to stay fast on CPU.
SD_SMALL = {"widths": [4, 8, 16]}
FRACTAL_SMALL = {"channels": [8, 8, 8, 8, 8]}

def test_stochastic_depth_survival_rates_in_training_and_determinism_in_eval():
    torch.manual_seed(0)
    model = model_of("sd_resnet110", (3, 8, 8), **SD_SMALL).train()
    drops = _drop_paths(model)
    survived = {name: 0 for name, _ in drops}
    seen = {name: 0 for name, _ in drops}

    def hook(module, inputs, output, name):
        zero = (output == 0).flatten(1).all(1)
        assert bool(zero.all()) or not bool(zero.any()), "per-batch mode drops the whole batch or nothing"
        seen[name] += 1
        survived[name] += int(not bool(zero.all()))
        if not bool(zero.all()):  # survivors are rescaled by 1 / p_l
            torch.testing.assert_close(output, inputs[0] / (1 - module.p))

    handles = [m.register_forward_hook(lambda mod, i, o, name=n: hook(mod, i, o, name)) for n, m in drops]
    passes = 30
    try:
        with torch.no_grad():
            x = torch.randn(2, 3, 8, 8)
            for _ in range(passes):
                model(x)
    finally:
        for h in handles:
            h.remove()
    assert set(seen.values()) == {passes}
    # all blocks together: sum of Bernoulli(p_l), within 4 standard deviations
    keep = [1 - m.p for _, m in drops]
    expected = passes * sum(keep)
    sd = math.sqrt(passes * sum(k * (1 - k) for k in keep))
    assert abs(sum(survived.values()) - expected) < 4 * sd
    # the deepest third (p_l from 0.67 down to 0.5) survives less often than the first third
    first, last = sum(list(survived.values())[:18]), sum(list(survived.values())[-18:])
    assert last < first
    # one block many times on its own: rate within 4 sd of p_L = 0.5
    last_block = drops[-1][1]
    trials = 2000
    kept = sum(int(last_block(torch.ones(1, 1, 1, 1)).item() != 0) for _ in range(trials))
    assert abs(kept / trials - 0.5) < 4 * math.sqrt(0.25 / trials)
    # eval: every block runs and the network is deterministic
    model.eval()
    with torch.no_grad():
        first_out, second_out = model(x), model(x)
    torch.testing.assert_close(first_out, second_out, rtol=0, atol=0)
    model.train()


# -- FractalNet drop-path ---------------------------------------------------------------------------
def _joins(model) -> list[tuple[str, torch.nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if type(m).__name__ == "FractalJoin"]


def _kept_inputs(inputs, output) -> tuple[int, ...]:
    """Which inputs a join averaged: the one subset whose mean is its output."""
    n = len(inputs)
    matches = []
    for mask in range(1, 2**n):
        subset = tuple(i for i in range(n) if mask >> i & 1)
        mean = sum(inputs[i] for i in subset) / len(subset)
        if torch.allclose(mean, output, rtol=1e-4, atol=1e-5):
            matches.append(subset)
    assert len(matches) == 1, f"join output matches subsets {matches}"
    return matches[0]


def _record_joins(model, passes: int, x) -> list[dict[str, tuple]]:
    """Per forward pass: join name -> (kept inputs, the join's columns, the pass's global column)."""
    joins = _joins(model)
    records: list[dict] = []

    def hook(module, inputs, output, name):
        column = int(module.global_column) if module.global_column is not None else -1
        records[-1][name] = (_kept_inputs(inputs, output), module.columns, column)

    handles = [m.register_forward_hook(lambda mod, i, o, name=n: hook(mod, i, o, name)) for n, m in joins]
    try:
        with torch.no_grad():
            for _ in range(passes):
                records.append({})
                model(x)
    finally:
        for h in handles:
            h.remove()
    return records


def test_fractalnet_global_drop_path_keeps_one_column_in_every_block():
    torch.manual_seed(1)
    model = model_of("fractalnet", p_global=1.0, **FRACTAL_SMALL).train()
    records = _record_joins(model, 24, torch.randn(2, 3, 32, 32))
    chosen = set()
    for record in records:
        columns = {column for _, _, column in record.values()}
        assert len(columns) == 1 and -1 not in columns  # one column for the whole network
        (column,) = columns
        chosen.add(column)
        for name, (kept, join_columns, _) in record.items():
            carrying = [i for i, cols in enumerate(join_columns) if column in cols]
            if carrying:  # on the chosen column's path: only that input survives
                assert kept == tuple(carrying), (name, column, kept)
        for b in range(1, 6):  # every block's outermost join sees every column and keeps the chosen one
            kept, join_columns, _ = record[f"block{b}.fractal_join"]
            assert [column in join_columns[i] for i in kept] == [True]
    assert chosen == {0, 1, 2, 3}  # 24 passes: each column is chosen at some point


def test_fractalnet_local_drop_path_never_drops_every_input():
    torch.manual_seed(2)
    p = 0.6
    model = model_of("fractalnet", p_global=0.0, p_local=p, **FRACTAL_SMALL).train()
    records = _record_joins(model, 12, torch.randn(2, 3, 32, 32))
    kept_counts = [0, 0]
    total = 0
    for record in records:
        for name, (kept, _, column) in record.items():
            assert column == -1 and len(kept) >= 1, name
            for i in kept:
                kept_counts[i] += 1
            total += 1
    # two inputs each dropped with p, one revived when both are: P(kept) = (1 - p) + p^2 / 2
    rate = (1 - p) + p * p / 2
    for count in kept_counts:
        assert abs(count / total - rate) < 4 * math.sqrt(rate * (1 - rate) / total)


def test_fractalnet_eval_averages_every_column_deterministically():
    model = model_of("fractalnet", **FRACTAL_SMALL).eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    records = _record_joins(model, 2, x)
    for record in records:
        assert all(kept == (0, 1) for kept, _, _ in record.values())
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


# -- every model trains ------------------------------------------------------------------------------
# (blueprint, overrides, input C x H x W for the step, batch). Small inputs where the
# architecture allows them; gradient coverage needs every path live, so the drop-path models
# also run with their regularisers switched off (a dropped branch gets a zero gradient for that
# step by design: the blueprints' docs say so).
TRAINING = [
    ("resnet20", {}, None, 4),
    ("resnet110", {}, (3, 8, 8), 2),
    ("sd_resnet110", {}, (3, 8, 8), 2),
    ("sd_resnet110", {"death_rate": 0.0}, (3, 8, 8), 2),
    ("preact_resnet164", {}, (3, 8, 8), 2),
    ("preact_resnet1001", {}, (3, 8, 8), 2),
    ("wrn28_10", {}, (3, 8, 8), 2),
    ("densenet_bc100_k12", {}, (3, 8, 8), 2),
    ("nin", {}, None, 4),
    ("zfnet", {}, None, 2),
    ("se_resnet50", {}, (3, 64, 64), 4),  # 2x2 maps in the last stage: batch-norm over 16 values
    ("mobilenet_v1", {}, (3, 64, 64), 4),
    ("unet", {"size": 188}, None, 1),  # a valid U-Net tile size: 4x4 output map
    ("fractalnet", {}, None, 2),
    ("fractalnet", {"p_local": 0.0, "p_global": 0.0, **FRACTAL_SMALL}, None, 2),
]


def _train_id(row) -> str:
    values = row.values if hasattr(row, "values") else row
    name, overrides = values[0], values[1]
    return name + ("-" + "-".join(f"{k}{v}" for k, v in overrides.items() if k != "channels") if overrides else "")


@pytest.mark.parametrize("name,overrides,input_shape,batch", TRAINING, ids=[_train_id(r) for r in TRAINING])
def test_one_sgd_step_lowers_the_loss(name, overrides, input_shape, batch):
    model = model_of(name, input_shape, **overrides).train()
    graph = graph_of(name, input_shape, **overrides)
    shape = tuple(graph["input"].shape)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *shape, generator=generator)
    out_shape = shape_of(graph, graph.outputs[0])
    classes = out_shape[0]
    if len(out_shape) == 3:  # segmentation: a class per output pixel
        target = torch.randint(classes, (batch, *out_shape[1:]), generator=generator)
    else:
        target = torch.randint(classes, (batch,), generator=generator)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)  # small: a descent step even for 1001 layers

    def loss_with_seed():
        torch.manual_seed(123)  # the same dropout / drop-path draws in both passes
        return loss_fn(model(x), target)

    optimizer.zero_grad(set_to_none=True)
    before = loss_with_seed()
    before.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    regularised = (name == "sd_resnet110" and overrides.get("death_rate", 0.5) > 0) or (
        name == "fractalnet" and overrides.get("p_global", 0.5) + overrides.get("p_local", 0.15) > 0)
    if not regularised:
        zero = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
        assert not zero, f"zero gradient for {zero[:5]}"
    # one plain SGD step from the same weights, with the first of a few step sizes that descends
    # (a 1001-layer network at initialisation can be too sharp for the larger ones)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    afters = []
    for lr in (1e-3, 1e-4, 1e-5):
        model.load_state_dict(start)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        with torch.no_grad():
            afters.append(loss_with_seed().item())
        if afters[-1] < before.item():
            break
    assert afters[-1] < before.item(), f"{name}: loss {before.item():.4f} -> {afters} for lr 1e-3, 1e-4, 1e-5"


# -- families: one structure, variants by params ------------------------------------------------------
@pytest.mark.parametrize("variant,base,overrides", [
    ("resnet32", "resnet20", {"n": 5}), ("resnet44", "resnet20", {"n": 7}), ("resnet56", "resnet20", {"n": 9}),
    ("resnet110", "resnet20", {"n": 18}), ("sd_resnet110", "resnet20", {"n": 18, "death_rate": 0.5}),
    ("preact_resnet1001", "preact_resnet164", {"n": 111}),
])
def test_depth_variants_extend_one_structure(variant, base, overrides):
    """Each depth variant is its base blueprint with other params (`extends:`), node for node."""
    ours, theirs = graph_of(variant), graph_of(base, **overrides)
    def layout(graph):
        return [(node, d.op.kind, d.shape) for node, d in graph.ops()]

    assert layout(ours) == layout(theirs)
