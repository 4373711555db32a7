"""FractalNet's join (`fractal_join`): Larsson, Maire & Shakhnarovich 2017, "FractalNet:
Ultra-Deep Neural Networks without Residuals" (arXiv:1605.07648), sec. 2 and 3.1.

The join is the element-wise mean of its surviving inputs. In training it drops paths:

* local drop-path: each input is dropped with probability `p`, and at least one is kept (if
  all would be dropped, one input chosen uniformly survives);
* global drop-path: for one forward pass, a single column is chosen for the whole network,
  and every join keeps only the input that carries that column.

A training forward pass is global with probability `p_global` (the paper mixes the two
50/50 per mini-batch), otherwise local. In eval the join is the plain mean of all inputs.

How a join knows the chosen column (the design decision): the choice belongs to the whole
network, so the *generated top-level module* makes it. Its `forward` begins with
`sample_fractal_columns(self)`, which, in training, draws local-or-global and the column with
torch's RNG (deterministic under `torch.manual_seed`, no Python `random`) and sets it on every
`FractalJoin` as the 0-dim tensor `global_column` (-1 for a local pass). Nothing is threaded
through the forward signatures and nothing enters the state_dict (a plain attribute, not a
buffer). The selection itself is tensor arithmetic (no `.item()`), so torch.compile traces it
without graph breaks. A `FractalJoin` used outside a netgen top-level module does local
drop-path only, until someone calls `sample_fractal_columns(root)` before each forward.

Columns: `columns` lists, per input, the network column(s) that input carries (an int, or a
list for an input that is itself a join of several columns). Number columns from the deepest
(0) outwards: then a sub-fractal with K columns carries columns 0..K-1 at every nesting level,
and the recursive rule f_{K}(x) = join[f_{K-1}(f_{K-1}(x)), conv(x)] has the join
`columns: ["${list(range(K - 1))}", "${K - 1}"]`. Flat joins (the paper's figure, one input
per column) may omit `columns`: input i carries column i. Every join should use the same
`p_global`; the sampler refuses joins that disagree.
Memory: the join makes a new tensor; in training its backward keeps the n keep-weights and
their sum (a few bytes), in eval nothing. Acts per position.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from ..shapes import format_shape, numel
from .base import (
    PER_POSITION,
    ROOT,
    Call,
    Float,
    Op,
    OpParams,
    Saved,
    ShapeError,
    Support,
    _integral,
    module_call,
    register_op,
)
from .emission import as_list

SUPPORT = Support(("FractalJoin", "sample_fractal_columns"), '''
class FractalJoin(nn.Module):
    """FractalNet join (Larsson et al. 2017): mean of the surviving inputs; local drop-path with
    probability p per input (at least one kept), or, in a global pass, only the input carrying
    `global_column`, which `sample_fractal_columns` sets once per forward pass."""

    def __init__(self, columns, p=0.15, p_global=0.5):
        super().__init__()
        self.columns = tuple(tuple(c) for c in columns)
        self.num_columns = 1 + max(max(c) for c in self.columns)
        self.p = p
        self.p_global = p_global
        self.global_column = None  # 0-dim long tensor: the column of a global pass, -1 in a local one

    def forward(self, *xs):
        if not self.training:
            return sum(xs) / len(xs)
        n, device = len(xs), xs[0].device
        keep = torch.rand(n, device=device) >= self.p
        chosen = torch.arange(n, device=device) == torch.randint(n, (), device=device)
        keep = torch.where(keep.any(), keep, chosen)  # local: never drop every input
        if self.global_column is not None:
            width = max(len(c) for c in self.columns)
            table = torch.tensor([c + (-1,) * (width - len(c)) for c in self.columns], device=device)
            # -1 pads the table and marks a local pass: it must never count as a match
            on_path = ((table == self.global_column.to(device)) & (table >= 0)).any(1)
            # a join off the chosen column's path feeds only dropped inputs; it stays local
            keep = torch.where(on_path.any(), on_path, keep)
        weights = keep.to(xs[0].dtype)
        stacked = torch.stack(xs)
        return (stacked * weights.view(n, *([1] * xs[0].dim()))).sum(0) / weights.sum()

    def extra_repr(self):
        return f"columns={self.columns}, p={self.p}, p_global={self.p_global}"


def sample_fractal_columns(model):
    """Once per forward pass, before any join runs: choose local or global drop-path for every
    FractalJoin in `model` and, for a global pass, the single column all of them keep."""
    joins = [m for m in model.modules() if isinstance(m, FractalJoin)]
    if not joins or not model.training:
        return
    rates = {j.p_global for j in joins}
    if len(rates) > 1:
        raise ValueError(f"every FractalJoin needs the same p_global; found {sorted(rates)}")
    num_columns = max(j.num_columns for j in joins)
    is_global = torch.rand(()) < rates.pop()
    column = torch.where(is_global, torch.randint(num_columns, ()), torch.tensor(-1))
    for join in joins:
        join.global_column = column
''')


def _columns(value):
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        # pydantic turns ValueError (not TypeError) into a located validation error
        raise ValueError(  # noqa: TRY004
            f"Expected a list with one entry per input (a column or a list of columns); received {value!r}")
    out = []
    for entry in value:
        items = entry if isinstance(entry, (list, tuple)) else [entry]
        if not items:
            raise ValueError(f"Expected at least one column per input; received columns={list(value)!r}")
        out.append(tuple(_integral(c) for c in items))
    return tuple(out)


Columns = Annotated[tuple[tuple[int, ...], ...] | None, BeforeValidator(_columns)]
Probability = Annotated[Float, Field(ge=0.0, le=1.0)]


class FractalJoinParams(OpParams):
    p: Probability = 0.15
    p_global: Probability = 0.5
    columns: Columns = None

    @model_validator(mode="after")
    def _check(self):
        if self.columns is not None:
            flat = [c for entry in self.columns for c in entry]
            if min(flat) < 0:
                raise ValueError(f"Expected non-negative column numbers. Received columns={_show(self.columns)}")
            if len(set(flat)) != len(flat):
                raise ValueError(f"Expected each column in one input only. Received columns={_show(self.columns)}")
        return self


def _show(columns) -> list:
    return [list(c) if len(c) > 1 else c[0] for c in columns]


@register_op
class FractalJoin(Op):
    kind = "fractal_join"
    family = "merge"
    Params: ClassVar[type[OpParams]] = FractalJoinParams
    p: FractalJoinParams  # the validated params, typed for this op
    min_inputs = 1
    max_inputs = None
    doc = ("FractalNet join: mean of surviving inputs; p (local drop-path per input), p_global (chance of a "
           "global pass), columns (per input, the column(s) it carries; default input i = column i)")

    def config(self) -> dict:
        config = super().config()
        if self.p.columns is not None:
            config["columns"] = _show(self.p.columns)
        return config

    def input_columns(self, n: int) -> tuple[tuple[int, ...], ...]:
        return self.p.columns if self.p.columns is not None else tuple((i,) for i in range(n))

    def infer_shape(self, in_shapes):
        first = in_shapes[0]
        if any(s != first for s in in_shapes[1:]):
            raise ShapeError(
                "fractal_join needs inputs of one shape; received " + ", ".join(format_shape(s) for s in in_shapes),
                "every column must produce the same channels and spatial size",
            )
        if self.p.columns is not None and len(self.p.columns) != len(in_shapes):
            raise ShapeError(
                f"columns lists {len(self.p.columns)} entries for {len(in_shapes)} inputs",
                "give one entry per input: the column it carries, or a list of columns",
            )
        return first

    def other_flops(self, in_shapes, out_shape):
        return len(in_shapes) * numel(out_shape)

    def emit_support(self):
        return (SUPPORT,)

    def emit_root_forward(self):
        return Call("sample_fractal_columns", (ROOT,))

    def emit_module(self, in_shapes, out_shape):
        columns = [as_list(c) for c in self.input_columns(len(in_shapes))]  # a list: `[[0]]` stays nested
        # the rates are passed always, left out where they print as the defaults: a block class
        # passes its own (`p=p_local`) whatever its instances' values
        return module_call("FractalJoin", columns=columns, p=self.p.p, p_global=self.p.p_global,
                           defaults={"p": 0.15, "p_global": 0.5})

    def label(self, in_shapes, out_shape):
        return f"Join ({len(in_shapes)})"

    # -- memory and receptive field ----------------------------------------------------
    def output_alias(self, in_shapes, training):
        return None

    def saved_for_backward(self, in_shapes, out_shape):
        weights = Saved.new((len(in_shapes),), batched=False)  # keep-weights, for `stacked * w`
        return [weights, Saved.new((), batched=False)]  # and their sum, for the division

    def reads(self, in_shapes, out_shape):
        return PER_POSITION
