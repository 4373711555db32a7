"""netgen's cost conventions against torch itself, on every blueprint (issue 5).

For every `blueprints/*.yaml` (a glob: blueprints added later are covered) and every
`docs/examples/*.yaml`, one eval-mode forward pass at batch 1 runs under
`torch.utils.flop_counter.FlopCounterMode` with a hook on every leaf module, and:

* total FLOPs counted by torch == 2 x netgen's MACs, and per conv/linear module
  torch's FLOPs == 2 x that row's MACs (FlopCounterMode counts conv and matmul work only,
  bias excluded: the same set netgen calls MACs);
* every op's output tensor (read at its module, or at a consumer's input for ops emitted as
  expressions such as `+`, `torch.cat`, `torch.flatten`) has the bytes netgen reports;
* parameters and buffers equal `model.parameters()` and `model.buffers()`.

The forward pass runs on the `meta` device: torch's own shape and FLOP rules, without
allocating or computing, so the whole library costs seconds. A second test runs small models
on the CPU for real and checks the memory convention itself: the ops netgen counts as
allocating nothing (in-place ReLU, flatten, eval-mode dropout) return storage that torch
shares with their input, and every other op's output is a new tensor.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import BLUEPRINTS, ROOT
from torch.utils.flop_counter import FlopCounterMode

import netgen
from netgen.analysis import summarize
from netgen.codegen.module import build_module

EXAMPLES = ROOT / "docs" / "examples"
ALL = sorted(BLUEPRINTS.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
SMALL = [EXAMPLES / f"{n}.yaml" for n in ("inception_bottleneck", "depthwise_separable", "stacked_3x3", "alexnet_2012",
                                                  "decoder_bits")]
SMALL += [BLUEPRINTS / f"{n}.yaml" for n in ("lenet5", "resnet18", "resnet20", "squeezenet1_1", "mobilenet_v2")
          if (BLUEPRINTS / f"{n}.yaml").exists()]


def ids(paths):
    return [f"{p.parent.name}/{p.stem}" for p in paths]


def run(path: Path, device: str):
    """Build, run one forward under FlopCounterMode with hooks; return what torch saw."""
    graph = netgen.compile_blueprint(path)
    with torch.device(device):
        model = build_module(graph, path.name).eval()  # the module netgen.load returns, from this graph
        x = torch.zeros(1, *graph[graph.inputs[0]].shape)
    seen: dict[str, tuple] = {}
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            def hook(mod, inputs, output, name=name):
                seen[name] = (inputs, output)
            handles.append(module.register_forward_hook(hook))
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return graph, model, x, seen, counter, out


def tensor_of(graph, node, seen, out):
    """The tensor an op produced: its module's output, or a consumer module's input."""
    if node in seen:
        return seen[node][1]
    for user in graph.users_of(node):
        if user in seen:
            index = graph.nx.edges[node, user]["index"]
            return seen[user][0][index]
    if node in graph.inputs_of(graph.outputs[0]):
        return out if not isinstance(out, (tuple, list, dict)) else None
    return None


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_costs_and_activation_sizes_match_torch(path):
    graph, model, x, seen, counter, out = run(path, "meta")
    summary = summarize(graph)
    prefix = type(model).__name__
    counts = counter.get_flop_counts()
    problems = []
    # totals: FlopCounterMode counts conv + matmul, bias excluded -> 2 x MACs
    if counter.get_total_flops() != summary.flops:
        problems.append(f"total: torch {counter.get_total_flops():,} FLOPs != netgen 2 x {summary.macs:,}")
    rows = {r.nodes[0]: r for r in summary.rows}
    checked = 0
    for node, data in graph.ops():
        row = rows[node]
        if data.op.family in ("conv", "linear") and node in seen:
            torch_flops = sum(counts.get(f"{prefix}.{node}", {}).values())
            if torch_flops != row.flops:
                problems.append(f"{node}: torch {torch_flops:,} FLOPs != 2 x {row.macs:,} MACs")
        if data.training_only:
            continue
        tensor = tensor_of(graph, node, seen, out)
        if tensor is None:
            continue
        measured = tensor.numel() * tensor.element_size()
        if measured != row.output_bytes or tuple(tensor.shape[1:]) != row.output_shape:
            problems.append(f"{node}: torch output {tuple(tensor.shape)} {measured} B != netgen "
                            f"{row.output_shape} {row.output_bytes} B")
        checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= len(seen) // 2
    assert summary.params == sum(p.numel() for p in model.parameters())
    assert summary.buffers == sum(b.numel() for b in model.buffers())
    assert summary.input_bytes == x.numel() * x.element_size()


@pytest.mark.parametrize("path", SMALL, ids=ids(SMALL))
def test_memory_convention_on_a_real_forward(path):
    """Rows with activation_bytes == 0 share storage with their input in torch; others do not."""
    graph, _model, x, seen, counter, out = run(path, "cpu")
    summary = summarize(graph)
    produced = {graph.inputs[0]: x}
    for node in graph.topological():
        if graph[node].kind == "op":
            tensor = tensor_of(graph, node, seen, out)
            if tensor is not None:
                produced[node] = tensor
    problems = []
    for row in summary.rows:
        node = row.nodes[0]
        if node not in produced:
            continue
        sources = [produced.get(i) for i in graph.inputs_of(node)]
        shares = any(s is not None and s.untyped_storage().data_ptr() == produced[node].untyped_storage().data_ptr()
                     for s in sources)
        if shares != (row.activation_bytes == 0):
            problems.append(f"{node} ({row.op}): torch shares input storage: {shares}; "
                            f"netgen counts {row.activation_bytes} new bytes")
    assert not problems, "\n".join(problems)
    assert counter.get_total_flops() == summary.flops
