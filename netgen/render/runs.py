"""What each scope folds to at a level of detail (spliced in, a chain, one box, a frame) and
runs of identical neighbours, folded into one representative marked ×N."""

from __future__ import annotations

from .structure import _Entry, _Structure

_MAX_PERIOD = 3


class _Runs(_Structure):
    """Entries (ops, chains, scopes) at a level of detail, and their runs."""

    def repeated_stage(self, path: tuple[str, ...]) -> tuple[str, int] | None:
        """(block name, N) when the block at `path` is mostly one stage of N identical blocks, in
        line with the rest of it (a transformer's encoder: a position embedding, N layers, a
        norm), else None. Not a fractal: its stage of two fractals runs beside a shallow branch."""
        if path in self.repeats:
            return self.repeats[path]
        found = None
        block = self.g.scopes[path].block
        if block is not None:
            stages = [k[1] for k in self.children[path] if k[0] == "scope" and self.is_stage(k[1])]
            if len(stages) == 1 and 2 * len(self.ops_in[stages[0]]) >= len(self.ops_in[path]):
                kids = [k[1] for k in self.children[stages[0]]]
                inner = self.g.scopes[kids[0]].block
                sigs = {self.signature(_Entry("unit", list(self.ops_in[k]), k, "node")) for k in kids}
                if len(sigs) == 1 and inner is not None and inner != block and self.in_line(path, stages[0]):
                    found = (inner, len(kids))
        self.repeats[path] = found
        return found

    def mode(self, path: tuple[str, ...]) -> str:
        """What the scope folds to: "transparent" (its members spliced in), "chain", "node" (one
        box) or "cluster" (a frame around its members). Decided once per scope."""
        if path not in self.modes:
            self.modes[path] = self._mode(path)
        return self.modes[path]

    def _mode(self, path: tuple[str, ...]) -> str:
        scope = self.g.scopes[path]
        level = self.level_of(path)
        if scope.meta.get("role") == "projection":
            return "transparent"
        linear = self.is_linear(path)
        if linear and self.chain_of(self.ops_in[path]) and level != "full":
            return "chain"
        plain = scope.kind == "seq" and scope.block is None
        stage = self.is_stage(path)
        side = not any(n in self.main for n in self.ops_in[path])  # an auxiliary head
        if level == "full":
            return "transparent" if (linear or plain or stage) else "cluster"
        if level == "overview" and not side:
            if stage:
                # a stage is its blocks: the first (which usually carries the stride and the
                # projection) and runs of identical ones folded ×N, as a lecturer draws them
                return "transparent"
            parent = self._scope_parent(path[:-1])
            if self.level_of(parent) == "overview" and self.is_stage(parent):
                return "node"  # a block of a stage is one box, even a long straight one
        outer = {self.g.scopes[q].block for q in self._prefixes(path[:-1]) if q} - {None}
        if self.compact >= 2 and level == "blocks" and scope.block is not None and not linear and outer \
                and scope.block not in outer:
            return "node"  # compact: a block in another block (an SE gate; not a fractal in a fractal) is a box
        if plain and not stage and not side or stage and not self.frame_stages:
            return "transparent"
        if not self.frame_stages and level == "blocks" and not side and (
                self.is_backbone(path) or self.repeated_stage(path) is not None):
            # a block that is a run of blocks (a backbone, a transformer's encoder): pages may cut inside it
            return "transparent"
        if linear and not stage and not side and len(self.fold_chains(self.entries(path), path, dropout=False)) > 3:
            # a long straight block (VGG's features and classifier) reads best as its chains; its
            # length counted without folding dropouts in, which would make VGG's classifier one box
            return "transparent"
        return "cluster" if level == "blocks" else "node"

    def entries(self, path: tuple[str, ...]) -> list[_Entry]:
        """The scope's members as the level draws them, transparent scopes spliced in (a new list
        each call, of entries shared between calls: nothing changes an entry once made)."""
        if path not in self.entries_of:
            self.entries_of[path] = self._entries(path)
        return list(self.entries_of[path])

    def _entries(self, path: tuple[str, ...]) -> list[_Entry]:
        out: list[_Entry] = []
        for kind, ref in self.children[path]:
            if kind == "op":
                out.append(_Entry("op", [ref]))
                continue
            mode = self.mode(ref)
            if mode == "transparent":
                out.extend(self.entries(ref))
            elif mode == "chain":
                out.append(_Entry("chain", list(self.ops_in[ref]), ref))
            else:
                out.append(_Entry("unit", list(self.ops_in[ref]), ref, mode))
        return out

    def fold_chains(self, entries: list[_Entry], path: tuple[str, ...] = (), dropout: bool = True) -> list[_Entry]:
        if self.level_of(path) == "full":
            return entries
        out: list[_Entry] = []
        for entry in entries:
            last = out[-1] if out else None
            if (entry.kind == "op" and last is not None and last.kind in ("op", "chain") and not last.scope
                    and self.g[entry.ops[0]].kind == "op" and self.g[last.ops[-1]].kind == "op"
                    and self.g.inputs_of(entry.ops[0]) == [last.ops[-1]]
                    and self.g.users_of(last.ops[-1]) == [entry.ops[0]]
                    and self.g[entry.ops[0]].inserted == self.g[last.ops[-1]].inserted
                    and self.chain_of(last.ops + entry.ops, dropout)):
                out[-1] = _Entry("chain", last.ops + entry.ops)
            else:
                out.append(entry)
        return out

    def run_key(self, entry: _Entry) -> tuple:
        """The signature runs are found by. At the overview a stage's blocks that differ only in
        their labels are one run (Swin's blocks alternate plain and shifted windows: "Swin block
        ×6", as the paper draws a stage); a block whose ops differ (ResNet's first, with its
        projection) still stands alone, and the blocks level draws each kind of block."""
        if entry.kind == "unit" and entry.mode == "node" and entry.scope:
            parent = self._scope_parent(entry.scope[:-1])
            if self.level_of(entry.scope) == "overview" and self.is_stage(parent):
                return ("stage", parent, self.signature(entry, structural=True))
        return self.signature(entry)

    def linked(self, a: list[_Entry], b: list[_Entry]) -> bool:
        left = {n for e in a for n in e.ops}
        return any(p in left for e in b for n in e.ops for p in self.g.inputs_of(n))

    def runs_of(self, entries: list[_Entry]) -> list[tuple[list[_Entry], list[list[_Entry]]]]:
        """Group entries into (representative, members); a member is `period` entries."""
        if self.level == "full" and not self.expand:
            return [([e], [[e]]) for e in entries]
        sigs = [self.run_key(e) for e in entries]
        out, i = [], 0
        while i < len(entries):
            best = (1, 1)
            for period in range(1, _MAX_PERIOD + 1):
                m = 1
                while (i + (m + 1) * period <= len(entries)
                       and sigs[i + m * period: i + (m + 1) * period] == sigs[i: i + period]
                       and self.linked(entries[i + (m - 1) * period: i + m * period],
                                       entries[i + m * period: i + (m + 1) * period])):
                    m += 1
                if m > 1 and m * period > best[0] * best[1]:
                    best = (m, period)
            m, period = best
            if any(self.level_of(e.scope or self.g[e.ops[0]].path[:-1]) == "full" for e in entries[i: i + period]):
                m, period = 1, 1
            members = [entries[i + k * period: i + (k + 1) * period] for k in range(m)]
            out.append((members[0], members))
            i += m * period
        return out
