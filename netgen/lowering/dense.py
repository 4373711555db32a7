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
    block returns concat(input, out_1..out_n). Written like a repeat."""
    opts = item.args
    if not isinstance(opts, YDict) or "repeat" not in opts:
        lw.error("NG015", "dense needs `repeat:`, `body:` and optionally `as:` and `name:`",
                 item.span, scope.path,
                 "dense: {repeat: 6, as: i, name: denselayer${i+1}, body: {dense_layer: {growth: 32}}}")
        return None
    spec = YDict((k, v) for k, v in opts.items() if k not in ("from",))
    spec.span, spec.key_spans, spec.value_spans = opts.span, opts.key_spans, opts.value_spans
    items = lw.expand_repeat(spec, item.env, item.span, scope.path)
    features: list[str | None] = [x]
    for layer, name in zip(items, lw.assign_names(items, scope, numbered=True), strict=True):
        layer_input = (features[0] if len(features) == 1
                       else lw.add_merge("concat", None, item.env, features, scope, layer.span))
        out = lw.lower_item(layer, name, layer_input, scope)
        if out is None:
            return None
        features.append(out)
    return lw.add_merge("concat", None, item.env, features, scope, item.span) if len(features) > 1 else x
