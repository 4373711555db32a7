"""`parallel` bodies: branches from the block input, merged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...ops import REGISTRY
from ...source import YDict, YList
from ..translate import Untranslatable, valid_name
from .values import Val

if TYPE_CHECKING:
    pass
from .items import Items


class Parallel(Items):
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
