"""A learnable tensor that scales or shifts its input (`learnable`): an `nn.Parameter` of a
given shape, registered directly on the enclosing module under the item's name, so that the
state_dict key is the name the blueprint chooses (ConvNeXt's `features.1.0.layer_scale`,
Touvron et al. 2021's LayerScale; later a ViT's `pos_embedding`).

`apply: scale` multiplies (`x * p`), `apply: add` adds (`x + p`); the parameter's shape must
broadcast to the input's without growing it (torch's rules over the non-batch dimensions, a
C×1×1 scale on a C×H×W map; one extra leading 1 stands for the batch, as ViT's 1×S×D
`pos_embedding`). `apply: prepend` puts the parameter (1×1×D: ViT's `class_token`) before a
token sequence, expanded over the batch: `torch.cat([p.expand(n, -1, -1), x], dim=1)`, one
more token. Every element starts at `init`.

Memory: `x * p` keeps x for the parameter's gradient, `x + p` and prepend nothing; a float32
parameter promotes a low-precision input. Acts per position (a prepended token reads nothing).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..shapes import TOKENS, ShapeError, axes_of, format_shape, kind_name, numel, with_axes
from .base import (
    MODULE,
    PER_POSITION,
    BinOp,
    Call,
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
from .emission import as_float

SUPPORT = Support(("full_parameter",), '''
def full_parameter(shape, value: float):
    """A learnable tensor of `shape`, every element `value` (ConvNeXt's layer scale)."""
    return nn.Parameter(torch.full(shape, value))
''')

PREPEND = Support(("prepend_token",), '''
def prepend_token(token, x):
    """The learnable 1×1×D `token` before every sequence of x (ViT's class token)."""
    return torch.cat([token.expand(x.shape[0], -1, -1), x], dim=1)
''')


class LearnableParams(OpParams):
    shape: Annotated[tuple[PosInt, ...], Field(min_length=1, max_length=8)]
    apply: Literal["scale", "add", "prepend"] = "scale"
    init: Float = 1.0


@register_op
class Learnable(Op):
    kind = "learnable"
    aliases = ("parameter",)
    family = "norm"  # a learned per-element affine term, like a norm's weight
    Params: ClassVar[type[OpParams]] = LearnableParams
    p: LearnableParams  # the validated params, typed for this op
    is_tensor = True  # its "module" is an nn.Parameter: not callable, not a Sequential member
    doc = ("a learnable tensor of `shape` that scales (apply: scale) or shifts (apply: add) the input, "
           "or a 1×1×D token put before a token sequence (apply: prepend); init")

    def infer_shape(self, in_shapes):
        shape, param = in_shapes[0], self.p.shape
        if self.p.apply == "prepend":
            if axes_of(shape) != TOKENS or tuple(param) != (1, 1, shape[1]):
                raise ShapeError(
                    f"learnable prepend puts a 1×1×D token before an N×D token sequence; received shape "
                    f"{format_shape(param)} for input {format_shape(shape)} ({kind_name(shape)})",
                    f"use `shape: [1, 1, {shape[-1]}]` after the map is made tokens "
                    "(`flatten: {start: 1}` then `permute: {dims: [1, 0]}`)")
            return with_axes((shape[0] + 1, shape[1]), TOKENS)
        if len(param) == len(shape) + 1 and param[0] == 1:
            param = param[1:]  # a leading 1 broadcasts over the batch (ViT's 1×S×D pos_embedding)
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
        return 0 if self.p.apply == "prepend" else numel(out_shape)

    def emit_support(self):
        return (SUPPORT, PREPEND) if self.p.apply == "prepend" else (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        return module_call("full_parameter", ("shape", tuple(self.p.shape)), ("value", as_float(self.p.init)))

    def emit_forward(self, in_shapes):
        if self.p.apply == "prepend":
            return Call("prepend_token", (MODULE, Input(0)))
        if self.p.apply == "scale":
            # torchvision's order (`self.layer_scale * result`): the backward's two products run in it
            return BinOp("*", (MODULE, Input(0)))
        return BinOp("+", (Input(0), MODULE))

    def label(self, in_shapes, out_shape):
        if self.p.apply == "prepend":
            return f"prepend token {format_shape(self.p.shape[1:])}"
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
