"""Receptive field: how much of the input, and at what spacing, one output position sees.

The standard recurrence (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019), per spatial axis, for a window op with kernel k, stride s
and dilation d applied to a map whose positions are j input pixels apart and each see r:

    r_out = r_in + (k - 1) * d * j_in        j_out = j_in * s

starting from r = j = 1 at the input. Padding does not change the size (the field may
extend past the image border); ops that act per position (activations, norms, element-wise
merges) keep r and j. Where branches merge, the field is the largest over the incoming
paths. An op that mixes every position into each output (global pooling to 1x1, a linear
layer on a flattened map, and anything downstream of one) has a *global* field: every
output sees the whole input. `flatten` only relabels positions, so it keeps the field.
Ops without `window()` that still resize the map (adaptive pooling) use torch's adaptive
windows: the largest window `ceil((i+1)*n/m) - floor(i*n/m)` and stride n/m. Ops that
only move positions (`crop`, `pad`) keep the field. Upsampling divides the step by the
scale; a transposed conv (kernel k, stride s, dilation d) mixes at most
ceil(((k-1)*d + 1) / s) input positions per output, so r grows by that count minus one
input steps and j is divided by s; bilinear upsampling reads two neighbours per axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..graph import Graph
from ..shapes import pair


@dataclass(frozen=True)
class Field:
    """The receptive field of one node's outputs, per axis (H, W), relative to the input."""

    size: tuple[Fraction, Fraction] | None  # None when global or unknown
    stride: tuple[Fraction, Fraction] | None
    is_global: bool = False

    @property
    def size_int(self) -> tuple[int, int] | None:
        return None if self.size is None else tuple(math.ceil(v) for v in self.size)

    @property
    def stride_value(self) -> tuple[int | float, int | float] | None:
        if self.stride is None:
            return None
        return tuple(int(v) if v.denominator == 1 else float(v) for v in self.stride)

    def text(self) -> str:
        if self.is_global:
            return "global"
        if self.size is None:
            return ""
        (h, w), (sh, sw) = self.size_int, self.stride_value
        size = f"{h}" if h == w else f"{h}×{w}"
        stride = f"{sh:g}" if sh == sw else f"{sh:g}×{sw:g}"
        return f"{size}/{stride}"

    def as_json(self) -> dict | None:
        if not self.is_global and self.size is None:
            return None
        return {"size": list(self.size_int) if self.size else None,
                "stride": list(self.stride_value) if self.stride else None, "global": self.is_global}


GLOBAL = Field(None, None, True)
NONE = Field(None, None, False)
START = Field((Fraction(1), Fraction(1)), (Fraction(1), Fraction(1)))


def adaptive_window(n_in: int, n_out: int) -> tuple[int, Fraction]:
    """Largest window and stride of torch's adaptive pooling from n_in to n_out positions."""
    largest = max(math.ceil((i + 1) * n_in / n_out) - (i * n_in) // n_out for i in range(n_out))
    return largest, Fraction(n_in, n_out)


def _slide(field: Field, kernel, stride, dilation) -> Field:
    size = tuple(field.size[a] + (kernel[a] - 1) * dilation[a] * field.stride[a] for a in range(2))
    step = tuple(field.stride[a] * stride[a] for a in range(2))
    return Field(size, step)


def _transposed(field: Field, kernel, stride, dilation) -> Field:
    reach = [math.ceil(((kernel[a] - 1) * dilation[a] + 1) / stride[a]) - 1 for a in range(2)]
    size = tuple(field.size[a] + reach[a] * field.stride[a] for a in range(2))
    return Field(size, tuple(field.stride[a] / stride[a] for a in range(2)))


def _largest(fields: list[Field]) -> Field:
    if any(f.is_global for f in fields):
        return GLOBAL
    known = [f for f in fields if f.size is not None]
    if not known:
        return NONE
    size = tuple(max(f.size[a] for f in known) for a in range(2))
    step = tuple(max(f.stride[a] for f in known) for a in range(2))
    return Field(size, step)


def node_field(op, in_shapes, out_shape, in_fields: list[Field]) -> Field:
    """The field of one op's output from its inputs' fields (the rule in the module docstring)."""
    merged = _largest(in_fields)
    if merged.is_global or merged.size is None:
        return merged
    window = op.window()
    spatial_in = [s for s in in_shapes if len(s) == 3]
    if window is not None and spatial_in:
        return _slide(merged, *window)
    if op.kind == "convT" and spatial_in:
        return _transposed(merged, pair(op.p.k), pair(op.p.stride), pair(op.p.dilation))
    if len(out_shape) != 3:
        # flatten and friends only relabel positions; a linear layer mixes them all
        return merged if op.family == "reshape" else GLOBAL
    if not spatial_in:
        return GLOBAL  # a map made from a vector (unflatten) sees what the vector saw
    src = spatial_in[0]
    if tuple(src[1:]) == tuple(out_shape[1:]) or op.family == "reshape":
        return merged  # per position (activation, norm, merge) or moved positions (crop, pad)
    if op.kind == "upsample":
        reach = 1 if getattr(op.p, "mode", "nearest") == "bilinear" else 0
        size = tuple(merged.size[a] + reach * merged.stride[a] for a in range(2))
        return Field(size, tuple(merged.stride[a] * Fraction(src[1 + a], out_shape[1 + a]) for a in range(2)))
    if tuple(out_shape[1:]) == (1, 1):
        return GLOBAL  # global pooling
    kernel, stride = zip(*(adaptive_window(src[1 + a], out_shape[1 + a]) for a in range(2)), strict=True)
    return _slide(merged, kernel, stride, (1, 1))


def receptive_fields(graph: Graph) -> dict[str, Field]:
    """The field of every node's output (inputs included), in one topological pass."""
    fields: dict[str, Field] = {}
    for node in graph.topological():
        data = graph[node]
        if data["kind"] == "input":
            fields[node] = START if len(data["shape"]) == 3 else NONE
            continue
        ins = [fields[i] for i in graph.inputs_of(node)]
        if data["kind"] == "output":
            fields[node] = ins[0] if ins else NONE
            continue
        fields[node] = node_field(data["op"], data["in_shapes"], data["shape"], ins)
    return fields
