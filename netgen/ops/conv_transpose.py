"""Transposed 2-D convolution (`convT`, alias `conv_transpose`): torch.nn.ConvTranspose2d.

The learned upsampling of decoders (U-Net, Ronneberger et al. 2015, "up-convolution";
Zeiler et al. 2010 "deconvolution"). Output size per axis is torch's formula:

    out = (in - 1) * stride - 2 * pad + dilation * (k - 1) + output_padding + 1

MACs convention (that of fvcore and ptflops for a transposed conv): every input position
multiplies its `in_C` values into a `k_h × k_w` patch of `out_C / groups` channels, so

    MACs = in_C / groups * out_C * k_h * k_w * H_in * W_in        (bias excluded)

which is the cost of the equivalent direct convolution counted on the *input* grid.
Memory: backward keeps the input and the weight (low-precision copies under autocast).
Receptive field: output o receives input i when o = i*stride - pad + t*dilation for a tap t < k,
so the inputs an output reads depend on o mod stride: the field of a decoder depends on the
position (U-Net's dec3.conv1 sees 172 to 188 pixels).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from ..shapes import expect_rank, pair
from .base import IntPair, Op, OpParams, PosInt, Reads, Saved, ShapeError, compact, module_call, register_op


class ConvTransposeParams(OpParams):
    out: PosInt
    k: IntPair
    stride: IntPair = 1
    pad: IntPair = 0
    output_padding: IntPair = 0
    groups: PosInt = 1
    bias: bool = True
    dilation: IntPair = 1

    @model_validator(mode="after")
    def _check(self):
        for field in ("k", "stride", "dilation"):
            if min(pair(getattr(self, field))) <= 0:
                raise ValueError(f"Expected a strictly positive value. Received {field}={getattr(self, field)}")
        for field in ("pad", "output_padding"):
            if min(pair(getattr(self, field))) < 0:
                raise ValueError(f"Expected a non-negative value. Received {field}={getattr(self, field)}")
        stride, dilation, extra = pair(self.stride), pair(self.dilation), pair(self.output_padding)
        for axis in range(2):
            if extra[axis] >= max(stride[axis], dilation[axis]):
                raise ValueError(
                    "Expected output_padding smaller than stride or dilation (torch's rule). "
                    f"Received output_padding={self.output_padding}, stride={self.stride}, dilation={self.dilation}"
                )
        if self.out % self.groups:
            raise ValueError(f"Expected out divisible by groups. Received out={self.out}, groups={self.groups}")
        return self


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int,
                               output_padding: int) -> int:
    """Output length of a transposed convolution along one axis (torch.nn.ConvTranspose2d docs)."""
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out <= 0:
        raise ShapeError(
            f"output size would be {out} (input {size}, kernel {kernel}, stride {stride}, padding {padding}, "
            f"dilation {dilation}, output_padding {output_padding})",
            "reduce the padding or feed a larger input",
        )
    return out


def transposed_reads(kernel: int, stride: int, dilation: int, pad: int) -> Reads:
    """Output o (period `stride`) reads the inputs i with o = i*stride - pad + t*dilation, t < kernel."""
    first, last = [], []
    for o in range(stride):
        sources = [(o + pad - t * dilation) // stride for t in range(kernel) if (o + pad - t * dilation) % stride == 0]
        first.append(min(sources) if sources else 1)  # no tap lands here: an empty range (bias only)
        last.append(max(sources) if sources else 0)
    return Reads(stride, 1, tuple(first), tuple(last))


@register_op
class ConvTranspose(Op):
    kind = "convT"
    aliases = ("conv_transpose", "conv_transpose2d")
    family = "conv"
    Params: ClassVar[type[OpParams]] = ConvTransposeParams
    p: ConvTransposeParams  # the validated params, typed for this op
    doc = "transposed 2-D convolution: out channels, kernel k, stride, pad, output_padding, groups, bias, dilation"

    def table_kernel(self):
        return (pair(self.p.k), pair(self.p.stride), pair(self.p.dilation))

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        if shape[0] % self.p.groups:
            raise ShapeError(
                f"input channels {shape[0]} are not divisible by groups={self.p.groups}",
                "choose groups that divide both the input and output channels",
            )
        k, s, p, d, o = (pair(v) for v in (self.p.k, self.p.stride, self.p.pad, self.p.dilation, self.p.output_padding))
        return (self.p.out, *(conv_transpose_output_size(shape[1 + a], k[a], s[a], p[a], d[a], o[a]) for a in range(2)))

    def param_count(self, in_shapes, out_shape):
        k = pair(self.p.k)
        weight = in_shapes[0][0] * (self.p.out // self.p.groups) * k[0] * k[1]
        return weight + (self.p.out if self.p.bias else 0)

    def macs(self, in_shapes, out_shape):
        c, h, w = in_shapes[0]
        k = pair(self.p.k)
        return c // self.p.groups * self.p.out * k[0] * k[1] * h * w

    def emit_module(self, in_shapes, out_shape):
        options = {"kernel_size": compact(self.p.k)}
        for name, field, default in (("stride", "stride", 1), ("padding", "pad", 0),
                                     ("output_padding", "output_padding", 0)):
            value = getattr(self.p, field)
            if pair(value) != (default, default):
                options[name] = compact(value)
        if self.p.groups != 1:
            options["groups"] = self.p.groups
        if not self.p.bias:
            options["bias"] = False
        if pair(self.p.dilation) != (1, 1):
            options["dilation"] = compact(self.p.dilation)
        return module_call("nn.ConvTranspose2d", ("in_channels", in_shapes[0][0]), ("out_channels", self.p.out),
                           **options)

    # window(): None. A transposed conv spreads each input over a k×k patch of an upsampled
    # grid; it is not a downsampling window, so it does not fit the ((k), (stride), (dilation))
    # form that receptive-field arithmetic assumes.

    def label(self, in_shapes, out_shape):
        k, s = pair(self.p.k), pair(self.p.stride)
        return f"ConvT {k[0]}×{k[1]}" + (f" ×{s[0]}" if s != (1, 1) else "") + f", {self.p.out}"

    # -- memory and receptive field ----------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        weight = self.param_count(in_shapes, out_shape) - (self.p.out if self.p.bias else 0)
        return [Saved.input(0, cast=True), Saved.weight(weight)]

    def workspace(self, in_shapes, out_shape):
        return [Saved.new(out_shape), Saved.new(out_shape)]  # two output-sized temporaries (CPU)

    def reads(self, in_shapes, out_shape):
        return tuple(transposed_reads(*(pair(v)[a] for v in (self.p.k, self.p.stride, self.p.dilation, self.p.pad)))
                     for a in range(2))


__all__ = ["ConvTranspose", "conv_transpose_output_size"]
