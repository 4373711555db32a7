"""A fixed per-channel affine map, x[:, c] * scale[c] + shift[c], with no trainable state.

torchvision's GoogLeNet and Inception v3 re-normalise their input this way when built with
`transform_input=True`, as their pretrained weights are: the weights were converted from
models trained on inputs scaled to [-1, 1]. The constants are non-persistent buffers, so they
follow `.to(device)` but stay out of the state_dict and torchvision's weights load strictly.
Memory: backward keeps only the constant `scale` (a buffer, not an activation); the float32
constants promote a low-precision input to float32. Acts per position.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from ..shapes import ShapeError, numel
from .base import PER_POSITION, Buffers, Float, Op, OpParams, Saved, Support, module_call, promote, register_op

SUPPORT = Support(("ChannelAffine",), '''
class ChannelAffine(nn.Module):
    """x[:, c] * scale[c] + shift[c] with fixed constants (an input re-normalisation)."""

    def __init__(self, scale, shift):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("shift", torch.tensor(shift).view(1, -1, 1, 1), persistent=False)

    def forward(self, x):
        return x * self.scale + self.shift
''')


Floats = Annotated[tuple[Float, ...], Field(min_length=1)]  # one number per channel


class ChannelAffineParams(OpParams):
    scale: Floats
    shift: Floats

    @model_validator(mode="after")
    def _same_length(self):
        if len(self.scale) != len(self.shift):
            raise ValueError(f"scale and shift need one number per channel each; received {len(self.scale)} "
                             f"and {len(self.shift)}")
        return self


@register_op
class ChannelAffine(Op):
    kind = "channel_affine"
    family = "norm"
    Params: ClassVar[type[OpParams]] = ChannelAffineParams
    p: ChannelAffineParams  # the validated params, typed for this op
    doc = "fixed per-channel x * scale + shift (GoogLeNet's and Inception v3's transform_input)"

    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        if len(shape) != 3 or shape[0] != len(self.p.scale):
            raise ShapeError(f"channel_affine has {len(self.p.scale)} channels of constants; "
                             f"received a {'×'.join(map(str, shape))} input (a C×H×W map is needed)")
        return shape

    def buffers(self, in_shapes, out_shape):
        # scale and shift: out of the state_dict (non-persistent) but held, and cast by .to(dtype)
        return Buffers(floating=2 * len(self.p.scale))

    def other_flops(self, in_shapes, out_shape):
        return 2 * numel(out_shape)

    def emit_module(self, in_shapes, out_shape):
        return module_call("ChannelAffine", ("scale", list(self.p.scale)), ("shift", list(self.p.shift)))

    def emit_support(self):
        return (SUPPORT,)

    def label(self, in_shapes, out_shape):
        return "x·scale + shift"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape) -> list[Saved]:
        return []  # `x * scale` keeps the buffer `scale`, which is not an activation

    def output_dtype(self, in_dtypes, low):
        return promote([in_dtypes[0], "float32"])  # the constants are float32 buffers

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
