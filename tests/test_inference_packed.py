"""The channels_last inference build at batch 1 in float32, the form it is deployed in: its convs
keep their weights packed in oneDNN's layout (netgen/ops/conv.py, PackedConv2d), and what one
forward pass copies, counted with torch.profiler (netgen/bench/census.py), not timed.

tests/test_inference_build.py compares outputs in float64, where PackedConv2d falls back to
nn.Conv2d; here the packed path itself is compared with torchvision's eager module."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from conftest import perturb
from harness import one_thread  # noqa: F401  (a fixture: one intra-op thread)

import netgen
from netgen.bench.census import census

SIZE = 64
PACKING = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")

# The average pools of each network, from its architecture: each pool's division by the element
# count copies a 0-dim tensor (torchvision's eager module does the same, checked below).
# EfficientNet-B0: one squeeze-excitation pool in each of its 1+2+2+3+3+4+1 MBConv blocks, and the
# head's; MobileNetV2: the head's only.
POOLS = {"efficientnet_b0": 1 + 2 + 2 + 3 + 3 + 4 + 1 + 1, "mobilenet_v2": 1}
# The 1x1 convs on a 1x1 map, which PackedConv2d computes as a matrix product (addmm, which fills
# its output with the bias first, as the classifier's does): each squeeze-excitation's two.
ONE_POSITION = {"efficientnet_b0": 2 * (1 + 2 + 2 + 3 + 3 + 4 + 1), "mobilenet_v2": 0}


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / a.abs().max()).item()


@pytest.fixture(scope="module", params=["efficientnet_b0", "mobilenet_v2"])
def pair(request, torchvision):
    """(name, torchvision's module with perturbed weights, the channels_last inference build with
    them converted), both in eval mode and float32."""
    torch.manual_seed(0)
    reference = getattr(torchvision.models, request.param)().eval()
    perturb(reference)
    fast = netgen.load(request.param, input=(3, SIZE, SIZE), inference=True, channels_last=True).eval()
    fast.load_state_dict(netgen.inference_state_dict(fast, reference.state_dict()), strict=True)
    return request.param, reference, fast


def image(batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(7))


@pytest.mark.skipif(not PACKING, reason="this torch has no oneDNN convolution ops")
def test_one_forward_copies_only_the_input(pair):
    name, reference, fast = pair
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in reference.modules())
    linears = sum(isinstance(m, torch.nn.Linear) for m in reference.modules())
    counted = census(fast, image())
    # every other conv ran packed: torch never reorders a weight, and no conv fills its output
    # from its bias (the packed kernel adds the bias itself)
    assert counted.ops["mkldnn::_convolution_pointwise"] == convs - ONE_POSITION[name]
    assert counted.ops["aten::convolution"] == 0
    assert counted.ops["aten::addmm"] == linears + ONE_POSITION[name]
    # the copies: the NCHW input made channels_last once, each pool's 0-dim divisor, and each
    # addmm filling its output with its bias; no map changes layout inside
    bias_fills = linears + ONE_POSITION[name]
    assert dict(counted.copies) == {"layout": 1, "scalar": POOLS[name], "bias": bias_fills}
    assert counted.ops["aten::contiguous"] == 1
    channels_last_input = census(fast, image().contiguous(memory_format=torch.channels_last))
    assert dict(channels_last_input.copies) == {"scalar": POOLS[name], "bias": bias_fills}
    # torchvision's eager module copies the same divisors (and more: its convs' bias fills)
    assert census(reference, image()).copies["scalar"] == POOLS[name]


def unpacked(model, x, monkeypatch) -> torch.Tensor:
    """The model's output with every PackedConv2d running nn.Conv2d's forward instead."""
    packed_class = next(type(m) for m in model.modules() if type(m).__name__ == "PackedConv2d")
    with monkeypatch.context() as patch:
        patch.setattr(packed_class, "packing", False)
        return model(x)


def test_packed_build_computes_torchvisions_function(pair, monkeypatch):
    name, reference, fast = pair
    with torch.inference_mode():
        for batch in (1, 3):  # the packed weights are kept per input shape
            x = image(batch)
            # the packed kernel computes what nn.Conv2d computes, up to float32 summation order;
            # torchvision's unfolded norms differ by the fold's float32 rounding (float64: 1e-5,
            # tests/test_inference_build.py)
            assert relative_error(unpacked(fast, x, monkeypatch), fast(x)) < 2e-6, (name, batch)
            assert relative_error(reference(x), fast(x)) < 1e-4, (name, batch)


def test_packed_weights_follow_a_new_state_dict(pair, monkeypatch):
    name, reference, fast = pair
    x = image()
    with torch.inference_mode():
        fast(x)  # the packed weights are made
    model = copy.deepcopy(fast)  # a deep copy (and a pickle) leaves the packed weights behind
    assert "_packed" not in model.features[0][0].__dict__
    with torch.inference_mode():
        before = model(x)  # made again
    assert "_packed" in model.features[0][0].__dict__
    changed = dict(reference.state_dict())
    changed["features.0.0.weight"] = changed["features.0.0.weight"].flip(-1)  # the stem's kernels mirrored
    model.load_state_dict(netgen.inference_state_dict(model, changed), strict=True)  # copies into the weights
    with torch.inference_mode():
        expected = unpacked(model, x, monkeypatch)
        assert relative_error(expected, before) > 1e-2, name  # the change shows in the output
        assert relative_error(expected, model(x)) < 2e-6, name  # the packed copies were remade
    torch.save(model, io.BytesIO())
    assert set(model.state_dict()) == set(fast.state_dict())


def test_with_autograd_on_the_plain_conv_runs(pair):
    name, reference, fast = pair
    x = image().requires_grad_()
    out = fast(x)  # grad mode: nn.Conv2d's forward, which autograd differentiates
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.no_grad():
        assert relative_error(reference(x), out.detach()) < 1e-4, name


def test_torch_compile_traces_the_packed_build_in_one_graph(pair):
    """Under torch.compile the packed path steps aside before it reads anything dynamo cannot
    trace: `weight.is_inference()` once broke the graph at every conv (17 breaks in EfficientNet-B0)
    and every block's forward recompiled per instance until dynamo's recompile limit."""
    import torch._dynamo

    name, reference, fast = pair
    torch._dynamo.reset()
    with torch.inference_mode():
        explained = torch._dynamo.explain(fast)(image())
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), (name, explained.break_reasons[:1])
