"""Ops that move data without computing: `flatten` and `identity`."""

from __future__ import annotations

from .base import Call, Input, Int, Op, OpParams, ShapeError, module_call, numel, register_op


class FlattenParams(OpParams):
    start: Int = 0  # first non-batch dimension, as torch.flatten(x, 1)


@register_op
class Flatten(Op):
    kind = "flatten"
    family = "reshape"
    Params = FlattenParams
    doc = "flatten every dimension from `start` (0 = first after the batch) into one"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if not 0 <= self.p.start < len(shape):
            raise ShapeError(f"flatten start={self.p.start} is out of range for a rank-{len(shape)} input")
        return (*shape[: self.p.start], numel(shape[self.p.start :]))

    def emit_module(self, in_shapes, out_shape):
        return None  # torchvision flattens functionally; no module, no state_dict entry

    def emit_forward(self, in_shapes):
        return Call("torch.flatten", (Input(0), self.p.start + 1))

    def label(self, in_shapes, out_shape):
        return "Flatten"


@register_op
class Identity(Op):
    kind = "identity"
    family = "reshape"
    doc = "passes its input through unchanged"

    def emit_module(self, in_shapes, out_shape):
        return module_call("nn.Identity")

    def label(self, in_shapes, out_shape):
        return "Identity"
