"""Names and layout in the generated file: identifiers that are valid and unique, class names,
and how a member or a reusable variable is written."""

from __future__ import annotations

import keyword
import re

from ..values import unique_name

INDENT = "    "
LINE = 120
_RESERVED = set(keyword.kwlist) | {"self", "torch", "nn", "super", "x", "print", "input", "len", "range", "F"}


def camel(name: str) -> str:
    """`regnet_y_400mf` -> `RegnetY400mf`. Where two numbers meet, their `_` stays, so that they
    still read as two (`regnet_y_1_6gf` -> `RegnetY1_6gf`, RegNetY-1.6GF, not 16 GF;
    `resnext50_32x4d` -> `Resnext50_32x4d`, `shufflenet_v2_x1_0` -> `ShufflenetV2X1_0`)."""
    text = ""
    for part in (p for p in re.split(r"[^A-Za-z0-9]+", name) if p):
        if text[-1:].isdigit() and part[0].isdigit():
            text += "_"
        text += part[:1].upper() + part[1:]
    if not text or text[0].isdigit():
        text = "Net" + text
    return text


class Namespace:
    """One name authority per function: valid identifiers, no keywords, `_1`-style dedup."""

    def __init__(self, reserved=()):
        self.used = set(reserved)

    def create(self, candidate: str) -> str:
        base = re.sub(r"\W", "_", candidate) or "v"
        if base[0].isdigit():
            base = "x_" + base
        if base in _RESERVED and base not in ("x",):
            base = base + "_"
        name = unique_name(base, self.used)
        self.used.add(name)
        return name


def _self_attr(name: str) -> str:
    """`self.classifier.cbr` for a member (a container's too); `getattr(self, "0")` where a part is a number."""
    parent, _, leaf = name.rpartition(".")
    owner = f"self.{parent}" if parent else "self"
    return f"{owner}.{leaf}" if leaf.isidentifier() else f'getattr({owner}, "{leaf}")'


def _typed(column: tuple) -> tuple:
    """A column of lifted values keyed with their types: ints 1, 2 and floats 1.0, 2.0 stay apart."""
    return tuple((type(v).__name__, v) for v in column)


def _generic(name: str) -> bool:
    """Variables that name no module (`x`, `out`, `out_2`) may be reused for any value."""
    return name == "x" or re.fullmatch(r"out(_\d+)?", name) is not None
