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
        taken = set(scope.names) | set(explicit) | {"input", "output"}
        names = []
        for position, it in enumerate(items):
            if it.name:
                names.append(it.name)
                continue
            base = str(position) if numbered and not explicit else safe_default(it.default_name)
            name = unique_name(base, taken)
            taken.add(name)
            names.append(name)
        return names



def safe_default(name: str) -> str:
    """A default module name (an op's kind or a block's name, not chosen as a module name)
    made to pass the identifier rules: `a-b` -> `a_b`, `forward` -> `forward_`."""
    if module_name_problem(name) is None:
        return name
    text = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_")[:60] or "module"
    return text if module_name_problem(text) is None else text + "_"
