"""Static analysis against a real forward pass, for every library blueprint (issue 2).

For each `blueprints/*.yaml` (a glob, so new blueprints are covered without editing this
file), the blueprint is compiled to a graph and loaded as a module, and one forward pass is
run with hooks on every leaf module. For every op node that has a module (its node id is the
module's name in `named_modules()`), the statically inferred output shape, parameter count
and MACs must equal what torch measures; the model's output shapes must equal the graph's.
Nodes that run only in training mode (auxiliary heads) are measured in a second,
training-mode pass.

Input size: blueprints cheaper than `NATIVE_BUDGET` MACs run at their own input. Costlier
ones run at the smallest input (from a quarter of the native side up) that leaves the
architecture unchanged (every node's parameter count equal: adaptive or global pools before
the classifier), which exercises every shape rule at a fraction of the cost; their
native-size totals are proved against torchvision elsewhere.
A few extra cases run at odd sizes, where floor/ceil rounding of strided windows and
adaptive pooling are easiest to get wrong.
"""

from __future__ import annotations

import pytest
import torch
from conftest import BLUEPRINTS
from harness import one_thread  # noqa: F401

import netgen

LIBRARY = sorted(BLUEPRINTS.glob("*.yaml"))
NATIVE_BUDGET = 6e9  # MACs per sample; inception_v3 (5.7e9, its aux head needs ~299×299) stays native

# (blueprint, input C×H×W): odd and small sizes the architectures accept.
EXTRA_INPUTS = [
    ("resnet18", (3, 97, 101)),  # odd sizes through stride-2 convs and the padded max pool
    ("resnext50_32x4d", (3, 65, 65)),
    ("alexnet", (3, 63, 63)),  # torchvision's min_size: features end at 256×1×1, pooled up to 6×6
    ("vgg11_bn", (3, 32, 32)),  # features end at 512×1×1; adaptive pool repeats it to 7×7
]


def node_params(graph, modules_only: bool = False) -> list[int]:
    """Per op node, its parameter count; `modules_only` leaves out learnable tensors (a ViT's
    position embedding, one row per patch, is the one count that follows the input size)."""
    return [d.op.param_count(d.in_shapes, d.shape) for _, d in graph.ops()
            if not (modules_only and d.op.is_tensor)]


def static_macs(graph) -> int:
    return sum(d.op.macs(d.in_shapes, d.shape) for _, d in graph.ops())


def per_node_input(path) -> tuple | None:
    """None (the blueprint's own input) when it is cheap enough; else the smallest input of
    the same aspect ratio at which the blueprint compiles with every parameter count equal."""
    graph = netgen.compile_blueprint(path)
    if static_macs(graph) <= NATIVE_BUDGET:
        return None
    c, h, w = graph[graph.inputs[0]].shape
    side = min(h, w)
    for small in range(max(8, side // 4), side // 2 + 1):
        shape = (c, h * small // side, w * small // side)
        try:
            candidate = netgen.compile_blueprint(path, input=shape)
        except netgen.NetgenError:
            continue
        if node_params(candidate, modules_only=True) == node_params(graph, modules_only=True):
            return shape
    return None


def torch_macs(module, inputs, output) -> int:
    """Multiply-accumulates of one conv/linear call per sample, bias excluded: every output
    element of a Conv2d/Linear takes weight[0].numel() of them, every input element of a
    ConvTranspose2d gives weight[0].numel() (out_channels/groups × kh × kw)."""
    if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
        return output.numel() // output.shape[0] * module.weight[0].numel()
    if isinstance(module, torch.nn.ConvTranspose2d):
        return inputs[0].numel() // inputs[0].shape[0] * module.weight[0].numel()
    if isinstance(module, torch.nn.MultiheadAttention):
        # q|k|v and output projections (4·N·E² per sample), then QKᵀ and weights × V (N²·E each)
        n, e = inputs[0].shape[1:]
        return 4 * n * e * e + 2 * n * n * e
    if type(module).__name__ == "PartitionAttention":  # netgen's MaxViT block/grid attention
        # q|k|v and merge projections at every position, then QKᵀ and weights × V: each of the
        # N = H·W tokens meets the size² tokens of its group, over all C features
        _, h, w, c = inputs[0].shape
        return 4 * h * w * c * c + 2 * h * w * module.size ** 2 * c
    kind = type(module).__name__
    if kind.startswith("ShiftedWindowAttention"):
        # Swin: over the map padded to whole windows of n positions, the projections (4·P·C²) and
        # QKᵀ and weights × V (P·n·C each); v2's bias MLP runs once over its offsets' table
        (h, w, c), (wh, ww) = inputs[0].shape[1:], module.window_size
        positions = -(-h // wh) * wh * -(-w // ww) * ww
        macs = 4 * positions * c * c + 2 * positions * wh * ww * c
        if hasattr(module, "cpb_mlp"):
            rows = module.relative_coords_table.numel() // 2
            macs += rows * sum(m.weight.numel() for m in module.cpb_mlp if isinstance(m, torch.nn.Linear))
        return macs
    if kind.startswith("PatchMerging"):  # its Linear, at every output position
        return output.numel() // output.shape[0] * module.reduction.weight[0].numel()
    return 0


def measure(model, x, training: bool = False) -> tuple[dict[str, list[dict]], object]:
    """Run once with a hook on every leaf module; per module name, one record per call."""
    calls: dict[str, list[dict]] = {}
    handles = []
    for name, module in model.named_modules():
        # leaves, and ops whose module has children: attention, whose out_proj it uses by weight,
        # never by call; partition attention (its to_qkv and merge are called, but the op is the
        # graph node), Swin's window attention and patch merging
        if name and (not list(module.children()) or isinstance(module, torch.nn.MultiheadAttention)
                     or type(module).__name__.startswith(("PartitionAttention", "ShiftedWindowAttention",
                                                          "PatchMerging"))):
            def hook(mod, inputs, output, name=name):
                if isinstance(output, tuple):  # attention's (output, weights=None)
                    output = output[0]
                calls.setdefault(name, []).append({
                    "shape": tuple(output.shape[1:]),
                    "params": sum(p.numel() for p in mod.parameters()),
                    "macs": torch_macs(mod, inputs, output),
                })
            handles.append(module.register_forward_hook(hook))
    try:
        model.train(training)
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
    shape = graph[graph.inputs[0]].shape
    gen = torch.Generator().manual_seed(0)
    calls, out = measure(model, torch.randn(1, *shape, generator=gen))
    if any(d.training_only for _, d in graph.ops()):
        # batch 2: BN in training mode needs more than one value per channel
        train_calls, _ = measure(model, torch.randn(2, *shape, generator=gen), training=True)
    modules = dict(model.named_modules())
    parameters = dict(model.named_parameters())
    compared, problems = 0, []
    for node, data in graph.ops():
        op = data.op
        if op.is_tensor:  # a learnable tensor is a parameter of its scope, under the node's name
            param = parameters.get(node)
            static = op.param_count(data.in_shapes, data.shape)
            if param is None or param.numel() != static:
                problems.append(f"{node}: static {static} parameters, torch {None if param is None else param.numel()}")
            compared += 1
            continue
        if node not in modules:
            # ops emitted as expressions (`+`, torch.flatten, torch.cat) have no module
            if op.emit_module(data.in_shapes, data.shape) is not None:
                problems.append(f"{node}: emits a module but no module has that name")
            continue
        records = (train_calls if data.training_only else calls).get(node)
        if records is None:
            problems.append(f"{node}: its module never ran")
            continue
        if len(records) != 1:
            problems.append(f"{node}: its module ran {len(records)} times")
        measured = records[0]
        static = {
            "shape": tuple(data.shape),
            "params": op.param_count(data.in_shapes, data.shape),
            "macs": op.macs(data.in_shapes, data.shape),
        }
        for key, value in static.items():
            if value != measured[key]:
                problems.append(f"{node}: static {key} {value} != torch {measured[key]}")
        compared += 1
    assert not problems, "\n".join(problems)
    outs = tuple(out.values()) if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else (out,)
    eval_outputs = [o for o in graph.outputs if not graph[o].training_only]
    assert [tuple(o.shape[1:]) for o in outs] == [tuple(graph[o].shape) for o in eval_outputs]
    assert sum(p.numel() for p in model.parameters()) == sum(node_params(graph))
    return compared


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_every_node_matches_torch(path):
    assert check_against_torch(path, per_node_input(path)) > 0


@pytest.mark.parametrize("name,input_shape", EXTRA_INPUTS,
                         ids=[f"{n}-{'x'.join(map(str, s))}" for n, s in EXTRA_INPUTS])
def test_every_node_matches_torch_at_other_sizes(name, input_shape):
    assert check_against_torch(BLUEPRINTS / f"{name}.yaml", input_shape) > 0
