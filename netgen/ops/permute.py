"""Reorder a tensor's non-batch dimensions (`permute`), as torch's `x.permute`.

`dims` lists the input dimensions in their new order, counted after the batch (0 = the first
one), so `permute: {dims: [1, 2, 0]}` turns a C×H×W map channels-last (ConvNeXt's block,
torch's `x.permute(0, 2, 3, 1)`) and `[2, 0, 1]` turns it back. The axes' meanings travel with
them, so the checker knows a channels-last map from a channels-first one.
It is emitted as a small stateless `Permute` module, torchvision's own, so that it can sit
in an `nn.Sequential` and keep its position in the numbering.

Memory: a view that keeps nothing for backward; each element keeps its receptive field.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..shapes import ShapeError, axes_of, format_shape, with_axes
from .base import PER_POSITION, Int, Op, OpParams, Support, module_call, register_op

SUPPORT = Support(("Permute",), '''
class Permute(nn.Module):
    """x.permute(*dims) as a module (torchvision.ops.Permute), batch dimension included."""

    def __init__(self, dims):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return torch.permute(x, self.dims)
''')


class PermuteParams(OpParams):
    dims: Annotated[tuple[Int, ...], Field(min_length=1, max_length=8)]


@register_op
class Permute(Op):
    kind = "permute"
    family = "reshape"
    Params: ClassVar[type[OpParams]] = PermuteParams
    p: PermuteParams  # the validated params, typed for this op
    doc = "reorder the non-batch dimensions: dims (a permutation of 0..rank-1; [1, 2, 0] makes a map channels-last)"

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        dims = self.p.dims
        if sorted(dims) != list(range(len(shape))):
            raise ShapeError(
                f"permute dims {list(dims)} must order each of the input's {len(shape)} dimensions once; "
                f"received shape {format_shape(shape)}",
                f"list 0..{len(shape) - 1} in the new order (the batch dimension is not counted)",
            )
        axes = axes_of(shape)
        return with_axes([shape[d] for d in dims], "".join(axes[d] for d in dims))

    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        return module_call("Permute", ("dims", [0] + [d + 1 for d in self.p.dims]))

    def label(self, in_shapes, out_shape):
        axes = axes_of(out_shape)
        return f"Permute →{axes}" if "?" not in axes else f"Permute {list(self.p.dims)}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0  # a view

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION  # moves positions between dimensions; each keeps its field
