"""Group normalisation (Wu & He 2018, arXiv:1803.08494): the channels of a C×H×W map are
split into `groups`, each normalised over its channels and positions; nn.GroupNorm.

Memory: backward keeps the input and the mean and 1/std per sample and group. Receptive
field: global, since the statistics span every position."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..shapes import ShapeError, expect_rank, numel
from .base import GLOBAL, Float, Op, OpParams, PosInt, Saved, module_call, register_op


class GroupNormParams(OpParams):
    groups: PosInt
    eps: Annotated[Float, Field(gt=0.0)] = 1e-5
    affine: bool = True


@register_op
class GroupNorm(Op):
    kind = "groupnorm"
    aliases = ("group_norm",)
    family = "norm"
    Params: ClassVar[type[OpParams]] = GroupNormParams
    p: GroupNormParams  # the validated params, typed for this op
    doc = "group normalisation of a C×H×W map: groups (dividing C), eps, affine"

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        expect_rank(shape, 3, self.kind)
        if shape[0] % self.p.groups:
            raise ShapeError(f"groupnorm groups={self.p.groups} must divide the {shape[0]} channels",
                             "choose a group count that divides the channels (32 is usual)")
        return shape

    def param_count(self, in_shapes, out_shape):
        return 2 * in_shapes[0][0] if self.p.affine else 0

    def other_flops(self, in_shapes, out_shape):
        return 5 * numel(out_shape)

    def emit_module(self, in_shapes, out_shape):
        options = {}
        if self.p.eps != 1e-5:
            options["eps"] = self.p.eps
        if not self.p.affine:
            options["affine"] = False
        return module_call("nn.GroupNorm", ("num_groups", self.p.groups), ("num_channels", in_shapes[0][0]), **options)

    def label(self, in_shapes, out_shape):
        return f"GroupNorm {self.p.groups}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        # mean and 1/std per sample and group, in the float32 of the affine terms if any
        stats = Saved.new((self.p.groups,), "float32" if self.p.affine else "compute")
        return [Saved.input(0, cast=True), stats, stats]

    def reads(self, in_shapes, out_shape):
        return GLOBAL  # the statistics span every position of the map
