"""`residual`: identity, projection, `auto` with a flag, a computed identity/none, a shortcut of
items, and `after`; as a block's body, or named inside a list (an nn.ModuleDict member).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ...expr import interpolate
from ...ops import REGISTRY
from ...source import YDict, YList
from ..printer import Group, arg_texts, dotted, flat
from ..translate import Sym, Untranslatable, code_of, concrete, valid_name
from .values import DECIDED_RESIDUAL, INDENT, RESERVED, Stmt, Val, chan

if TYPE_CHECKING:
    pass
from .items import Items


class Residual(Items):
    def residual(self, opts: Any, x: Val, var: str = "out") -> Val:
        self.not_chain = True
        if not isinstance(opts, YDict) or set(opts) - {"body", "shortcut", "projection", "after"}:
            raise Untranslatable("residual options")
        body = self.items(opts["body"], Val(var, x.shape), var, numbered=True, first_var=x.var)
        shortcut = opts.get("shortcut", "auto")
        if isinstance(shortcut, str) and "$" in shortcut:
            return self.decided_residual(opts, shortcut, x, body)
        if isinstance(shortcut, (list, YList)):
            # the shortcut's own items: an nn.Sequential `shortcut` (empty, it passes its input on),
            # filled as the blueprint decides: the CIFAR ResNets' option A where the shape changes
            if "shortcut" in self.taken:
                raise Untranslatable("a member named like the shortcut")
            self.fwd_vars.add("identity")
            short = self.seq_item("shortcut", shortcut, x, "identity")
            self.taken |= {"shortcut", "add"}
            self.fwd.append(f"{var} = {body.var} + {short.var}")
            out = Val(var, body.shape)
            return self.items(opts["after"], out, var, numbered=False) if "after" in opts else out
        if not isinstance(shortcut, str) or shortcut not in ("auto", "identity", "projection"):
            raise Untranslatable(f"shortcut {shortcut!r}")
        same = concrete(body.shape) == concrete(x.shape)
        spec = opts.get("projection") or YDict()
        name = spec.get("name", "downsample") if isinstance(spec, YDict) else None
        if not isinstance(name, str) or not valid_name(name) or name in RESERVED or set(spec) - {"name", "bn"}:
            raise Untranslatable("projection options")
        if shortcut == "auto" or shortcut == "projection":
            self.projection(name, bool(spec.get("bn", True)), opts["body"], x, body, optional=shortcut == "auto")
            if shortcut == "auto":
                self.flags[name] = not same
                self.fwd.append(f"identity = {x.var} if {self.attr(name)} is None else {self.attr(name)}({x.var})")
            else:
                self.fwd.append(f"identity = {self.attr(name)}({x.var})")
            shortcut_var = "identity"
        else:
            shortcut_var = x.var
        self.taken |= {name, "add"}
        self.fwd.append(f"{var} = {body.var} + {shortcut_var}")
        out = Val(var, body.shape)
        if "after" in opts:
            out = self.items(opts["after"], out, var, numbered=False)
        return out

    def residual_item(self, name: str | None, opts: Any, x: Val) -> Val:
        """A named residual inside a list (the pre-activation units' `unit`): its modules are held
        by an nn.ModuleDict member (`self.unit.conv1`, `self.unit.shortcut`) and this class's
        forward wires them, body, shortcut and sum, as for a residual body; the class bound
        leaves the residual no class of its own."""
        if name is None or not valid_name(name) or name in RESERVED or not isinstance(opts, YDict):
            raise Untranslatable("a residual inside a list without a name of its own")
        if isinstance(opts.get("shortcut"), str) and "$" in opts["shortcut"]:
            raise Untranslatable("a computed shortcut inside a list")
        own = YDict({k: v for k, v in opts.items() if k not in ("name", "from")})
        saved = (self.init, self.members, self.taken, self.prefix, self.values, self.owner, self.numbered_optional)
        holder = self.attr(name)
        self.init, self.members, self.taken, self.values = [], [], set(), {}
        self.prefix, self.owner = self.prefix + (name,), holder
        loops = len(self.loops)
        try:
            out = self.residual(own, x, var="out" if x.var != "out" else self.fresh(name))
            inner = self.init
        finally:
            (self.init, self.members, self.taken, self.prefix, self.values, self.owner,
             self.numbered_optional) = saved
        if len(self.loops) != loops:
            raise Untranslatable("a repeat inside a residual")
        self.init += [Stmt(f"{holder} = nn.ModuleDict()"), *inner]
        self.members.append((name, Group("nn.ModuleDict", []), None, True))
        self.taken.add(name)
        return out

    def decided_residual(self, opts: Any, shortcut: str, x: Val, body: Val) -> Val:
        """`shortcut: ${'identity' if skip else 'none'}`: the input is added where the expression
        says so, decided in the constructor (torchvision's `self.use_res_connect = ...`)."""
        node = self.expr(shortcut, None)
        if node is None or interpolate(shortcut, self.env) not in ("identity", "none") or "after" in opts:
            raise Untranslatable("a computed shortcut other than identity or none")
        if isinstance(node, ast.IfExp) and isinstance(node.body, ast.Constant) and \
                isinstance(node.orelse, ast.Constant) and {node.body.value, node.orelse.value} == {"identity", "none"}:
            test = node.test if node.body.value == "identity" else ast.UnaryOp(ast.Not(), node.test)
        else:
            test = ast.Compare(node, [ast.Eq()], [ast.Constant("identity")])
        if DECIDED_RESIDUAL in self.taken | self.names | set(self.let_nodes):
            raise Untranslatable("a member named like the residual's decision")
        self.init.append(Stmt(f"self.{DECIDED_RESIDUAL} = {code_of(test)}"))
        self.fwd += [f"if self.{DECIDED_RESIDUAL}:", f"{INDENT}{body.var} = {body.var} + {x.var}"]
        self.taken.add(DECIDED_RESIDUAL)
        return body

    def projection(self, name: str, bn: bool, body_raw: Any, x: Val, body: Val, optional: bool) -> None:
        """The 1×1 strided conv (+ BN) the lowering inserts, with the body's channels and stride."""
        stride = 1
        for _kind, args in self.body_ops(body_raw):
            raw = {k: v for k, v in args.items() if k not in ("name", "from")} if isinstance(args, YDict) else {}
            if "stride" in raw:
                node = self.expr(raw["stride"], None)
                value = interpolate(raw["stride"], self.env)
                if isinstance(value, (list, tuple)):
                    raise Untranslatable("a pair stride in a projected body")
                stride = stride * (Sym(value, node) if node is not None else value)
        # the ops the lowering inserts (lowering/residual.py), emitted as the inference pass
        # rewrote them where it did (a conv made for its norm folds it: the norm is nn.Identity())
        shape = tuple(x.shape)
        parts: list[str] = []
        for kind, params in [("conv", {"out": chan(body.shape), "k": 1, "stride": stride, "bias": False})] + \
                ([("bn", {})] if bn else []):
            cls = REGISTRY[kind]
            fields = dict(cls.Params(**concrete(params)))
            symbolic = {k: v for k, v in params.items() if isinstance(v, Sym)}
            op = cls(cls.Params.model_construct(**{**fields, **symbolic}))
            out_shape = op.infer_shape([shape])
            self.prefix += (name,)
            try:
                call, _, _ = self.emitted(op, [shape], out_shape, str(len(parts)))
            finally:
                self.prefix = self.prefix[:-1]
            parts.append(flat(Group(dotted(call.target), arg_texts(call.args))) + ",")
            shape = out_shape
        depth = 0
        if optional:  # torchvision's `downsample = None`, then the projection when the shapes differ
            self.init += [Stmt(f"{self.attr(name)} = None"), Stmt(f"if {name}:")]
            depth = 1
        self.init += [Stmt(f"{self.attr(name)} = nn.Sequential(", depth=depth),
                      *[Stmt(part, depth=depth + 1) for part in parts], Stmt(")", depth=depth)]

    def body_ops(self, raws: Any) -> list[tuple[str, Any]]:
        out = []
        for raw in raws if isinstance(raws, (list, YList)) else [raws]:
            key, args, _ = self.parse(raw["then"] if isinstance(raw, YDict) and "if" in raw else raw)
            if key in REGISTRY:  # a block call counts as stride 1; the check against the graph holds it
                out.append((key, args))
        return out
