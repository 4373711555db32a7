"""`parallel`: as a block's body, branches from the block input, merged; inside a list, its
numbered branches an nn.ModuleList member (torchvision's ASPP `convs`).
"""

from __future__ import annotations

from typing import Any

from ...ops import REGISTRY
from ...source import YDict, YList
from ..printer import Group
from ..translate import Untranslatable, valid_name
from .items import Items
from .values import Stmt, Val


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

    def parallel_item(self, name: str, opts: Any, x: Val, var: str) -> Val:
        """A parallel inside a list (ASPP's `convs`): its branches, numbered 0, 1, ..., an
        nn.ModuleList member, as torchvision's ASPP holds them; forward computes each branch from
        the input (`convs_1 = self.convs[1](x)`) and merges them (`torch.cat([...], 1)`)."""
        self.not_chain = True
        if not isinstance(opts, YDict) or set(opts) - {"branches", "merge", "name"} or \
                not isinstance(opts["branches"], YDict) or not valid_name(name):
            raise Untranslatable("a parallel in a list without numbered branches")
        branches = opts["branches"]
        if list(branches) != [str(i) for i in range(len(branches))]:
            raise Untranslatable("a parallel in a list whose branches are not numbered 0, 1, ...")
        holder = f"{self.owner}.{name}"
        pieces, outs = [], []
        saved = (self.init, self.members, self.prefix, self.values, self.container)
        try:
            self.prefix, self.container = self.prefix + (name,), holder
            for bname, branch in branches.items():
                self.init, self.members, self.values = [], [], {}
                branch_var = self.fresh(f"{name}_{bname}")
                if isinstance(branch, (list, YList)):
                    out = self.branch_chain(bname, branch, x, branch_var)
                else:
                    key, args, _ = self.parse(branch)
                    out = self.item(key, args, bname, [x], branch_var, None)
                # each branch is one entry of the list: a module built by one call
                if len(self.members) != 1 or self.members[0][0] != bname or self.members[0][2] is not None or \
                        not isinstance(self.members[0][1], Group) or not self.members[0][1].items:
                    raise Untranslatable("a parallel branch that is not one module")
                pieces.append(self.members[0][1])
                outs.append(out)
        finally:
            self.init, self.members, self.prefix, self.values, self.container = saved
        entries = Group("", pieces, "[", "]", exploded=True)
        self.init.append(Stmt("", piece=Group(f"{holder} = nn.ModuleList", [entries])))
        self.members.append((name, Group("nn.ModuleList", [entries]), None, True))
        merge = opts.get("merge", "concat")
        kind, margs = next(iter(merge.items())) if isinstance(merge, YDict) and len(merge) == 1 else (merge, None)
        if not isinstance(kind, str) or kind not in REGISTRY or REGISTRY[kind].family != "merge":
            raise Untranslatable(f"merge `{kind}`")
        before = len(self.members)
        out = self.op_item(kind, margs if margs is not None else YDict(), REGISTRY[kind].kind, outs, var)
        if len(self.members) != before:
            raise Untranslatable("a merge that builds a module")
        return out

    def branch_chain(self, bname: str, raws: Any, x: Val, var: str) -> Val:
        """A listed branch of a parallel in a list: its chain of modules an nn.Sequential entry;
        the items after it build no module and read values by `from:` (ASPP's pooling branch
        resizes its pooled value to the input's size), so forward computes them after the entry."""
        raws = list(raws)
        cut = next((i for i, raw in enumerate(raws) if self.parse_wired(raw)[3] is not None), len(raws))
        if cut == 0:
            raise Untranslatable("a parallel branch that starts with `from`")
        names = [self.parse_wired(raw)[2] for raw in raws[:cut]]
        # the chain's last value, by the name the lowering gives it (its number, where none is named)
        last = names[-1] if names[-1] is not None else (str(cut - 1) if not any(names) else None)
        out = self.seq_item(bname, raws[:cut], x, var)
        values = {last: out} if last is not None else {}
        for raw in raws[cut:]:
            key, args, name, sources = self.parse_wired(raw)
            if key not in REGISTRY or sources is None or (name is not None and name in values):
                raise Untranslatable("a parallel branch's tail that is not ops wired by `from`")
            inputs = [values.get(r) or (self.input_val if r == "input" else None) for r in sources]
            known = [v for v in inputs if v is not None]
            if len(known) != len(inputs):
                raise Untranslatable("a `from` in a parallel branch that is not its chain's end or the input")
            before = len(self.members)
            out = self.op_item(key, args, name or key, known, var)
            if len(self.members) != before:
                raise Untranslatable("a module after a parallel branch's chain")
            if name is not None:
                values[name] = out
        return out
