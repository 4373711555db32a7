"""Values wired by name inside a block: a `from:` chosen by an expression, and (with the split
below) one value cut into named parts.
"""

from __future__ import annotations

import ast

from ..translate import Untranslatable, code_of
from .state import WalkState
from .values import Val


class Wiring(WalkState):
    def ref(self, name: str) -> Val:
        if name.startswith("$"):
            return self.computed_ref(name)
        return super().ref(name)

    def computed_ref(self, raw: str) -> Val:
        """`from: ${'proj' if project else 'input'}`: a name chosen by an expression. The class
        holds it as one value when the choice is an optional item or what that item reads, on the
        item's own condition: the item's variable holds its input when it is absent (`proj =
        self.proj(x) if self.proj is not None else x`), so both choices are that variable."""
        node = self.expr(raw, None)
        if not isinstance(node, ast.IfExp) or not all(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                                      for n in (node.body, node.orelse)):
            raise Untranslatable("a computed `from` other than `a if condition else b`")
        assert isinstance(node.body, ast.Constant) and isinstance(node.orelse, ast.Constant)
        optional = self.optional_reads.get(node.body.value)
        if optional is None or optional[0] != code_of(node.test) or self.ref(node.orelse.value).var != optional[1]:
            raise Untranslatable("a computed `from` that is not an optional item or its input, on its condition")
        return self.values[node.body.value]
