"""`parallel:` — branches from one input, merged: `{merge: concat, branches: {a: [...]}}`.

Named branches (a mapping) are scopes named after their keys; listed branches splice their
items into the enclosing scope. `merge` is a merge op's name or `{op: {params}}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import did_you_mean
from ..ops import REGISTRY
from ..source import YDict, YList
from .items import Item, as_list, is_single_item
from .naming import ScopeCtx
from .registry import register_form

if TYPE_CHECKING:
    from .host import LoweringHost


@register_form("parallel")
def lower_parallel(lw: LoweringHost, item: Item, x: str, scope: ScopeCtx) -> str | None:
    opts = item.args
    if not isinstance(opts, YDict) or "branches" not in opts:
        lw.error("NG015", "parallel needs a mapping with `branches:`", item.span, scope.path,
                 "parallel: {merge: concat, branches: {a: [...], b: [...]}}")
        return None
    lw.check_keys(opts, ("branches", "merge", "name", "from"), "parallel", scope.path)
    env, branches = item.env, opts["branches"]
    outs: list[str | None] = []
    if isinstance(branches, YDict):
        for bname, branch in branches.items():
            bname = lw.check_name(bname, branches.key_span(bname), scope.path)
            if bname is None:
                continue
            bspan = branches.value_span(bname)
            single = is_single_item(branch)
            if single:
                sub = lw.parse_item(branch, env, bspan, scope.path)
                if sub is None:
                    outs.append(None)
                    continue
                sub.name = bname
            else:
                sub = Item("seq", "seq", as_list(branch, bspan), env, bspan, name=bname)
            name = lw.assign_names([sub], scope, numbered=False)[0]
            outs.append(lw.lower_item(sub, name, x, scope))
    elif isinstance(branches, YList):
        for index, branch in enumerate(branches):
            outs.append(lw.lower_list(branch, env, x, scope, branches.item_span(index), numbered=False))
    else:
        lw.error("NG015", "`branches` is a mapping of named branches or a list of branches",
                 opts.value_span("branches"), scope.path)
        return None
    if not branches:
        lw.error("NG015", "parallel needs at least one branch", opts.value_span("branches"), scope.path,
                 "parallel: {merge: concat, branches: {a: [...], b: [...]}}")
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
        lw.error("NG015", "`merge` is an op name (concat, add) or `{op: {params}}`", merge_span, scope.path)
        return None
    if kind not in REGISTRY or REGISTRY[kind].family != "merge":
        merges = [k for k, c in REGISTRY.items() if c.family == "merge"]
        lw.error("NG004", f"unknown merge `{kind}`", merge_span, scope.path, did_you_mean(str(kind), merges))
        return None
    return lw.add_merge(kind, margs, env, outs, scope, merge_span)

