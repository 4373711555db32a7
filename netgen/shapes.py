"""Pure shape arithmetic shared by every op (Keras' `compute_conv_output_shape` habit).

Each function takes plain ints/tuples and raises `ShapeError` with every input shown when a
size would shrink to zero or below. Formulas are torch's own (Conv2d, MaxPool2d docs),
ceil_mode's rule that the last window must start inside the input included.
"""

from __future__ import annotations

import math

Shape = tuple[int, ...]


class ShapeError(Exception):
    """An op cannot accept its input; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def pair(value) -> tuple[int, int]:
    """`3` -> (3, 3); `[3, 5]` -> (3, 5)."""
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


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
    return tuple(
        conv_output_size(shape[1 + axis], kernel[axis], stride[axis], padding[axis], dilation[axis], ceil_mode)
        for axis in range(2)
    )


def expect_rank(shape: tuple[int, ...], rank: int, op: str) -> None:
    if len(shape) != rank:
        layout = {3: "C×H×W", 1: "features"}.get(rank, f"rank {rank}")
        raise ShapeError(
            f"{op} expects a {layout} input; received shape {format_shape(shape)}",
            "add `flatten` before a linear layer" if rank == 1 else "this op works on feature maps",
        )


def format_shape(shape) -> str:
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape)


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)
