"""Dropout: zeroes elements (`dropout`) or whole channels (`dropout2d`, Tompson et al. 2015)
with probability p in training, scaling the survivors by 1/(1-p); identity in eval.

Memory: in eval (and with p = 0) torch returns the input itself. In training on the CPU (and
on the meta device) torch multiplies by a noise tensor of the input's dtype, which backward
keeps: one per element for `dropout`, one per channel (N×C×1×1) for `dropout2d`; in place, the
output is the input's storage. (CUDA's fused kernel keeps a one-byte mask instead.) Acts per
position, on maps and vectors alike: dropout after flatten keeps the field."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..shapes import expect_rank
from .base import PER_POSITION, Float, Op, OpParams, Saved, module_call, register_op


class DropoutParams(OpParams):
    p: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.5
    inplace: bool = False


@register_op
class Dropout(Op):
    kind = "dropout"
    family = "regularization"
    Params: ClassVar[type[OpParams]] = DropoutParams
    p: DropoutParams  # the validated params, typed for this op
    doc = "dropout with probability p (training only)"

    torch_class = "nn.Dropout"

    def emit_module(self, in_shapes, out_shape):
        options = {"inplace": True} if self.p.inplace else {}
        return module_call(self.torch_class, p=self.p.p, **options)

    def label(self, in_shapes, out_shape):
        return f"Dropout {self.p.p:.3g}"

    def eval_identity(self):
        return True

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0 if (not training or self.p.p == 0 or self.p.inplace) else None

    def noise_shape(self, shape):
        return shape

    def saved_for_backward(self, in_shapes, out_shape):
        return [] if self.p.p == 0 else [Saved.new(self.noise_shape(in_shapes[0]))]

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


@register_op
class Dropout2d(Dropout):
    kind = "dropout2d"
    aliases = ("spatial_dropout",)
    doc = "channel dropout with probability p: whole C×H×W channels zeroed (training only)"

    def infer_shape(self, in_shapes):
        expect_rank(in_shapes[0], 3, self.kind)
        return in_shapes[0]

    torch_class = "nn.Dropout2d"

    def label(self, in_shapes, out_shape):
        return f"Dropout2d {self.p.p:.3g}"

    def noise_shape(self, shape):
        return (shape[0], 1, 1)  # one draw per channel
