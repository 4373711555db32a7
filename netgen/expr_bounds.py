"""What an expression may build and how long it may run (netgen/limits.py holds the numbers).

The evaluator (expr.py) charges every step to a `Budget` and passes every value it builds
through `bounded`; `check_binary` refuses an operation whose result would be too large
before Python computes it (a string or list repeated, a power, a `%` format width).
`ExprError` is the one error an evaluation raises.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from . import limits
from .values import is_int


class ExprError(Exception):
    """An expression that cannot be evaluated; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


# `'%3d' % x`: one conversion; its width and precision are bounded (`%0999999999d` is not)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)")
def short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class Budget:
    """Steps left to one evaluation (comprehensions share it with their inner evaluators)."""

    def __init__(self):
        self.steps = 0
        self.weights: dict[int, tuple[Any, int]] = {}  # see weight()

    def spend(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > limits.MAX_EXPR_STEPS:
            raise ExprError(f"the expression takes more than {limits.MAX_EXPR_STEPS:,} steps",
                            "expressions compute sizes and lists of sizes, not long loops")
        limits.tick()


def weight(value: Any, cache: dict[int, tuple[Any, int]] | None = None) -> int:
    """Items and characters of a value counted through nesting, each shared part as often as
    it appears (what printing or walking it costs). Memoised by identity in `cache` (which keeps
    the objects alive, so identities stay unique), so linear in the distinct objects."""
    if isinstance(value, str):
        return len(value) or 1
    if not isinstance(value, (list, tuple, dict)):
        return 1
    cache = {} if cache is None else cache
    known = cache.get(id(value))
    if known is None:
        cache[id(value)] = (value, 0)  # a self-containing value (impossible from an expression) counts once
        items = list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
        known = cache[id(value)] = (value, 1 + sum(weight(item, cache) for item in items))
    return known[1]


def bounded(value: Any, cache: dict | None = None) -> Any:
    """Return `value` if it is a kind and size an expression may build, else raise ExprError."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if value.bit_length() > limits.MAX_INT_BITS:
            raise ExprError(f"an integer of {value.bit_length():,} bits (at most {limits.MAX_INT_BITS})")
        return value
    if isinstance(value, str):
        if len(value) > limits.MAX_STR_CHARS:
            raise ExprError(f"a string of {len(value):,} characters (at most {limits.MAX_STR_CHARS:,})")
        return value
    if isinstance(value, (list, dict)):
        if len(value) > limits.MAX_LIST_ITEMS:
            raise ExprError(f"a list of {len(value):,} items (at most {limits.MAX_LIST_ITEMS:,})")
        total = weight(value, cache)
        if total > limits.MAX_VALUE_WEIGHT:
            raise ExprError(f"a value of {total:,} items and characters in all (at most {limits.MAX_VALUE_WEIGHT:,})")
        return value
    raise ExprError(f"an expression cannot make a {type(value).__name__} value")


def check_binary(op: ast.operator, left: Any, right: Any, cache: dict) -> None:
    """Refuse, before computing it, a result that would be too large to build."""
    if isinstance(op, ast.Mult):
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, (str, list)) and isinstance(count, int) and count > 0:
                size = weight(seq, cache) if isinstance(seq, list) else len(seq)
                if len(seq) * count > limits.MAX_LIST_ITEMS or size * count > limits.MAX_VALUE_WEIGHT:
                    raise ExprError(f"repeating a {type(seq).__name__} of {len(seq):,} items ({size:,} in all) "
                                    f"{count:,} times is too large (at most {limits.MAX_LIST_ITEMS:,} items, "
                                    f"{limits.MAX_VALUE_WEIGHT:,} in all)")
    elif isinstance(op, ast.Pow) and is_int(left) and is_int(right) and right > 0 and abs(left) > 1:
        if (abs(left).bit_length() - 1) * right > limits.MAX_INT_BITS:
            raise ExprError(f"{left}**{right} has more than {limits.MAX_INT_BITS} bits")
    elif isinstance(op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > limits.MAX_INT_BITS:
        raise ExprError(f"exponent {right} is too large (at most {limits.MAX_INT_BITS})")
    elif isinstance(op, ast.Mod) and isinstance(left, str):
        for match in _PERCENT.finditer(left):
            width, precision = match.group(1), match.group(2)
            for part in (width, precision):
                if part == "*" or (part and int(part) > limits.MAX_FORMAT_WIDTH):
                    raise ExprError(f"format width or precision `{match.group()}` is too large "
                                    f"(at most {limits.MAX_FORMAT_WIDTH})")
