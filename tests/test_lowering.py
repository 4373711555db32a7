"""The lowering, one form at a time: which nodes, names, edges and shapes each construct makes.

Expected shapes come from the conv arithmetic written out in each test
(out = floor((in + 2*pad - k) / stride) + 1); expected names from the nn.Sequential rules in
docs/language.md. Every blueprint here is tiny, so the whole file runs in about a second.
"""

from __future__ import annotations

import pytest
from conftest import write_blueprint

import netgen
from netgen.errors import NetgenError
from netgen.lowering.registry import FORMS, keyword_forms

HEADER = "netgen: 1\nname: t\ninput: [3, 8, 8]\n"


def lower(tmp_path, body: str, **params):
    return netgen.compile_blueprint(write_blueprint(tmp_path, HEADER + body), **params)


def errors(tmp_path, body: str) -> list:
    with pytest.raises(NetgenError) as info:
        lower(tmp_path, body)
    return info.value.diagnostics


def ops(graph) -> dict[str, tuple[str, tuple]]:
    """node id -> (op kind, output shape), for every op node."""
    return {node: (data.op.kind, data.shape) for node, data in graph.ops()}


def inputs(graph, node: str) -> list[str]:
    return graph.inputs_of(node)


# -- the registry -------------------------------------------------------------------------
def test_every_composite_keyword_has_a_handler_and_block_calls_are_a_form():
    assert {"seq", "residual", "parallel", "dense"} <= set(keyword_forms())
    assert "block" in FORMS and not FORMS["block"].keyword
    assert all(callable(form.lower) for form in FORMS.values())


# -- plain lists and naming ---------------------------------------------------------------
def test_unnamed_list_is_numbered_like_nn_sequential(tmp_path):
    g = lower(tmp_path, "network:\n  - conv: {out: 4, k: 3}\n  - relu\n  - flatten\n")
    # 8 - 3 + 1 = 6; flatten: 4 * 6 * 6 = 144
    assert ops(g) == {"0": ("conv", (4, 6, 6)), "1": ("relu", (4, 6, 6)), "2": ("flatten", (144,))}
    assert inputs(g, "1") == ["0"] and inputs(g, "0") == ["input"]
    assert g.outputs == ["output"] and inputs(g, "output") == ["2"]


def test_once_an_item_is_named_the_others_are_named_after_their_op(tmp_path):
    g = lower(tmp_path, "network:\n  - conv: {out: 4, k: 1, name: stem}\n  - relu\n  - relu\n")
    assert list(ops(g)) == ["stem", "relu", "relu_1"]


def test_duplicate_names_are_one_located_error(tmp_path):
    (d,) = errors(tmp_path, "network:\n  - conv: {out: 4, k: 1, name: a}\n  - conv: {out: 4, k: 1, name: a}\n")
    assert d.code == "NG011" and d.span.line == 6


# -- seq -----------------------------------------------------------------------------------
def test_named_seq_is_a_scope_whose_items_are_numbered(tmp_path):
    g = lower(tmp_path, "network:\n  - seq: [{conv: {out: 4, k: 3, pad: 1}}, relu]\n    name: stem\n  - flatten\n")
    assert ops(g) == {"stem.0": ("conv", (4, 8, 8)), "stem.1": ("relu", (4, 8, 8)), "flatten": ("flatten", (256,))}
    assert g.scopes[("stem",)].kind == "seq"


def test_seq_mapping_form_takes_body(tmp_path):
    g = lower(tmp_path, "network:\n  - seq: {body: [relu, relu], name: s}\n")
    assert list(ops(g)) == ["s.0", "s.1"]


# -- repeat and if -------------------------------------------------------------------------
def test_unnamed_repeat_splices_its_iterations_into_the_list(tmp_path):
    g = lower(tmp_path, "network:\n  - repeat: 3\n    as: i\n    body: [{conv: {out: '${4 * (i + 1)}', k: 1}}]\n")
    assert ops(g) == {"0": ("conv", (4, 8, 8)), "1": ("conv", (8, 8, 8)), "2": ("conv", (12, 8, 8))}


def test_named_repeat_makes_one_scope_per_iteration(tmp_path):
    g = lower(tmp_path, "network:\n  - repeat: 2\n    as: i\n    name: layer${i+1}\n    body: [relu, relu]\n")
    assert list(ops(g)) == ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]
    assert {("layer1",), ("layer2",)} <= set(g.scopes)


def test_repeat_count_zero_and_integral_float(tmp_path):
    g = lower(tmp_path, "params: {n: 2}\nnetwork:\n  - relu\n  - repeat: 0\n    body: [relu]\n"
              "  - repeat: ${n / 1}\n    body: [relu]\n")
    assert len(ops(g)) == 1 + 0 + 2  # n / 1 is 2.0, which counts as 2


@pytest.mark.parametrize("count", ["-1", "true", "2.5", "100001"])
def test_bad_repeat_counts_are_refused(tmp_path, count):
    (d,) = errors(tmp_path, f"network:\n  - relu\n  - repeat: {count}\n    body: [relu]\n")
    assert d.code == "NG007" and "repeat" in d.message


def test_if_chooses_then_or_else(tmp_path):
    body = "params: {deep: true}\nnetwork:\n  - if: $deep\n    then: [relu, relu]\n    else: [relu]\n"
    assert len(ops(lower(tmp_path, body))) == 2
    assert len(ops(lower(tmp_path, body, deep=False))) == 1


# -- residual ------------------------------------------------------------------------------
def test_residual_identity_when_the_body_keeps_the_shape(tmp_path):
    g = lower(tmp_path, "network:\n  - residual:\n      body: [{conv: {out: 3, k: 3, pad: 1}}]\n      after: relu\n")
    assert ops(g) == {"0.0": ("conv", (3, 8, 8)), "0.add": ("add", (3, 8, 8)), "0.relu": ("relu", (3, 8, 8))}
    assert inputs(g, "0.add") == ["0.0", "input"]  # body first, then the shortcut


def test_residual_auto_inserts_a_strided_projection(tmp_path):
    g = lower(tmp_path, "network:\n  - residual:\n      body: [{conv: {out: 6, k: 3, stride: 2, pad: 1}}]\n")
    # body: floor((8 + 2 - 3) / 2) + 1 = 4; the projection is a 1x1 conv with stride 8 / 4 = 2, then BN
    assert ops(g)["0.downsample.0"] == ("conv", (6, 4, 4))
    assert g["0.downsample.0"].op.p.stride == 2 and g["0.downsample.0"].inserted
    assert ops(g)["0.downsample.1"] == ("bn", (6, 4, 4))
    assert inputs(g, "0.add") == ["0.0", "0.downsample.1"]
    assert g.scopes[("0", "downsample")].meta == {"inserted": True, "role": "projection"}


def test_residual_if_same_drops_the_add_when_the_shape_changes(tmp_path):
    body = "network:\n  - residual:\n      body: [{conv: {out: $c, k: 1}}]\n      shortcut: if_same\n"
    assert "0.add" in ops(lower(tmp_path, "params: {c: 3}\n" + body))
    assert "0.add" not in ops(lower(tmp_path, "params: {c: 5}\n" + body))


def test_residual_with_a_list_shortcut_lowers_it_in_a_shortcut_scope(tmp_path):
    g = lower(tmp_path, "network:\n  - residual:\n      body: [{conv: {out: 6, k: 1}}]\n"
              "      shortcut: [{conv: {out: 6, k: 1, bias: false}}]\n")
    assert inputs(g, "0.add") == ["0.0", "0.shortcut.0"]
    assert g.scopes[("0", "shortcut")].meta["role"] == "shortcut"


def test_residual_unknown_shortcut_is_suggested(tmp_path):
    (d,) = errors(tmp_path, "network:\n  - residual:\n      body: [relu]\n      shortcut: identiy\n")
    assert d.code == "NG015" and "identity" in d.hint


# -- parallel ------------------------------------------------------------------------------
def test_parallel_named_branches_are_scopes_merged_by_concat(tmp_path):
    g = lower(tmp_path, "network:\n  - parallel:\n      merge: concat\n      branches:\n"
              "        a: {conv: {out: 2, k: 1}}\n        b: [{conv: {out: 5, k: 3, pad: 1}}, relu]\n")
    assert ops(g)["0.a"] == ("conv", (2, 8, 8)) and ops(g)["0.b.1"] == ("relu", (5, 8, 8))
    assert ops(g)["0.concat"] == ("concat", (2 + 5, 8, 8))
    assert inputs(g, "0.concat") == ["0.a", "0.b.1"]  # in the order the branches are written


def test_parallel_merge_by_add_needs_equal_shapes(tmp_path):
    (d,) = errors(tmp_path, "network:\n  - parallel:\n      merge: add\n      branches:\n"
                  "        a: {conv: {out: 2, k: 1}}\n        b: {conv: {out: 4, k: 1}}\n")
    assert d.code == "NG010"


# -- dense ---------------------------------------------------------------------------------
def test_dense_layer_k_sees_the_input_and_every_earlier_output(tmp_path):
    g = lower(tmp_path, "network:\n  - dense:\n      repeat: 3\n      as: i\n      name: layer${i+1}\n"
              "      body: {conv: {out: 2, k: 1}}\n")
    # layer1 sees 3 channels, layer2 3 + 2, layer3 3 + 2 + 2; the block returns 3 + 3 * 2 = 9
    in_channels = [g[f"0.layer{k}"].in_shapes[0][0] for k in (1, 2, 3)]
    assert in_channels == [3, 5, 7]
    (out,) = inputs(g, "output")
    assert g[out].op.kind == "concat" and g[out].shape == (9, 8, 8)


def test_dense_block_is_a_running_concat_linear_in_its_layers(tmp_path):
    """concat_k = concat(concat_{k-1}, out_k): two inputs per concat, so edges grow linearly; the
    parts as written (Graph.parts_of, Graph.written) are the input and every layer's output."""
    n = 40
    g = lower(tmp_path, f"network:\n  - dense:\n      repeat: {n}\n      as: i\n      name: layer${{i+1}}\n"
              "      body: {conv: {out: 2, k: 1}}\n")
    concats = [node for node, data in g.ops() if data.op.kind == "concat"]
    assert len(concats) == n and all(len(inputs(g, c)) == 2 for c in concats)
    assert sum(len(inputs(g, node)) for node in g.nx) == 3 * n + 1  # conv: 1, concat: 2; the output: 1
    (out,) = inputs(g, "output")
    layers = [f"0.layer{k}" for k in range(1, n + 1)]
    assert g.parts_of(out) == ["input", *layers]
    assert g[out].in_shapes == [(3 + 2 * (n - 1), 8, 8), (2, 8, 8)]
    written = g.written()
    assert written.inputs_of(out) == ["input", *layers] and len(written[out].in_shapes) == n + 1
    assert [written.inputs_of(f"0.layer{k}") for k in (1, 2)] == [["input"], [concats[0]]]
    assert written.inputs_of(concats[1]) == ["input", "0.layer1", "0.layer2"]
    assert not written.running and written.written() is written


# -- blocks --------------------------------------------------------------------------------
BLOCK = """blocks:
  unit:
    params: {width: 4}
    let: {double: '${width * 2}'}
    body: [{conv: {out: $double, k: 1}}, relu]
"""


def test_block_call_uses_defaults_arguments_and_let(tmp_path):
    g = lower(tmp_path, BLOCK + "network:\n  - unit\n  - unit: {width: 3}\n")
    assert ops(g)["0.0"] == ("conv", (8, 8, 8)) and ops(g)["1.0"] == ("conv", (6, 8, 8))
    assert g.scopes[("0",)].kind == "block" and g.scopes[("0",)].block == "unit"


def test_block_reads_its_input_channels(tmp_path):
    g = lower(tmp_path, "blocks:\n  same:\n    body: [{conv: {out: $in_channels, k: 1}}]\n"
              "network:\n  - conv: {out: 7, k: 1}\n  - same\n")
    assert ops(g)["1.0"] == ("conv", (7, 8, 8))


def test_block_argument_type_and_unknown_parameter(tmp_path):
    diags = errors(tmp_path, BLOCK + "network:\n  - unit: {width: wide}\n  - unit: {widht: 3}\n")
    assert [d.code for d in diags] == ["NG007", "NG005"]
    assert "width" in diags[1].hint


def test_recursive_block_without_a_base_case_is_bounded(tmp_path):
    diags = errors(tmp_path, "blocks:\n  loop:\n    body: [relu, loop]\nnetwork:\n  - loop\n")
    assert [d.code for d in diags] == ["NG013"]


def test_a_block_whose_whole_body_is_a_block_call_keeps_its_own_arguments(tmp_path):
    """`then: {unit: ...}` as the whole body builds the callee's ops in the caller's scope; the
    scope stays the caller's call, its arguments the caller's (what the code generator writes the
    call from), and the inner call is listed beside them."""
    g = lower(tmp_path, "blocks:\n  unit:\n    params: {out: int}\n    body: [{conv: {out: $out, k: 1}}]\n"
              "  outer:\n    params: {width: int, deep: false}\n    if: $deep\n"
              "    then: [{unit: {out: $width}}, relu]\n    else: {unit: {out: \"${width * 2}\"}}\n"
              "network:\n  - outer: {width: 3}\n")
    scope = g.scopes[("0",)]
    assert scope.block == "outer" and ops(g)["0.0"] == ("conv", (6, 8, 8))
    assert scope.meta["block_args"] == {"width": 3}
    assert {k: v for k, v in scope.meta["block_env"].items() if k != "in_shape"} == {
        "width": 3, "deep": False, "in_channels": 3}
    [inner] = scope.meta["inlined"]
    assert inner["block"] == "unit" and inner["block_args"] == {"out": 6} and inner["block_env"]["out"] == 6


TWO_INPUTS = """blocks:
  fuse:
    inputs: [fine, coarse]
    params: {out: int}
    body:
      - conv: {out: $out, k: 1, from: coarse, name: squeeze}
      - resize: {from: [squeeze, fine], name: up}
      - add: {from: [input, up]}
network:
  - conv: {out: 4, k: 3, pad: 1, name: stem}
  - conv: {out: 6, k: 3, stride: 2, pad: 1, name: down}
"""


def test_a_block_of_several_inputs_reads_each_by_its_name(tmp_path):
    """`inputs: [fine, coarse]`: the call lists one value per name, in order; `from: coarse` reads
    the second, `input` (and in_channels) the first (LR-ASPP's head: low, high)."""
    g = lower(tmp_path, TWO_INPUTS + "  - fuse: {out: 4, from: [stem, down], name: head}\n")
    assert inputs(g, "head.squeeze") == ["down"]
    assert ops(g)["head.squeeze"] == ("conv", (4, 4, 4))
    assert inputs(g, "head.up") == ["head.squeeze", "stem"] and inputs(g, "head.add") == ["stem", "head.up"]
    assert g.scopes[("head",)].meta["block_inputs"] == ["stem", "down"]
    assert g.scopes[("head",)].meta["block_env"]["in_channels"] == 4


def test_a_block_of_several_inputs_called_with_another_count_is_located(tmp_path):
    (d,) = errors(tmp_path, TWO_INPUTS + "  - fuse: {out: 4, from: down, name: head}\n")
    assert d.code == "NG015" and "takes 2 inputs (fine, coarse)" in d.message and "lists 1" in d.message
    assert d.span.line == 15 and "order of its `inputs`" in d.hint
    (d,) = errors(tmp_path, TWO_INPUTS + "  - fuse: {out: 4, name: head}\n")  # no `from` at all: the call
    assert d.code == "NG015" and d.span.line == 15


@pytest.mark.parametrize("names", ["[fine]", "[fine, fine]", "[fine, input]", "[fine, in_channels]", "fine",
                                   "[a, b, c, d, e, f, g, h, i]"])
def test_block_inputs_must_be_two_or_more_distinct_names(tmp_path, names):
    diags = errors(tmp_path, TWO_INPUTS.replace("[fine, coarse]", names) + "  - fuse: {out: 4, name: head}\n")
    assert diags[0].code == "NG015" and "`inputs` must list 2 to 8 distinct names" in diags[0].message
    assert diags[0].span.line == 6


# -- references ----------------------------------------------------------------------------
def test_from_names_earlier_items_and_dotted_paths(tmp_path):
    g = lower(tmp_path, "network:\n  - seq: [{conv: {out: 2, k: 1}}, relu]\n    name: a\n"
              "  - conv: {out: 2, k: 1, name: b}\n  - add: {from: [a.0, b]}\n")
    assert inputs(g, "add") == ["a.0", "b"]


def test_from_a_later_item_is_an_unknown_reference(tmp_path):
    diags = errors(tmp_path, "network:\n  - add: {from: [input, later]}\n  - relu: {name: later}\n")
    assert diags[0].code == "NG008" and "later" in diags[0].message


# -- ops -----------------------------------------------------------------------------------
def test_op_params_are_validated_with_a_suggestion(tmp_path):
    by_code = {d.code: d for d in errors(tmp_path, "network:\n  - conv: {out: 4, kernel: 3}\n")}
    assert set(by_code) == {"NG005", "NG006"}  # `kernel` is unknown, `k` is missing
    assert "`kernel`" in by_code["NG005"].message and "k," in by_code["NG005"].hint  # what it takes
    assert "`k`" in by_code["NG006"].message


def test_shape_error_leaves_later_shapes_unchecked_but_params_checked(tmp_path):
    diags = errors(tmp_path, "network:\n  - maxpool: {k: 20}\n  - conv: {out: 4, k: 3, bogus: 1}\n")
    assert [d.code for d in diags] == ["NG009", "NG005"]


# -- outputs -------------------------------------------------------------------------------
def test_outputs_name_fields_and_training_only_marks_what_feeds_only_them(tmp_path):
    g = lower(tmp_path, "network:\n  - relu: {name: trunk}\n  - conv: {out: 2, k: 1, name: aux, from: trunk}\n"
              "  - conv: {out: 5, k: 1, name: head, from: trunk}\n"
              "outputs:\n  - head\n  - {from: aux, name: side, training: true}\n")
    assert g.outputs == ["output:head", "output:side"]
    assert g["output:side"].training_only and g["aux"].training_only
    assert not g["trunk"].training_only and not g["head"].training_only


def test_an_unused_op_is_reported(tmp_path):
    (d,) = errors(tmp_path, "network:\n  - relu: {name: a}\n  - relu: {name: b, from: input}\n"
                  "outputs: [b]\n")
    assert d.code == "NG012" and "`a`" in d.message
