"""The safe expression evaluator behind `${...}` and `$name`.

Blueprint values may be expressions over params: `${planes * 4}`, `${2 if i > 0 else 1}`,
`layer${i+1}`. They are parsed with `ast` and evaluated by walking a whitelist of node
types: arithmetic, comparisons, boolean logic, conditional expressions, list/tuple/dict
literals, indexing and slicing, list comprehensions with one `for`, and calls to a fixed table of
functions. There is no
`eval`, no attribute access, no imports and no lambdas, so a blueprint cannot run Python.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any

from .errors import did_you_mean


class ExprError(Exception):
    """An expression that cannot be evaluated; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor` without losing more than 10%.

    Args:
        v: the wanted value (e.g. 32 * width_multiplier).
        divisor: the multiple to round to.
        min_value: the smallest result allowed (defaults to `divisor`).

    Returns:
        The nearest multiple of `divisor`, bumped up one step if rounding down lost >10%.
        This is the MobileNet/EfficientNet rule used by torchvision and timm.
    """
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _int(value):
    if isinstance(value, float) and not value.is_integer():
        return int(value)
    return int(value)


def _exp(x):
    """math.exp, bounded: a result beyond a float's range is an error, not an OverflowError."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 700:
        raise ValueError(f"exp({x}) is too large (the argument may be at most 700)")
    return math.exp(x)


def _log(x, base=None):
    """math.log (natural, or to `base`); RegNet's widths are quantised in log space."""
    return math.log(x) if base is None else math.log(x, base)


FUNCTIONS = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": _int,
    "float": float,
    "round": round,
    "ceil": math.ceil,
    "floor": math.floor,
    "sqrt": math.sqrt,
    "log": _log,
    "exp": _exp,
    "sum": sum,
    "len": len,
    "range": lambda *a: list(range(*a)),
    "list": list,
    "make_divisible": make_divisible,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_MAX_POWER = 64
_MAX_SEQUENCE = 100_000


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    """Evaluate one expression (without the `${}`) against `scope`."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression `{source}`: {exc.msg}",
                        "expressions use Python syntax, e.g. ${planes * 4}") from None
    return _Evaluator(scope).visit(tree.body)


class _Evaluator:
    def __init__(self, scope: dict[str, Any]):
        self.scope = scope

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExprError(
                f"`{ast.unparse(node)}` is not allowed in an expression",
                "allowed: arithmetic, comparisons, and/or/not, `a if c else b`, literals, indexing, "
                "and the functions " + ", ".join(sorted(FUNCTIONS)),
            )
        return method(node)

    def visit_Constant(self, node):
        return node.value

    def visit_Name(self, node):
        if node.id in self.scope:
            return self.scope[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id in ("true", "false"):
            return node.id == "true"
        raise ExprError(f"unknown name `{node.id}`", did_you_mean(node.id, self.scope))

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExprError(f"operator in `{ast.unparse(node)}` is not allowed")
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > _MAX_POWER:
            raise ExprError(f"exponent {right} is too large (at most {_MAX_POWER})")
        if isinstance(node.op, ast.Mult) and isinstance(left, (list, str)) or isinstance(right, (list, str)):
            count = right if isinstance(left, (list, str)) else left
            if isinstance(count, int) and count > _MAX_SEQUENCE:
                raise ExprError(f"sequence repetition by {count} is too large")
        try:
            return op(left, right)
        except ZeroDivisionError:
            raise ExprError(f"division by zero in `{ast.unparse(node)}`") from None
        except TypeError as exc:
            raise ExprError(f"`{ast.unparse(node)}`: {exc}") from None

    def visit_UnaryOp(self, node):
        try:
            return _UNARY[type(node.op)](self.visit(node.operand))
        except (KeyError, TypeError) as exc:
            raise ExprError(f"`{ast.unparse(node)}`: {exc}") from None

    def visit_BoolOp(self, node):
        if isinstance(node.op, ast.And):
            value = True
            for item in node.values:
                value = self.visit(item)
                if not value:
                    return value
            return value
        value = False
        for item in node.values:
            value = self.visit(item)
            if value:
                return value
        return value

    def visit_Compare(self, node):
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.visit(right_node)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise ExprError(f"`{ast.unparse(node)}`: {exc}") from None
            left = right
        return True

    def visit_IfExp(self, node):
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_List(self, node):
        return [self.visit(e) for e in node.elts]

    def visit_Tuple(self, node):
        return [self.visit(e) for e in node.elts]

    def visit_Dict(self, node):
        return {self.visit(k): self.visit(v) for k, v in zip(node.keys, node.values, strict=True)}

    def visit_ListComp(self, node):
        """`[d * 2 for d in depths if d > 1]`: one `for` over a list, names only as targets."""
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise ExprError(f"`{ast.unparse(node)}`: a list comprehension may have one `for`")
        generator = node.generators[0]
        if not isinstance(generator.target, ast.Name):
            raise ExprError(f"`{ast.unparse(node)}`: the loop variable must be a plain name")
        items = self.visit(generator.iter)
        if not isinstance(items, (list, str)) or len(items) > _MAX_SEQUENCE:
            raise ExprError(f"`{ast.unparse(node)}`: can only loop over a list of at most {_MAX_SEQUENCE} items")
        result = []
        for item in items:
            inner = _Evaluator({**self.scope, generator.target.id: item})
            if all(inner.visit(condition) for condition in generator.ifs):
                result.append(inner.visit(node.elt))
        return result

    def visit_Subscript(self, node):
        value = self.visit(node.value)
        if isinstance(node.slice, ast.Slice):
            bounds = (node.slice.lower, node.slice.upper, node.slice.step)
            parts = [self.visit(p) if p is not None else None for p in bounds]
            index = slice(*parts)
        else:
            index = self.visit(node.slice)
        try:
            return value[index]
        except (IndexError, KeyError, TypeError) as exc:
            raise ExprError(f"`{ast.unparse(node)}`: cannot index: {exc}") from None

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.unparse(node.func)
            raise ExprError(f"unknown function `{name}`", did_you_mean(name, FUNCTIONS))
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords}
        try:
            return FUNCTIONS[node.func.id](*args, **kwargs)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise ExprError(f"`{ast.unparse(node)}`: {exc}") from None


_WHOLE = re.compile(r"^\$\{(.*)\}$", re.DOTALL)
_NAME = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_EMBEDDED = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and "$" in value


def interpolate(value: Any, scope: dict[str, Any]) -> Any:
    """Resolve one YAML scalar: `${expr}` and `$name` give the value itself (any type);
    a string with embedded `${...}` gives a string; anything else is returned as is."""
    if not isinstance(value, str) or "$" not in value:
        return value
    whole = _WHOLE.match(value)
    if whole and "${" not in whole.group(1):
        return evaluate(whole.group(1), scope)
    name = _NAME.match(value)
    if name:
        return evaluate(name.group(1), scope)

    def replace(match: re.Match) -> str:
        return str(evaluate(match.group(1) or match.group(2), scope))

    return _EMBEDDED.sub(replace, value)
