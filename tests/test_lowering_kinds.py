"""Issue 12's language: tensor kinds checked through whole blueprints (a located error with a
hint on the wrong kind, `in_channels` of a channels-last map), module names with `-` emitted as
valid Python, a learnable tensor keyed by its item's name, and dotted references whose parts
repeat (`from: a.b.a`)."""

from __future__ import annotations

import pytest
from conftest import write_blueprint

import netgen
from netgen.errors import NetgenError

HEADER = "netgen: 1\nname: t\ninput: [8, 6, 6]\n"


def errors_of(tmp_path, text):
    path = write_blueprint(tmp_path, HEADER + text)
    with pytest.raises(NetgenError) as info:
        netgen.compile_blueprint(path)
    return info.value.diagnostics


def test_linear_on_a_map_is_a_located_error_with_a_hint(tmp_path):
    (d,) = errors_of(tmp_path, "network:\n  - conv: {out: 4, k: 3}\n  - linear: {out: 10}\n")
    assert d.code == "NG009" and (d.span.line, d.span.col) == (6, 5)
    assert "linear expects the features last" in d.message and "4×4×4" in d.message
    assert "permute first" in d.hint and "flatten" in d.hint


def test_a_conv_on_a_channels_last_map_says_permute_back(tmp_path):
    (d,) = errors_of(tmp_path, "network:\n  - permute: {dims: [1, 2, 0]}\n  - conv: {out: 4, k: 1}\n")
    assert d.code == "NG009" and d.span.line == 6
    assert "channels-last" in d.message and "6×6×8" in d.message and "permute" in d.hint


@pytest.mark.parametrize("op, kind", [("attention: {heads: 2}", "N×D token sequence"),
                                      ("window_attention: {heads: 2, window: 3}", "channels-last H×W×C map"),
                                      ("partition_attention: {heads: 2, partition: window, size: 3}",
                                       "channels-last H×W×C map"),
                                      ("patch_merging", "channels-last H×W×C map")])
def test_an_attention_op_on_a_map_names_the_kind_it_takes(tmp_path, op, kind):
    (d,) = errors_of(tmp_path, f"network:\n  - {op}\n")
    assert d.code == "NG009" and (d.span.line, d.span.col) == (5, 5)
    assert f"expects a {kind}; received a C×H×W map 8×6×6" in d.message and "permute" in d.hint


def test_a_channels_last_mlp_compiles_with_its_shapes_and_in_channels(tmp_path):
    path = write_blueprint(tmp_path, HEADER + """network:
  - permute: {dims: [1, 2, 0]}
  - layernorm: {eps: 1.0e-6}
  - linear: {out: "${4 * in_channels}"}
  - gelu
  - linear: {out: 8}
  - permute: {dims: [2, 0, 1]}
  - conv: {out: 3, k: 1}
""")
    graph = netgen.compile_blueprint(path)
    shapes = [tuple(d.shape) for _, d in graph.ops()]
    # in_channels of the 6×6×8 channels-last map is its last dimension, 8
    assert shapes == [(6, 6, 8), (6, 6, 8), (6, 6, 32), (6, 6, 32), (6, 6, 8), (8, 6, 6), (3, 6, 6)]
    torch = pytest.importorskip("torch")
    model = netgen.load(path)
    assert tuple(model(torch.randn(2, 8, 6, 6)).shape) == (2, 3, 6, 6)


def test_names_with_a_dash_become_add_module_and_getattr(tmp_path):
    path = write_blueprint(tmp_path, HEADER + """network:
  - seq:
      name: block1
      body:
        repeat: 2
        as: i
        name: block1-${i}
        body:
          - conv: {out: 8, k: 1, name: conv}
          - learnable: {shape: [8, 1, 1], init: 0.5, name: layer-scale}
""")
    source = netgen.python_source(path)
    compile(source, "t.py", "exec")  # valid Python
    # a name that is no identifier is registered by string (the chain may be an nn.Sequential
    # filled by add_module, or the members of a class), never written as an attribute
    assert 'add_module("block1-0"' in source and 'add_module("block1-1"' in source
    assert ".block1-" not in source
    assert 'self.register_parameter("layer-scale"' in source
    torch = pytest.importorskip("torch")
    model = netgen.load(path)
    keys = list(model.state_dict())
    assert keys == ["block1.block1-0.layer-scale", "block1.block1-0.conv.weight", "block1.block1-0.conv.bias",
                    "block1.block1-1.layer-scale", "block1.block1-1.conv.weight", "block1.block1-1.conv.bias"]
    x = torch.randn(1, 8, 6, 6)
    first, second = getattr(model.block1, "block1-0"), getattr(model.block1, "block1-1")
    assert torch.allclose(model(x), second(first(x)))


@pytest.mark.parametrize("bad", ["a.b", "two words", "conv\\n", "x+y"])
def test_other_characters_in_names_are_refused(tmp_path, bad):
    (d,) = errors_of(tmp_path, f'network:\n  - conv: {{out: 4, k: 1, name: "{bad}"}}\n')
    assert d.code == "NG007" and "may only use letters, digits, `_` and `-`" in d.message


def test_a_dotted_reference_whose_parts_repeat_resolves(tmp_path):
    path = write_blueprint(tmp_path, HEADER + """network:
  - seq:
      name: a
      body:
        - seq:
            name: b
            body:
              - conv: {out: 4, k: 1, name: a}
              - relu
  - conv: {out: 5, k: 1, from: a.b.a, name: head}
  - concat: {from: [a, head]}
""")
    graph = netgen.compile_blueprint(path)
    assert graph.inputs_of("head") == ["a.b.a"]
    assert tuple(graph[graph.outputs[0]].shape) == (9, 6, 6)


def test_a_dotted_reference_into_numbered_scopes_resolves(tmp_path):
    """`s.0.0`: the first op of the first numbered member of `s` (the parts repeat)."""
    path = write_blueprint(tmp_path, HEADER + """network:
  - seq:
      name: s
      body:
        - seq: [{conv: {out: 4, k: 1}}, relu]
        - seq: [{conv: {out: 6, k: 1}}, relu]
  - conv: {out: 5, k: 1, from: s.0.0, name: head}
  - concat: {from: [s, head]}
""")
    graph = netgen.compile_blueprint(path)
    assert graph.inputs_of("head") == ["s.0.0"]
    assert tuple(graph["s.0.0"].shape)[0] == 4
    assert tuple(graph[graph.outputs[0]].shape)[0] == 11


def test_split_makes_named_parts_as_torch_chunk_and_split_do(tmp_path):
    path = write_blueprint(tmp_path, """netgen: 1
name: t
input: [7, 4, 4]
network:
  - split: {dim: 0, chunks: 3, names: [a, b, c]}
  - split: {dim: 1, sizes: [1, 3], names: [top, rest], from: a}
  - concat: {from: [rest, top], dim: 1, name: rows}
  - concat: {from: [c, b, rows]}
""")
    graph = netgen.compile_blueprint(path)
    # torch.chunk(7 channels, 3): 3, 3, 1; then the 4 rows of `a` as 1 + 3
    assert [tuple(graph[n].shape) for n in ("a", "b", "c", "top", "rest")] == [
        (3, 4, 4), (3, 4, 4), (1, 4, 4), (3, 1, 4), (3, 3, 4)]
    assert not any(n.startswith("split") for n, _ in graph.ops())  # no scope, no module of its own
    torch = pytest.importorskip("torch")
    x = torch.randn(2, 7, 4, 4)
    a, b, c = x.chunk(3, dim=1)
    top, rest = a.split([1, 3], dim=2)
    assert torch.equal(netgen.load(path)(x), torch.cat([c, b, torch.cat([rest, top], 2)], 1))


@pytest.mark.parametrize("spec, message", [
    ("{chunks: 4, names: [a, b, c, d]}", "makes 3 parts"),  # torch.chunk of 6 into 4: 2, 2, 2
    ("{sizes: [2, 3], names: [a, b]}", "add up to 5"),
    ("{names: [a, b]}", "either `chunks`"),
])
def test_split_mistakes_are_located_and_reported_once(tmp_path, spec, message):
    (d,) = errors_of(tmp_path, f"network:\n  - conv: {{out: 6, k: 1}}\n  - split: {spec}\n"
                               "  - concat: {from: [a, b]}\n")
    assert d.code == "NG007" and message in d.message and d.span.line == 6
