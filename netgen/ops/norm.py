"""Normalisation: batch norm over channels (`bn`) and AlexNet-era local response norm (`lrn`).

Memory: batch norm's backward keeps its input and the batch mean and inverse std (C values each,
in float32, whatever the input's dtype). torch builds LRN from smaller ops
(`F.local_response_norm`), whose backward keeps the input, the zero-padded squares
(N×1×(C+size-1)×H×W), the normaliser and its power; under autocast its 3-D average pool runs in
float32, and so does everything after it. Both act per position."""

from __future__ import annotations

from typing import ClassVar

from ..shapes import expect_rank, numel
from .base import PER_POSITION, Buffers, EvalAffine, Float, Op, OpParams, PosInt, Saved, module_call, register_op


class BatchNormParams(OpParams):
    eps: Float = 1e-5
    momentum: Float = 0.1
    affine: bool = True


@register_op
class BatchNorm(Op):
    kind = "bn"
    aliases = ("batchnorm", "batchnorm2d")
    family = "norm"
    Params: ClassVar[type[OpParams]] = BatchNormParams
    p: BatchNormParams  # the validated params, typed for this op
    doc = "batch normalisation over the channels of a C×H×W map: eps, momentum, affine"

    def infer_shape(self, in_shapes):
        expect_rank(in_shapes[0], 3, "bn")
        return in_shapes[0]

    def param_count(self, in_shapes, out_shape):
        return 2 * in_shapes[0][0] if self.p.affine else 0

    def buffers(self, in_shapes, out_shape):
        return Buffers(floating=2 * in_shapes[0][0], int64=1)  # running_mean, running_var; num_batches_tracked

    def other_flops(self, in_shapes, out_shape):
        return 2 * numel(out_shape)  # one scale and one shift per element once folded

    def emit_module(self, in_shapes, out_shape):
        return module_call("nn.BatchNorm2d", ("num_features", in_shapes[0][0]), eps=self.p.eps,
                           momentum=self.p.momentum, affine=self.p.affine,
                           defaults={"eps": 1e-5, "momentum": 0.1, "affine": True})

    def label(self, in_shapes, out_shape):
        return "BatchNorm"

    def eval_affine(self):
        # in eval nn.BatchNorm2d normalises with its running statistics (track_running_stats is
        # always on here): a fixed per-channel scale and shift
        return EvalAffine(eps=self.p.eps, affine=self.p.affine)

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        c = in_shapes[0][0]
        stats = Saved.new((c,), "float32", batched=False)  # save_mean, save_invstd
        return [Saved.input(0), stats, stats]

    def reads(self, in_shapes, out_shape):
        return PER_POSITION


class LRNParams(OpParams):
    size: PosInt = 5
    alpha: Float = 1e-4
    beta: Float = 0.75
    k: Float = 1.0


@register_op
class LocalResponseNorm(Op):
    kind = "lrn"
    aliases = ("local_response_norm",)
    family = "norm"
    Params: ClassVar[type[OpParams]] = LRNParams
    p: LRNParams  # the validated params, typed for this op
    doc = "local response normalisation across channels (Krizhevsky et al. 2012): size, alpha, beta, k"

    def infer_shape(self, in_shapes):
        expect_rank(in_shapes[0], 3, "lrn")
        return in_shapes[0]

    def other_flops(self, in_shapes, out_shape):
        return (self.p.size + 3) * numel(out_shape)

    def emit_module(self, in_shapes, out_shape):
        return module_call("nn.LocalResponseNorm", ("size", self.p.size), alpha=self.p.alpha, beta=self.p.beta,
                           k=self.p.k)

    def label(self, in_shapes, out_shape):
        return f"LRN {self.p.size}"

    # -- memory and receptive field ----------------------------------------------------
    autocast = "float32"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        c, h, w = in_shapes[0]
        padded = Saved.new((1, c + self.p.size - 1, h, w))
        return [Saved.input(0), padded, Saved.new(in_shapes[0]), Saved.new(in_shapes[0])]

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
