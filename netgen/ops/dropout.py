"""Dropout: zeroes elements with probability p in training, identity in eval."""

from __future__ import annotations

from pydantic import Field
from typing import Annotated

from .base import Float, Op, OpParams, register_op, kwargs_text


class DropoutParams(OpParams):
    p: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.5
    inplace: bool = False


@register_op
class Dropout(Op):
    kind = "dropout"
    family = "regularization"
    Params = DropoutParams
    doc = "dropout with probability p (training only)"

    def torch_module(self, in_shapes, out_shape):
        args = [("p", self.p.p)] + ([("inplace", True)] if self.p.inplace else [])
        return f"nn.Dropout({kwargs_text(args)})"

    def label(self, in_shapes, out_shape):
        return f"Dropout {self.p.p:g}"
