"""Receptive field: which input pixels each output position of a node depends on, exactly.

Per spatial axis, a node's field is, for every output position o, the interval of input pixels
[lo(o), hi(o)] it reads, on an unbounded canvas (padding does not shrink it: the field may
extend past the image border, the convention of Araujo, Norris & Sim, "Computing Receptive
Fields of Convolutional Neural Networks", Distill 2019). Each op says which positions of its
value inputs an output position reads (`Op.reads`, a periodic `Reads`; shape-only inputs such
as crop's reference are left out, `Op.value_inputs`), so the fields compose exactly:

    lo_out(o) = min lo_in(i),  hi_out(o) = max hi_in(i)   over the inputs i that o reads

Every such map is periodic: lo(o + P) = lo(o) + Q, so one period of P positions describes the
node. The **size** is hi − lo + 1, a range min–max where it depends on the position (after a
transposed conv with stride s, P = s); the **stride** is Q / P input pixels between neighbours.
For a plain conv stack this is the standard recurrence r_out = r_in + (k − 1)·d·j_in,
j_out = j_in·s. An op whose outputs mix every position (global pooling, a linear layer) makes
the field global, and so is everything downstream of one; where branches merge the field is the
union over the value inputs. Maps from a vector (there are none in the library) have no field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar

from ..graph import Graph, OpNode
from ..limits import MAX_FIELD_PERIOD
from ..ops.traits import GLOBAL as MIXES_ALL
from ..ops.traits import POINTWISE, AdaptiveReads, Reads
from ..shapes import Shape, axes_of

if TYPE_CHECKING:
    from ..ops.base import Op

T = TypeVar("T")


@dataclass(frozen=True)
class Axis:
    """One axis of a field: over one period of output positions, the input interval each reads.

    A period longer than MAX_FIELD_PERIOD is not followed position by position: `lo` and `hi`
    are then empty, the stride (advance / period) stays exact, and `bounds` holds the smallest
    and largest size where a closed form gives them (None: not known)."""

    period: int
    advance: int
    lo: tuple[int, ...]
    hi: tuple[int, ...]  # hi < lo: reads no input (a transposed conv with k < stride)
    bounds: tuple[int, int] | None = None  # only for an axis not followed

    @property
    def followed(self) -> bool:
        return len(self.lo) == self.period

    def at(self, o: int) -> tuple[int, int]:
        q, r = divmod(o, self.period)
        return self.lo[r] + q * self.advance, self.hi[r] + q * self.advance

    def sizes(self) -> list[int]:
        return [h - lo + 1 for lo, h in zip(self.lo, self.hi, strict=True) if h >= lo]

    def size_range(self) -> tuple[int, int] | None:
        if not self.followed:
            return self.bounds
        sizes = self.sizes()
        return min(sizes, default=0), max(sizes, default=0)


START_AXIS = Axis(1, 1, (0,), (0,))


def _unfollowed(period: int, advance: int, bounds: tuple[int, int] | None = None) -> Axis:
    g = math.gcd(period, advance)  # one phase table is gone: only the stride is left to keep
    return Axis(period // g, advance // g, (), (), bounds)


def _adaptive_bounds(axis: Axis, reads: Reads) -> tuple[int, int] | None:
    """Smallest and largest field after adaptive pooling from n to m positions (m ∤ n) of a map
    whose positions all see fields of one size, `step` apart: output o reads w(o) = ceil((o+1)n/m)
    − floor(o·n/m) inputs. With n = q·m + r (0 < r < m) and g = gcd(n, m), w − q is 1 at o = 0 and
    2 where frac(o·r/m) > 1 − r/m; frac(o·r/m) runs over the multiples of g/m below 1, so 2
    occurs iff r > g. The field spans size + step·(w − 1) pixels."""
    if not (isinstance(reads, AdaptiveReads) and axis.followed and axis.period == 1 and axis.hi[0] >= axis.lo[0]):
        return None
    q, r = divmod(reads.n_in, reads.n_out)
    g = math.gcd(reads.n_in, reads.n_out)
    size, step = axis.hi[0] - axis.lo[0] + 1, axis.advance
    widest = q + 2 if r > g else q + 1
    return size + step * q, size + step * (widest - 1)


def _through(axis: Axis, reads: Reads) -> Axis:
    """The field after an op that reads `reads` of a map whose field is `axis`."""
    if reads == POINTWISE:
        return axis
    repeat = axis.period // math.gcd(axis.period, reads.advance) if reads.advance else 1
    period = reads.period * repeat
    advance = axis.advance * (repeat * reads.advance) // axis.period if reads.advance else 0
    if not axis.followed or period > MAX_FIELD_PERIOD:
        return _unfollowed(period, advance, _adaptive_bounds(axis, reads))
    lo, hi = [], []
    for o in range(period):
        first, last = reads.span(o)
        if last - first + 1 <= axis.period:
            spans = [axis.at(i) for i in range(first, last + 1)]
            spans = [s for s in spans if s[1] >= s[0]]
        else:
            spans = _extremes(axis, first, last)
        lo.append(min((s[0] for s in spans), default=1))
        hi.append(max((s[1] for s in spans), default=0))
    return Axis(period, advance, tuple(lo), tuple(hi))


def _extremes(axis: Axis, first: int, last: int) -> list[tuple[int, int]]:
    """The lowest and highest pixel read by positions first...last, one period's work however long
    the span (a huge kernel or window): fields only move forward (advance >= 0), so for each
    phase r of the period the first position with that phase reads lowest, the last highest."""
    spans = []
    for r in range(axis.period):
        if axis.hi[r] < axis.lo[r]:
            continue  # positions of this phase read nothing
        low = first + (r - first) % axis.period
        high = last - (last - r) % axis.period
        spans.append((axis.at(low)[0], axis.at(high)[1]))
    return spans


def _union(axes: list[Axis]) -> Axis | None:
    """The field of a per-position merge; None when the inputs step differently (broadcast)."""
    if len(axes) == 1:
        return axes[0]
    first = axes[0]
    # the same step advance/period (periods are positive), compared without Fractions: hashing
    # and comparing Fractions was most of the receptive-field pass (ResNet-152's 50 merges)
    if any(a.advance * first.period != first.advance * a.period for a in axes[1:]):
        return None
    period = math.lcm(*(a.period for a in axes))
    advance = axes[0].advance * period // axes[0].period
    if period > MAX_FIELD_PERIOD or not all(a.followed for a in axes):
        return _unfollowed(period, advance)
    lo, hi = [], []
    for o in range(period):
        spans = [a.at(o) for a in axes]
        spans = [s for s in spans if s[1] >= s[0]]
        lo.append(min((s[0] for s in spans), default=1))
        hi.append(max((s[1] for s in spans), default=0))
    return Axis(period, advance, tuple(lo), tuple(hi))


@dataclass(frozen=True)
class Field:
    """The receptive field of one node's outputs, per axis (H, W), relative to the input."""

    axes: tuple[Axis, Axis] | None  # None when global or when there is no spatial input
    is_global: bool = False

    def _per_axis(self, measure: Callable[[Axis], T]) -> tuple[T, T] | None:
        """`measure` of the H and the W axis (None without axes)."""
        if self.axes is None:
            return None
        h, w = self.axes
        return measure(h), measure(w)

    @property
    def size_known(self) -> bool:
        """False where an axis's period was too long to follow and no closed form gave its sizes."""
        return self.axes is not None and all(a.size_range() is not None for a in self.axes)

    @property
    def size_min(self) -> tuple[int, int] | None:
        return self._per_axis(lambda a: r[0] if (r := a.size_range()) else 0) if self.size_known else None

    @property
    def size_max(self) -> tuple[int, int] | None:
        return self._per_axis(lambda a: r[1] if (r := a.size_range()) else 0) if self.size_known else None

    @property
    def size_int(self) -> tuple[int, int] | None:
        """The largest field per axis (the size, where it does not depend on the position)."""
        return self.size_max

    @property
    def stride(self) -> tuple[Fraction, Fraction] | None:
        return self._per_axis(lambda a: Fraction(a.advance, a.period))

    @property
    def stride_value(self) -> tuple[int | float, int | float] | None:
        def value(a: Axis) -> int | float:
            # float(Fraction(advance, period)), as int division rounds it (correctly) too
            return a.advance // a.period if a.advance % a.period == 0 else a.advance / a.period

        return self._per_axis(value)

    @property
    def varies(self) -> bool:
        return self.axes is not None and self.size_min != self.size_max

    def text(self) -> str:
        if self.is_global:
            return "global"
        ranges, strides = self._per_axis(Axis.size_range), self.stride_value
        if ranges is None or strides is None:
            return ""
        sh, sw = strides
        # "?": a period too long to follow with no closed form for its sizes (docs/analysis.md)
        per_axis = [f"{r[0]}" if r and r[0] == r[1] else f"{r[0]}–{r[1]}" if r else "?" for r in ranges]
        size = per_axis[0] if per_axis[0] == per_axis[1] else f"{per_axis[0]}×{per_axis[1]}"
        stride = f"{sh:g}" if sh == sw else f"{sh:g}×{sw:g}"
        return f"{size}/{stride}"

    def as_json(self) -> dict | None:
        if not self.is_global and self.axes is None:
            return None
        if self.is_global:
            return {"size": None, "size_min": None, "size_max": None, "stride": None, "global": True}
        # each axis's size range once (size_min and size_max would find it three times each)
        ranges, strides = self._per_axis(Axis.size_range), self.stride_value
        assert ranges is not None and strides is not None  # axes is set: not global
        h, w = ranges
        lows, highs = ([h[0], w[0]], [h[1], w[1]]) if h is not None and w is not None else (None, None)
        return {"size": highs, "size_min": lows, "size_max": None if highs is None else list(highs),
                "stride": list(strides), "global": False}


GLOBAL = Field(None, True)
NONE = Field(None, False)
START = Field((START_AXIS, START_AXIS))


def node_field(op: Op, in_shapes: list[Shape], out_shape: Shape, in_fields: list[Field]) -> Field:
    """The field of one op's output from its value inputs' fields (the module docstring's rule)."""
    values = [in_fields[i] for i in op.value_inputs(len(in_fields))]
    if any(f.is_global for f in values):
        return GLOBAL
    known = [(i, f.axes) for i, f in zip(op.value_inputs(len(in_fields)), values, strict=True) if f.axes is not None]
    if not known:
        return NONE
    reads = op.reads(in_shapes, out_shape)
    if isinstance(reads, str):  # MIXES_ALL, the one word an op may answer
        assert reads == MIXES_ALL, reads
        return GLOBAL
    axes: list[Axis] = []
    for a in range(2):
        mapped = [_through(field[a], _broadcast(reads[a], in_shapes[i], out_shape, a)) for i, field in known]
        merged = _union(mapped)
        if merged is None:
            return GLOBAL  # a map broadcast over positions (an SE gate) mixes its whole field in
        axes.append(merged)
    return Field((axes[0], axes[1]))


def _broadcast(reads: Reads, in_shape: Shape, out_shape: Shape, axis: int) -> Reads:
    """An input of size 1 along a spatial axis (H or W, wherever the tensor's axes put it: a
    channels-last map has them first) of a larger output is read at 0 everywhere."""
    letter = "HW"[axis]
    ins, outs = axes_of(in_shape), axes_of(out_shape)
    if letter in ins and letter in outs and in_shape[ins.index(letter)] == 1 and out_shape[outs.index(letter)] > 1:
        return Reads(1, 0, (0,), (0,))
    return reads


def receptive_fields(graph: Graph) -> dict[str, Field]:
    """The field of every node's output (inputs included), in one topological pass."""
    fields: dict[str, Field] = {}
    for node in graph.topological():
        data = graph[node]
        if data.kind == "input":
            fields[node] = START if len(data.shape) == 3 else NONE
            continue
        ins = [fields[i] for i in graph.inputs_of(node)]
        if not isinstance(data, OpNode):  # an output
            fields[node] = ins[0] if ins else NONE
            continue
        fields[node] = node_field(data.op, data.in_shapes, data.shape, ins)
    return fields
