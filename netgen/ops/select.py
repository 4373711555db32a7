"""One index along one dimension, that dimension dropped (`select`), as `x[:, 0]` (`torch.select`).

ViT reads its class token this way: `select: {dim: 0, index: 0}` turns an N×D token sequence
into a D feature vector. The index follows Python's (a negative one counts from the end).

Memory: a view that keeps nothing for backward. Receptive field: per position; the token
picked keeps the field it had (after global attention, everything).
"""

from __future__ import annotations

from typing import ClassVar

from ..shapes import ShapeError, axes_of, format_shape, with_axes
from .base import PER_POSITION, Call, Input, Int, Op, OpParams, register_op


class SelectParams(OpParams):
    dim: Int = 0  # counted after the batch; 0 = the tokens of an N×D sequence
    index: Int = 0


@register_op
class Select(Op):
    kind = "select"
    aliases = ("token",)
    family = "reshape"
    Params: ClassVar[type[OpParams]] = SelectParams
    p: SelectParams  # the validated params, typed for this op
    doc = "x[index] along dim, that dimension dropped (ViT's class token: dim 0, index 0)"

    def position(self, shape) -> tuple[int, int]:
        """(dimension, index), both resolved to non-negative ints on this input."""
        rank = len(shape)
        if rank < 2 or not -rank <= self.p.dim < rank:
            raise ShapeError(f"select dim {self.p.dim} is out of range for a rank-{rank} input {format_shape(shape)}",
                             "select needs at least two dimensions; they are counted after the batch")
        dim = self.p.dim % rank
        if not -shape[dim] <= self.p.index < shape[dim]:
            raise ShapeError(f"select index {self.p.index} is out of range for dimension {dim} of size {shape[dim]}; "
                             f"received shape {format_shape(shape)}")
        return dim, self.p.index % shape[dim]

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        dim, _ = self.position(shape)
        axes = axes_of(shape)
        return with_axes(shape[:dim] + shape[dim + 1:], axes[:dim] + axes[dim + 1:])

    def emit_forward(self, in_shapes):
        dim, index = self.position(in_shapes[0])
        return Call("torch.select", (Input(0), dim + 1, index))

    def label(self, in_shapes, out_shape):
        return f"Select [{self.p.index}]"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0  # torch.select is a view

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
