"""2-D convolution (`conv`, alias `conv2d`): torch.nn.Conv2d, grouped and dilated included;
and its depthwise form (`dwconv`, Howard et al. 2017, MobileNets): groups = input channels,
out = input channels × `multiplier`, the same nn.Conv2d with `groups` set.

Memory: backward keeps the input and the weight (under autocast, low-precision copies of both,
the input's only when it is not already in that dtype); with `pad: same` and an even kernel,
torch pads asymmetrically first and keeps the padded input instead. Receptive field: a window
of k taps, d apart, starting `pad` before o × stride."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from ..shapes import conv2d_output, expect_rank, pair
from .base import (
    IntPair,
    Op,
    OpParams,
    PosInt,
    Saved,
    ShapeError,
    Support,
    compact,
    module_call,
    register_op,
    window_reads,
)


def _check_window(params) -> None:
    for field in ("k", "stride", "dilation"):
        if min(pair(getattr(params, field))) <= 0:
            raise ValueError(f"Expected a strictly positive value. Received {field}={getattr(params, field)}")
    if not isinstance(params.pad, str) and min(pair(params.pad)) < 0:
        raise ValueError(f"Expected a non-negative value. Received pad={params.pad}")
    if params.pad == "same" and pair(params.stride) != (1, 1):
        raise ValueError("pad='same' needs stride 1 (as in torch); give the padding explicitly")


class ConvParams(OpParams):
    out: PosInt
    k: IntPair
    stride: IntPair = 1
    pad: IntPair | Literal["same", "valid"] = 0
    dilation: IntPair = 1
    groups: PosInt = 1
    bias: bool = True

    @model_validator(mode="after")
    def _check(self):
        _check_window(self)
        if self.out % self.groups:
            raise ValueError(f"out={self.out} must be divisible by groups={self.groups}")
        return self


def same_padding(kernel, dilation) -> tuple[tuple[int, int], bool]:
    """Per-axis padding for 'same' with stride 1, and whether it is symmetric (odd kernels)."""
    k, d = pair(kernel), pair(dilation)
    total = [d[i] * (k[i] - 1) for i in range(2)]
    return (total[0] // 2, total[1] // 2), all(t % 2 == 0 for t in total)


CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True}

# The inference build's conv (Op.prepacked). torch's eager conv reorders the weight into oneDNN's
# blocked layout on every call, a copy of the whole weight that no profiler counts as aten::copy_;
# at batch 1 that is a large share of a late layer's time. torch.compile's freezing packs weights
# once; this does the same in eager, through the ops inductor itself calls.
PACKED_CONV = Support(("PackedConv2d",), '''
class PackedConv2d(nn.Conv2d):
    """nn.Conv2d, with the same parameters and state_dict, that keeps a copy of its weight in the
    layout oneDNN's kernel reads (torch reorders the weight on each call otherwise). The copy is
    used for a channels_last float32 CPU input when autograd is off and the module is not being
    compiled, and remade when the weight changes; anything else runs nn.Conv2d's forward, except
    a 1x1 conv on a 1x1 map, which is the matrix product it equals."""

    packing = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")

    def forward(self, x):
        if x.dim() == 4 and x.shape[-2:] == (1, 1) and self.pointwise:  # a squeeze-excitation's 1x1 conv
            # on one position a 1x1 conv is a matrix product; addmm beats both conv kernels at it
            out = nn.functional.linear(x.flatten(1), self.weight.flatten(1), self.bias)
            return out.view(*out.shape, 1, 1)
        if not self.packs(x):
            return super().forward(x)
        args = (list(self.padding), list(self.stride), list(self.dilation), self.groups)
        version = (self.weight.data_ptr(), self.weight._version)
        cache = self.__dict__.get("_packed")
        if cache is None or cache[0] != version:
            cache = self.__dict__["_packed"] = (version, {})
        packed = cache[1].get(x.shape)
        if packed is None:
            if len(cache[1]) >= 4:  # a few input shapes at most: oneDNN's layout may depend on them
                cache[1].clear()
            packed = torch.ops.mkldnn._reorder_convolution_weight(self.weight, *args, list(x.shape))
            cache[1][x.shape] = packed
        return torch.ops.mkldnn._convolution_pointwise(x, packed, self.bias, *args, "none", [], "")

    @property
    def pointwise(self):
        return self.kernel_size == (1, 1) and self.padding == (0, 0) and self.groups == 1

    def packs(self, x):
        weight = self.weight
        return (
            # first: under torch.compile or torch.export nothing else here is traced (dynamo breaks
            # the graph at is_inference(), one break per conv, and recompiles every block's forward)
            not torch.compiler.is_compiling()
            and self.packing
            and isinstance(self.padding, tuple)
            and self.padding_mode == "zeros"
            and x.dim() == 4
            and x.dtype == weight.dtype == torch.float32
            and x.device.type == weight.device.type == "cpu"
            and x.is_contiguous(memory_format=torch.channels_last)
            and not weight.is_inference()  # an inference tensor has no version counter
            and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
        )

    def __getstate__(self):  # the packed copy is remade, not pickled or deep-copied
        state = dict(super().__getstate__())
        state.pop("_packed", None)
        return state
''')


@register_op
class Conv(Op):
    kind = "conv"
    aliases = ("conv2d",)
    family = "conv"
    Params: ClassVar[type[OpParams]] = ConvParams
    p: ConvParams  # the validated params, typed for this op
    doc = "2-D convolution: out channels, kernel k, stride, pad (int, pair, 'same', 'valid'), dilation, groups, bias"

    def out_channels(self, in_channels: int) -> int:
        return self.p.out

    def groups(self, in_channels: int) -> int:
        return self.p.groups

    def padding(self) -> tuple[int, int]:
        if self.p.pad == "valid":
            return (0, 0)
        if self.p.pad == "same":
            return same_padding(self.p.k, self.p.dilation)[0]
        return pair(self.p.pad)

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        groups, out = self.groups(shape[0]), self.out_channels(shape[0])
        if shape[0] % groups:
            raise ShapeError(
                f"input channels {shape[0]} are not divisible by groups={groups}",
                "choose groups that divide both the input and output channels",
            )
        if self.p.pad == "same":
            # torch pads asymmetrically for even kernels; the output size is the input size
            return (out, shape[1], shape[2])
        return (out, *conv2d_output(shape, self.p.k, self.p.stride, self.padding(), self.p.dilation))

    def window(self):
        return pair(self.p.k), pair(self.p.stride), pair(self.p.dilation)

    def param_count(self, in_shapes, out_shape):
        k, c = pair(self.p.k), in_shapes[0][0]
        out = self.out_channels(c)
        return out * (c // self.groups(c)) * k[0] * k[1] + (out if self.p.bias else 0)

    def macs(self, in_shapes, out_shape):
        k, c = pair(self.p.k), in_shapes[0][0]
        return out_shape[0] * out_shape[1] * out_shape[2] * (c // self.groups(c)) * k[0] * k[1]

    packed = False  # the inference build's PackedConv2d (prepacked)

    def emit_module(self, in_shapes, out_shape):
        c = in_shapes[0][0]
        padding = self.p.pad if isinstance(self.p.pad, str) else compact(self.p.pad)
        target = "PackedConv2d" if self.packed else "nn.Conv2d"
        return module_call(target, ("in_channels", c), ("out_channels", self.out_channels(c)),
                           kernel_size=compact(self.p.k), stride=compact(self.p.stride),
                           padding=0 if padding == "valid" else padding, dilation=compact(self.p.dilation),
                           groups=self.groups(c), bias=self.p.bias, defaults=CONV_DEFAULTS)

    def emit_support(self):
        return (PACKED_CONV,) if self.packed else ()

    def prepacked(self):
        if self.packed:
            return None
        op = type(self)(self.p)
        op.packed = True
        return op

    def absorb_affine(self, in_shapes, out_shape):
        # nn.Conv2d's weight is (out, in/groups, kh, kw), its bias one value per output channel,
        # grouped and depthwise alike: scaling a filter scales only its own output channel
        op = type(self)(self.p.model_copy(update={"bias": True}))
        op.packed = self.packed
        return op

    def label(self, in_shapes, out_shape):
        k = pair(self.p.k)
        s = pair(self.p.stride)
        text = f"Conv {k[0]}×{k[1]}" + (f" /{s[0]}" if s != (1, 1) else "") + f", {self.p.out}"
        if self.p.groups != 1:
            text += f", g{self.p.groups}"
        if pair(self.p.dilation) != (1, 1):
            text += f", d{pair(self.p.dilation)[0]}"
        return text

    # -- memory and receptive field ----------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        weight = self.param_count(in_shapes, out_shape) - (self.out_channels(in_shapes[0][0]) if self.p.bias else 0)
        pads, symmetric = same_padding(self.p.k, self.p.dilation) if self.p.pad == "same" else ((0, 0), True)
        if not symmetric:  # torch pads the odd extra row and column first and convolves that copy
            c, h, w = in_shapes[0]
            total = [pair(self.p.dilation)[a] * (pair(self.p.k)[a] - 1) for a in range(2)]
            return [Saved.new((c, h + total[0] % 2, w + total[1] % 2)), Saved.weight(weight)]
        return [Saved.input(0, cast=True), Saved.weight(weight)]

    def workspace(self, in_shapes, out_shape):
        # oneDNN convolves into a reordered output and reorders the weight (measured on the CPU)
        weight = self.param_count(in_shapes, out_shape) - (self.out_channels(in_shapes[0][0]) if self.p.bias else 0)
        return [Saved.new(out_shape), Saved.new((weight,), batched=False)]

    def reads(self, in_shapes, out_shape):
        k, s, d, p = pair(self.p.k), pair(self.p.stride), pair(self.p.dilation), self.padding()
        return tuple(window_reads(k[a], s[a], d[a], p[a]) for a in range(2))


class DepthwiseConvParams(OpParams):
    multiplier: PosInt = 1
    k: IntPair
    stride: IntPair = 1
    pad: IntPair | Literal["same", "valid"] = 0
    dilation: IntPair = 1
    bias: bool = True

    @model_validator(mode="after")
    def _check(self):
        _check_window(self)
        return self


@register_op
class DepthwiseConv(Conv):
    kind = "dwconv"
    aliases = ("depthwise_conv",)
    Params: ClassVar[type[OpParams]] = DepthwiseConvParams
    # its own schema, not a ConvParams: what it inherits from Conv reads only the fields both have
    p: DepthwiseConvParams  # type: ignore[assignment]
    doc = ("depthwise convolution (one filter group per input channel): multiplier (out = in × multiplier), "
           "kernel k, stride, pad, dilation, bias")

    def out_channels(self, in_channels: int) -> int:
        return in_channels * self.p.multiplier

    def groups(self, in_channels: int) -> int:
        return in_channels

    def label(self, in_shapes, out_shape):
        k, s = pair(self.p.k), pair(self.p.stride)
        text = f"DWConv {k[0]}×{k[1]}" + (f" /{s[0]}" if s != (1, 1) else "")
        if self.p.multiplier != 1:
            text += f", ×{self.p.multiplier}"
        if pair(self.p.dilation) != (1, 1):
            text += f", d{pair(self.p.dilation)[0]}"
        return text
