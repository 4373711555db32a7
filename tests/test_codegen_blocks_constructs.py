"""Block classes for the constructs Inception v3 and DeepLabV3 need (netgen/codegen/blocks/).

Each small blueprint below exercises one construct: its block's class is read from the
generated source (what the class holds, how the call sites pass their arguments), and the
module is run against the same network written with scope-based classes only (python.py's own
form, which every block had before it got a class of its own), with the same weights.
"""

import ast

import pytest
import torch
from conftest import perturb, write_blueprint

import netgen
from netgen.codegen.blocks import BlockWriter
from netgen.codegen.module import module_from_source
from netgen.codegen.python import PythonEmitter


def classes_of(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


def block_and_scope_sources(path, monkeypatch) -> tuple[str, str, str]:
    """The generated source, the same network with no block classes, and the network's class."""
    graph = netgen.compile_blueprint(path)
    source, name = PythonEmitter(graph, path.name).emit()
    with monkeypatch.context() as patch:
        patch.setattr(BlockWriter, "build", lambda self, taken: {})
        scoped, _ = PythonEmitter(graph, path.name).emit()
    assert scoped != source
    return source, scoped, name


def check_equal_to_scope_classes(path, monkeypatch, x: torch.Tensor) -> torch.nn.Module:
    """The block-class module and the scope-class one: same state_dict keys and shapes, and the
    same outputs for the same weights (in eval and training mode)."""
    source, scoped, name = block_and_scope_sources(path, monkeypatch)
    model = module_from_source(source, name, "blocks")()
    reference = module_from_source(scoped, name, "scopes")()
    ours, theirs = model.state_dict(), reference.state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == [(k, tuple(v.shape)) for k, v in theirs.items()]
    perturb(model)
    reference.load_state_dict(model.state_dict(), strict=True)
    for training in (False, True):
        model.train(training)
        reference.train(training)
        with torch.no_grad():
            torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)
    return model


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
    model = check_equal_to_scope_classes(path, monkeypatch, torch.randn(2, 3, 9, 9))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.padding) for c in convs] == [((3, 3), (1, 1)), ((1, 3), (0, 1)), ((3, 1), (1, 0))]


def test_inception_v3_holds_one_class_per_block():
    """Inception v3's `basic_conv` takes `k: 3` and `k: [1, 7]`: one BasicConv class, so every
    Inception module is a class of its own (torchvision's InceptionA..E and BasicConv2d)."""
    source = netgen.python_source("inception_v3")
    assert sorted(c for c in classes_of(source) if not c.endswith("Outputs")) == [
        "BasicConv", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE", "InceptionV3",
        "InceptionV3Aux"]
    assert "kernel_size=1 if k == None else k," in source
    assert "self.branch7x7_2 = BasicConv(c7, out=c7, k=[1, 7], pad=[0, 3])" in source


@pytest.mark.parametrize("name", ["inception_v3"])
def test_block_classes_of_these_models_are_byte_identical_run_to_run(name):
    assert netgen.python_source(name) == netgen.python_source(name)
