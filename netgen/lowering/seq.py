"""`seq:` — a named sequence: a list of items (or `{body: [...]}`) lowered into its own scope."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..source import YDict
from .items import Item
from .naming import ScopeCtx
from .registry import register_form

if TYPE_CHECKING:
    from .host import LoweringHost


@register_form("seq")
def lower_seq(lw: LoweringHost, item: Item, x: str | None, scope: ScopeCtx) -> str | None:
    body = item.args
    if isinstance(body, YDict) and "body" in body:
        lw.check_keys(body, ("body", "name", "from"), "seq", scope.path)
        body = body["body"]
    return lw.lower_list(body, item.env, x, scope, item.span)
