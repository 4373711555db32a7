"""A contiguous slice along one dimension (`slice`), as `x[:, start:end]` (`torch.narrow`).

The bounds follow Python's: negative ones count from the end, a missing `end` runs to the
end. The `split:` form (docs/language.md) cuts one tensor into several named slices, as
ShuffleNet v2's `x.chunk(2, dim=1)`.

Memory: a view (torch.narrow) that keeps nothing for backward. Receptive field: per
position; a slice of rows or columns shifts them by `start`.
"""

from __future__ import annotations

from typing import ClassVar

from ..shapes import MAP, ShapeError, axes_of, format_shape, with_axes
from .base import PER_POSITION, Call, Input, Int, Op, OpParams, register_op, shift_reads


class SliceParams(OpParams):
    dim: Int = 0  # counted after the batch; 0 = channels of a map
    start: Int | None = None
    end: Int | None = None


@register_op
class Slice(Op):
    kind = "slice"
    aliases = ("narrow",)
    family = "reshape"
    Params: ClassVar[type[OpParams]] = SliceParams
    p: SliceParams  # the validated params, typed for this op
    doc = "x[start:end] along dim (0 = channels; Python's bounds, negative ones from the end)"

    def bounds(self, shape) -> tuple[int, int, int]:
        """(dimension, first index, length) on this input, all resolved to non-negative ints."""
        rank = len(shape)
        if not -rank <= self.p.dim < rank:
            raise ShapeError(f"slice dim {self.p.dim} is out of range for a rank-{rank} input {format_shape(shape)}",
                             f"dimensions are 0..{rank - 1}, counted after the batch")
        dim = self.p.dim % rank
        start, stop, _ = slice(self.p.start, self.p.end).indices(shape[dim])
        return dim, start, max(0, stop - start)

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        dim, _, length = self.bounds(shape)
        if length == 0:
            raise ShapeError(f"slice {self.p.start}:{self.p.end} of dimension {self.p.dim} is empty; "
                             f"received shape {format_shape(shape)}", "the slice must keep at least one element")
        out = list(shape)
        out[dim] = length
        return with_axes(out, axes_of(shape))

    def emit_forward(self, in_shapes):
        dim, start, length = self.bounds(in_shapes[0])
        return Call("torch.narrow", (Input(0), dim + 1, start, length))

    def label(self, in_shapes, out_shape):
        return f"Slice {'' if self.p.start is None else self.p.start}:{'' if self.p.end is None else self.p.end}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0  # torch.narrow is a view

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        dim, start, _ = self.bounds(in_shapes[0])
        if axes_of(in_shapes[0]) == MAP and dim in (1, 2):  # a slice of rows or columns shifts them
            return tuple(shift_reads(start if dim == 1 + a else 0) for a in range(2))
        return PER_POSITION
