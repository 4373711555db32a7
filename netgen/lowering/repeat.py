"""`repeat` and `if`: the forms that expand into items before anything is lowered.

A `repeat` without a `name` splices its iterations into the enclosing list; with
`name: layer${i+1}` each iteration is one named item (a scope). An `if` splices the chosen
branch (`then:` or `else:`) in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Span
from ..source import YDict
from ..values import int_if_integral, is_int
from .items import Item, as_list, is_single_item, span_of

if TYPE_CHECKING:
    from .host import LoweringHost

MAX_REPEAT = 10_000


class Repetition:
    """List expansion: the mixin of `Lowerer` that flattens lists, repeats and conditionals."""

    def expand(self: LoweringHost, raws: Any, env: dict, span: Span | None, path: tuple) -> list[Item]:
        """Flatten a list: unnamed repeats and `if` splice their items in place."""
        if isinstance(raws, str) and "$" in raws:
            # `body: $layers`: a list held by a param (or one item: `body: $act`), evaluated once
            ok, raws = self.try_value(raws, env, span, path, "list")
            if not ok:
                return []
        raws = as_list(raws, span)
        items: list[Item] = []
        for index, raw in enumerate(raws):
            item_span = raws.item_span(index)
            if isinstance(raw, YDict) and "repeat" in raw:
                items += self.expand_repeat(raw, env, item_span, path)
            elif isinstance(raw, YDict) and "if" in raw:
                chosen = self.choose_branch(raw, env, item_span, path)
                if chosen is not None:
                    items += self.expand(chosen, env, span_of(chosen, item_span), path)
            else:
                item = self.parse_item(raw, env, item_span, path)
                if item is not None:
                    items.append(item)
        return items

    def expand_repeat(self: LoweringHost, raw: YDict, env: dict, span, path) -> list[Item]:
        self.check_keys(raw, ("repeat", "as", "name", "body"), "repeat", path)
        ok, count = self.try_value(raw["repeat"], env, raw.value_span("repeat"), path, "repeat")
        if not ok:
            return []
        count = int_if_integral(count)
        if not is_int(count) or not 0 <= count <= MAX_REPEAT:
            self.error("NG007", f"repeat expects a count from 0 to {MAX_REPEAT}; received {count!r}",
                       raw.value_span("repeat"), path)
            return []
        if "body" not in raw:
            self.error("NG015", "repeat has no `body`", span, path, "add `body: [...]` with the items to repeat")
            return []
        var = raw.get("as")
        if var is not None and (not isinstance(var, str) or not var.isidentifier()):
            self.error("NG007", f"`as` names the loop variable; received {var!r}", raw.value_span("as"), path)
            return []
        body = raw["body"]
        items: list[Item] = []
        for i in range(count):
            env_i = {**env, var: i} if var else env
            if "name" not in raw:
                items += self.expand(body, env_i, raw.value_span("body"), path)
                continue
            ok, name = self.try_value(raw["name"], env_i, raw.value_span("name"), path, "repeat name")
            name = self.check_name(name, raw.value_span("name"), path) if ok else None
            if name is None:
                return items
            single = is_single_item(body)
            if single:
                item = self.parse_item(body, env_i, raw.value_span("body"), path)
                if item is None:
                    continue
                if item.name is not None:
                    self.error("NG015", "a repeat with `name` names its iterations; the body may not be named too",
                               item.name_span, path, "drop one of the two names")
                item.name, item.name_span = name, raw.value_span("name")
            else:
                item = Item("seq", "seq", as_list(body, raw.value_span("body")), env_i, raw.value_span("body"),
                            name=name, name_span=raw.value_span("name"))
            items.append(item)
        return items

    def choose_branch(self: LoweringHost, raw: YDict, env: dict, span, path) -> Any | None:
        self.check_keys(raw, ("if", "then", "else"), "if", path)
        ok, cond = self.try_value(raw["if"], env, raw.value_span("if"), path, "if")
        if not ok:
            return None
        if "then" not in raw:
            self.error("NG015", "`if` needs `then:` (and may have `else:`)", span, path)
            return None
        chosen = raw["then"] if cond else raw.get("else")
        return chosen
