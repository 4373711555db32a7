"""`from:` references: an item's inputs named by the items defined before it.

A reference is a local name (`conv1`), a dotted path into a named scope (`stem.conv1`), or
`input`, the enclosing block's input. It resolves outward through enclosing scopes up to the
nearest block boundary; naming a later item is an error (it would make a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import did_you_mean
from .naming import ScopeCtx

if TYPE_CHECKING:
    from .host import LoweringHost
    from .items import Item


class References:
    """`from:` resolution: the mixin of `Lowerer` that turns references into node ids."""

    def resolve(self: LoweringHost, ref: str, scope: ScopeCtx, span) -> str | None:
        parts = ref.split(".")
        ctx: ScopeCtx | None = scope
        visible: set[str] = set()
        while ctx is not None:
            if parts[0] in ctx.names:
                break
            if parts[0] in ctx.failed and self.diags:
                return None  # its own error is reported; an "unknown reference" would be noise
            visible |= set(ctx.names)
            if ctx.block_root:
                if parts[0] == "input" and len(parts) == 1:
                    return ctx.block_input
                ctx = None
                break
            ctx = ctx.parent
        if ctx is None:
            suggestion = did_you_mean(parts[0], visible | {"input"})
            self.error("NG008", f"unknown reference `{ref}` in `from`", span, scope.path,
                       (suggestion + " " if suggestion else "") + "`from` names an earlier item in this block or "
                       "`input`; naming a later item would make a cycle")
            return None
        node = ctx.names[parts[0]]
        # `a.b.a`: each part is looked up in the scope the part before it names
        for previous, part in zip(parts[:-1], parts[1:], strict=True):
            ctx = ctx.children.get(previous) if ctx else None
            if ctx is None or part not in ctx.names:
                self.error("NG008", f"unknown reference `{ref}` in `from`", span, scope.path,
                           did_you_mean(part, ctx.names if ctx else ()) or "")
                return None
            node = ctx.names[part]
        return node

    def inputs_for(self: LoweringHost, item: Item, x: str | None, scope: ScopeCtx) -> list[str | None]:
        if item.sources is None:
            return [x]
        return [self.resolve(ref, scope, item.from_span) for ref in item.sources]

