"""Parameter memory against the bytes torch really holds.

The oracle is `sum(t.numel() * t.element_size())` over the parameters and buffers of the
emitted module and of torchvision's, as built (float32) and after `.to(torch.bfloat16)`,
which casts floating-point tensors only: BatchNorm's `num_batches_tracked` and the attention
ops' `relative_position_index` stay int64. Both models are built on the meta device (shapes and
dtypes, no storage), so the check costs a second per model.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from harness import BLUEPRINTS, on_meta

import netgen
from netgen.analysis import summarize

# BatchNorm only; window attention v1 (int64 index) without BatchNorm; v2 (float coords table
# too); MaxViT (both BatchNorm and partition attention); VGG has no buffers at all
MODELS = ["resnet18", "swin_t", "swin_v2_t", "maxvit_t", "vgg11"]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def held_bytes(model) -> int:
    return sum(t.numel() * t.element_size() for t in itertools.chain(model.parameters(), model.buffers()))


@pytest.mark.parametrize("name", MODELS)
def test_parameter_memory_is_what_torch_holds(torchvision, name):
    path = BLUEPRINTS / f"{name}.yaml"
    emitted = on_meta(lambda: netgen.load(path))
    reference = on_meta(lambda: torchvision.models.get_model(name, weights=None))
    graph = netgen.compile_blueprint(path)
    integer = sum(b.numel() for b in emitted.buffers() if not b.is_floating_point())
    assert summarize(graph).int64_buffers == integer
    assert integer == sum(b.numel() for b in reference.buffers() if not b.is_floating_point())
    for dtype, torch_dtype in DTYPES.items():
        summary = summarize(graph, dtype=dtype)
        assert summary.param_bytes == held_bytes(emitted.to(torch_dtype)) == held_bytes(reference.to(torch_dtype))
        # mixed precision keeps float32 weights and buffers, the int64 ones at 8 bytes
        plan = summary.training
        assert plan.weights + plan.buffers == held_bytes(emitted.to(torch.float32))


def test_an_op_still_defining_buffer_count_is_refused():
    """netgen no longer reads `buffer_count`: a plugin op that defines it would have its buffers
    silently counted as none, so registration refuses it and names the replacement."""
    from netgen.ops import Op, register_op

    class Former(Op):
        kind = "former_buffer_count_op"

        def buffer_count(self, in_shapes, out_shape):
            return 9

    with pytest.raises(TypeError, match=r"buffers\(in_shapes, out_shape\)"):
        register_op(Former)
    assert "former_buffer_count_op" not in netgen.ops.REGISTRY


def test_non_persistent_buffers_are_held_memory_too():
    """GoogLeNet's transform_input keeps its constants (3 scales, 3 shifts) as non-persistent
    buffers: outside the state_dict, but held by the module and cast by `.to(dtype)`, so they
    count. torchvision computes the same constants inline (no buffers), so the emitted module is
    the oracle here."""
    path = BLUEPRINTS / "googlenet.yaml"
    emitted = on_meta(lambda: netgen.load(path, transform_input=True))
    graph = netgen.compile_blueprint(path, transform_input=True)
    assert summarize(graph).buffers == sum(b.numel() for b in emitted.buffers())
    for dtype, torch_dtype in DTYPES.items():
        assert summarize(graph, dtype=dtype).param_bytes == held_bytes(emitted.to(torch_dtype))
