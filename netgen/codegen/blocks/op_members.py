"""Ops as a block's members: an op (its module call and forward expression from the op's own
emission, on the block's expressions), an op chosen by a param (`- $act`: the instances' ops
picked in the constructor), and, in the inference build, the op as the pass rewrote it (a
member rewritten in some instances only: both modules, picked by a flag).
"""

from __future__ import annotations

import ast
from typing import Any

from ...expr import interpolate
from ...ops import REGISTRY
from ...ops.base import Op
from ...passes.inference import IDENTITY, rewritten
from ...source import YDict
from ..printer import Group, arg_texts, calls_torch, dotted, expression_text, flat, literal, string_literal
from ..translate import Untranslatable, code_of, concrete, valid_name
from .values import INDENT, LINE, Stmt, Val, _value
from .wiring import Wiring


class OpMembers(Wiring):
    def chosen_item(self, key: str, args: Any, name: str, inputs: list[Val], var: str, condition: Any) -> Val:
        """`- $act`: an op chosen by a param. The member is the op each instance of the block takes,
        picked in the constructor (`nn.ReLU6(inplace=True) if act == "relu6" else nn.SiLU(...)`)."""
        if self.rename:
            raise Untranslatable("an op chosen by a param of a block called as a whole body")
        node = self.expr(key, None)
        kind = interpolate(key, self.env)
        choices = self.w.choices(self.block_name, key)
        present = condition is None or bool(interpolate(condition, self.env))
        if node is None or not choices or (present and kind not in choices):
            raise Untranslatable("an op chosen by a param, with no op among its values")
        made = []
        for choice in choices:
            call, forward, out_shape = self.op_emission(choice, args, inputs, name)
            if call is None:
                raise Untranslatable("a chosen op that builds no module")
            made.append((choice, call, expression_text(forward, [v.var for v in inputs], self.attr(name)), out_shape))
        if len({m[2] for m in made}) != 1 or len({concrete(tuple(m[3])) for m in made}) != 1:
            raise Untranslatable("chosen ops that are used or shaped otherwise")
        text = flat(Group(dotted(made[-1][1].target), arg_texts(made[-1][1].args)))
        for choice, call, _, _ in reversed(made[:-1]):
            picked = flat(Group(dotted(call.target), arg_texts(call.args)))
            text = f"{picked} if {code_of(node)} == {literal(choice)} else {text}"
        self.guard_choice(node, choices, condition)
        self.members.append((name, text, None, True))
        self.init.append(Stmt(f"{self.owner}.{name} = {text}") if valid_name(name) else
                         Stmt(f"{self.owner}.add_module", [literal(name), text]))
        self.fwd.append(f"{var} = {made[0][2]}")
        return Val(var, made[0][3])

    def guard_choice(self, chosen: ast.expr, choices: list[str], condition: Any) -> None:
        """The constructor refuses an op name it has no module for (the last choice is the chain's
        `else`, so without this a value the blueprint never used would silently build that op).
        The test is built as an expression, so it holds the brackets Python needs and no others
        (`if act != "none" and act not in (...)`)."""
        code = code_of(chosen)
        test: ast.expr = ast.Compare(chosen, [ast.NotIn()], [ast.Tuple([ast.Constant(c) for c in choices], ast.Load())])
        if condition is not None:
            node = self.expr(condition, None)
            if node is None:
                raise Untranslatable("an op chosen by a param under a condition the class cannot test")
            test = ast.BoolOp(ast.And(), [node, test])
        test_code = code_of(test)
        message = string_literal(f"{code} must name one of the ops this file was generated with: {', '.join(choices)}")
        lines = [f"if {test_code}:", f"{INDENT}raise ValueError({message})"]
        if any(len(INDENT * 2 + line) > LINE for line in lines):
            raise Untranslatable("an op choice whose check does not fit a line")
        if lines[0] not in self.guards:
            self.guards += lines

    def op_emission(self, kind: str, args: Any, inputs: list[Val], name: str, rewrite: Any = ...):
        """An op's module call, forward expression and output shape, on this block's expressions; in
        the inference build, the op as the pass rewrote the graph's node of this member (`name`),
        or as `rewrite` says."""
        cls = REGISTRY[kind]
        x = inputs[0]
        if not cls.min_inputs <= len(inputs) <= (cls.max_inputs or len(inputs)):
            raise Untranslatable(f"`{kind}` with {len(inputs)} inputs")
        raw = {k: v for k, v in (args.items() if isinstance(args, YDict) else ()) if k not in ("name", "from")}
        env = self.op_env(x)
        params = cls.Params(**{k: _value(v, env) for k, v in raw.items()})
        fields = {k: getattr(params, k) for k in type(params).model_fields}
        for key, value in raw.items():
            node = self.raw_expr(value, x, env)
            if node is not None:
                fields[key] = self.symbolize(fields[key], node, _value(value, env))
        op = cls(cls.Params.model_construct(**fields))
        in_shapes = [v.shape for v in inputs]
        out_shape = op.infer_shape(in_shapes)
        return self.emitted(op, in_shapes, out_shape, name, rewrite)

    def emitted(self, op: Op, in_shapes: list, out_shape, name: str, rewrite: Any = ...):
        """What `op` (the member `name`) emits; in the inference build, once it is rewritten as the
        pass rewrote the graph's node (a folded conv gains its bias, the norm is nn.Identity()), or
        as `rewrite` says."""
        if self.w.rewrites is not None:
            if rewrite is ...:
                rewrite = self.w.rewrite_of(self.path + self.prefix + (name,), self.prefix + (name,))
            if rewrite is None:  # no instance has it: an eval identity is left out wherever it is
                rewrite = (IDENTITY,) if op.eval_identity() else ()
            op = rewritten(op, rewrite, in_shapes, out_shape)
        # an optional member absent from the graph still names its helper class (DropPath)
        self.w.supports.extend(s for s in op.emit_support() if s not in self.w.supports)
        return op.emit_module(in_shapes, out_shape), op.emit_forward(in_shapes), out_shape

    def op_item(self, kind: str, args: Any, name: str, inputs: list[Val], var: str) -> Val:
        call, forward, out_shape = self.op_emission(kind, args, inputs, name)
        module = None
        decided = self.w.decided_rewrites.get(self.prefix + (name,))
        if call is not None and decided is not None:
            self.decided_member(kind, args, name, inputs, decided)
            module = self.attr(name)
        elif call is not None:
            self.init.append(self.assign(name, call.target, arg_texts(call.args)))
            module = self.attr(name)
        if calls_torch(forward):
            self.w.uses_torch = True
        self.fwd.append(f"{var} = {expression_text(forward, [v.var for v in inputs], module)}")
        return Val(var, out_shape)

    def decided_member(self, kind: str, args: Any, name: str, inputs: list[Val],
                       rewrites: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        """A member the inference pass rewrote in some instances only (a pre-activation block's
        first norm folds into the stem's conv in the first block, and reads an addition in the
        others): both modules, picked by a flag named for the decision (`bn1_folded`), which the
        call sites set where the pass took it."""
        flag = f"{name}_folded"
        if not valid_name(name) or flag in self.names | set(self.let_nodes) | self.taken:
            raise Untranslatable("a member rewritten in some instances only, without a flag name")
        texts = []
        for each in reversed(rewrites):
            call, _, _ = self.op_emission(kind, args, inputs, name, each)
            if call is None:
                raise Untranslatable("a rewritten member that builds no module")
            texts.append(flat(Group(dotted(call.target), arg_texts(call.args))))
        text = f"{texts[0]} if {flag} else {texts[1]}"
        if len(f"{INDENT * 2}{self.owner}.{name} = {text}") > LINE:
            raise Untranslatable("a member rewritten in some instances only, longer than a line")
        self.flags[flag] = self.w.rewrite_of(self.path + self.prefix + (name,), self.prefix + (name,)) == rewrites[1]
        self.members.append((name, text, None, True))
        self.init.append(Stmt(f"{self.owner}.{name} = {text}"))
