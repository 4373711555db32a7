"""A block call is counted before it is built (netgen/lowering/footprint.py, counter.py): a
recursion that would pass the node, connection or weight cap is refused at its call site
before its nodes exist, and one that fits compiles, node for node, as before."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from netgen import limits
from netgen.api import compile_blueprint
from netgen.cli.main import app
from netgen.errors import NetgenError
from netgen.graph import Graph
from netgen.lowering.blocks import BlockCalls
from netgen.lowering.footprint import CallMemo

# a binary tree of depth d: each level calls the block twice, the base case is one identity, so
# the call makes 2**d nodes (its leaves) and nothing else (`if:` and lists make no node)
TREE = """netgen: 1
name: tree_net
input: [3, 8, 8]
blocks:
  tree:
    params: {d: int}
    body:
      - if: ${d > 0}
        then: [{tree: {d: '${d-1}'}}, {tree: {d: '${d-1}'}}]
        else: [LEAF]
network:
NETWORK"""


def tree_net(tmp_path, network: str = "  - tree: {d: 40}\n", leaf: str = "identity"):
    path = tmp_path / "net.yaml"
    path.write_text(TREE.replace("LEAF", leaf).replace("NETWORK", network))
    return path


def errors_of(path) -> list:
    with pytest.raises(NetgenError) as info:
        compile_blueprint(path)
    return info.value.diagnostics


@pytest.fixture
def nodes_made(monkeypatch):
    """Every node added to any graph (the network's and the dry runs' scratch graphs)."""
    made = []
    add_node = Graph.add_node

    def counting(self, node_id, node, inputs=()):
        made.append(node_id)
        return add_node(self, node_id, node, inputs)

    monkeypatch.setattr(Graph, "add_node", counting)
    return made


def test_a_binary_recursion_past_the_node_cap_is_refused_before_it_is_built(tmp_path, nodes_made):
    net = tree_net(tmp_path)
    (diag,) = errors_of(net)
    # the dry run builds tree(0) once and counts each level's second call from the first: after
    # tree(17) (2**17 = 131,072 nodes) its sibling brings the call to 2**18 = 262,144, and with
    # the input node 1 + 262,144 > 200,000, while 1 + 2**17 fit; it stops there
    assert 2**17 + 1 <= limits.MAX_NODES < 2**18 + 1
    assert diag.code == "NG013" and "`tree` called here would make at least 262,144 nodes" in diag.message
    assert "may have 200,000 (1 so far)" in diag.message
    assert (diag.span.file, diag.span.line, diag.span.col) == (str(net), 12, 5) and diag.hint
    # nothing like 200,000 nodes was made: the input, tree(0)'s identity, one stand-in per level
    assert len(nodes_made) < 40, len(nodes_made)
    assert sum(1 for n in nodes_made if not n.startswith(("counted#", "input"))) == 1  # the one leaf


def test_check_refuses_it_with_a_located_error_and_exit_2(tmp_path):
    net = tree_net(tmp_path)
    result = CliRunner().invoke(app, ["check", str(net)])
    assert result.exit_code == 2
    assert f"{net}:12:5: error[NG013]: block `tree` called here would make at least 262,144 nodes" in result.output
    assert "help: counted before building it" in result.output


def test_a_recursion_that_fits_the_cap_exactly_compiles_node_for_node(tmp_path, monkeypatch):
    # depth 9: 2**9 = 512 identity leaves; the graph holds them, the input and the output
    net = tree_net(tmp_path, "  - tree: {d: 9}\n")
    monkeypatch.setattr(limits, "MAX_NODES", 1 + 2**9)  # the input and every leaf, not one node more
    graph = compile_blueprint(net)
    assert len(graph) == 1 + 2**9 + 1
    assert sum(1 for _, node in graph.ops() if node.op.kind == "identity") == 512
    monkeypatch.setattr(limits, "MAX_NODES", 2**9)  # one node short: refused, counted not built
    (diag,) = errors_of(net)
    assert diag.code == "NG013" and "512 nodes; a network may have 512 (1 so far)" in diag.message


def test_a_repeated_call_is_refused_by_the_exact_count_of_its_twin(tmp_path, monkeypatch):
    # tree(8) twice: the first is built (1 + 256 nodes), the second would add another 256
    net = tree_net(tmp_path, "  - tree: {d: 8}\n  - tree: {d: 8}\n")
    monkeypatch.setattr(limits, "MAX_NODES", 1 + 256 + 255)
    (diag,) = errors_of(net)
    assert diag.code == "NG013" and (diag.span.line, diag.span.col) == (13, 5)
    assert "would make 256 nodes; a network may have 512 (257 so far)" in diag.message  # exact: no "at least"
    monkeypatch.setattr(limits, "MAX_NODES", 1 + 256 + 256)
    assert len(compile_blueprint(net)) == 1 + 2 * 256 + 1


def test_the_weight_budget_still_refuses_at_the_op_that_crosses_it(tmp_path, monkeypatch):
    """Parameters are not counted at the call: they are arithmetic on each op's shapes, so the
    build stops at the op that crosses the budget, located, having built only what came before."""
    # each leaf a 3 -> 3 conv 3x3 with bias: 3 * 3 * 9 + 3 = 84 parameters; 2**12 = 4,096 leaves
    # fit the node cap; 1,190 * 84 = 99,960 fit a budget of 100,000 and the 1,191st leaf crosses it
    monkeypatch.setenv(limits.MAX_WEIGHTS_ENV, "100000")
    net = tree_net(tmp_path, "  - tree: {d: 12}\n", leaf="{conv: {out: 3, k: 3, pad: 1}}")
    (diag,) = errors_of(net)
    assert diag.code == "NG013" and "`conv` adds 84, 100,044 in all" in diag.message and diag.span.line == 10


def test_a_mistake_in_the_recursion_is_reported_by_the_build_and_counted_once(tmp_path, monkeypatch):
    """A dry run stops at the first mistake and the build reports it, located; the calls open
    when it stopped are not counted again at each level below (CallMemo.failed)."""
    runs = []
    count_call = BlockCalls.count_call

    def counted(self, *args):
        runs.append(args[2])
        return count_call(self, *args)

    monkeypatch.setattr(BlockCalls, "count_call", counted)
    net = tree_net(tmp_path, "  - tree: {d: 30}\n", leaf="{conv: {out: 0, k: 3}}")
    diags = errors_of(net)
    assert {d.code for d in diags} == {"NG007"} and all(d.span.line == 10 for d in diags)
    assert len(runs) == 1  # tree(30)'s: every tree(k) below it was open when it stopped


@pytest.mark.parametrize("model", ["fractalnet", "densenet121", "preact_resnet164", "efficientnet_b0",
                                   "resnet50", "inception_v3", "lraspp_mobilenet_v3_large"])
def test_each_count_is_what_the_build_then_makes(model, monkeypatch):
    """Soundness: every call the dry run counted is built afterwards, and the build's own count
    (the graph's totals around it) is recorded again; the two must agree: nodes, connections
    and output shape. FractalNet recurses through `if:`; DenseNet's calls all differ; LR-ASPP's
    head is a block of two inputs."""
    checked = []
    record = CallMemo.record

    def compared(self, key, before, after, shape):
        known = self.footprints.get(key)
        record(self, key, before, after, shape)
        if known is not None:
            assert known == self.footprints[key], key[0]
            checked.append(key[0])

    monkeypatch.setattr(CallMemo, "record", compared)
    compile_blueprint(model)
    assert checked, "no call was counted and then built"
