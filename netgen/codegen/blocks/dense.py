"""`dense` repeats: a loop of `add_module` calls and a loop in forward, as torchvision's
`_DenseBlock`; a named sequence that is a named repeat of one block call: a loop of `add_module`
calls into an nn.Sequential member, as torchvision's ViT `Encoder` fills `layers`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ...expr import interpolate
from ...source import YDict, YList
from ..printer import Group, flat
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

    def named_repeat(self, name: str, raw: Any, x: Val, var: str) -> Val:
        """`seq: {name: layers, body: {repeat: $layers, as: i, name: encoder_layer_${i}, body:
        {block: ...}}}`: `self.layers = nn.Sequential()` and `for i in range(layers):
        self.layers.add_module(f"encoder_layer_{i}", Block(in_channels, ...))`. Every layer must
        print the same call and give back the channels it takes (the loop's input stays `x`'s)."""
        if set(raw) - {"repeat", "as", "name", "body"} or not valid_name(name):
            raise Untranslatable("a named repeat inside a sequence, with other options")
        loop = raw.get("as")
        if not isinstance(loop, str) or not valid_name(loop) or loop in self.names | RESERVED | set(self.let_nodes):
            raise Untranslatable("the named repeat's loop variable")
        count = interpolate(raw["repeat"], self.env)
        count_node = self.expr(raw["repeat"], None)
        body = raw["body"]
        if isinstance(body, (list, YList)) and len(body) == 1:
            body = body[0]
        key, args, inner = self.parse(body)
        template = raw["name"]
        cls = self.w.classes.get(key)
        if key not in self.w.blocks or inner is not None or cls is None or not isinstance(template, str) or \
                not isinstance(count, int) or count < 1:
            raise Untranslatable("a named repeat that is not one block call with a class, named by a template")
        with self.loop_variable(loop):
            name_node = self.expr(template, None)
            if name_node is None:
                raise Untranslatable("a repeat's name template")
            text, channels = "", code_of(node_of(chan(x.shape)))
            out = x.shape
            for i in range(count):
                self.env[loop] = i
                layer = interpolate(template, self.env)
                child = self.w.walks.get(self.path + self.prefix + (name, layer))
                if child is None:
                    raise Untranslatable(f"block `{key}` has no class of its own")
                texts, mapping = self.call_args(key, args, Val("x", x.shape), child)
                out = self.mapped_shape(child, mapping)
                call = f"{cls.name}({', '.join(map(flat, texts))})"
                if code_of(node_of(chan(out))) != channels or (text and call != text):
                    raise Untranslatable("layers of a named repeat that differ or change the channels")
                text, made = call, Group(cls.name, list(texts))
        target = f"{self.owner}.{name}"
        count_text = code_of(count_node if count_node is not None else node_of(count))
        self.init += [Stmt(f"{target} = nn.Sequential()"), Stmt(f"for {loop} in range({count_text}):"),
                      Stmt("", depth=1, piece=Group(f"{target}.add_module", [code_of(name_node), made]))]
        self.taken.add(name)
        self.members.append((name, Group("nn.Sequential", [], exploded=True), None, True))
        self.fwd.append(f"{var} = {self.attr(name)}({x.var})")
        return Val(var, out)
