"""Lowering: a blueprint's items, blocks, repeats and wiring become a DAG of primitive ops.

The lowering walks the network in order, carrying the current tensor (a node id), and
creates one graph node per primitive op. Shape inference runs as each node is created (the
op's own shape rule), because later choices depend on it: `shortcut: auto` projects only
when the body changes the shape, and expressions may read `in_channels` / `in_shape`.

Naming follows nn.Sequential so that state_dict keys are predictable: in a list where no
item is named, items are numbered 0, 1, 2…; once any item in a list has a `name`, the
unnamed ones are named after their op or block (`relu`, `relu_1`). A `repeat` without a
`name` splices its iterations into the enclosing list; with `name: layer${i+1}` each
iteration is one named item. A block call, named sequence, residual or parallel is a scope
(a submodule) unless it is the whole body of a block or iteration, where it merges into it.

Errors never stop the walk: each is recorded with its YAML position and the walk goes on
with the shape unknown, so one run reports every mistake it can find.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .blueprint import BlockDef, Blueprint, type_matches, type_name
from .errors import Diagnostics, NetgenError, Span, did_you_mean
from .expr import ExprError, interpolate
from .graph import Graph, Scope
from .ops import REGISTRY
from .shapes import ShapeError, conv_output_size, format_shape
from .source import YDict, YList, located

COMPOSITES = ("seq", "residual", "parallel", "dense")
META = ("repeat", "if")
RESERVED = set(COMPOSITES) | set(META) | {"name", "from", "input", "output"}
SHORTCUTS = ("auto", "identity", "projection", "if_same", "none")
MAX_BLOCK_DEPTH = 64
MAX_NODES = 200_000
MAX_REPEAT = 10_000
_IDENT = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass
class Item:
    """One network item after its name and `from` are read, before it is lowered."""

    form: str  # "op" | "block" | "seq" | "residual" | "parallel"
    key: str  # op or block name, or the form keyword
    args: Any  # YDict of op/block params or form options; YList for seq
    env: dict
    span: Span | None
    name: str | None = None
    name_span: Span | None = None
    sources: list[str] | None = None
    from_span: Span | None = None

    @property
    def default_name(self) -> str:
        if self.form == "op":
            return REGISTRY[self.key].kind
        return self.key


@dataclass
class ScopeCtx:
    """Lowering state of one scope: the names defined in it, for naming and `from`."""

    path: tuple[str, ...]
    parent: ScopeCtx | None = None
    block_root: bool = False
    block_input: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # local name -> node id of its output
    failed: set[str] = field(default_factory=set)  # local names whose lowering reported an error
    children: dict[str, ScopeCtx] = field(default_factory=dict)

    def child(self, name: str) -> ScopeCtx:
        ctx = ScopeCtx(self.path + (name,), parent=self)
        self.children[name] = ctx
        return ctx


def _as_list(value: Any, span: Span | None) -> YList:
    value = located(value, span)  # a plain list or dict comes from an expression (`body: $layers`)
    if isinstance(value, YList):
        return value
    items = YList([value])
    items.span = span
    items.item_spans = [getattr(value, "span", None) or span]
    return items


def _span_of(value: Any, fallback: Span | None) -> Span | None:
    return getattr(value, "span", None) or fallback


class Lowerer:
    def __init__(self, bp: Blueprint):
        self.bp = bp
        self.graph = Graph(bp.name)
        self.diags = Diagnostics()
        # the block calls being lowered, outermost first: (block, where it was called); its length
        # is the nesting depth that the recursion guard bounds
        self.call_sites: list[tuple[str, Span | None]] = []
        self.duplicates: set[tuple[str, ...]] = set()

    # -- diagnostics ---------------------------------------------------------------------
    def error(self, code: str, message: str, span: Span | None, path: tuple[str, ...] | str = "", hint: str = ""):
        path_text = path if isinstance(path, str) else ".".join(path)
        self.diags.error(code, message, span, path_text, hint, self.call_note(span))

    def call_note(self, span: Span | None) -> str:
        """`in block `unit`, called at net.yaml:19:5 (from `stage` at net.yaml:30:5)`: a mistake
        inside a block definition is found through one call; say which (innermost first)."""
        sites = [(name, at) for name, at in reversed(self.call_sites) if at is not None and at != span]
        if not sites:
            return ""
        (name, at), outer = sites[0], sites[1:3]
        text = f"in block `{name}`, called at {at}"
        if outer:
            text += " (" + ", ".join(f"from `{n}` at {a}" for n, a in outer) + (", ..." if len(sites) > 3 else "") + ")"
        return text

    def value(self, raw: Any, env: dict, span: Span | None, path=()) -> Any:
        """Evaluate expressions anywhere in a YAML value (lists and mappings too)."""
        if isinstance(raw, str):
            return interpolate(raw, env)
        if isinstance(raw, list):
            return [self.value(v, env, span, path) for v in raw]
        if isinstance(raw, dict):
            return {k: self.value(v, env, span, path) for k, v in raw.items()}
        return raw

    def try_value(self, raw: Any, env: dict, span: Span | None, path=(), what: str = "") -> tuple[bool, Any]:
        try:
            return True, self.value(raw, env, span, path)
        except ExprError as exc:
            self.error("NG003", f"{what + ': ' if what else ''}{exc}", span, path, exc.hint)
            return False, None

    # -- entry point -----------------------------------------------------------------------
    def run(self) -> Graph:
        bp = self.bp
        graph = self.graph
        graph.meta.update(name=bp.name, doc=bp.doc, source=bp.path, params=dict(bp.params), files=bp.files)
        graph.scopes[()].doc = bp.doc
        graph.scopes[()].span = bp.raw.span
        source = graph.add_node("input", kind="input", path=("input",), shape=tuple(bp.input),
                                span=bp.raw.value_span("input"))
        root = ScopeCtx((), block_root=True, block_input=source)
        env = self.let_env(dict(bp.params), bp.let, "let")
        out = self.lower_list(bp.network, env, source, root)
        self.finish_outputs(root, out, env)
        if not self.diags:  # after an error, later nodes are missing and "unused" would be noise
            self.check_unused()
        self.diags.raise_if_any()
        problems = graph.lint()
        if problems:  # an internal bug, not a user error: say so plainly
            raise RuntimeError("netgen produced an invalid graph: " + "; ".join(problems))
        return graph

    def let_env(self, env: dict, let: YDict, where: str, path=()) -> dict:
        for key, raw in (let or {}).items():
            ok, value = self.try_value(raw, env, let.value_span(key), path, f"{where}.{key}")
            env[key] = value if ok else None
        return env

    def finish_outputs(self, root: ScopeCtx, last: str | None, env: dict) -> None:
        """`outputs:` lists references, or mappings {from: ref, name: field, training: true,
        if: expr}: `training` marks outputs that exist only in training mode (GoogLeNet's
        auxiliary heads); `if` drops an output when a param switches it off."""
        bp = self.bp
        if not bp.outputs:
            if last is not None:
                self.graph.add_node("output", kind="output", path=("output",), inputs=[last],
                                    shape=self.graph[last]["shape"], span=bp.raw.key_span("network"))
            return
        outputs_yaml = bp.raw.get("outputs")
        for index, spec in enumerate(bp.outputs):
            span = outputs_yaml.item_span(index) if isinstance(outputs_yaml, YList) else None
            training = False
            if isinstance(spec, dict):
                unknown = [k for k in spec if k not in ("from", "name", "training", "if")]
                if unknown or "from" not in spec:
                    self.error("NG015",
                               "an output is a reference or {from: ref, name: field, training: bool, if: expr}",
                               span, "outputs")
                    continue
                ok, wanted = self.try_value(spec.get("if", True), env, span, "outputs", "if")
                if not ok or not wanted:
                    continue
                ref, field_name = str(spec["from"]), str(spec.get("name", spec["from"]))
                training = bool(spec.get("training", False))
            else:
                ref = field_name = str(spec)
            node = self.resolve(ref, root, span)
            if node is None:
                continue
            out_id = f"output:{field_name}"
            if out_id in self.graph:
                self.error("NG011", f"two outputs named `{field_name}`", span, "outputs")
                continue
            self.graph.add_node(out_id, kind="output", path=("output", field_name), inputs=[node],
                                shape=self.graph[node]["shape"], span=span)
            self.graph[out_id]["training_only"] = training
        if self.graph.outputs and all(self.graph[o].get("training_only") for o in self.graph.outputs):
            self.error("NG015", "every output is training-only; the model would return nothing in eval mode",
                       None, "outputs")
        self.mark_training_only()

    def mark_training_only(self) -> None:
        """Nodes that feed only training-only outputs run only in training mode."""
        graph = self.graph
        for node in reversed(graph.topological()):
            data = graph[node]
            if data["kind"] == "output":
                data.setdefault("training_only", False)
                continue
            users = list(graph.nx.successors(node))
            data["training_only"] = bool(users) and all(graph[u].get("training_only") for u in users)

    def check_unused(self) -> None:
        for node, data in self.graph.nx.nodes(data=True):
            if data["kind"] == "op" and self.graph.nx.out_degree(node) == 0:
                self.error("NG012", f"the output of `{node}` is never used", data["span"], data["path"],
                           "feed it to a later item with `from:`, list it in `outputs:`, or remove it")

    # -- items -------------------------------------------------------------------------------
    def parse_item(self, raw: Any, env: dict, span: Span | None, path: tuple) -> Item | None:
        if isinstance(raw, str):
            ok, key = self.try_value(raw, env, span, path)
            if not ok:
                return None
            return self.classify(str(key), YDict(), env, span, path)
        if not isinstance(raw, YDict) or not raw:
            self.error("NG015", f"an item must be an op name or a mapping `op: {{params}}`; received {raw!r}",
                       span, path, "write e.g. `- relu` or `- conv: {out: 64, k: 3}`")
            return None
        keys = [k for k in raw if k not in ("name", "from")]
        if len(keys) != 1:
            self.error("NG015", f"an item has one op, block or form key; found {', '.join(map(str, keys)) or 'none'}",
                       span, path, "split it into separate list items (`- conv: ...` then `- bn`)")
            return None
        key = keys[0]
        args = raw[key]
        if args is None:
            args = YDict()
            args.span = raw.value_span(key)
        op_name = key
        if isinstance(key, str) and "$" in key:  # the op or block chosen by a param: `$block: {...}`
            ok, op_name = self.try_value(key, env, raw.key_span(key), path, "op name")
            if not ok:
                return None
        item = self.classify(str(op_name), args, env, raw.key_span(key), path)
        if item is None:
            return None
        # name and from may stand beside the form key or inside its mapping
        # (a dense form's inner `name` is its layers' name template, not its own name)
        holders = [raw] + ([args] if isinstance(args, YDict) and item.form != "dense" else [])
        for holder in holders:
            if "name" in holder:
                ok, name = self.try_value(holder["name"], env, holder.value_span("name"), path, "name")
                if ok:
                    item.name_span = holder.value_span("name")
                    item.name = self.check_name(name, item.name_span, path)
            if "from" in holder:
                ok, sources = self.try_value(holder["from"], env, holder.value_span("from"), path, "from")
                if ok:
                    item.sources = [str(s) for s in (sources if isinstance(sources, list) else [sources])]
                    item.from_span = holder.value_span("from")
        return item

    def check_name(self, name: Any, span, path) -> str | None:
        name = str(name)
        if not _IDENT.match(name):
            self.error("NG007", f"module name `{name}` may only use letters, digits and `_`", span, path,
                       "names become state_dict keys and Python attributes")
            return None
        return name

    def classify(self, key: str, args: Any, env: dict, span, path) -> Item | None:
        if key in COMPOSITES:
            return Item(key, key, args, env, span)
        if key in REGISTRY:
            return Item("op", key, args, env, span)
        if key in self.bp.blocks:
            return Item("block", key, args, env, span)
        known = list(REGISTRY) + list(self.bp.blocks) + list(COMPOSITES) + list(META)
        self.error("NG004", f"unknown op or block `{key}`", span, path,
                   did_you_mean(key, known) or "see `netgen ops` for the ops, or define a block under `blocks:`")
        return None

    # -- sequences, repeats, conditionals --------------------------------------------------
    def expand(self, raws: Any, env: dict, span: Span | None, path: tuple) -> list[Item]:
        """Flatten a list: unnamed repeats and `if` splice their items in place."""
        if isinstance(raws, str) and "$" in raws:
            # `body: $layers`: a list held by a param (or one item: `body: $act`), evaluated once
            ok, raws = self.try_value(raws, env, span, path, "list")
            if not ok:
                return []
        raws = _as_list(raws, span)
        items: list[Item] = []
        for index, raw in enumerate(raws):
            item_span = raws.item_span(index)
            if isinstance(raw, YDict) and "repeat" in raw:
                items += self.expand_repeat(raw, env, item_span, path)
            elif isinstance(raw, YDict) and "if" in raw:
                chosen = self.choose_branch(raw, env, item_span, path)
                if chosen is not None:
                    items += self.expand(chosen, env, _span_of(chosen, item_span), path)
            else:
                item = self.parse_item(raw, env, item_span, path)
                if item is not None:
                    items.append(item)
        return items

    def check_keys(self, raw: YDict, allowed: tuple, form: str, path) -> None:
        for key in raw:
            if key not in allowed:
                self.error("NG015", f"`{form}` does not take `{key}`", raw.key_span(key), path,
                           did_you_mean(str(key), allowed) or f"it takes: {', '.join(allowed)}")

    def expand_repeat(self, raw: YDict, env: dict, span, path) -> list[Item]:
        self.check_keys(raw, ("repeat", "as", "name", "body"), "repeat", path)
        ok, count = self.try_value(raw["repeat"], env, raw.value_span("repeat"), path, "repeat")
        if not ok:
            return []
        if isinstance(count, float) and count.is_integer():
            count = int(count)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_REPEAT:
            self.error("NG007", f"repeat expects a count from 0 to {MAX_REPEAT}; received {count!r}",
                       raw.value_span("repeat"), path)
            return []
        if "body" not in raw:
            self.error("NG015", "repeat has no `body`", span, path, "add `body: [...]` with the items to repeat")
            return []
        var = raw.get("as")
        if var is not None and (not isinstance(var, str) or not var.isidentifier()):
            self.error("NG007", f"`as` names the loop variable; received {var!r}", raw.value_span("as"), path)
            return []
        body = raw["body"]
        items: list[Item] = []
        for i in range(count):
            env_i = {**env, var: i} if var else env
            if "name" not in raw:
                items += self.expand(body, env_i, raw.value_span("body"), path)
                continue
            ok, name = self.try_value(raw["name"], env_i, raw.value_span("name"), path, "repeat name")
            name = self.check_name(name, raw.value_span("name"), path) if ok else None
            if name is None:
                return items
            single = isinstance(body, str) or (isinstance(body, YDict) and not any(m in body for m in META))
            if single:
                item = self.parse_item(body, env_i, raw.value_span("body"), path)
                if item is None:
                    continue
                if item.name is not None:
                    self.error("NG015", "a repeat with `name` names its iterations; the body may not be named too",
                               item.name_span, path, "drop one of the two names")
                item.name, item.name_span = name, raw.value_span("name")
            else:
                item = Item("seq", "seq", _as_list(body, raw.value_span("body")), env_i, raw.value_span("body"),
                            name=name, name_span=raw.value_span("name"))
            items.append(item)
        return items

    def choose_branch(self, raw: YDict, env: dict, span, path) -> Any | None:
        self.check_keys(raw, ("if", "then", "else"), "if", path)
        ok, cond = self.try_value(raw["if"], env, raw.value_span("if"), path, "if")
        if not ok:
            return None
        if "then" not in raw:
            self.error("NG015", "`if` needs `then:` (and may have `else:`)", span, path)
            return None
        chosen = raw["then"] if cond else raw.get("else")
        return chosen

    def assign_names(self, items: list[Item], scope: ScopeCtx, numbered: bool) -> list[str]:
        explicit = [it.name for it in items if it.name]
        seen: set[str] = set()
        for it in items:
            if it.name and (it.name in seen or it.name in scope.names):
                self.duplicates.add(scope.path + (it.name,))
                self.error("NG011", f"two modules named `{it.name}` in `{'.'.join(scope.path) or 'network'}`",
                           it.name_span or it.span, scope.path + (it.name,), "give each item a distinct `name`")
            if it.name:
                seen.add(it.name)
        taken = set(scope.names) | set(explicit) | {"input", "output"}
        names = []
        for position, it in enumerate(items):
            if it.name:
                names.append(it.name)
                continue
            base = str(position) if numbered and not explicit else it.default_name
            name, n = base, 0
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
            names.append(name)
        return names

    def lower_list(self, raws: Any, env: dict, x: str | None, scope: ScopeCtx, span=None, numbered=True) -> str | None:
        items = self.expand(raws, env, span, scope.path)
        for item, name in zip(items, self.assign_names(items, scope, numbered), strict=True):
            x = self.lower_item(item, name, x, scope)
        return x

    def lower_body(self, body: Any, env: dict, x: str | None, scope: ScopeCtx, span=None) -> str | None:
        """Lower the body of a block or named iteration into `scope` itself."""
        if isinstance(body, YDict) and "if" in body and "repeat" not in body:
            chosen = self.choose_branch(body, env, _span_of(body, span), scope.path)
            return x if chosen is None else self.lower_body(chosen, env, x, scope, _span_of(chosen, span))
        if isinstance(body, YDict) and not any(m in body for m in META):
            item = self.parse_item(body, env, _span_of(body, span), scope.path)
            if item is None:
                return None
            if item.form != "op" and item.name is None:
                inputs = self.inputs_for(item, x, scope)
                return self.lower_composite(item, inputs, scope)
        return self.lower_list(body, env, x, scope, span)

    # -- references ----------------------------------------------------------------------------
    def resolve(self, ref: str, scope: ScopeCtx, span) -> str | None:
        parts = ref.split(".")
        ctx: ScopeCtx | None = scope
        visible: set[str] = set()
        while ctx is not None:
            if parts[0] in ctx.names:
                break
            if parts[0] in ctx.failed and self.diags:
                return None  # its own error is reported; an "unknown reference" would be noise
            visible |= set(ctx.names)
            if ctx.block_root:
                if parts[0] == "input" and len(parts) == 1:
                    return ctx.block_input
                ctx = None
                break
            ctx = ctx.parent
        if ctx is None:
            suggestion = did_you_mean(parts[0], visible | {"input"})
            self.error("NG008", f"unknown reference `{ref}` in `from`", span, scope.path,
                       (suggestion + " " if suggestion else "") + "`from` names an earlier item in this block or "
                       "`input`; naming a later item would make a cycle")
            return None
        node = ctx.names[parts[0]]
        for part in parts[1:]:
            ctx = ctx.children.get(parts[parts.index(part) - 1]) if ctx else None
            if ctx is None or part not in ctx.names:
                self.error("NG008", f"unknown reference `{ref}` in `from`", span, scope.path,
                           did_you_mean(part, ctx.names if ctx else ()) or "")
                return None
            node = ctx.names[part]
        return node

    def inputs_for(self, item: Item, x: str | None, scope: ScopeCtx) -> list[str | None]:
        if item.sources is None:
            return [x]
        return [self.resolve(ref, scope, item.from_span) for ref in item.sources]

    # -- lowering one item -------------------------------------------------------------------
    def lower_item(self, item: Item, name: str, x: str | None, scope: ScopeCtx) -> str | None:
        inputs = self.inputs_for(item, x, scope)
        if item.form == "op":
            out = self.add_op(item.key, item.args, item.env, name, inputs, scope, item.span)
        else:
            child = scope.child(name)
            out = self.lower_composite(item, inputs, child)
        if out is not None:
            scope.names[name] = out
        else:
            scope.failed.add(name)
        return out

    def lower_composite(self, item: Item, inputs: list[str | None], scope: ScopeCtx) -> str | None:
        if len(inputs) != 1:
            self.error("NG015", f"a {item.form} takes one input; `from` lists {len(inputs)}",
                       item.from_span, scope.path, "merge the inputs first with `concat` or `add`")
            return None
        x = inputs[0]
        kind = "block" if item.form == "block" else item.form
        self.graph.add_scope(Scope(scope.path, kind, item.key if item.form == "block" else None, item.span))
        if item.form == "block":
            return self.lower_block(item, x, scope)
        if item.form == "seq":
            body = item.args
            if isinstance(body, YDict) and "body" in body:
                self.check_keys(body, ("body", "name", "from"), "seq", scope.path)
                body = body["body"]
            return self.lower_list(body, item.env, x, scope, item.span)
        if item.form == "residual":
            return self.lower_residual(item, x, scope)
        if item.form == "dense":
            return self.lower_dense(item, x, scope)
        return self.lower_parallel(item, x, scope)

    def input_env(self, env: dict, inputs: list[str | None]) -> dict | None:
        """The item's env plus `in_shape`/`in_channels` of its first input (None if unknown)."""
        shapes = [self.graph[i]["shape"] if i is not None else None for i in inputs]
        if any(s is None for s in shapes):
            return None
        return {**env, "in_shape": list(shapes[0]), "in_channels": shapes[0][0]}

    def lower_block(self, item: Item, x: str | None, scope: ScopeCtx) -> str | None:
        block: BlockDef = self.bp.blocks[item.key]
        if len(self.call_sites) >= MAX_BLOCK_DEPTH or len(self.graph) > MAX_NODES:
            chain = " > ".join(name for name, _ in self.call_sites[-5:])
            self.error("NG013", f"block `{item.key}` nests deeper than {MAX_BLOCK_DEPTH} calls or the network exceeds "
                       f"{MAX_NODES} nodes (call chain: {chain} ...)", item.span, scope.path,
                       "give a recursive block a base case (`if:` on a param that shrinks with each call)")
            return None
        env = self.input_env(item.env, [x])
        # with an unknown input (an earlier error) the call's arguments are still checked
        values = self.block_args(block, item, env or item.env, scope.path, quiet_inputs=env is None)
        if values is None or env is None:
            return None
        values.update(in_shape=env["in_shape"], in_channels=env["in_channels"])
        self.call_sites.append((item.key, item.span))
        try:
            values = self.let_env(values, block.let, f"{block.name}.let", scope.path)
            scope.block_root, scope.block_input = True, x
            scope.names.clear()
            self.graph.scopes[scope.path].doc = block.doc
            return self.lower_body(block.body, values, x, scope, block.span)
        finally:
            self.call_sites.pop()

    def block_args(self, block: BlockDef, item: Item, env: dict, path, quiet_inputs: bool = False) -> dict | None:
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
            if isinstance(value, float) and type_name(expected) == "int":
                value = int(value)
            values[key] = value
        for key, kind in block.required.items():
            if key not in args:
                self.error("NG006", f"block `{block.name}` needs `{key}` ({kind})", item.span, path,
                           f"add `{key}: ...` to the call")
                ok_all = False
        return values if ok_all else None

    # -- ops -------------------------------------------------------------------------------------
    def add_op(self, kind: str, args: Any, env: dict, name: str, inputs: list[str | None], scope: ScopeCtx,
               span: Span | None, inserted: bool = False, shape_code: str = "NG009") -> str | None:
        cls = REGISTRY[kind]
        path = scope.path + (name,)
        node_id = ".".join(path)
        known = all(i is not None for i in inputs)
        if known and not (cls.min_inputs <= len(inputs) <= (cls.max_inputs or len(inputs))):
            want = f"{cls.min_inputs}" if cls.max_inputs == cls.min_inputs else f"at least {cls.min_inputs}"
            self.error("NG015", f"`{kind}` takes {want} input(s); received {len(inputs)}", span, path,
                       "list its inputs with `from: [a, b]`" if cls.min_inputs > 1 else "")
            return None
        # with an unknown input (an earlier error) the params are still checked, not the shape
        item_env = self.input_env(env, inputs) if known else env
        if isinstance(args, YDict):
            raw = {k: v for k, v in args.items() if k not in ("name", "from")}
        elif args is None:
            raw = {}
        else:
            self.error("NG007", f"`{kind}` takes a mapping of parameters; received {args!r}", span, path,
                       f"write `{kind}: {{...}}`")
            return None
        values, ok = {}, True
        for key, value in raw.items():
            try:
                values[key] = self.value(value, item_env, args.value_span(key), path)
            except ExprError as exc:
                ok = False
                if known or not str(exc).startswith("unknown name `in_"):
                    self.error("NG003", f"{key}: {exc}", args.value_span(key), path, exc.hint)
        if not ok:
            return None
        try:
            params = cls.Params(**values)
        except ValidationError as exc:
            self.report_params(exc, cls, args if isinstance(args, YDict) else YDict(), span, path)
            return None
        if not known:
            return None
        op = cls(params)
        in_shapes = [self.graph[i]["shape"] for i in inputs]
        shape = None
        try:
            shape = tuple(op.infer_shape(in_shapes))
        except ShapeError as exc:
            shown = ", ".join(format_shape(s) for s in in_shapes)
            message = str(exc) if "received" in str(exc) else f"`{kind}` cannot take input {shown}: {exc}"
            code = "NG010" if cls.family == "merge" else shape_code
            self.error(code, message, span, path, exc.hint)
        if node_id in self.graph:
            if path not in self.duplicates:  # assign_names has usually said so already
                self.error("NG011", f"two modules named `{node_id}`", span, path, "give each item a distinct `name`")
            return None
        self.graph.add_node(node_id, kind="op", op=op, path=path, span=span, inputs=inputs, shape=shape,
                            inserted=inserted)
        self.graph[node_id]["in_shapes"] = in_shapes
        if shape is None:
            return None
        return node_id

    def report_params(self, exc: ValidationError, cls, args: YDict, span, path) -> None:
        fields = list(cls.Params.model_fields)
        for err in exc.errors():
            key = err["loc"][0] if err["loc"] else None
            where = args.value_span(key) if key in args else span
            if err["type"] == "extra_forbidden":
                self.error("NG005", f"`{cls.kind}` has no parameter `{key}`", args.key_span(key), path,
                           did_you_mean(str(key), fields) or f"it takes: {', '.join(fields) or 'no parameters'}")
            elif err["type"] == "missing":
                self.error("NG006", f"`{cls.kind}` needs `{key}`", span, path, f"add `{key}: ...`; {cls.doc}")
            else:
                message = err["msg"].removeprefix("Value error, ")
                says_received = key is not None and "received" in message.lower()
                received = f"; received {key}={err['input']!r}" if key is not None and not says_received else ""
                self.error("NG007", f"`{cls.kind}`{'.' + str(key) if key else ''}: {message}{received}", where, path)

    # -- residual and parallel ------------------------------------------------------------------
    def lower_residual(self, item: Item, x: str, scope: ScopeCtx) -> str | None:
        opts = item.args
        if not isinstance(opts, YDict) or "body" not in opts:
            self.error("NG015", "residual needs a mapping with `body:`", item.span, scope.path,
                       "residual: {body: [...], shortcut: auto, after: relu}")
            return None
        self.check_keys(opts, ("body", "shortcut", "projection", "after", "name", "from"), "residual", scope.path)
        env = item.env
        body_out = self.lower_list(opts["body"], env, x, scope, opts.value_span("body"))
        if body_out is None:
            return None
        shortcut = opts.get("shortcut", "auto")
        sc_span = opts.value_span("shortcut") if "shortcut" in opts else item.span
        ok = True
        if isinstance(shortcut, str):
            ok, shortcut = self.try_value(shortcut, env, sc_span, scope.path, "shortcut")
        if not ok:
            return None
        same = self.graph[body_out]["shape"] == self.graph[x]["shape"]
        if shortcut == "none" or (shortcut == "if_same" and not same):
            # conditional skip (MobileNetV2, EfficientNet): no add when the shapes differ
            out = body_out
            if "after" in opts:
                out = self.lower_list(opts["after"], env, out, scope, opts.value_span("after"), numbered=False)
            return out
        if isinstance(shortcut, str) and shortcut in ("auto", "identity", "projection", "if_same"):
            if shortcut in ("identity", "if_same") or (shortcut == "auto" and same):
                sc_out = x
            else:
                sc_out = self.projection(opts, env, x, body_out, scope, sc_span, inserted=shortcut == "auto")
        elif isinstance(shortcut, str):
            self.error("NG015", f"unknown shortcut `{shortcut}`", sc_span, scope.path,
                       did_you_mean(shortcut, SHORTCUTS)
                       or "shortcut is one of " + ", ".join(SHORTCUTS) + ", or a list of ops")
            return None
        else:
            child = scope.child("shortcut")
            self.graph.add_scope(Scope(child.path, "seq", None, sc_span, meta={"role": "shortcut"}))
            sc_out = self.lower_list(shortcut, env, x, child, sc_span)
            scope.names["shortcut"] = sc_out
        if sc_out is None:
            return None
        add_name = self.assign_names([Item("op", "add", None, env, sc_span)], scope, numbered=False)[0]
        out = self.add_op("add", None, env, add_name, [body_out, sc_out], scope, item.span, shape_code="NG010")
        if out is None:
            return None
        scope.names[add_name] = out
        if "after" in opts:
            out = self.lower_list(opts["after"], env, out, scope, opts.value_span("after"), numbered=False)
        return out

    def projection(self, opts: YDict, env: dict, x: str, body_out: str, scope: ScopeCtx, span,
                   inserted: bool) -> str | None:
        spec = opts.get("projection") or YDict()
        if not isinstance(spec, YDict):
            self.error("NG015", "projection options are a mapping: {name: downsample, bn: true}", span, scope.path)
            return None
        self.check_keys(spec, ("name", "bn"), "projection", scope.path)
        ok, name = self.try_value(spec.get("name", "downsample"), env, spec.value_span("name"), scope.path,
                                  "projection name")
        name = self.check_name(name, spec.value_span("name"), scope.path) if ok else None
        if name is None:
            return None
        src, dst = self.graph[x]["shape"], self.graph[body_out]["shape"]
        if len(src) != 3 or len(dst) != 3:
            self.error("NG010", f"cannot project a {format_shape(src)} shortcut to {format_shape(dst)}",
                       span, scope.path, "a projection shortcut works on C×H×W maps")
            return None
        strides = []
        for axis in (1, 2):
            stride = max(1, math.ceil(src[axis] / dst[axis]))
            if conv_output_size(src[axis], 1, stride, 0) != dst[axis]:
                self.error("NG010", f"no 1×1 strided conv maps the shortcut {format_shape(src)} to the body's "
                           f"{format_shape(dst)}", span, scope.path,
                           "the body must shrink H and W by an integer stride; or give `shortcut:` as a list of ops")
                return None
            strides.append(stride)
        child = scope.child(name)
        self.graph.add_scope(Scope(child.path, "seq", None, span, meta={"inserted": inserted, "role": "projection"}))
        stride = strides[0] if strides[0] == strides[1] else strides
        conv_args = {"out": dst[0], "k": 1, "stride": stride, "bias": False}
        out = self.add_op("conv", YDict(conv_args), env, "0", [x], child, span, inserted=inserted)
        if spec.get("bn", True) and out is not None:
            out = self.add_op("bn", YDict(), env, "1", [out], child, span, inserted=inserted)
        if out is not None:
            scope.names[name] = out
        return out

    def lower_dense(self, item: Item, x: str, scope: ScopeCtx) -> str | None:
        """Dense connectivity (DenseNet): layer k sees concat(input, out_1..out_{k-1}); the
        block returns concat(input, out_1..out_n). Written like a repeat."""
        opts = item.args
        if not isinstance(opts, YDict) or "repeat" not in opts:
            self.error("NG015", "dense needs `repeat:`, `body:` and optionally `as:` and `name:`",
                       item.span, scope.path,
                       "dense: {repeat: 6, as: i, name: denselayer${i+1}, body: {dense_layer: {growth: 32}}}")
            return None
        spec = YDict((k, v) for k, v in opts.items() if k not in ("from",))
        spec.span, spec.key_spans, spec.value_spans = opts.span, opts.key_spans, opts.value_spans
        items = self.expand_repeat(spec, item.env, item.span, scope.path)
        features = [x]
        for layer, name in zip(items, self.assign_names(items, scope, numbered=True), strict=True):
            layer_input = features[0] if len(features) == 1 else self.concat(features, item.env, scope, layer.span)
            out = self.lower_item(layer, name, layer_input, scope)
            if out is None:
                return None
            features.append(out)
        return self.concat(features, item.env, scope, item.span) if len(features) > 1 else x

    def concat(self, inputs: list[str], env: dict, scope: ScopeCtx, span) -> str | None:
        name = self.assign_names([Item("op", "concat", None, env, span)], scope, numbered=False)[0]
        out = self.add_op("concat", None, env, name, inputs, scope, span, shape_code="NG010")
        if out is not None:
            scope.names[name] = out
        return out

    def lower_parallel(self, item: Item, x: str, scope: ScopeCtx) -> str | None:
        opts = item.args
        if not isinstance(opts, YDict) or "branches" not in opts:
            self.error("NG015", "parallel needs a mapping with `branches:`", item.span, scope.path,
                       "parallel: {merge: concat, branches: {a: [...], b: [...]}}")
            return None
        self.check_keys(opts, ("branches", "merge", "name", "from"), "parallel", scope.path)
        env, branches = item.env, opts["branches"]
        outs: list[str | None] = []
        if isinstance(branches, YDict):
            for bname, branch in branches.items():
                bname = self.check_name(bname, branches.key_span(bname), scope.path)
                if bname is None:
                    continue
                bspan = branches.value_span(bname)
                single = isinstance(branch, str) or (isinstance(branch, YDict) and not any(m in branch for m in META))
                if single:
                    sub = self.parse_item(branch, env, bspan, scope.path)
                    if sub is None:
                        outs.append(None)
                        continue
                    sub.name = bname
                else:
                    sub = Item("seq", "seq", _as_list(branch, bspan), env, bspan, name=bname)
                name = self.assign_names([sub], scope, numbered=False)[0]
                outs.append(self.lower_item(sub, name, x, scope))
        elif isinstance(branches, YList):
            for index, branch in enumerate(branches):
                outs.append(self.lower_list(branch, env, x, scope, branches.item_span(index), numbered=False))
        else:
            self.error("NG015", "`branches` is a mapping of named branches or a list of branches",
                       opts.value_span("branches"), scope.path)
            return None
        if any(o is None for o in outs) or not outs:
            return None
        merge = opts.get("merge", "concat")
        merge_span = opts.value_span("merge") if "merge" in opts else item.span
        if isinstance(merge, YDict) and len(merge) == 1:
            kind, margs = next(iter(merge.items()))
        elif isinstance(merge, str):
            kind, margs = merge, None
        else:
            self.error("NG015", "`merge` is an op name (concat, add) or `{op: {params}}`", merge_span, scope.path)
            return None
        if kind not in REGISTRY or REGISTRY[kind].family != "merge":
            merges = [k for k, c in REGISTRY.items() if c.family == "merge"]
            self.error("NG004", f"unknown merge `{kind}`", merge_span, scope.path, did_you_mean(str(kind), merges))
            return None
        merge_name = self.assign_names([Item("op", kind, None, env, merge_span)], scope, numbered=False)[0]
        out = self.add_op(kind, margs, env, merge_name, outs, scope, merge_span, shape_code="NG010")
        if out is not None:
            scope.names[merge_name] = out
        return out


def lower(bp: Blueprint) -> Graph:
    """Lower a loaded blueprint to an annotated graph; raise NetgenError with every mistake."""
    return Lowerer(bp).run()


__all__ = ["lower", "Lowerer", "NetgenError"]
