"""The walk of one block instance: the block's lets, a body chosen by `if:`, and the construct
the body is (items.py, parallel.py, residual.py, dense.py).
"""

from __future__ import annotations

import ast
from typing import Any

from ...expr import interpolate
from ...source import YDict
from ..printer import expression_piece, identifier, layout
from ..translate import SAME_FUNCTIONS, Sym, Untranslatable, code_of, node_of, substitute, translate, valid_name
from .dense import Dense
from .parallel import Parallel
from .repeat import Repeat
from .residual import Residual
from .stages import Stages
from .values import _COMPOSITES, INDENT, LINE, RESERVED, Val, _channel_reads, chan, with_chan


class Walk(Parallel, Residual, Dense, Repeat, Stages):
    """One instance of one block definition, written as a class."""

    # -- the walk --------------------------------------------------------------------------------
    def run(self) -> Val:
        in_shape = self.w.input_shape(self.path) or tuple(self.env["in_shape"])
        self.input_shape = in_shape
        x = Val("x", with_chan(in_shape, Sym(chan(in_shape), ast.Name("in_channels", ast.Load()))), is_input=True)
        if self.block.inputs:
            x = self.named_inputs()
        self.input_val = x
        for key, raw in (self.block.let or {}).items():
            node = translate(raw, self.names | set(self.let_nodes))
            if node is not None:
                node = _channel_reads(node, in_shape)
                node = substitute(node, {n.id: self.aliases.get(n.id) or ast.Name(n.id, ast.Load())
                                         for n in ast.walk(node) if isinstance(n, ast.Name)})
            value = interpolate(raw, self.env)
            self.env[key] = value
            if node is None:
                node = node_of(value)
            if "in_shape" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
                self.reads_in_shape = True
            if isinstance(node, ast.Name):  # `dim: $in_channels`: an alias, read as what it names
                self.aliases[key] = node
                self.let_nodes[key] = node
                continue
            # a long one (a table of rows) breaks at its brackets as ruff breaks it
            self.let_lines += layout(expression_piece(node, f"{identifier(key)} = "), LINE - 2 * len(INDENT))
            self.let_nodes[key] = node
        body = self.block.body
        if isinstance(body, YDict) and "if" in body and "repeat" not in body:
            # the body chosen by an expression: the constructor tests it, and keeps the names it
            # reads as attributes so that forward tests it again (`self.stride = stride`)
            node = self.expr(body["if"], None)
            if node is None or set(body) - {"if", "then", "else"} or "else" not in body:
                raise Untranslatable("a body chosen by `if` on a constant, or without `else`")
            # the names it reads (a comprehension's own loop variable is none of them)
            bound = {g.target.id for n in ast.walk(node) if isinstance(n, ast.ListComp) for g in n.generators
                     if isinstance(g.target, ast.Name)}
            names = tuple(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                                        and n.id not in SAME_FUNCTIONS | bound))
            self.branch = (code_of(node), names, bool(interpolate(body["if"], self.env)))
            body = body["then"] if self.branch[2] else body["else"]
        self.hoisting = self.hoisted is not None  # until the first loop (repeat.py)
        return self.ordered(self.body(body, x))

    def named_inputs(self) -> Val:
        """A block of several inputs (LR-ASPP's head: `inputs: [low, high]`): forward takes each by
        its name, the constructor its channels (`low_channels, high_channels`, as torchvision's
        LRASPPHead); the first is the value the body starts from."""
        sources = self.w.graph.scopes[self.path].meta.get("block_inputs") or []
        names = list(self.block.inputs)
        taken = self.names | set(self.block.let or {}) | self.w.global_names()
        if len(sources) != len(names) or any(not valid_name(n) or n in RESERVED | taken or f"{n}_channels" in taken
                                             for n in names):
            raise Untranslatable("inputs that cannot be forward's arguments")
        vals = []
        for name, source in zip(names, sources, strict=True):
            shape = self.w.graph[source].shape
            # in_shape is the first input's, as the lowering's; the class does not take it
            val = Val(name, with_chan(shape, Sym(chan(shape), ast.Name(f"{name}_channels", ast.Load()))))
            self.values[name] = val
            self.fwd_vars.add(name)
            vals.append(val)
        return vals[0]

    def body(self, body: Any, x: Val) -> Val:
        if isinstance(body, YDict) and len([k for k in body if k not in ("name", "from")]) == 1:
            key = next(k for k in body if k not in ("name", "from"))
            # a `seq` with a name of its own is a member (MaxViT layer's `layers`), not the body itself
            named = key == "seq" and isinstance(body[key], YDict) and ("name" in body[key] or "from" in body[key])
            if "name" not in body and "from" not in body and key in _COMPOSITES and not named:
                return self.composite(key, body[key], x)
            if "name" not in body and "from" not in body and key in self.w.blocks and \
                    not (isinstance(body[key], YDict) and {"name", "from"} & set(body[key])):
                return self.inline(key, body[key], x)
        return self.items(body, x, "x", numbered=True)

    def inline(self, key: str, args: Any, x: Val) -> Val:
        """A block call that is the whole body (FractalNet's base case, `then: {fractal_conv: ...}`):
        the lowering builds the callee's members in this very scope, so the class builds them too,
        each of the callee's params read as the call's argument in this class's terms."""
        calls = self.w.graph.scopes[self.path].meta.get("inlined") or []
        callee = self.w.blocks[key]
        if self.inlined >= len(calls) or calls[self.inlined]["block"] != key:
            raise Untranslatable(f"the call of `{key}` that is the whole body, not in the graph")
        if callee.module_order or (isinstance(callee.body, YDict) and "if" in callee.body):
            raise Untranslatable(f"`{key}` as a whole body: its own `if` or `module_order`")
        env = dict(calls[self.inlined]["block_env"])
        given = {k: v for k, v in (args.items() if isinstance(args, YDict) else ()) if k not in ("name", "from")}
        rename: dict[str, ast.expr] = {"in_channels": ast.Name("in_channels", ast.Load())}
        for param in list(callee.required) + [p for p in callee.params if p not in callee.required]:
            if not valid_name(param) or param in RESERVED:
                raise Untranslatable(f"param `{param}` cannot be a constructor variable")
            node = self.expr(given[param], x) if param in given else node_of(callee.params[param])
            rename[param] = node if node is not None else node_of(interpolate(given[param], self.op_env(x)))
        names = set(rename) | {"in_shape"}
        for let, raw in (callee.let or {}).items():
            if not valid_name(let) or let in RESERVED:
                raise Untranslatable(f"let `{let}` cannot be a constructor variable")
            node = translate(raw, names)
            env[let] = interpolate(raw, env)
            if node is not None and "in_shape" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
                self.reads_in_shape = True
            rename[let] = node_of(env[let]) if node is None else substitute(
                _channel_reads(node, x.shape), {**rename, "in_shape": ast.Name("in_shape", ast.Load())})
            names.add(let)
        saved = (self.env, self.names, self.rename, self.let_nodes, self.aliases)
        self.env, self.names, self.rename, self.let_nodes, self.aliases = env, names, rename, {}, {}
        self.inlined += 1
        try:
            return self.body(callee.body, x)
        finally:
            self.env, self.names, self.rename, self.let_nodes, self.aliases = saved

    def ordered(self, out: Val) -> Val:
        """`module_order`: the members it lists are built first, in its order (the state_dict's key
        order, as torchvision registers them); forward still runs them in the blueprint's order."""
        order = list(getattr(self.block, "module_order", None) or ())
        if not order:
            return out
        if self.loops:
            raise Untranslatable("`module_order` in a class built by a loop")
        if len(self.init) != len(self.members) or any(m[2] for m in self.members) or \
                any(stmt.depth or stmt.piece is not None for stmt in self.init):
            raise Untranslatable("`module_order` in a class whose members are not one statement each")
        rank = {name: i for i, name in enumerate(order)}
        pairs = sorted(zip(self.members, self.init, strict=True),
                       key=lambda pair: (0, rank[pair[0][0]]) if pair[0][0] in rank else (1, 0))
        self.members, self.init = [m for m, _ in pairs], [stmt for _, stmt in pairs]
        return out

    def composite(self, key: str, opts: Any, x: Val) -> Val:
        if key == "seq":
            body = opts["body"] if isinstance(opts, YDict) and "body" in opts else opts
            return self.items(body, x, "x", numbered=True)
        if key == "residual":
            return self.residual(opts, x)
        if key == "dense":
            return self.dense(opts, x)
        return self.parallel(opts, x)
