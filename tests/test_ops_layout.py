"""The layout and normalisation ops of issue 12 against torch and torchvision themselves:
values, not just shapes (the generic op test checks shapes and counts), and the tensor kinds
the checker tracks (a channels-last map is not a C×H×W map)."""

from __future__ import annotations

import pytest
import torch
from conftest import import_torchvision
from torch import nn

from netgen.codegen.printer import expression_text, module_call_text
from netgen.ops import REGISTRY
from netgen.shapes import CHANNELS_LAST, MAP, TOKENS, Dims, ShapeError, axes_of


def emitted(kind, params, *inputs):
    """Run the op's emission (supports, constructor, forward expression) on the given tensors
    (batch first), as the generated file does; return (op, module, output)."""
    op = REGISTRY[kind].from_config(params)
    shapes = [tuple(t.shape[1:]) for t in inputs]
    namespace = {"torch": torch, "nn": nn}
    for support in op.emit_support():
        exec(support.source, namespace)
    constructor = op.emit_module(shapes, op.infer_shape(shapes))
    module = eval(module_call_text(constructor), namespace) if constructor else None
    namespace.update({"module": module}, **{f"x{i}": t for i, t in enumerate(inputs)})
    call = expression_text(op.emit_forward(shapes), [f"x{i}" for i in range(len(inputs))],
                           "module" if module is not None else None)
    with torch.no_grad():
        return op, module, eval(call, namespace)


def test_permute_slice_reshape_flatten_move_values_as_torch_does():
    x = torch.randn(2, 3, 4, 5)
    assert torch.equal(emitted("permute", {"dims": [1, 2, 0]}, x)[2], x.permute(0, 2, 3, 1))
    assert torch.equal(emitted("slice", {"dim": 0, "start": 1}, x)[2], x[:, 1:])
    first, second = x[:, :, :2], x[:, :, 2:]
    assert torch.equal(emitted("slice", {"dim": 1, "end": 2}, x)[2], first)
    assert torch.equal(emitted("slice", {"dim": -2, "start": 2}, x)[2], second)
    assert torch.equal(emitted("slice", {"dim": -1, "start": 1, "end": -1}, x)[2], x[..., 1:-1])
    assert torch.equal(emitted("reshape", {"shape": [3, -1]}, x)[2], x.reshape(2, 3, 20))
    assert torch.equal(emitted("flatten", {"start": 1, "end": 2}, x)[2], torch.flatten(x, 2, 3))


def test_channel_shuffle_is_torchvisions():
    shufflenet = import_torchvision().models.shufflenetv2
    x = torch.randn(2, 12, 3, 3)
    assert torch.equal(emitted("channel_shuffle", {"groups": 3}, x)[2], shufflenet.channel_shuffle(x, 3))


def test_layernorm_over_a_maps_channels_is_convnexts_layernorm2d():
    convnext = import_torchvision().models.convnext
    x = torch.randn(2, 6, 4, 5)
    op, module, y = emitted("layernorm2d", {"eps": 1e-6}, x)
    reference = convnext.LayerNorm2d(6, eps=1e-6)
    with torch.no_grad():
        module.weight.normal_()
        module.bias.normal_()
    reference.load_state_dict(module.state_dict(), strict=True)  # the same keys: weight, bias
    with torch.no_grad():
        y = module(x)
        assert torch.allclose(y, reference(x), atol=1e-6)
        # and it is the channel-wise norm, not one over W
        assert torch.allclose(y, torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (6,), module.weight,
                                                                module.bias, 1e-6).permute(0, 3, 1, 2), atol=1e-6)
    tokens = torch.randn(2, 3, 7)
    _, last, _ = emitted("layernorm", {}, tokens)
    assert isinstance(last, torch.nn.LayerNorm) and last.normalized_shape == (7,)


def test_group_and_instance_norm_are_torchs():
    x = torch.randn(2, 6, 3, 3)
    _, module, y = emitted("groupnorm", {"groups": 3}, x)
    assert torch.allclose(y, torch.nn.functional.group_norm(x, 3, module.weight, module.bias), atol=1e-6)
    _, module, y = emitted("instancenorm", {}, x)
    assert torch.allclose(y, torch.nn.functional.instance_norm(x), atol=1e-6)


def test_learnable_scales_and_adds_with_its_own_parameter():
    x = torch.randn(2, 4, 3, 3)
    op, param, y = emitted("learnable", {"shape": [4, 1, 1], "init": 0.5}, x)
    assert isinstance(param, torch.nn.Parameter) and tuple(param.shape) == (4, 1, 1)
    assert torch.equal(y, x * 0.5)
    assert op.param_count([(4, 3, 3)], (4, 3, 3)) == 4
    _, param, y = emitted("learnable", {"shape": [3], "apply": "add", "init": 2.0}, x)
    assert torch.equal(y, x + 2.0)
    with pytest.raises(ShapeError, match="does not broadcast"):
        REGISTRY["learnable"].from_config({"shape": [4, 1, 1, 1]}).infer_shape([(4, 3, 3)])
    with pytest.raises(ShapeError, match="does not broadcast"):
        REGISTRY["learnable"].from_config({"shape": [5, 1, 1]}).infer_shape([(4, 3, 3)])


def test_linear_works_over_the_last_dimension():
    linear = REGISTRY["linear"].from_config({"out": 8})
    channels_last = Dims((5, 6, 4), CHANNELS_LAST)
    out = linear.infer_shape([channels_last])
    assert tuple(out) == (5, 6, 8) and axes_of(out) == CHANNELS_LAST
    # torch.nn.Linear(4, 8) on a 5x6x4 input: 5*6 positions, each a 4x8 matrix-vector product
    assert linear.macs([channels_last], out) == 5 * 6 * 4 * 8
    assert linear.param_count([channels_last], out) == 4 * 8 + 8
    assert tuple(linear.infer_shape([Dims((10, 4), TOKENS)])) == (10, 8)


def test_the_checker_knows_a_channels_last_map_from_a_channels_first_one():
    permute = REGISTRY["permute"].from_config({"dims": [1, 2, 0]})
    last = permute.infer_shape([(96, 56, 56)])
    assert tuple(last) == (56, 56, 96) and axes_of(last) == CHANNELS_LAST
    back = REGISTRY["permute"].from_config({"dims": [2, 0, 1]}).infer_shape([last])
    assert axes_of(back) == MAP and tuple(back) == (96, 56, 56)
    # an op that needs channels first refuses the channels-last map, and says what to do
    for kind, params in [("conv", {"out": 8, "k": 3}), ("bn", {}), ("maxpool", {"k": 2}), ("groupnorm", {"groups": 2}),
                         ("channel_shuffle", {"groups": 2})]:
        with pytest.raises(ShapeError) as info:
            REGISTRY[kind].from_config(params).infer_shape([last])
        assert "channels-last" in str(info.value) and "permute" in info.value.hint, kind
    # and linear refuses a channels-first map: torch would mix the W positions, not the channels
    with pytest.raises(ShapeError) as info:
        REGISTRY["linear"].from_config({"out": 8}).infer_shape([(96, 56, 56)])
    assert "linear expects the features last" in str(info.value) and "permute first" in info.value.hint
    # merges refuse mixed kinds of the same sizes
    with pytest.raises(ShapeError, match="one kind"):
        REGISTRY["add"].from_config({}).infer_shape([(8, 8, 8), Dims((8, 8, 8), CHANNELS_LAST)])
    # layernorm2d normalises a map's channels, layernorm the last dim; each refuses the other's input
    assert REGISTRY["layernorm2d"].from_config({}).param_count([(96, 7, 7)], (96, 7, 7)) == 2 * 96
    assert REGISTRY["layernorm"].from_config({}).param_count([Dims((7, 7, 96), CHANNELS_LAST)], None) == 2 * 96
    with pytest.raises(ShapeError) as info:
        REGISTRY["layernorm"].from_config({}).infer_shape([(96, 7, 7)])
    assert "layernorm2d" in info.value.hint
    with pytest.raises(ShapeError, match="channels-last"):
        REGISTRY["layernorm2d"].from_config({}).infer_shape([Dims((7, 7, 96), CHANNELS_LAST)])
    # flattening H and W of a map gives positions; the whole map, a feature vector
    assert axes_of(REGISTRY["flatten"].from_config({"start": 1}).infer_shape([(96, 7, 7)])) == "CN"
    assert axes_of(REGISTRY["flatten"].from_config({}).infer_shape([(96, 7, 7)])) == "C"


def test_dims_survive_pickling_and_compare_as_tuples():
    import copy
    import pickle

    shape = Dims((7, 7, 96), CHANNELS_LAST)
    for clone in (pickle.loads(pickle.dumps(shape)), copy.deepcopy(shape)):
        assert clone == (7, 7, 96) and clone.axes == CHANNELS_LAST


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_drop_path_is_torchvisions_stochastic_depth(mode):
    """`drop_path` in torchvision's "row" (alias of `sample`) and "batch" modes draws and scales
    exactly as torchvision.ops.stochastic_depth, for the same seed."""
    ops = import_torchvision().ops
    op = REGISTRY["drop_path"].from_config({"p": 0.4, "mode": mode})
    namespace = {"torch": torch, "nn": nn}
    for support in op.emit_support():
        exec(support.source, namespace)
    module = eval(module_call_text(op.emit_module([(3, 2, 2)], (3, 2, 2))), namespace).train()
    x = torch.randn(16, 3, 2, 2)
    torch.manual_seed(5)
    ours = module(x)
    torch.manual_seed(5)
    theirs = ops.stochastic_depth(x, 0.4, mode, training=True)
    assert torch.equal(ours, theirs)
    assert not torch.equal(ours, x)  # something was dropped and the rest scaled
    assert torch.equal(module.eval()(x), x)
