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
from ..printer import expression_piece, flat, layout
from ..translate import Sym, Untranslatable, code_of, concrete, node_of, valid_name
from .items import Items
from .values import INDENT, LINE, MADE, RESERVED, RUNNING, Loop, Val, _plain, chan, with_chan


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
        if isinstance(body, YDict) and "if" in body:
            return self.branched(body, x, in_var, var, first, loop, count, count_node)
        if isinstance(body, YDict) and "repeat" in body:
            raise Untranslatable("a `repeat` inside a repeat")
        key, args, name, sources = self.parse_wired(body)
        if name is not None or sources is not None:
            raise Untranslatable("a named or wired item in a repeat")
        start, at = self.loop_start(x), len(self.members)
        texts, outs, value = set(), set(), x
        number = len(self.loops)
        naming = self.iteration_named[1] if self.iteration_named and self.iteration_named[0] == number else None
        if naming is not None and MADE in names | {loop}:
            raise Untranslatable(f"a param, let or loop variable named `{MADE}`")
        self.naming_iteration = naming
        with self.loop_variable(loop):
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
        self.naming_iteration = None
        if len(texts) != 1 or len(outs) != 1:
            raise Untranslatable("iterations of a repeat that print otherwise")
        text, made = texts.pop(), outs.pop()
        read = {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}
        if RUNNING not in read:
            raise Untranslatable("a repeat whose items do not read their input channels")
        named: list[str] = []
        made_node = node_of(chan(value.shape))
        if naming is not None:  # the iteration's output channels, named once at its top
            if made != MADE or MADE not in read:
                raise Untranslatable("an iteration whose member does not read its named output channels")
            named = layout(expression_piece(naming, f"{MADE} = "), LINE - 3 * len(INDENT))
        elif self.iteration_named is None and self.iteration_candidate is None and \
                any(isinstance(n, ast.Call) for n in ast.walk(made_node)):  # a function's value, worth one name
            self.iteration_candidate = (number, made_node)  # the writer walks again with it named
        update = None if made == RUNNING else f"{RUNNING} = {made}"
        before = [] if code_of(start) == RUNNING else [f"{RUNNING} = {code_of(start)}"]
        header = self.header(loop, count, count_node)
        if any(len(INDENT * 3 + line) > LINE for line in [*before, header, update or ""]):
            raise Untranslatable("a repeat whose loop does not fit a line")
        self.loops.append(Loop(at, len(self.members), before, header, update, named=named))
        return running(value), count

    def loop_start(self, x: Val) -> ast.expr:
        """The input channels of a loop (what `channels` starts as). Those of the list's first loop,
        computed by the items before it from the constructor's names (`make_divisible(rows[0][0] *
        width_mult, 8)`), are a candidate to set first: the writer walks the instance again with
        them named, so that the items before the loop read `channels` rather than repeat it."""
        self.hoisting = False  # from here on `channels` runs with the loop
        start = node_of(chan(x.shape))
        called = {id(n.func) for n in ast.walk(start) if isinstance(n, ast.Call)}
        reads = {n.id for n in ast.walk(start) if isinstance(n, ast.Name) and id(n) not in called}
        if not self.loops and self.hoisted is None and not isinstance(start, ast.Name) and reads and \
                reads <= self.names | set(self.let_nodes) and not self.prefix and self.owner == "self":
            self.hoist_candidate = start
        return start

    @staticmethod
    def header(loop: str | None, count: int, count_node: Any) -> str:
        return f"for {loop or '_'} in range({code_of(count_node if count_node is not None else node_of(count))}):"

    def branched(self, body: YDict, x: Val, in_var: str, var: str, first: int, loop: str | None, count: int,
                 count_node: Any) -> tuple[Val, int]:
        """A repeat whose body is an if/else, as torchvision's make_layers loops over VGG's cfg
        (`if v == "M": layers += [pool] else: conv, bn, relu; in_channels = v`): each iteration
        walks the branch it takes, its items numbered on from the iterations before it, and every
        iteration taking a branch must print that branch alike; the loop holds both branches, so
        both must be taken by some iteration."""
        if set(body) - {"if", "then", "else"} or "else" not in body:
            raise Untranslatable("an `if` without `else` inside a repeat")
        start, at = self.loop_start(x), len(self.members)
        with self.loop_variable(loop):
            node = self.expr(body["if"], None)  # read with the loop variable a constructor variable
            if node is None:
                raise Untranslatable("a constant condition inside a repeat")
            texts: dict[bool, set] = {True: set(), False: set()}
            statements: dict[bool, list[tuple[int, Any]]] = {}
            value, number = x, first
            for i in range(count):
                if loop:
                    self.env[loop] = i
                taken = bool(interpolate(body["if"], self.env))
                fed = Val(in_var if i == 0 else value.var, running(value).shape)
                made = len(self.members)
                value = self.items(body["then" if taken else "else"], fed, var, numbered=True, first=number)
                members = self.members[made:]
                if not members:
                    raise Untranslatable("a branch of an `if` in a repeat that makes no module")
                lines: list[tuple[int, Any]] = []
                for _, piece, condition, _ in members:
                    lines += [(0, f"if {condition}:"), (1, piece)] if condition else [(0, piece)]
                out = code_of(node_of(chan(value.shape)))
                if out != RUNNING:
                    lines.append((0, f"{RUNNING} = {out}"))
                texts[taken].add(tuple(flat(p) for _, p in lines))
                statements[taken] = lines
                number += sum(1 for m in members if m[3])
        if any(len(t) != 1 for t in texts.values()):
            raise Untranslatable("iterations of a repeat that print a branch otherwise, or a branch none takes")
        lines = [(0, f"if {code_of(node)}:"), *[(d + 1, p) for d, p in statements[True]], (0, "else:"),
                 *[(d + 1, p) for d, p in statements[False]]]
        read = [p for _, p in lines if not isinstance(p, str)]
        if not any(isinstance(n, ast.Name) and n.id == RUNNING for p in read
                   for n in ast.walk(ast.parse(flat(p), mode="eval"))):
            raise Untranslatable("a repeat whose items do not read their input channels")
        before = [] if code_of(start) == RUNNING else [f"{RUNNING} = {code_of(start)}"]
        header = self.header(loop, count, count_node)
        if any(len(INDENT * (3 + d) + p) > LINE for d, p in [*[(0, b) for b in [*before, header]], *lines]
               if isinstance(p, str)):
            raise Untranslatable("a repeat whose loop does not fit a line")
        self.loops.append(Loop(at, len(self.members), before, header, None, body=lines))
        return running(value), number - first


def running(value: Val) -> Val:
    """`value` with its channels read from the running variable."""
    return Val(value.var, with_chan(_plain(value.shape), Sym(concrete(chan(value.shape)),
                                                             ast.Name(RUNNING, ast.Load()))))
