"""Channel shuffle (Zhang et al. 2018, ShuffleNet, arXiv:1707.01083): the channels of a map,
seen as `groups` × (C / groups), are transposed so that the next grouped layer mixes
information across groups. Emitted as torchvision's functional `channel_shuffle` (view,
transpose, view), so it adds no module and no state_dict entry."""

from __future__ import annotations

from typing import ClassVar

from ..shapes import ShapeError, expect_rank, format_shape
from .base import PER_POSITION, Call, Input, Op, OpParams, PosInt, Support, register_op

SUPPORT = Support(("channel_shuffle",), '''
def channel_shuffle(x, groups: int):
    """Interleave the channels of `groups` groups (ShuffleNet; torchvision's channel_shuffle)."""
    batch, channels, height, width = x.size()
    x = x.view(batch, groups, channels // groups, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch, channels, height, width)
''')


class ChannelShuffleParams(OpParams):
    groups: PosInt


@register_op
class ChannelShuffle(Op):
    kind = "channel_shuffle"
    aliases = ("shuffle",)
    family = "reshape"
    Params: ClassVar[type[OpParams]] = ChannelShuffleParams
    p: ChannelShuffleParams  # the validated params, typed for this op
    doc = "interleave the channels of `groups` groups (ShuffleNet); groups must divide C"

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        expect_rank(shape, 3, self.kind)
        if shape[0] % self.p.groups:
            raise ShapeError(f"channel_shuffle groups={self.p.groups} must divide the channels; "
                             f"received shape {format_shape(shape)}")
        return shape

    def emit_support(self):
        return (SUPPORT,)

    def emit_forward(self, in_shapes):
        return Call("channel_shuffle", (Input(0), self.p.groups))

    def label(self, in_shapes, out_shape):
        return f"Shuffle {self.p.groups}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None  # the transpose is made contiguous: a new tensor

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
