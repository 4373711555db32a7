"""Printing the ops' structured PyTorch (ops/emission.py) as Python source.

Values print as Python literals (`repr` for numbers, so a float is the shortest text that reads
back as the same float), strings in double quotes (ruff's style), tuples and lists as written.
A name that reaches the text (a call target, an argument name) must be a dotted identifier; a
string value goes in as a literal. Nothing printed here is ever read back.
"""

from __future__ import annotations

import ast
import json
import keyword
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..ops.emission import INPUTS, Arg, BinOp, Call, Code, Input, Inputs, ListOf, ModuleCall, OwnModule, Root
from .translate import Sym, SymPair, code_of

_PRECEDENCE = {"+": 1, "*": 2, "/": 2}


def identifier(name: str) -> str:
    """`name` when it is a Python identifier that is no keyword; an internal error otherwise."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"not a Python identifier: {name!r}")
    return name


def dotted(name: str) -> str:
    """A dotted name (`nn.Conv2d`, `torch.cat`), each part an identifier."""
    for part in name.split("."):
        identifier(part)
    return name


def string_literal(text: str) -> str:
    """A double-quoted Python string literal for any text (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def literal(value: Any, slot: Callable[[Any], str | None] | None = None) -> str:
    """Python source for a value: numbers, bools, None, strings, tuples, lists, `Code`.
    `slot(value)` may replace a leaf with other text (a lifted constructor argument)."""
    if slot is not None:
        replaced = slot(value)
        if replaced is not None:
            return replaced
    if isinstance(value, Code):
        return value.text
    if isinstance(value, (Sym, SymPair)):
        return code_of(value.node)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise ValueError(f"no literal for {value!r}")
        return text
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, tuple):
        items = [literal(v, slot) for v in value]
        return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, slot) for v in value) + "]"
    raise TypeError(f"cannot print {type(value).__name__} {value!r} as a literal")


def args_text(args: tuple[Arg, ...], slot=None) -> str:
    """Positional values, then `name=value`; a keyword that prints as its default is left out."""
    return ", ".join(arg_texts(args, slot))


def arg_texts(args: tuple[Arg, ...], slot=None) -> list[str]:
    parts = []
    for arg in args:
        text = literal(arg.value, slot)
        if arg.positional:
            parts.append(text)
        elif arg.default is ... or text != literal(arg.default):
            parts.append(f"{identifier(arg.name)}={text}")
    return parts


def module_call_text(call: ModuleCall, slot=None) -> str:
    """`nn.Conv2d(64, 128, kernel_size=3, bias=False)`."""
    return f"{dotted(call.target)}({args_text(call.args, slot)})"


def _spliced(items: tuple, inputs: list[str], module: str | None, root: str) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, Inputs):
            out += inputs
        else:
            out.append(expression_text(item, inputs, module, root))
    return out


def expression_text(expr: Any, inputs: list[str], module: str | None = None, root: str = "self") -> str:
    """A forward expression over the op's input variables, its module attribute and the root."""
    if isinstance(expr, Input):
        return inputs[expr.index]
    if isinstance(expr, OwnModule):
        if module is None:
            raise ValueError("a forward expression calls the op's module, but the op builds none")
        return module
    if isinstance(expr, Root):
        return root
    if isinstance(expr, Call):
        fn = expression_text(expr.fn, inputs, module, root) if isinstance(expr.fn, OwnModule) else dotted(expr.fn)
        return f"{fn}({', '.join(_spliced(expr.args, inputs, module, root))})"
    if isinstance(expr, ListOf):
        return "[" + ", ".join(_spliced(expr.items, inputs, module, root)) + "]"
    if isinstance(expr, BinOp):
        mine = _PRECEDENCE[expr.symbol]
        parts = []
        for index, item in enumerate(expr.operands):
            if isinstance(item, Inputs):
                parts += inputs
                continue
            text = expression_text(item, inputs, module, root)
            # `(a + b) / 2`; the right operand of `/` needs brackets at equal precedence too
            if isinstance(item, BinOp) and (_PRECEDENCE[item.symbol] < mine or (index and expr.symbol == "/")):
                text = f"({text})"
            parts.append(text)
        return f" {expr.symbol} ".join(parts)
    if expr is INPUTS:
        return ", ".join(inputs)
    return literal(expr)


def calls_torch(expr: Any) -> bool:
    """Whether a forward expression names `torch.` (so the file must import torch)."""
    if isinstance(expr, Call):
        return (isinstance(expr.fn, str) and expr.fn.startswith("torch.")) or any(calls_torch(a) for a in expr.args)
    if isinstance(expr, (BinOp, ListOf)):
        return any(calls_torch(a) for a in (expr.operands if isinstance(expr, BinOp) else expr.items))
    return False


@dataclass
class Group:
    """A bracketed construct to lay out: `head(items)`, `[items]`; `exploded` keeps one item per
    line whatever the width (ruff's magic trailing comma, as `nn.Sequential(...)` is written)."""

    head: str
    items: list
    open: str = "("
    close: str = ")"
    exploded: bool = False


def flat(piece) -> str:
    if isinstance(piece, str):
        return piece
    return f"{piece.head}{piece.open}{', '.join(flat(i) for i in piece.items)}{piece.close}"


def _explodes(piece) -> bool:
    return isinstance(piece, Group) and (piece.exploded or any(_explodes(i) for i in piece.items))


def layout(piece, width: int = 120, tail: str = "") -> list[str]:
    """Lines no longer than `width` (where possible), as ruff formats brackets: everything on one
    line; else the items on one indented line; else one item per line with a trailing comma,
    each laid out the same way."""
    if isinstance(piece, str):
        return [piece + tail]
    one = flat(piece) + tail
    if not _explodes(piece) and (len(one) <= width or not piece.items):
        return [one]
    body = "    " + ", ".join(flat(i) for i in piece.items)
    if not _explodes(piece) and len(body) <= width:
        return [piece.head + piece.open, body, piece.close + tail]
    lines = [piece.head + piece.open]
    for item in piece.items:
        lines += ["    " + line for line in layout(item, width - 4, ",")]
    return lines + [piece.close + tail]


def expression_piece(node, head: str = ""):
    """An expression (an `ast.expr`) as a piece to lay out: calls, lists, tuples and dicts break at
    their brackets as ruff breaks them (`make_divisible(\n    ..., 8\n)`); any other is its text."""
    if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args) and \
            all(k.arg for k in node.keywords):
        items = [expression_piece(a) for a in node.args]
        items += [expression_piece(k.value, f"{k.arg}=") for k in node.keywords]
        return Group(head + code_of(node.func), items)
    if isinstance(node, ast.List) or (isinstance(node, ast.Tuple) and len(node.elts) > 1):
        brackets = "[]" if isinstance(node, ast.List) else "()"
        return Group(head, [expression_piece(e) for e in node.elts], brackets[0], brackets[1])
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return Group(head, [expression_piece(v, f"{code_of(k)}: ") for k, v in zip(node.keys, node.values, strict=True)
                            if k is not None], "{", "}")
    return head + code_of(node)


def call_lines(head: str, args: list, tail: str = "", width: int = 120) -> list[str]:
    """`head(args)tail` laid out as ruff would (see `layout`)."""
    return layout(Group(head, list(args)), width, tail)


def expression_group(expr: Any, inputs: list[str], module: str | None = None, root: str = "self"):
    """A forward expression as a `Group` tree (calls and lists can break across lines)."""
    if isinstance(expr, Call):
        fn = expression_text(expr.fn, inputs, module, root) if isinstance(expr.fn, OwnModule) else dotted(expr.fn)
        items: list = []
        for item in expr.args:
            items += inputs if isinstance(item, Inputs) else [expression_group(item, inputs, module, root)]
        return Group(fn, items)
    if isinstance(expr, ListOf):
        items = []
        for item in expr.items:
            items += inputs if isinstance(item, Inputs) else [expression_group(item, inputs, module, root)]
        return Group("", items, "[", "]")
    return expression_text(expr, inputs, module, root)


__all__ = ["Group", "flat", "layout", "expression_group", "expression_piece", "call_lines", "arg_texts", "identifier",
           "dotted", "string_literal", "literal", "args_text", "module_call_text", "expression_text", "calls_torch"]
