"""The walk of one block instance: the block's lets, a body chosen by `if:`, and the construct
the body is (items.py, parallel.py, residual.py, dense.py).
"""

from __future__ import annotations

import ast
from typing import Any

from ...expr import interpolate
from ...source import YDict
from ..printer import identifier
from ..translate import SAME_FUNCTIONS, Sym, Untranslatable, code_of, node_of, translate
from .dense import Dense
from .parallel import Parallel
from .residual import Residual
from .values import _COMPOSITES, Val, _channel_reads, chan, with_chan


class Walk(Parallel, Residual, Dense):
    """One instance of one block definition, written as a class."""

    # -- the walk --------------------------------------------------------------------------------
    def run(self) -> Val:
        in_shape = self.w.input_shape(self.path) or tuple(self.env["in_shape"])
        self.input_shape = in_shape
        x = Val("x", with_chan(in_shape, Sym(chan(in_shape), ast.Name("in_channels", ast.Load()))), is_input=True)
        self.input_val = x
        for key, raw in (self.block.let or {}).items():
            node = translate(raw, self.names | set(self.let_nodes))
            node = _channel_reads(node, in_shape) if node is not None else None
            value = interpolate(raw, self.env)
            self.env[key] = value
            if node is None:
                node = node_of(value)
            if "in_shape" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
                self.reads_in_shape = True
            self.let_lines.append(f"{identifier(key)} = {code_of(node)}")
            self.let_nodes[key] = node
        body = self.block.body
        if isinstance(body, YDict) and "if" in body and "repeat" not in body:
            # the body chosen by an expression: the constructor tests it, and keeps the names it
            # reads as attributes so that forward tests it again (`self.stride = stride`)
            node = self.expr(body["if"], None)
            if node is None or set(body) - {"if", "then", "else"} or "else" not in body:
                raise Untranslatable("a body chosen by `if` on a constant, or without `else`")
            names = tuple(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                                        and n.id not in SAME_FUNCTIONS))
            self.branch = (code_of(node), names, bool(interpolate(body["if"], self.env)))
            body = body["then"] if self.branch[2] else body["else"]
        if isinstance(body, YDict) and len([k for k in body if k not in ("name", "from")]) == 1:
            key = next(k for k in body if k not in ("name", "from"))
            if key in _COMPOSITES and "name" not in body and "from" not in body:
                return self.ordered(self.composite(key, body[key], x))
        return self.ordered(self.items(body, x, "x", numbered=True))

    def ordered(self, out: Val) -> Val:
        """`module_order`: the members it lists are built first, in its order (the state_dict's key
        order, as torchvision registers them); forward still runs them in the blueprint's order."""
        order = list(getattr(self.block, "module_order", None) or ())
        if not order:
            return out
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
