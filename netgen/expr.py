"""The safe expression evaluator behind `${...}` and `$name`.

Blueprint values may be expressions over params: `${planes * 4}`, `${2 if i > 0 else 1}`,
`layer${i+1}`. They are parsed with `ast` and evaluated by walking a whitelist of node
types: arithmetic, comparisons, boolean logic, conditional expressions, list/tuple/dict
literals, indexing and slicing, list comprehensions with one `for`, and calls to a fixed table of
functions. There is no `eval`, no attribute access, no imports and no lambdas, so a blueprint
cannot run Python. Every evaluation is bounded (expr_bounds.py, with the numbers in limits.py):
the steps it takes, and the size of every value it builds (strings, lists, ranges, integers by
bit length), checked before a large result is computed; any failure, Python's own errors
included, is an ExprError.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from typing import Any

from . import limits
from .errors import did_you_mean
from .expr_bounds import Budget, ExprError, bounded, check_binary, short, weight  # noqa: F401 (ExprError, weight: API)
from .values import is_int


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
# what Python raises for a value of the wrong kind or size; all become ExprError
_PYTHON_ERRORS = (ArithmeticError, TypeError, ValueError, LookupError, RecursionError, MemoryError)


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> ast.Expression:
    """Parsed once per distinct text: a block called a thousand times evaluates the same few
    expressions a thousand times, and parsing was most of the evaluator's cost. The tree is
    only read by the evaluator, never changed, so sharing it is safe."""
    return ast.parse(source, mode="eval")


def evaluate(source: str, scope: dict[str, Any]) -> Any:
    """Evaluate one expression (without the `${}`) against `scope`, within the limits of
    netgen/limits.py; any failure is an ExprError."""
    if len(source) > limits.MAX_EXPR_CHARS:
        raise ExprError(f"an expression of {len(source):,} characters (at most {limits.MAX_EXPR_CHARS:,})",
                        "compute large values with params and `let:`")
    try:
        tree = _parse(source.strip())
    except SyntaxError as exc:
        raise ExprError(f"invalid expression `{source}`: {exc.msg}",
                        "expressions use Python syntax, e.g. ${planes * 4}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("the expression is nested too deeply to parse") from None
    try:
        return _Evaluator(scope, Budget()).visit(tree.body)
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    except _PYTHON_ERRORS as exc:
        raise ExprError(f"`{short(source)}`: {type(exc).__name__}: {short(str(exc))}") from None


def _exp(x):
    """math.exp, bounded: a result beyond a float's range is an error, not an OverflowError."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 700:
        raise ValueError(f"exp({x}) is too large (the argument may be at most 700)")
    return math.exp(x)


def _log(x, base=None):
    """math.log (natural, or to `base`); RegNet's widths are quantised in log space."""
    return math.log(x) if base is None else math.log(x, base)


def _range(budget: Budget, *args):
    span = range(*args)
    if len(span) > limits.MAX_LIST_ITEMS:
        raise ExprError(f"range of {len(span):,} items (at most {limits.MAX_LIST_ITEMS:,})")
    budget.spend(len(span))
    return list(span)


def _round(value, ndigits=None):
    if ndigits is not None and (not is_int(ndigits) or abs(ndigits) > 400):
        raise ExprError(f"round() takes at most 400 digits; received {ndigits!r}")
    return round(value) if ndigits is None else round(value, ndigits)


def _sequence_call(fn):
    """min, max, len, list: linear in their argument, which is bounded; charge the steps."""
    def call(budget: Budget, *args, **kwargs):
        for arg in args:
            if isinstance(arg, (list, str, dict)):
                budget.spend(len(arg))
        return fn(*args, **kwargs)
    return call


def _plain_call(fn):
    return lambda budget, *args, **kwargs: fn(*args, **kwargs)


FUNCTIONS = {
    "min": _sequence_call(min),
    "max": _sequence_call(max),
    "abs": _plain_call(abs),
    "int": _plain_call(int),
    "float": _plain_call(float),
    "round": _plain_call(_round),
    "ceil": _plain_call(math.ceil),
    "floor": _plain_call(math.floor),
    "sqrt": _plain_call(math.sqrt),
    "log": _plain_call(_log),
    "exp": _plain_call(_exp),
    "sum": None,  # the evaluator's own addition, so every partial sum is bounded
    "len": _sequence_call(len),
    "range": _range,
    "list": _sequence_call(list),
    "make_divisible": _plain_call(make_divisible),
}


class _Evaluator:
    def __init__(self, scope: dict[str, Any], budget: Budget):
        self.scope = scope
        self.budget = budget

    def visit(self, node: ast.AST) -> Any:
        self.budget.spend()
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExprError(
                f"`{short(ast.unparse(node))}` is not allowed in an expression",
                "allowed: arithmetic, comparisons, and/or/not, `a if c else b`, literals, indexing, "
                "and the functions " + ", ".join(sorted(FUNCTIONS)),
            )
        return bounded(method(node), self.budget.weights)

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

    def binary(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        fn = _BINARY.get(type(op))
        if fn is None:
            raise ExprError(f"operator in `{short(ast.unparse(node))}` is not allowed")
        check_binary(op, left, right, self.budget.weights)
        try:
            return bounded(fn(left, right), self.budget.weights)
        except ZeroDivisionError:
            raise ExprError(f"division by zero in `{short(ast.unparse(node))}`") from None
        except OverflowError:
            raise ExprError(f"`{short(ast.unparse(node))}`: the result is too large for a number") from None
        except (TypeError, ValueError) as exc:
            raise ExprError(f"`{short(ast.unparse(node))}`: {exc}") from None

    def visit_BinOp(self, node):
        return self.binary(node.op, self.visit(node.left), self.visit(node.right), node)

    def visit_UnaryOp(self, node):
        try:
            return _UNARY[type(node.op)](self.visit(node.operand))
        except (KeyError, TypeError) as exc:
            raise ExprError(f"`{short(ast.unparse(node))}`: {exc}") from None

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
            if isinstance(right, (list, dict, str)):
                self.budget.spend(len(right))
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise ExprError(f"`{short(ast.unparse(node))}`: {exc}") from None
            left = right
        return True

    def visit_IfExp(self, node):
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_List(self, node):
        return [self.visit(e) for e in node.elts]

    def visit_Tuple(self, node):
        return [self.visit(e) for e in node.elts]

    def visit_Dict(self, node):
        out = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                raise ExprError("`**` is not allowed in a dict")
            key = self.visit(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ExprError(f"a dict key must be a number, string or bool; received {type(key).__name__}")
            out[key] = self.visit(value_node)
        return out

    def visit_ListComp(self, node):
        """`[d * 2 for d in depths if d > 1]`: one `for` over a list, names only as targets."""
        if len(node.generators) != 1 or node.generators[0].is_async:
            raise ExprError(f"`{short(ast.unparse(node))}`: a list comprehension may have one `for`")
        generator = node.generators[0]
        if not isinstance(generator.target, ast.Name):
            raise ExprError(f"`{short(ast.unparse(node))}`: the loop variable must be a plain name")
        items = self.visit(generator.iter)
        if not isinstance(items, (list, str)):
            raise ExprError(f"`{short(ast.unparse(node))}`: can only loop over a list or a string")
        result = []
        for item in items:
            inner = _Evaluator({**self.scope, generator.target.id: item}, self.budget)
            if all(inner.visit(condition) for condition in generator.ifs):
                result.append(inner.visit(node.elt))
                if len(result) > limits.MAX_LIST_ITEMS:
                    bounded(result, self.budget.weights)
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
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            raise ExprError(f"`{short(ast.unparse(node))}`: cannot index: {exc}") from None

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = short(ast.unparse(node.func))
            raise ExprError(f"unknown function `{name}`", did_you_mean(name, FUNCTIONS))
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ExprError("`*args` and `**kwargs` are not allowed in a call")
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords}
        try:
            if node.func.id == "sum":
                return self.sum(node, *args, **kwargs)
            return FUNCTIONS[node.func.id](self.budget, *args, **kwargs)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExprError(f"`{short(ast.unparse(node))}`: {exc}") from None

    def sum(self, node, items, start=0):
        if not isinstance(items, (list, str)):
            raise ExprError(f"`{short(ast.unparse(node))}`: sum() takes a list")
        total = start
        for item in items:
            self.budget.spend()
            total = self.binary(ast.Add(), total, item, node)
        return total


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

    total = 0

    def replace(match: re.Match) -> str:
        nonlocal total
        text = str(evaluate(match.group(1) or match.group(2), scope))
        total += len(text)
        if total > limits.MAX_STR_CHARS:
            raise ExprError(f"the text `{short(value, 60)}` grows past {limits.MAX_STR_CHARS:,} characters")
        return text

    return _EMBEDDED.sub(replace, value)
