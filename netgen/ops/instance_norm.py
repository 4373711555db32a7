"""Instance normalisation (Ulyanov et al. 2016, arXiv:1607.08022): each channel of each
sample normalised over its positions; nn.InstanceNorm2d, with torch's defaults (no affine
terms, no running statistics) unless asked.

Memory: torch runs it as batch norm over N·C channels; backward keeps the input and the
mean and 1/std of every channel of every sample. Receptive field: global (statistics over
every position)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..shapes import expect_rank, numel
from .base import GLOBAL, Buffers, Float, Op, OpParams, Saved, module_call, register_op


class InstanceNormParams(OpParams):
    eps: Annotated[Float, Field(gt=0.0)] = 1e-5
    momentum: Float = 0.1
    affine: bool = False
    track_running_stats: bool = False


@register_op
class InstanceNorm(Op):
    kind = "instancenorm"
    aliases = ("instance_norm",)
    family = "norm"
    Params: ClassVar[type[OpParams]] = InstanceNormParams
    p: InstanceNormParams  # the validated params, typed for this op
    doc = "instance normalisation of a C×H×W map: eps, momentum, affine, track_running_stats"

    def infer_shape(self, in_shapes):
        expect_rank(in_shapes[0], 3, self.kind)
        return in_shapes[0]

    def param_count(self, in_shapes, out_shape):
        return 2 * in_shapes[0][0] if self.p.affine else 0

    def buffers(self, in_shapes, out_shape):
        if not self.p.track_running_stats:
            return Buffers()
        return Buffers(floating=2 * in_shapes[0][0], int64=1)  # running_mean, running_var; num_batches_tracked

    def other_flops(self, in_shapes, out_shape):
        return 5 * numel(out_shape)

    def emit_module(self, in_shapes, out_shape):
        options = {}
        if self.p.eps != 1e-5:
            options["eps"] = self.p.eps
        if self.p.momentum != 0.1:
            options["momentum"] = self.p.momentum
        if self.p.affine:
            options["affine"] = True
        if self.p.track_running_stats:
            options["track_running_stats"] = True
        return module_call("nn.InstanceNorm2d", ("num_features", in_shapes[0][0]), **options)

    def label(self, in_shapes, out_shape):
        return "InstanceNorm"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        c = in_shapes[0][0]
        # torch runs batch norm over N*C channels: statistics per channel of each sample, in the
        # float32 of the affine terms if there are any; the affine terms and running statistics
        # repeated N times are new tensors that backward keeps too
        stats = Saved.new((c,), "float32" if self.p.affine else "compute")
        repeated = Saved.new((c,), "float32")
        extra = [repeated] * ((1 if self.p.affine else 0) + (2 if self.p.track_running_stats else 0))
        return [Saved.input(0), stats, stats, *extra]

    def reads(self, in_shapes, out_shape):
        return GLOBAL  # each channel is normalised over all its positions
