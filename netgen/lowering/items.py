"""Item syntax: one list entry of a network or block (`- relu`, `- conv: {...}`,
`- $block: {...}`, a composite form) read into an `Item`, before it is named and lowered.

`name:` and `from:` may stand beside the item's key or inside its mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import Span, did_you_mean
from ..ops import REGISTRY
from ..source import YDict, YList, located
from .registry import FORMS, META, keyword_forms

if TYPE_CHECKING:
    from .host import LoweringHost


@dataclass
class Item:
    """One network item after its name and `from` are read, before it is lowered."""

    form: str  # "op" | "block" | a composite form keyword ("seq", "residual", "parallel", "dense")
    key: str  # op or block name, or the form keyword
    args: Any  # YDict of op/block params or form options; YList for seq
    env: dict
    span: Span | None
    name: str | None = None
    name_span: Span | None = None
    sources: list[str] | None = None
    from_span: Span | None = None

    @property
    def default_name(self) -> str:
        if self.form == "op":
            return REGISTRY[self.key].kind
        return self.key


def as_list(value: Any, span: Span | None) -> YList:
    value = located(value, span)  # a plain list or dict comes from an expression (`body: $layers`)
    if isinstance(value, YList):
        return value
    items = YList([value])
    items.span = span
    items.item_spans = [getattr(value, "span", None) or span]
    return items


def span_of(value: Any, fallback: Span | None) -> Span | None:
    return getattr(value, "span", None) or fallback


def is_single_item(body: Any) -> bool:
    """A body written as one item (`relu`, `{conv: {...}}`), not a list, repeat or `if`."""
    return isinstance(body, str) or (isinstance(body, YDict) and not any(m in body for m in META))


class ItemSyntax:
    """Reading items: the mixin of `Lowerer` that owns item syntax."""

    def parse_item(self: LoweringHost, raw: Any, env: dict, span: Span | None, path: tuple) -> Item | None:
        limits.check_deadline(span)
        if isinstance(raw, str):
            ok, key = self.try_value(raw, env, span, path)
            if not ok:
                return None
            return self.classify(str(key), YDict(), env, span, path)
        if not isinstance(raw, YDict) or not raw:
            self.error("NG015", f"an item must be an op name or a mapping `op: {{params}}`; received {raw!r}",
                       span, path, "write e.g. `- relu` or `- conv: {out: 64, k: 3}`")
            return None
        keys = [k for k in raw if k not in ("name", "from")]
        if len(keys) != 1:
            self.error("NG015", f"an item has one op, block or form key; found {', '.join(map(str, keys)) or 'none'}",
                       span, path, "split it into separate list items (`- conv: ...` then `- bn`)")
            return None
        key = keys[0]
        args = raw[key]
        if args is None:
            args = YDict()
            args.span = raw.value_span(key)
        op_name = key
        if isinstance(key, str) and "$" in key:  # the op or block chosen by a param: `$block: {...}`
            ok, op_name = self.try_value(key, env, raw.key_span(key), path, "op name")
            if not ok:
                return None
        item = self.classify(str(op_name), args, env, raw.key_span(key), path)
        if item is None:
            return None
        # name and from may stand beside the form key or inside its mapping (unless the form
        # reads those keys itself: a dense form's inner `name` is its layers' name template)
        form = FORMS.get(item.form)
        inner = isinstance(args, YDict) and (form is None or form.names_inside)
        holders = [raw] + ([args] if inner else [])
        for holder in holders:
            if "name" in holder:
                ok, name = self.try_value(holder["name"], env, holder.value_span("name"), path, "name")
                if ok:
                    item.name_span = holder.value_span("name")
                    item.name = self.check_name(name, item.name_span, path)
            if "from" in holder:
                ok, sources = self.try_value(holder["from"], env, holder.value_span("from"), path, "from")
                if ok:
                    item.sources = [str(s) for s in (sources if isinstance(sources, list) else [sources])]
                    item.from_span = holder.value_span("from")
        return item

    def classify(self: LoweringHost, key: str, args: Any, env: dict, span, path) -> Item | None:
        if key in keyword_forms():
            return Item(key, key, args, env, span)
        if key in REGISTRY:
            return Item("op", key, args, env, span)
        if key in self.bp.blocks:
            return Item("block", key, args, env, span)
        known = list(REGISTRY) + list(self.bp.blocks) + keyword_forms() + list(META)
        self.error("NG004", f"unknown op or block `{key}`", span, path,
                   did_you_mean(key, known) or "see `netgen ops` for the ops, or define a block under `blocks:`")
        return None
