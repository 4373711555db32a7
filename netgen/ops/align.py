"""Aligning a feature map with a skip: `crop` and `pad` (U-Net, Ronneberger et al. 2015).

Both take two inputs, `from: [x, ref]`, and return x with ref's H×W (x keeps its channels):
`crop` centre-crops a larger x (U-Net's "copy and crop"), `pad` zero-pads a smaller one
(the padded U-Net variants). The margin is split as `excess // 2` before and the rest after,
so an odd excess drops (or adds) the extra row/column at the bottom/right, as the common
PyTorch U-Net does. `pad` with one input and `amount` pads by fixed margins instead
(nn.ZeroPad2d / nn.ConstantPad2d).

The two-input forms emit calls of small helper functions that read the sizes at run time,
so the generated module still aligns correctly when fed another input size.
Memory: `crop` is a slice, a view of x's storage (U-Net's crops allocate nothing); `pad` makes a
new tensor; neither keeps anything for backward. Receptive field: only x's values reach the
output (ref gives a shape), each output position reading one x position, shifted by the margin.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BeforeValidator

from ..shapes import expect_rank, format_shape
from .base import (
    Call,
    Float,
    Input,
    Op,
    OpParams,
    ShapeError,
    Support,
    _integral,
    module_call,
    register_op,
    shift_reads,
)

CROP_SUPPORT = Support(("crop_to",), '''
def crop_to(x, ref):
    """Centre-crop x (N, C, H, W) to the H×W of ref; an odd excess loses its last row/column."""
    h, w = ref.shape[-2], ref.shape[-1]
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[..., top : top + h, left : left + w]
''')

PAD_SUPPORT = Support(("pad_to",), '''
def pad_to(x, ref, value=0.0):
    """Pad x (N, C, H, W) with `value` to the H×W of ref; an odd excess goes to the bottom/right."""
    dh, dw = ref.shape[-2] - x.shape[-2], ref.shape[-1] - x.shape[-1]
    return nn.functional.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2), value=value)
''')


def _check_pair(x: tuple, ref: tuple, kind: str) -> None:
    expect_rank(x, 3, kind)
    expect_rank(ref, 3, kind)


@register_op
class Crop(Op):
    kind = "crop"
    aliases = ("crop_to",)
    family = "reshape"
    min_inputs = 2
    max_inputs = 2
    doc = "centre-crop the first input to the H×W of the second (`from: [x, ref]`), as U-Net's skips"

    def infer_shape(self, in_shapes):
        x, ref = in_shapes
        _check_pair(x, ref, self.kind)
        if x[1] < ref[1] or x[2] < ref[2]:
            raise ShapeError(
                f"crop makes {format_shape(x)} smaller; it cannot reach the H×W of {format_shape(ref)}",
                "use `pad` to enlarge a smaller map, or swap the inputs (`from: [larger, reference]`)",
            )
        return (x[0], ref[1], ref[2])

    def emit_support(self):
        return (CROP_SUPPORT,)

    def emit_forward(self, in_shapes):
        return Call("crop_to", (Input(0), Input(1)))

    def label(self, in_shapes, out_shape):
        return f"Crop → {out_shape[1]}×{out_shape[2]}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return 0  # a slice: a view of x

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def value_inputs(self, n):
        return (0,)

    def reads(self, in_shapes, out_shape):
        x = in_shapes[0]
        return tuple(shift_reads((x[1 + a] - out_shape[1 + a]) // 2) for a in range(2))


def _amount(value):
    if isinstance(value, (list, tuple)):
        if len(value) not in (2, 4):
            raise ValueError(f"Expected an int, [h, w] or [left, right, top, bottom]; received {list(value)!r}")
        return tuple(_integral(v) for v in value)
    return _integral(value)


Amount = Annotated[int | tuple[int, int] | tuple[int, int, int, int], BeforeValidator(_amount)]


class PadParams(OpParams):
    amount: Amount | None = None
    value: Float = 0.0


def _margins(amount) -> tuple[int, int, int, int]:
    """(left, right, top, bottom), torch.nn.functional.pad's order for the last two dims."""
    if isinstance(amount, int):
        return (amount,) * 4
    if len(amount) == 2:
        return (amount[1], amount[1], amount[0], amount[0])
    return tuple(amount)


@register_op
class Pad(Op):
    kind = "pad"
    aliases = ("pad_to",)
    family = "reshape"
    Params: ClassVar[type[OpParams]] = PadParams
    p: PadParams  # the validated params, typed for this op
    min_inputs = 1
    max_inputs = 2
    doc = ("pad the first input to the H×W of the second (`from: [x, ref]`), or by `amount` "
           "(int, [h, w] or [left, right, top, bottom]) with one input; `value` fills (default 0)")

    def infer_shape(self, in_shapes):
        if len(in_shapes) == 2:
            x, ref = in_shapes
            _check_pair(x, ref, self.kind)
            if self.p.amount is not None:
                raise ShapeError("pad takes `amount` or a reference input, not both",
                                 "drop `amount` to pad to the reference's size, or drop the second input")
            if x[1] > ref[1] or x[2] > ref[2]:
                raise ShapeError(
                    f"pad makes {format_shape(x)} larger; it cannot reach the H×W of {format_shape(ref)}",
                    "use `crop` to shrink a larger map, or swap the inputs (`from: [smaller, reference]`)",
                )
            return (x[0], ref[1], ref[2])
        (x,) = in_shapes
        expect_rank(x, 3, self.kind)
        if self.p.amount is None:
            raise ShapeError("pad needs `amount` or a second, reference input",
                             "write `pad: {amount: 1}` or `pad: {from: [x, ref]}`")
        left, right, top, bottom = _margins(self.p.amount)
        h, w = x[1] + top + bottom, x[2] + left + right
        if h <= 0 or w <= 0:
            raise ShapeError(f"padding {format_shape(x)} by amount={self.p.amount} leaves {h}×{w}")
        return (x[0], h, w)

    def emit_support(self):
        return (PAD_SUPPORT,) if self.p.amount is None else ()

    def emit_module(self, in_shapes, out_shape):
        if len(in_shapes) == 2:
            return None
        margins = _margins(self.p.amount)
        margin = margins[0] if len(set(margins)) == 1 else margins
        if self.p.value == 0:
            return module_call("nn.ZeroPad2d", ("padding", margin))
        return module_call("nn.ConstantPad2d", ("padding", margin), ("value", self.p.value))

    def emit_forward(self, in_shapes):
        if len(in_shapes) == 1:
            return super().emit_forward(in_shapes)
        value = (self.p.value,) if self.p.value != 0 else ()
        return Call("pad_to", (Input(0), Input(1), *value))

    def label(self, in_shapes, out_shape):
        return f"Pad → {out_shape[1]}×{out_shape[2]}"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        return []

    def value_inputs(self, n):
        return (0,)

    def reads(self, in_shapes, out_shape):
        if len(in_shapes) == 2:
            before = [(out_shape[1 + a] - in_shapes[0][1 + a]) // 2 for a in range(2)]
        else:
            left, _, top, _ = _margins(self.p.amount)
            before = [top, left]
        return tuple(shift_reads(-before[a]) for a in range(2))
