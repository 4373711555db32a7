"""Swin's patch merging (`patch_merging`): Liu et al. 2021 (arXiv:2103.14030), sec. 3.1, and
Swin v2's variant (Liu et al. 2022, arXiv:2111.09883), emitted as torchvision's `PatchMerging` /
`PatchMergingV2` (keys `reduction.weight`, then `norm.weight` and `norm.bias`).

Over an H×W×C map (channels last): every 2×2 group of positions is concatenated into 4·C
features, in torchvision's order (top-left, bottom-left, top-right, bottom-right), a map with
an odd side padded with zeros first (so the output is ⌈H/2⌉×⌈W/2⌉), and a Linear without bias
reduces them to `out` (default 2·C). Version 1 normalises the 4·C features before the Linear;
version 2 normalises the `out` features after it (`version: 2`). The norm is a LayerNorm (`eps`).

Costs: MACs of the Linear, ⌈H/2⌉·⌈W/2⌉·4C·out; the norm's five FLOPs per element besides.
Memory: backward keeps the concatenated features and the norm's per-position statistics, and,
in version 1, the normalised features (the Linear's input), in version 2 the Linear's output
(the norm's input). Receptive field: each output position reads its 2×2 group (a stride-2,
2-wide window).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..shapes import CHANNELS_LAST, Dims, expect_kind, numel
from .base import Float, Op, OpParams, PosInt, Saved, Support, module_call, register_op, window_reads

PATCH_MERGING = Support(("PatchMerging",), '''
class PatchMerging(nn.Module):
    """Swin's patch merging (Liu et al. 2021) over a channels-last map: each 2×2 group of
    positions (odd sides padded with zeros) concatenated to 4·dim features, normalised, and
    reduced by a Linear without bias (torchvision's PatchMerging)."""

    def __init__(self, dim, out=None, eps=1e-5):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, out or 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    @staticmethod
    def merge(x):
        height, width = x.shape[-3], x.shape[-2]
        x = nn.functional.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        # torchvision's order: top-left, bottom-left, top-right, bottom-right
        return torch.cat([x[..., r::2, c::2, :] for c in (0, 1) for r in (0, 1)], -1)

    def forward(self, x):
        return self.reduction(self.norm(self.merge(x)))
''')

PATCH_MERGING_V2 = Support(("PatchMergingV2",), '''
class PatchMergingV2(PatchMerging):
    """Swin v2's patch merging (Liu et al. 2022): the reduction first, then the norm over its
    output features (torchvision's PatchMergingV2)."""

    def __init__(self, dim, out=None, eps=1e-5):
        super().__init__(dim, out, eps)
        self.norm = nn.LayerNorm(out or 2 * dim, eps=eps)

    def forward(self, x):
        return self.norm(self.reduction(self.merge(x)))
''')


class PatchMergingParams(OpParams):
    out: PosInt | None = None  # default: twice the input's channels
    version: Literal[1, 2] = 1
    eps: Annotated[Float, Field(gt=0.0)] = 1e-5


@register_op
class PatchMerging(Op):
    kind = "patch_merging"
    family = "linear"
    Params: ClassVar[type[OpParams]] = PatchMergingParams
    p: PatchMergingParams  # the validated params, typed for this op
    doc = ("Swin's patch merging over an H×W×C map: 2×2 groups concatenated, LayerNorm and a Linear to out "
           "(default 2·C; version 2: the norm after the Linear; torchvision's PatchMerging): out, version, eps")

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        expect_kind(shape, CHANNELS_LAST, "patch_merging",
                    "move a C×H×W map's channels last first: `permute: {dims: [1, 2, 0]}`")
        h, w, c = shape
        return Dims(((h + 1) // 2, (w + 1) // 2, self.out(c)), CHANNELS_LAST)

    def out(self, c: int) -> int:
        return self.p.out or 2 * c

    def normalised(self, c: int) -> int:
        return 4 * c if self.p.version == 1 else self.out(c)

    def param_count(self, in_shapes, out_shape):
        c = in_shapes[0][2]
        return 4 * c * self.out(c) + 2 * self.normalised(c)

    def macs(self, in_shapes, out_shape):
        return numel(out_shape) * 4 * in_shapes[0][2]

    def other_flops(self, in_shapes, out_shape):
        h, w, c = out_shape
        return 5 * h * w * self.normalised(in_shapes[0][2])

    def emit_support(self):
        return (PATCH_MERGING,) if self.p.version == 1 else (PATCH_MERGING, PATCH_MERGING_V2)

    def emit_module(self, in_shapes, out_shape):
        c, options = in_shapes[0][2], {}
        if self.p.out is not None and self.p.out != 2 * c:
            options["out"] = self.p.out
        if self.p.eps != 1e-5:
            options["eps"] = self.p.eps
        return module_call("PatchMerging" if self.p.version == 1 else "PatchMergingV2", ("dim", c), **options)

    def label(self, in_shapes, out_shape):
        return f"Patch merging{' v2' if self.p.version == 2 else ''} 2×2"

    # -- memory and receptive field --------------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        # measured against autograd (tests/test_ops_generic.py): the concatenation runs in the
        # input's dtype, the Linear in autocast's, LayerNorm in its input's with float32 statistics
        h, w, c = out_shape
        merged, stats = (h * w, 4 * in_shapes[0][2]), Saved.new((h * w,), "float32")
        if self.p.version == 1:  # the norm keeps the merged features, the Linear the normalised ones
            return [Saved.new(merged, "input"), stats, stats, Saved.new(merged), Saved.weight(numel(merged[1:]) * c)]
        # the Linear keeps the merged features (autocast's copy), the norm the Linear's output
        return [Saved.new(merged), Saved.weight(merged[1] * c), Saved.new((h * w, c)), stats, stats]

    def reads(self, in_shapes, out_shape):
        return (window_reads(2, 2), window_reads(2, 2))
