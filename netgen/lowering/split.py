"""`split:` — one tensor cut along a dimension into named parts, each referenceable with `from:`.

    - split: {dim: 0, chunks: 2, names: [x1, x2]}      # torch.chunk(x, 2, dim=1)
    - split: {dim: 0, sizes: [16, 48], names: [a, b]}  # torch.split(x, [16, 48], dim=1)

Each part is a `slice` op named by its entry in `names`, defined in the enclosing scope (the
split opens no submodule, so state_dict keys do not change). `chunks` follows torch.chunk:
parts of ceil(size / chunks), the last one smaller, and fewer parts when that leaves nothing
for the last; `names` must name each part. The list goes on with the last part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..source import YDict
from .items import Item
from .naming import ScopeCtx
from .registry import register_form

if TYPE_CHECKING:
    from .host import LoweringHost

KEYS = ("dim", "chunks", "sizes", "names", "from")
MAX_PARTS = 1024


def part_sizes(size: int, chunks: int | None, sizes: list | None) -> list[int] | str:
    """The parts' lengths along the dimension, or a sentence saying what is wrong."""
    if (chunks is None) == (sizes is None):
        return "give either `chunks` (equal parts) or `sizes` (one length per part)"
    if chunks is not None:
        if not isinstance(chunks, int) or isinstance(chunks, bool) or not 1 <= chunks <= MAX_PARTS:
            return f"Expected chunks from 1 to {MAX_PARTS}; received chunks={chunks!r}"
        step = -(-size // chunks)  # torch.chunk: ceil(size / chunks) per part
        return [min(step, size - start) for start in range(0, size, step)]
    if (not isinstance(sizes, list) or not 1 <= len(sizes) <= MAX_PARTS
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)):
        return f"Expected sizes as a list of positive ints; received sizes={sizes!r}"
    if sum(sizes) != size:
        return f"sizes {sizes} add up to {sum(sizes)}; the dimension has {size}"
    return list(sizes)


@register_form("split", in_place=True)
def lower_split(lw: LoweringHost, item: Item, inputs: list[str | None], scope: ScopeCtx) -> str | None:
    opts = item.args
    if not isinstance(opts, YDict) or "names" not in opts:
        lw.error("NG015", "split needs a mapping with `names:` and `chunks:` or `sizes:`", item.span, scope.path,
                 "split: {dim: 0, chunks: 2, names: [x1, x2]}")
        return None
    lw.check_keys(opts, KEYS, "split", scope.path)
    if len(inputs) != 1:
        lw.error("NG015", f"split takes one input; `from` lists {len(inputs)}", item.from_span, scope.path)
        return None
    values = {}
    for key in ("dim", "chunks", "sizes", "names"):
        if key in opts:
            ok, values[key] = lw.try_value(opts[key], item.env, opts.value_span(key), scope.path, key)
            if not ok:
                return None
    names = values["names"] if isinstance(values["names"], list) else [values["names"]]
    names = [lw.check_name(n, opts.value_span("names"), scope.path) for n in names]
    # after a mistake here, a `from:` naming a part is not reported again as unknown
    scope.failed.update(n for n in names if n is not None)
    dim = values.get("dim", 0)
    x = inputs[0]
    if None in names or x is None:
        return None
    shape = lw.graph.shape_of(x)
    if not isinstance(dim, int) or isinstance(dim, bool) or not -len(shape) <= dim < len(shape):
        lw.error("NG007", f"split dim {dim!r} is out of range for a rank-{len(shape)} input", opts.value_span("dim")
                 if "dim" in opts else item.span, scope.path, "dimensions are counted after the batch (0 = channels)")
        return None
    sizes = part_sizes(shape[dim], values.get("chunks"), values.get("sizes"))
    if isinstance(sizes, str) or len(sizes) != len(names):
        problem = sizes if isinstance(sizes, str) else (
            f"the split makes {len(sizes)} parts of {sizes}; `names` names {len(names)}")
        lw.error("NG007", f"split: {problem}", item.span, scope.path, "give one name per part")
        return None
    out, start = None, 0
    for name, length in zip(names, sizes, strict=True):
        if name in scope.names:
            lw.error("NG011", f"two modules named `{name}` in `{'.'.join(scope.path) or 'network'}`",
                     opts.value_span("names"), scope.path + (name,), "give each part a distinct name")
            return None
        out = lw.add_op("slice", YDict({"dim": dim, "start": start, "end": start + length}), item.env, name, [x],
                        scope, item.span)
        if out is None:
            return None
        scope.names[name] = out
        scope.failed.discard(name)
        start += length
    return out
