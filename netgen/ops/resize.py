"""Resizing a feature map to another tensor's size (`resize`, alias `interpolate`): torch's
`nn.functional.interpolate(x, size=ref.shape[-2:], ...)`, bilinear by default.

It takes two inputs, `from: [x, ref]`, and returns x (its channels) at ref's H×W: the
segmentation heads' "upsample the logits to the image" (`from: [logits, input]`, FCN and
DeepLabv3, Long et al. 2015 and Chen et al. 2017) and DeepLabv3's image-pooling branch, whose
1×1 map is spread back over the ASPP input. The size is read from `ref` at run time, so the
generated module follows any input size; the static shape is ref's. `align_corners` is
torch's (default false, what torchvision's segmentation models use); nearest mode has none.

Memory: a new tensor; interpolation's backward needs only the sizes, so nothing is kept.
Receptive field: only x's values reach the output (ref gives a shape); each output position
reads the one or two x positions per axis that torch's interpolation weighs.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from ..shapes import expect_rank, numel
from .base import Call, Input, Op, OpParams, Support, register_op
from .upsample import interpolation_reads

RESIZE_SUPPORT = Support(("resize_to",), '''
def resize_to(x, ref, mode="bilinear", align_corners=False):
    """Interpolate x (N, C, H, W) to the H×W of ref (read at run time: any input size)."""
    return torch.nn.functional.interpolate(
        x, size=ref.shape[-2:], mode=mode, align_corners=align_corners if mode == "bilinear" else None
    )
''')


class ResizeParams(OpParams):
    mode: Literal["bilinear", "nearest"] = "bilinear"
    align_corners: bool = False

    @model_validator(mode="after")
    def _check(self):
        if self.align_corners and self.mode == "nearest":
            raise ValueError("align_corners applies to mode=bilinear only (torch's rule). Received mode=nearest")
        return self


@register_op
class Resize(Op):
    kind = "resize"
    aliases = ("interpolate",)
    family = "pool"  # spatial resampling, as upsample
    Params: ClassVar[type[OpParams]] = ResizeParams
    p: ResizeParams  # the validated params, typed for this op
    min_inputs = 2
    max_inputs = 2
    doc = ("resize the first input to the H×W of the second (`from: [x, ref]`, e.g. `[logits, input]`): "
           "mode bilinear (default) | nearest, align_corners (bilinear only)")

    def infer_shape(self, in_shapes):
        x, ref = in_shapes
        expect_rank(x, 3, self.kind)
        expect_rank(ref, 3, self.kind)
        return (x[0], ref[1], ref[2])

    def other_flops(self, in_shapes, out_shape):
        # bilinear: 4 weighted taps per output element, as upsample counts; nearest only copies
        return 7 * numel(out_shape) if self.p.mode == "bilinear" else 0

    def emit_support(self):
        return (RESIZE_SUPPORT,)

    def emit_forward(self, in_shapes):
        if self.p.mode == "nearest":
            return Call("resize_to", (Input(0), Input(1), "nearest"))
        if self.p.align_corners:
            return Call("resize_to", (Input(0), Input(1), "bilinear", True))
        return Call("resize_to", (Input(0), Input(1)))

    # window(): None; resampling does not slide a window over the map.

    def label(self, in_shapes, out_shape):
        return f"Resize → {out_shape[1]}×{out_shape[2]} {self.p.mode}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def value_inputs(self, n):
        return (0,)

    def reads(self, in_shapes, out_shape):
        x = in_shapes[0]
        return tuple(interpolation_reads(x[1 + a], out_shape[1 + a], self.p.mode, self.p.align_corners)
                     for a in range(2))
