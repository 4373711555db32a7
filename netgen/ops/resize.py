"""Resizing a feature map to another tensor's size (`resize`, alias `interpolate`): torch's
`nn.functional.interpolate(x, size=ref.shape[-2:], ...)`, bilinear by default.

It takes two inputs, `from: [x, ref]`, and returns x (its channels) at ref's H×W: the
segmentation heads' "upsample the logits to the image" (`from: [logits, input]`, FCN and
DeepLabv3, Long et al. 2015 and Chen et al. 2017) and DeepLabv3's image-pooling branch, whose
1×1 map is spread back over the ASPP input. The size is read from `ref` at run time, so the
generated module follows any input size; the static shape is ref's. `align_corners` is
torch's (default false, what torchvision's segmentation models use); nearest mode has none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from ..shapes import expect_rank, numel
from .base import Op, OpParams, register_op


class ResizeParams(OpParams):
    mode: Literal["bilinear", "nearest"] = "bilinear"
    align_corners: bool | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.align_corners is not None and self.mode == "nearest":
            raise ValueError("align_corners applies to mode=bilinear only (torch's rule). Received mode=nearest")
        return self


@register_op
class Resize(Op):
    kind = "resize"
    aliases = ("interpolate", "resize_to")
    family = "pool"  # spatial resampling, as upsample
    Params = ResizeParams
    min_inputs = 2
    max_inputs = 2
    doc = ("resize the first input to the H×W of the second (`from: [x, ref]`, e.g. `[logits, input]`): "
           "mode bilinear (default) | nearest, align_corners (bilinear; default false)")

    def infer_shape(self, in_shapes):
        x, ref = in_shapes
        expect_rank(x, 3, self.kind)
        expect_rank(ref, 3, self.kind)
        return (x[0], ref[1], ref[2])

    def other_flops(self, in_shapes, out_shape):
        # bilinear: 4 weighted taps per output element, as upsample counts; nearest only copies
        return 7 * numel(out_shape) if self.p.mode == "bilinear" else 0

    def torch_call(self, args, module):
        how = f"mode={self.p.mode!r}"
        if self.p.mode == "bilinear":
            how += f", align_corners={bool(self.p.align_corners)!r}"
        return f"nn.functional.interpolate({args[0]}, size={args[1]}.shape[-2:], {how})"

    # window(): None; resampling does not slide a window over the map.

    def label(self, in_shapes, out_shape):
        return f"Resize → {out_shape[1]}×{out_shape[2]} {self.p.mode}"
