"""Fully connected layer (`linear`, alias `fc`): torch.nn.Linear over the last dimension.

The input's features must be last: a feature vector, a channels-last map (ConvNeXt's
pointwise MLP), a token sequence. A C×H×W map is refused with a hint, because torch would
silently mix its W positions instead of its channels.

Memory: backward keeps the input, and (as `addmm` keeps each factor for the other's gradient)
the weight only when the input needs a gradient; under autocast both are low-precision copies.
Receptive field: over a vector every output mixes every input, so the field is global after it;
over a channels-last map or tokens it mixes one position's features, so it acts per position.
"""

from __future__ import annotations

from typing import ClassVar

from ..shapes import MAP, VECTOR, ShapeError, axes_of, format_shape, numel, with_axes
from .base import GLOBAL, PER_POSITION, Op, OpParams, PosInt, Saved, module_call, register_op


class LinearParams(OpParams):
    out: PosInt
    bias: bool = True


@register_op
class Linear(Op):
    kind = "linear"
    aliases = ("fc",)
    family = "linear"
    Params: ClassVar[type[OpParams]] = LinearParams
    p: LinearParams  # the validated params, typed for this op
    doc = "fully connected layer over the last dimension (the features): out features, bias"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        axes = axes_of(shape)
        if axes == MAP:
            raise ShapeError(
                f"linear expects the features last; received a C×H×W map {format_shape(shape)}",
                "add `flatten` (or `gap` then `flatten`) for a classifier; to apply it at every position, "
                "permute first: `permute: {dims: [1, 2, 0]}` makes the map channels-last",
            )
        if axes[-1] not in "C?":
            raise ShapeError(
                f"linear expects the features last; received shape {format_shape(shape)} whose last axis is "
                f"`{axes[-1]}`", "permute the features to the last dimension first")
        return with_axes((*shape[:-1], self.p.out), axes)

    def param_count(self, in_shapes, out_shape):
        return in_shapes[0][-1] * self.p.out + (self.p.out if self.p.bias else 0)

    def macs(self, in_shapes, out_shape):
        return numel(in_shapes[0]) * self.p.out  # one dot product of length in_features per output

    def emit_module(self, in_shapes, out_shape):
        options = {} if self.p.bias else {"bias": False}
        return module_call("nn.Linear", ("in_features", in_shapes[0][-1]), ("out_features", self.p.out), **options)

    def label(self, in_shapes, out_shape):
        return f"Linear {in_shapes[0][-1]}→{self.p.out}"

    # -- memory and receptive field ----------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return [Saved.input(0, cast=True), Saved.weight(in_shapes[0][-1] * self.p.out, if_grad=(0,))]

    def reads(self, in_shapes, out_shape):
        return GLOBAL if axes_of(in_shapes[0]) == VECTOR else PER_POSITION
