"""One class per block definition, written from the blueprint's own text.

For a block the blueprint defines (`bottleneck`), the class (`Bottleneck`) takes `in_channels`,
the block's declared params with their defaults, `in_shape` if the block reads it, and one
flag per decision the lowering took from the shapes (a `shortcut: auto` projection is present
or not: `downsample=True`). Its constructor computes the block's `let` values and every inner
op's arguments as Python translated from the blueprint's expressions (translate.py); the ops'
own emission code runs on numbers that carry those expressions (`Sym`), so `nn.Conv2d(width,
width, kernel_size=3, stride=stride, ...)` comes from the same code that emits concrete calls.

Constructs written this way: lists of ops and block calls (torchvision's names, numbered or
named as the lowering names them), `if:` items (optional members; `if`/`else` runs on the
condition and its negation), a body chosen by `if:` (both branches, the decision tested in the
constructor and again in forward), named `seq`s (nn.Sequential members, filled as the
conditions say), ops chosen by a param (the instances' ops picked in the constructor),
`residual` (identity, projection, `auto` with a flag, a computed identity/none, a shortcut of
items) with `after`, `dense` repeats (a loop of `add_module` calls and a loop in forward, as
torchvision's `_DenseBlock`), `parallel` bodies and `from:` wiring, and `module_order`.
docs/codegen.md lists what is not (yet).

Every instance is written separately and all must print the same class; then the class is run
on stand-ins for torch (fake.py) and must build and wire exactly the graph's modules for every
instance. A block that fails any step (another construct, an expression the translation cannot
express, a `from:` reference, a decision that differs between instances) keeps the scope-based
classes of python.py, and so does every block that calls it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from ..blueprint import BlockDef
from ..expr import interpolate
from ..graph import Graph
from ..ops import REGISTRY
from ..shapes import axes_of, with_axes
from ..source import YDict, YList
from . import fake
from .printer import (
    Group,
    arg_texts,
    call_lines,
    calls_torch,
    dotted,
    expression_text,
    flat,
    identifier,
    layout,
    literal,
    string_literal,
)
from .translate import (
    HELPERS,
    SAME_FUNCTIONS,
    Sym,
    Untranslatable,
    code_of,
    concrete,
    node_of,
    substitute,
    translate,
    valid_name,
)

INDENT = "    "
LINE = 120
# names the constructor itself uses (the forward pass has its own scope: x, out, identity, features)
RESERVED = {"self", "nn", "torch", "super", "in_channels", "in_shape", "range", "getattr", *SAME_FUNCTIONS, *HELPERS}
_COMPOSITES = ("seq", "residual", "parallel", "dense")
# the attribute holding whether a residual adds its input (torchvision's name)
DECIDED_RESIDUAL = "use_res_connect"
# nn.Module's own attributes: a decision kept as `self.<name>` must not shadow one
MODULE_ATTRIBUTES = {"training", "forward", "children", "modules", "parameters", "buffers", "state_dict", "to",
                     "train", "eval", "apply", "cuda", "cpu", "type", "float", "double", "half", "zero_grad"}
_UNBUILT = "not generated: no instance in the blueprint took this branch of its `if`"


@dataclass
class Stmt:
    """A constructor statement: `head(args)tail` printed to fit the line, at `depth` levels in."""

    head: str
    args: list[str] | None = None  # None: `head` is the whole statement
    tail: str = ""
    depth: int = 0
    piece: Group | None = None  # a nested layout instead of head(args)

    def lines(self, indent: int) -> list[str]:
        pad = INDENT * (indent + self.depth)
        if self.piece is not None:
            return [pad + line for line in layout(self.piece, LINE - len(pad), self.tail)]
        if self.args is None:
            return [pad + self.head]
        return [pad + line for line in call_lines(self.head, self.args, self.tail, LINE - len(pad))]


@dataclass
class Val:
    var: str
    shape: tuple
    is_input: bool = False


@dataclass
class BlockClass:
    name: str
    block: BlockDef
    required: list[str]
    defaults: list[tuple[str, Any]]
    flags: list[str]
    reads_in_shape: bool
    text: str
    instances: list[tuple[str, ...]] = field(default_factory=list)


def _value(raw: Any, env: dict) -> Any:
    """A YAML value with its expressions evaluated, lists too (as the lowering reads op args)."""
    if isinstance(raw, (list, YList)):
        return [_value(v, env) for v in raw]
    return interpolate(raw, env)


def chan(shape) -> Any:
    """The channel entry of a shape (a map's first, a channels-last map's last), as the lowering's
    `in_channels` reads it."""
    return shape[_chan_index(shape)]


def _chan_index(shape) -> int:
    axes = axes_of(shape)
    return axes.index("C") if axes.count("C") == 1 else 0


def _channel_reads(node: ast.expr, shape) -> ast.expr:
    """`in_shape[-1]` of a channels-last map is its `in_channels` (the lowering's definition), so a
    block that reads only its channels that way takes no `in_shape` (Swin's MLP)."""
    index = _chan_index(shape)

    class Channels(ast.NodeTransformer):
        def visit_Subscript(self, sub):
            at = sub.slice
            if isinstance(at, ast.UnaryOp) and isinstance(at.op, ast.USub) and isinstance(at.operand, ast.Constant):
                at = ast.Constant(-at.operand.value) if type(at.operand.value) is int else at
            if isinstance(sub.value, ast.Name) and sub.value.id == "in_shape" and \
                    isinstance(at, ast.Constant) and type(at.value) is int and \
                    -len(shape) <= at.value < len(shape) and at.value % len(shape) == index:
                return ast.Name("in_channels", ast.Load())
            return self.generic_visit(sub)

    return Channels().visit(node)


def _negated(condition: Any) -> str:
    """The blueprint expression `not (condition)`, for the items of an `else`."""
    if isinstance(condition, str):
        whole = re.fullmatch(r"\$\{(.*)\}", condition, re.DOTALL)
        if whole and "${" not in whole.group(1):
            return "${not (" + whole.group(1) + ")}"
        if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", condition):
            return "${not " + condition[1:] + "}"
    raise Untranslatable("an `if` on a constant")


def _plain(shape) -> tuple:
    """The plain values of a shape, keeping what its axes mean."""
    return with_axes(list(concrete(tuple(shape))), axes_of(shape))


def with_chan(shape, value) -> tuple:
    """`shape` with its channel entry replaced, keeping what its axes mean."""
    sizes = list(shape)
    sizes[_chan_index(shape)] = value
    return with_axes(sizes, axes_of(shape))


def camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.split("_") if p) or "Block"


class Walk:
    """One instance of one block definition, written as a class."""

    out: Val  # the block's output, once `run` has walked it

    def __init__(self, writer: BlockWriter, block: BlockDef, path: tuple[str, ...]):
        self.w, self.block, self.path = writer, block, path
        scope = writer.graph.scopes[path]
        if scope.block is None:  # the writer walks block calls only
            raise Untranslatable(f"`{'.'.join(path)}` is not a block call")
        self.block_name: str = scope.block
        self.env = dict(scope.meta["block_env"])
        self.params = list(block.required) + [p for p in block.params if p not in block.required]
        for name in self.params + list(block.let or {}):
            if not valid_name(name) or name in RESERVED:
                raise Untranslatable(f"param or let `{name}` cannot be a constructor variable")
        self.names = set(self.params) | {"in_channels", "in_shape"}
        self.sym: dict[str, Any] = {}
        self.let_lines: list[str] = []
        self.let_nodes: dict[str, ast.expr] = {}
        # checks the constructor makes first, after the lets: an op name chosen by a param must be
        # one this file builds (`- $act`), never silently another
        self.guards: list[str] = []
        self.init: list[Stmt] = []
        self.fwd: list[str] = []
        self.flags: dict[str, bool] = {}
        self.reads_in_shape = False
        self.taken: set[str] = set()
        # every `self.<name> = Callee(args)`: (name, call, condition or None, present in this instance)
        self.members: list[tuple[str, Group | str, str | None, bool]] = []
        self.numbered_optional = False
        # (the deciding expression's code, its names, the branch this instance takes)
        self.branch: tuple[str, tuple[str, ...], bool] | None = None
        self.not_chain = False  # anything but a chain of members (residual, dense, parallel, wiring)
        self.prefix: tuple[str, ...] = ()  # inside a branch's nn.Sequential: its path below the block
        self.values: dict[str, Val] = {}  # the names `from:` may refer to
        self.fwd_vars: set[str] = {"x", "self"}
        self.input_val: Val | None = None

    # -- expressions -----------------------------------------------------------------------
    def expr(self, raw: Any, x: Val | None) -> ast.expr | None:
        node = translate(raw, self.names | set(self.let_nodes))
        if node is None:
            return None
        node = _channel_reads(node, x.shape if x is not None else self.input_shape)
        mapping: dict[str, ast.expr] = {n: ast.Name(n, ast.Load()) for n in self.names | set(self.let_nodes)}
        if x is not None:
            mapping["in_channels"] = node_of(chan(x.shape))
        if "in_shape" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
            if x is not None and not x.is_input:
                raise Untranslatable("`in_shape` of a value inside the block")
            self.reads_in_shape = True
        return substitute(node, mapping)

    def op_env(self, x: Val) -> dict:
        return {**self.env, "in_channels": concrete(chan(x.shape)), "in_shape": list(concrete(x.shape))}

    def raw_expr(self, raw: Any, x: Val | None, env: dict) -> ast.expr | None:
        """`expr` for a scalar; for a list with an expression inside, the list of its items' code."""
        if isinstance(raw, (list, YList)):
            nodes = [self.raw_expr(item, x, env) for item in raw]
            if all(n is None for n in nodes):
                return None
            return ast.List([n if n is not None else node_of(_value(item, env)) for n, item in zip(nodes, raw,
                                                                                                   strict=True)],
                            ast.Load())
        return self.expr(raw, x)

    def symbolize(self, value: Any, node: ast.expr) -> Any:
        if isinstance(value, (tuple, list)) and isinstance(node, (ast.List, ast.Tuple)) and \
                len(node.elts) == len(value):
            items = [self.symbolize(v, n) for v, n in zip(value, node.elts, strict=True)]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, tuple):
            return tuple(Sym(v, ast.Subscript(node, ast.Constant(i), ast.Load())) for i, v in enumerate(value))
        if value is None or isinstance(value, (bool, int, float, str)):
            return Sym(value, node)
        raise Untranslatable(f"a computed {type(value).__name__} argument")

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

    def parallel(self, opts: Any, x: Val) -> Val:
        self.not_chain = True
        """Branches from the block input, merged (`torch.cat([branch1, branch2], 1)`, `*`, `+`)."""
        if not isinstance(opts, YDict) or "branches" not in opts or set(opts) - {"branches", "merge"}:
            raise Untranslatable("parallel options")
        branches, outs = opts["branches"], []
        if isinstance(branches, YDict):
            for bname, branch in branches.items():
                if not valid_name(bname):
                    raise Untranslatable("a branch name that is no identifier")
                self.taken.add(bname)
                if isinstance(branch, (list, YList)) or (isinstance(branch, YDict) and (
                        "if" in branch or "repeat" in branch)):
                    outs.append(self.branch_sequential(bname, branch, x))
                else:
                    key, args, _ = self.parse(branch)
                    outs.append(self.item(key, args, bname, [x], self.fresh(bname), None))
                self.values[bname] = outs[-1]
        elif isinstance(branches, (list, YList)):
            for branch in branches:
                outs.append(self.items(branch, x, self.fresh("branch"), numbered=False, first_var=x.var))
        else:
            raise Untranslatable("branches")
        merge = opts.get("merge", "concat")
        if isinstance(merge, YDict) and len(merge) == 1:
            kind, margs = next(iter(merge.items()))
        elif isinstance(merge, str):
            kind, margs = merge, None
        else:
            raise Untranslatable("merge")
        if kind not in REGISTRY or REGISTRY[kind].family != "merge":
            raise Untranslatable(f"merge `{kind}`")
        base = REGISTRY[kind].kind
        name, n = base, 0
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return self.op_item(kind, margs if margs is not None else YDict(), name, outs, "out")

    def branch_sequential(self, bname: str, raws: Any, x: Val) -> Val:
        """A listed branch: its own scope of numbered members, an nn.Sequential member here."""
        return self.seq_item(bname, raws, x, self.fresh(bname))

    def seq_item(self, name: str, raws: Any, x: Val, var: str) -> Val:
        """A named sequence inside the block (MBConv's `block`, a listed parallel branch): an
        nn.Sequential member. Numbered members with optional ones are collected in a list that the
        blueprint's conditions fill (`if has_expansion: layers.append(...)`), as torchvision's
        MBConv does, so the numbers count the members present; named ones go in by add_module."""
        saved = (self.init, self.members, self.fwd, self.taken, self.prefix, self.values, self.numbered_optional)
        self.init, self.members, self.fwd, self.taken, self.values = [], [], [], set(), {}
        self.numbered_optional = False
        self.prefix = self.prefix + (name,)
        try:
            out = self.items(raws, Val("x", x.shape, x.is_input), "x", numbered=True)
            members, fwd = self.members, self.fwd
        finally:
            (self.init, self.members, self.fwd, self.taken, self.prefix, self.values,
             self.numbered_optional) = saved
        chain = []
        for member, _, condition, _ in members:
            line = f"x = {self.attr(member)}(x)"
            chain += [f"if {self.attr(member)} is not None:", INDENT + line] if condition else [line]
        if not members or out.var != "x" or fwd != chain:
            raise Untranslatable("a sequence that is not a chain of modules")
        present = [m[0] for m in members if m[3] or not m[0].startswith("_absent_")]
        numbered = [m[0] for m in members if not m[0].startswith("_absent_")] == [str(i) for i in range(len(present))]
        target = f"self.{name}" if valid_name(name) else None
        if numbered and not any(m[2] for m in members):
            piece = Group("nn.Sequential", [m[1] for m in members], exploded=True)
            if target:
                self.init.append(Stmt("", piece=Group(f"{target} = nn.Sequential", piece.items, exploded=True)))
            else:
                self.init.append(Stmt("", piece=Group("self.add_module", [literal(name), piece])))
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
            self.init.append(Stmt(f"{target} = {made}" if target else f"self.add_module({literal(name)}, {made})"))
        else:  # named members: an nn.Sequential filled by add_module, as torchvision's DenseNet does
            if target is None:
                raise Untranslatable("a sequence of named members without an attribute name")
            self.init.append(Stmt(f"{target} = nn.Sequential()"))
            for member, item, condition, _ in members:
                if condition:
                    self.init.append(Stmt(f"if {condition}:"))
                self.init.append(Stmt(f"{target}.add_module", [literal(member), flat(item)],
                                      depth=int(bool(condition))))
        self.members.append((name, Group("nn.Sequential", [], exploded=True), None, True))
        self.fwd.append(f"{var} = {self.attr(name)}({x.var})")
        return Val(var, out.shape, x.is_input and False)

    def parse(self, raw: Any) -> tuple[str, Any, str | None]:
        key, args, name, sources = self.parse_wired(raw)
        if sources is not None:
            raise Untranslatable("`from` here")
        return key, args, name

    def parse_wired(self, raw: Any) -> tuple[str, Any, str | None, list[str] | None]:
        """An item's key, args, name, and its `from:` references (None: the previous value)."""
        if isinstance(raw, str):
            return raw, YDict(), None, None
        if not isinstance(raw, YDict):
            raise Untranslatable("an item that is not a mapping")
        keys = [k for k in raw if k not in ("name", "from")]
        if len(keys) != 1:
            raise Untranslatable("an item of several keys")
        key, args = keys[0], raw[keys[0]]
        args = args if args is not None else YDict()
        name, sources = raw.get("name"), raw.get("from")
        if isinstance(args, YDict):
            name = args.get("name", name)
            sources = args.get("from", sources)
        if name is not None and (not isinstance(name, str) or "$" in name or not valid_name(name)):
            raise Untranslatable("a computed or non-identifier name")
        if sources is not None:
            sources = list(sources) if isinstance(sources, (list, YList)) else [sources]
            if not all(isinstance(r, str) and valid_name(r) for r in sources):
                raise Untranslatable("a computed or dotted `from`")
        return str(key), args, name, sources

    def fresh(self, name: str) -> str:
        """A forward variable named after what it holds (`branch1x1`), unique in forward."""
        base = name if valid_name(name) and name not in ("out", "identity", "features", "layer") else f"x_{name}"
        var, n = base, 0
        while var in self.fwd_vars:
            n += 1
            var = f"{base}_{n}"
        self.fwd_vars.add(var)
        return var

    def ref(self, name: str) -> Val:
        if name in self.values:
            return self.values[name]
        if name == "input" and self.input_val is not None and not self.prefix:
            return self.input_val
        raise Untranslatable(f"`from: {name}` is not a value of this block")

    def items(self, raws: Any, x: Val, var: str, numbered: bool, first_var: str | None = None) -> Val:
        raws = raws if isinstance(raws, (list, YList)) else [raws]
        entries: list[tuple[str, Any, str | None, Any, list[str] | None]] = []
        groups: list[tuple[Any, int, int, int]] = []  # an if/else: its condition, first else, end (entries)
        for raw in raws:
            if isinstance(raw, YDict) and "repeat" in raw:
                raise Untranslatable("a repeat inside a list")
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
        explicit = [e[2] for e in entries if e[2]]
        counted = numbered and not explicit
        if counted and any(e[3] is not None for e in entries):
            # numbers count the items present (the lowering splices `if:`), as nn.Sequential(*layers)
            # numbers what it is given: the class must be an nn.Sequential subclass (checked at render)
            self.numbered_optional = True
        wired = any(e[4] is not None for e in entries)
        taken = set(self.taken) | set(explicit) | {"input", "output"}
        number = 0
        before: dict[int, Val] = {}
        for position, (key, args, name, condition, sources) in enumerate(entries):
            for _cond, first_else, end, start in groups:
                if position == start:
                    before[start] = x
                if position == first_else and first_else < end:
                    before[-start - 1], x = x, before[start]  # the else items start from the same value
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
            in_var = first_var if position == 0 and first_var else x.var
            inputs = [Val(in_var, x.shape, x.is_input)] if sources is None else [self.ref(r) for r in sources]
            # wired by `from:`, every value keeps a name of its own; a chain reuses one variable
            self.not_chain |= wired
            x = self.item(key, args, name, inputs, self.fresh(name) if wired else var, condition)
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
        start_init, start_fwd = len(self.init), len(self.fwd)
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
        elif key in self.w.blocks and len(inputs) == 1:
            out = self.call_item(key, args, name, x, var)
        else:
            raise Untranslatable(f"`{key}` inside a block")
        if condition is None:
            return out
        node = self.expr(condition, None)
        taken_now = bool(interpolate(condition, self.env))
        init, fwd = self.init[start_init:], self.fwd[start_fwd:]
        if len(init) != 1 or len(fwd) != 1 or out.var != x.var:
            raise Untranslatable("an optional item that is not one member")
        # absent, the value is the input's, and the blueprint's condition says it equals what the
        # item would make (MBConv's `expanded` is `in_channels` without the expansion): the next
        # items read it by the item's expression, so that every instance prints one class
        result = out if taken_now else Val(x.var, with_chan(_plain(x.shape), Sym(concrete(chan(x.shape)),
                                                                                 node_of(chan(out.shape)))))
        if node is None:
            raise Untranslatable("a constant condition")
        self.members[-1] = (*self.members[-1][:2], code_of(node), taken_now)
        if not valid_name(name) and not self.numbered_optional:
            raise Untranslatable("an optional member that is not an attribute")
        attr, made = self.attr(name), init[0]
        inline = Stmt(made.head, made.args, f"{made.tail} if {code_of(node)} else None")
        if made.piece is None and made.args is not None and len(inline.lines(2)[0]) <= LINE:
            self.init[start_init:] = [inline]
        else:
            self.init[start_init:] = [Stmt(f"{attr} = None"), Stmt(f"if {code_of(node)}:"),
                                      Stmt(made.head, made.args, made.tail, depth=1, piece=made.piece)]
        self.fwd[start_fwd:] = [f"if {attr} is not None:", INDENT + fwd[0]]
        if not taken_now:
            self.w.absent.setdefault(self.path, set()).add(name)
        return result

    def attr(self, name: str) -> str:
        return f"self.{name}" if valid_name(name) else f'getattr(self, "{name}")'

    def assign(self, name: str, callee: str, args: list[str]) -> Stmt:
        self.members.append((name, Group(dotted(callee), list(args)), None, True))
        if valid_name(name):
            return Stmt(f"self.{name} = {dotted(callee)}", args)
        return Stmt("self.add_module", [literal(name), f"{dotted(callee)}({', '.join(args)})"])

    def chosen_item(self, key: str, args: Any, name: str, inputs: list[Val], var: str, condition: Any) -> Val:
        """`- $act`: an op chosen by a param. The member is the op each instance of the block takes,
        picked in the constructor (`nn.ReLU6(inplace=True) if act == "relu6" else nn.SiLU(...)`)."""
        node = self.expr(key, None)
        kind = interpolate(key, self.env)
        choices = self.w.choices(self.block_name, key)
        present = condition is None or bool(interpolate(condition, self.env))
        if node is None or not choices or (present and kind not in choices):
            raise Untranslatable("an op chosen by a param, with no op among its values")
        made = []
        for choice in choices:
            call, forward, out_shape = self.op_emission(choice, args, inputs)
            if call is None:
                raise Untranslatable("a chosen op that builds no module")
            made.append((choice, call, expression_text(forward, [v.var for v in inputs], self.attr(name)), out_shape))
        if len({m[2] for m in made}) != 1 or len({concrete(tuple(m[3])) for m in made}) != 1:
            raise Untranslatable("chosen ops that are used or shaped otherwise")
        text = flat(Group(dotted(made[-1][1].target), arg_texts(made[-1][1].args)))
        for choice, call, _, _ in reversed(made[:-1]):
            picked = flat(Group(dotted(call.target), arg_texts(call.args)))
            text = f"{picked} if {code_of(node)} == {literal(choice)} else {text}"
        self.guard_choice(code_of(node), choices, condition)
        self.members.append((name, text, None, True))
        self.init.append(Stmt(f"self.{name} = {text}") if valid_name(name) else
                         Stmt("self.add_module", [literal(name), text]))
        self.fwd.append(f"{var} = {made[0][2]}")
        return Val(var, made[0][3])

    def guard_choice(self, code: str, choices: list[str], condition: Any) -> None:
        """The constructor refuses an op name it has no module for (the last choice is the chain's
        `else`, so without this a value the blueprint never used would silently build that op)."""
        names = "(" + ", ".join(literal(c) for c in choices) + ("," if len(choices) == 1 else "") + ")"
        test = f"{code} not in {names}"
        if condition is not None:
            node = self.expr(condition, None)
            if node is None:
                raise Untranslatable("an op chosen by a param under a condition the class cannot test")
            test = f"({code_of(node)}) and {test}"
        message = string_literal(f"{code} must name one of the ops this file was generated with: {', '.join(choices)}")
        lines = [f"if {test}:", f"{INDENT}raise ValueError({message})"]
        if any(len(INDENT * 2 + line) > LINE for line in lines):
            raise Untranslatable("an op choice whose check does not fit a line")
        if lines[0] not in self.guards:
            self.guards += lines

    def op_emission(self, kind: str, args: Any, inputs: list[Val]):
        """An op's module call, forward expression and output shape, on this block's expressions."""
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
                fields[key] = self.symbolize(fields[key], node)
        op = cls(cls.Params.model_construct(**fields))
        in_shapes = [v.shape for v in inputs]
        out_shape = op.infer_shape(in_shapes)
        # an optional member absent from the graph still names its helper class (DropPath)
        self.w.supports.extend(s for s in op.emit_support() if s not in self.w.supports)
        return op.emit_module(in_shapes, out_shape), op.emit_forward(in_shapes), out_shape

    def op_item(self, kind: str, args: Any, name: str, inputs: list[Val], var: str) -> Val:
        call, forward, out_shape = self.op_emission(kind, args, inputs)
        module = None
        if call is not None:
            self.init.append(self.assign(name, call.target, arg_texts(call.args)))
            module = self.attr(name)
        if calls_torch(forward):
            self.w.uses_torch = True
        self.fwd.append(f"{var} = {expression_text(forward, [v.var for v in inputs], module)}")
        return Val(var, out_shape)

    def call_args(self, key: str, args: Any, x: Val, child: Walk) -> tuple[list[str], dict[str, ast.expr]]:
        """The call's text (`Child(in, p=...)`) and the callee's names mapped to caller expressions."""
        block = self.w.blocks[key]
        given = {k: v for k, v in (args.items() if isinstance(args, YDict) else ()) if k not in ("name", "from")}
        texts = [code_of(node_of(chan(x.shape)))]
        mapping: dict[str, ast.expr] = {"in_channels": node_of(chan(x.shape))}
        env = self.op_env(x)
        for param in child.params:
            if param in given:
                node = self.expr(given[param], x)
                node = node if node is not None else node_of(interpolate(given[param], env))
                texts.append(f"{identifier(param)}={code_of(node)}")
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

    def call_item(self, key: str, args: Any, name: str, x: Val, var: str) -> Val:
        cls = self.w.classes.get(key)
        # an optional call absent here is printed from another instance of the callee
        child = self.w.walks.get(self.path + self.prefix + (name,)) or self.w.first_walks.get(key)
        if cls is None or child is None:
            raise Untranslatable(f"block `{key}` has no class of its own")
        texts, mapping = self.call_args(key, args, x, child)
        self.init.append(self.assign(name, cls.name, texts))
        self.fwd.append(f"{var} = {self.attr(name)}({x.var})")
        return Val(var, self.mapped_shape(child, mapping))

    def mapped_shape(self, child: Walk, mapping: dict) -> tuple:
        out = child.out.shape
        channels = Sym(concrete(chan(out)), substitute(node_of(chan(out)), mapping))
        return with_chan(_plain(out), channels)

    # -- residual and dense -----------------------------------------------------------------------
    def residual(self, opts: Any, x: Val) -> Val:
        self.not_chain = True
        if not isinstance(opts, YDict) or set(opts) - {"body", "shortcut", "projection", "after"}:
            raise Untranslatable("residual options")
        body = self.items(opts["body"], Val("out", x.shape), "out", numbered=True, first_var=x.var)
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
            self.fwd.append(f"out = {body.var} + {short.var}")
            out = Val("out", body.shape)
            return self.items(opts["after"], out, "out", numbered=False) if "after" in opts else out
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
                self.fwd.append(f"identity = {x.var} if self.{name} is None else self.{name}({x.var})")
            else:
                self.fwd.append(f"identity = self.{name}({x.var})")
            shortcut_var = "identity"
        else:
            shortcut_var = x.var
        self.taken |= {name, "add"}
        self.fwd.append(f"out = {body.var} + {shortcut_var}")
        out = Val("out", body.shape)
        if "after" in opts:
            out = self.items(opts["after"], out, "out", numbered=False)
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
        channels = code_of(node_of(chan(body.shape)))
        conv = [code_of(node_of(chan(x.shape))), channels, "kernel_size=1"]
        conv += ([f"stride={literal(stride)}"] if literal(stride) != "1" else []) + ["bias=False"]
        parts = [f"nn.Conv2d({', '.join(conv)}),"] + ([f"nn.BatchNorm2d({channels}),"] if bn else [])
        depth = 0
        if optional:  # torchvision's `downsample = None`, then the projection when the shapes differ
            self.init += [Stmt(f"self.{name} = None"), Stmt(f"if {name}:")]
            depth = 1
        self.init += [Stmt(f"self.{name} = nn.Sequential(", depth=depth),
                      *[Stmt(part, depth=depth + 1) for part in parts], Stmt(")", depth=depth)]

    def body_ops(self, raws: Any) -> list[tuple[str, Any]]:
        out = []
        for raw in raws if isinstance(raws, (list, YList)) else [raws]:
            key, args, _ = self.parse(raw["then"] if isinstance(raw, YDict) and "if" in raw else raw)
            if key in REGISTRY:  # a block call counts as stride 1; the check against the graph holds it
                out.append((key, args))
        return out

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
            layer = f"{cls.name}({', '.join(texts)})"
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


class BlockWriter:
    """Block classes for a graph: which blocks get one, their source, and how each call prints."""

    def __init__(self, graph: Graph):
        self.graph = graph.written()
        self.blocks: dict[str, BlockDef] = graph.meta.get("blocks") or {}
        self.classes: dict[str, BlockClass] = {}
        self.walks: dict[tuple[str, ...], Walk] = {}
        self.first_walks: dict[str, Walk] = {}  # one instance of each block that has a class
        self.supports: list = []  # the helper source the block classes' ops need
        self.absent: dict[tuple[str, ...], set[str]] = {}
        self.uses_torch = False
        self.failures: dict[str, str] = {}
        self._choices: dict[tuple[str, str], list[str]] = {}  # the graph is read-only here

    def input_shape(self, path: tuple[str, ...]):
        """The shape of the value a scope reads (a `Dims` keeps what its axes mean)."""
        nodes = set(self.graph.nodes_under(path))
        sources = [s for n in nodes for s in self.graph.inputs_of(n) if s not in nodes]
        return self.graph[sources[0]].shape if sources else None

    def choices(self, block_name: str, raw: str) -> list[str]:
        """The ops an expression names over every instance of a block, in the instances' order
        (computed once per block and expression: each instance's walk asks again)."""
        if (block_name, raw) in self._choices:
            return list(self._choices[block_name, raw])
        block, out = self.blocks[block_name], []
        for path in sorted(self.instances().get(block_name, [])):
            env = dict(self.graph.scopes[path].meta["block_env"])
            try:
                for key, value in (block.let or {}).items():
                    env[key] = interpolate(value, env)
                kind = interpolate(raw, env)
            except Exception:  # noqa: BLE001 (a value this instance cannot compute names no op)
                continue
            if isinstance(kind, str) and kind in REGISTRY and kind not in out:
                out.append(kind)
        self._choices[block_name, raw] = out
        return list(out)

    def helpers(self) -> list[str]:
        """The source of each helper function the block classes call (`make_divisible`)."""
        texts = [c.text for c in self.classes.values()]
        return [source for name, source in HELPERS.items() if any(f"{name}(" in t for t in texts)]

    def reached(self, block: str) -> bool:
        return any(s.block == block for s in self.graph.scopes.values())

    def instances(self) -> dict[str, list[tuple[str, ...]]]:
        out: dict[str, list[tuple[str, ...]]] = {}
        for path, scope in self.graph.scopes.items():
            if scope.kind == "block" and scope.block in self.blocks and "block_env" in scope.meta:
                out.setdefault(scope.block, []).append(path)
        return out

    def build(self, taken_names: set[str]) -> dict[str, BlockClass]:
        instances = self.instances()
        # deepest instances first: a block's callees are decided before the block
        order = sorted(instances, key=lambda b: -max(len(p) for p in instances[b]))
        names = set(taken_names)
        for block_name in order:
            try:
                cls = self.write(block_name, instances[block_name], names)
            except Exception as exc:  # noqa: BLE001 (any failure to write a block class: its scope classes stay)
                self.failures[block_name] = str(exc) or type(exc).__name__
                continue
            self.classes[block_name] = cls
            names.add(cls.name)
        return self.classes

    def write(self, block_name: str, paths: list[tuple[str, ...]], names: set[str]) -> BlockClass:
        block = self.blocks[block_name]
        name, n = camel(block_name), 1
        if not valid_name(name):
            raise Untranslatable(f"block name `{block_name}` makes no class name")
        while name in names:
            n += 1
            name = f"{camel(block_name)}{n}"
        walks = []
        for path in sorted(paths):
            walk = Walk(self, block, path)
            walk.out = walk.run()
            walks.append(walk)
        flags = list(dict.fromkeys(f for w in walks for f in w.flags))
        if walks[0].branch is not None:
            text = self.render_branches(name, walks, flags)
        else:
            texts = {self.render(name, walk) for walk in walks}
            if len(texts) != 1:
                raise Untranslatable("instances print different classes")
            if any(list(w.flags) != flags for w in walks):
                raise Untranslatable("instances take different decisions")
            text = texts.pop()
        if len({w.reads_in_shape for w in walks}) != 1:
            raise Untranslatable("instances read different input properties")
        text = _finished(text, list(walks[0].let_nodes))
        cls = BlockClass(name, block, list(block.required), [(p, v) for p, v in block.params.items()
                                                             if p not in block.required],
                         flags, walks[0].reads_in_shape, text, sorted(paths))
        for walk in walks:
            self.walks[walk.path] = walk
        self.first_walks[block_name] = walks[0]
        self.verify(cls, walks)
        return cls

    def render(self, name: str, walk: Walk) -> str:
        block = walk.block
        if self.sequential(walk):
            return self.render_sequential(name, walk)
        if walk.numbered_optional:
            raise Untranslatable("optional items numbered in a class that is not a chain")
        signature = self.signature(walk)
        lines = [f"class {name}(nn.Module):"]
        if block.doc:
            lines += [f'{INDENT}"""{_doc(block.doc)}"""', ""]
        lines += [f"{INDENT}def __init__({signature}):", f"{INDENT * 2}super().__init__()"]
        lines += [f"{INDENT * 2}{line}" for line in walk.let_lines + walk.guards]
        lines += [line for stmt in walk.init for line in stmt.lines(2)]
        lines += ["", f"{INDENT}def forward(self, x):"]
        lines += [f"{INDENT * 2}{line}" for line in walk.fwd]
        lines.append(f"{INDENT * 2}return {walk.out.var}")
        return "\n".join(lines)

    def render_branches(self, name: str, walks: list[Walk], flags: list[str]) -> str:
        """A body chosen by `if:`: both branches in the class; the constructor tests the blueprint's
        expression, and forward tests it again on the names it reads, kept as attributes."""
        branch = walks[0].branch
        if branch is None or any(w.branch is None or w.branch[:2] != branch[:2] for w in walks):
            raise Untranslatable("instances that do not all choose a branch")
        cond, names = branch[0], branch[1]
        parts = {}
        for taken in (True, False):
            group = [w for w in walks if w.branch is not None and w.branch[2] == taken]
            texts = {(tuple(line for stmt in w.init for line in stmt.lines(3)), tuple(w.fwd), w.out.var,
                      tuple(w.let_lines), tuple(w.flags)) for w in group}
            if len(texts) > 1:
                raise Untranslatable("instances that print a body branch otherwise")
            parts[taken] = texts.pop() if texts else None
        present = [p for p in parts.values() if p is not None]
        if len({p[3] for p in present}) != 1 or any(n in w.taken or n in w.fwd_vars or n in MODULE_ATTRIBUTES
                                                     for w in walks for n in names):
            raise Untranslatable("branches that compute their lets otherwise, or a member named like the decision")
        first = walks[0]
        signature = ", ".join(["self", "in_channels", *(["in_shape"] if first.reads_in_shape else []),
                               *[identifier(p) for p in first.block.required],
                               *[f"{identifier(p)}={literal(v)}" for p, v in first.block.params.items()
                                 if p not in first.block.required], *[f"{f}=False" for f in flags]])
        lines = [f"class {name}(nn.Module):"]
        if first.block.doc:
            lines += [f'{INDENT}"""{_doc(first.block.doc)}"""', ""]
        lines += [f"{INDENT}def __init__({signature}):", f"{INDENT * 2}super().__init__()"]
        if len({tuple(w.guards) for w in walks}) != 1:
            raise Untranslatable("branches that check their op choices otherwise")
        lines += [f"{INDENT * 2}{line}" for line in [*present[0][3], *first.guards]]
        if parts[True] is None or parts[False] is None:
            # every instance takes one branch: the class holds that one, and refuses the other
            # (it was never built, so nothing checked it)
            taken = parts[True] is not None
            test = cond if not taken else f"not ({cond})"
            part = present[0]
            lines.append(f"{INDENT * 2}if {test}:")
            lines.append(f"{INDENT * 3}raise ValueError({string_literal(_UNBUILT)})")
            lines += [line[len(INDENT):] for line in part[0]]
            lines += ["", f"{INDENT}def forward(self, x):"]
            lines += [f"{INDENT * 2}{line}" for line in part[1]] + [f"{INDENT * 2}return {part[2]}"]
            return "\n".join(lines)
        lines += [f"{INDENT * 2}self.{n} = {n}" for n in names]
        # what both branches build alike, at their end, is built once after the `if`
        inits = {t: next(w for w in walks if w.branch is not None and w.branch[2] == t).init for t in (True, False)}
        same = 0
        while same < min(len(inits[True]), len(inits[False])) and \
                inits[True][-1 - same].lines(0) == inits[False][-1 - same].lines(0):
            same += 1
        while same and inits[True][-same].depth:
            same -= 1
        kept = {t: [line for stmt in inits[t][:len(inits[t]) - same] for line in stmt.lines(3)] for t in (True, False)}
        if kept[True] or kept[False]:
            lines.append(f"{INDENT * 2}if {cond if kept[True] else f'not ({cond})'}:")
            lines += kept[True] or kept[False]
            if kept[True] and kept[False]:
                lines += [f"{INDENT * 2}else:", *kept[False]]
        lines += [line for stmt in inits[True][len(inits[True]) - same:] for line in stmt.lines(2)]
        forward_cond = code_of(substitute(ast.parse(cond, mode="eval").body,
                                          {n: ast.Attribute(ast.Name("self", ast.Load()), n, ast.Load())
                                           for n in names}))
        lines += ["", f"{INDENT}def forward(self, x):", f"{INDENT * 2}if {forward_cond}:"]
        both = {t: p for t, p in parts.items() if p is not None}  # each branch is taken by some instance here
        fwd = {t: [*both[t][1], f"return {both[t][2]}"] for t in (True, False)}
        tail = 0
        while tail < min(len(fwd[True]), len(fwd[False])) - 1 and fwd[True][-1 - tail] == fwd[False][-1 - tail]:
            tail += 1
        if tail and not fwd[True][-tail].startswith(INDENT):  # a whole statement, not an `if`'s body
            lines += [f"{INDENT * 3}{line}" for line in fwd[True][:-tail]]
            lines += [f"{INDENT * 2}else:"] + [f"{INDENT * 3}{line}" for line in fwd[False][:-tail]]
            lines += [f"{INDENT * 2}{line}" for line in fwd[True][-tail:]]
        else:
            lines += [f"{INDENT * 3}{line}" for line in fwd[True]] + [f"{INDENT * 2}{line}" for line in fwd[False]]
        return "\n".join(lines)

    @staticmethod
    def sequential(walk: Walk) -> bool:
        """A block that is a numbered chain of modules and nothing else: an nn.Sequential subclass,
        as torchvision writes Conv2dNormActivation (its state_dict keys are 0, 1, 2...)."""
        names = [m[0] for m in walk.members if m[3]]
        chain = []
        for name, _, condition, _ in walk.members:
            line = f"x = {walk.attr(name)}(x)"
            chain += [f"if {walk.attr(name)} is not None:", INDENT + line] if condition else [line]
        return (bool(walk.members) and names == [str(i) for i in range(len(names))] and not walk.not_chain
                and walk.fwd == chain and walk.out.var == "x" and not walk.flags)

    def render_sequential(self, name: str, walk: Walk) -> str:
        lines = [f"class {name}(nn.Sequential):"]
        if walk.block.doc:
            lines += [f'{INDENT}"""{_doc(walk.block.doc)}"""', ""]
        lines += [f"{INDENT}def __init__({self.signature(walk)}):"]
        lines += [f"{INDENT * 2}{line}" for line in walk.let_lines + walk.guards]
        if not any(m[2] for m in walk.members):
            lines.append(f"{INDENT * 2}super().__init__(")
            for _, piece, _, _ in walk.members:
                lines += [INDENT * 3 + line for line in layout(piece, LINE - 12, ",")]
            lines.append(f"{INDENT * 2})")
            return "\n".join(lines)
        # optional members: a list filled as the blueprint decides, numbered by nn.Sequential
        local = "layers" if "layers" not in walk.params and "layers" not in walk.let_nodes else "layers_"
        fixed = []
        for member in walk.members:
            if member[2]:
                break
            fixed.append(member)
        lines.append(f"{INDENT * 2}{local} = [")
        for _, piece, _, _ in fixed:
            lines += [INDENT * 3 + line for line in layout(piece, LINE - 12, ",")]
        lines.append(f"{INDENT * 2}]")
        for _, piece, condition, _ in walk.members[len(fixed):]:
            depth = 3 if condition else 2
            if condition:
                lines.append(f"{INDENT * 2}if {condition}:")
            lines += [INDENT * depth + line for line in layout(Group(f"{local}.append", [piece]), LINE - 4 * depth)]
        lines.append(f"{INDENT * 2}super().__init__(*{local})")
        return "\n".join(lines)

    @staticmethod
    def signature(walk: Walk) -> str:
        block = walk.block
        required = [identifier(p) for p in block.required]
        defaults = [f"{identifier(p)}={literal(v)}" for p, v in block.params.items() if p not in block.required]
        shape = ["in_shape"] if walk.reads_in_shape else []  # the input's C, H, W, when the block reads them
        return ", ".join(["self", "in_channels", *shape, *required, *defaults, *[f"{f}=False" for f in walk.flags]])

    def call(self, path: tuple[str, ...]) -> tuple[BlockClass, list, dict] | None:
        """How the scope at `path` is built: its class, in_channels, and arguments by name."""
        scope = self.graph.scopes.get(path)
        if scope is None or scope.kind != "block" or scope.block not in self.classes or path not in self.walks:
            return None
        cls = self.classes[scope.block]
        walk = self.walks[path]
        env = scope.meta["block_env"]
        given = scope.meta["block_args"]
        kwargs: dict[str, Any] = {"in_shape": tuple(env["in_shape"])} if cls.reads_in_shape else {}
        for param in cls.required:
            kwargs[param] = env[param]
        for param, default in cls.defaults:
            if param in given and literal(env[param]) != literal(default):
                kwargs[param] = env[param]
        for flag in cls.flags:
            if walk.flags.get(flag):
                kwargs[flag] = True
        return cls, [env["in_channels"]], kwargs

    # -- checking against the graph ---------------------------------------------------------------------
    def verify(self, cls: BlockClass, walks: list[Walk]) -> None:
        supports = {s for _, d in self.graph.ops() for s in d.op.emit_support()}
        # what builds a member (a class, or a function making an nn.Parameter) stands for a module
        targets = {c.target for _, d in self.graph.ops() if (c := d.op.emit_module(d.in_shapes, d.shape))}
        classes = {n for s in supports for n in s.defines if n[:1].isupper() or n in targets}
        functions = {n for s in supports for n in s.defines} - classes
        ns = fake.namespace(classes, functions)
        source = "\n\n".join([*HELPERS.values()] + [c.text for c in list(self.classes.values()) + [cls]])
        exec(compile(source, "<netgen block check>", "exec"), ns)  # the helpers the file defines, as written
        for walk in walks:
            _, positional, kwargs = self.call_for_check(cls, walk)
            model = ns[cls.name](*positional, **kwargs)
            self.compare(model, walk.path)

    def call_for_check(self, cls: BlockClass, walk: Walk):
        env = walk.env
        kwargs = {p: env[p] for p in walk.params}
        if cls.reads_in_shape:
            kwargs["in_shape"] = tuple(env["in_shape"])
        kwargs.update(walk.flags)
        return cls, [env["in_channels"]], kwargs

    def compare(self, model, path: tuple[str, ...]) -> None:
        graph, n = self.graph, len(path)
        leaves = fake.leaves(model)
        log: list = []
        for leaf in leaves:
            object.__setattr__(leaf, "log", log)
        built = {leaf.path: (leaf.target, leaf.args, leaf.kwargs) for leaf in leaves}
        nodes = set(graph.nodes_under(path))
        expected: dict[str, Any] = {}
        trees: dict[str, Any] = {}
        scope_inputs = [s for node in nodes for s in graph.inputs_of(node) if s not in nodes]
        if len(set(scope_inputs)) != 1:
            raise Untranslatable("a block with several inputs")
        source = scope_inputs[0]

        def tree(node):
            if node == source:
                return ("input",)
            if node in trees:
                return trees[node]
            data = graph.op_node(node)
            inputs = [tree(s) for s in graph.inputs_of(node)]
            rel = ".".join(data.path[n:])
            call = data.op.emit_module(data.in_shapes, data.shape)
            module = ("mod", rel) if call is not None else None
            trees[node] = fake.expected_tree(data.op.emit_forward(data.in_shapes), inputs, module)
            return trees[node]

        calls = []
        for node in graph.nodes_under(path):
            data = graph.op_node(node)
            call = data.op.emit_module(data.in_shapes, data.shape)
            if call is None:
                continue
            rel = ".".join(data.path[n:])
            expected[rel] = call
            if not data.op.is_tensor:  # a parameter is read, not called
                calls.append((rel, [tree(s) for s in graph.inputs_of(node)]))
        if set(built) != set(expected):
            raise Untranslatable(f"modules differ: {sorted(set(built) ^ set(expected))[:4]}")
        for rel, call in expected.items():
            target, args, kwargs = built[rel]
            if target != call.target or fake.normalized_args(call, args, kwargs) != fake.graph_args(call):
                raise Untranslatable(f"`{rel}` is built with other arguments")
        outs = [node for node in nodes if any(u not in nodes for u in graph.users_of(node))]
        if len(outs) != 1:
            raise Untranslatable("a block with several outputs")
        result = model(fake.FakeTensor(("input",)))
        if sorted(map(repr, log)) != sorted(map(repr, calls)) or result.tree != tree(outs[0]):
            raise Untranslatable("forward wires the modules otherwise")


def _finished(text: str, lets: list[str]) -> str:
    """The class as ruff wants it: a long `def __init__(...)` broken as ruff breaks it, and a `let`
    that nothing reads left out (F841; Swin's `dim` where every op reads `in_channels`)."""
    lines = text.split("\n")
    for name in reversed(lets):
        head = f"{INDENT * 2}{name} = "
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        at = [i for i, line in enumerate(lines) if line.startswith(head)]
        if at and not any(pattern.search(line) for i, line in enumerate(lines) if i != at[0]):
            del lines[at[0]]
    out = []
    for line in lines:
        start = f"{INDENT}def __init__("
        if line.startswith(start) and line.endswith("):") and len(line) > LINE:
            params = line[len(start):-2].split(", ")
            out += [INDENT + piece for piece in call_lines("def __init__", params, ":", LINE - len(INDENT))]
        else:
            out.append(line)
    return "\n".join(out)


def _doc(text: str) -> str:
    from .python import _doc as doc

    return doc(text, INDENT)


__all__ = ["BlockWriter", "BlockClass", "Walk"]
