"""Parameter-free upsampling (`upsample`): torch.nn.Upsample, nearest or bilinear.

Give either `scale` (a factor, or a pair [h, w]) or `size` (the output H×W, an int or a
pair). With `scale`, the output size is torch's: floor(in * scale) per axis.
`align_corners` applies to bilinear only (torch refuses it for nearest).

Memory: a new tensor; backward needs only the sizes and keeps nothing. Receptive field (torch's
source index, with r = input/output positions: 1/scale, or in/out for `size`): nearest reads
floor(o·r); bilinear reads floor(s) and the next position, s = (o + 1/2)·r − 1/2, or s = o·(in−1)/(out−1)
with align_corners (only floor(s) when s is a whole number: the neighbour's weight is 0).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, model_validator

from ..shapes import expect_rank, numel, pair
from .base import IntPair, Op, OpParams, Reads, ShapeError, module_call, register_op


def _number_or_pair(value):
    if isinstance(value, (bool, str)):
        raise ValueError(f"Expected a number or a pair [h, w]; received {value!r}")  # noqa: TRY004 (pydantic wants ValueError)
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or any(isinstance(v, (bool, str)) for v in value):
            raise ValueError(f"Expected a number or a pair [h, w]; received {list(value)!r}")
        return (float(value[0]), float(value[1]))
    return value


Scale = Annotated[float | tuple[float, float], BeforeValidator(_number_or_pair)]


class UpsampleParams(OpParams):
    scale: Scale | None = None
    size: IntPair | None = None
    mode: Literal["nearest", "bilinear"] = "nearest"
    align_corners: bool | None = None

    @model_validator(mode="after")
    def _check(self):
        if (self.scale is None) == (self.size is None):
            raise ValueError(f"Expected exactly one of scale or size. Received scale={self.scale}, size={self.size}")
        if self.scale is not None and min(_pair_float(self.scale)) <= 0:
            raise ValueError(f"Expected a strictly positive scale. Received scale={self.scale}")
        if self.size is not None and min(pair(self.size)) <= 0:
            raise ValueError(f"Expected a strictly positive size. Received size={self.size}")
        if self.align_corners is not None and self.mode == "nearest":
            raise ValueError("align_corners applies to mode=bilinear only (torch's rule). Received mode=nearest")
        return self


def _pair_float(value) -> tuple[float, float]:
    return (float(value[0]), float(value[1])) if isinstance(value, (tuple, list)) else (float(value), float(value))


def _literal(value: float):
    """2.0 -> 2 (emitted as `scale_factor=2`, which torch treats the same), 1.5 stays."""
    return int(value) if float(value).is_integer() else value


@register_op
class Upsample(Op):
    kind = "upsample"
    family = "pool"  # spatial resampling
    Params: ClassVar[type[OpParams]] = UpsampleParams
    p: UpsampleParams  # the validated params, typed for this op
    doc = "upsampling without parameters: scale (factor) or size (H×W), mode nearest|bilinear, align_corners"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        if self.p.size is not None:
            return (shape[0], *pair(self.p.size))
        scale = _pair_float(self.p.scale)
        out = tuple(math.floor(float(shape[1 + a]) * scale[a]) for a in range(2))
        if min(out) <= 0:
            raise ShapeError(f"upsampling {shape[1]}×{shape[2]} by scale={self.p.scale} gives {out[0]}×{out[1]}",
                             "use a larger scale or give `size`")
        return (shape[0], *out)

    def other_flops(self, in_shapes, out_shape):
        # bilinear: 4 weighted taps per output element; nearest only copies
        return 7 * numel(out_shape) if self.p.mode == "bilinear" else 0

    def emit_module(self, in_shapes, out_shape):
        if self.p.size is not None:
            size = pair(self.p.size)
            args = {"size": size if size[0] != size[1] else size[0]}
        else:
            scale = _pair_float(self.p.scale)
            args = {"scale_factor": _literal(scale[0]) if scale[0] == scale[1] else tuple(_literal(s) for s in scale)}
        args["mode"] = self.p.mode
        if self.p.align_corners is not None:
            args["align_corners"] = self.p.align_corners
        return module_call("nn.Upsample", **args)

    # window(): None; upsampling enlarges the grid, it does not slide a window over it.

    def label(self, in_shapes, out_shape):
        how = f"×{self.p.scale:g}" if isinstance(self.p.scale, float) else f"→{out_shape[1]}×{out_shape[2]}"
        return f"Upsample {how} {self.p.mode}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return tuple(self._axis_reads(in_shapes[0][1 + a], out_shape[1 + a], a) for a in range(2))

    def _axis_reads(self, n_in: int, n_out: int, axis: int) -> Reads:
        scale = _pair_float(self.p.scale)[axis] if self.p.scale is not None else None
        return interpolation_reads(n_in, n_out, self.p.mode, bool(self.p.align_corners), scale)


def interpolation_reads(n_in: int, n_out: int, mode: str, align_corners: bool, scale: float | None = None) -> Reads:
    """Which input positions each output position of torch's interpolate reads along one axis
    (n_in -> n_out; `scale` when the caller gave a scale factor rather than a size); shared
    with `resize`."""
    if align_corners and n_out > 1:
        ratio, half = Fraction(n_in - 1, n_out - 1), Fraction(0)
    elif scale is not None:
        ratio = 1 / Fraction(scale).limit_denominator(10**6)
        half = Fraction(1, 2)
    else:
        ratio, half = Fraction(n_in, n_out), Fraction(1, 2)
    period, advance = ratio.denominator, ratio.numerator
    first, last = [], []
    for o in range(period):
        if mode == "nearest":
            source = math.floor(o * ratio)
            first.append(source)
            last.append(source)
            continue
        exact = (o + half) * ratio - half
        first.append(math.floor(exact))
        last.append(math.floor(exact) + (0 if exact.denominator == 1 else 1))
    return Reads(period, advance, tuple(first), tuple(last))
