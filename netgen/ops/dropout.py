"""Dropout: zeroes elements (`dropout`) or whole channels (`dropout2d`, Tompson et al. 2015)
with probability p in training, scaling the survivors by 1/(1-p); identity in eval."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..shapes import expect_rank
from .base import Float, Op, OpParams, module_call, register_op


class DropoutParams(OpParams):
    p: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.5
    inplace: bool = False


@register_op
class Dropout(Op):
    kind = "dropout"
    family = "regularization"
    Params = DropoutParams
    doc = "dropout with probability p (training only)"

    torch_class = "nn.Dropout"

    def emit_module(self, in_shapes, out_shape):
        options = {"inplace": True} if self.p.inplace else {}
        return module_call(self.torch_class, p=self.p.p, **options)

    def label(self, in_shapes, out_shape):
        return f"Dropout {self.p.p:.3g}"


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
