"""Shared checks of the issue-12 library (ConvNeXt, ShuffleNet v2, RegNet) against torchvision.

Each `test_library_zoo_*.py` module builds every torchvision model it needs once. Big models
are built on the `meta` device (no memory, no init): their parameter counts and state_dict
keys and shapes are compared there, and their MACs statically against torchvision's
published GFLOPS (`meta["_ops"]` of every weights entry, at that entry's crop size). Small
models also run: torchvision's weights, perturbed (conftest.perturb), load into netgen's
module with strict=True, and eval-mode outputs and hook-measured MACs are compared at a
reduced input.
"""

from __future__ import annotations

import torch
from conftest import BLUEPRINTS, perturb

import netgen


def static_params(graph) -> int:
    return sum(d["op"].param_count(d["in_shapes"], d["shape"]) for _, d in graph.ops())


def static_macs(graph) -> int:
    return sum(d["op"].macs(d["in_shapes"], d["shape"]) for _, d in graph.ops() if not d.get("training_only"))


def measured_macs(model, x) -> tuple[int, torch.Tensor]:
    """Conv2d and Linear multiply-accumulates of one forward pass per sample, bias excluded, from
    each module's weight and real output shape (a Linear over a channels-last map counts every
    position)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        total += output.numel() // output.shape[0] * module.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total, out


def shapes(model) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def on_meta(build):
    """Build a module on the meta device: parameters have shapes but no storage."""
    with torch.device("meta"):
        return build()


def check_static(torchvision, name: str, blueprint: str | None = None) -> None:
    """Parameter count, state_dict keys (in order) and shapes, and MACs against torchvision's
    published GFLOPS, with both models on the meta device."""
    path = BLUEPRINTS / f"{blueprint or name}.yaml"
    tv = on_meta(lambda: torchvision.models.get_model(name, weights=None))
    ng = on_meta(lambda: netgen.load(path))
    graph = netgen.compile_blueprint(path)
    count = sum(p.numel() for p in tv.parameters())
    assert sum(p.numel() for p in ng.parameters()) == static_params(graph) == count
    assert list(shapes(ng)) == list(shapes(tv))  # the same keys, in the same order
    assert shapes(ng) == shapes(tv)
    checked = 0
    for weights in torchvision.models.get_model_weights(name):
        crop = weights.transforms.keywords["crop_size"]
        at_crop = graph if crop == graph[graph.inputs[0]]["shape"][1] else netgen.compile_blueprint(
            path, input=(3, crop, crop))
        assert weights.meta["num_params"] == count, weights
        assert round(static_macs(at_crop) / 1e9, 3) == weights.meta["_ops"], (weights, crop)
        checked += 1
    assert checked


def check_outputs(torchvision, name: str, input_shape=(3, 64, 64), blueprint: str | None = None) -> None:
    """torchvision's weights load into netgen's module with strict=True; eval-mode outputs and
    hook-measured MACs agree at `input_shape`, and equal the static count; training-mode outputs
    agree for the same random seed."""
    path = BLUEPRINTS / f"{blueprint or name}.yaml"
    torch.manual_seed(0)
    tv = torchvision.models.get_model(name, weights=None)
    ng = netgen.load(path, input=input_shape)
    graph = netgen.compile_blueprint(path, input=input_shape)
    perturb(tv)
    ng.load_state_dict(tv.state_dict(), strict=True)
    tv.eval()
    ng.eval()
    x = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    tv_macs, tv_out = measured_macs(tv, x)
    ng_macs, ng_out = measured_macs(ng, x)
    assert ng_out.shape == tv_out.shape == (2, *graph[graph.outputs[0]]["shape"])
    assert torch.isfinite(tv_out).all() and tv_out.abs().max() > 0
    assert (ng_out - tv_out).abs().max().item() <= 1e-5 * max(1.0, tv_out.abs().max().item())
    assert static_macs(graph) == ng_macs == tv_macs
    # training mode: batch statistics, and stochastic depth drawing the same random numbers
    tv.train()
    ng.train()
    outs = []
    for model in (tv, ng):
        torch.manual_seed(3)
        with torch.no_grad():
            outs.append(model(x))
    assert (outs[1] - outs[0]).abs().max().item() <= 1e-5 * max(1.0, outs[0].abs().max().item())
