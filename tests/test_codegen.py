"""PyTorch emission: readable, deterministic, ruff-clean, torch-only, and the same code in memory."""

import ast
import importlib.util
import subprocess
import sys

import pytest
import torch
from conftest import BLUEPRINTS, ROOT, write_blueprint
from torch import nn

import netgen
from netgen.codegen import generate_source

LIBRARY = sorted(BLUEPRINTS.glob("*.yaml"))


def test_same_blueprint_gives_byte_identical_source():
    first = netgen.python_source(BLUEPRINTS / "resnet50.yaml")
    second = netgen.python_source(BLUEPRINTS / "resnet50.yaml")
    assert first == second


def test_generated_sources_import_only_torch_and_pass_ruff(tmp_path):
    for path in LIBRARY:
        source = netgen.python_source(path)
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] == "torch" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):  # typing, for a NamedTuple of several outputs
                assert node.module.split(".")[0] in ("torch", "typing"), path
        (tmp_path / f"{path.stem}.py").write_text(source)
    # the project's own rule selection (pyproject.toml's [tool.ruff.lint]), not only ruff's defaults:
    # E711 caught `k == None` where the file reads `k is None`
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select",
                           "E,F,W,I,B,UP", "--line-length", "120", str(tmp_path)], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    # formatted as ruff formats it, at the project's line length, and no line runs past it
    ruff = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "--isolated",
                           "--line-length", "120", str(tmp_path)], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    long = [(p.name, line) for p in tmp_path.glob("*.py") for line in p.read_text().splitlines() if len(line) > 120]
    assert not long, long[:3]


def test_in_memory_module_is_the_generated_source(tmp_path):
    model = netgen.load(BLUEPRINTS / "resnet50.yaml", input=(3, 64, 64), num_classes=7)
    source = netgen.python_source(BLUEPRINTS / "resnet50.yaml", input=(3, 64, 64), num_classes=7)
    assert model.netgen_source == source
    # the standalone file, imported as a module, builds the same network
    file = tmp_path / "resnet50.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location("resnet50_generated", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    standalone = module.Resnet50()
    standalone.load_state_dict(model.state_dict(), strict=True)
    model.eval()
    standalone.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), standalone(x))
        assert model(x).shape == (2, 7)


def test_resnet50s_bottlenecks_are_one_class_with_the_blocks_params():
    """ResNet-50's 16 bottlenecks come from one block definition and are one class, whose
    constructor takes the block's params; the widths follow from them (issue 11). Asserted on the
    module: torchvision's layerN.K keys, conv widths, projections only where the shapes change."""
    import inspect

    model = netgen.load(BLUEPRINTS / "resnet50.yaml", input=(3, 32, 32))
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    assert all(isinstance(stage, nn.Sequential) for stage in stages)
    blocks = [block for stage in stages for block in stage]
    assert [len(stage) for stage in stages] == [3, 4, 6, 3]
    assert len({type(block) for block in blocks}) == 1
    params = list(inspect.signature(type(blocks[0]).__init__).parameters)
    assert params == ["self", "in_channels", "planes", "stride", "groups", "width_per_group", "dilation", "downsample"]
    # one class, different widths: stage 1's conv1 maps 256 -> 64, stage 3's 1024 -> 256
    assert (stages[0][1].conv1.in_channels, stages[0][1].conv1.out_channels) == (256, 64)
    assert (stages[2][1].conv1.in_channels, stages[2][1].conv1.out_channels) == (1024, 256)
    # the first block of every stage projects (64 -> 256 channels, then a stride of 2)
    assert [block.downsample is not None for block in blocks] == [i in (0, 3, 7, 13) for i in range(16)]


# A block with an expression the translation cannot write (`ceil`: docs/codegen.md) keeps the
# scope-based classes for its instances, which these tests are about.
SCOPE_CLASSES = """netgen: 1
name: lifted
input: [3, 8, 8]
blocks:
  unit:
    params: {a: int, b: int, k: size, pad: size, act: relu}
    body:
      - conv: {out: $a, k: $k, pad: $pad, name: conv1}
      - $act
      - conv: {out: "${ceil(b)}", k: 1, name: conv2}
network:
  - unit: {a: 4, b: 6, k: 3, pad: 1}
  - unit: {a: 5, b: 7, k: 3, pad: 1}
  - unit: {a: 5, b: 7, k: [1, 3], pad: [0, 1]}
  - unit: {a: 5, b: 7, k: [3, 1], pad: [1, 0]}
"""


def test_scopes_that_differ_only_in_numbers_share_a_class_with_their_differences_as_arguments(tmp_path):
    source = netgen.python_source(write_blueprint(tmp_path, SCOPE_CLASSES))
    tree = ast.parse(source)
    defined = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    classes = [n.name for n in defined]
    # each instance's class, from `self.add_module("i", SomeClass(...))` in the network's class (the last)
    used = {call.args[0].value: call.args[1].func.id for call in ast.walk(defined[-1])
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "add_module"}
    square, pairs = used["0"], used["2"]
    assert used == {"0": square, "1": square, "2": pairs, "3": pairs} and square != pairs  # square kernels, pairs
    assert len(classes) == 3 and classes[-1] not in (square, pairs)  # and the network's own
    # conv1 maps in_channels -> a, conv2 a -> b: three numbers vary; the second `out_channels` is
    # named by the member it goes to
    assert f'self.add_module("0", {square}(in_channels=3, out_channels=4, conv2_out_channels=6))' in source
    assert f'self.add_module("1", {square}(in_channels=6, out_channels=5, conv2_out_channels=7))' in source


def test_lifted_arguments_are_named_by_what_they_fill(tmp_path):
    """A pair's two numbers are named by their sides."""
    source = netgen.python_source(write_blueprint(tmp_path, SCOPE_CLASSES))
    assert "kernel_size=(kernel_size_h, kernel_size_w), padding=(padding_h, padding_w)" in source
    assert "kernel_size_h=1, kernel_size_w=3, padding_h=0, padding_w=1" in source


def test_chains_of_numbered_modules_become_sequential_with_torchvision_keys(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: tiny
input: [3, 16, 16]
network:
  - seq:
      name: features
      body:
        - conv: {out: 4, k: 3, pad: 1}
        - relu
        - maxpool: {k: 2}
  - flatten
  - seq:
      name: classifier
      body: [{dropout: {p: 0.5}}, {linear: {out: 10}}]
""")
    model = netgen.load(path)
    assert isinstance(model.features, nn.Sequential) and isinstance(model.classifier, nn.Sequential)
    assert list(model.state_dict()) == [
        "features.0.weight", "features.0.bias", "classifier.1.weight", "classifier.1.bias",
    ]


def test_parallel_branch_names_and_concat(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: incep
input: [8, 10, 10]
network:
  - parallel:
      name: mix
      merge: concat
      branches:
        b1: {conv: {out: 4, k: 1}}
        b2: [{conv: {out: 2, k: 1}}, {conv: {out: 6, k: 3, pad: 1}}]
        b3: [{maxpool: {k: 3, stride: 1, pad: 1}}, {conv: {out: 3, k: 1}}]
""")
    graph = netgen.compile_blueprint(path)
    assert graph[graph.outputs[0]].shape == (13, 10, 10)
    model = netgen.load(path)
    keys = {k.rsplit(".", 1)[0] for k in model.state_dict()}
    assert keys == {"mix.b1", "mix.b2.0", "mix.b2.1", "mix.b3.1"}
    x = torch.randn(1, 8, 10, 10)
    with torch.no_grad():
        expected = torch.cat([model.mix.b1(x), model.mix.b2(x), model.mix.b3(x)], 1)
        assert torch.equal(model(x), expected)


def test_auto_projection_is_inserted_only_when_shapes_differ(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: res
input: [4, 8, 8]
blocks:
  unit:
    params: {out: int, stride: 1}
    residual:
      body:
        - conv: {out: $out, k: 3, stride: $stride, pad: 1, bias: false, name: conv1}
        - bn: {name: bn1}
      after: relu
network:
  - unit: {out: 4, name: same}
  - unit: {out: 8, stride: 2, name: down}
""")
    graph = netgen.compile_blueprint(path)
    inserted = sorted(n for n, d in graph.ops() if d.inserted)
    assert inserted == ["down.downsample.0", "down.downsample.1"]
    conv = graph["down.downsample.0"].op
    assert (conv.p.k, conv.p.stride, conv.p.bias, conv.p.out) == (1, 2, False, 8)
    model = netgen.load(path).eval()
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        h = torch.relu(model.same.bn1(model.same.conv1(x)) + x)
        expected = torch.relu(model.down.bn1(model.down.conv1(h)) + model.down.downsample(h))
        assert torch.allclose(model(x), expected)


def test_conditional_skip_adds_only_when_shapes_match(tmp_path):
    text = """netgen: 1
name: cond
input: [4, 8, 8]
params: {out: 4}
network:
  - residual:
      body: [{conv: {out: $out, k: 3, pad: 1}}]
      shortcut: if_same
"""
    path = write_blueprint(tmp_path, text)
    ops_same = [d.op.kind for _, d in netgen.compile_blueprint(path).ops()]
    ops_diff = [d.op.kind for _, d in netgen.compile_blueprint(path, out=6).ops()]
    assert ops_same == ["conv", "add"] and ops_diff == ["conv"]


def test_dense_block_concatenates_input_and_every_layer(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: dense
input: [5, 6, 6]
network:
  - name: block
    dense:
      repeat: 3
      as: i
      name: layer${i+1}
      body: {conv: {out: 2, k: 3, pad: 1}}
""")
    graph = netgen.compile_blueprint(path)
    assert graph[graph.outputs[0]].shape == (5 + 3 * 2, 6, 6)
    model = netgen.load(path)
    x = torch.randn(1, 5, 6, 6)
    with torch.no_grad():
        f1 = model.block.layer1(x)
        f2 = model.block.layer2(torch.cat([x, f1], 1))
        f3 = model.block.layer3(torch.cat([x, f1, f2], 1))
        assert torch.equal(model(x), torch.cat([x, f1, f2, f3], 1))
    assert model.block.layer3.in_channels == 9


def test_training_only_outputs(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: aux
input: [3, 8, 8]
params: {aux: true}
network:
  - conv: {out: 4, k: 3, pad: 1, name: stem}
  - if: $aux
    then:
      seq:
        name: aux1
        body: [gap, flatten, {linear: {out: 5}}]
  - conv: {out: 4, k: 3, pad: 1, name: body, from: stem}
  - gap
  - flatten
  - linear: {out: 5, name: fc}
outputs:
  - fc
  - {from: aux1, name: aux_logits, training: true, if: $aux}
""")
    model = netgen.load(path)
    calls = []
    model.aux1.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(2, 3, 8, 8)
    out = model.train()(x)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(2, 5), (2, 5)]
    assert out._fields == ("fc", "aux_logits") and out.aux_logits is out[1]
    evaluated = model.eval()(x)
    assert isinstance(evaluated, torch.Tensor) and evaluated.shape == (2, 5)
    assert len(calls) == 1  # the auxiliary head runs in training only
    without = netgen.load(path, aux=False)
    assert "aux1.2.weight" not in without.state_dict() and without.train()(x).shape == (2, 5)


@pytest.mark.parametrize(
    "op",
    [
        "conv: {out: 5, k: 3, stride: 2, pad: 1, dilation: 2}",
        "conv: {out: 6, k: [3, 5], stride: [2, 1], pad: [0, 2], groups: 3}",
        "conv: {out: 4, k: 4, pad: same}",
        "conv: {out: 4, k: 3, pad: valid, dilation: 3}",
        "maxpool: {k: 3, stride: 2, ceil: true}",
        "maxpool: {k: 3, stride: 2, pad: 1, ceil: true}",
        "maxpool: {k: 2, stride: 2, ceil: true}",
        "avgpool: {k: 3, stride: 2, pad: 1, ceil: true, count_include_pad: false}",
        "avgpool: {k: 5, stride: 3}",
        "adaptive_avgpool: {out: [3, 2]}",
    ],
)
@pytest.mark.parametrize("size", [(13, 13), (14, 17), (7, 8)])
def test_static_shapes_agree_with_torch(tmp_path, op, size):
    path = write_blueprint(tmp_path, f"netgen: 1\nname: s\ninput: [3, {size[0]}, {size[1]}]\nnetwork:\n  - {op}\n")
    graph = netgen.compile_blueprint(path)
    model = netgen.load(path)
    with torch.no_grad():
        out = model(torch.zeros(1, 3, *size))
    assert tuple(out.shape[1:]) == graph[graph.outputs[0]].shape


def test_generated_file_runs_standalone(tmp_path):
    source, class_name = generate_source(netgen.compile_blueprint(BLUEPRINTS / "resnet50.yaml", input=(3, 32, 32)))
    file = tmp_path / "m.py"
    file.write_text(source + f"\n\nprint(tuple({class_name}().eval()(torch.zeros(1, 3, 32, 32)).shape))\n")
    run = subprocess.run([sys.executable, str(file)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(1, 1000)"


def test_an_op_or_block_chosen_by_a_param(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: choose
input: [3, 8, 8]
params: {act: relu}
blocks:
  double: {params: {}, body: [{conv: {out: 3, k: 1}}, {conv: {out: 3, k: 1}}]}
network:
  - $act: {name: act}
""")
    assert netgen.compile_blueprint(path)["act"].op.kind == "relu"
    assert netgen.compile_blueprint(path, act="silu")["act"].op.kind == "silu"
    assert len(list(netgen.compile_blueprint(path, act="double").ops())) == 2


def test_a_shortcut_and_a_body_given_as_params(tmp_path):
    """A list of ops passed through a param (or built by an expression) lowers like one written in place."""
    path = write_blueprint(tmp_path, """netgen: 1
name: lists
input: [4, 8, 8]
blocks:
  unit:
    params:
      layers: [{conv: {out: 8, k: 3, stride: 2, pad: 1}}]
      skip: [{avgpool: {k: 2}}, {conv: {out: 8, k: 1}}]
    residual: {body: $layers, shortcut: $skip}
network:
  - unit: {name: a}
  - unit: {name: b, layers: "${[{'conv': {'out': 8, 'k': 1}}] * 2}", skip: identity}
""")
    graph = netgen.compile_blueprint(path)
    kinds = [(n, d.op.kind) for n, d in graph.ops()]
    assert kinds == [("a.0", "conv"), ("a.shortcut.0", "avgpool"), ("a.shortcut.1", "conv"), ("a.add", "add"),
                     ("b.0", "conv"), ("b.1", "conv"), ("b.add", "add")]
    model = netgen.load(path).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        h = getattr(model.a, "0")(x) + model.a.shortcut[1](nn.functional.avg_pool2d(x, 2))
        assert torch.allclose(model(x), getattr(model.b, "1")(getattr(model.b, "0")(h)) + h, atol=1e-6)


def test_several_outputs_come_back_as_a_named_tuple(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: two_heads
input: [3, 8, 8]
network:
  - conv: {out: 4, k: 3, pad: 1, name: stem}
  - gap
  - flatten: {name: flat}
  - linear: {out: 5, name: cls}
  - linear: {out: 2, name: box, from: flat}
outputs:
  - {from: box, name: aux, training: true}
  - cls
  - {from: box, name: box}
""")
    model = netgen.load(path)
    x = torch.randn(2, 3, 8, 8)
    trained, evaluated = model.train()(x), model.eval()(x)
    assert trained._fields == evaluated._fields == ("aux", "cls", "box")
    assert evaluated.aux is None and evaluated.cls.shape == (2, 5) and evaluated.box.shape == (2, 2)
    assert torch.equal(trained.aux, trained.box)
    exported = torch.export.export(model.eval(), (x,)).module()(x)
    assert torch.allclose(exported.cls, evaluated.cls) and exported.aux is None


def test_blocks_differing_only_in_a_rate_share_a_class(tmp_path):
    """Stochastic-depth rates grow block by block; the blocks are still one class, the rate an argument."""
    path = write_blueprint(tmp_path, """netgen: 1
name: rates
input: [4, 8, 8]
blocks:
  unit:
    params: {drop: 0.0}
    residual:
      body: [{conv: {out: 4, k: 3, pad: 1}}, {drop_path: {p: $drop, name: drop}}]
network:
  - repeat: 3
    as: i
    body: {unit: {drop: "${0.1 * (i + 1)}"}}
""")
    source = netgen.python_source(path)
    # the block's own class: the rate is its declared param, passed by name at each call
    assert source.count("class Unit") == 1 and "self.drop = DropPath(p=drop)" in source
    assert "Unit(4, drop=0.2)" in source
    model = netgen.load(path)
    assert [model.get_submodule(f"{i}.drop").p for i in range(3)] == [0.1 * (i + 1) for i in range(3)]


def test_structured_emission_prints_values_as_python_literals():
    """The printer turns the ops' data into source: a float is its repr (the shortest text that
    reads back as that float), strings are double-quoted, brackets follow precedence."""
    from netgen.codegen.printer import expression_text, literal, module_call_text
    from netgen.ops.emission import INPUTS, BinOp, Call, Input, ListOf, module_call

    assert literal(0.075) == "0.075" and literal(1e-5) == "1e-05" and literal(0.1 + 0.2) == repr(0.1 + 0.2)
    assert literal(("a'b", True, None, (1,), [2, 3.5])) == "(\"a'b\", True, None, (1,), [2, 3.5])"
    call = module_call("nn.Conv2d", ("in_channels", 3), ("out_channels", 8), kernel_size=(1, 7), bias=False)
    assert module_call_text(call) == "nn.Conv2d(3, 8, kernel_size=(1, 7), bias=False)"
    mean = BinOp("/", (BinOp("+", (INPUTS,)), 3))
    assert expression_text(mean, ["a", "b", "c"]) == "(a + b + c) / 3"
    assert expression_text(Call("torch.cat", (ListOf((INPUTS,)), 1)), ["a", "b"]) == "torch.cat([a, b], 1)"
    assert expression_text(Call("pad_to", (Input(0), Input(1), 1.5)), ["x", "ref"]) == "pad_to(x, ref, 1.5)"
    with pytest.raises(ValueError):
        module_call_text(module_call("nn.Conv2d; import os", ("x", 1)))


def test_a_rate_the_blueprint_writes_prints_as_written(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: rates
input: [4, 8, 8]
network:
  - conv: {out: 4, k: 3, pad: 1}
  - dropout2d: {p: 0.075}
  - bn: {eps: 0.001, momentum: 0.01}
""")
    source = netgen.python_source(path)
    assert "nn.Dropout2d(p=0.075)" in source
    assert "nn.BatchNorm2d(4, eps=0.001, momentum=0.01)" in source
