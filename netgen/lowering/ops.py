"""Op nodes: an op's params evaluated and validated (its pydantic schema), its arity
checked and its shape rule applied as the node is created.

With an unknown input (an earlier error) the params are still checked, not the shape,
which would only repeat the first error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import Span, did_you_mean
from ..expr import ExprError
from ..graph import OpNode
from ..ops import REGISTRY
from ..shapes import Shape, ShapeError, channels, format_shape
from ..source import YDict
from .items import Item
from .naming import ScopeCtx

if TYPE_CHECKING:
    from ..ops.base import Op
    from .host import LoweringHost


# Validated params by (op class, the values and their types): a repeat makes the same op many
# times, and Params are frozen, so one validation serves them all. Bounded: cleared when full.
_PARAMS: dict[tuple, Any] = {}
_PARAMS_LIMIT = 4096


def _validated(cls, values: dict) -> Any:
    """cls.Params(**values), from the cache when the same values were validated before."""
    if not cls.Params.model_config.get("frozen"):  # a plugin's params that may change: not shared
        return cls.Params(**values)
    key = (cls, tuple((k, type(v), v) for k, v in values.items()))
    try:
        known = _PARAMS.get(key)
    except TypeError:  # a list or dict value: not hashable, validate it afresh
        return cls.Params(**values)
    if known is None:
        if len(_PARAMS) >= _PARAMS_LIMIT:
            _PARAMS.clear()
        known = _PARAMS[key] = cls.Params(**values)
    return known


class OpNodes:
    """Op nodes: the mixin of `Lowerer` that validates ops and infers their shapes."""

    def input_env(self: LoweringHost, env: dict, inputs: list[str | None]) -> dict | None:
        """The item's env plus `in_shape`/`in_channels` of its first input (None if unknown):
        `in_channels` is the size of its channel axis (the last of a channels-last map)."""
        shapes = [self.graph.shape_of(i) if i is not None else None for i in inputs]
        first = shapes[0] if shapes else None
        if first is None or any(s is None for s in shapes):
            return None
        return {**env, "in_shape": list(first), "in_channels": channels(first)}

    def add_op(self: LoweringHost, kind: str, args: Any, env: dict, name: str, inputs: list[str | None],
               scope: ScopeCtx,
               span: Span | None, inserted: bool = False, shape_code: str = "NG009") -> str | None:
        cls = REGISTRY[kind]
        path = scope.path + (name,)
        node_id = ".".join(path)
        self.check_budget(span, path, len(inputs))
        known = all(i is not None for i in inputs)
        if known and not (cls.min_inputs <= len(inputs) <= (cls.max_inputs or len(inputs))):
            want = f"{cls.min_inputs}" if cls.max_inputs == cls.min_inputs else f"at least {cls.min_inputs}"
            self.error("NG015", f"`{kind}` takes {want} input(s); received {len(inputs)}", span, path,
                       "list its inputs with `from: [a, b]`" if cls.min_inputs > 1 else "")
            return None
        # with an unknown input (an earlier error) the params are still checked, not the shape
        item_env = (self.input_env(env, inputs) if known else None) or env
        params = self.op_params(kind, args, item_env, known, span, path)
        if params is None or not known:
            return None
        op = cls(params)
        present = [i for i in inputs if i is not None]  # all of them: `known`
        in_shapes = [self.graph.shape_of(i) for i in present]
        shape = self.op_shape(kind, op, in_shapes, span, path, shape_code)
        if node_id in self.graph or node_id in self.shapeless:
            if path not in self.duplicates:  # assign_names has usually said so already
                self.error("NG011", f"two modules named `{node_id}`", span, path, "give each item a distinct `name`")
            return None
        if shape is None:  # a node joins the graph only with its shape; its name stays taken
            self.shapeless.add(node_id)
            return None
        self.graph.add_node(node_id, OpNode(op=op, path=path, shape=shape, in_shapes=in_shapes, span=span,
                                            inserted=inserted), present)
        self.check_weights(op, in_shapes, shape, span, path)
        return node_id

    def op_params(self: LoweringHost, kind: str, args: Any, env: dict, known: bool, span: Span | None,
                  path: tuple[str, ...]) -> Any | None:
        """The params of op `kind` (as the blueprint names it) from its YAML mapping: each value
        evaluated in `env`, then validated by the op's schema; None after reporting what was
        wrong. With an unknown input (`known` false) an expression that reads `in_shape` or
        `in_channels` is not an error of its own."""
        cls = REGISTRY[kind]
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
                values[key] = self.value(value, env, args.value_span(key), path)
            except ExprError as exc:
                ok = False
                if known or not str(exc).startswith("unknown name `in_"):
                    self.error("NG003", f"{key}: {exc}", args.value_span(key), path, exc.hint)
        if not ok:
            return None
        try:
            return _validated(cls, values)
        except ValidationError as exc:
            self.report_params(exc, cls, args if isinstance(args, YDict) else YDict(), span, path)
            return None

    def op_shape(self: LoweringHost, kind: str, op: Op, in_shapes: list[Shape], span: Span | None,
                 path: tuple[str, ...], shape_code: str) -> Shape | None:
        """The op's shape rule applied to its inputs' shapes; None after reporting why it refused
        (a merge's mismatch as NG010, any other op's as `shape_code`)."""
        try:
            shape = op.infer_shape(in_shapes)
        except ShapeError as exc:
            shown = ", ".join(format_shape(s) for s in in_shapes)
            message = str(exc) if "received" in str(exc) else f"`{kind}` cannot take input {shown}: {exc}"
            code = "NG010" if op.family == "merge" else shape_code
            self.error(code, message, span, path, exc.hint)
            return None
        return shape if isinstance(shape, tuple) else tuple(shape)  # a `Dims` (a tuple that knows its axes) stays

    def report_params(self: LoweringHost, exc: ValidationError, cls, args: YDict, span, path) -> None:
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


    def add_merge(self: LoweringHost, kind: str, args: Any, env: dict, inputs: list[str | None], scope: ScopeCtx,
                  span: Span | None) -> str | None:
        """A merge op that a form adds (residual's add, dense's and parallel's concat), named
        after its op in `scope`; a shape mismatch is reported as a merge error (NG010)."""
        name = self.assign_names([Item("op", kind, None, env, span)], scope, numbered=False)[0]
        out = self.add_op(kind, args, env, name, inputs, scope, span, shape_code="NG010")
        if out is not None:
            scope.names[name] = out
        return out
