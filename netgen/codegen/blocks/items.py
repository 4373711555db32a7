"""Lists of items: their names and numbers, `if:` items (optional members, if/else), block
calls, named `seq`s (nn.Sequential members) and `from:` wiring; an op item's member is
op_members.py's.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from ...expr import interpolate
from ...ops import REGISTRY
from ...source import YDict, YList
from ..printer import Group, expression_piece, identifier, literal, string_literal
from ..translate import Sym, Untranslatable, code_of, concrete, node_of, substitute, valid_name
from .op_members import OpMembers
from .values import _UNBUILT, INDENT, LINE, Stmt, Val, _negated, _plain, chan, with_chan
from .wiring import split_names

if TYPE_CHECKING:
    from .walk import Walk

REPEAT = "repeat"  # the key of a list entry that is a repeat (its args: the repeat's mapping)


class Items(OpMembers):
    def items(self, raws: Any, x: Val, var: str, numbered: bool, first_var: str | None = None,
              first: int = 0) -> Val:
        """The list's items in order; numbered ones count from `first` (a branch of an `if` in a
        repeat goes on with the numbers of the iterations before it: repeat.py)."""
        raws = raws if isinstance(raws, (list, YList)) else [raws]
        entries: list[tuple[str, Any, str | None, Any, list[str] | None]] = []
        groups: list[tuple[Any, int, int, int]] = []  # an if/else: its condition, first else, end (entries)
        for raw in raws:
            if isinstance(raw, YDict) and "repeat" in raw:
                entries.append((REPEAT, raw, None, None, None))  # its iterations: repeat.py
                continue
            parts: list[tuple[Any, Any]] = [(None, raw)]
            if isinstance(raw, YDict) and "if" in raw:
                # every item of `then` is optional on the condition, every item of `else` on its
                # negation; the else items read what the then items read (below)
                then = raw["then"] if isinstance(raw["then"], (list, YList)) else [raw["then"]]
                other = raw.get("else", [])
                other = other if isinstance(other, (list, YList)) else [other]
                if len(then) > 1 or other:
                    negated = _negated(raw["if"])
                    start = len(entries)
                    groups.append((raw["if"], start + len(then), start + len(then) + len(other), start))
                    parts = [(raw["if"], item) for item in then] + [(negated, item) for item in other]
                else:
                    parts = [(raw["if"], then[0])]
            for condition, item in parts:
                if isinstance(item, YDict) and ("if" in item or "repeat" in item):
                    raise Untranslatable("an `if` or `repeat` inside an `if`")
                key, args, name, sources = self.parse_wired(item)
                if sources is not None and condition is not None:
                    raise Untranslatable("an optional item with `from`")
                entries.append((key, args, name, condition, sources))
        explicit = [e[2] for e in entries if e[2]] + [n for e in entries if e[0] == "split" for n in split_names(e[1])]
        counted = numbered and not explicit
        if counted and any(e[3] is not None for e in entries):
            # numbers count the items present (the lowering splices `if:`), as nn.Sequential(*layers)
            # numbers what it is given: the class must be an nn.Sequential subclass (checked at render)
            self.numbered_optional = True
        wired = any(e[4] is not None for e in entries)
        # wired by `from:`, a value that some item names keeps a variable of its own; the others
        # chain through `out` (the input stays `x`, which `from: input` reads), as torchvision's
        # `out = torch.cat(...)`, `out = channel_shuffle(out, 2)`
        named = {n for e in entries for r in e[4] or () for n in (re.findall(r"['\"](\w+)['\"]", r) if "$" in r
                                                                     else [r])}
        chain = "out" if var == "x" else var
        taken = set(self.taken) | set(explicit) | {"input", "output"}
        number = first
        before: dict[int, Val] = {}
        for position, (key, args, name, condition, sources) in enumerate(entries):
            if key == REPEAT and isinstance(args, YDict) and "repeat" in args:
                if "name" in args and explicit and not wired:  # ResNet's layer1 ... layer4 (stages.py)
                    x = self.named_stages(args, x, var)
                    continue
                if not counted or wired:
                    raise Untranslatable("a repeat in a list of named or wired items")
                x, made = self.repeated(args, x, first_var if position == 0 and first_var else x.var, var, number)
                taken |= {str(number + i) for i in range(made)}
                self.taken |= {str(number + i) for i in range(made)}
                number += made
                continue
            for _cond, first_else, end, start in groups:
                if position == start:
                    before[start] = x
                if position == first_else and first_else < end:
                    before[-start - 1], x = x, before[start]  # the else items start from the same value
            in_var = first_var if position == 0 and first_var else x.var
            if key == "split":  # named parts, the list going on with the last (wiring.py)
                if condition is not None:
                    raise Untranslatable("an optional split")
                x = self.split_item(args, Val(in_var, x.shape, x.is_input) if sources is None else
                                    self.ref_one(sources))
                continue
            present = condition is None or bool(interpolate(condition, self.env))
            if name is None and counted and not present:
                name = f"_absent_{position}"  # never printed: only the Sequential form may hold it
            elif name is None:
                kind = interpolate(key, self.env) if "$" in key else key  # `- $act`: the op this instance takes
                base = str(number) if counted else (REGISTRY[kind].kind if kind in REGISTRY else kind)
                name, n = base, 0
                while name in taken:
                    n += 1
                    name = f"{base}_{n}"
            number += present
            taken.add(name)
            self.taken.add(name)
            inputs = [Val(in_var, x.shape, x.is_input)] if sources is None else [self.ref(r) for r in sources]
            self.not_chain |= wired
            own = wired and (entries[position][2] is not None or name in named)
            x = self.item(key, args, name, inputs, self.fresh(name) if own else chain if wired else var, condition)
            self.values[name] = x
            for cond, first_else, end, start in groups:
                if position == end - 1:
                    x = self.merged(cond, before.get(-start - 1, x) if first_else < end else x,
                                    x if first_else < end else before[start])
        return x

    def merged(self, condition: Any, then: Val, other: Val) -> Val:
        """The value after an if/else in a list: the branch this instance takes; both branches
        must say it by one expression, so that what follows prints one way."""
        if then.var != other.var or code_of(node_of(chan(then.shape))) != code_of(node_of(chan(other.shape))):
            raise Untranslatable("if/else branches that end in values computed otherwise")
        return then if interpolate(condition, self.env) else other

    def item(self, key: str, args: Any, name: str, inputs: list[Val], var: str, condition: Any) -> Val:
        start_init, start_fwd, start_members = len(self.init), len(self.fwd), len(self.members)
        x = inputs[0]
        if condition is not None and key in self.w.blocks and key not in self.w.classes:
            node = self.expr(condition, None)
            if node is not None and not interpolate(condition, self.env) and not self.w.reached(key):
                # an optional block call no instance makes (RegNetX's SE): the class refuses it
                # rather than hold a class for a block this network never builds
                self.init += [Stmt(f"if {code_of(node)}:"), Stmt(f"raise ValueError({string_literal(_UNBUILT)})",
                                                                  depth=1)]
                self.taken.add(name)
                return x
        if "$" in key:
            out = self.chosen_item(key, args, name, inputs, var, condition)
        elif key in REGISTRY:
            out = self.op_item(key, args, name, inputs, var)
        elif key == "seq" and len(inputs) == 1:
            if isinstance(args, YDict) and set(args) - {"body", "name", "from"}:
                raise Untranslatable("seq options")
            out = self.seq_item(name, args["body"] if isinstance(args, YDict) and "body" in args else args, x, var)
        elif key == "residual" and len(inputs) == 1:
            out = self.residual_item(name, args, x)
        elif key == "parallel" and len(inputs) == 1:
            out = self.parallel_item(name, args, x, var)
        elif key in self.w.blocks and len(inputs) == max(len(self.w.blocks[key].inputs), 1):
            out = self.call_item(key, args, name, x, var, inputs)
        else:
            raise Untranslatable(f"`{key}` inside a block")
        if condition is None:
            return out
        node = self.expr(condition, None)
        taken_now = bool(interpolate(condition, self.env))
        init, fwd = self.init[start_init:], self.fwd[start_fwd:]
        wired = out.var != x.var  # a value of its own, which later items may name
        if not init or len(fwd) != 1 or len(self.members) != start_members + 1 or \
                (wired and not fwd[0].startswith(f"{out.var} = ")):
            raise Untranslatable("an optional item that is not one member")
        # absent, the value is the input's, and the blueprint's condition says it equals what the
        # item would make (MBConv's `expanded` is `in_channels` without the expansion): the next
        # items read it by the item's expression, so that every instance prints one class
        result = out if taken_now else Val(out.var, with_chan(_plain(x.shape), Sym(concrete(chan(x.shape)),
                                                                                   node_of(chan(out.shape)))))
        if node is None:
            raise Untranslatable("a constant condition")
        self.members[-1] = (*self.members[-1][:2], code_of(node), taken_now)
        if not valid_name(name) and not self.numbered_optional:
            raise Untranslatable("an optional member that is not an attribute")
        attr, made = self.attr(name), init[0]
        inline = Stmt(made.head, made.args, f"{made.tail} if {code_of(node)} else None")
        if len(init) == 1 and made.piece is None and made.args is not None and len(inline.lines(2)[0]) <= LINE:
            self.init[start_init:] = [inline]
        else:  # built under the condition, statement by statement (a sequence filled as it decides)
            self.init[start_init:] = [Stmt(f"{attr} = None"), Stmt(f"if {code_of(node)}:")] + [
                Stmt(stmt.head, stmt.args, stmt.tail, depth=stmt.depth + 1, piece=stmt.piece) for stmt in init]
        if wired:  # absent, its variable holds its input: what a computed `from` may choose instead
            self.fwd[start_fwd:] = [f"{fwd[0]} if {attr} is not None else {x.var}"]
            self.optional_reads[name] = (code_of(node), x.var)
        else:
            self.fwd[start_fwd:] = [f"if {attr} is not None:", INDENT + fwd[0]]
        if not taken_now:
            self.w.absent.setdefault(self.path, set()).add(name)
        return result

    def repeated(self, raw: Any, x: Val, in_var: str, var: str, first: int) -> tuple[Val, int]:
        """An unnamed repeat in a numbered list: repeat.py writes it."""
        raise Untranslatable("a repeat inside a list")

    def named_stages(self, raw: Any, x: Val, var: str) -> Val:
        """A named repeat of stages in a list of named items: stages.py writes it."""
        raise Untranslatable("a named repeat inside a list")

    def named_repeat(self, name: str, raw: Any, x: Val, var: str) -> Val:
        """A named sequence that is one named repeat of a block call: dense.py writes it."""
        raise Untranslatable("a named repeat inside a sequence")

    def residual_item(self, name: str | None, opts: Any, x: Val) -> Val:
        """A named residual inside a list: residual.py writes it."""
        raise Untranslatable("a residual inside a list")

    def parallel_item(self, name: str, opts: Any, x: Val, var: str) -> Val:
        """A parallel inside a list: parallel.py writes it."""
        raise Untranslatable("a parallel inside a list")

    def call_args(self, key: str, args: Any, x: Val, child: Walk,
                  inputs: list[Val] | None = None) -> tuple[list[str | Group], dict[str, ast.expr]]:
        """The call's text (`Child(in, p=...)`) and the callee's names mapped to caller expressions;
        a callee of several `inputs` takes each one's channels first (`Head(low, high, p=...)`)."""
        block = self.w.blocks[key]
        given = {k: v for k, v in (args.items() if isinstance(args, YDict) else ()) if k not in ("name", "from")}
        texts: list[str | Group] = [code_of(node_of(chan(x.shape)))]
        mapping: dict[str, ast.expr] = {"in_channels": node_of(chan(x.shape))}
        if block.inputs and inputs is not None:
            texts = [code_of(node_of(chan(v.shape))) for v in inputs]
            mapping.update({f"{n}_channels": node_of(chan(v.shape)) for n, v in zip(block.inputs, inputs, strict=True)})
        env = self.op_env(x)
        for param in child.params:
            if param in given:
                node = self.expr(given[param], x)
                node = node if node is not None else node_of(interpolate(given[param], env))
                if param not in child.dropped:  # (a param the callee never reads is not passed)
                    texts.append(expression_piece(node, f"{identifier(param)}="))  # a long one breaks as ruff does
            else:
                node = node_of(block.params[param])
            mapping[param] = node
        if child.reads_in_shape:
            if not x.is_input:
                raise Untranslatable("a callee that reads in_shape, inside the block")
            self.reads_in_shape = True
            texts.append("in_shape=in_shape")
            mapping["in_shape"] = ast.Name("in_shape", ast.Load())
        for let, node in child.let_nodes.items():
            mapping[let] = substitute(node, mapping)
        # a decision inside the call: written as a literal, so every instance must take it alike
        texts += [f"{flag}=True" for flag, value in child.flags.items() if value]
        return texts, mapping

    def call_item(self, key: str, args: Any, name: str, x: Val, var: str, inputs: list[Val] | None = None) -> Val:
        class_name, child = self.w.callee(key, self.path + self.prefix + (name,))
        texts, mapping = self.call_args(key, args, x, child, inputs)
        self.init.append(self.assign(name, class_name, texts))
        reads = [v.var for v in inputs] if inputs is not None and self.w.blocks[key].inputs else [x.var]
        self.fwd.append(f"{var} = {self.attr(name)}({', '.join(reads)})")
        return Val(var, self.mapped_shape(child, mapping))

    def mapped_shape(self, child: Walk, mapping: dict) -> tuple:
        out = child.out.shape
        channels = Sym(concrete(chan(out)), substitute(node_of(chan(out)), mapping))
        return with_chan(_plain(out), channels)

    def seq_item(self, name: str, raws: Any, x: Val, var: str) -> Val:
        """A named sequence inside the block (MBConv's `block`, a listed parallel branch): an
        nn.Sequential member. Numbered members with optional ones are collected in a list that the
        blueprint's conditions fill (`if has_expansion: layers.append(...)`), as torchvision's
        MBConv does, so the numbers count the members present; named ones go in by add_module."""
        if isinstance(raws, YDict) and "repeat" in raws and "name" in raws:
            return self.named_repeat(name, raws, x, var)  # ViT's encoder layers (dense.py)
        saved = (self.init, self.members, self.fwd, self.taken, self.prefix, self.values, self.numbered_optional)
        self.init, self.members, self.fwd, self.taken, self.values = [], [], [], set(), {}
        self.numbered_optional = False
        self.prefix = self.prefix + (name,)
        loops = len(self.loops)
        try:
            out = self.items(raws, Val("x", x.shape, x.is_input), "x", numbered=True)
            members, fwd = self.members, self.fwd
        finally:
            (self.init, self.members, self.fwd, self.taken, self.prefix, self.values,
             self.numbered_optional) = saved
        if len(self.loops) != loops:
            raise Untranslatable("a repeat inside a named sequence")
        chain = []
        for member, _, condition, _ in members:
            line = f"x = {self.attr(member)}(x)"
            chain += [f"if {self.attr(member)} is not None:", INDENT + line] if condition else [line]
        if not members or out.var != "x" or fwd != chain:
            raise Untranslatable("a sequence that is not a chain of modules")
        present = [m[0] for m in members if m[3] or not m[0].startswith("_absent_")]
        numbered = [m[0] for m in members if not m[0].startswith("_absent_")] == [str(i) for i in range(len(present))]
        target = f"{self.owner}.{name}" if valid_name(name) else None
        whole = Group("nn.Sequential", [], exploded=True)  # the member as one call, where one call makes it
        if numbered and not any(m[2] for m in members):
            piece = whole = Group("nn.Sequential", [m[1] for m in members], exploded=True)
            if target:
                self.init.append(Stmt("", piece=Group(f"{target} = nn.Sequential", piece.items, exploded=True)))
            else:
                self.init.append(Stmt("", piece=Group(f"{self.owner}.add_module", [literal(name), piece])))
        elif numbered:  # optional members: a list filled as the blueprint decides
            local = "layers" if "layers" not in self.names | set(self.let_nodes) else "layers_"
            fixed = 0
            while fixed < len(members) and not members[fixed][2]:
                fixed += 1
            self.init.append(Stmt("", piece=Group(f"{local} = ", [m[1] for m in members[:fixed]], "[", "]",
                                                  exploded=bool(fixed))))
            previous = None
            for _, item, condition, _ in members[fixed:]:
                # one `if` for a run of items on one condition; `else:` for the run on its negation
                if condition and condition != previous:
                    negation = previous and code_of(ast.UnaryOp(ast.Not(), ast.parse(previous, mode="eval").body))
                    self.init.append(Stmt("else:" if condition == negation else f"if {condition}:"))
                previous = condition
                self.init.append(Stmt("", depth=int(bool(condition)), piece=Group(f"{local}.append", [item])))
            made = f"nn.Sequential(*{local})"
            self.init.append(Stmt(f"{target} = {made}" if target else
                                  f"{self.owner}.add_module({literal(name)}, {made})"))
        else:  # named members: an nn.Sequential filled by add_module, as torchvision's DenseNet does
            if target is None:
                raise Untranslatable("a sequence of named members without an attribute name")
            self.init.append(Stmt(f"{target} = nn.Sequential()"))
            for member, item, condition, _ in members:
                if condition:
                    self.init.append(Stmt(f"if {condition}:"))
                self.init.append(Stmt("", piece=Group(f"{target}.add_module", [literal(member), item]),
                                      depth=int(bool(condition))))
        self.members.append((name, whole, None, True))
        self.fwd.append(f"{var} = {self.attr(name)}({x.var})")
        return Val(var, out.shape, x.is_input and False)
