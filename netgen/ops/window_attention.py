"""Shifted-window multi-head self-attention over a channels-last map (`window_attention`, alias
`swin_attention`): Swin, Liu et al. 2021 (arXiv:2103.14030), and Swin v2's cosine attention with
a continuous position bias, Liu et al. 2022 (arXiv:2111.09883), emitted as torchvision's
`ShiftedWindowAttention` / `ShiftedWindowAttentionV2` (their parameters and state_dict: `qkv`,
`proj`, `relative_position_bias_table` or v2's `logit_scale` and `cpb_mlp`, and the buffers
`relative_position_index` and v2's `relative_coords_table`; the classes are in
ops/window_attention_support.py).

The input is an H×W×C map (channels last); the output has its shape. The map is cut into
`window` (h×w) windows and each attends over itself with `heads` heads (heads must divide C).
`shift` rolls the map by (sh, sw) first and back after, so that windows straddle the previous
block's borders; pairs the roll brought together from opposite edges are masked (-100 before
the softmax, torchvision's value). As torchvision does, a map whose side is not a multiple of
the window is padded with zeros at the bottom and right (`pad: true`; without it that is an
error), and there is no shift along an axis where one window covers the (padded) map.
`version: 2` is Swin v2's attention: cosine similarity times a learned per-head temperature
(at most 100), and a bias from a 2→512→heads MLP of the log-spaced relative offsets.

Costs, per sample, over the padded map of P = Hp·Wp positions and n = h·w per window: MACs of
the q|k|v and output projections (4·P·C²) and of the two attention products QKᵀ and weights
times V (each P·n·C over all heads: 2·P·n·C); v2 adds its bias MLP over the (2h-1)(2w-1)
offsets ((2h-1)(2w-1)·(2·512 + 512·heads)), which does not depend on the batch. torchvision's
published GFLOPS for Swin count exactly these (tests/test_library_zoo_swin.py); `product_macs` is
the products' part (two activations multiplied), which the summary shows apart.

Memory: the unfused arithmetic (torchvision's): backward keeps the windows (for the q|k|v
weight gradient), q and k (scaled, or normalised in v2), the softmax's output, v, the
attention output before its projection, and the relative position index's gather; see
`saved_for_backward`. Receptive field: each position reads its own window (a shifted one in a
shifted block), so a stack widens the field by a window per block; where one window covers the
map it is global.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from ..shapes import CHANNELS_LAST, ShapeError, expect_kind, pair
from .base import GLOBAL, Buffers, Float, IntPair, Op, OpParams, PosInt, Reads, Saved, module_call, register_op
from .window_attention_support import WINDOW_ATTENTION, WINDOW_ATTENTION_V2

CPB_HIDDEN = 512  # the width of v2's position-bias MLP (torchvision's and the paper's)


class WindowAttentionParams(OpParams):
    heads: PosInt
    window: IntPair
    shift: IntPair = 0
    version: Literal[1, 2] = 1
    qkv_bias: bool = True
    proj_bias: bool = True
    dropout: Annotated[Float, Field(ge=0.0, lt=1.0)] = 0.0
    attention_dropout: Annotated[Float, Field(ge=0.0, lt=1.0)] = 0.0
    pad: bool = False

    @model_validator(mode="after")
    def _check(self):
        window, shift = pair(self.window), pair(self.shift)
        if min(window) < 1:
            raise ValueError(f"Expected a positive window; received window={list(window)}")
        if min(shift) < 0 or any(s >= w for s, w in zip(shift, window, strict=True)):
            raise ValueError(f"Expected a shift from 0 to the window less 1; received shift={list(shift)} "
                             f"for window={list(window)}")
        if self.version == 2 and min(window) < 2:
            raise ValueError(f"Expected a window of at least 2 for version 2 (its offsets are scaled by the window "
                             f"less 1); received window={list(window)}")
        return self


@register_op
class WindowAttention(Op):
    kind = "window_attention"
    aliases = ("swin_attention",)
    family = "linear"  # learned projections; the diagram shows it beside linear layers and attention
    Params: ClassVar[type[OpParams]] = WindowAttentionParams
    p: WindowAttentionParams  # the validated params, typed for this op
    doc = ("shifted-window self-attention over an H×W×C map (Swin's, torchvision's ShiftedWindowAttention): heads, "
           "window, shift, version (2: cosine attention, continuous position bias), qkv_bias, proj_bias, dropout, "
           "attention_dropout, pad")

    # -- geometry --------------------------------------------------------------------------
    def padded(self, shape) -> tuple[int, int]:
        (wh, ww), (h, w) = pair(self.p.window), shape[:2]
        return h + -h % wh, w + -w % ww

    def effective_shift(self, shape) -> tuple[int, int]:
        """torchvision's rule: no shift along an axis that one window covers (padded)."""
        ph, pw = self.padded(shape)
        (wh, ww), (sh, sw) = pair(self.p.window), pair(self.p.shift)
        return (sh if wh < ph else 0), (sw if ww < pw else 0)

    def offsets(self) -> int:
        wh, ww = pair(self.p.window)
        return (2 * wh - 1) * (2 * ww - 1)

    # -- shape -----------------------------------------------------------------------------
    def infer_shape(self, in_shapes):
        shape = in_shapes[0]
        expect_kind(shape, CHANNELS_LAST, "window_attention",
                    "move a C×H×W map's channels last first: `permute: {dims: [1, 2, 0]}`")
        h, w, c = shape
        if c % self.p.heads:
            raise ShapeError(f"window_attention heads={self.p.heads} does not divide the channels {c}",
                             f"choose a head count that divides {c}")
        wh, ww = pair(self.p.window)
        if not self.p.pad and (h % wh or w % ww):
            raise ShapeError(f"window {wh}×{ww} does not tile the {h}×{w} map",
                             "choose a window that divides the map, or `pad: true` to pad the map with zeros "
                             "to whole windows, as torchvision's Swin does")
        return shape

    # -- costs -----------------------------------------------------------------------------
    def param_count(self, in_shapes, out_shape):
        c = in_shapes[0][2]
        count = 4 * c * c + (3 * c if self.p.qkv_bias else 0) + (c if self.p.proj_bias else 0)
        if self.p.version == 1:
            return count + self.offsets() * self.p.heads  # relative_position_bias_table
        return count + self.p.heads + 2 * CPB_HIDDEN + CPB_HIDDEN + CPB_HIDDEN * self.p.heads  # logit_scale, cpb_mlp

    def buffers(self, in_shapes, out_shape):
        wh, ww = pair(self.p.window)
        index = (wh * ww) ** 2  # relative_position_index (int64): one table row per (query, key) pair
        coords = 2 * self.offsets() if self.p.version == 2 else 0  # v2: relative_coords_table (float)
        return Buffers(floating=coords, int64=index)

    def macs(self, in_shapes, out_shape):
        ph, pw = self.padded(in_shapes[0])
        c, positions = in_shapes[0][2], ph * pw
        total = 4 * positions * c * c + self.product_macs(in_shapes, out_shape)  # projections, then the products
        if self.p.version == 2:
            total += self.offsets() * (2 * CPB_HIDDEN + CPB_HIDDEN * self.p.heads)  # the bias MLP, once per pass
        return total

    def product_macs(self, in_shapes, out_shape):
        ph, pw = self.padded(in_shapes[0])
        n = pair(self.p.window)[0] * pair(self.p.window)[1]
        return 2 * ph * pw * n * in_shapes[0][2]  # QKᵀ and weights × V, n keys per position, over all heads

    def other_flops(self, in_shapes, out_shape):
        ph, pw = self.padded(in_shapes[0])
        c, positions = in_shapes[0][2], ph * pw
        n = pair(self.p.window)[0] * pair(self.p.window)[1]
        scores = self.p.heads * positions * n
        masked = scores if any(self.effective_shift(in_shapes[0])) else 0
        # softmax (max, exp, divide), the bias and the mask; v1 scales q, v2 normalises q and k
        # (square, sum, divide: 3 per element of each) and scales the scores
        per_version = positions * c if self.p.version == 1 else 6 * positions * c + scores
        return 3 * scores + scores + masked + per_version

    # -- emission --------------------------------------------------------------------------
    def emit_support(self):
        return (WINDOW_ATTENTION,) if self.p.version == 1 else (WINDOW_ATTENTION, WINDOW_ATTENTION_V2)

    def emit_module(self, in_shapes, out_shape):
        # passed always, the defaults left out when printed: a block class writes
        # `attention_dropout=attention_dropout` whatever its instances' rates (dropping an option
        # whose value equals its default built a class that ignored the param)
        defaults = {"qkv_bias": True, "proj_bias": True, "attention_dropout": 0.0, "dropout": 0.0}
        target = "ShiftedWindowAttention" if self.p.version == 1 else "ShiftedWindowAttentionV2"
        return module_call(target, ("dim", in_shapes[0][2]), defaults=defaults, window_size=list(pair(self.p.window)),
                           shift_size=list(pair(self.p.shift)), num_heads=self.p.heads, qkv_bias=self.p.qkv_bias,
                           proj_bias=self.p.proj_bias, attention_dropout=self.p.attention_dropout,
                           dropout=self.p.dropout)

    def label(self, in_shapes, out_shape):
        wh, ww = pair(self.p.window)
        shift = self.effective_shift(in_shapes[0])
        shifted = f", shift {shift[0]}" + (f"×{shift[1]}" if shift[1] != shift[0] else "") if any(shift) else ""
        return f"{'Window attention' if self.p.version == 1 else 'Window attention v2'} {wh}×{ww}{shifted}, " \
               f"{self.p.heads} heads"

    # -- memory and receptive field --------------------------------------------------------
    autocast = "lower"

    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        # measured against autograd (tests/test_ops_generic.py); P positions of C features
        h, w, c = in_shapes[0]
        (ph, pw), (wh, ww) = self.padded(in_shapes[0]), pair(self.p.window)
        positions, heads, n = ph * pw, self.p.heads, wh * ww
        moved = (ph, pw) != (h, w) or any(self.effective_shift(in_shapes[0]))  # cut from a padded or rolled copy
        cut_is_view = pw == ww or wh == 1  # cutting the windows moves no data
        tokens, scores = (positions, c), (heads * positions * n,)
        kept = [Saved.input(0, cast=True) if cut_is_view and not moved else Saved.new(tokens), Saved.weight(3 * c * c)]
        # a single head's k and v are strided views of q|k|v that the products read in place
        qkv = [Saved.new((3 * positions * c,))] if heads == 1 or self.p.version == 2 else []
        if self.p.version == 1:
            kept += [Saved.new(tokens)] + (qkv if heads == 1 else [Saved.new(tokens), Saved.new(tokens)])  # q, k, v
        else:
            offsets = self.offsets()
            kept += qkv + [Saved.new((heads * positions,))] * 4  # normalize: q|k|v, norms and their clamps
            kept += [Saved.new(tokens), Saved.new(tokens)]  # the normalised q and k
            kept += [Saved.new((heads,), "autocast_float32", batched=False), Saved.new(scores)]  # temperature, cosine
            kept += [Saved.new((2 * offsets,), batched=False, autocast_only=True),  # the bias MLP's input, cast
                     Saved.new((CPB_HIDDEN * offsets,), batched=False), Saved.weight(CPB_HIDDEN * heads),
                     Saved.new((heads * n * n,), batched=False)]  # its hidden layer and sigmoid
            kept += [] if heads == 1 else [Saved.new(tokens)]  # v
        kept.append(Saved.new(scores, "autocast_float32"))  # the softmax's output
        if self.p.attention_dropout:
            # torch's CPU dropout keeps its noise in its input's dtype; the product keeps the
            # dropped weights (under autocast, their low-precision copy)
            kept += [Saved.new(scores, "autocast_float32"), Saved.new(scores)]
        else:
            kept.append(Saved.new(scores, autocast_only=True))  # the weights cast for the product with v
        kept += [Saved.new(tokens), Saved.weight(c * c)]  # the projection's input and weight
        if self.p.dropout:
            kept.append(Saved.new(tokens))  # the noise
        return kept

    def reads(self, in_shapes, out_shape):
        ph, pw = self.padded(in_shapes[0])
        window = pair(self.p.window)
        if window[0] >= ph and window[1] >= pw:
            return GLOBAL  # one window covers the map
        return tuple(_window_axis(m, s) for m, s in zip(window, self.effective_shift(in_shapes[0]), strict=True))


EXACT_WINDOW = 4096  # the longest window described exactly (its period is the window)


def _window_axis(size: int, shift: int) -> Reads:
    """Along one axis: position o reads the window holding it. Windows start at shift + k·size (the
    roll by -shift, then back), so o = q·size + r reads from q·size + shift (r ≥ shift) or from
    (q-1)·size + shift (r < shift), through size - 1 further on; the roll's wrapped pieces are
    masked, so at the map's edges the window is cut off there, as an unbounded canvas has it.
    A window longer than EXACT_WINDOW (a hostile blueprint's) is bounded by what any window
    holding o can reach, o - (size - 1) ... o + size - 1, so that no analysis builds a huge period."""
    if size > EXACT_WINDOW:
        return Reads(1, 1, (1 - size,), (size - 1,))
    first = tuple(shift if r >= shift else shift - size for r in range(size))
    return Reads(size, size, first, tuple(f + size - 1 for f in first))
