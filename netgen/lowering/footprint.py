"""What a block call makes (nodes and connections), known before it is built.

A block call's expansion depends only on its block, its arguments and its inputs' shapes: the
body sees nothing else (its env is the block's params, the call's arguments, `in_shape`,
`in_channels`, its own `let:` and its named `inputs:`; its `from:` stops at the block's
boundary). So two calls with the same (block, arguments, input shapes) make the same number of nodes and connections,
and the same output shape. `CallMemo` keeps that footprint per call key.

Before the lowering builds a call it has not seen, a `CallCounter` (counter.py) lowers the
same call into a scratch graph in which every call already in the memo is a stand-in node of
its output shape, counted by its footprint instead of built again. A block that calls itself
twice per level is then counted in a few calls per level rather than built leaf by leaf, and
a call that would pass the node or connection cap (netgen/limits.py) is refused at the call
site before any of its nodes exist (docs/security.md). The count is exact where the dry run
finishes, and a lower bound where it stops at a cap, so a network that fits is never refused.
The parameter budget is not counted here: it is arithmetic on each op's shapes, so the build
refuses at the op that crosses it, having built no more than that op's predecessors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..shapes import Shape, axes_of

SMALL_CONTAINER = 16  # lists and dicts up to this length are keyed by content, longer ones once by identity


@dataclass(frozen=True)
class Footprint:
    """What one block call adds to the graph; `shape` is its output's (None: the call returns
    its input). `exact` is false for a dry run that stopped at a cap: the counts so far, a lower bound."""

    nodes: int
    edges: int
    shape: Shape | None
    exact: bool = True


class CallKeyError(Exception):
    """A value that has no key (not a number, string, bool, None, list or dict): such a call is not memoized."""


@dataclass
class CallMemo:
    """Footprints of the block calls of one compile, shared by the lowering and its dry runs."""

    footprints: dict[tuple, Footprint] = field(default_factory=dict)
    # calls whose dry run reported a mistake: the lowering reports it itself; counting them again
    # would only repeat the dry run at every level of a deep call chain
    failed: set[tuple] = field(default_factory=set)
    # long lists and dicts by id (kept alive here, so an id is not reused): their content is
    # tokenised once, not at every call that passes them on
    _by_id: dict[int, tuple[Any, int]] = field(default_factory=dict)
    _tokens: dict[tuple, int] = field(default_factory=dict)

    def key(self, block: str, values: dict, shapes: list[Shape]) -> tuple | None:
        """The call's key: the block, its arguments (with `in_shape`/`in_channels`) and its inputs'
        shapes and axes (a block may take several: `inputs:`); None for a value that cannot be keyed
        (the call is then built without a count)."""
        try:
            return (block, tuple((name, self._freeze(values[name])) for name in sorted(values)),
                    tuple((tuple(shape), axes_of(shape)) for shape in shapes))
        except CallKeyError:
            return None

    def _freeze(self, value: Any) -> Any:
        # the type is part of a scalar's key: 1, 1.0 and True are equal in Python but not to a type check
        if value is None or isinstance(value, (bool, int, float, str)):
            return (type(value).__name__, value)
        if isinstance(value, (list, tuple, dict)):
            if len(value) <= SMALL_CONTAINER:
                return self._content(value)
            known = self._by_id.get(id(value))
            if known is None or known[0] is not value:
                token = self._tokens.setdefault(self._content(value), len(self._tokens))
                known = self._by_id[id(value)] = (value, token)
            return ("token", known[1])
        raise CallKeyError(type(value).__name__)

    def _content(self, value: list | tuple | dict) -> tuple:
        if isinstance(value, dict):
            return ("dict",) + tuple((self._freeze(k), self._freeze(v)) for k, v in value.items())
        return ("tuple" if isinstance(value, tuple) else "list",) + tuple(self._freeze(v) for v in value)

    def record(self, key: tuple, before: tuple[int, int], after: tuple[int, int], shape: Shape | None) -> None:
        """A call built (or dry-run) without a mistake: what it made, from the totals around it."""
        self.footprints[key] = Footprint(after[0] - before[0], after[1] - before[1], shape)
