"""Ops that move data without computing: `flatten`, `reshape` (alias `view`) and `identity`.

Dimensions are counted after the batch (0 = the first non-batch dimension), as everywhere in
netgen. What the axes mean survives where it can: flattening H and W of a map gives a
sequence of positions (N), flattening a whole map gives a feature vector; a `reshape` gives
axes netgen cannot read (`?`) unless `axes:` names them.

Both return a view of their input and keep nothing for backward. `flatten` only relabels
positions, so each element of the vector keeps the receptive field it had in the map.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, ClassVar

from pydantic import Field, field_validator

from ..shapes import VECTOR, axes_of, format_shape, with_axes
from .base import PER_POSITION, Call, Input, Int, Op, OpParams, ShapeError, module_call, numel, register_op


def _merged_axes(axes: str) -> str:
    """The meaning of one axis made by merging `axes`."""
    if axes in ("HW", "N", "NN"):
        return "N"  # positions of a map, as a token sequence
    return axes if len(axes) == 1 else "?"


class FlattenParams(OpParams):
    start: Int = 0  # first non-batch dimension, as torch.flatten(x, 1)
    end: Int = -1  # last dimension merged (inclusive), as torch.flatten's end_dim


@register_op
class Flatten(Op):
    kind = "flatten"
    family = "reshape"
    Params: ClassVar[type[OpParams]] = FlattenParams
    p: FlattenParams  # the validated params, typed for this op
    doc = "merge dimensions start..end (inclusive; 0 = first after the batch, -1 = last) into one"

    def span(self, shape) -> tuple[int, int]:
        rank = len(shape)
        start, end = self.p.start, self.p.end
        if not -rank <= start < rank or not -rank <= end < rank:
            raise ShapeError(f"flatten start={start}, end={end} is out of range for a rank-{rank} input "
                             f"{format_shape(shape)}", f"dimensions are 0..{rank - 1}, counted after the batch")
        start, end = start % rank, end % rank
        if start > end:
            raise ShapeError(f"flatten start={self.p.start} comes after end={self.p.end} "
                             f"for a rank-{rank} input {format_shape(shape)}")
        return start, end

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        start, end = self.span(shape)
        axes = axes_of(shape)
        sizes = (*shape[:start], numel(shape[start:end + 1]), *shape[end + 1:])
        if len(sizes) == 1:
            return with_axes(sizes, VECTOR)  # a whole tensor flattened is a feature vector
        return with_axes(sizes, axes[:start] + _merged_axes(axes[start:end + 1]) + axes[end + 1:])

    def emit_module(self, in_shapes, out_shape):
        return None  # torchvision flattens functionally; no module, no state_dict entry

    def emit_forward(self, in_shapes):
        start = self.p.start + 1 if self.p.start >= 0 else self.p.start
        end = self.p.end + 1 if self.p.end >= 0 else self.p.end
        return Call("torch.flatten", (Input(0), start) if end == -1 else (Input(0), start, end))

    def emit_member(self, in_shapes, out_shape):
        start = self.p.start + 1 if self.p.start >= 0 else self.p.start
        end = self.p.end + 1 if self.p.end >= 0 else self.p.end
        return module_call("nn.Flatten", start_dim=start, end_dim=end, defaults={"start_dim": 1, "end_dim": -1})

    def label(self, in_shapes, out_shape):
        return "Flatten"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


_AXES = re.compile(r"^[CHWN?]{1,8}$")


class ReshapeParams(OpParams):
    shape: Annotated[tuple[Int, ...], Field(min_length=1, max_length=8)]
    axes: str | None = None  # what the new dimensions mean: e.g. "HWC", "NC"; unknown when absent

    @field_validator("shape")
    @classmethod
    def _sizes(cls, value):
        if any(d == 0 or d < -1 for d in value) or list(value).count(-1) > 1:
            raise ValueError(f"Expected positive sizes and at most one -1; received {list(value)}")
        return value

    @field_validator("axes")
    @classmethod
    def _axes(cls, value):
        if value is not None and not _AXES.match(value):
            raise ValueError(f"Expected one letter per dimension from C, H, W, N, ?; received {value!r}")
        return value


@register_op
class Reshape(Op):
    kind = "reshape"
    aliases = ("view",)
    family = "reshape"
    Params: ClassVar[type[OpParams]] = ReshapeParams
    p: ReshapeParams  # the validated params, typed for this op
    doc = "give the non-batch dimensions a new shape of the same size (one -1 is inferred): shape, axes"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        total, wanted = numel(shape), list(self.p.shape)
        known = math.prod(d for d in wanted if d != -1)
        if -1 in wanted:
            if total % known:
                raise ShapeError(f"reshape to {wanted}: {total} elements do not divide by {known}; "
                                 f"received shape {format_shape(shape)}")
            wanted[wanted.index(-1)] = total // known
        if math.prod(wanted) != total:
            raise ShapeError(f"reshape to {list(self.p.shape)} needs {math.prod(wanted)} elements; "
                             f"received shape {format_shape(shape)} ({total})")
        axes = self.p.axes
        if axes is not None and len(axes) != len(wanted):
            raise ShapeError(f"reshape axes {axes!r} name {len(axes)} dimensions; the shape has {len(wanted)}")
        if axes is None:
            axes = VECTOR if len(wanted) == 1 else "?" * len(wanted)
        return with_axes(wanted, axes)

    def emit_forward(self, in_shapes):
        # the non-batch dimensions merged, then split into the new sizes: a reshape that keeps
        # the batch, and copies when the input is a permuted (non-contiguous) tensor as `view` cannot
        merged = Input(0) if len(in_shapes[0]) == 1 else Call("torch.flatten", (Input(0), 1))
        return Call("torch.unflatten", (merged, 1, tuple(self.p.shape)))

    def label(self, in_shapes, out_shape):
        return "Reshape " + format_shape(out_shape)

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0  # flatten + unflatten of a contiguous tensor: a view

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


@register_op
class Identity(Op):
    kind = "identity"
    family = "reshape"
    doc = "passes its input through unchanged"

    def emit_module(self, in_shapes, out_shape):
        return module_call("nn.Identity")

    def label(self, in_shapes, out_shape):
        return "Identity"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
