"""One generic test for every registered op (Keras' `run_layer_test` habit).

Each op kind has small configs in CASES: params and input shapes (batch excluded). For each,
the op is built from its params, its PyTorch emission (support, constructor, forward
expression: structured data, see netgen/ops/emission.py) is printed by the code generator's
printer and executed, and the torch output shape, parameter and buffer counts must equal the
op's static ones; the config must round-trip. An op in the registry without an entry here
fails the suite, so a new op cannot land untested; so does an op that still emits text.
"""

from __future__ import annotations

import pytest
import torch
from autograd_memory import TORCH_DTYPES, autocast, recording, storage_id
from torch import nn

from netgen.analysis.memory import kept_by
from netgen.codegen.printer import expression_text, module_call_text
from netgen.ops import REGISTRY
from netgen.ops.emission import Arg, BinOp, Call, Input, ListOf, ModuleCall, Support
from netgen.ops.traits import GLOBAL, Buffers, Reads
from netgen.shapes import Dims

# the string-returning emission that emission.py replaced; an op defining one would be ignored
LEGACY = ("torch_module", "torch_call", "support_code", "root_forward_code")

# kind -> list of (params, input shapes)
CASES: dict[str, list[tuple[dict, list[tuple[int, ...]]]]] = {
    "conv": [
        ({"out": 8, "k": 3}, [(3, 9, 9)]),
        ({"out": 8, "k": [3, 1], "stride": 2, "pad": [1, 0], "dilation": 2, "groups": 2, "bias": False}, [(4, 11, 10)]),
        ({"out": 4, "k": 4, "pad": "same"}, [(2, 7, 7)]),
    ],
    "dwconv": [
        ({"k": 3, "pad": 1}, [(6, 8, 8)]),
        ({"multiplier": 2, "k": 5, "stride": 2, "pad": 2, "bias": False}, [(3, 9, 9)]),
    ],
    "convT": [
        ({"out": 4, "k": 2, "stride": 2}, [(6, 5, 5)]),
        ({"out": 6, "k": 3, "stride": 2, "pad": 1, "output_padding": 1, "groups": 3, "dilation": 2, "bias": False},
         [(3, 4, 5)]),
    ],
    "channel_affine": [({"scale": [0.5, 2, 1], "shift": [0.1, -1, 0]}, [(3, 4, 5)])],
    "bn": [({}, [(5, 4, 4)]), ({"affine": False, "eps": 1e-3}, [(3, 2, 2)])],
    "lrn": [({"size": 3}, [(6, 4, 4)])],
    "relu": [({}, [(3, 4, 4)])],
    "relu6": [({}, [(3, 4, 4)])],
    "silu": [({}, [(3, 4, 4)])],
    "hardswish": [({}, [(3, 4, 4)])],
    "hardsigmoid": [({}, [(3, 4, 4)]), ({"inplace": True}, [(5,)])],
    "sigmoid": [({}, [(3, 4, 4)])],
    "tanh": [({}, [(7,)])],
    "leaky_relu": [({"slope": 0.2}, [(3, 4, 4)])],
    "gelu": [({}, [(7,)]), ({"approximate": "tanh"}, [(3, 2, 2)])],
    "softmax": [({}, [(10,)])],
    "dropout": [({"p": 0.3}, [(10,)])],
    "dropout2d": [({"p": 0.2}, [(4, 3, 3)])],
    "drop_path": [({"p": 0.2}, [(4, 3, 3)]), ({"p": 0.5, "mode": "batch"}, [(4, 3, 3)])],
    "linear": [({"out": 5}, [(7,)]), ({"out": 3, "bias": False}, [(4,)])],
    "add": [({}, [(3, 4, 4), (3, 4, 4), (3, 4, 4)])],
    "mean": [({}, [(3, 4, 4), (3, 4, 4)]), ({}, [(3, 4, 4)] * 4)],
    "multiply": [({}, [(6, 5, 5), (6, 1, 1)]), ({}, [(1, 5, 1), (6, 1, 4), (6, 5, 4)])],
    "concat": [({}, [(3, 4, 4), (5, 4, 4)])],
    "fractal_join": [({}, [(3, 4, 4), (3, 4, 4)]), ({"columns": [[0, 1], 2], "p": 0.3}, [(3, 4, 4), (3, 4, 4)])],
    "maxpool": [({"k": 3, "stride": 2, "pad": 1}, [(3, 9, 9)]), ({"k": 3, "stride": 2, "ceil": True}, [(3, 10, 10)])],
    "avgpool": [({"k": 2}, [(3, 8, 8)]), ({"k": 3, "stride": 1, "pad": 1, "count_include_pad": False}, [(2, 5, 5)])],
    "adaptive_avgpool": [({"out": [2, 3]}, [(3, 8, 8)])],
    "gap": [({}, [(3, 8, 8)])],
    "flatten": [({}, [(3, 2, 2)]), ({"start": 1}, [(3, 4, 5)]), ({"start": 0, "end": 1}, [(3, 4, 5)]),
                ({"start": -2, "end": -1}, [(2, 3, 4, 5)])],
    "reshape": [({"shape": [4, -1]}, [(2, 4, 3)]), ({"shape": [6, 2, 2], "axes": "CHW"}, [(24,)])],
    "permute": [({"dims": [1, 2, 0]}, [(3, 4, 5)]), ({"dims": [1, 0]}, [(6, 7)])],
    "slice": [({"end": 2}, [(5, 3, 3)]), ({"dim": 1, "start": 1}, [(2, 7, 3)]),
              ({"dim": -1, "start": -2}, [(2, 3, 5)]), ({"dim": -2, "end": -1}, [(2, 3, 5)])],
    "channel_shuffle": [({"groups": 2}, [(6, 3, 3)]), ({"groups": 3}, [(6, 2, 1)])],
    "layernorm": [({"eps": 1e-6}, [(7,)]), ({"affine": False}, [(3, 5)]), ({"bias": False}, [(2, 2, 4, 3)])],
    "layernorm2d": [({}, [(6, 3, 4)]), ({"eps": 1e-6, "bias": False}, [(4, 2, 2)])],
    "groupnorm": [({"groups": 2}, [(6, 3, 3)]), ({"groups": 3, "affine": False, "eps": 1e-3}, [(6, 2, 2)])],
    "instancenorm": [({}, [(4, 3, 3)]), ({"affine": True, "track_running_stats": True}, [(3, 4, 4)])],
    "learnable": [({"shape": [5, 1, 1], "init": 1e-6}, [(5, 3, 3)]), ({"shape": [4], "apply": "add"}, [(3, 4)]),
                  ({"shape": [1, 3, 4], "apply": "add"}, [Dims((3, 4), "NC")]),
                  ({"shape": [1, 1, 4], "apply": "prepend", "init": 0.0}, [Dims((3, 4), "NC")])],
    "select": [({}, [Dims((5, 4), "NC")]), ({"dim": 1, "index": -1}, [(3, 4, 5)])],
    "attention": [({"heads": 2}, [Dims((5, 8), "NC")]), ({"heads": 4, "bias": False}, [Dims((3, 8), "NC")])],
    "partition_attention": [({"heads": 2, "size": 2}, [Dims((4, 6, 8), "HWC")]),
                            ({"heads": 4, "size": 2, "partition": "grid", "scale": "dim"}, [Dims((6, 4, 8), "HWC")]),
                            ({"heads": 1, "size": 3, "partition": "grid"}, [Dims((3, 3, 4), "HWC")])],
    "window_attention": [
        ({"heads": 2, "window": 2}, [Dims((4, 4, 8), "HWC")]),
        ({"heads": 2, "window": 2, "shift": 1}, [Dims((4, 4, 8), "HWC")]),
        ({"heads": 2, "window": 3, "shift": 1, "pad": True}, [Dims((4, 5, 8), "HWC")]),  # padded, shifted
        ({"heads": 1, "window": [2, 4], "shift": [1, 2]}, [Dims((4, 4, 8), "HWC")]),  # one head, whole rows
        ({"heads": 2, "window": 7, "shift": 3, "pad": True}, [Dims((4, 4, 8), "HWC")]),  # one window: no shift
        ({"heads": 2, "window": 2, "dropout": 0.1, "attention_dropout": 0.2, "qkv_bias": False, "proj_bias": False},
         [Dims((4, 4, 8), "HWC")]),
        ({"heads": 2, "window": 2, "shift": 1, "version": 2}, [Dims((4, 4, 8), "HWC")]),
        ({"heads": 2, "window": 3, "shift": 1, "version": 2, "pad": True, "attention_dropout": 0.1},
         [Dims((4, 5, 8), "HWC")]),
    ],
    "patch_merging": [({}, [Dims((4, 4, 8), "HWC")]), ({"version": 2}, [Dims((5, 4, 8), "HWC")]),
                      ({"out": 12, "eps": 1e-6}, [Dims((5, 5, 8), "HWC")])],
    "identity": [({}, [(3, 2, 2)])],
    "upsample": [
        ({"scale": 2}, [(3, 4, 5)]),
        ({"scale": 1.5, "mode": "bilinear", "align_corners": True}, [(2, 5, 5)]),
        ({"size": [7, 9], "mode": "bilinear"}, [(2, 3, 4)]),
    ],
    "resize": [
        ({}, [(3, 1, 1), (5, 7, 9)]),
        ({"align_corners": True}, [(2, 4, 5), (1, 9, 6)]),
        ({"mode": "nearest"}, [(2, 6, 6), (4, 3, 2)]),
    ],
    "crop": [({}, [(3, 9, 10), (8, 4, 7)])],
    "pad": [({}, [(3, 5, 6), (8, 8, 9)]), ({"amount": [1, 2]}, [(3, 4, 4)]), ({"amount": [0, 1, 2, 3], "value": 1.5},
                                                                               [(2, 3, 3)])],
    "shortcut_a": [({"out": 8, "stride": 2}, [(4, 7, 8)]), ({"out": 6, "side": "both"}, [(2, 3, 3)])],
}


def unique_ops():
    seen = {}
    for cls in REGISTRY.values():
        seen.setdefault(cls.kind, cls)
    return sorted(seen.items())


def run_emitted(op, in_shapes, training: bool = False):
    """Execute the op's emission the way the generated file does; return (module, output)."""
    module, namespace, expression = emitted(op, in_shapes, training)
    with torch.no_grad():
        return module, eval(expression, namespace)


def emitted(op, in_shapes, training: bool = False, inputs=None):
    """The op's module, a namespace holding it and its inputs (random unless given), and the
    forward expression over them, as the generated file would run it."""
    namespace = {"torch": torch, "nn": nn}
    for support in op.emit_support():
        exec(support.source, namespace)
    out_shape = op.infer_shape(in_shapes)
    constructor = op.emit_module(in_shapes, out_shape)
    module = eval(module_call_text(constructor), namespace) if constructor else None
    if module is not None:
        if not op.is_tensor:  # an nn.Parameter has no train mode
            module.train(training)
        namespace["module"] = module
    args = []
    for index, shape in enumerate(in_shapes):
        namespace[f"x{index}"] = torch.randn(2, *shape) if inputs is None else inputs[index]
        args.append(f"x{index}")
    expression = expression_text(op.emit_forward(in_shapes), args, "module" if module is not None else None)
    return module, namespace, expression


def check_structured_emission(op, in_shapes) -> None:
    """The emission is data: a ModuleCall (or None), Args with Python values, a forward expression
    tree, supports that name what they define. Nothing is source text to be parsed back."""
    cls = type(op)
    legacy = [name for name in LEGACY if hasattr(cls, name)]
    assert not legacy, f"{cls.kind}: replace {legacy} with emit_module/emit_forward/emit_support (ops/emission.py)"
    out_shape = op.infer_shape(in_shapes)
    call = op.emit_module(in_shapes, out_shape)
    assert call is None or isinstance(call, ModuleCall), f"{cls.kind}: emit_module returned {call!r}"

    def is_value(v):
        if isinstance(v, (tuple, list)):
            return all(is_value(x) for x in v)
        return v is None or isinstance(v, (bool, int, float, str))

    if call is not None:
        assert all(isinstance(a, Arg) and a.name.isidentifier() and is_value(a.value) for a in call.args), call
        # positional arguments come first, as Python requires
        flags = [a.positional for a in call.args]
        assert flags == sorted(flags, reverse=True), call
    assert isinstance(op.emit_forward(in_shapes), (Call, BinOp, ListOf, Input))
    namespace = {"torch": torch, "nn": nn}  # one file's namespace: a support may build on an earlier one
    for support in op.emit_support():
        assert isinstance(support, Support) and support.defines
        exec(support.source, namespace)
        assert all(name in namespace for name in support.defines), f"{cls.kind}: {support.defines}"


def test_every_registered_op_has_a_case():
    missing = [kind for kind, _ in unique_ops() if kind not in CASES]
    assert not missing, f"add a small config for {missing} to CASES in tests/test_ops_generic.py"
    unknown = [kind for kind in CASES if kind not in REGISTRY or REGISTRY[kind].kind != kind]
    assert not unknown, f"CASES names ops that are not registered (or are aliases): {unknown}"


@pytest.mark.parametrize(("kind", "index"), [(k, i) for k, cases in sorted(CASES.items()) for i in range(len(cases))])
def test_op_matches_torch(kind, index):
    if kind not in REGISTRY:
        pytest.skip(f"{kind} not registered")
    params, in_shapes = CASES[kind][index]
    cls = REGISTRY[kind]
    op = cls.from_config(params)
    # config round-trip (Keras run_class_serialization_test)
    assert cls.from_config(op.config()).config() == op.config()
    out_shape = tuple(op.infer_shape(in_shapes))
    check_structured_emission(op, in_shapes)
    for training in (False, True):
        module, y = run_emitted(op, in_shapes, training)
        assert tuple(y.shape) == (2, *out_shape), f"{kind} {params}: torch {tuple(y.shape)} vs static {out_shape}"
    if op.is_tensor:  # an nn.Parameter registered on the enclosing module
        assert isinstance(module, nn.Parameter)
        parameters, floating, integer = module.numel(), 0, 0
    else:
        parameters = sum(p.numel() for p in module.parameters()) if module is not None else 0
        # buffers, persistent (in the state_dict) or not: the memory the module holds beside its
        # parameters, by dtype class
        state = list(module.buffers()) if module is not None else []
        floating = sum(v.numel() for v in state if v.is_floating_point())
        integer = sum(v.numel() for v in state if not v.is_floating_point())
        assert all(v.dtype == torch.int64 for v in state if not v.is_floating_point()), f"{kind}: non-int64 buffer"
    assert op.param_count(in_shapes, out_shape) == parameters
    assert op.buffers(in_shapes, out_shape) == Buffers(floating=floating, int64=integer)
    assert op.macs(in_shapes, out_shape) >= 0 and op.other_flops(in_shapes, out_shape) >= 0
    assert isinstance(op.label(in_shapes, out_shape), str) and op.label(in_shapes, out_shape)
    assert cls.family in {"conv", "norm", "activation", "pool", "linear", "merge", "reshape", "regularization"}
    window = op.window()
    if window is not None:
        assert all(len(pair) == 2 and min(pair) >= 1 for pair in window)


# (autocast dtype, dtype of the op's inputs): float32; bf16 autocast on bf16 inputs (the usual
# case inside a network) and on float32 inputs (the first op, or after a float32-only op)
PRECISIONS = [(None, "float32"), ("bfloat16", "bfloat16"), ("bfloat16", "float32"), ("float16", "float16")]


@pytest.mark.parametrize(("kind", "index"), [(k, i) for k, cases in sorted(CASES.items()) for i in range(len(cases))])
def test_op_memory_matches_autograd(kind, index):
    """Every op says whether its output is a view or in place, what its backward keeps and its
    dtype under autocast (netgen/ops/base.py); each statement must match what torch does."""
    if kind not in REGISTRY:
        pytest.skip(f"{kind} not registered")
    params, in_shapes = CASES[kind][index]
    op = REGISTRY[kind].from_config(params)
    out_shape = tuple(op.infer_shape(in_shapes))
    reads = op.reads(in_shapes, out_shape)  # required of every op, checked against torch elsewhere
    assert reads == GLOBAL or (len(reads) == 2 and all(isinstance(r, Reads) for r in reads)), reads
    assert set(op.value_inputs(len(in_shapes))) <= set(range(len(in_shapes)))
    for low, in_dtype in PRECISIONS:
        dtype = TORCH_DTYPES[in_dtype]
        leaves = [torch.randn(2, *s, requires_grad=True) for s in in_shapes]
        xs = [(leaf * 1.0).to(dtype) for leaf in leaves]  # outputs of an earlier op, needing gradients
        module, namespace, expression = emitted(op, in_shapes, training=True, inputs=xs)
        owned = [module] if op.is_tensor else list(module.parameters()) + list(module.buffers()) if module else []
        with recording(owned) as seen, autocast(TORCH_DTYPES.get(low)):
            y = eval(expression, namespace)
        sources = {storage_id(x): i for i, x in enumerate(xs)}
        where = f"{kind} {params} autocast={low} inputs={in_dtype}"
        assert op.output_alias(in_shapes, True) == sources.get(storage_id(y)), f"{where}: output alias"
        assert op.output_dtype([in_dtype] * len(xs), low) == str(y.dtype).removeprefix("torch."), f"{where}: dtype"
        predicted, counted = 0, set()
        for which, nbytes in kept_by(op, in_shapes, out_shape, [in_dtype] * len(xs), [True] * len(xs), 2, low):
            tensor = y if which == "output" else xs[which] if which != "new" else None
            if tensor is not None:
                if storage_id(tensor) in counted:
                    continue
                counted.add(storage_id(tensor))
                nbytes = tensor.untyped_storage().nbytes()
            predicted += nbytes
        measured = sum(nbytes for nbytes, _ in seen.values())
        assert predicted == measured, f"{where}: netgen says backward keeps {predicted} bytes, torch {measured}: " + \
            str([(tuple(t.shape), t.dtype, n) for n, t in seen.values()])


@pytest.mark.parametrize(("kind", "index"), [(k, i) for k, cases in sorted(CASES.items()) for i in range(len(cases))])
def test_op_inference_traits_match_torch(kind, index):
    """What an op tells the inference build (netgen/passes/inference.py) must be what torch does
    in eval: an eval identity returns its input; an eval affine is batch norm's formula over its
    running statistics; an op that absorbs an affine, with its weight rows scaled and its bias
    shifted, computes the affine of its output; an in-place variant writes into its input."""
    params, in_shapes = CASES[kind][index]
    op = REGISTRY[kind].from_config(params)
    out_shape = tuple(op.infer_shape(in_shapes))
    gen = torch.Generator().manual_seed(0)
    if op.eval_identity():
        _, namespace, expression = emitted(op, in_shapes)
        with torch.no_grad():
            assert torch.equal(eval(expression, namespace), namespace["x0"])
    affine = op.eval_affine()
    if affine is not None:
        module, namespace, expression = emitted(op, in_shapes)
        c = in_shapes[0][0]
        with torch.no_grad():
            mean, var = torch.randn(c, generator=gen), torch.rand(c, generator=gen) + 0.5
            module.running_mean.copy_(mean)
            module.running_var.copy_(var)
            weight, bias = (torch.randn(c, generator=gen), torch.randn(c, generator=gen)) if affine.affine else (1, 0)
            if affine.affine:
                module.weight.copy_(weight)
                module.bias.copy_(bias)
            y, x = eval(expression, namespace), namespace["x0"]
        per_channel = (1, c, *[1] * (x.dim() - 2))

        def channel(v):
            return v.view(per_channel) if isinstance(v, torch.Tensor) else v

        expected = (x - channel(mean)) / torch.sqrt(channel(var) + affine.eps) * channel(weight) + channel(bias)
        torch.testing.assert_close(y, expected)
    absorbed = op.absorb_affine(in_shapes, out_shape)
    if absorbed is not None:
        module, namespace, expression = emitted(op, in_shapes)
        target, target_namespace, target_expression = emitted(absorbed, in_shapes, inputs=[namespace["x0"]])
        assert absorbed.infer_shape(in_shapes) == out_shape and target.bias is not None
        assert absorbed.param_count(in_shapes, out_shape) == sum(p.numel() for p in target.parameters())
        c = out_shape[0]
        scale, shift = torch.randn(c, generator=gen), torch.randn(c, generator=gen)
        with torch.no_grad():
            target.weight.copy_(module.weight * scale.view(-1, *[1] * (module.weight.dim() - 1)))
            target.bias.copy_((module.bias if module.bias is not None else 0) * scale + shift)
            y = eval(expression, namespace)
            per_channel = (1, c, *[1] * (y.dim() - 2))
            expected = y * scale.view(per_channel) + shift.view(per_channel)
            torch.testing.assert_close(eval(target_expression, target_namespace), expected, rtol=1e-4, atol=1e-5)
    variant = op.in_place()
    if variant is not None:
        x = torch.randn(2, *in_shapes[0], generator=gen)
        _, namespace, expression = emitted(op, in_shapes, inputs=[x.clone()])
        _, variant_namespace, variant_expression = emitted(variant, in_shapes, inputs=[x.clone()])
        with torch.no_grad():
            expected, y = eval(expression, namespace), eval(variant_expression, variant_namespace)
        assert y.data_ptr() == variant_namespace["x0"].data_ptr() and variant.output_alias(in_shapes, False) == 0
        torch.testing.assert_close(y, expected)
        assert variant.in_place() is None  # once in place, it has no further variant
