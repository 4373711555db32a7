"""A learnable tensor that scales or shifts its input (`learnable`): an `nn.Parameter` of a
given shape, registered directly on the enclosing module under the item's name, so that the
state_dict key is the name the blueprint chooses (ConvNeXt's `features.1.0.layer_scale`,
Touvron et al. 2021's LayerScale; later a ViT's `pos_embedding`).

`apply: scale` multiplies (`x * p`), `apply: add` adds (`x + p`); the parameter's shape must
broadcast to the input's without growing it (torch's rules over the non-batch dimensions, a
C×1×1 scale on a C×H×W map). Every element starts at `init`.

Memory: `x * p` keeps x for the parameter's gradient, `x + p` nothing; a float32 parameter
promotes a low-precision input. Acts per position.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..shapes import ShapeError, format_shape, numel
from .base import (
    MODULE,
    PER_POSITION,
    BinOp,
    Float,
    Input,
    Op,
    OpParams,
    PosInt,
    Saved,
    Support,
    module_call,
    promote,
    register_op,
)

SUPPORT = Support(("full_parameter",), '''
def full_parameter(shape, value: float):
    """A learnable tensor of `shape`, every element `value` (ConvNeXt's layer scale)."""
    return nn.Parameter(torch.full(shape, value))
''')


class LearnableParams(OpParams):
    shape: Annotated[tuple[PosInt, ...], Field(min_length=1, max_length=8)]
    apply: Literal["scale", "add"] = "scale"
    init: Float = 1.0


@register_op
class Learnable(Op):
    kind = "learnable"
    aliases = ("parameter",)
    family = "norm"  # a learned per-element affine term, like a norm's weight
    Params: ClassVar[type[OpParams]] = LearnableParams
    p: LearnableParams  # the validated params, typed for this op
    is_tensor = True  # its "module" is an nn.Parameter: not callable, not a Sequential member
    doc = "a learnable tensor of `shape` that scales (apply: scale) or shifts (apply: add) the input; init"

    def infer_shape(self, in_shapes):
        shape, param = in_shapes[0], self.p.shape
        # torch aligns trailing dimensions; a parameter of higher rank would broadcast over the batch
        trailing = shape[len(shape) - len(param):]
        fits = len(param) <= len(shape) and all(p in (1, s) for p, s in zip(param, trailing, strict=True))
        if not fits:
            raise ShapeError(
                f"learnable shape {format_shape(param)} does not broadcast to the input {format_shape(shape)} "
                "without changing it",
                "each of its sizes must equal the input's or be 1, aligned from the last dimension "
                "(a C×1×1 scale for a C×H×W map)",
            )
        return shape

    def param_count(self, in_shapes, out_shape):
        return numel(self.p.shape)

    def other_flops(self, in_shapes, out_shape):
        return numel(out_shape)

    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        return module_call("full_parameter", ("shape", tuple(self.p.shape)), ("value", float(self.p.init)))

    def emit_forward(self, in_shapes):
        return BinOp("*" if self.p.apply == "scale" else "+", (Input(0), MODULE))

    def label(self, in_shapes, out_shape):
        return f"{'×' if self.p.apply == 'scale' else '+'} learnable {format_shape(self.p.shape)}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return [Saved.input(0)] if self.p.apply == "scale" else []  # x, for the parameter's gradient

    def output_dtype(self, in_dtypes, low):
        return promote([in_dtypes[0], "float32"])  # the parameter is float32, under autocast too

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
