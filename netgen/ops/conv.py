"""2-D convolution (`conv`, alias `conv2d`): torch.nn.Conv2d, grouped and dilated included."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from ..shapes import conv2d_output, expect_rank, pair
from .base import compact, IntPair, Op, OpParams, PosInt, ShapeError, kwargs_text, register_op


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
        for field in ("k", "stride", "dilation"):
            if min(pair(getattr(self, field))) <= 0:
                raise ValueError(f"Expected a strictly positive value. Received {field}={getattr(self, field)}")
        if not isinstance(self.pad, str) and min(pair(self.pad)) < 0:
            raise ValueError(f"Expected a non-negative value. Received pad={self.pad}")
        if self.pad == "same" and pair(self.stride) != (1, 1):
            raise ValueError("pad='same' needs stride 1 (as in torch); give the padding explicitly")
        if self.out % self.groups:
            raise ValueError(f"out={self.out} must be divisible by groups={self.groups}")
        return self


def same_padding(kernel, dilation) -> tuple[tuple[int, int], bool]:
    """Per-axis padding for 'same' with stride 1, and whether it is symmetric (odd kernels)."""
    k, d = pair(kernel), pair(dilation)
    total = [d[i] * (k[i] - 1) for i in range(2)]
    return (total[0] // 2, total[1] // 2), all(t % 2 == 0 for t in total)


@register_op
class Conv(Op):
    kind = "conv"
    aliases = ("conv2d",)
    family = "conv"
    Params = ConvParams
    doc = "2-D convolution: out channels, kernel k, stride, pad (int, pair, 'same', 'valid'), dilation, groups, bias"

    def padding(self) -> tuple[int, int]:
        if self.p.pad == "valid":
            return (0, 0)
        if self.p.pad == "same":
            return same_padding(self.p.k, self.p.dilation)[0]
        return pair(self.p.pad)

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, "conv")
        if shape[0] % self.p.groups:
            raise ShapeError(
                f"input channels {shape[0]} are not divisible by groups={self.p.groups}",
                "choose groups that divide both the input and output channels",
            )
        if self.p.pad == "same":
            # torch pads asymmetrically for even kernels; the output size is the input size
            return (self.p.out, shape[1], shape[2])
        return (self.p.out, *conv2d_output(shape, self.p.k, self.p.stride, self.padding(), self.p.dilation))

    def window(self):
        return pair(self.p.k), pair(self.p.stride), pair(self.p.dilation)

    def param_count(self, in_shapes, out_shape):
        k = pair(self.p.k)
        weight = self.p.out * (in_shapes[0][0] // self.p.groups) * k[0] * k[1]
        return weight + (self.p.out if self.p.bias else 0)

    def macs(self, in_shapes, out_shape):
        k = pair(self.p.k)
        return out_shape[0] * out_shape[1] * out_shape[2] * (in_shapes[0][0] // self.p.groups) * k[0] * k[1]

    def torch_module(self, in_shapes, out_shape):
        args = [("", in_shapes[0][0]), ("", self.p.out), ("kernel_size", compact(self.p.k))]
        if pair(self.p.stride) != (1, 1):
            args.append(("stride", compact(self.p.stride)))
        padding = self.p.pad if isinstance(self.p.pad, str) else compact(self.p.pad)
        if padding not in (0, "valid"):
            args.append(("padding", padding))
        if pair(self.p.dilation) != (1, 1):
            args.append(("dilation", compact(self.p.dilation)))
        if self.p.groups != 1:
            args.append(("groups", self.p.groups))
        if not self.p.bias:
            args.append(("bias", False))
        return f"nn.Conv2d({kwargs_text(args)})"

    def label(self, in_shapes, out_shape):
        k = pair(self.p.k)
        s = pair(self.p.stride)
        text = f"Conv {k[0]}×{k[1]}" + (f" /{s[0]}" if s != (1, 1) else "") + f", {self.p.out}"
        if self.p.groups != 1:
            text += f", g{self.p.groups}"
        if pair(self.p.dilation) != (1, 1):
            text += f", d{pair(self.p.dilation)[0]}"
        return text

