"""`residual:` — body + shortcut, added: `{body: [...], shortcut: auto, after: relu}`.

`shortcut` is `auto` (identity when the body keeps the shape, else an inserted 1×1-conv+BN
projection named `downsample`), `identity`, `projection`, `if_same` (no add at all when the
shapes differ: MobileNetV2, EfficientNet), `none`, or a list of ops (the `shortcut` scope).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import did_you_mean
from ..graph import Scope
from ..shapes import conv_output_size, format_shape
from ..source import YDict
from .items import Item
from .naming import ScopeCtx
from .registry import register_form

if TYPE_CHECKING:
    from .host import LoweringHost

SHORTCUTS = ("auto", "identity", "projection", "if_same", "none")


@register_form("residual")
def lower_residual(lw: LoweringHost, item: Item, x: str, scope: ScopeCtx) -> str | None:
    opts = item.args
    if not isinstance(opts, YDict) or "body" not in opts:
        lw.error("NG015", "residual needs a mapping with `body:`", item.span, scope.path,
                 "residual: {body: [...], shortcut: auto, after: relu}")
        return None
    lw.check_keys(opts, ("body", "shortcut", "projection", "after", "name", "from"), "residual", scope.path)
    env = item.env
    body_out = lw.lower_list(opts["body"], env, x, scope, opts.value_span("body"))
    if body_out is None:
        return None
    shortcut = opts.get("shortcut", "auto")
    sc_span = opts.value_span("shortcut") if "shortcut" in opts else item.span
    ok = True
    if isinstance(shortcut, str):
        ok, shortcut = lw.try_value(shortcut, env, sc_span, scope.path, "shortcut")
    if not ok:
        return None
    same = lw.graph.shape_of(body_out) == lw.graph.shape_of(x)
    sc_out: str | None
    if shortcut == "none" or (shortcut == "if_same" and not same):
        # conditional skip (MobileNetV2, EfficientNet): no add when the shapes differ
        out: str | None = body_out
        if "after" in opts:
            out = lw.lower_list(opts["after"], env, out, scope, opts.value_span("after"), numbered=False)
        return out
    if isinstance(shortcut, str) and shortcut in ("auto", "identity", "projection", "if_same"):
        if shortcut in ("identity", "if_same") or (shortcut == "auto" and same):
            sc_out = x
        else:
            sc_out = projection(lw, opts, env, x, body_out, scope, sc_span, inserted=shortcut == "auto")
    elif isinstance(shortcut, str):
        lw.error("NG015", f"unknown shortcut `{shortcut}`", sc_span, scope.path,
                 did_you_mean(shortcut, SHORTCUTS)
                 or "shortcut is one of " + ", ".join(SHORTCUTS) + ", or a list of ops")
        return None
    else:
        child = scope.child("shortcut")
        lw.graph.add_scope(Scope(child.path, "seq", None, sc_span, meta={"role": "shortcut"}))
        sc_out = lw.lower_list(shortcut, env, x, child, sc_span)
        if sc_out is not None:
            scope.names["shortcut"] = sc_out
        else:  # its error is reported; a `from: shortcut` need not say so again
            scope.failed.add("shortcut")
    if sc_out is None:
        return None
    out = lw.add_merge("add", None, env, [body_out, sc_out], scope, item.span)
    if out is None:
        return None
    if "after" in opts:
        out = lw.lower_list(opts["after"], env, out, scope, opts.value_span("after"), numbered=False)
    return out

def projection(lw: LoweringHost, opts: YDict, env: dict, x: str, body_out: str, scope: ScopeCtx, span,
               inserted: bool) -> str | None:
    spec = opts.get("projection") or YDict()
    if not isinstance(spec, YDict):
        lw.error("NG015", "projection options are a mapping: {name: downsample, bn: true}", span, scope.path)
        return None
    lw.check_keys(spec, ("name", "bn"), "projection", scope.path)
    ok, name = lw.try_value(spec.get("name", "downsample"), env, spec.value_span("name"), scope.path,
                            "projection name")
    name = lw.check_name(name, spec.value_span("name"), scope.path) if ok else None
    if name is None:
        return None
    src, dst = lw.graph.shape_of(x), lw.graph.shape_of(body_out)
    if len(src) != 3 or len(dst) != 3:
        lw.error("NG010", f"cannot project a {format_shape(src)} shortcut to {format_shape(dst)}",
                 span, scope.path, "a projection shortcut works on C×H×W maps")
        return None
    strides = []
    for axis in (1, 2):
        stride = max(1, math.ceil(src[axis] / dst[axis]))
        if conv_output_size(src[axis], 1, stride, 0) != dst[axis]:
            lw.error("NG010", f"no 1×1 strided conv maps the shortcut {format_shape(src)} to the body's "
                     f"{format_shape(dst)}", span, scope.path,
                     "the body must shrink H and W by an integer stride; or give `shortcut:` as a list of ops")
            return None
        strides.append(stride)
    child = scope.child(name)
    lw.graph.add_scope(Scope(child.path, "seq", None, span, meta={"inserted": inserted, "role": "projection"}))
    conv_stride = strides[0] if strides[0] == strides[1] else strides
    conv_args = {"out": dst[0], "k": 1, "stride": conv_stride, "bias": False}
    out = lw.add_op("conv", YDict(conv_args), env, "0", [x], child, span, inserted=inserted)
    if spec.get("bn", True) and out is not None:
        out = lw.add_op("bn", YDict(), env, "1", [out], child, span, inserted=inserted)
    if out is not None:
        scope.names[name] = out
    return out

