"""An unnamed `repeat` inside a numbered list: one loop in the constructor.

The lowering splices the iterations into the list's numbering (`1` ... `15` of MobileNetV3's
features), so the class is an nn.Sequential subclass whose constructor fills a list, as
torchvision's `MobileNetV3.__init__` fills `layers`: the items before the loop, then
`for i in range(len(rows)): layers.append(...)`, then the rest. The input channels of each
iteration are a running variable, `channels`, set before the loop and updated by what an
iteration makes (its output channels, written from the blueprint's expressions), as
torchvision's `make_layers` keeps `in_channels`. Every iteration must print the same text.
"""

from __future__ import annotations

import ast
from typing import Any

from ...expr import interpolate
from ...source import YDict, YList
from ...values import is_int
from ..printer import flat
from ..translate import Sym, Untranslatable, code_of, concrete, node_of, valid_name
from .items import Items
from .values import INDENT, LINE, RESERVED, Loop, Val, _plain, chan, with_chan

RUNNING = "channels"  # the constructor variable holding an iteration's input channels


class Repeat(Items):
    def repeated(self, raw: Any, x: Val, in_var: str, var: str, first: int) -> tuple[Val, int]:
        """The repeat's iterations as members `first`, `first + 1`, ...; returns the value after
        them and how many there are."""
        if not isinstance(raw, YDict) or set(raw) - {"repeat", "as", "body"}:
            raise Untranslatable("a named repeat inside a list")
        names = self.names | set(self.let_nodes) | RESERVED
        loop = raw.get("as")
        if loop is not None and (not isinstance(loop, str) or not valid_name(loop) or loop in names):
            raise Untranslatable("the repeat's loop variable")
        if RUNNING in names or RUNNING == loop:
            raise Untranslatable(f"a param or let named `{RUNNING}`")
        count = interpolate(raw["repeat"], self.env)
        count_node = self.expr(raw["repeat"], None)
        if not is_int(count) or count < 1:
            raise Untranslatable("a repeat of no iteration")  # nothing to write the loop's text from
        body = raw["body"]
        if isinstance(body, (list, YList)):
            if len(body) != 1:
                raise Untranslatable("a repeat of several items inside a list")
            body = body[0]
        if isinstance(body, YDict) and ("if" in body or "repeat" in body):
            raise Untranslatable("an `if` or `repeat` inside a repeat")
        key, args, name, sources = self.parse_wired(body)
        if name is not None or sources is not None:
            raise Untranslatable("a named or wired item in a repeat")
        start, at = node_of(chan(x.shape)), len(self.members)
        saved = self.env.get(loop, ...) if loop else ...
        if loop:
            self.names.add(loop)
        texts, outs, value = set(), set(), x
        try:
            for i in range(count):
                if loop:
                    self.env[loop] = i
                channels = Sym(concrete(chan(value.shape)), ast.Name(RUNNING, ast.Load()))
                fed = Val(in_var if i == 0 else value.var, with_chan(_plain(value.shape), channels))
                value = self.item(key, args, str(first + i), [fed], var, None)
                if len(self.members) != at + i + 1 or self.members[-1][2] is not None:
                    raise Untranslatable("an iteration that is not one member")
                texts.add(flat(self.members[-1][1]))
                outs.add(code_of(node_of(chan(value.shape))))
        finally:
            if loop:
                self.names.discard(loop)
                if saved is ...:
                    self.env.pop(loop, None)
                else:
                    self.env[loop] = saved
        if len(texts) != 1 or len(outs) != 1:
            raise Untranslatable("iterations of a repeat that print otherwise")
        text, made = texts.pop(), outs.pop()
        if not any(isinstance(n, ast.Name) and n.id == RUNNING for n in ast.walk(ast.parse(text, mode="eval"))):
            raise Untranslatable("a repeat whose items do not read their input channels")
        update = None if made == RUNNING else f"{RUNNING} = {made}"
        before = [] if code_of(start) == RUNNING else [f"{RUNNING} = {code_of(start)}"]
        header = f"for {loop or '_'} in range({code_of(count_node if count_node is not None else node_of(count))}):"
        if any(len(INDENT * 3 + line) > LINE for line in [*before, header, update or ""]):
            raise Untranslatable("a repeat whose loop does not fit a line")
        self.loops.append(Loop(at, len(self.members), before, header, update))
        out = Val(value.var, with_chan(_plain(value.shape), Sym(concrete(chan(value.shape)),
                                                                   ast.Name(RUNNING, ast.Load()))))
        return out, count
