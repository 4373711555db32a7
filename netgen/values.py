"""What a blueprint value counts as: the one definition of "an integer" (64 and 64.0 are,
True and 2.5 are not) and of a fresh name beside names already taken.

YAML and expressions give floats where an integer is meant (`${c / 2}` is 32.0), and Python
counts `True` as an int; every place that accepts an integer (op params, block params,
repeat counts, input sizes) reads it through `as_int`, so they all agree.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any


def is_int(value: Any) -> bool:
    """A true int: not a bool, not an integral float."""
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(value: Any) -> int | None:
    """`value` as an int if it is one (an int or an integral float, never a bool); else None."""
    if is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def unique_name(base: str, taken: Container[str], first: int = 1, sep: str = "_") -> str:
    """`base` if free, else `base{sep}{first}`, `base{sep}{first + 1}`, … : the first not in `taken`.

    Each caller keeps its own style (the lowering's `relu_1`, the code generator's class
    `Bottleneck2`), because those names are state_dict keys and generated code."""
    name, n = base, first
    while name in taken:
        name = f"{base}{sep}{n}"
        n += 1
    return name


def int_if_integral(value: Any) -> Any:
    """An integral float as an int (32.0 -> 32); any other value unchanged, for its own check."""
    integer = as_int(value)
    return value if integer is None else integer
