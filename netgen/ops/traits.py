"""What an op tells the memory and receptive-field analyses about itself, as plain data.

* `Saved`: one tensor that autograd keeps for the op's backward pass (torch's
  `SavedVariable`: what `torch.autograd.graph.saved_tensors_hooks` sees). An op lists them in
  `Op.saved_for_backward`; the analysis resolves each to a storage (an input's, the output's, or
  a new one), so that a storage kept by several ops is counted once, as torch keeps it once.
* `Reads`: which input positions, along one spatial axis, each output position reads. Output
  position `o` reads inputs `first[o % period] + (o // period) * advance` through
  `last[o % period] + (o // period) * advance` (an empty range when first > last). Every
  resampling op is periodic this way on an unbounded canvas: a conv with stride s has period 1
  and advance s, a transposed conv with stride s period s and advance 1, adaptive pooling from
  n to m positions period m/g and advance n/g (g = gcd(n, m)).
* `Buffers`: how many elements of non-trainable state an op's module holds (`module.buffers()`:
  the state_dict's buffers and the non-persistent ones), by dtype class, because a byte count
  needs it: float buffers follow the model's dtype, int64 ones do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Shape = tuple[int, ...]


INT64_BYTES = 8


@dataclass(frozen=True)
class Buffers:
    """Elements of an op's buffers (persistent or not: what `module.buffers()` yields), by dtype class.

    floating: float buffers (BatchNorm's running_mean and running_var, Swin v2's
              relative_coords_table): float32 as built, cast by `model.to(dtype)`.
    int64:    integer buffers (BatchNorm's num_batches_tracked, an attention's
              relative_position_index): 8 bytes each whatever the model's dtype, since
              `model.to(torch.bfloat16)` casts only floating-point tensors.
    """

    floating: int = 0
    int64: int = 0

    @property
    def count(self) -> int:
        return self.floating + self.int64

    def nbytes(self, float_bytes: int) -> int:
        """Bytes with the float buffers at `float_bytes` per element (the model's dtype)."""
        return self.floating * float_bytes + self.int64 * INT64_BYTES

    def __add__(self, other: Buffers) -> Buffers:
        return Buffers(self.floating + other.floating, self.int64 + other.int64)


@dataclass(frozen=True)
class Saved:
    """One tensor an op's backward keeps.

    what:     "input" (input `index` itself, or, with `cast`, as cast to the op's compute dtype:
              a new copy when the dtypes differ, as under autocast), "output" (the op's result),
              "new" (a tensor the op makes for its backward: indices, masks, statistics, a copy),
              "weight" (a parameter in the compute dtype: a new tensor only when that dtype is
              not the parameter's float32, i.e. under autocast), "cast" (a float32 intermediate
              that autocast copies to the compute dtype for a low-precision kernel: a new tensor
              of `shape` only when that dtype is not float32; otherwise the float32 one, which
              the op lists itself, is what is kept).
    shape:    for "new" and "weight": the shape, without the batch dimension when `batched`.
    dtype:    "compute" (the op's compute dtype, that of its output), "autocast_float32" (float32
              under autocast, else the compute dtype: the result of an op on autocast's float32
              list inside a low-precision op, such as attention's softmax), "input" (input `index`'s
              dtype: what an op computes before autocast casts it) or a torch dtype name.
    autocast_only: kept only under autocast (a low-precision copy autocast makes of such a float32
              intermediate for the next matrix product).
    if_grad:  kept only when one of these inputs requires grad (torch saves `other` of `a * b`
              only for the gradient of `a`); None: whenever the op records a backward at all.
    """

    what: Literal["input", "output", "new", "weight", "cast"]
    index: int = 0
    shape: Shape = ()
    dtype: str = "compute"
    batched: bool = True
    cast: bool = False
    if_grad: tuple[int, ...] | None = None
    autocast_only: bool = False

    @classmethod
    def input(cls, index: int = 0, cast: bool = False, if_grad: tuple[int, ...] | None = None) -> Saved:
        return cls("input", index=index, cast=cast, if_grad=if_grad)

    @classmethod
    def output(cls) -> Saved:
        return cls("output")

    @classmethod
    def new(cls, shape: Shape, dtype: str = "compute", batched: bool = True,
            if_grad: tuple[int, ...] | None = None, autocast_only: bool = False) -> Saved:
        return cls("new", shape=tuple(shape), dtype=dtype, batched=batched, if_grad=if_grad,
                   autocast_only=autocast_only)

    @classmethod
    def cast_copy(cls, shape: Shape) -> Saved:
        return cls("cast", shape=tuple(shape))

    @classmethod
    def weight(cls, numel: int, if_grad: tuple[int, ...] | None = None) -> Saved:
        return cls("weight", shape=(numel,), batched=False, if_grad=if_grad)


@dataclass(frozen=True)
class Reads:
    """The input positions each output position reads along one axis (module docstring)."""

    period: int
    advance: int
    first: tuple[int, ...]
    last: tuple[int, ...]

    def span(self, o: int) -> tuple[int, int]:
        q, r = divmod(o, self.period)
        return self.first[r] + q * self.advance, self.last[r] + q * self.advance


@dataclass(frozen=True)
class AdaptiveReads(Reads):
    """torch's adaptive windows from n_in to n_out positions in closed form, [floor(o·n/m),
    ceil((o+1)·n/m)), without the per-phase tuples (empty): its period m/gcd(n, m) may be
    longer than any table (adaptive pooling between huge coprime sizes)."""

    n_in: int = 1
    n_out: int = 1

    def span(self, o: int) -> tuple[int, int]:
        return o * self.n_in // self.n_out, -(-(o + 1) * self.n_in // self.n_out) - 1


POINTWISE = Reads(1, 1, (0,), (0,))
GLOBAL = "global"  # every output position mixes every input position (global pooling, linear)
KEEP = "keep"  # the output is not a map but keeps its input's field (flatten, dropout on a vector)


def window_reads(kernel: int, stride: int, dilation: int = 1, pad_before: int = 0) -> Reads:
    """A sliding window: output o reads o*stride - pad_before ... + (kernel - 1) * dilation."""
    return Reads(1, stride, (-pad_before,), (-pad_before + (kernel - 1) * dilation,))


def shift_reads(offset: int) -> Reads:
    """Output o reads input o + offset (crop: offset = the top/left margin; pad: minus it)."""
    return Reads(1, 1, (offset,), (offset,))


@dataclass(frozen=True)
class EvalAffine:
    """What an op is in eval mode when it is a per-channel affine of its input computed from its
    state, as batch norm is: y[:, c] = (x[:, c] - running_mean[c]) / sqrt(running_var[c] + eps)
    * weight[c] + bias[c] (weight and bias only when `affine`), over the channel axis (the first
    after the batch). The names are its module's state_dict entries (nn.BatchNorm2d's), which
    the inference build's state_dict converter reads (netgen/passes/inference.py)."""

    eps: float
    affine: bool


DTYPE_BYTES = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2, "int64": 8, "bool": 1}


def promote(dtypes) -> str:
    """torch's type promotion among floating dtypes: the widest wins (bf16 + fp16 -> float32)."""
    kinds = set(dtypes)
    if len(kinds) == 1:
        return kinds.pop()
    if "float64" in kinds:
        return "float64"
    return "float32"


__all__ = ["Saved", "Reads", "EvalAffine", "POINTWISE", "GLOBAL", "KEEP", "window_reads", "shift_reads", "DTYPE_BYTES",
           "promote"]
