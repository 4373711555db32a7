"""The blueprint model, the graph IR and the shared value rules, without the rest of the pipeline.

Expected numbers are written out: a conv's parameters are out * (in * k * k) + out.
"""

from __future__ import annotations

import pytest
from conftest import write_blueprint

from netgen.blueprint import load_blueprint, parse_override, type_matches
from netgen.errors import NetgenError
from netgen.graph import Graph, Node, OpNode, Scope
from netgen.ops import REGISTRY
from netgen.values import as_int, int_if_integral, is_int, unique_name


# -- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [(3, 3), (3.0, 3), (-2.0, -2), (2.5, None), (True, None),
                                             ("3", None), (None, None), (float("inf"), None)])
def test_as_int_accepts_ints_and_integral_floats_only(value, expected):
    assert as_int(value) == expected and (as_int(value) is None) == (expected is None)


def test_is_int_and_int_if_integral():
    assert is_int(3) and not is_int(True) and not is_int(3.0)
    assert int_if_integral(4.0) == 4 and type(int_if_integral(4.0)) is int
    assert int_if_integral(2.5) == 2.5 and int_if_integral("x") == "x"


def test_unique_name_styles():
    assert unique_name("relu", set()) == "relu"
    assert unique_name("relu", {"relu", "relu_1"}) == "relu_2"
    assert unique_name("Block", {"Block"}, first=2, sep="") == "Block2"
    assert unique_name("n_a", {"n_a", "n_a_2"}, first=2) == "n_a_3"


# -- the graph -----------------------------------------------------------------------------
def _conv(out: int, k: int):
    cls = REGISTRY["conv"]
    return cls(cls.Params(out=out, k=k))


def small_graph() -> Graph:
    """input 3x8x8 -> a.conv (4, k=3) -> b.c.conv (2, k=1) -> output."""
    g = Graph("g")
    g.add_node("input", Node(kind="input", path=("input",), shape=(3, 8, 8)))
    g.add_scope(Scope(("a",), "seq"))
    g.add_node("a.conv", OpNode(op=_conv(4, 3), path=("a", "conv"), shape=(4, 6, 6), in_shapes=[(3, 8, 8)]),
               ["input"])
    g.add_scope(Scope(("b",), "seq"))
    g.add_scope(Scope(("b", "c"), "seq"))
    g.add_node("b.c.conv", OpNode(op=_conv(2, 1), path=("b", "c", "conv"), shape=(2, 6, 6), in_shapes=[(4, 6, 6)]),
               ["a.conv"])
    g.add_node("output", Node(kind="output", path=("output",), shape=(2, 6, 6)), ["b.c.conv"])
    return g


def test_parameter_count_totals_and_subsets():
    g = small_graph()
    first, second = 4 * (3 * 3 * 3) + 4, 2 * (4 * 1 * 1) + 2
    assert g.parameter_count() == first + second
    assert g.parameter_count(["b.c.conv"]) == second
    assert g.parameter_count(["input", "output"]) == 0


def test_nodes_under_indexes_every_prefix_and_follows_changes():
    g = small_graph()
    assert g.nodes_under(()) == ["a.conv", "b.c.conv"]
    assert g.nodes_under(("b",)) == g.nodes_under(("b", "c")) == ["b.c.conv"]
    assert g.nodes_under(("b", "c", "conv")) == []  # an op is not a scope
    g.add_node("b.extra", OpNode(op=_conv(2, 1), path=("b", "extra"), shape=(2, 6, 6), in_shapes=[(2, 6, 6)]),
               ["b.c.conv"])
    assert g.nodes_under(("b",)) == ["b.c.conv", "b.extra"]


def test_nodes_are_typed_and_ordered_as_added():
    g = small_graph()
    assert [g[n].order for n in g.topological()] == [0, 1, 2, 3]
    assert [n for n, _ in g.ops()] == ["a.conv", "b.c.conv"] and all(isinstance(d, OpNode) for _, d in g.ops())
    assert g.op_node("a.conv").in_shapes == [(3, 8, 8)] and g.shape_of("output") == (2, 6, 6)
    with pytest.raises(ValueError, match="not an op"):
        g.op_node("input")
    with pytest.raises(AttributeError):
        g["input"].colour = "red"  # slotted: a misspelt field is an error, not a new key
    assert not hasattr(g["input"], "op")  # only an op node has an op


def test_graph_order_inputs_users_and_lint():
    g = small_graph()
    assert g.topological() == ["input", "a.conv", "b.c.conv", "output"]
    assert g.inputs_of("b.c.conv") == ["a.conv"] and g.users_of("a.conv") == ["b.c.conv"]
    assert [s.name for s in g.child_scopes(("b",))] == ["c"]
    assert g.lint() == []
    with pytest.raises(ValueError):
        g.add_node("a.conv", Node(kind="output", path=("a",), shape=(1,)))
    g.add_node("again", OpNode(op=_conv(2, 1), path=("a", "conv"), shape=(2, 6, 6), in_shapes=[(4, 6, 6)]),
               ["a.conv"])
    assert any("share path" in p for p in g.lint())
    g.nx.add_edge("ghost", "again", index=1)
    assert any("never added: ghost" in p for p in g.lint())


# -- the blueprint model -------------------------------------------------------------------
FILE = """netgen: 1
name: tiny
input: [3, '${size}', '${size}']
params: {size: 16, width: 8}
blocks:
  unit:
    params: {c: int, act: relu}
    body: [{conv: {out: $c, k: 1}}]
network:
  - unit: {c: $width}
"""


def test_blueprint_reads_params_blocks_and_input(tmp_path):
    bp = load_blueprint(write_blueprint(tmp_path, FILE))
    assert bp.name == "tiny" and bp.input == [3, 16, 16] and bp.params == {"size": 16, "width": 8}
    unit = bp.blocks["unit"]
    assert unit.required == {"c": "int"} and unit.params["act"] == "relu"
    assert len(bp.network) == 1


def test_blueprint_overrides_and_input_shape(tmp_path):
    bp = load_blueprint(write_blueprint(tmp_path, FILE), overrides={"size": 8.0}, input_shape=None)
    assert bp.input == [3, 8, 8] and type(bp.input[1]) is int  # 8.0 counts as the integer 8
    with pytest.raises(NetgenError) as info:
        load_blueprint(write_blueprint(tmp_path, FILE), overrides={"nope": 1})
    (d,) = info.value.diagnostics
    assert d.code == "NG005" and "`nope`" in d.message and "size, width" in d.hint


def test_blueprint_extends_overrides_its_base(tmp_path):
    write_blueprint(tmp_path, FILE, "base.yaml")
    child = write_blueprint(tmp_path, "netgen: 1\nname: tiny_wide\nextends: base.yaml\nparams: {width: 32}\n",
                            "wide.yaml")
    bp = load_blueprint(child)
    assert bp.name == "tiny_wide" and bp.params["width"] == 32 and bp.params["size"] == 16


def test_parse_override_reads_yaml_values():
    assert parse_override("layers=[2, 2]") == ("layers", [2, 2])
    assert parse_override("flag=true") == ("flag", True)
    with pytest.raises(NetgenError):
        parse_override("no_equals_sign")


@pytest.mark.parametrize("value, kind, ok", [(3, "int", True), (3.0, "int", True), (True, "int", False),
                                             (2.5, "float", True), ([3, 5], "size", True), ([3], "size", False),
                                             ("x", "str", True), (1, "bool", False)])
def test_type_matches(value, kind, ok):
    assert type_matches(value, kind) is ok


# -- a dense block as a running concat -------------------------------------------------------
DENSE_MIXED = """netgen: 1
name: dense_mixed
input: [6, 8, 8]
blocks:
  layer:
    body: [bn, relu, {conv: {out: 3, k: 3, pad: 1, bias: false}}]
network:
  - conv: {out: 8, k: 3, pad: 1}
  - name: block
    dense:
      repeat: 7
      as: i
      name: layer${i+1}
      body: {layer: {}}
  - name: inline
    dense: {repeat: 5, body: {conv: {out: 2, k: 1}}}
  - gap
  - flatten
  - linear: {out: 10}
"""


@pytest.mark.parametrize("model", ["densenet121", "dense_mixed"])
def test_analyses_of_a_running_concat_equal_those_of_the_network_as_written(model, tmp_path):
    """The graph holds a dense block as concat(previous concat, new output); Graph.written() is the
    same network with each concat listing every part (one concat per layer over all earlier
    outputs, the form the emitted code runs). Every figure of the summary, memory included
    (which tensors stay alive, and the gradients of parts in their own dtype under autocast),
    must be the same for both."""
    import netgen
    from netgen.analysis import summarize

    graph = (netgen.compile_blueprint(model) if model.startswith("densenet")
             else netgen.compile_blueprint(write_blueprint(tmp_path, DENSE_MIXED)))
    written = graph.written()
    assert graph.running and not written.running and written is not graph
    assert sum(map(len, map(graph.inputs_of, graph.nx))) < sum(map(len, map(written.inputs_of, written.nx)))
    for options in ({}, {"batch": 4, "dtype": "bfloat16", "optimizer": "sgd"}, {"batch": 2, "dtype": "float16"}):
        ours, as_written = summarize(graph, **options), summarize(written, **options)
        assert ours.as_json() == as_written.as_json(), options
        assert ours.inference_peak_bytes == as_written.inference_peak_bytes
        assert ours.training == as_written.training


def test_a_copy_keeps_its_running_concats_and_writes_them_out_the_same(tmp_path):
    """Graph.copy (the inference build's start) keeps the running concats, so that its code lists
    every part as the training build's does; removing nodes forgets them and the cached view."""
    import netgen

    graph = netgen.compile_blueprint(write_blueprint(tmp_path, DENSE_MIXED))
    other = graph.copy("other")
    assert other.running == graph.running and other.running is not graph.running
    concat = max(graph.running, key=lambda n: graph[n].order)  # the inline block's last concat
    parts = graph.parts_of(concat)
    assert len(parts) == 6 and len(graph.inputs_of(concat)) == 2  # the block's input and its 5 layers
    assert other.written().inputs_of(concat) == graph.written().inputs_of(concat) == parts
    gone = sorted(graph.running)[:1]
    other.remove_nodes(gone)
    assert other.running == graph.running - set(gone) and other._written is None
