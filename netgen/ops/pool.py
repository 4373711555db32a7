"""Pooling: max and average windows, adaptive average and global average pooling.

Memory: max pooling's backward keeps its input and the argmax indices (int64, one per output,
whatever the dtype); average pooling keeps its input; torch computes adaptive pooling to 1×1 as a
mean, which keeps nothing. Receptive field: a window (pad before o × stride); adaptive pooling
from n to m positions reads [floor(o·n/m), ceil((o+1)·n/m)); pooling to 1×1 mixes everything."""

from __future__ import annotations

from math import gcd
from typing import ClassVar

from pydantic import model_validator

from ..limits import MAX_FIELD_PERIOD
from ..shapes import ShapeError, conv2d_output, expect_rank, numel, pair
from .base import GLOBAL, IntPair, Op, OpParams, Reads, Saved, compact, module_call, register_op, window_reads
from .traits import AdaptiveReads


class WindowParams(OpParams):
    k: IntPair
    stride: IntPair | None = None  # torch's default: the kernel size
    pad: IntPair = 0
    ceil: bool = False

    @model_validator(mode="after")
    def _check(self):
        k, pad = pair(self.k), pair(self.pad)
        if min(k) <= 0 or (self.stride is not None and min(pair(self.stride)) <= 0):
            raise ValueError(f"Expected strictly positive k and stride. Received k={self.k}, stride={self.stride}")
        if any(pad[i] > k[i] // 2 for i in range(2)) or min(pad) < 0:
            raise ValueError("pad must be between 0 and half the kernel (torch's rule). "
                             f"Received pad={self.pad}, k={self.k}")
        return self


class Window(Op):
    family = "pool"
    Params: ClassVar[type[OpParams]] = WindowParams
    p: WindowParams  # the validated params, typed for this op
    torch_class = ""
    short = ""

    def stride(self):
        return self.p.k if self.p.stride is None else self.p.stride

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        return (shape[0], *conv2d_output(shape, self.p.k, self.stride(), self.p.pad, 1, self.p.ceil))

    def window(self):
        return pair(self.p.k), pair(self.stride()), (1, 1)

    def other_flops(self, in_shapes, out_shape):
        k = pair(self.p.k)
        return numel(out_shape) * k[0] * k[1]

    def window_args(self) -> dict:
        args = {"kernel_size": compact(self.p.k)}
        if self.p.stride is not None and pair(self.p.stride) != pair(self.p.k):
            args["stride"] = compact(self.p.stride)
        if pair(self.p.pad) != (0, 0):
            args["padding"] = compact(self.p.pad)
        if self.p.ceil:
            args["ceil_mode"] = True
        return args

    def emit_module(self, in_shapes, out_shape):
        return module_call(f"nn.{self.torch_class}", **self.window_args())

    def label(self, in_shapes, out_shape):
        k, s = pair(self.p.k), pair(self.stride())
        return f"{self.short} {k[0]}×{k[1]}" + (f" /{s[0]}" if s != (1, 1) else "")

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return [Saved.input(0)]

    def reads(self, in_shapes, out_shape):
        k, s, p = pair(self.p.k), pair(self.stride()), pair(self.p.pad)
        return tuple(window_reads(k[a], s[a], 1, p[a]) for a in range(2))


@register_op
class MaxPool(Window):
    kind = "maxpool"
    aliases = ("max_pool", "maxpool2d")
    torch_class = "MaxPool2d"
    short = "MaxPool"
    doc = "max pooling: k, stride (default k), pad, ceil"

    def saved_for_backward(self, in_shapes, out_shape):
        return [Saved.input(0), Saved.new(out_shape, "int64")]  # the argmax of every window

    def workspace(self, in_shapes, out_shape):
        return [Saved.new(out_shape, "int64")]  # the indices, computed under no_grad too


class AvgPoolParams(WindowParams):
    count_include_pad: bool = True


@register_op
class AvgPool(Window):
    kind = "avgpool"
    aliases = ("avg_pool", "avgpool2d")
    torch_class = "AvgPool2d"
    short = "AvgPool"
    Params: ClassVar[type[OpParams]] = AvgPoolParams
    p: AvgPoolParams  # the validated params, typed for this op
    doc = "average pooling: k, stride (default k), pad, ceil, count_include_pad"

    def window_args(self):
        args = super().window_args()
        if not self.p.count_include_pad:
            args["count_include_pad"] = False
        return args


class AdaptiveParams(OpParams):
    out: IntPair

    @model_validator(mode="after")
    def _check(self):
        if min(pair(self.out)) <= 0:
            raise ValueError(f"Expected a strictly positive output size. Received out={self.out}")
        return self


def adaptive_reads(n_in: int, n_out: int) -> Reads:
    """torch's adaptive windows from n_in to n_out positions: [floor(o·n/m), ceil((o+1)·n/m)),
    one period of m/gcd(n, m) written out; a longer period than the receptive-field analysis
    follows stays a formula (AdaptiveReads), so that huge coprime sizes cost nothing."""
    g = gcd(n_in, n_out)
    period, advance = n_out // g, n_in // g
    if period > MAX_FIELD_PERIOD:
        return AdaptiveReads(period, advance, (), (), n_in, n_out)
    first = tuple(o * n_in // n_out for o in range(period))
    last = tuple(-(-(o + 1) * n_in // n_out) - 1 for o in range(period))
    return Reads(period, advance, first, last)


@register_op
class AdaptiveAvgPool(Op):
    kind = "adaptive_avgpool"
    aliases = ("adaptive_avg_pool",)
    family = "pool"
    Params: ClassVar[type[OpParams]] = AdaptiveParams
    p: AdaptiveParams  # the validated params, typed for this op
    doc = "adaptive average pooling to a fixed output size `out`"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        return (shape[0], *pair(self.p.out))

    def other_flops(self, in_shapes, out_shape):
        return numel(in_shapes[0])

    def emit_module(self, in_shapes, out_shape):
        return module_call("nn.AdaptiveAvgPool2d", ("output_size", pair(self.p.out)))

    def label(self, in_shapes, out_shape):
        o = pair(self.p.out)
        return f"AdaptiveAvgPool {o[0]}×{o[1]}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return [] if tuple(out_shape[1:]) == (1, 1) else [Saved.input(0)]  # to 1x1 torch takes a mean

    def reads(self, in_shapes, out_shape):
        if tuple(out_shape[1:]) == (1, 1):
            return GLOBAL
        return tuple(adaptive_reads(in_shapes[0][1 + a], out_shape[1 + a]) for a in range(2))


@register_op
class GlobalAvgPool(Op):
    kind = "gap"
    aliases = ("global_avgpool",)
    family = "pool"
    doc = "global average pooling to C×1×1 (torchvision's avgpool)"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        return (shape[0], 1, 1)

    def other_flops(self, in_shapes, out_shape):
        return numel(in_shapes[0])

    def emit_module(self, in_shapes, out_shape):
        return module_call("nn.AdaptiveAvgPool2d", ("output_size", (1, 1)))

    def label(self, in_shapes, out_shape):
        return "GlobalAvgPool"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []  # torch computes it as a mean over H and W, whose backward needs only the shape

    def reads(self, in_shapes, out_shape):
        return GLOBAL



__all__ = ["MaxPool", "AvgPool", "AdaptiveAvgPool", "GlobalAvgPool", "ShapeError"]
