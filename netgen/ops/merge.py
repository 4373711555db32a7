"""Merges of several tensors: element-wise `add`, `mean` and `multiply` (with broadcasting, as a
squeeze-and-excitation gate C×1×1 scaling a C×H×W map, Hu et al. 2018), and `concat` along
any dimension. The inputs must be of one kind (their axes mean the same).

Memory: `add`, `mean` and `concat` make a new tensor and keep nothing for backward (their
gradients need only shapes), so an output used only by them is not kept at all (ResNet's
shortcut); a one-input `mean` returns its input. `a * b` keeps each factor for the other's
gradient; with more factors, the running product too. All act per position; a map broadcast
over positions (an SE gate) brings in a global field."""

from __future__ import annotations

from typing import ClassVar

from ..shapes import axes_of, format_shape, kind_name, numel, with_axes
from .base import (
    GLOBAL,
    INPUTS,
    PER_POSITION,
    BinOp,
    Call,
    Input,
    Int,
    ListOf,
    Op,
    OpParams,
    Saved,
    ShapeError,
    register_op,
)


def same_kind(op: str, in_shapes) -> str:
    """The inputs' common axis letters; refuse a merge of, say, a C×H×W and an H×W×C map."""
    kinds = {axes_of(s) for s in in_shapes}
    if len(kinds) > 1:
        raise ShapeError(
            f"{op} needs inputs of one kind; received " + ", ".join(
                f"a {kind_name(s)} {format_shape(s)}" for s in in_shapes),
            "permute one of them first, so that their axes mean the same",
        )
    return kinds.pop()


@register_op
class Add(Op):
    kind = "add"
    family = "merge"
    min_inputs = 2
    max_inputs = None
    doc = "element-wise sum of inputs of one shape"

    def infer_shape(self, in_shapes):
        first = in_shapes[0]
        if any(s != first for s in in_shapes[1:]):
            raise ShapeError(
                "add needs inputs of one shape; received " + ", ".join(format_shape(s) for s in in_shapes),
                "use a residual with `shortcut: auto` to project the shortcut, or change the body's channels/stride",
            )
        same_kind("add", in_shapes)
        return first

    def other_flops(self, in_shapes, out_shape):
        return (len(in_shapes) - 1) * numel(out_shape)

    def emit_forward(self, in_shapes):
        return BinOp("+", (INPUTS,))

    def label(self, in_shapes, out_shape):
        return "+"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


@register_op
class Mean(Op):
    kind = "mean"
    aliases = ("average",)
    family = "merge"
    min_inputs = 1
    max_inputs = None
    doc = "element-wise mean of inputs of one shape"

    def infer_shape(self, in_shapes):
        first = in_shapes[0]
        if any(s != first for s in in_shapes[1:]):
            raise ShapeError(
                "mean needs inputs of one shape; received " + ", ".join(format_shape(s) for s in in_shapes),
                "make every branch produce the same channels and spatial size",
            )
        same_kind("mean", in_shapes)
        return first

    def other_flops(self, in_shapes, out_shape):
        return len(in_shapes) * numel(out_shape)  # n - 1 additions and one division per element

    def emit_forward(self, in_shapes):
        if len(in_shapes) == 1:
            return Input(0)
        return BinOp("/", (BinOp("+", (INPUTS,)), len(in_shapes)))

    def label(self, in_shapes, out_shape):
        return "Mean"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0 if len(in_shapes) == 1 else None  # `mean` of one input emits the input itself

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


def broadcast_shapes(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """torch's broadcasting over the non-batch dimensions, for inputs of one rank.

    Inputs of different ranks are refused: with the batch dimension in front, torch would align
    the shorter shape's trailing dimensions with the longer one's, batch against channels.
    """
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(
            "multiply needs inputs of one rank (C×H×W with C×1×1 broadcasts); received "
            + ", ".join(format_shape(s) for s in shapes),
            "reshape the gate to C×1×1 (e.g. `gap` instead of `gap` + `flatten`)",
        )
    out = []
    for axis in range(rank):
        sizes = {s[axis] for s in shapes} - {1}
        if len(sizes) > 1:
            raise ShapeError(
                f"multiply cannot broadcast dimension {axis} (sizes {sorted(sizes)}); received "
                + ", ".join(format_shape(s) for s in shapes),
                "sizes must match or be 1 along every dimension",
            )
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@register_op
class Multiply(Op):
    kind = "multiply"
    aliases = ("mul",)
    family = "merge"
    min_inputs = 2
    max_inputs = None
    doc = "element-wise product with broadcasting (a C×1×1 gate times a C×H×W map)"

    def infer_shape(self, in_shapes):
        return with_axes(broadcast_shapes(in_shapes), same_kind("multiply", in_shapes))

    def other_flops(self, in_shapes, out_shape):
        return (len(in_shapes) - 1) * numel(out_shape)

    def emit_forward(self, in_shapes):
        return BinOp("*", (INPUTS,))

    def label(self, in_shapes, out_shape):
        return "×"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        # `x0 * x1 * x2` runs left to right: each product keeps its two factors, each for the
        # other's gradient; the running product x0 * x1 is a new tensor
        saved = [Saved.input(0, if_grad=(1,)), Saved.input(1, if_grad=(0,))]
        for k in range(2, len(in_shapes)):
            saved += [Saved.new(broadcast_shapes(in_shapes[:k]), if_grad=(k,)), Saved.input(k, if_grad=tuple(range(k)))]
        return saved

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


class ConcatParams(OpParams):
    dim: Int = 0  # channels: the first dimension after the batch


@register_op
class Concat(Op):
    kind = "concat"
    aliases = ("cat",)
    family = "merge"
    Params: ClassVar[type[OpParams]] = ConcatParams
    p: ConcatParams  # the validated params, typed for this op
    min_inputs = 1
    max_inputs = None
    doc = "concatenation along `dim` (0 = channels); other dimensions must agree"

    def infer_shape(self, in_shapes):
        rank = len(in_shapes[0])
        dim = self.p.dim % rank if -rank <= self.p.dim < rank else None
        if dim is None:
            raise ShapeError(f"concat dim {self.p.dim} is out of range for rank {rank}")
        for s in in_shapes:
            if len(s) != rank or any(s[i] != in_shapes[0][i] for i in range(rank) if i != dim):
                raise ShapeError(
                    "concat needs inputs that agree outside dim "
                    f"{self.p.dim}; received " + ", ".join(format_shape(s) for s in in_shapes),
                    "make the spatial sizes match (same strides and padding in every branch), or crop/pad first",
                )
        axes = same_kind("concat", in_shapes)
        out = list(in_shapes[0])
        out[dim] = sum(s[dim] for s in in_shapes)
        return with_axes(out, axes)

    def emit_forward(self, in_shapes):
        dim = self.p.dim + 1 if self.p.dim >= 0 else self.p.dim
        return Call("torch.cat", (ListOf((INPUTS,)), dim))

    def label(self, in_shapes, out_shape):
        return "Concat"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        # along channels: per position; along a spatial axis the positions of the inputs follow
        # one another, so an output position's field depends on which input it came from
        return PER_POSITION if self.p.dim % len(in_shapes[0]) == 0 or len(in_shapes[0]) != 3 else GLOBAL
