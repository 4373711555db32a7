"""Composite items inside a block's list, written in the block's own class (docs/codegen.md).

A named `residual` inside a list keeps its modules in an `nn.ModuleDict` member that the
block's forward wires (body, shortcut, sum). Each class is held against the scope-based module
(the classes python.py writes per scope when a block has no class, which the library tests
check against torchvision): the same state_dict keys in the same order, and equal outputs for the
same weights in eval and training mode. Expected texts are written from the blueprints below.
"""

import ast

import pytest
import torch
from conftest import BLUEPRINTS, write_blueprint
from harness import check_against_scope_classes

import netgen
from netgen.codegen.blocks import BlockWriter


def classes_of(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


def assert_runs_like_the_scope_classes(path, shape, monkeypatch, **params) -> str:
    return check_against_scope_classes(path, shape, monkeypatch, **params)[0]


NESTED_RESIDUAL = """netgen: 1
name: preunits
input: [3, 8, 8]
blocks:
  unit:
    params: {planes: int, stride: 1, drop: 0.0}
    body:
      - bn: {name: bn1}
      - relu: {name: relu1}
      - residual:
          name: inner
          body:
            - conv: {out: $planes, k: 3, stride: $stride, pad: 1, bias: false, name: conv1}
            - bn: {name: bn2}
            - relu: {name: relu2}
            - if: ${drop > 0}
              then: {dropout: {p: $drop, name: dropout}}
            - conv: {out: $planes, k: 3, pad: 1, bias: false, name: conv2}
          shortcut: projection
          projection: {name: shortcut, bn: false}
  plain:
    params: {planes: int, stride: 1}
    body:
      - conv: {out: $planes, k: 1, name: stem}
      - residual:
          name: res
          body:
            - conv: {out: $planes, k: 3, stride: $stride, pad: 1, name: conv}
          shortcut: auto
          after: relu
network:
  - conv: {out: 4, k: 3, pad: 1}
  - unit: {planes: 6, name: a}
  - unit: {planes: 8, stride: 2, drop: 0.5, name: b}
  - plain: {planes: 8, name: c}
  - plain: {planes: 12, stride: 2, name: d}
"""


def test_a_named_residual_inside_a_list_is_a_module_dict_the_block_wires(tmp_path, monkeypatch):
    path = write_blueprint(tmp_path, NESTED_RESIDUAL)
    source = assert_runs_like_the_scope_classes(path, (3, 8, 8), monkeypatch)
    assert sorted(classes_of(source)) == ["Plain", "Preunits", "Unit"]  # no class for `inner` or `res`
    # the residual's modules live under its name (the state_dict keys inner.conv1.weight, ...)
    assert "self.inner = nn.ModuleDict()" in source
    assert "self.inner.conv1 = nn.Conv2d(in_channels, planes, kernel_size=3, stride=stride, padding=1, bias=False)" \
        in source
    assert "self.inner.dropout = nn.Dropout(p=drop) if drop > 0 else None" in source
    assert "nn.Conv2d(in_channels, planes, kernel_size=1, stride=stride, bias=False)," in source
    # forward: the pre-activation, then body and shortcut from the same value, summed
    assert ("        x = self.relu1(x)\n        out = self.inner.conv1(x)\n" in source
            and "        identity = self.inner.shortcut(x)\n        out = out + identity\n        return out" in source)
    # `shortcut: auto` inside the list: the projection flag, and `after` inside the residual
    assert "def __init__(self, in_channels, planes, stride=1, downsample=False):" in source
    assert "        self.res.downsample = None\n        if downsample:\n" in source
    assert "identity = x if self.res.downsample is None else self.res.downsample(x)" in source
    assert "out = self.res.relu(out)" in source
    assert "self.d = Plain(8, planes=12, stride=2, downsample=True)" in source
    assert "self.b = Unit(6, planes=8, stride=2, drop=0.5)" in source


@pytest.mark.parametrize("name,params", [("preact_resnet164", {"n": 2}), ("wrn28_10", {"depth": 16, "widen": 1,
                                                                                       "dropout": 0.3})])
def test_pre_activation_units_are_one_class_each(name, params, monkeypatch):
    """The library's pre-activation units: `if: $project` chooses a list holding the named
    residual `unit` (the projecting unit) or a residual around the seq `unit`; one class holds both."""
    source = assert_runs_like_the_scope_classes(BLUEPRINTS / f"{name}.yaml", (3, 8, 8), monkeypatch, **params)
    block = "PreactBottleneck" if name.startswith("preact") else "WideBasic"
    assert len(classes_of(source)) == 2 and block in classes_of(source)
    # the BN-ReLU both branches build first is built once, before the `if`
    hoisted = "        self.relu1 = nn.ReLU(inplace=True)\n        if project:\n"
    hoisted += "            self.unit = nn.ModuleDict()\n"
    assert hoisted in source
    assert "            self.unit = nn.Sequential()\n" in source
    assert "            identity = self.unit.shortcut(x)\n" in source and "            out = self.unit(out)\n" in source


LOOPED = """netgen: 1
name: looped
input: [3, 16, 16]
blocks:
  unit:
    params: {out: int, stride: 1}
    body:
      - conv: {out: $out, k: 3, stride: $stride, pad: 1, bias: false}
      - bn
      - relu
  trunk:
    params: {widths: [4, 8], tail: 2}
    body:
      - conv: {out: "${widths[0]}", k: 3, pad: 1}
      - repeat: ${len(widths)}
        as: i
        body:
          unit: {out: "${widths[i]}", stride: "${2 if i == 1 else 1}"}
      - repeat: $tail
        body: {conv: {out: "${widths[-1] * 2}", k: 1}}
      - relu
network:
  - trunk: {name: a}
  - trunk: {widths: [8, 8, 16], tail: 1, name: b}
"""


def test_a_repeat_inside_a_list_is_a_loop_appending_to_the_layers(tmp_path, monkeypatch):
    """An unnamed repeat in a numbered list: the lowering numbers its iterations with the other
    items (0, 1, 2, ...), so the class is an nn.Sequential filling `layers`, one loop per repeat,
    the input channels a running variable (torchvision's MobileNetV3 and make_layers), set before
    the items that make them (`widths[0]` written once, as torchvision's
    `firstconv_output_channels`)."""
    path = write_blueprint(tmp_path, LOOPED)
    source = assert_runs_like_the_scope_classes(path, (3, 16, 16), monkeypatch)
    assert sorted(classes_of(source)) == ["Looped", "Trunk", "Unit"]
    trunk = ast.get_source_segment(source, classes_of(source)["Trunk"])
    expected = '''class Trunk(nn.Sequential):
    def __init__(self, in_channels, widths=None, tail=2):
        if widths is None:
            widths = [4, 8]
        channels = widths[0]
        layers = [
            nn.Conv2d(in_channels, channels, kernel_size=3, padding=1),
        ]
        for i in range(len(widths)):
            layers.append(Unit(channels, out=widths[i], stride=2 if i == 1 else 1))
            channels = widths[i]
        for _ in range(tail):
            layers.append(nn.Conv2d(channels, widths[-1] * 2, kernel_size=1))
            channels = widths[-1] * 2
        layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)'''
    assert trunk == expected
    # a list default is None in the signature (one list shared by every instance is a bug)
    assert "self.a = Trunk(3)" in source and "self.b = Trunk(16, widths=[8, 8, 16], tail=1)" in source


def test_mobilenet_v3_features_are_torchvisions_loop_over_the_table(monkeypatch):
    source = assert_runs_like_the_scope_classes(BLUEPRINTS / "mobilenet_v3_small.yaml", (3, 32, 32), monkeypatch)
    features = ast.get_source_segment(source, classes_of(source)["MobilenetV3Features"])
    assert features.startswith("class MobilenetV3Features(nn.Sequential):")
    assert "            layers.append(\n                MobilenetV3Block(\n" \
           "                    channels,\n" in features
    # what an iteration makes is computed once, at its top, as torchvision's `output_channel`
    assert "        for i in range(len(rows)):\n" \
           "            out_channels = make_divisible(rows[i][3] // (divider if rows[i][7] else 1) * width_mult, 8)\n" \
        in features
    assert "                    out=out_channels,\n" in features and "            channels = out_channels\n" in features
    # the table is a dict display broken at its brackets, one row a line, as ruff writes it
    assert '        tables = {\n            "large": [\n                [16, 3, 16, 16, False, "relu", 1, False],\n' \
        in features
    assert "self.features = MobilenetV3Features(3, variant=\"small\")" in source


HEADED = """netgen: 1
name: headed
input: [3, 16, 16]
blocks:
  trunk:
    params: {widths: list}
    body:
      - conv: {out: "${widths[0]}", k: 3, pad: 1}
      - repeat: ${len(widths)}
        as: i
        body: {conv: {out: "${widths[i]}", k: 3, stride: 2, pad: 1}}
network:
  - trunk: {widths: [4, 6, 8], name: backbone}
  - seq:
      name: head
      body:
        - seq: {name: gate, body: [gap, {conv: {out: 8, k: 1}}, sigmoid]}
        - multiply: {from: [backbone, gate]}
        - resize: {from: [multiply, backbone.1], name: up}
        - conv: {out: 5, k: 1, from: backbone.1, name: low}
        - conv: {out: 5, k: 1, from: up, name: high}
        - add: {from: [low, high]}
"""


def test_a_head_reading_inside_a_block_runs_its_children_and_holds_no_class(tmp_path, monkeypatch):
    """LR-ASPP's shape: the head reads `backbone.1` (a numbered child of a block whose class is an
    nn.Sequential) and wires its own named items by `from:`. The network runs the backbone's
    children one by one, keeping the child's output (torchvision's IntermediateLayerGetter); the
    head's modules live in an nn.ModuleDict the network's forward wires (the same keys)."""
    path = write_blueprint(tmp_path, HEADED)
    source = assert_runs_like_the_scope_classes(path, (3, 16, 16), monkeypatch)
    assert sorted(classes_of(source)) == ["Headed", "Trunk"]  # no class for `head`
    assert "        self.head = nn.ModuleDict()\n        self.head.gate = nn.Sequential(\n" in source
    assert "self.head.low = nn.Conv2d(4, 5, kernel_size=1)" in source
    loop = ("        backbone = x\n        for index, layer in enumerate(self.backbone):\n"
            "            backbone = layer(backbone)\n            if index == 1:\n"
            "                backbone_1 = backbone\n")
    assert loop in source
    assert "x = self.head.gate(backbone)" in source and "out = self.head.low(backbone_1)" in source


def test_these_classes_print_alike_under_any_hash_seed():
    """Byte-identical output from run to run, whatever Python's string hashing (set and dict
    order must not reach the text): two processes, two seeds."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    script = ("import netgen; print(netgen.python_source('preact_resnet164') + "
              "netgen.python_source('lraspp_mobilenet_v3_large') + netgen.python_source('vit_b_16'))")
    outs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert outs[0] == outs[1] and "class PreactBottleneck(nn.Module):" in outs[0] and "class VitEncoder(" in outs[0]


def test_vit_layers_are_one_class_each_as_torchvisions_encoder(monkeypatch):
    """ViT's blocks read as torchvision's EncoderBlock and Encoder: the layer's attention is a
    module handed to a function (`attend(self.self_attention, x)`), and the encoder's
    `layers` is a named repeat of the layer inside a named seq, a loop of `add_module` calls
    (torchvision builds the same OrderedDict of `encoder_layer_{i}`). Dropout and attention
    dropout set, so training mode draws the same masks in the same order."""
    params = {"patch": 8, "layers": 3, "hidden": 16, "heads": 2, "mlp_dim": 24, "num_classes": 10,
              "dropout": 0.1, "attention_dropout": 0.2, "input": (3, 16, 16)}
    source = assert_runs_like_the_scope_classes(BLUEPRINTS / "vit.yaml", (3, 16, 16), monkeypatch, **params)
    classes = classes_of(source)
    assert sorted(classes) == ["Permute", "Vit", "VitEncoder", "VitLayer"]
    encoder = ast.get_source_segment(source, classes["VitEncoder"])
    assert encoder.split('"""')[2] == '''

    def __init__(self, in_channels, in_shape, layers, heads, mlp_dim, dropout=0.0, attention_dropout=0.0):
        super().__init__()
        self.pos_embedding = full_parameter((1, in_shape[0], in_channels), 0.0)
        self.dropout = nn.Dropout(p=dropout)
        self.layers = nn.Sequential()
        for i in range(layers):
            self.layers.add_module(
                f"encoder_layer_{i}",
                VitLayer(
                    in_channels, heads=heads, mlp_dim=mlp_dim, dropout=dropout, attention_dropout=attention_dropout
                ),
            )
        self.ln = nn.LayerNorm(in_channels, eps=1e-06)

    def forward(self, x):
        x = x + self.pos_embedding
        x = self.dropout(x)
        x = self.layers(x)
        x = self.ln(x)
        return x'''
    layer = ast.get_source_segment(source, classes["VitLayer"])
    assert "def __init__(self, in_channels, heads, mlp_dim, dropout=0.0, attention_dropout=0.0):" in layer
    assert "self.self_attention = nn.MultiheadAttention(in_channels, heads, dropout=attention_dropout, " \
        "batch_first=True)" in layer
    # the let `dim: ${in_shape[-1]}` only names the input channels: the class says `in_channels`
    assert "nn.Linear(in_channels, mlp_dim)," in layer and "nn.Linear(mlp_dim, in_channels)," in layer
    assert "dim = " not in layer
    # the attention's output is named after its item, not renamed around a function of that name
    assert "self_attention = attend(self.self_attention, ln_1)" in layer and "out = mlp + attended" in layer
    assert "dropout = self.dropout(self_attention)" in layer
    # 5 tokens (4 patches and the class token), each call site as the blueprint wrote its arguments
    assert "self.encoder = VitEncoder(\n            16, in_shape=(5, 16), layers=3, heads=2, mlp_dim=24, " \
        "dropout=0.1, attention_dropout=0.2\n        )" in source


@pytest.mark.parametrize("name", ["vit", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"])
def test_vit_blocks_have_no_writer_failures(name):
    """Every ViT size writes both blocks as classes (no scope-based class is left)."""
    writer = BlockWriter(netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml"))
    assert sorted(writer.build(set())) == ["vit_encoder", "vit_layer"] and not writer.failures


BRANCHED = """netgen: 1
name: branched
input: [3, 16, 16]
blocks:
  stack:
    params: {cfg: list, norm: false}
    repeat: ${len(cfg)}
    as: i
    body:
      if: ${cfg[i] == 'M'}
      then: {maxpool: {k: 2, stride: 2}}
      else:
        - conv: {out: "${cfg[i]}", k: 3, pad: 1}
        - if: $norm
          then: bn
        - relu
network:
  - stack: {cfg: [4, "M", 6, 6, "M"], norm: true, name: a}
  - stack: {cfg: [8, "M", 5], name: b}
"""


def test_an_if_else_in_a_repeat_is_one_loop_as_make_layers_builds_vgg(tmp_path, monkeypatch):
    """A repeat whose body is an if/else (torchvision's make_layers over VGG's cfg): one loop
    holding both branches, the numbers running on through the iterations (a: 0 conv, 1 bn,
    2 relu, 3 pool, 4-6, 7-9, 10 pool), the input channels a running variable set where a conv
    makes them. Both instances, with and without the norm, are the one class."""
    path = write_blueprint(tmp_path, BRANCHED)
    source, model = check_against_scope_classes(path, (3, 16, 16), monkeypatch)
    assert sorted(classes_of(source)) == ["Branched", "Stack"]
    stack = ast.get_source_segment(source, classes_of(source)["Stack"])
    expected = '''class Stack(nn.Sequential):
    def __init__(self, in_channels, cfg, norm=False):
        layers = []
        channels = in_channels
        for i in range(len(cfg)):
            if cfg[i] == "M":
                layers.append(nn.MaxPool2d(kernel_size=2))
            else:
                layers.append(nn.Conv2d(channels, cfg[i], kernel_size=3, padding=1))
                if norm:
                    layers.append(nn.BatchNorm2d(cfg[i]))
                layers.append(nn.ReLU(inplace=True))
                channels = cfg[i]
        super().__init__(*layers)'''
    assert stack == expected
    assert 'self.a = Stack(3, cfg=[4, "M", 6, 6, "M"], norm=True)' in source
    assert 'self.b = Stack(6, cfg=[8, "M", 5])' in source
    keys = [k for k in model.state_dict() if k.endswith(".weight")]
    assert keys == ["a.0.weight", "a.1.weight", "a.4.weight", "a.5.weight", "a.7.weight", "a.8.weight",
                    "b.0.weight", "b.3.weight"]


def test_an_if_in_a_repeat_that_no_iteration_takes_keeps_the_scope_classes(tmp_path):
    """The loop must print both branches; an instance list that never takes one leaves nothing to
    write that branch from, so the block keeps its scope classes (and still builds)."""
    path = write_blueprint(tmp_path, BRANCHED.replace('[4, "M", 6, 6, "M"]', "[4, 6]").replace(
        '[8, "M", 5]', "[8]"))
    writer = BlockWriter(netgen.compile_blueprint(path))
    writer.build(set())
    assert "stack" in writer.failures and "stack" not in writer.classes
    assert netgen.load(path)(torch.randn(1, 3, 16, 16)).shape == (1, 8, 16, 16)


STAGED = """netgen: 1
name: staged
input: [3, 16, 16]
blocks:
  unit:
    params: {planes: int, stride: 1, dilation: 1}
    body:
      residual:
        body:
          - conv: {out: "${planes * 2}", k: 3, stride: $stride, pad: $dilation, dilation: $dilation, bias: false,
                   name: conv1}
          - bn: {name: bn1}
        shortcut: auto
        after: relu
  trunk:
    params: {block: unit, layers: [2, 1, 2], base: 4}
    body:
      - conv: {out: 4, k: 3, pad: 1, bias: false, name: conv1}
      - bn: {name: bn1}
      - relu
      - repeat: 3
        as: i
        name: layer${i+1}
        body:
          repeat: ${layers[i]}
          as: j
          body:
            $block:
              planes: ${base * 2**i}
              stride: ${2 if i > 0 and j == 0 else 1}
              dilation: ${1 if j == 0 else 2}
network:
  - trunk: {name: a, layers: [1, 2, 1], base: 2}
  - trunk: {name: b}
"""


def test_named_stages_of_block_calls_are_two_loops_as_torchvisions_make_layer(tmp_path, monkeypatch):
    """ResNet's `layer1` ... `layer4` (a named repeat of stages, each an unnamed repeat of a
    block chosen by a param) are built as torchvision's `_make_layer` builds them: per stage an
    nn.Sequential of units numbered 0, 1, ..., the running input channels `channels`, and the
    projection decided as the lowering decides it, where the unit's shape changes. Instance `a`'s
    first unit keeps its 4 channels at stride 1 (2 * 2 planes): no projection there, which a
    decision by position (`j == 0`) would get wrong."""
    path = write_blueprint(tmp_path, STAGED)
    source, module = check_against_scope_classes(path, (3, 16, 16), monkeypatch)
    # a: 4 -> 4 (stride 1, no projection), 4 -> 8 (stride 2), 8 -> 8, 8 -> 16 (stride 2);
    # b's stem takes a's 16 to 4: 4 -> 8, 8 -> 8 (none), 8 -> 16 (stride 2), 16 -> 32 (stride 2), 32 -> 32 (none)
    projected = [k.removesuffix(".downsample.0.weight") for k in module.state_dict() if "downsample.0.weight" in k]
    assert projected == ["a.layer2.0", "a.layer3.0", "b.layer1.0", "b.layer2.0", "b.layer3.0"]
    assert sorted(classes_of(source)) == ["Staged", "Trunk", "Unit"]
    trunk = ast.get_source_segment(source, classes_of(source)["Trunk"])
    assert trunk == '''class Trunk(nn.Module):
    def __init__(self, in_channels, block="unit", layers=None, base=4):
        if layers is None:
            layers = [2, 1, 2]
        super().__init__()
        if block != "unit":
            raise ValueError("block must name the block this file was generated with: unit")
        self.conv1 = nn.Conv2d(in_channels, 4, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        channels = 4
        for i in range(3):
            layer = nn.Sequential()
            for j in range(layers[i]):
                stride = 2 if i > 0 and j == 0 else 1
                layer.add_module(
                    str(j),
                    Unit(
                        channels,
                        planes=base * 2**i,
                        stride=stride,
                        dilation=1 if j == 0 else 2,
                        downsample=stride != 1 or channels != base * 2**i * 2,
                    ),
                )
                channels = base * 2**i * 2
            self.add_module(f"layer{i + 1}", layer)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return x'''
    assert "self.a = Trunk(3, layers=[1, 2, 1], base=2)" in source and "self.b = Trunk(16)" in source


@pytest.mark.parametrize("name", ["deeplabv3_resnet50", "deeplabv3_resnet101", "fcn_resnet50", "fcn_resnet101"])
def test_segmentation_backbones_have_no_writer_failures(name):
    """The segmentation models' ResNet backbone is a class of its own, as every block they reach."""
    writer = BlockWriter(netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml"))
    assert "resnet_backbone" in writer.build(set()) and not writer.failures
