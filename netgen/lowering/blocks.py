"""Block calls: a user-defined block lowered with its arguments checked against its params.

A block call is a scope (a submodule) unless it is the whole body of a block or iteration.
Its env is the block's params, overridden by the call's arguments, plus `in_shape` and
`in_channels` of its input, plus its `let:`. Recursion is bounded by depth, and every call by
the caps on nodes and connections, counted before it is built (footprint.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import limits
from ..blueprint import BlockDef, type_matches, type_name
from ..errors import did_you_mean
from ..expr import ExprError
from ..source import YDict
from ..values import as_int
from .footprint import Footprint
from .items import Item
from .naming import ScopeCtx
from .registry import register_form

if TYPE_CHECKING:
    from ..shapes import Shape
    from .host import LoweringHost

MAX_BLOCK_DEPTH = limits.MAX_BLOCK_DEPTH
MAX_NODES = limits.MAX_NODES


class BlockCalls:
    """Block calls: the mixin of `Lowerer` that lowers them."""

    def lower_block(self: LoweringHost, item: Item, x: str | None, scope: ScopeCtx,
                    inputs: list[str | None] | None = None) -> str | None:
        """A call of `item`'s block on `x`; for a block of several `inputs`, `inputs` holds one value
        per name (`x` the first: `input`, `in_shape` and `in_channels` read it)."""
        block: BlockDef = self.bp.blocks[item.key]
        if len(self.call_sites) >= MAX_BLOCK_DEPTH or len(self.graph) > MAX_NODES:
            chain = " > ".join(name for name, _ in self.call_sites[-5:])
            self.error("NG013", f"block `{item.key}` nests deeper than {MAX_BLOCK_DEPTH} calls or the network exceeds "
                       f"{MAX_NODES} nodes (call chain: {chain} ...)", item.span, scope.path,
                       "give a recursive block a base case (`if:` on a param that shrinks with each call)")
            return None
        if inputs is not None and any(v is None for v in inputs):
            return None  # an input failed: its own error is reported
        env = self.input_env(item.env, [x])
        # with an unknown input (an earlier error) the call's arguments are still checked
        values = self.block_args(block, item, env or item.env, scope.path, quiet_inputs=env is None)
        if values is None or env is None or x is None:
            return None
        values.update(in_shape=env["in_shape"], in_channels=env["in_channels"])
        # what the call will make, before it is built (footprint.py): from an identical call
        # made before, else counted by a dry run; a call that would pass a cap is refused here
        shapes = [self.graph.shape_of(v) for v in (inputs or [x]) if v is not None]
        key = self.calls.key(block.name, values, shapes)
        if key is not None:
            footprint = self.calls.footprints.get(key)
            if footprint is None and key not in self.calls.failed:
                footprint = self.count_call(block, item, key, values, shapes, scope)
            if footprint is not None:
                settled, out = self.settle(footprint, item, x, scope)
                if settled:
                    return out
        # what the code generator needs to write this call as `Block(in_channels, param=value)`
        given = [k for k in (item.args if isinstance(item.args, YDict) else ()) if k not in ("name", "from")]
        call = {"block_args": {k: values[k] for k in given}, "block_env": dict(values)}
        meta = self.graph.scopes[scope.path].meta
        if "block_env" in meta:
            # the whole body of the block called here (FractalNet's `then: {fractal_conv: ...}`): the
            # scope stays that block's call; the inner calls are listed, outermost first
            meta.setdefault("inlined", []).append({"block": item.key, **call})
        else:
            meta.update(call)
        return self.expand_call(block, item, key, values, x, scope, inputs)

    def expand_call(self: LoweringHost, block: BlockDef, item: Item, key: tuple | None, values: dict, x: str,
                    scope: ScopeCtx, inputs: list[str | None] | None = None) -> str | None:
        """Lower the block's body with `values` into the call's scope; record what it made under
        `key` when it made no mistake."""
        before, errors = self.made(), self.error_count
        self.call_sites.append((item.key, item.span))
        self.open_keys.append(key)
        try:
            values = self.let_env(values, block.let, f"{block.name}.let", scope.path)
            scope.block_root, scope.block_input = True, x
            scope.clear_names()
            if inputs is not None:  # `from: low` inside the block reads that input
                scope.names.update((n, v) for n, v in zip(block.inputs, inputs, strict=True) if v is not None)
                self.graph.scopes[scope.path].meta["block_inputs"] = list(inputs)
            self.graph.scopes[scope.path].doc = block.doc
            out = self.lower_body(block.body, values, x, scope, block.span)
            if block.module_order:
                self.order_modules(block, scope.path)
        finally:
            self.call_sites.pop()
            self.open_keys.pop()
        if key is not None and out is not None and self.error_count == errors:
            self.calls.record(key, before, self.made(), None if out == x else self.graph.shape_of(out))
        return out

    def count_call(self: LoweringHost, block: BlockDef, item: Item, key: tuple, values: dict, shapes: list[Shape],
                   scope: ScopeCtx) -> Footprint | None:
        """A dry run of a call not seen before (counter.py) on inputs of `shapes`: its footprint, a
        lower bound past a cap, or None where it reaches a mistake (the build then reports it)."""
        from .counter import CallCounter  # the counter is a Lowerer: imported when first needed

        return CallCounter(self).count(block, item, key, values, shapes, scope.path)

    def settle(self: LoweringHost, footprint: Footprint, item: Item, x: str,
               scope: ScopeCtx) -> tuple[bool, str | None]:
        """A call whose footprint is known: (True, None) after refusing one that would pass a cap,
        else (False, None): build it. The test is check_budget's own on the totals the call would
        reach, so it refuses exactly the calls that check_budget would stop inside. The parameter
        budget is left to check_weights: the op that crosses it is refused, located."""
        nodes, edges = self.made()
        least = "" if footprint.exact else "at least "  # a dry run stopped at the cap: the count so far
        if nodes + footprint.nodes > limits.MAX_NODES:
            what = f"{least}{footprint.nodes:,} nodes; a network may have {limits.MAX_NODES:,} ({nodes:,} so far)"
        elif edges + footprint.edges > limits.MAX_EDGES:
            what = (f"{least}{footprint.edges:,} connections; a network may have {limits.MAX_EDGES:,} "
                    f"({edges:,} so far)")
        else:
            return False, None
        self.error("NG013", f"block `{item.key}` called here would make {what}", item.span, scope.path,
                   "counted before building it: a call repeated with the same arguments and input is counted "
                   "once; a block that calls itself k times per level makes k**depth copies of its base case")
        self.diags.raise_if_any()  # past a cap the compile ends, as at check_budget
        return True, None

    def order_modules(self: LoweringHost, block: BlockDef, path: tuple[str, ...]) -> None:
        """Record `module_order` for the code generator, once every name in it is a member."""
        members = {self.graph[n].path[len(path)] for n in self.graph.nodes_under(path)}
        unknown = [m for m in block.module_order if m not in members]
        if unknown:
            self.error("NG015", f"block `{block.name}`: `module_order` names `{unknown[0]}`, which is not one of its "
                       "members", block.span, path, did_you_mean(unknown[0], sorted(members)))
            return
        self.graph.scopes[path].meta["module_order"] = list(block.module_order)

    def block_args(self: LoweringHost, block: BlockDef, item: Item, env: dict, path,
                   quiet_inputs: bool = False) -> dict | None:
        args = item.args if isinstance(item.args, YDict) else YDict()
        values = dict(block.params)
        ok_all = True
        for key, raw in args.items():
            if key in ("name", "from"):
                continue
            span = args.key_span(key)
            if key not in block.params and key not in block.required:
                self.error("NG005", f"block `{block.name}` has no parameter `{key}`", span, path,
                           did_you_mean(str(key), list(block.params) + list(block.required)))
                ok_all = False
                continue
            try:
                value = self.value(raw, env, args.value_span(key), path)
            except ExprError as exc:
                ok_all = False
                if not (quiet_inputs and str(exc).startswith("unknown name `in_")):
                    self.error("NG003", f"{key}: {exc}", args.value_span(key), path, exc.hint)
                continue
            expected = block.required.get(key, block.params.get(key))
            if not type_matches(value, expected):
                self.error("NG007", f"`{block.name}.{key}` expects {type_name(expected)}; received {value!r}",
                           args.value_span(key), path)
                ok_all = False
                continue
            if type_name(expected) == "int":
                value = as_int(value)
            values[key] = value
        for key, kind in block.required.items():
            if key not in args:
                self.error("NG006", f"block `{block.name}` needs `{key}` ({kind})", item.span, path,
                           f"add `{key}: ...` to the call")
                ok_all = False
        return values if ok_all else None



@register_form("block", keyword=False)
def lower_block_form(lw: LoweringHost, item: Item, x: str | None, scope: ScopeCtx) -> str | None:
    return lw.lower_block(item, x, scope)
