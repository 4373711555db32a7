"""The lowering's core: the `Lowerer` (its state, diagnostics and expression evaluation)
and the walk over lists and items that dispatches each composite form to its handler.

The walk carries the current tensor (a node id) through a list, creating one graph node
per primitive op. What each part of the language means lives in its own module, mixed into
`Lowerer`: item syntax (`items.py`), `repeat`/`if` (`repeat.py`), names and scopes
(`naming.py`), `from:` (`references.py`), block calls (`blocks.py`), op nodes and shapes
(`ops.py`), outputs (`outputs.py`); each composite form is a handler in `registry.FORMS`
(`seq.py`, `residual.py`, `parallel.py`, `dense.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import limits
from ..blueprint import Blueprint
from ..errors import Diagnostics, Span, did_you_mean
from ..expr import ExprError, interpolate
from ..graph import Graph, Node, Scope
from ..source import YDict
from . import dense, parallel, residual, seq, split  # noqa: F401  (registers the forms, in this order)
from .blocks import BlockCalls
from .footprint import CallMemo
from .items import Item, ItemSyntax, is_single_item, span_of
from .naming import Naming, ScopeCtx
from .ops import OpNodes
from .outputs import Outputs
from .references import References
from .registry import FORMS
from .repeat import Repetition

if TYPE_CHECKING:
    from ..ops.base import Op
    from ..shapes import Shape


def float32_size(count: int) -> str:
    """`count` float32 values in B, kB, ... PB, for a message (`104 TB`)."""
    size, unit = 4.0 * count, "B"
    for bigger in ("kB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:,.0f} {unit}" if size >= 100 else f"{size:.3g} {unit}"


class Lowerer(ItemSyntax, Repetition, Naming, References, BlockCalls, OpNodes, Outputs):
    """Lowers one blueprint; `run()` returns its graph or raises NetgenError with every mistake."""

    def __init__(self, bp: Blueprint):
        self.bp = bp
        self.graph = Graph(bp.name)
        self.diags = Diagnostics()
        # the block calls being lowered, outermost first: (block, where it was called); its length
        # is the nesting depth that the recursion guard bounds
        self.call_sites: list[tuple[str, Span | None]] = []
        self.duplicates: set[tuple[str, ...]] = set()
        self.shapeless: set[str] = set()  # op nodes whose shape rule failed: not in the graph, names taken
        self.weights = 0  # parameters + buffers of the ops so far (check_weights)
        self.weight_limit = limits.max_weights()
        self.edge_count = 0  # inputs of the nodes so far (check_budget)
        self.error_count = 0  # mistakes reported: a call that made none has its footprint recorded
        self.calls = CallMemo()  # footprints of the block calls (footprint.py)
        self.open_keys: list[tuple | None] = []  # the keys of the block calls being lowered, outermost first

    def error(self, code: str, message: str, span: Span | None, path: tuple[str, ...] | str = "", hint: str = ""):
        path_text = path if isinstance(path, str) else ".".join(path)
        self.error_count += 1
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

    def run(self) -> Graph:
        bp = self.bp
        graph = self.graph
        graph.meta.update(name=bp.name, doc=bp.doc, source=bp.path, params=dict(bp.params), files=bp.files,
                          blocks=bp.blocks)  # the definitions, for one generated class per block
        graph.scopes[()].doc = bp.doc
        graph.scopes[()].span = bp.raw.span
        source = graph.add_node("input", Node(kind="input", path=("input",), shape=tuple(bp.input),
                                               span=bp.raw.value_span("input")))
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

    def check_budget(self, span: Span | None, path, inputs: int = 0) -> None:
        """Before each node: the node and edge caps and the wall-clock budget (netgen/limits.py).
        Past a cap the compile ends here, with the errors found so far: going on would only
        repeat it."""
        limits.note(span)
        limits.check_deadline()
        self.edge_count += inputs
        if len(self.graph) >= limits.MAX_NODES or self.edge_count > limits.MAX_EDGES:
            self.error("NG013", f"the network has more than {limits.MAX_NODES:,} nodes or {limits.MAX_EDGES:,} "
                       "connections", span, path, "a repeat, dense block or recursive block grows without bound here")
            self.diags.raise_if_any()

    def made(self) -> tuple[int, int]:
        """The totals a block call is counted in (footprint.py): nodes and connections."""
        return len(self.graph), self.edge_count

    def check_weights(self, op: Op, in_shapes: list[Shape], shape: Shape, span: Span | None, path) -> None:
        """After each op: the parameter + buffer budget (netgen/limits.py), counted from the shapes,
        so that `check` refuses what `netgen.load` would try to allocate without allocating it."""
        added = op.param_count(in_shapes, shape) + op.buffers(in_shapes, shape).count
        self.weights += added
        if self.weights > self.weight_limit:
            self.error("NG013", f"the network's parameters and buffers pass the budget of {self.weight_limit:,} "
                       f"here: `{op.kind}` adds {added:,}, {self.weights:,} in all", span, path,
                       f"a size here is likely far larger than meant ({float32_size(self.weights)} as float32); "
                       f"a larger budget: {limits.MAX_WEIGHTS_ENV}=COUNT")
            self.diags.raise_if_any()

    def check_keys(self, raw: YDict, allowed: tuple, form: str, path) -> None:
        for key in raw:
            if key not in allowed:
                self.error("NG015", f"`{form}` does not take `{key}`", raw.key_span(key), path,
                           did_you_mean(str(key), allowed) or f"it takes: {', '.join(allowed)}")

    def lower_list(self, raws: Any, env: dict, x: str | None, scope: ScopeCtx, span=None,
                   numbered=True) -> str | None:
        items = self.expand(raws, env, span, scope.path)
        for item, name in zip(items, self.assign_names(items, scope, numbered), strict=True):
            x = self.lower_item(item, name, x, scope)
        return x

    def lower_body(self, body: Any, env: dict, x: str | None, scope: ScopeCtx, span=None) -> str | None:
        """Lower the body of a block or named iteration into `scope` itself."""
        if isinstance(body, YDict) and "if" in body and "repeat" not in body:
            chosen = self.choose_branch(body, env, span_of(body, span), scope.path)
            return x if chosen is None else self.lower_body(chosen, env, x, scope, span_of(chosen, span))
        if isinstance(body, YDict) and is_single_item(body):
            item = self.parse_item(body, env, span_of(body, span), scope.path)
            if item is None:
                return None
            if item.form != "op" and item.name is None:
                inputs = self.inputs_for(item, x, scope)
                return self.lower_composite(item, inputs, scope)
        return self.lower_list(body, env, x, scope, span)

    def lower_item(self, item: Item, name: str, x: str | None, scope: ScopeCtx) -> str | None:
        limits.note(item.span)
        limits.check_deadline()
        inputs = self.inputs_for(item, x, scope)
        if item.form == "op":
            out = self.add_op(item.key, item.args, item.env, name, inputs, scope, item.span)
        elif FORMS[item.form].in_place:
            out = FORMS[item.form].lower(self, item, inputs, scope)
        else:
            child = scope.child(name)
            out = self.lower_composite(item, inputs, child)
        if out is not None:
            scope.names[name] = out
        else:
            scope.failed.add(name)
        return out

    def lower_composite(self, item: Item, inputs: list[str | None], scope: ScopeCtx) -> str | None:
        block = self.bp.blocks.get(item.key) if item.form == "block" else None
        names = block.inputs if block is not None else ()
        if len(inputs) != max(len(names), 1):
            what = f"block `{item.key}` takes {len(names)} inputs ({', '.join(names)})" if names else \
                f"a {item.form} takes one input"
            hint = "list them in `from: [...]`, in the order of its `inputs`" if names else \
                "merge the inputs first with `concat` or `add`" + (", or give the block `inputs: [...]` (one name "
                                                                   "per value)" if block is not None else "")
            self.error("NG015", f"{what}; `from` lists {len(inputs)}", item.from_span or item.span, scope.path, hint)
            return None
        form = FORMS[item.form]
        self.graph.add_scope(Scope(scope.path, form.name, None if form.keyword else item.key, item.span))
        if names:  # a block of several inputs (LR-ASPP's head): each named in its scope
            return self.lower_block(item, inputs[0], scope, inputs)
        return form.lower(self, item, inputs[0], scope)
