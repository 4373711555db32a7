"""Option-A shortcut (`shortcut_a`): the parameter-free residual shortcut of the CIFAR ResNets
(He et al. 2016, "Deep Residual Learning", sec. 4.2, option A).

The shortcut subsamples by `stride` (keeps every stride-th row and column, as a 1×1 pool
with that stride would) and pads the channels with zeros up to `out`. `side: end` appends the
zero channels (fb.resnet.torch's concatenation with zeros); `side: both` splits them before
and after (the common PyTorch CIFAR ResNet, `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, c//4, c//4))`).

In a blueprint: `residual: {body: [...], shortcut: [{shortcut_a: {out: 32, stride: 2}}]}`.
Memory: the zero-padding makes a new tensor; backward keeps nothing. Receptive field: output o
reads input o × stride (a 1×1 window).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from ..shapes import expect_rank, format_shape, pair
from .base import IntPair, Op, OpParams, PosInt, ShapeError, Support, compact, module_call, register_op, window_reads

SUPPORT = Support(("ShortcutA",), '''
class ShortcutA(nn.Module):
    """Option-A shortcut (He et al. 2016): subsample by `stride`, zero-pad channels to `out_channels`."""

    def __init__(self, out_channels, stride=1, side="end"):
        super().__init__()
        self.out_channels = out_channels
        self.stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        self.side = side

    def forward(self, x):
        x = x[:, :, :: self.stride[0], :: self.stride[1]]
        extra = self.out_channels - x.shape[1]
        before = extra // 2 if self.side == "both" else 0
        return nn.functional.pad(x, (0, 0, 0, 0, before, extra - before))

    def extra_repr(self):
        return f"out_channels={self.out_channels}, stride={self.stride}, side={self.side!r}"
''')


class ShortcutAParams(OpParams):
    out: PosInt
    stride: IntPair = 1
    side: Literal["end", "both"] = "end"

    @model_validator(mode="after")
    def _check(self):
        if min(pair(self.stride)) <= 0:
            raise ValueError(f"Expected a strictly positive value. Received stride={self.stride}")
        return self


@register_op
class ShortcutA(Op):
    kind = "shortcut_a"
    aliases = ("option_a",)
    family = "reshape"
    Params: ClassVar[type[OpParams]] = ShortcutAParams
    p: ShortcutAParams  # the validated params, typed for this op
    doc = "option-A shortcut (He et al. 2016): subsample by stride, zero-pad channels to out (side: end|both)"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        expect_rank(shape, 3, self.kind)
        if self.p.out < shape[0]:
            raise ShapeError(
                f"shortcut_a only adds channels; out={self.p.out} is fewer than the input's {shape[0]} "
                f"({format_shape(shape)})",
                "use a projection shortcut (`shortcut: projection`) to reduce channels",
            )
        s = pair(self.p.stride)
        return (self.p.out, -(-shape[1] // s[0]), -(-shape[2] // s[1]))  # ceil: rows 0, s, 2s, ...

    def window(self):
        return (1, 1), pair(self.p.stride), (1, 1)

    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        # torch-side defaults are left out by the printer, so a stride computed in a block class
        # (`stride=stride`) is kept whatever this instance's value
        return module_call("ShortcutA", ("out_channels", self.p.out), stride=compact(self.p.stride), side=self.p.side,
                           defaults={"stride": 1, "side": "end"})

    def label(self, in_shapes, out_shape):
        s = pair(self.p.stride)
        return f"Shortcut A{' /' + str(s[0]) if s != (1, 1) else ''}, {self.p.out}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return tuple(window_reads(1, s) for s in pair(self.p.stride))
