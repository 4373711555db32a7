"""`dense` repeats: a loop of `add_module` calls and a loop in forward, as torchvision's
`_DenseBlock`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ...expr import interpolate
from ...source import YDict
from ..printer import flat
from ..translate import Sym, Untranslatable, code_of, concrete, node_of, valid_name
from .values import INDENT, RESERVED, Stmt, Val, chan, with_chan

if TYPE_CHECKING:
    pass
from .items import Items


class Dense(Items):
    def dense(self, opts: Any, x: Val) -> Val:
        self.not_chain = True
        if not isinstance(opts, YDict) or set(opts) - {"repeat", "as", "name", "body"}:
            raise Untranslatable("dense options")
        var = opts.get("as")
        if not isinstance(var, str) or not valid_name(var) or var in self.names | RESERVED | set(self.let_nodes):
            raise Untranslatable("the dense loop variable")
        count_node = self.expr(opts["repeat"], None)
        count = interpolate(opts["repeat"], self.env)
        count_node = count_node if count_node is not None else node_of(count)
        key, args, name = self.parse(opts["body"])
        if key not in self.w.blocks or name is not None:
            raise Untranslatable("a dense body that is not one block call")
        self.names.add(var)
        template = opts.get("name")
        name_node = self.expr(template, None) if isinstance(template, str) else None
        cls = self.w.classes.get(key)
        if name_node is None or cls is None or not isinstance(template, str) or count < 2:
            raise Untranslatable("dense layers without a name template, a class, or at least two layers")

        def child_at(i):
            child = self.w.walks.get(self.path + (interpolate(template, {**self.env, var: i}),))
            if child is None:
                raise Untranslatable(f"block `{key}` has no class of its own")
            return child

        # what one layer adds, in this block's terms: the same for every layer, or no loop
        _, mapping = self.call_args(key, args, x, child_at(0))
        growth = self.mapped_shape(child_at(0), mapping)[0].node
        if var in {n.id for n in ast.walk(growth) if isinstance(n, ast.Name)} or "in_channels" in code_of(growth):
            raise Untranslatable("dense layers whose growth depends on the loop or the input")
        layer_in = ast.BinOp(node_of(chan(x.shape)), ast.Add(),
                             ast.BinOp(ast.Name(var, ast.Load()), ast.Mult(), growth))
        channels, text = concrete(chan(x.shape)), ""
        for i in range(count):
            self.env[var] = i
            child = child_at(i)
            texts, mapping = self.call_args(key, args, Val("x", with_chan(x.shape, Sym(channels, layer_in))), child)
            out = self.mapped_shape(child, mapping)
            layer = f"{cls.name}({', '.join(map(flat, texts))})"
            if code_of(out[0].node) != code_of(growth) or (text and layer != text):
                raise Untranslatable("dense layers that differ")
            text, channels = layer, channels + concrete(out[0])
        self.env.pop(var, None)
        self.init += [Stmt(f"for {var} in range({code_of(count_node)}):"),
                      Stmt("self.add_module", [code_of(name_node), text], depth=1)]
        self.fwd += ["features = [x]", "for layer in self.children():",
                     f"{INDENT}features.append(layer(torch.cat(features, 1)))", "out = torch.cat(features, 1)"]
        self.w.uses_torch = True
        total = ast.BinOp(node_of(chan(x.shape)), ast.Add(), ast.BinOp(count_node, ast.Mult(), growth))
        return Val("out", with_chan(x.shape, Sym(channels, total)))
