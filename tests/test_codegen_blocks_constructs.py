"""Block classes for the constructs Inception v3 and DeepLabV3 need (netgen/codegen/blocks/).

Each small blueprint below exercises one construct: its block's class is read from the
generated source (what the class holds, how the call sites pass their arguments), and the
module is run against the same network written with scope-based classes only (python.py's own
form, which every block had before it got a class of its own), with the same weights.
"""

import ast

import pytest
import torch
from conftest import write_blueprint
from harness import check_against_scope_classes

import netgen


def classes_of(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


PAIRS = """netgen: 1
name: pairs
input: [3, 9, 9]
blocks:
  conv_unit:
    doc: A conv whose kernel and padding are an int or a pair, BN, ReLU (torchvision's BasicConv2d).
    params: {out: int, k: size, pad: size}
    body:
      - conv: {out: $out, k: $k, pad: $pad, bias: false, name: conv}
      - bn: {name: bn}
      - relu
network:
  - conv_unit: {out: 4, k: 3, pad: 1}
  - conv_unit: {out: 5, k: [1, 3], pad: [0, 1]}
  - conv_unit: {out: 6, k: [3, 1], pad: [1, 0]}
"""


def test_a_kernel_that_is_an_int_in_one_call_and_a_pair_in_another_is_one_class(tmp_path, monkeypatch):
    """As torchvision's BasicConv2d takes `kernel_size=3` and `kernel_size=(1, 7)`: the class
    passes the param on whole, and each call site gives it as the blueprint wrote it."""
    path = write_blueprint(tmp_path, PAIRS)
    source = netgen.python_source(path)
    assert sorted(classes_of(source)) == ["ConvUnit", "Pairs"]
    assert "self.conv = nn.Conv2d(in_channels, out, kernel_size=k, padding=pad, bias=False)" in source
    assert "ConvUnit(3, out=4, k=3, pad=1)" in source
    assert "ConvUnit(4, out=5, k=[1, 3], pad=[0, 1])" in source
    assert "ConvUnit(5, out=6, k=[3, 1], pad=[1, 0])" in source
    model = check_against_scope_classes(path, (3, 9, 9), monkeypatch)[1]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.padding) for c in convs] == [((3, 3), (1, 1)), ((1, 3), (0, 1)), ((3, 1), (1, 0))]


def test_inception_v3_holds_one_class_per_block():
    """Inception v3's `basic_conv` takes `k: 3` and `k: [1, 7]`: one BasicConv class, so every
    Inception module is a class of its own (torchvision's InceptionA..E and BasicConv2d)."""
    source = netgen.python_source("inception_v3")
    assert sorted(c for c in classes_of(source) if not c.endswith("Outputs")) == [
        "BasicConv", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE", "InceptionV3",
        "InceptionV3Aux"]
    assert "kernel_size=1 if k is None else k," in source
    assert "self.branch7x7_2 = BasicConv(c7, out=c7, k=[1, 7], pad=[0, 3])" in source


PYRAMID = """netgen: 1
name: pyramids
input: [4, 9, 9]
blocks:
  atrous:
    doc: A 3x3 conv dilated by `rate`, BN, ReLU (torchvision's ASPPConv).
    params: {out: int, rate: int}
    body:
      - conv: {out: $out, k: 3, pad: $rate, dilation: $rate, bias: false}
      - bn
      - relu
  pyramid:
    doc: Four branches of `out` channels (a 1x1 conv, two atrous convs, image pooling), concatenated.
    params: {rates: [1, 2], out: 6}
    body:
      - parallel:
          name: convs
          merge: concat
          branches:
            "0": [{conv: {out: $out, k: 1, bias: false}}, bn, relu]
            "1": {atrous: {out: $out, rate: "${rates[0]}"}}
            "2": {atrous: {out: $out, rate: "${rates[1]}"}}
            "3":
              - gap
              - conv: {out: $out, k: 1, bias: false}
              - relu
              - resize: {from: ["2", input], mode: bilinear}
      - conv: {out: $out, k: 1, name: project}
network:
  - pyramid: {}
  - pyramid: {rates: [2, 3], out: 5}
"""


def test_a_parallel_inside_a_list_is_a_module_list_as_torchvisions_aspp(tmp_path, monkeypatch):
    """ASPP's `convs`: the numbered branches are the entries of an nn.ModuleList (a block call, a
    chain as an nn.Sequential; the pooling branch's resize, which builds no module, in forward),
    computed from the input and concatenated."""
    path = write_blueprint(tmp_path, PYRAMID)
    source = netgen.python_source(path)
    assert sorted(classes_of(source)) == ["Atrous", "Pyramid", "Pyramids"]
    pyramid = ast.get_source_segment(source, classes_of(source)["Pyramid"])
    expected_init = """    def __init__(self, in_channels, rates=None, out=6):
        if rates is None:
            rates = [1, 2]
        super().__init__()
        self.convs = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv2d(in_channels, out, kernel_size=1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.ReLU(inplace=True),
                ),
                Atrous(in_channels, out=out, rate=rates[0]),
                Atrous(in_channels, out=out, rate=rates[1]),
                nn.Sequential(
                    nn.AdaptiveAvgPool2d((1, 1)),
                    nn.Conv2d(in_channels, out, kernel_size=1, bias=False),
                    nn.ReLU(inplace=True),
                ),
            ],
        )
        self.project = nn.Conv2d(4 * out, out, kernel_size=1)
"""
    expected_forward = """    def forward(self, x):
        convs_0 = self.convs[0](x)
        convs_1 = self.convs[1](x)
        convs_2 = self.convs[2](x)
        convs_3 = self.convs[3](x)
        convs_3 = resize_to(convs_3, x)
        x = torch.cat([convs_0, convs_1, convs_2, convs_3], 1)
        x = self.project(x)
        return x"""
    assert expected_init in pyramid and pyramid.endswith(expected_forward)
    assert "Pyramid(6, rates=[2, 3], out=5)" in source
    model = check_against_scope_classes(path, (4, 9, 9), monkeypatch)[1]
    lists = [name for name, m in model.named_modules() if isinstance(m, torch.nn.ModuleList)]
    assert len(lists) == 2 and all(name.endswith("convs") for name in lists)
    # torchvision's keys: the pooling branch's conv is convs.3.1
    assert any(key.endswith("convs.3.1.weight") for key in model.state_dict())


def test_deeplabv3_holds_one_class_per_block():
    """DeepLabV3-ResNet: ASPP and the DeepLab head are classes of their own, as torchvision's
    ASPP (`self.convs = nn.ModuleList(...)`) and DeepLabHead (an nn.Sequential)."""
    source = netgen.python_source("deeplabv3_resnet50")
    classes = classes_of(source)
    assert sorted(classes) == ["Aspp", "AsppConv", "Bottleneck", "DeeplabHead", "Deeplabv3Resnet50", "ResnetBackbone"]
    assert [b.attr for b in classes["DeeplabHead"].bases] == ["Sequential"]
    assert "self.convs = nn.ModuleList(" in source and "AsppConv(in_channels, rate=rates[0], out=out)," in source
    assert "nn.Conv2d(5 * out, out, kernel_size=1, bias=False)," in source
    assert "self.classifier = DeeplabHead(2048, classes=21)" in source


@pytest.mark.parametrize("name", ["inception_v3", "deeplabv3_resnet50"])
def test_block_classes_of_these_models_are_byte_identical_run_to_run(name):
    assert netgen.python_source(name) == netgen.python_source(name)


COMPREHENSIONS = """netgen: 1
name: comprehended
input: [3, 8, 8]
blocks:
  widths:
    doc: Two convs whose widths and dilation come from list comprehensions over the params.
    params: {base: int, mult: [1, 2, 0]}
    let:
      outs: "${[base * m for m in mult if m > 0]}"
      dilations: "${[2 ** i for i in range(len(outs))]}"
    body:
      - conv: {out: "${outs[0]}", k: 1, name: conv1}
      - conv: {out: "${outs[-1]}", k: 3, pad: "${dilations[-1]}", dilation: "${dilations[-1]}", name: conv2}
  pair:
    params: {w: int}
    body:
      - widths: {base: $w, name: inner}
      - conv: {out: 4, k: 1, name: conv}
network:
  - pair: {w: 2}
  - widths: {base: 3, mult: [2, 1]}
"""


def test_list_comprehensions_in_a_let_are_python_comprehensions(tmp_path, monkeypatch):
    """`[base * m for m in mult if m > 0]` and `range` as what a comprehension loops over: the
    constructor computes them as the blueprint says; a caller's expression for the callee's
    output keeps the comprehension's own variable (`m`) as it is."""
    path = write_blueprint(tmp_path, COMPREHENSIONS)
    source = netgen.python_source(path)
    assert sorted(classes_of(source)) == ["Comprehended", "Pair", "Widths"]
    assert "outs = [base * m for m in mult if m > 0]" in source
    assert "dilations = [2**i for i in range(len(outs))]" in source
    assert "self.conv2 = nn.Conv2d(outs[0], outs[-1], kernel_size=3, padding=dilations[-1], dilation=dilations[-1])" \
        in source
    # the caller reads the callee's output channels in its own terms: `mult` is the default there
    assert "self.conv = nn.Conv2d([w * m for m in [1, 2, 0] if m > 0][-1], 4, kernel_size=1)" in source
    check_against_scope_classes(path, (3, 8, 8), monkeypatch)


@pytest.mark.parametrize("expression", [
    "${[m for m in mult for n in mult]}",  # two `for`s: not the evaluator's form
    "${[base for base in mult]}",  # the loop variable would shadow a param
    "${[m for (m, n) in mult]}",  # a loop variable that is no plain name
])
def test_comprehensions_the_translation_refuses(expression):
    from netgen.codegen.translate import Untranslatable, code_of, translate

    with pytest.raises(Untranslatable):
        translate(expression, {"base", "mult"})
    # a range looped over is Python's range; elsewhere the evaluator's list of it
    assert code_of(translate("${[i * base for i in range(3)]}", {"base"})) == "[i * base for i in range(3)]"
    assert code_of(translate("${range(base)}", {"base"})) == "list(range(base))"
