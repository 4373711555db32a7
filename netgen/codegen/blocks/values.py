"""What the walk passes around: a constructor statement (`Stmt`), a forward value and its shape
(`Val`), a written class (`BlockClass`), the names a class may not take, and shape helpers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from ...blueprint import BlockDef
from ...expr import interpolate
from ...shapes import axes_of, with_axes
from ...source import YList
from ..naming import camel as naming_camel
from ..printer import Group, call_lines, layout
from ..translate import HELPERS, SAME_FUNCTIONS, Untranslatable, concrete

INDENT = "    "
RUNNING = "channels"  # the constructor variable holding a loop iteration's input channels (repeat.py)
MADE = "out_channels"  # ... and the one holding what an iteration makes, where that is computed
LINE = 120
# names the constructor itself uses (the forward pass has its own scope: x, out, identity, features)
RESERVED = {"self", "nn", "torch", "super", "in_channels", "in_shape", "range", "getattr", *SAME_FUNCTIONS, *HELPERS}
_COMPOSITES = ("seq", "residual", "parallel", "dense")
# the attribute holding whether a residual adds its input (torchvision's name)
DECIDED_RESIDUAL = "use_res_connect"
# nn.Module's own attributes: a decision kept as `self.<name>` must not shadow one
MODULE_ATTRIBUTES = {"training", "forward", "children", "modules", "parameters", "buffers", "state_dict", "to",
                     "train", "eval", "apply", "cuda", "cpu", "type", "float", "double", "half", "zero_grad"}
_UNBUILT = "not generated: no instance in the blueprint took this branch of its `if`"


@dataclass
class Stmt:
    """A constructor statement: `head(args)tail` printed to fit the line, at `depth` levels in."""

    head: str
    args: list[str | Group] | None = None  # None: `head` is the whole statement
    tail: str = ""
    depth: int = 0
    piece: Group | None = None  # a nested layout instead of head(args)

    def lines(self, indent: int) -> list[str]:
        pad = INDENT * (indent + self.depth)
        if self.piece is not None:
            return [pad + line for line in layout(self.piece, LINE - len(pad), self.tail)]
        if self.args is None:
            return [pad + self.head]
        return [pad + line for line in call_lines(self.head, self.args, self.tail, LINE - len(pad))]


@dataclass
class Loop:
    """An unnamed `repeat` in a numbered list: members `start` to `end` (one per iteration, as the
    lowering numbers them), built in the constructor by one loop appending to the layers."""

    start: int
    end: int
    before: list[str]  # the running channels set before the loop (`channels = in_channels`)
    header: str  # `for i in range(len(rows)):`
    update: str | None  # what one iteration makes of the running channels (`channels = ...`)
    # an iteration's own lines before its member (`out_channels = make_divisible(...)`)
    named: list[str] = field(default_factory=list)
    # an iteration that is an if/else (make_layers): its statements, each at its depth inside the
    # loop, a text (`if cfg[i] == "M":`, `channels = cfg[i]`) or a module appended to the layers
    body: list[tuple[int, Any]] | None = None


@dataclass
class Val:
    var: str
    shape: tuple
    is_input: bool = False


@dataclass
class BlockClass:
    name: str
    block: BlockDef
    required: list[str]
    defaults: list[tuple[str, Any]]
    flags: list[str]
    reads_in_shape: bool
    text: str
    instances: list[tuple[str, ...]] = field(default_factory=list)
    # an nn.Sequential subclass: a caller may read the output of a numbered child (`backbone.4`)
    sequential: bool = False


def _value(raw: Any, env: dict) -> Any:
    """A YAML value with its expressions evaluated, lists too (as the lowering reads op args)."""
    if isinstance(raw, (list, YList)):
        return [_value(v, env) for v in raw]
    return interpolate(raw, env)


def chan(shape) -> Any:
    """The channel entry of a shape (a map's first, a channels-last map's last), as the lowering's
    `in_channels` reads it."""
    return shape[_chan_index(shape)]


def _chan_index(shape) -> int:
    axes = axes_of(shape)
    return axes.index("C") if axes.count("C") == 1 else 0


def _channel_reads(node: ast.expr, shape) -> ast.expr:
    """`in_shape[-1]` of a channels-last map is its `in_channels` (the lowering's definition), so a
    block that reads only its channels that way takes no `in_shape` (Swin's MLP)."""
    return _Channels(shape).visit(node)


class _Channels(ast.NodeTransformer):
    """`in_shape[i]` -> `in_channels` where `i` is the channel axis of `shape`."""

    def __init__(self, shape):
        self.shape, self.index = shape, _chan_index(shape)

    def visit_Subscript(self, sub):
        shape, at = self.shape, sub.slice
        if isinstance(at, ast.UnaryOp) and isinstance(at.op, ast.USub) and isinstance(at.operand, ast.Constant):
            at = ast.Constant(-at.operand.value) if type(at.operand.value) is int else at
        if isinstance(sub.value, ast.Name) and sub.value.id == "in_shape" and \
                isinstance(at, ast.Constant) and type(at.value) is int and \
                -len(shape) <= at.value < len(shape) and at.value % len(shape) == self.index:
            return ast.Name("in_channels", ast.Load())
        return self.generic_visit(sub)


def _negated(condition: Any) -> str:
    """The blueprint expression `not (condition)`, for the items of an `else`."""
    if isinstance(condition, str):
        whole = re.fullmatch(r"\$\{(.*)\}", condition, re.DOTALL)
        if whole and "${" not in whole.group(1):
            return "${not (" + whole.group(1) + ")}"
        if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", condition):
            return "${not " + condition[1:] + "}"
    raise Untranslatable("an `if` on a constant")


def _plain(shape) -> tuple:
    """The plain values of a shape, keeping what its axes mean."""
    return with_axes(list(concrete(tuple(shape))), axes_of(shape))


def with_chan(shape, value) -> tuple:
    """`shape` with its channel entry replaced, keeping what its axes mean."""
    sizes = list(shape)
    sizes[_chan_index(shape)] = value
    return with_axes(sizes, axes_of(shape))


def camel(name: str) -> str:
    """A block's class name (`bottleneck` -> `Bottleneck`), as naming.camel writes any class name."""
    return naming_camel(name) if name.strip("_") else "Block"
