"""Layer normalisation (Ba et al. 2016, arXiv:1607.06450) over a tensor's features.

`layernorm` normalises the last dimension, as `nn.LayerNorm(d)`: the features of a
channels-last map (ConvNeXt's block), a vector or a token sequence. `layernorm2d` normalises
the channels of a C×H×W map at each position: ConvNeXt's channels-first LayerNorm, emitted as
torchvision's `LayerNorm2d` (an `nn.LayerNorm` that moves the channels last, normalises and
moves them back), so its state_dict holds `weight` and `bias` as torchvision's does. Each
refuses the other's kind of input with a hint, because torch would silently normalise a
map's W positions instead of its channels.

Memory: backward keeps the input, and the mean and 1/std of every normalised row. Receptive
field: one position's features, so per position; over a vector, everything.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..shapes import MAP, VECTOR, ShapeError, axes_of, expect_rank, format_shape, numel
from .base import GLOBAL, PER_POSITION, Float, Op, OpParams, Saved, Support, module_call, register_op

SUPPORT = Support(("LayerNorm2d",), '''
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an N×C×H×W map (torchvision's ConvNeXt LayerNorm2d)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
''')


class LayerNormParams(OpParams):
    eps: Annotated[Float, Field(gt=0.0)] = 1e-5
    affine: bool = True  # torch's elementwise_affine
    bias: bool = True


class _LayerNorm(Op):
    family = "norm"
    Params: ClassVar[type[OpParams]] = LayerNormParams
    p: LayerNormParams  # the validated params, typed for this op
    target = "nn.LayerNorm"

    def features(self, shape) -> int:
        return shape[-1]

    def param_count(self, in_shapes, out_shape):
        if not self.p.affine:
            return 0
        return self.features(in_shapes[0]) * (2 if self.p.bias else 1)

    def other_flops(self, in_shapes, out_shape):
        return 5 * numel(out_shape)  # mean, variance, normalise, scale, shift per element

    def emit_module(self, in_shapes, out_shape):
        options = {}
        if self.p.eps != 1e-5:
            options["eps"] = self.p.eps
        if not self.p.affine:
            options["elementwise_affine"] = False
        if not self.p.bias:
            options["bias"] = False
        return module_call(self.target, ("normalized_shape", self.features(in_shapes[0])), **options)

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        rows = numel(in_shapes[0]) // self.features(in_shapes[0])
        # mean and 1/std of every normalised row, in the float32 of the affine terms if any
        stats = Saved.new((rows,), "float32" if self.p.affine else "compute")
        return [Saved.input(0, cast=True), stats, stats]

    def reads(self, in_shapes, out_shape):
        # the features of one position (a channels-last map, tokens); a vector's are all of it
        return GLOBAL if axes_of(in_shapes[0]) == VECTOR else PER_POSITION


@register_op
class LayerNorm(_LayerNorm):
    kind = "layernorm"
    aliases = ("layer_norm",)
    doc = "layer norm over the last dimension (channels-last maps, vectors, tokens): eps, affine, bias"

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        if axes_of(shape) == MAP:
            raise ShapeError(f"layernorm normalises the last dimension; received a C×H×W map {format_shape(shape)}",
                             "use `layernorm2d` to normalise a map's channels (ConvNeXt's LayerNorm2d), "
                             "or permute the channels last first")
        return shape

    def label(self, in_shapes, out_shape):
        return "LayerNorm"


@register_op
class LayerNorm2d(_LayerNorm):
    kind = "layernorm2d"
    aliases = ("layer_norm2d",)
    target = "LayerNorm2d"
    doc = "layer norm over the channels of a C×H×W map at each position (torchvision's LayerNorm2d): eps, affine, bias"

    def features(self, shape) -> int:
        return shape[0]

    def infer_shape(self, in_shapes):
        expect_rank(in_shapes[0], 3, self.kind)
        return in_shapes[0]

    def emit_support(self):
        return (SUPPORT,)

    def label(self, in_shapes, out_shape):
        return "LayerNorm2d"
