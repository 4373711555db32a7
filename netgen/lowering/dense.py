"""`dense:` — DenseNet connectivity, written like a repeat:
`{repeat: 6, as: i, name: denselayer${i+1}, body: {dense_layer: {growth: 32}}}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..source import YDict
from .items import Item
from .naming import ScopeCtx
from .registry import register_form

if TYPE_CHECKING:
    from .host import LoweringHost


@register_form("dense", names_inside=False)  # its inner `name` names the layers
def lower_dense(lw: LoweringHost, item: Item, x: str, scope: ScopeCtx) -> str | None:
    """Dense connectivity (DenseNet): layer k sees concat(input, out_1..out_{k-1}); the
    block returns concat(input, out_1..out_n). Written like a repeat.

    The graph holds it as a running concatenation, concat_k = concat(concat_{k-1}, out_k):
    the same tensors (a concat of a concat along one axis is one concat), with two inputs per
    concat instead of k, so that a block of n layers has O(n) edges and its shapes, costs and
    memory are computed in O(n), not O(n^2). The code generator still prints torchvision's
    `torch.cat(features, 1)` for a block class (codegen/fake.py reads both as one cat)."""
    opts = item.args
    if not isinstance(opts, YDict) or "repeat" not in opts:
        lw.error("NG015", "dense needs `repeat:`, `body:` and optionally `as:` and `name:`",
                 item.span, scope.path,
                 "dense: {repeat: 6, as: i, name: denselayer${i+1}, body: {dense_layer: {growth: 32}}}")
        return None
    spec = YDict((k, v) for k, v in opts.items() if k not in ("from",))
    spec.span, spec.key_spans, spec.value_spans = opts.span, opts.key_spans, opts.value_spans
    items = lw.expand_repeat(spec, item.env, item.span, scope.path)
    running: str | None = x  # the concatenation of the input and every output so far
    last: str | None = None  # the previous layer's output, not yet in `running`
    for layer, name in zip(items, lw.assign_names(items, scope, numbered=True), strict=True):
        if last is not None:
            running = _concat(lw, item, [running, last], scope, layer.span, continues=running != x)
        out = lw.lower_item(layer, name, running, scope)
        if out is None:
            return None
        last = out
    return _concat(lw, item, [running, last], scope, item.span, continues=running != x) if last is not None else x


def _concat(lw: LoweringHost, item: Item, inputs: list[str | None], scope: ScopeCtx, span,
            continues: bool) -> str | None:
    """concat(previous, new); one that extends an earlier concat of the block is marked running."""
    node = lw.add_merge("concat", None, item.env, inputs, scope, span)
    if node is not None and continues:
        lw.graph.running.add(node)
    return node
