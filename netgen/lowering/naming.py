"""Names and scopes: which module name each item gets, and the per-scope table of the names
defined so far (what `from:` resolves against).

Naming follows nn.Sequential so that state_dict keys are predictable: in a list where no
item is named, items are numbered 0, 1, 2…; once any item in a list has a `name`, the
unnamed ones are named after their op or block (`relu`, `relu_1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..names import module_name_problem
from ..values import unique_name

if TYPE_CHECKING:
    from .host import LoweringHost
    from .items import Item



@dataclass
class ScopeCtx:
    """Lowering state of one scope: the names defined in it, for naming and `from`."""

    path: tuple[str, ...]
    parent: ScopeCtx | None = None
    block_root: bool = False
    block_input: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # local name -> node id of its output
    failed: set[str] = field(default_factory=set)  # local names whose lowering reported an error
    children: dict[str, ScopeCtx] = field(default_factory=dict)
    # per default name (`concat`), an n such that `concat_1` .. `concat_{n-1}` are all in `names`:
    # naming the k-th unnamed concat of a dense block starts there instead of at 1 (O(1), not O(k))
    numbered_from: dict[str, int] = field(default_factory=dict)

    def clear_names(self) -> None:
        self.names.clear()
        self.numbered_from.clear()

    def child(self, name: str) -> ScopeCtx:
        ctx = ScopeCtx(self.path + (name,), parent=self)
        self.children[name] = ctx
        return ctx


class Naming:
    """Module names: the mixin of `Lowerer` that checks and assigns them."""

    def check_name(self: LoweringHost, name: Any, span, path) -> str | None:
        """A module name from the blueprint, checked by the identifier rules (netgen/names.py):
        it becomes a Python attribute and a state_dict key of the generated module."""
        name = str(name)
        problem = module_name_problem(name)
        if problem:
            self.error("NG007", problem, span, path, "names become state_dict keys and Python attributes")
            return None
        return name

    def assign_names(self: LoweringHost, items: list[Item], scope: ScopeCtx, numbered: bool) -> list[str]:
        explicit = [it.name for it in items if it.name]
        seen: set[str] = set()
        for it in items:
            if it.name and (it.name in seen or it.name in scope.names):
                self.duplicates.add(scope.path + (it.name,))
                self.error("NG011", f"two modules named `{it.name}` in `{'.'.join(scope.path) or 'network'}`",
                           it.name_span or it.span, scope.path + (it.name,), "give each item a distinct `name`")
            if it.name:
                seen.add(it.name)
        taken = _Taken(scope.names, {*explicit, "input", "output"})  # a view: copying the names is O(scope)
        names = []
        for position, it in enumerate(items):
            if it.name:
                names.append(it.name)
                continue
            if numbered and not explicit:
                name = unique_name(str(position), taken)
            else:
                base = safe_default(it.default_name)
                name = unique_name(base, taken, first=_first_free(scope, base))
            taken.extra.add(name)
            names.append(name)
        return names


class _Taken:
    """The names a new one must avoid: the scope's, and those of the items being named."""

    __slots__ = ("names", "extra")

    def __init__(self, names: dict[str, str], extra: set[str]):
        self.names, self.extra = names, extra

    def __contains__(self, name: object) -> bool:
        return name in self.names or name in self.extra


def _first_free(scope: ScopeCtx, base: str) -> int:
    """The first n with `{base}_{n}` not in the scope's names, from where the last search ended
    (names only grow, or are all cleared at once: clear_names); the same answer as counting from 1."""
    n = scope.numbered_from.get(base, 1)
    if n > 1 and f"{base}_{n - 1}" not in scope.names:  # cleared since: count again
        n = 1
    while f"{base}_{n}" in scope.names:
        n += 1
    scope.numbered_from[base] = n
    return n



def safe_default(name: str) -> str:
    """A default module name (an op's kind or a block's name, not chosen as a module name)
    made to pass the identifier rules: `a-b` -> `a_b`, `forward` -> `forward_`."""
    if module_name_problem(name) is None:
        return name
    text = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_")[:60] or "module"
    return text if module_name_problem(text) is None else text + "_"
