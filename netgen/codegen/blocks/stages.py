"""A named repeat of stages in a list of named items, each stage an unnamed repeat of one block
call (ResNet's `layer1` ... `layer4`): two loops in the constructor, as torchvision's
`ResNet._make_layer` builds each stage as an nn.Sequential of blocks.

    channels = 64
    for i in range(4):
        layer = nn.Sequential()
        for j in range(layers[i]):
            layer.add_module(str(j), Bottleneck(channels, planes=64 * 2**i, ..., downsample=...))
            channels = 64 * 2**i * 4
        self.add_module(f"layer{i + 1}", layer)

The running input channels are `channels`, as torchvision's `self.inplanes`. A decision the
callee took from the shapes (a `shortcut: auto` projection, `downsample`) is written as the
lowering decides it: the shape changes, `stride != 1 or channels != <the call's output
channels>` (the callee's `stride` argument), checked against every unit walked. A block chosen
by a param (`$block`) is the block every instance names, the constructor refusing any other.
"""

from __future__ import annotations

import ast
from typing import Any

from ...expr import interpolate
from ...source import YDict, YList
from ...values import is_int
from ..printer import Group, flat, literal, string_literal
from ..translate import Sym, Untranslatable, code_of, concrete, node_of, substitute, valid_name
from .items import Items
from .values import INDENT, LINE, RESERVED, Stmt, Val, _plain, chan, with_chan

RUNNING = "channels"  # the input channels of the next unit (torchvision's `inplanes`)
STAGE = "layer"  # the constructor variable holding the stage being filled
STRIDE = "stride"  # a unit's stride, computed in the loop


class Stages(Items):
    def named_stages(self, raw: Any, x: Val, var: str) -> Val:
        if not isinstance(raw, YDict) or set(raw) - {"repeat", "as", "name", "body"}:
            raise Untranslatable("a named repeat inside a list, with other options")
        taken = self.names | set(self.let_nodes) | RESERVED | {RUNNING, STAGE}
        outer, template = raw.get("as"), raw.get("name")
        inner = raw["body"]
        if isinstance(inner, (list, YList)) and len(inner) == 1:
            inner = inner[0]
        if not isinstance(inner, YDict) or "repeat" not in inner or set(inner) - {"repeat", "as", "body"}:
            raise Untranslatable("a named repeat inside a list whose body is not one unnamed repeat")
        unit_loop = inner.get("as")
        if not isinstance(outer, str) or not isinstance(unit_loop, str) or \
                any(not valid_name(loop) or loop in taken for loop in (outer, unit_loop)):
            raise Untranslatable("a named repeat's loop variable")
        count = interpolate(raw["repeat"], self.env)
        if self.expr(raw["repeat"], None) is not None or not is_int(count) or count < 1 or outer == unit_loop:
            raise Untranslatable("stages counted by an expression")  # the output channels read the last stage
        body = inner["body"]
        if isinstance(body, (list, YList)) and len(body) == 1:
            body = body[0]
        key, args, name = self.parse(body)
        kind = self.chosen_block(key) if "$" in key else key
        cls = self.w.classes.get(kind)
        if name is not None or kind not in self.w.blocks or cls is None or not isinstance(template, str):
            raise Untranslatable("stages that are not one block call with a class, named by a template")
        # a stride computed per unit is a local of the loop (`stride = 2 if ... else 1`), as
        # `_make_layer` has it: the call and the downsample decision both read it
        strided = isinstance(args, YDict) and isinstance(args.get("stride"), str) and "$" in args["stride"] \
            and STRIDE not in taken
        saved = {loop: self.env.get(loop, ...) for loop in (outer, unit_loop, STRIDE)}
        self.names |= {outer, unit_loop}
        texts: set[tuple[str, ...]] = set()
        stages: list[str] = []
        value, at = x, concrete(chan(x.shape))
        try:
            name_node, units_node = self.expr(template, None), self.expr(inner["repeat"], None)
            stride_node = self.expr(args["stride"], None) if strided else None
            if name_node is None or units_node is None or (strided and stride_node is None):
                raise Untranslatable("stages named or counted by constants")
            unit_args = args
            if strided:
                unit_args = YDict(args)
                unit_args["stride"] = f"${STRIDE}"
                self.names.add(STRIDE)
            for i in range(count):
                self.env[outer] = i
                stage = interpolate(template, self.env)
                units = interpolate(inner["repeat"], self.env)
                if not isinstance(stage, str) or not valid_name(stage) or stage in self.taken or \
                        not is_int(units) or units < 1:
                    raise Untranslatable("a stage's name or its number of units")
                for j in range(units):
                    self.env[unit_loop] = j
                    child = self.w.walks.get(self.path + self.prefix + (stage, str(j)))
                    if child is None:
                        raise Untranslatable(f"block `{kind}` has no class of its own")
                    fed = Val("x", with_chan(_plain(value.shape), Sym(at, ast.Name(RUNNING, ast.Load()))))
                    if strided:
                        self.env[STRIDE] = interpolate(args["stride"], self.env)
                    call, out = self.unit_call(kind, unit_args, fed, child)
                    made = code_of(node_of(chan(out)))
                    texts.add((flat(Group(cls.name, call)), made))
                    made_call, update = call, made
                    value, at = Val(var, out), concrete(chan(out))
                stages.append(stage)
            made_node = node_of(chan(value.shape))
            last: dict[str, ast.expr] = {n.id: ast.Name(n.id, ast.Load()) for n in ast.walk(made_node)
                                         if isinstance(n, ast.Name)}
            last |= {outer: ast.Constant(count - 1), unit_loop: ast.Constant(units - 1)}
            out_node = substitute(made_node, last)  # what the block gives its caller
        finally:
            self.names -= {outer, unit_loop, STRIDE}
            for loop, before in saved.items():
                if before is ...:
                    self.env.pop(loop, None)
                else:
                    self.env[loop] = before
        if len(texts) != 1:
            raise Untranslatable("units of stages that print otherwise")
        start = code_of(node_of(chan(x.shape)))
        lines = [Stmt(f"{RUNNING} = {start}"), Stmt(f"for {outer} in range({count}):"),
                 Stmt(f"{STAGE} = nn.Sequential()", depth=1),
                 Stmt(f"for {unit_loop} in range({code_of(units_node)}):", depth=1),
                 *([Stmt(f"{STRIDE} = {code_of(stride_node)}", depth=2)] if stride_node is not None else []),
                 Stmt("", depth=2, piece=Group(f"{STAGE}.add_module", [f"str({unit_loop})",
                                                                       Group(cls.name, made_call)])),
                 Stmt(f"{RUNNING} = {update}", depth=2),
                 Stmt(f"{self.owner}.add_module({code_of(name_node)}, {STAGE})", depth=1)]
        if any(s.piece is None and len(INDENT * (2 + s.depth) + s.head) > LINE for s in lines):
            raise Untranslatable("stages whose loops do not fit a line")
        self.init += lines
        self.not_chain = True
        for stage in stages:
            self.taken.add(stage)
            self.members.append((stage, Group("nn.Sequential", [], exploded=True), None, True))
            self.fwd.append(f"{var} = {self.attr(stage)}({x.var if stage == stages[0] else var})")
        result = Val(var, with_chan(_plain(value.shape), Sym(at, out_node)))
        self.values[stages[-1]] = result
        return result

    def unit_call(self, kind: str, args: Any, fed: Val, child: Any) -> tuple[list, tuple]:
        """The call of one unit, its shape decisions written as expressions of the loop."""
        texts, mapping = self.call_args(kind, args, fed, child)
        decided = [flag for flag, value in child.flags.items() if value]
        texts = texts[:len(texts) - len(decided)]  # call_args writes them as literals (`downsample=True`)
        out = self.mapped_shape(child, mapping)
        given = args if isinstance(args, YDict) else YDict()
        for flag, value in child.flags.items():
            # the lowering projects where the unit's output shape differs from its input's
            changes: ast.expr = ast.Compare(ast.Name(RUNNING, ast.Load()), [ast.NotEq()], [node_of(chan(out))])
            taken = concrete(chan(fed.shape)) != concrete(chan(out))
            if "stride" in given:
                stride = self.expr(given["stride"], fed)
                stride = stride if stride is not None else node_of(interpolate(given["stride"], self.env))
                changes = ast.BoolOp(ast.Or(), [ast.Compare(stride, [ast.NotEq()], [ast.Constant(1)]), changes])
                taken = taken or interpolate(given["stride"], self.env) != 1
            if taken != value:
                raise Untranslatable(f"a unit's `{flag}` that is not its shape changing")
            texts.append(f"{flag}={code_of(changes)}")
        return texts, out

    def chosen_block(self, key: str) -> str:
        """`$block`: the block every instance names (the constructor refuses another)."""
        param = key[1:]
        if param not in self.params:
            raise Untranslatable("a block chosen by an expression, not a param")
        kinds = {interpolate(key, dict(self.w.graph.scopes[path].meta["block_env"]))
                 for path in self.w.instances().get(self.block_name, [])}
        if len(kinds) != 1 or not isinstance(kind := next(iter(kinds)), str):
            raise Untranslatable("stages of a block chosen otherwise by instances")
        guard = f"if {param} != {literal(kind)}:"
        if guard not in self.guards:
            message = string_literal(f"{param} must name the block this file was generated with: {kind}")
            self.guards += [guard, f"{INDENT}raise ValueError({message})"]
        return kind
