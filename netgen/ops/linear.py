"""Fully connected layer (`linear`, alias `fc`): torch.nn.Linear on a feature vector."""

from __future__ import annotations

from ..shapes import ShapeError
from .base import Op, OpParams, PosInt, module_call, register_op


class LinearParams(OpParams):
    out: PosInt
    bias: bool = True


@register_op
class Linear(Op):
    kind = "linear"
    aliases = ("fc",)
    family = "linear"
    Params = LinearParams
    doc = "fully connected layer over the last dimension: out features, bias"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) != 1:
            raise ShapeError(
                f"linear expects a feature vector; received shape {'×'.join(map(str, shape))}",
                "add `flatten` (or `gap` then `flatten`) before the linear layer",
            )
        return (self.p.out,)

    def param_count(self, in_shapes, out_shape):
        return in_shapes[0][0] * self.p.out + (self.p.out if self.p.bias else 0)

    def macs(self, in_shapes, out_shape):
        return in_shapes[0][0] * self.p.out

    def emit_module(self, in_shapes, out_shape):
        options = {} if self.p.bias else {"bias": False}
        return module_call("nn.Linear", ("in_features", in_shapes[0][0]), ("out_features", self.p.out), **options)

    def label(self, in_shapes, out_shape):
        return f"Linear {in_shapes[0][0]}→{self.p.out}"
