"""Pure shape arithmetic shared by every op (Keras' `compute_conv_output_shape` habit).

Each function takes plain ints/tuples and raises `ShapeError` with every input shown when a
size would shrink to zero or below. Formulas are torch's own (Conv2d, MaxPool2d docs),
ceil_mode's rule that the last window must start inside the input included.
"""

from __future__ import annotations

import math

Shape = tuple[int, ...]

# Axis letters of a tensor's non-batch dimensions: C channels (features), H and W the
# spatial axes, N positions (tokens), `?` an axis whose meaning netgen does not know.
MAP, CHANNELS_LAST, VECTOR, TOKENS = "CHW", "HWC", "C", "NC"
KIND_NAMES = {MAP: "C×H×W map", CHANNELS_LAST: "channels-last H×W×C map", VECTOR: "feature vector",
              TOKENS: "N×D token sequence"}


class Dims(tuple):
    """A shape that knows what its axes mean (`axes`, one letter per dimension).

    A plain tuple is read by its rank (`axes_of`): rank 3 is a C×H×W map, rank 1 a feature
    vector. Ops that make any other layout (permute, reshape, linear over a channels-last map)
    return a `Dims`, so that an op applied to the wrong kind of tensor is refused statically.
    Equal to a plain tuple of the same sizes, so shape arithmetic and comparisons are unchanged.
    """

    axes: str

    def __new__(cls, sizes, axes: str):
        self = super().__new__(cls, sizes)
        if len(axes) != len(self):
            raise ValueError(f"axes {axes!r} do not match shape {tuple(self)}")
        self.axes = axes
        return self

    def __getnewargs__(self):
        return (tuple(self), self.axes)


def axes_of(shape) -> str:
    """The axis letters of a shape: its own when it is a `Dims`, else read from its rank."""
    axes = getattr(shape, "axes", None)
    if axes is not None:
        return axes
    return {3: MAP, 1: VECTOR}.get(len(shape), "?" * len(shape))


def with_axes(sizes, axes: str) -> tuple[int, ...]:
    """`sizes` carrying `axes`; a plain tuple where the rank already implies them."""
    sizes = tuple(sizes)
    default = {3: MAP, 1: VECTOR}.get(len(sizes), "?" * len(sizes))
    return sizes if axes == default else Dims(sizes, axes)


def channels(shape) -> int:
    """The size of the channel axis: a map's first, a channels-last map's last; the first
    dimension where no axis (or several) is `C`."""
    axes = axes_of(shape)
    return shape[axes.index("C")] if axes.count("C") == 1 else shape[0]


def kind_name(shape) -> str:
    """`C×H×W map`, `channels-last H×W×C map`, ... or `rank-2 tensor (axes ??)`."""
    axes = axes_of(shape)
    return KIND_NAMES.get(axes, f"rank-{len(axes)} tensor (axes {axes})")


class ShapeError(Exception):
    """An op cannot accept its input; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def pair(value) -> tuple[int, int]:
    """`3` -> (3, 3); `[3, 5]` -> (3, 5). An integer-like value (one with `__index__`, such as the
    code generator's numbers that carry their expression) is kept as it is."""
    if isinstance(value, (list, tuple)):
        return (_integer(value[0]), _integer(value[1]))
    return (_integer(value), _integer(value))


def _integer(value):
    return value if hasattr(type(value), "__index__") and not isinstance(value, bool) else int(value)


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window along one axis (torch's formula)."""
    effective = dilation * (kernel - 1) + 1
    span = size + 2 * padding - effective
    if span < 0:
        raise ShapeError(
            f"input size {size} with padding {padding} is smaller than the (dilated) kernel {effective}",
            "reduce the kernel, stride or dilation, add padding, or feed a larger input (--input)",
        )
    if ceil_mode:
        out = math.ceil(span / stride) + 1
        # torch: the last pooling window must start inside the input or left padding
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = span // stride + 1
    if out <= 0:
        raise ShapeError(f"output size would be {out} "
                         f"(input {size}, kernel {kernel}, stride {stride}, padding {padding})")
    return out


def conv2d_output(shape: tuple[int, ...], kernel, stride, padding, dilation=1, ceil_mode=False) -> tuple[int, int]:
    """(H, W) after a 2-D window op on a (C, H, W) input."""
    kernel, stride, padding, dilation = pair(kernel), pair(stride), pair(padding), pair(dilation)
    h, w = (
        conv_output_size(shape[1 + axis], kernel[axis], stride[axis], padding[axis], dilation[axis], ceil_mode)
        for axis in range(2)
    )
    return h, w


def expect_rank(shape: tuple[int, ...], rank: int, op: str) -> None:
    """Refuse an input of another rank, or a rank-3 tensor that is not a C×H×W map."""
    if len(shape) != rank:
        layout = {3: "C×H×W", 1: "features"}.get(rank, f"rank {rank}")
        raise ShapeError(
            f"{op} expects a {layout} input; received shape {format_shape(shape)}",
            "add `flatten` before a linear layer" if rank == 1 else "this op works on feature maps",
        )
    if rank == 3 and axes_of(shape) != MAP:
        hint = ("permute back to channels first: `permute: {dims: [2, 0, 1]}`" if axes_of(shape) == CHANNELS_LAST
                else "this op works on C×H×W feature maps")
        raise ShapeError(f"{op} expects a C×H×W map; received a {kind_name(shape)} {format_shape(shape)}", hint)


def expect_kind(shape: tuple[int, ...], axes: str, op: str, hint: str) -> None:
    """Refuse an input that is not of the tensor kind `axes` (a channels-last map, tokens, ...);
    `hint` says how to make one."""
    if axes_of(shape) != axes:
        raise ShapeError(f"{op} expects a {KIND_NAMES[axes]}; received a {kind_name(shape)} {format_shape(shape)}",
                         hint)


def format_shape(shape) -> str:
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape)


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)
