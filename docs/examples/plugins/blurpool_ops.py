"""A netgen plugin: BlurPool, anti-aliased downsampling (Zhang 2019, "Making Convolutional
Networks Shift-Invariant Again", arXiv:1904.11486). Each channel is blurred by the fixed
binomial filter [1, 2, 1] x [1, 2, 1] / 16, with reflect padding, and then subsampled by
`stride`, so that a shift of the input by one pixel changes the output little.

The whole plugin interface is here (docs/plugins.md): one `Op` subclass with its params, its
shape rule, its costs, its receptive window, its emission as data (the nn.Module class it
needs travels as `Support` source, so the generated file still imports only torch) and its
diagram style, registered with `@register_op`. A blueprint asks for it with
`plugins: [blurpool_ops]`; netgen imports it only when the user allows it (`--allow-plugins`).
"""

from __future__ import annotations

from netgen.ops import Op, OpParams, register_op
from netgen.ops.base import Buffers, PosInt, Saved, ShapeError, Support, format_shape, module_call, window_reads

SUPPORT = Support(("BlurPool2d",), '''
class BlurPool2d(nn.Module):
    """Anti-aliased downsampling (Zhang 2019): a fixed 3x3 binomial blur per channel, then stride."""

    def __init__(self, channels: int, stride: int = 2):
        super().__init__()
        row = torch.tensor([1.0, 2.0, 1.0])
        kernel = (row[:, None] * row[None, :]) / 16.0
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone())
        self.stride = stride

    def forward(self, x):
        x = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        return nn.functional.conv2d(x, self.kernel, stride=self.stride, groups=self.kernel.shape[0])

    def extra_repr(self):
        return f"channels={self.kernel.shape[0]}, stride={self.stride}"
''')


class BlurPoolParams(OpParams):
    stride: PosInt = 2


@register_op
class BlurPool(Op):
    kind = "blurpool"
    family = "pool"
    Params = BlurPoolParams
    doc = "anti-aliased downsampling (Zhang 2019): a fixed 3x3 binomial blur per channel, then stride"

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) != 3:
            raise ShapeError(f"blurpool needs a C×H×W map; received {format_shape(shape)}")
        channels, height, width = shape
        if height < 2 or width < 2:
            raise ShapeError(f"blurpool's reflect padding needs H and W of at least 2; received {format_shape(shape)}")
        stride = self.p.stride
        # padded by 1 on each side, a 3x3 window every `stride` pixels
        return (channels, (height - 1) // stride + 1, (width - 1) // stride + 1)

    def buffers(self, in_shapes, out_shape):
        # the fixed float filter, one 3x3 copy per channel, saved in the state_dict
        return Buffers(floating=in_shapes[0][0] * 9)

    def other_flops(self, in_shapes, out_shape):
        return 2 * 9 * out_shape[0] * out_shape[1] * out_shape[2]  # a 9-tap multiply-add per output value

    def window(self):
        return ((3, 3), (self.p.stride, self.p.stride), (1, 1))

    # -- what the memory and receptive-field analyses need (netgen/ops/traits.py) ----------
    def output_alias(self, in_shapes, training):
        return None  # a new tensor, in training and in eval

    def saved_for_backward(self, in_shapes, out_shape):
        channels, height, width = in_shapes[0]
        # the reflect pad keeps its input; conv2d keeps the padded copy (the filter is a buffer)
        return [Saved.input(0), Saved.new((channels, height + 2, width + 2))]

    def reads(self, in_shapes, out_shape):
        # per axis: output o reads inputs o*stride - 1 ... o*stride + 1 (reflected at the borders)
        return (window_reads(3, self.p.stride, 1, 1), window_reads(3, self.p.stride, 1, 1))

    def emit_support(self):
        return (SUPPORT,)

    def emit_module(self, in_shapes, out_shape):
        return module_call("BlurPool2d", ("channels", in_shapes[0][0]), stride=self.p.stride)

    def label(self, in_shapes, out_shape):
        return f"BlurPool /{self.p.stride}"
