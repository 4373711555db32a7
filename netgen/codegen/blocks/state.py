"""A walk's state (one block instance), its expressions in the blueprint's terms, and how an
item is read; the constructs (items.py, then parallel.py, residual.py, dense.py) build on it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...blueprint import BlockDef
from ...source import YDict, YList
from ..printer import Group, dotted, flat, literal
from ..translate import (
    Sym,
    SymPair,
    Untranslatable,
    concrete,
    copy_tree,
    is_range_list,
    node_of,
    substitute,
    valid_name,
)
from .values import MADE, RESERVED, RUNNING, Loop, Stmt, Val, _channel_reads, _value, chan

if TYPE_CHECKING:
    from .writer import BlockWriter


class WalkState:
    """What the walk of one block instance holds, and its expressions in the blueprint's terms."""

    out: Val  # the block's output, once `run` has walked it
    input_shape: Any  # the shape of the value the block reads, set by `run`

    def __init__(self, writer: BlockWriter, block: BlockDef, path: tuple[str, ...]):
        self.w, self.block, self.path = writer, block, path
        scope = writer.graph.scopes[path]
        if scope.block is None:  # the writer walks block calls only
            raise Untranslatable(f"`{'.'.join(path)}` is not a block call")
        self.block_name: str = scope.block
        self.env = dict(scope.meta["block_env"])
        self.params = list(block.required) + [p for p in block.params if p not in block.required]
        self.dropped: set[str] = set()  # the params the class's constructor never reads (writer.py)
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
        self.loops: list[Loop] = []  # repeats in the numbered list, over `members`
        # (the deciding expression's code, its names, the branch this instance takes)
        self.branch: tuple[str, tuple[str, ...], bool] | None = None
        self.not_chain = False  # anything but a chain of members (residual, dense, parallel, wiring)
        self.prefix: tuple[str, ...] = ()  # inside a branch's nn.Sequential: its path below the block
        self.owner = "self"  # what holds the members being written (`self.unit` inside a named residual)
        self.container: str | None = None  # walking a parallel's branches: the nn.ModuleList holding them
        self.values: dict[str, Val] = {}  # the names `from:` may refer to
        self.fwd_vars: set[str] = {"x", "self"}
        self.input_val: Val | None = None
        # inside a block call that is the whole body (walk.py, `inline`): the callee's names, as
        # the call gives them in this class's terms
        self.rename: dict[str, ast.expr] = {}
        # a `let` that only names another value (`dim: $in_channels`): the class says that value
        # wherever the block reads the let, rather than give one number two names
        self.aliases: dict[str, ast.expr] = {}
        # the input channels of the list's first loop, when the items before it compute them
        # (MobileNetV3's stem width): `channels = <it>` is set before those items, which read
        # `channels`, as torchvision's `firstconv_output_channels` (repeat.py finds it, the
        # writer walks the instance again with it; `hoisting` while the items before the loop are walked)
        self.hoisted: ast.expr | None = None
        self.hoist_candidate: ast.expr | None = None
        self.hoisting = False
        # the output channels of one loop's iteration, when computed (MobileNetV3's
        # `make_divisible(rows[i][3] ..., 8)`): by the loop's number, named `out_channels` at the
        # top of each iteration, which its member and the running update read (found and applied
        # as `hoisted` is)
        self.iteration_named: tuple[int, ast.expr] | None = None
        self.iteration_candidate: tuple[int, ast.expr] | None = None
        self.naming_iteration: ast.expr | None = None
        self.inlined = 0  # how many such calls the walk has gone into
        # an optional item of a wired list: its condition's code and the variable it reads
        self.optional_reads: dict[str, tuple[str, str]] = {}

    # -- expressions -----------------------------------------------------------------------
    @contextmanager
    def loop_variable(self, loop: str | None) -> Iterator[None]:
        """A repeat's `as:` variable is a constructor name while its iterations are walked (each
        sets `self.env[loop]`); afterwards the name is gone and its old value back. No-op without one."""
        if not loop:
            yield
            return
        saved = self.env.get(loop, ...)
        self.names.add(loop)
        try:
            yield
        finally:
            self.names.discard(loop)
            if saved is ...:
                self.env.pop(loop, None)
            else:
                self.env[loop] = saved

    def expr(self, raw: Any, x: Val | None) -> ast.expr | None:
        allowed = self.names | set(self.let_nodes)
        node = self.w.translated(raw, allowed)
        if node is None:
            return None
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if "in_shape" in used:  # (the translation is shared: the transformer gets a copy)
            node = _channel_reads(copy_tree(node), x.shape if x is not None else self.input_shape)
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        mapping: dict[str, ast.expr] = {n: self.rename.get(n) or self.aliases.get(n) or ast.Name(n, ast.Load())
                                        for n in used & allowed}
        if x is not None and "in_channels" in used:
            mapping["in_channels"] = node_of(chan(x.shape))
        if "in_shape" in used:
            if x is not None and not x.is_input:
                raise Untranslatable("`in_shape` of a value inside the block")
            self.reads_in_shape = True
        node = substitute(node, mapping)
        if self.hoisting and self.hoisted is not None:
            node = named(node, ast.dump(self.hoisted), RUNNING)
        if self.naming_iteration is not None:
            node = named(node, ast.dump(self.naming_iteration), MADE)
        return node

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

    def symbolize(self, value: Any, node: ast.expr, raw: Any = None) -> Any:
        """`value` (a validated param) carrying `node`, the expression the blueprint wrote for it;
        `raw` is what that expression evaluates to, before the op's params normalised it."""
        if isinstance(value, (tuple, list)) and isinstance(node, (ast.List, ast.Tuple)) and \
                len(node.elts) == len(value):
            raws = raw if isinstance(raw, (tuple, list)) and len(raw) == len(value) else [None] * len(value)
            items = [self.symbolize(v, n, r) for v, n, r in zip(value, node.elts, raws, strict=True)]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, (tuple, list)) and value and raw is not None and not isinstance(raw, (tuple, list)) \
                and all(v == raw for v in value):
            # one value the params repeated (`columns` entry 3 read as (3,)): each entry is the expression
            items = [self.symbolize(v, node) for v in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, (tuple, list)) and is_range_list(node):
            return Sym(value, node)  # a computed length (`list(range(cols - 1))`): the list as a whole
        if isinstance(value, tuple):
            return SymPair(value, node)  # one expression for the pair (`k`): it prints whole
        if value is None or isinstance(value, (bool, int, float, str)):
            return Sym(value, node)
        raise Untranslatable(f"a computed {type(value).__name__} argument")

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
            # a name (or an item's number in a numbered list: "3"), or one computed by an expression
            # (wiring.py resolves it); never a dotted path
            if not all(isinstance(r, str) and (valid_name(r) or (r.isascii() and r.isdigit()) or r.startswith("$"))
                       for r in sources):
                raise Untranslatable("a dotted `from`")
        return str(key), args, name, sources

    def fresh(self, name: str) -> str:
        """A forward variable named after what it holds (`branch1x1`), unique in forward."""
        base = name if valid_name(name) and name not in ("out", "identity", "features", "layer") else f"x_{name}"
        var, n = base, 0
        while var in self.fwd_vars or var in self.w.global_names():  # a local must not hide a function
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

    def attr(self, name: str) -> str:
        if self.container is not None:  # a branch of a parallel in a list: an entry of its nn.ModuleList
            return f"{self.container}[{name}]"
        return f"{self.owner}.{name}" if valid_name(name) else f'getattr({self.owner}, "{name}")'

    def assign(self, name: str, callee: str, args: Sequence[str | Group]) -> Stmt:
        self.members.append((name, Group(dotted(callee), list(args)), None, True))
        if valid_name(name):
            return Stmt(f"{self.owner}.{name} = {dotted(callee)}", list(args))
        return Stmt(f"{self.owner}.add_module", [literal(name), f"{dotted(callee)}({', '.join(map(flat, args))})"])


def named(node: Any, target: str, name: str) -> Any:
    """A copy of `node` in which every subtree that dumps as `target` is the variable `name`."""
    if isinstance(node, list):
        return [named(item, target, name) for item in node]
    if not isinstance(node, ast.AST):
        return node
    if isinstance(node, ast.expr) and ast.dump(node) == target:
        return ast.Name(name, ast.Load())
    return type(node)(**{f: named(getattr(node, f), target, name) for f in node._fields if hasattr(node, f)})
