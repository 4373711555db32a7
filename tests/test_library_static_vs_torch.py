"""Static analysis against a real forward pass, for every library blueprint (issue 2).

For each `blueprints/*.yaml` (a glob, so new blueprints are covered without editing this
file), the blueprint is compiled to a graph and loaded as a module, and one forward pass is
run with hooks on every leaf module. For every op node that has a module (its node id is the
module's name in `named_modules()`), the statically inferred output shape, parameter count
and MACs must equal what torch measures; the model's output shape must equal the graph's.
A few extra cases run at unusual input sizes, where floor/ceil rounding of strided windows
and adaptive pooling are easiest to get wrong.
"""

from __future__ import annotations

import pytest
import torch
from conftest import BLUEPRINTS

import netgen

LIBRARY = sorted(BLUEPRINTS.glob("*.yaml"))

# (blueprint, input C×H×W): odd and small sizes the architectures accept.
EXTRA_INPUTS = [
    ("resnet18", (3, 97, 101)),  # odd sizes through stride-2 convs and the padded max pool
    ("resnext50_32x4d", (3, 65, 65)),
    ("alexnet", (3, 63, 63)),  # torchvision's min_size: features end at 256×1×1, pooled up to 6×6
    ("vgg11_bn", (3, 32, 32)),  # features end at 512×1×1; adaptive pool repeats it to 7×7
]


def torch_macs(module, output) -> int:
    """Multiply-accumulates of one Conv2d/Linear call per sample, bias excluded."""
    if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
        return output.numel() // output.shape[0] * module.weight[0].numel()
    return 0


def measure(model, x) -> tuple[dict[str, list[dict]], torch.Tensor]:
    """Run once with a hook on every leaf module; per module name, one record per call."""
    calls: dict[str, list[dict]] = {}
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            def hook(mod, inputs, output, name=name):
                calls.setdefault(name, []).append({
                    "shape": tuple(output.shape[1:]),
                    "params": sum(p.numel() for p in mod.parameters()),
                    "macs": torch_macs(mod, output),
                })
            handles.append(module.register_forward_hook(hook))
    try:
        model.eval()
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return calls, out


def check_against_torch(path, input_shape=None) -> int:
    """Compare every op node with its module's forward pass; return how many were compared."""
    graph = netgen.compile_blueprint(path, input=input_shape)
    model = netgen.load(path, input=input_shape)
    shape = graph[graph.inputs[0]]["shape"]
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    calls, out = measure(model, x)
    modules = dict(model.named_modules())
    compared, problems = 0, []
    for node, data in graph.ops():
        op = data["op"]
        if node not in modules:
            # ops emitted as expressions (`+`, torch.flatten, torch.cat) have no module
            if op.torch_module(data["in_shapes"], data["shape"]) is not None:
                problems.append(f"{node}: emits a module but no module has that name")
            continue
        records = calls.get(node)
        if records is None:
            problems.append(f"{node}: its module never ran")
            continue
        if len(records) != 1:
            problems.append(f"{node}: its module ran {len(records)} times")
        measured = records[0]
        static = {
            "shape": tuple(data["shape"]),
            "params": op.param_count(data["in_shapes"], data["shape"]),
            "macs": op.macs(data["in_shapes"], data["shape"]),
        }
        for key, value in static.items():
            if value != measured[key]:
                problems.append(f"{node}: static {key} {value} != torch {measured[key]}")
        compared += 1
    assert not problems, "\n".join(problems)
    assert tuple(out.shape[1:]) == tuple(graph[graph.outputs[0]]["shape"])
    assert sum(p.numel() for p in model.parameters()) == sum(
        d["op"].param_count(d["in_shapes"], d["shape"]) for _, d in graph.ops()
    )
    return compared


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_every_node_matches_torch(path):
    assert check_against_torch(path) > 0


@pytest.mark.parametrize("name,input_shape", EXTRA_INPUTS, ids=[f"{n}-{'x'.join(map(str, s))}" for n, s in EXTRA_INPUTS])
def test_every_node_matches_torch_at_other_sizes(name, input_shape):
    assert check_against_torch(BLUEPRINTS / f"{name}.yaml", input_shape) > 0
