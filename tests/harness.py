"""The torchvision comparison harness, in one place: what every test that holds netgen's models
against torchvision's uses (tests/test_library_*torchvision*.py, tests/test_library_zoo_*.py).

Big models are built on the `meta` device (no memory, no init): their parameter counts and
state_dict keys and shapes are compared there, and their MACs statically against torchvision's
published GFLOPS (`meta["_ops"]` of every weights entry, at that entry's crop size). Small
models also run: torchvision's weights, perturbed (conftest.perturb), load into netgen's
module with strict=True, and eval-mode outputs and hook-measured MACs are compared at a
reduced input. A module that imports `one_thread` runs torch on one intra-op thread.
"""

from __future__ import annotations

import pytest
import torch
from conftest import BLUEPRINTS, perturb

import netgen


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: these are many small workloads, and on a shared 2-core machine
    torch's two OpenMP threads spin against other processes (10-20x slower, measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def static_params(graph) -> int:
    return graph.parameter_count()


def static_macs(graph, eval_only: bool = True) -> int:
    """MACs of the graph's ops; by default only those that run in eval mode (GoogLeNet's
    auxiliary heads run in training only, and torchvision's GFLOPS leave them out)."""
    return sum(d.op.macs(d.in_shapes, d.shape) for _, d in graph.ops()
               if not (eval_only and d.training_only))


def count(model) -> int:
    """Parameters of a torch module, as torchvision's `num_params` counts them."""
    return sum(p.numel() for p in model.parameters())


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


def module_config(module) -> tuple | None:
    """The hyper-parameters of a module that decide what it computes (not its weights)."""
    name = type(module).__name__
    pair2 = torch.nn.modules.utils._pair
    if isinstance(module, torch.nn.Conv2d):
        return ("conv", module.kernel_size, module.stride, module.padding, module.dilation, module.groups,
                module.bias is not None)
    if isinstance(module, torch.nn.BatchNorm2d):
        return ("bn", module.eps, module.momentum, module.affine)
    if isinstance(module, torch.nn.Linear):
        return ("linear", module.in_features, module.out_features, module.bias is not None)
    if isinstance(module, torch.nn.Dropout):
        return ("dropout", module.p)
    if name in ("StochasticDepth", "DropPath"):
        return ("drop_path", module.p, {"row": "sample"}.get(module.mode, module.mode))
    if isinstance(module, torch.nn.MaxPool2d):
        return ("maxpool", pair2(module.kernel_size), pair2(module.stride), pair2(module.padding), module.ceil_mode)
    if isinstance(module, torch.nn.AvgPool2d):
        return ("avgpool", pair2(module.kernel_size), pair2(module.stride), pair2(module.padding), module.ceil_mode,
                module.count_include_pad)
    if isinstance(module, torch.nn.AdaptiveAvgPool2d):
        return ("adaptive_avgpool", pair2(module.output_size))
    return None


def check_module_hyperparameters(tv, ng) -> None:
    """Every torchvision module that computes something has a same-named netgen module with the
    same hyper-parameters (strides, padding, dilation, groups, BN eps/momentum, dropout and
    stochastic-depth rates); the exceptions are torchvision's StochasticDepth modules in blocks
    without a skip, which torchvision builds but never calls. And netgen has no stochastic depth
    that torchvision lacks."""
    ng_modules = dict(ng.named_modules())
    checked = 0
    for name, module in tv.named_modules():
        want = module_config(module)
        if want is None:
            continue
        parent = tv.get_submodule(name.rsplit(".", 1)[0]) if "." in name else tv
        if want[0] == "drop_path" and not getattr(parent, "use_res_connect", True):
            assert name not in ng_modules, f"{name}: netgen drops a branch that has no skip"
            continue
        assert name in ng_modules, f"torchvision's `{name}` ({type(module).__name__}) has no netgen counterpart"
        assert module_config(ng_modules[name]) == want, name
        checked += 1
    assert checked > 0
    for name, module in ng_modules.items():
        if type(module).__name__ == "DropPath":
            assert module_config(tv.get_submodule(name)) == module_config(module), name


def materialised_torchvision(torchvision, name: str, **kwargs):
    """torchvision's model with perturbed weights, skipping its own (slow) initialisation:
    built on the meta device, given storage, and every parameter and buffer set by perturb."""
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    model = model.to_empty(device="cpu")
    for name_, buffer in model.named_buffers():
        if name_.endswith("num_batches_tracked"):
            buffer.zero_()
    covered = {id(p) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear,
                                                                 torch.nn.BatchNorm2d)) for p in m.parameters()}
    assert all(id(p) in covered for p in model.parameters()), "perturb would leave a parameter uninitialised"
    perturb(model)
    return model


def netgen_with_weights(path, state_dict, input_shape, **params):
    """netgen's module, built without initialisation, holding `state_dict` (strict load)."""
    with torch.device("meta"):
        model = netgen.load(path, input=input_shape, **params)
    model.load_state_dict(state_dict, strict=True, assign=True)
    return model


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
    tv_count = count(tv)
    assert count(ng) == static_params(graph) == tv_count
    assert list(shapes(ng)) == list(shapes(tv))  # the same keys, in the same order
    assert shapes(ng) == shapes(tv)
    checked = 0
    for weights in torchvision.models.get_model_weights(name):
        crop = weights.transforms.keywords["crop_size"]
        at_crop = graph if crop == graph[graph.inputs[0]].shape[1] else netgen.compile_blueprint(
            path, input=(3, crop, crop))
        # at the entry's crop: a ViT's position embedding has one row per patch of that crop
        assert weights.meta["num_params"] == static_params(at_crop), weights
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
    assert ng_out.shape == tv_out.shape == (2, *graph[graph.outputs[0]].shape)
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


def check_outputs_in_both_modes(tv, ng, x, tolerance: float = 1e-5):
    """Eval-mode outputs, then training-mode outputs for the same seed (batch statistics, and
    stochastic depth drawing the same random numbers in the same order), agree within
    `tolerance` relative; returns torchvision's training-mode output."""
    for training in (False, True):
        outs = []
        for model in (tv.train(training), ng.train(training)):
            torch.manual_seed(3)
            with torch.no_grad():
                outs.append(model(x))
        assert outs[0].shape == outs[1].shape and torch.isfinite(outs[0]).all() and outs[0].abs().max() > 0
        error = (outs[1] - outs[0]).abs().max().item()
        assert error <= tolerance * max(1.0, outs[0].abs().max().item()), (training, error)
    return outs[0]


def check_against_scope_classes(path, shape, monkeypatch, **params):
    """The module of a blueprint's block classes (netgen/codegen/blocks/) against the same network
    written with scope-based classes only (python.py's own form, which every block had before it
    got a class, and which the library tests hold against torchvision): the same state_dict keys
    in the same order with the same shapes, and equal outputs, exactly, for the same weights in
    eval and training mode. Returns the block classes' source and module."""
    from netgen.codegen.blocks import BlockWriter
    from netgen.codegen.module import module_from_source
    from netgen.codegen.python import generate_source

    source, top = generate_source(netgen.compile_blueprint(path, **params), path.name)
    with monkeypatch.context() as patched:
        patched.setattr(BlockWriter, "build", lambda self, taken: {})  # no block classes: scope classes only
        reference, reference_top = generate_source(netgen.compile_blueprint(path, **params), path.name)
    assert source != reference
    model = module_from_source(source, top, path.stem)()
    scoped = module_from_source(reference, reference_top, path.stem + "_scoped")()
    assert list(shapes(model).items()) == list(shapes(scoped).items())
    perturb(scoped)
    model.load_state_dict(scoped.state_dict(), strict=True)
    check_outputs_in_both_modes(scoped, model, torch.randn(2, *shape), tolerance=0.0)
    return source, model
