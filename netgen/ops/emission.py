"""How an op describes its PyTorch: as data, which the code generator prints (torch.fx's habit).

An op says which nn.Module it builds (`ModuleCall`: the class and its arguments by name, with
Python values), how `forward` uses it (a small expression tree over the op's inputs: `Call`,
`BinOp`, `ListOf`, `Input`, `INPUTS`, `MODULE`), and what helper source the file needs once
(`Support`, naming what it defines). Nothing here is text to be parsed back: the code generator
reads these values to print calls, to lift numbers into constructor arguments, and to name them.

    ModuleCall("nn.Conv2d", (Arg("in_channels", 64, positional=True), Arg("kernel_size", 3)))
    Call("torch.cat", (ListOf((INPUTS,)), 1))       # torch.cat([a, b], 1)
    BinOp("+", (INPUTS,))                            # a + b + c

A value is an int, float, bool, str, None, or a tuple or list of values. `Code` holds Python
source the code generator itself produced (a constructor argument's name, an expression
translated from the blueprint); ops never build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Arg:
    """One constructor argument: torch's parameter name, its value, and whether it is printed
    without its name (torchvision writes `nn.Conv2d(64, 128, kernel_size=3)`)."""

    name: str
    value: Any
    positional: bool = False
    default: Any = ...  # torch's default: a keyword that prints as this literal is left out; `...`: none


@dataclass(frozen=True)
class ModuleCall:
    """The nn.Module an op builds: `target` is `nn.<Class>` or a class its `Support` defines."""

    target: str
    args: tuple[Arg, ...] = ()


def module_call(target: str, *positional: tuple[str, Any], defaults: dict | None = None,
                **keywords: Any) -> ModuleCall:
    """`module_call("nn.Linear", ("in_features", 512), ("out_features", 10), bias=False)`.

    `defaults` gives torch's defaults of keywords passed always (`stride=1`): the printer leaves
    out a keyword whose value prints as its default, and keeps one computed in the constructor
    (`stride=stride`), so that instances of a block print one class whatever their values."""
    defaults = defaults or {}
    args = tuple(Arg(name, value, True) for name, value in positional)
    return ModuleCall(target, args + tuple(Arg(n, v, default=defaults.get(n, ...)) for n, v in keywords.items()))


def as_float(value: Any) -> Any:
    """A plain int as a float (`p=0` prints `p=0.0`); anything else as it is, so that a value the
    code generator passes in carrying its expression (codegen/translate.py's Sym) keeps it."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def as_list(value: Any) -> Any:
    """A tuple as a list (`(0, 1)` prints `[0, 1]`); anything else as it is, so that a list the code
    generator passes in carrying its expression (`list(range(cols - 1))`) keeps it."""
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Code:
    """Python source the code generator wrote (never an op, never the blueprint's raw text)."""

    text: str


# -- forward expressions --------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """The op's `index`-th input value."""

    index: int


@dataclass(frozen=True)
class Inputs:
    """Every input of the op, in order, spliced where it stands (`f(a, b)`, `[a, b]`, `a + b`)."""


@dataclass(frozen=True)
class OwnModule:
    """The module `ModuleCall` built, as the enclosing class holds it (`self.conv1`)."""


@dataclass(frozen=True)
class Root:
    """The generated top-level module (`self` in its `forward`), for `root_forward`."""


INPUTS = Inputs()
MODULE = OwnModule()
ROOT = Root()


@dataclass(frozen=True)
class Call:
    """`fn(*args)`: `fn` is MODULE or a dotted function name (`torch.cat`, a support function)."""

    fn: str | OwnModule
    args: tuple = ()


@dataclass(frozen=True)
class BinOp:
    """`a + b + c`: the operator applied left to right over the operands (INPUTS splices)."""

    symbol: Literal["+", "*", "/"]
    operands: tuple


@dataclass(frozen=True)
class ListOf:
    """A list literal: `[a, b]`."""

    items: tuple


CALL_MODULE = Call(MODULE, (INPUTS,))


@dataclass(frozen=True)
class Support:
    """Helper source (torch and nn only) emitted once per file, and the top-level names it defines,
    so that generated classes never shadow them."""

    defines: tuple[str, ...]
    source: str


__all__ = [
    "Arg", "ModuleCall", "module_call", "Code", "Input", "Inputs", "INPUTS", "OwnModule", "MODULE", "Root", "ROOT",
    "Call", "BinOp", "ListOf", "CALL_MODULE", "Support",
]
