"""Values wired by name inside a block: a `from:` chosen by an expression, and `split:`, one
value cut into named parts.
"""

from __future__ import annotations

import ast
from typing import Any

from ...lowering.split import part_sizes
from ...shapes import axes_of, with_axes
from ...source import YDict, YList
from ..printer import literal
from ..translate import Sym, Untranslatable, code_of, concrete, valid_name
from .state import WalkState
from .values import Val


def split_names(args: Any) -> list[str]:
    """The parts a `split:` names, each a forward variable."""
    names = args.get("names") if isinstance(args, YDict) else None
    names = list(names) if isinstance(names, (list, YList)) else [names]
    if not all(isinstance(n, str) and valid_name(n) and "$" not in n for n in names):
        raise Untranslatable("split names that are computed or no identifiers")
    return names


class Wiring(WalkState):
    def ref(self, name: str) -> Val:
        if name.startswith("$"):
            return self.computed_ref(name)
        return super().ref(name)

    def computed_ref(self, raw: str) -> Val:
        """`from: ${'proj' if project else 'input'}`: a name chosen by an expression. The class
        holds it as one value when the choice is an optional item or what that item reads, on the
        item's own condition: the item's variable holds its input when it is absent (`proj =
        self.proj(x) if self.proj is not None else x`), so both choices are that variable."""
        node = self.expr(raw, None)
        chosen = [n.value for n in (node.body, node.orelse) if isinstance(n, ast.Constant)] \
            if isinstance(node, ast.IfExp) else []
        if not isinstance(node, ast.IfExp) or len(chosen) != 2 or not all(isinstance(c, str) for c in chosen):
            raise Untranslatable("a computed `from` other than `a if condition else b`")
        item, other = str(chosen[0]), str(chosen[1])
        optional = self.optional_reads.get(item)
        if optional is None or optional[0] != code_of(node.test) or self.ref(other).var != optional[1]:
            raise Untranslatable("a computed `from` that is not an optional item or its input, on its condition")
        return self.values[item]

    def ref_one(self, sources: list[str]) -> Val:
        if len(sources) != 1:
            raise Untranslatable("a split of several inputs")
        return self.ref(sources[0])

    def split_item(self, args: Any, x: Val) -> Val:
        """`split: {dim: 0, chunks: 2, names: [x1, x2]}`: one forward line, as torchvision's
        ShuffleNet v2 writes it (`x1, x2 = x.chunk(2, dim=1)`; `x.split([16, 48], dim=1)` for
        `sizes`), each part a value of its own that later items name with `from:`. Each part's
        length is written as torch.chunk computes it from the input (`in_channels // 2` for the
        second half), so that the items after it take their channels from the block's input."""
        self.not_chain = True
        if not isinstance(args, YDict) or set(args) - {"dim", "chunks", "sizes", "names", "from"}:
            raise Untranslatable("split options")
        raw = {k: args[k] for k in ("dim", "chunks", "sizes") if k in args}
        if any(isinstance(v, str) or (isinstance(v, (list, YList)) and any(isinstance(i, str) for i in v))
               for v in raw.values()):
            raise Untranslatable("a split computed from the block's params")
        names = split_names(args)
        dim, chunks, sizes = raw.get("dim", 0), raw.get("chunks"), raw.get("sizes")
        if sizes is None and not isinstance(chunks, int):
            raise Untranslatable("a split without `chunks` or `sizes`")
        rank = len(x.shape)
        if not isinstance(dim, int) or isinstance(dim, bool) or not -rank <= dim < rank:
            raise Untranslatable("a split dimension")
        axis = dim % rank
        lengths = part_sizes(concrete(x.shape[axis]), chunks, list(sizes) if sizes is not None else None)
        if isinstance(lengths, str) or len(lengths) != len(names):
            raise Untranslatable("a split into other parts than it names")
        size = x.shape[axis]
        parts: list[Any] = list(lengths)
        if isinstance(chunks, int) and isinstance(size, Sym) and len(names) > 1:  # torch.chunk's, in the input's terms
            if chunks == 2:
                parts = [size - size // 2, size // 2]
            else:
                step = (size + (chunks - 1)) // chunks
                parts = [step] * (len(names) - 1) + [size - (len(names) - 1) * step]
        torch_dim = dim + 1 if dim >= 0 else dim  # the blueprint counts dimensions after the batch
        how = f"chunk({chunks}, dim={torch_dim})" if sizes is None else \
            f"split({literal(list(sizes))}, dim={torch_dim})"
        out = x
        for part_name, part in zip(names, parts, strict=True):
            shape = list(x.shape)
            shape[axis] = part
            out = Val(self.fresh(part_name), with_axes(shape, axes_of(x.shape)))
            self.values[part_name] = out
            self.taken.add(part_name)
        targets = ", ".join(self.values[n].var for n in names)
        self.fwd.append(f"{targets if len(names) > 1 else f'({targets},)'} = {x.var}.{how}")
        return out
